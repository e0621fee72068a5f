package domain

import (
	"errors"
	"fmt"
)

// Limits on what one member can add to one call. Every list a single member can append to is capped,
// so that no member, however determined, can make a call's record grow without bound: the record is
// read on every step of the workflow and answered to everyone who reads the call. The caps are
// generous for real deliberation (nobody needs a fourth appeal of the same designation) and small
// against abuse. The server and the auditor's replay call the same checks, so a server that let a
// write past a cap fails `candor audit verify`.
const (
	// MaxAppealsPerMember bounds one member's appeals of a call's final designation. A call has one
	// final designation, so this is also the cap per member per call.
	MaxAppealsPerMember = 3

	// MaxObjectionsPerRevision bounds one member's objections to one proposed designation: one. With
	// [MaxProposals] revisions, a member objects at most MaxProposals times on one call.
	MaxObjectionsPerRevision = 1

	// MaxProposals bounds the chair's proposals (revisions included) of a call's consensus level.
	// Each revision reopens objections, so this also bounds every member's objections.
	MaxProposals = 20

	// MaxStatementsPerAuthor bounds one author's minority statements on one call: dissent belongs on
	// the record, but a call's record is read on every step of its workflow.
	MaxStatementsPerAuthor = 3

	// MaxCosigners bounds the co-signers one minority statement may name. Each named co-signer signs
	// at most once, so the statement's signatures are bounded too.
	MaxCosigners = 100

	// MaxDeclarationsPerMember bounds one member's declarations in one call, the first and every one
	// that supersedes it. Superseded declarations stay on the record, so each is a record kept for
	// ever; a hundred leaves room to restate after every SOI change a real call could see.
	MaxDeclarationsPerMember = 100

	// MaxBallotsPerMember bounds one member's ballots (votes) or positions (consensus calls) in one
	// call, the first and every one that supersedes it.
	MaxBallotsPerMember = 100
)

// ErrLimitReached is what every refusal for a cap above is: errors.Is(err, ErrLimitReached) holds
// for each of them, and the transport maps them all to one reason.
var ErrLimitReached = errors.New("domain: limit reached")

// limitError is a refusal for one cap: its own sentence, and [ErrLimitReached] by errors.Is.
type limitError struct{ msg string }

func (e *limitError) Error() string        { return "domain: " + e.msg }
func (e *limitError) Is(target error) bool { return target == ErrLimitReached }

func limit(format string, args ...any) error { return &limitError{msg: fmt.Sprintf(format, args...)} }

// Refusals at a cap.
var (
	ErrTooManyAppeals      = limit("you have filed as many appeals of this designation as one member may (%d)", MaxAppealsPerMember)
	ErrTooManyProposals    = limit("this call has had as many proposed designations as one call may (%d): finalise one", MaxProposals)
	ErrTooManyCosigners    = limit("a minority statement may name at most %d co-signers", MaxCosigners)
	ErrTooManyDeclarations = limit("you have filed as many declarations in this call as one member may (%d)", MaxDeclarationsPerMember)
	ErrTooManyBallots      = limit("you have cast as many ballots or positions in this call as one member may (%d)", MaxBallotsPerMember)
)

// CheckDeclarationsFiled refuses a member's declaration when they have already filed filed
// declarations in the call (superseded ones included).
func CheckDeclarationsFiled(filed int) error {
	if filed >= MaxDeclarationsPerMember {
		return ErrTooManyDeclarations
	}
	return nil
}

// CheckBallotsCast refuses a member's ballot or position when they have already cast cast of them in
// the call (superseded ones included).
func CheckBallotsCast(cast int) error {
	if cast >= MaxBallotsPerMember {
		return ErrTooManyBallots
	}
	return nil
}
