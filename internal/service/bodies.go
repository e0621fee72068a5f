package service

import (
	"context"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/internal/domain"
	"github.com/candorhq/candor/internal/resource"
	"github.com/candorhq/candor/internal/store"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// CreateBody creates a body.
func (s *Service) CreateBody(ctx context.Context, pr Principal, title string, req Request) (*candorv1.Body, *candorv1.Receipt, error) {
	if err := domain.RequireAdmin(pr.known()); err != nil {
		return nil, nil, err
	}
	id := newID()
	var b *candorv1.Body
	rcpt, replay, err := s.writeOnce(ctx, pr, "CreateBody", req, func(tx *store.Tx, now time.Time) error {
		b = &candorv1.Body{Name: resource.Body(id), Title: title, CreateTime: timestamppb.New(now)}
		if err := tx.PutBody(id, b); err != nil {
			return err
		}
		_, err := record(tx, now, pr.Actor(), candorv1.EntryKind_ENTRY_KIND_BODY_CREATED, b.Name, uuid.Nil,
			&candorv1.LogEntry{Payload: &candorv1.LogEntry_Body{Body: b}})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if replay != nil {
		b = replay.GetBody()
	}
	return b, rcpt, nil
}

// GetBody returns a body.
func (s *Service) GetBody(ctx context.Context, pr Principal, id uuid.UUID) (*candorv1.Body, error) {
	var b *candorv1.Body
	err := s.store.View(func(tx *store.ReadTx) error {
		var err error
		b, err = tx.Body(id)
		return err
	})
	return b, err
}

// ListBodies lists bodies after the given one.
func (s *Service) ListBodies(ctx context.Context, pr Principal, after uuid.UUID, limit int) ([]*candorv1.Body, error) {
	var bs []*candorv1.Body
	err := s.store.View(func(tx *store.ReadTx) error {
		var err error
		bs, err = tx.ListBodies(after, limit)
		return err
	})
	return bs, err
}

// AddMember adds a participant to a body, or changes their role and group.
func (s *Service) AddMember(ctx context.Context, pr Principal, body, participant uuid.UUID, role candorv1.Role, group string) (*candorv1.Membership, *candorv1.Receipt, error) {
	if err := domain.RequireAdmin(pr.known()); err != nil {
		return nil, nil, err
	}
	var m *candorv1.Membership
	rcpt, err := s.write(ctx, "AddMember", func(tx *store.Tx, now time.Time) error {
		b, err := tx.Body(body)
		if err != nil {
			return err
		}
		if _, err := tx.Participant(participant); err != nil {
			return err
		}
		m = &candorv1.Membership{
			Name: resource.Member(body, participant), Participant: resource.Participant(participant),
			Role: role, StakeholderGroup: group, CreateTime: timestamppb.New(now),
		}
		if err := tx.PutMembership(body, participant, m); err != nil {
			return err
		}
		_, err = record(tx, now, pr.Actor(), candorv1.EntryKind_ENTRY_KIND_MEMBER_ADDED, b.Name, uuid.Nil,
			&candorv1.LogEntry{Payload: &candorv1.LogEntry_Membership{Membership: m}})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	s.watchers.changedAll() // a member's stakeholder group shows in the rosters of the body's calls
	return m, rcpt, nil
}

// ListMembers lists a body's members after the given participant.
func (s *Service) ListMembers(ctx context.Context, pr Principal, body, after uuid.UUID, limit int) ([]*candorv1.Membership, error) {
	var ms []*candorv1.Membership
	err := s.store.View(func(tx *store.ReadTx) error {
		if _, err := tx.Body(body); err != nil {
			return err
		}
		var err error
		ms, err = tx.ListMembers(body, after, limit)
		return err
	})
	return ms, err
}

// canSeeBody refuses callers who are neither members of the body, admins nor auditors
// ([domain.CanSeeBody]).
func canSeeBody(tx *store.ReadTx, pr Principal, body uuid.UUID) error {
	v, err := viewer(tx, pr)
	if err != nil {
		return err
	}
	m, err := membership(tx, pr, body)
	if err != nil {
		return err
	}
	return domain.CanSeeBody(v, m)
}

// requireChair refuses callers who do not chair the body ([domain.RequireChair]).
func requireChair(tx *store.ReadTx, pr Principal, body uuid.UUID) error {
	m, err := membership(tx, pr, body)
	if err != nil {
		return err
	}
	return domain.RequireChair(pr.known(), m)
}
