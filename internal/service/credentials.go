package service

import (
	"context"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/internal/domain"
	"github.com/candorhq/candor/internal/resource"
	"github.com/candorhq/candor/internal/store"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// writeBy is write for a change made by pr: a participant deactivated by the time the transaction
// runs is refused in it, so a write racing the deactivation cannot land after it.
func (s *Service) writeBy(ctx context.Context, pr Principal, useCase string, fn func(tx *store.Tx, now time.Time) error) (*candorv1.Receipt, error) {
	return s.write(ctx, useCase, activeOnly(pr, fn))
}

// activeOnly wraps fn with the check that a participant principal is not deactivated.
func activeOnly(pr Principal, fn func(tx *store.Tx, now time.Time) error) func(tx *store.Tx, now time.Time) error {
	if !pr.isParticipant() {
		return fn
	}
	return func(tx *store.Tx, now time.Time) error {
		p, err := tx.Participant(pr.Participant)
		if err != nil {
			return err
		}
		if err := domain.CheckActive(p); err != nil {
			return err
		}
		return fn(tx, now)
	}
}

// publicParticipant is p as the log shows it: without contact details.
func publicParticipant(p *candorv1.Participant) *candorv1.LogEntry {
	public := proto.Clone(p).(*candorv1.Participant)
	public.Email = ""
	return &candorv1.LogEntry{Payload: &candorv1.LogEntry_Participant{Participant: public}}
}

// replaceToken gives participant id a new token in tx, ending every token they had, and logs that
// the credential changed (never the token or its hash).
func replaceToken(tx *store.Tx, now time.Time, actor string, kind candorv1.EntryKind, id uuid.UUID, token string) (*candorv1.Participant, error) {
	p, err := tx.Participant(id)
	if err != nil {
		return nil, err
	}
	if err := tx.DeleteTokens(id); err != nil {
		return nil, err
	}
	if err := tx.PutToken(TokenHash(token), id); err != nil {
		return nil, err
	}
	_, err = record(tx, now, actor, kind, p.Name, uuid.Nil, publicParticipant(p))
	return p, err
}

// RotateToken replaces the calling participant's token and returns the new one, which the store
// keeps only as a hash. The caller's old token stops working when the write commits.
func (s *Service) RotateToken(ctx context.Context, pr Principal) (*candorv1.Participant, string, *candorv1.Receipt, error) {
	if !pr.isParticipant() {
		return nil, "", nil, domain.ErrParticipantOnly
	}
	token := NewToken()
	var p *candorv1.Participant
	rcpt, err := s.writeBy(ctx, pr, "RotateToken", func(tx *store.Tx, now time.Time) error {
		var err error
		p, err = replaceToken(tx, now, pr.Actor(), candorv1.EntryKind_ENTRY_KIND_TOKEN_ROTATED, pr.Participant, token)
		return err
	})
	if err != nil {
		return nil, "", nil, err
	}
	return p, token, rcpt, nil
}

// ReissueToken gives a participant a new token; their old one stops working. Admin only.
func (s *Service) ReissueToken(ctx context.Context, pr Principal, id uuid.UUID) (*candorv1.Participant, string, *candorv1.Receipt, error) {
	if err := domain.RequireAdmin(pr.known()); err != nil {
		return nil, "", nil, err
	}
	token := NewToken()
	var p *candorv1.Participant
	rcpt, err := s.write(ctx, "ReissueToken", func(tx *store.Tx, now time.Time) error {
		var err error
		p, err = replaceToken(tx, now, pr.Actor(), candorv1.EntryKind_ENTRY_KIND_TOKEN_REISSUED, id, token)
		return err
	})
	if err != nil {
		return nil, "", nil, err
	}
	return p, token, rcpt, nil
}

// DeactivateParticipant stops a participant making any more changes; their record stays. Admin only.
func (s *Service) DeactivateParticipant(ctx context.Context, pr Principal, id uuid.UUID) (*candorv1.Participant, *candorv1.Receipt, error) {
	if err := domain.RequireAdmin(pr.known()); err != nil {
		return nil, nil, err
	}
	var p *candorv1.Participant
	rcpt, err := s.write(ctx, "DeactivateParticipant", func(tx *store.Tx, now time.Time) error {
		var err error
		if p, err = tx.Participant(id); err != nil {
			return err
		}
		if p.Deactivated {
			return domain.ErrAlreadyDeactivated
		}
		p.Deactivated, p.DeactivateTime = true, timestamppb.New(now)
		if err := tx.PutParticipant(id, p); err != nil {
			return err
		}
		_, err = record(tx, now, pr.Actor(), candorv1.EntryKind_ENTRY_KIND_PARTICIPANT_DEACTIVATED, p.Name, uuid.Nil, publicParticipant(p))
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	s.watchers.changedAll() // rosters show who can still act
	return p, rcpt, nil
}

// RemoveMember takes a participant out of a body. Admin only. Calls already open keep the
// eligibility fixed when they opened; from now on the participant can no longer act in them (see
// callFor), and what they filed before stays and counts under the group they had.
func (s *Service) RemoveMember(ctx context.Context, pr Principal, body, participant uuid.UUID) (*candorv1.Membership, *candorv1.Receipt, error) {
	if err := domain.RequireAdmin(pr.known()); err != nil {
		return nil, nil, err
	}
	var m *candorv1.Membership
	rcpt, err := s.write(ctx, "RemoveMember", func(tx *store.Tx, now time.Time) error {
		b, err := tx.Body(body)
		if err != nil {
			return err
		}
		if _, err := tx.Participant(participant); err != nil {
			return err
		}
		if m, err = tx.Membership(body, participant); err != nil {
			return err
		}
		if m == nil {
			return domain.ErrNotAMember
		}
		if err := tx.RemoveMembership(body, participant, m); err != nil {
			return err
		}
		_, err = record(tx, now, pr.Actor(), candorv1.EntryKind_ENTRY_KIND_MEMBER_REMOVED, b.Name, uuid.Nil,
			&candorv1.LogEntry{Payload: &candorv1.LogEntry_Membership{Membership: m}})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	s.watchers.changedAll()
	return m, rcpt, nil
}

// activeMembers names the body's members who are not deactivated: who a new call makes eligible.
func activeMembers(tx *store.ReadTx, body uuid.UUID) ([]string, error) {
	ms, err := tx.ListMembers(body, uuid.Nil, 0)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ms))
	for _, m := range ms {
		id, err := resource.ParseParticipant(m.GetParticipant())
		if err != nil {
			return nil, err
		}
		p, err := tx.Participant(id)
		if err != nil {
			return nil, err
		}
		if !p.GetDeactivated() {
			names = append(names, m.GetParticipant())
		}
	}
	return names, nil
}
