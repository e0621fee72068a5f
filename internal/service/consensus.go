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

// DefaultObjectionWindow is how long members may object to a proposed designation when the chair
// sets no window (see [domain.ObjectionWindow]).
const DefaultObjectionWindow = domain.DefaultObjectionWindow

// StatePosition records the caller's position in a consensus call, under the ballot's invariant.
func (s *Service) StatePosition(ctx context.Context, pr Principal, body, call uuid.UUID, position candorv1.Position, comment string, req Request) (*candorv1.PositionStatement, *candorv1.Receipt, error) {
	if !pr.isParticipant() {
		return nil, nil, domain.ErrParticipantOnly
	}
	me := resource.Participant(pr.Participant)
	id := newID()
	var ps *candorv1.PositionStatement
	rcpt, replay, err := s.writeOnce(ctx, pr, "StatePosition", req, func(tx *store.Tx, now time.Time) error {
		c, eligible, standing, err := standingIn(&tx.ReadTx, body, call, pr.Participant)
		if err != nil {
			return err
		}
		if err := domain.CheckPosition(c, me, eligible, standing, now); err != nil {
			return err
		}
		if err := domain.CheckStatement(position, comment); err != nil {
			return err
		}
		if err := domain.CheckBallotsCast(tx.Filed(call, pr.Participant, store.FiledBallots)); err != nil {
			return err
		}
		d := standing.Declaration
		prev, err := tx.Position(call, pr.Participant)
		if err != nil {
			return err
		}
		ps = &candorv1.PositionStatement{
			Name: resource.Position(body, call, id), Participant: me, Position: position, Comment: comment,
			Declaration: d.Name, ConflictLevel: d.ConflictLevel, CreateTime: timestamppb.New(now),
			Supersedes: prev.GetName(),
		}
		if err := tx.PutPosition(call, pr.Participant, ps); err != nil {
			return err
		}
		if err := tx.CountFiled(call, pr.Participant, store.FiledBallots); err != nil {
			return err
		}
		_, err = record(tx, now, me, candorv1.EntryKind_ENTRY_KIND_POSITION, c.Name, call,
			&candorv1.LogEntry{Payload: &candorv1.LogEntry_PositionStatement{PositionStatement: ps}})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	s.watchers.changed(call)
	if replay != nil {
		ps = replay.GetPositionStatement()
	}
	return ps, rcpt, nil
}

// updateConsensus runs check and change on a consensus call's record and logs the change, for the
// use case named (its traces' name). check runs before anything is written; change edits the call
// and returns the log payload.
func (s *Service) updateConsensus(ctx context.Context, useCase string, pr Principal, body, call uuid.UUID, chairOnly bool, kind candorv1.EntryKind,
	check func(c *candorv1.Call, now time.Time) error,
	change func(c *candorv1.Call, now time.Time) *candorv1.LogEntry) (*candorv1.Call, *candorv1.Receipt, error) {
	var c *candorv1.Call
	rcpt, err := s.writeBy(ctx, pr, useCase, func(tx *store.Tx, now time.Time) error {
		var err error
		if c, err = tx.Call(body, call); err != nil {
			return err
		}
		if chairOnly {
			if err := requireChair(&tx.ReadTx, pr, body); err != nil {
				return err
			}
		} else if !pr.isParticipant() {
			return domain.ErrParticipantOnly
		}
		if err := check(c, now); err != nil {
			return err
		}
		if c.Consensus == nil {
			c.Consensus = &candorv1.ConsensusRecord{}
		}
		e := change(c, now)
		if err := tx.PutCall(body, call, c); err != nil {
			return err
		}
		_, err = record(tx, now, pr.Actor(), kind, c.Name, call, e)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	s.watchers.changed(call)
	return summarize(c, SummaryItems), rcpt, nil
}

// ProposeDesignation proposes (or revises) the consensus level and opens an objection window of
// windowSeconds (0: the default; see [domain.ObjectionWindow]).
func (s *Service) ProposeDesignation(ctx context.Context, pr Principal, body, call uuid.UUID, level candorv1.ConsensusLevel, rationale string, windowSeconds int64) (*candorv1.Call, *candorv1.Receipt, error) {
	return s.updateConsensus(ctx, "ProposeDesignation", pr, body, call, true, candorv1.EntryKind_ENTRY_KIND_DESIGNATION_PROPOSED,
		func(c *candorv1.Call, _ time.Time) error { return domain.CheckPropose(c, windowSeconds) },
		func(c *candorv1.Call, now time.Time) *candorv1.LogEntry {
			window, _ := domain.ObjectionWindow(windowSeconds) // CheckPropose refused any other
			d := &candorv1.Designation{
				Revision: int32(len(c.Consensus.Proposals) + 1), Level: level, Rationale: rationale,
				Chair: pr.Actor(), CreateTime: timestamppb.New(now), ObjectionDeadline: timestamppb.New(now.Add(window)),
			}
			c.Consensus.Proposals = append(c.Consensus.Proposals, d)
			return &candorv1.LogEntry{Payload: &candorv1.LogEntry_Designation{Designation: d}}
		})
}

// ObjectToDesignation records an objection to the current proposal.
func (s *Service) ObjectToDesignation(ctx context.Context, pr Principal, body, call uuid.UUID, reason string) (*candorv1.Objection, *candorv1.Receipt, error) {
	me := resource.Participant(pr.Participant)
	var o *candorv1.Objection
	_, rcpt, err := s.updateConsensus(ctx, "ObjectToDesignation", pr, body, call, false, candorv1.EntryKind_ENTRY_KIND_OBJECTION,
		func(c *candorv1.Call, now time.Time) error { return domain.CheckObjection(c, me, now) },
		func(c *candorv1.Call, now time.Time) *candorv1.LogEntry {
			ps := c.Consensus.Proposals
			o = &candorv1.Objection{Revision: ps[len(ps)-1].Revision, Participant: me, Reason: reason, CreateTime: timestamppb.New(now)}
			c.Consensus.Objections = append(c.Consensus.Objections, o)
			return &candorv1.LogEntry{Payload: &candorv1.LogEntry_Objection{Objection: o}}
		})
	return o, rcpt, err
}

// FinalizeDesignation makes the current proposal final.
func (s *Service) FinalizeDesignation(ctx context.Context, pr Principal, body, call uuid.UUID) (*candorv1.Call, *candorv1.Receipt, error) {
	return s.updateConsensus(ctx, "FinalizeDesignation", pr, body, call, true, candorv1.EntryKind_ENTRY_KIND_DESIGNATION_FINALIZED,
		domain.CheckFinalize,
		func(c *candorv1.Call, now time.Time) *candorv1.LogEntry {
			ps := c.Consensus.Proposals
			final := proto.Clone(ps[len(ps)-1]).(*candorv1.Designation)
			final.Chair, final.CreateTime = pr.Actor(), timestamppb.New(now)
			c.Consensus.Final = final
			return &candorv1.LogEntry{Payload: &candorv1.LogEntry_Designation{Designation: final}}
		})
}

// AppealDesignation records an appeal of the final designation.
func (s *Service) AppealDesignation(ctx context.Context, pr Principal, body, call uuid.UUID, reason string) (*candorv1.Appeal, *candorv1.Receipt, error) {
	me := resource.Participant(pr.Participant)
	var a *candorv1.Appeal
	_, rcpt, err := s.updateConsensus(ctx, "AppealDesignation", pr, body, call, false, candorv1.EntryKind_ENTRY_KIND_APPEAL,
		func(c *candorv1.Call, _ time.Time) error { return domain.CheckAppeal(c, me) },
		func(c *candorv1.Call, now time.Time) *candorv1.LogEntry {
			a = &candorv1.Appeal{Participant: me, Reason: reason, CreateTime: timestamppb.New(now)}
			c.Consensus.Appeals = append(c.Consensus.Appeals, a)
			return &candorv1.LogEntry{Payload: &candorv1.LogEntry_Appeal{Appeal: a}}
		})
	return a, rcpt, err
}

// FileMinorityStatement attaches a minority statement to a consensus call.
func (s *Service) FileMinorityStatement(ctx context.Context, pr Principal, body, call uuid.UUID, text string, cosigners []string, req Request) (*candorv1.MinorityStatement, *candorv1.Receipt, error) {
	if !pr.isParticipant() {
		return nil, nil, domain.ErrParticipantOnly
	}
	me := resource.Participant(pr.Participant)
	id := newID()
	var ms *candorv1.MinorityStatement
	rcpt, replay, err := s.writeOnce(ctx, pr, "FileMinorityStatement", req, func(tx *store.Tx, now time.Time) error {
		c, err := tx.Call(body, call)
		if err != nil {
			return err
		}
		positions, err := tx.Positions(call)
		if err != nil {
			return err
		}
		stated := make(map[string]bool, len(positions))
		for _, p := range positions {
			stated[p.Participant] = true
		}
		if err := domain.CheckMinorityStatement(c, me, cosigners, stated); err != nil {
			return err
		}
		ms = &candorv1.MinorityStatement{
			Name: resource.MinorityStatement(body, call, id), Author: me, Text: text,
			Cosigners: cosigners, CreateTime: timestamppb.New(now),
		}
		if c.Consensus == nil {
			c.Consensus = &candorv1.ConsensusRecord{}
		}
		c.Consensus.MinorityStatements = append(c.Consensus.MinorityStatements, ms)
		if err := tx.PutCall(body, call, c); err != nil {
			return err
		}
		_, err = record(tx, now, me, candorv1.EntryKind_ENTRY_KIND_MINORITY_STATEMENT_FILED, c.Name, call,
			&candorv1.LogEntry{Payload: &candorv1.LogEntry_MinorityStatement{MinorityStatement: ms}})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	s.watchers.changed(call)
	if replay != nil {
		ms = replay.GetMinorityStatement()
	}
	return ms, rcpt, nil
}

// SignMinorityStatement confirms the caller as a co-signer.
func (s *Service) SignMinorityStatement(ctx context.Context, pr Principal, body, call, statement uuid.UUID) (*candorv1.MinorityStatement, *candorv1.Receipt, error) {
	me := resource.Participant(pr.Participant)
	name := resource.MinorityStatement(body, call, statement)
	var ms *candorv1.MinorityStatement
	_, rcpt, err := s.updateConsensus(ctx, "SignMinorityStatement", pr, body, call, false, candorv1.EntryKind_ENTRY_KIND_MINORITY_STATEMENT_SIGNED,
		func(c *candorv1.Call, _ time.Time) error {
			if ms = findStatement(c, name); ms == nil {
				return domain.ErrStatementNotFound
			}
			return domain.CheckSign(ms, me)
		},
		func(c *candorv1.Call, now time.Time) *candorv1.LogEntry {
			ms = findStatement(c, name)
			ms.SignedBy = append(ms.SignedBy, me)
			return &candorv1.LogEntry{Payload: &candorv1.LogEntry_MinorityStatement{MinorityStatement: ms}}
		})
	return ms, rcpt, err
}

func findStatement(c *candorv1.Call, name string) *candorv1.MinorityStatement {
	for _, ms := range c.GetConsensus().GetMinorityStatements() {
		if ms.Name == name {
			return ms
		}
	}
	return nil
}
