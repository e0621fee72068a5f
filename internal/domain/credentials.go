package domain

import (
	"errors"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// Credentials and standing: who may still make changes. The server checks these inside the write's
// transaction; the auditor replays them from the log.
var (
	// ErrDeactivated refuses every change by a participant an admin deactivated.
	ErrDeactivated = errors.New("domain: this participant was deactivated and can make no more changes")
	// ErrAlreadyDeactivated refuses deactivating a participant twice.
	ErrAlreadyDeactivated = errors.New("domain: this participant is already deactivated")
	// ErrMemberRemoved refuses a declaration, ballot or position by a participant who was eligible when
	// the call opened but has since been removed from the body.
	ErrMemberRemoved = errors.New("domain: participant was removed from the body and can no longer take part in its calls")
	// ErrNotAMember refuses removing a participant who is not a member of the body.
	ErrNotAMember = errors.New("domain: participant is not a member of the body")
)

// CheckActive refuses a change by a deactivated participant.
func CheckActive(p *candorv1.Participant) error {
	if p.GetDeactivated() {
		return ErrDeactivated
	}
	return nil
}

// CheckStillMember refuses a declaration, ballot or position by a participant who was eligible when
// the call opened (eligible) but is no longer a member of the body (current is nil). Eligibility
// stays as fixed at opening, so the call's denominators and roster do not change; only acting does.
// A participant who was never eligible is left to the eligibility rule.
func CheckStillMember(eligible bool, current *candorv1.Membership) error {
	if eligible && current == nil {
		return ErrMemberRemoved
	}
	return nil
}
