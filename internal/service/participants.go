package service

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/internal/domain"
	"github.com/candorhq/candor/internal/resource"
	"github.com/candorhq/candor/internal/store"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// CreateParticipant adds a participant and returns their token, which the store keeps only as a hash.
func (s *Service) CreateParticipant(ctx context.Context, pr Principal, displayName, email string) (*candorv1.Participant, string, *candorv1.Receipt, error) {
	if err := domain.RequireAdmin(pr.known()); err != nil {
		return nil, "", nil, err
	}
	token := NewToken()
	id := newID()
	var p *candorv1.Participant
	rcpt, err := s.write(ctx, "CreateParticipant", func(tx *store.Tx, now time.Time) error {
		p = &candorv1.Participant{
			Name: resource.Participant(id), DisplayName: displayName, Email: email, CreateTime: timestamppb.New(now),
		}
		if err := tx.PutParticipant(id, p); err != nil {
			return err
		}
		if err := tx.PutToken(TokenHash(token), id); err != nil {
			return err
		}
		// The log is the public record: contact details stay out of it.
		public := proto.Clone(p).(*candorv1.Participant)
		public.Email = ""
		_, err := record(tx, now, pr.Actor(), candorv1.EntryKind_ENTRY_KIND_PARTICIPANT_ADDED, p.Name, uuid.Nil,
			&candorv1.LogEntry{Payload: &candorv1.LogEntry_Participant{Participant: public}})
		return err
	})
	if err != nil {
		return nil, "", nil, err
	}
	return p, token, rcpt, nil
}

// GetParticipant returns a participant (uuid.Nil: the caller).
func (s *Service) GetParticipant(ctx context.Context, pr Principal, id uuid.UUID) (*candorv1.Participant, error) {
	id, err := s.self(pr, id)
	if err != nil {
		return nil, err
	}
	var p *candorv1.Participant
	err = s.store.View(func(tx *store.ReadTx) error {
		p, err = tx.Participant(id)
		if err != nil {
			return err
		}
		v, err := viewer(tx, pr)
		hideEmail(v, p)
		return err
	})
	return p, err
}

// ListParticipants lists participants after the given one.
func (s *Service) ListParticipants(ctx context.Context, pr Principal, after uuid.UUID, limit int) ([]*candorv1.Participant, error) {
	var ps []*candorv1.Participant
	err := s.store.View(func(tx *store.ReadTx) error {
		var err error
		if ps, err = tx.ListParticipants(after, limit); err != nil {
			return err
		}
		v, err := viewer(tx, pr)
		for _, p := range ps {
			hideEmail(v, p)
		}
		return err
	})
	return ps, err
}

// hideEmail clears p's email unless the viewer may see it ([domain.CanSeeEmail]).
func hideEmail(v domain.Viewer, p *candorv1.Participant) {
	if !domain.CanSeeEmail(v, p.GetName()) {
		p.Email = ""
	}
}

// GrantAuditor gives a participant the auditor role.
func (s *Service) GrantAuditor(ctx context.Context, pr Principal, id uuid.UUID) (*candorv1.Participant, *candorv1.Receipt, error) {
	if err := domain.RequireAdmin(pr.known()); err != nil {
		return nil, nil, err
	}
	var p *candorv1.Participant
	rcpt, err := s.write(ctx, "GrantAuditor", func(tx *store.Tx, now time.Time) error {
		var err error
		if p, err = tx.Participant(id); err != nil {
			return err
		}
		p.Auditor = true
		if err := tx.PutParticipant(id, p); err != nil {
			return err
		}
		public := proto.Clone(p).(*candorv1.Participant)
		public.Email = ""
		_, err = record(tx, now, pr.Actor(), candorv1.EntryKind_ENTRY_KIND_AUDITOR_GRANTED, p.Name, uuid.Nil,
			&candorv1.LogEntry{Payload: &candorv1.LogEntry_Participant{Participant: public}})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return p, rcpt, nil
}

// GetSOI returns version v (0: current) of a participant's SOI (uuid.Nil: the caller's).
func (s *Service) GetSOI(ctx context.Context, pr Principal, id uuid.UUID, v int64) (*candorv1.StatementOfInterest, error) {
	id, err := s.self(pr, id)
	if err != nil {
		return nil, err
	}
	var soi *candorv1.StatementOfInterest
	err = s.store.View(func(tx *store.ReadTx) error {
		if v == 0 {
			p, err := tx.Participant(id)
			if err != nil {
				return err
			}
			if p.SoiVersion == 0 {
				return fmt.Errorf("%w: %s has filed none yet", store.ErrSOINotFound, p.Name)
			}
			v = p.SoiVersion
		}
		soi, err = tx.SOI(id, v)
		return err
	})
	return soi, err
}

// ListSOIs lists a participant's SOI versions after version `after`.
func (s *Service) ListSOIs(ctx context.Context, pr Principal, id uuid.UUID, after int64, limit int) ([]*candorv1.StatementOfInterest, error) {
	id, err := s.self(pr, id)
	if err != nil {
		return nil, err
	}
	var sois []*candorv1.StatementOfInterest
	err = s.store.View(func(tx *store.ReadTx) error {
		if _, err := tx.Participant(id); err != nil {
			return err
		}
		sois, err = tx.ListSOIs(id, after, limit)
		return err
	})
	return sois, err
}

// UpdateSOI files a new version of the caller's SOI.
func (s *Service) UpdateSOI(ctx context.Context, pr Principal, content *candorv1.StatementOfInterest, req Request) (*candorv1.StatementOfInterest, *candorv1.Receipt, error) {
	if !pr.isParticipant() {
		return nil, nil, domain.ErrParticipantOnly
	}
	var soi *candorv1.StatementOfInterest
	rcpt, replay, err := s.writeOnce(ctx, pr, "UpdateStatementOfInterest", req, func(tx *store.Tx, now time.Time) error {
		var err error
		soi, err = fileSOI(tx, now, pr, content)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	s.watchers.changedAll() // staleness and affected-party matches may change in any roster
	if replay != nil {
		soi = replay.GetStatementOfInterest()
	}
	return soi, rcpt, nil
}

// fileSOI stores content as the participant's next SOI version and logs it.
func fileSOI(tx *store.Tx, now time.Time, pr Principal, content *candorv1.StatementOfInterest) (*candorv1.StatementOfInterest, error) {
	p, err := tx.Participant(pr.Participant)
	if err != nil {
		return nil, err
	}
	soi := proto.Clone(content).(*candorv1.StatementOfInterest)
	soi.Version = p.SoiVersion + 1
	soi.Name = resource.SOI(pr.Participant, soi.Version)
	soi.ContentHash = domain.SOIContentHash(soi)
	soi.CreateTime = timestamppb.New(now)
	p.SoiVersion = soi.Version
	if err := tx.PutSOI(pr.Participant, soi); err != nil {
		return nil, err
	}
	if err := tx.PutParticipant(pr.Participant, p); err != nil {
		return nil, err
	}
	_, err = record(tx, now, pr.Actor(), candorv1.EntryKind_ENTRY_KIND_SOI_VERSION, p.Name, uuid.Nil,
		&candorv1.LogEntry{Payload: &candorv1.LogEntry_StatementOfInterest{StatementOfInterest: soi}})
	return soi, err
}

// self resolves uuid.Nil to the calling participant.
func (s *Service) self(pr Principal, id uuid.UUID) (uuid.UUID, error) {
	if id != uuid.Nil {
		return id, nil
	}
	if !pr.isParticipant() {
		return uuid.Nil, domain.ErrParticipantOnly
	}
	return pr.Participant, nil
}
