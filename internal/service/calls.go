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

// OpenCall opens a call in a body. The caller must chair the body.
func (s *Service) OpenCall(ctx context.Context, pr Principal, body uuid.UUID, in *candorv1.Call, req Request) (*candorv1.Call, *candorv1.Receipt, error) {
	id := newID()
	var c *candorv1.Call
	rcpt, replay, err := s.writeOnce(ctx, pr, "OpenCall", req, func(tx *store.Tx, now time.Time) error {
		if _, err := tx.Body(body); err != nil {
			return err
		}
		if err := requireChair(&tx.ReadTx, pr, body); err != nil {
			return err
		}
		members, err := activeMembers(&tx.ReadTx, body)
		if err != nil {
			return err
		}
		c = proto.Clone(in).(*candorv1.Call)
		c.Name, c.OpenTime = resource.Call(body, id), timestamppb.New(now)
		if err := domain.PrepareCall(c, members, pr.Actor(), now); err != nil {
			return err
		}
		if err := tx.PutCall(body, id, c); err != nil {
			return err
		}
		if c.Deadline != nil {
			if err := tx.SetDeadline(store.CallDeadline{Deadline: c.Deadline.AsTime(), Body: body, Call: id}); err != nil {
				return err
			}
		}
		_, err = record(tx, now, pr.Actor(), candorv1.EntryKind_ENTRY_KIND_CALL_OPENED, c.Name, id,
			&candorv1.LogEntry{Payload: &candorv1.LogEntry_Call{Call: c}})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if replay != nil {
		c = replay.GetCall()
	}
	return c, rcpt, nil
}

// GetCall returns a call.
func (s *Service) GetCall(ctx context.Context, pr Principal, body, call uuid.UUID) (*candorv1.Call, error) {
	var c *candorv1.Call
	err := s.store.View(func(tx *store.ReadTx) error {
		if err := canSeeBody(tx, pr, body); err != nil {
			return err
		}
		var err error
		c, err = tx.Call(body, call)
		return err
	})
	return summarize(c, SummaryItems), err
}

// ListCalls lists a body's calls after the given one.
func (s *Service) ListCalls(ctx context.Context, pr Principal, body, after uuid.UUID, limit int) ([]*candorv1.Call, error) {
	var cs []*candorv1.Call
	err := s.store.View(func(tx *store.ReadTx) error {
		if err := canSeeBody(tx, pr, body); err != nil {
			return err
		}
		if _, err := tx.Body(body); err != nil {
			return err
		}
		var err error
		cs, err = tx.ListCalls(body, after, limit)
		return err
	})
	for i, c := range cs {
		cs[i] = summarize(c, 0)
	}
	return cs, err
}

// CloseCall closes an open call and stores its result. The caller must chair the body.
func (s *Service) CloseCall(ctx context.Context, pr Principal, body, call uuid.UUID) (*candorv1.Call, *candorv1.Receipt, error) {
	var c *candorv1.Call
	rcpt, err := s.writeBy(ctx, pr, "CloseCall", func(tx *store.Tx, now time.Time) error {
		var err error
		if c, err = tx.Call(body, call); err != nil {
			return err
		}
		if err := requireChair(&tx.ReadTx, pr, body); err != nil {
			return err
		}
		return closeCall(tx, now, pr.Actor(), body, call, c)
	})
	if err != nil {
		return nil, nil, err
	}
	s.watchers.changed(call)
	return summarize(c, SummaryItems), rcpt, nil
}

// CloseDue closes every open call whose deadline has passed and returns how many it closed.
func (s *Service) CloseDue(ctx context.Context) (int, error) {
	var due []store.CallDeadline
	err := s.store.View(func(tx *store.ReadTx) error {
		var err error
		due, err = tx.DueCalls(s.now(), 100)
		return err
	})
	if err != nil {
		return 0, err
	}
	closed := 0
	for _, d := range due {
		didClose := false
		_, err := s.store.Update(ctx, func(tx *store.Tx) error {
			didClose = false
			c, err := tx.Call(d.Body, d.Call)
			if err != nil {
				return err
			}
			if c.State != candorv1.CallState_CALL_STATE_OPEN {
				// closeCall clears the index, so this is only a guard against a stale entry.
				return tx.ClearDeadline(d)
			}
			didClose = true
			return closeCall(tx, s.clock(), domain.ServerActor, d.Body, d.Call, c)
		})
		if err != nil {
			return closed, err
		}
		if didClose {
			s.watchers.changed(d.Call)
			closed++
			s.log.Info("closed call at its deadline", "call", resource.Call(d.Body, d.Call))
		}
	}
	return closed, nil
}

// NextDeadline returns when the next open call's deadline falls, if any.
func (s *Service) NextDeadline() (time.Time, bool) {
	var t time.Time
	var ok bool
	s.store.View(func(tx *store.ReadTx) error {
		t, ok = tx.NextDeadline()
		return nil
	})
	return t, ok
}

// closeCall tallies c from the current declarations and ballots and closes it, in tx.
func closeCall(tx *store.Tx, now time.Time, actor string, body, call uuid.UUID, c *candorv1.Call) error {
	if c.State != candorv1.CallState_CALL_STATE_OPEN {
		return domain.ErrCallClosed
	}
	standings, ballots, err := callState(&tx.ReadTx, body, call, c)
	if err != nil {
		return err
	}
	c.Result = domain.Tally(c, standings, ballots)
	c.State, c.ClosedBy, c.CloseTime = candorv1.CallState_CALL_STATE_CLOSED, actor, timestamppb.New(now)
	if err := tx.PutCall(body, call, c); err != nil {
		return err
	}
	if c.Deadline != nil {
		if err := tx.ClearDeadline(store.CallDeadline{Deadline: c.Deadline.AsTime(), Body: body, Call: call}); err != nil {
			return err
		}
	}
	_, err = record(tx, now, actor, candorv1.EntryKind_ENTRY_KIND_CALL_CLOSED, c.Name, call,
		&candorv1.LogEntry{Payload: &candorv1.LogEntry_Call{Call: c}})
	return err
}

// callState reads every eligible participant's standing (with their stakeholder group) and current
// ballot in a call; for a consensus call, their positions counted as ballots.
func callState(tx *store.ReadTx, body, call uuid.UUID, c *candorv1.Call) (map[string]domain.Standing, map[string]*candorv1.Ballot, error) {
	decls, err := tx.Declarations(call)
	if err != nil {
		return nil, nil, err
	}
	clears, err := tx.Clearances(call)
	if err != nil {
		return nil, nil, err
	}
	bs, err := tx.Ballots(call)
	if err != nil {
		return nil, nil, err
	}
	standings := make(map[string]domain.Standing, len(c.EligibleParticipants))
	for _, p := range c.EligibleParticipants {
		id, err := resource.ParseParticipant(p)
		if err != nil {
			return nil, nil, err
		}
		part, err := tx.Participant(id)
		if err != nil {
			return nil, nil, err
		}
		m, err := tx.Membership(body, id)
		if err == nil && m == nil {
			m, err = tx.FormerMembership(body, id) // removed while the call was open
		}
		if err != nil {
			return nil, nil, err
		}
		standings[p] = domain.Standing{SOIVersion: part.SoiVersion, Group: m.GetStakeholderGroup()}
	}
	for _, d := range decls {
		st := standings[d.Participant]
		st.Declaration = d
		standings[d.Participant] = st
	}
	for _, cl := range clears {
		st := standings[cl.Participant]
		st.Clearance = cl
		standings[cl.Participant] = st
	}
	ballots := make(map[string]*candorv1.Ballot, len(bs))
	for _, b := range bs {
		ballots[b.Participant] = b
	}
	if c.Kind == candorv1.CallKind_CALL_KIND_CONSENSUS {
		ps, err := tx.Positions(call)
		if err != nil {
			return nil, nil, err
		}
		ballots = domain.PositionBallots(ps)
	}
	return standings, ballots, nil
}

// Roster returns one page of a call's roster: every eligible participant's standing (declared,
// stale, cleared, voted), in the order of the call's eligibility list from position from, within
// lim. The list is fixed when the call opens, so a position names the same participant for the
// life of the call and following Next visits each of them exactly once.
func (s *Service) Roster(ctx context.Context, pr Principal, body, call uuid.UUID, from int, lim PageLimit) (RosterPage, error) {
	var page RosterPage
	err := s.store.View(func(tx *store.ReadTx) error {
		if err := canSeeBody(tx, pr, body); err != nil {
			return err
		}
		c, err := tx.Call(body, call)
		if err != nil {
			return err
		}
		page, err = roster(tx, body, call, c, from, lim.Count, lim.budget())
		return err
	})
	return page, err
}

// roster builds the page of call c's roster in tx that starts at position from of its eligibility
// list: at most count entries (0: any number) within budget encoded bytes, and always at least one
// entry unless from is past the end. Only the page's entries are built (each matches an SOI against
// the call's affected parties); the standings are read for the whole call, as the rules read them.
func roster(tx *store.ReadTx, body, call uuid.UUID, c *candorv1.Call, from, count, budget int) (RosterPage, error) {
	page := RosterPage{Total: len(c.EligibleParticipants)}
	if from >= len(c.EligibleParticipants) {
		return page, nil
	}
	standings, ballots, err := callState(tx, body, call, c)
	if err != nil {
		return page, err
	}
	size := 0
	for i := from; i < len(c.EligibleParticipants); i++ {
		if count > 0 && len(page.Entries) == count {
			page.Next = i
			break
		}
		p := c.EligibleParticipants[i]
		id, _ := resource.ParseParticipant(p) // parsed by callState
		part, err := tx.Participant(id)       // for the display name; callState read the rest
		if err != nil {
			return page, err
		}
		st := standings[p]
		var matches []string
		if st.SOIVersion > 0 {
			soi, err := tx.SOI(id, st.SOIVersion)
			if err != nil {
				return page, err
			}
			matches = domain.AffectedMatches(c, soi)
		}
		e := &candorv1.RosterEntry{
			AffectedPartyMatches: matches,
			Participant:          p,
			DisplayName:          part.DisplayName,
			StakeholderGroup:     st.Group,
			Declaration:          st.Declaration,
			Stale:                domain.IsStale(st),
			Clearance:            st.Clearance,
			Voted:                ballots[p] != nil,
		}
		// Who can no longer act on the eligibility fixed at opening (see callFor): a deactivated
		// participant, and one no longer a member of the body.
		m, err := tx.Membership(body, id)
		if err != nil {
			return page, err
		}
		e.Deactivated, e.Removed = part.GetDeactivated(), m == nil
		n := ItemSize(e)
		if len(page.Entries) > 0 && size+n > budget {
			page.Next = i
			break
		}
		size += n
		page.Entries = append(page.Entries, e)
	}
	return page, nil
}

// callFor reads what one participant's write needs of a call: its head (without the list of
// eligible participants) and whether p is eligible in it, read from one eligibility key. The rules
// only ask whether p is on the list, and decoding the whole list on every declaration and ballot
// was the commit loop's largest cost (pprof: 12% of CPU with 256 members), so the domain checks take
// eligibility as an argument. A participant removed from the body since the call opened is refused
// here: both declarations and the writes that rest on them (ballots, positions) read the call
// through it.
func callFor(tx *store.ReadTx, body, call, p uuid.UUID) (c *candorv1.Call, eligible bool, err error) {
	c, err = tx.CallHead(body, call)
	if err != nil {
		return nil, false, err
	}
	eligible = tx.IsEligible(call, p)
	// Eligibility stays as fixed at opening, but only a current member may act on it.
	m, err := tx.Membership(body, p)
	if err != nil {
		return nil, false, err
	}
	if err := domain.CheckStillMember(eligible, m); err != nil {
		return nil, false, err
	}
	return c, eligible, nil
}

// standingIn reads, inside a write's transaction, what the invariant needs about participant p in a
// call: the call's head and whether p is eligible in it (see callFor), p's current declaration, the
// chair's ruling on it, and p's current SOI version. Ballots and positions both rest on it.
func standingIn(tx *store.ReadTx, body, call, p uuid.UUID) (*candorv1.Call, bool, domain.Standing, error) {
	c, eligible, err := callFor(tx, body, call, p)
	if err != nil {
		return nil, false, domain.Standing{}, err
	}
	part, err := tx.Participant(p)
	if err != nil {
		return nil, false, domain.Standing{}, err
	}
	d, err := tx.Declaration(call, p)
	if err != nil {
		return nil, false, domain.Standing{}, err
	}
	cl, err := tx.Clearance(call, p)
	if err != nil {
		return nil, false, domain.Standing{}, err
	}
	return c, eligible, domain.Standing{Declaration: d, Clearance: cl, SOIVersion: part.SoiVersion}, nil
}

// Restatement is how a declaration restates the SOI: pinned unchanged by hash, or changed.
type Restatement struct {
	UnchangedHash []byte
	Updated       *candorv1.StatementOfInterest
}

// DeclarationInput is what a participant declares.
type DeclarationInput struct {
	Restatement Restatement
	Level       candorv1.ConflictLevel
	Description string
	Intent      candorv1.Intent
}

// FileDeclaration restates the caller's SOI and declares their conflict for an open call. A changed
// SOI becomes the caller's next version in the same transaction.
func (s *Service) FileDeclaration(ctx context.Context, pr Principal, body, call uuid.UUID, in DeclarationInput, req Request) (*candorv1.Declaration, *candorv1.Receipt, error) {
	if !pr.isParticipant() {
		return nil, nil, domain.ErrParticipantOnly
	}
	if in.Intent == candorv1.Intent_INTENT_UNSPECIFIED {
		in.Intent = candorv1.Intent_INTENT_PARTICIPATE
	}
	me := resource.Participant(pr.Participant)
	id := newID()
	var d *candorv1.Declaration
	rcpt, replay, err := s.writeOnce(ctx, pr, "FileDeclaration", req, func(tx *store.Tx, now time.Time) error {
		c, eligible, err := callFor(&tx.ReadTx, body, call, pr.Participant)
		if err != nil {
			return err
		}
		p, err := tx.Participant(pr.Participant)
		if err != nil {
			return err
		}
		restating := in.Restatement.Updated != nil
		if err := domain.CheckDeclaration(c, eligible, p.SoiVersion, restating, now); err != nil {
			return err
		}
		if err := domain.CheckConflictDescription(in.Level, in.Description); err != nil {
			return err
		}
		if err := domain.CheckDeclarationsFiled(tx.Filed(call, pr.Participant, store.FiledDeclarations)); err != nil {
			return err
		}
		var soi *candorv1.StatementOfInterest
		if !restating {
			if soi, err = tx.SOI(pr.Participant, p.SoiVersion); err != nil {
				return err
			}
			if err := domain.CheckPin(soi, in.Restatement.UnchangedHash); err != nil {
				return err
			}
		}
		restated := soi
		if restating {
			restated = in.Restatement.Updated
		}
		if err := domain.CheckScreening(c, restated, in.Level, in.Description); err != nil {
			return err
		}
		prev, err := tx.Declaration(call, pr.Participant)
		if err != nil {
			return err
		}
		// Every check is done: from here on, only writes.
		if restating {
			if soi, err = fileSOI(tx, now, pr, in.Restatement.Updated); err != nil {
				return err
			}
		}
		d = &candorv1.Declaration{
			Name:           resource.Declaration(body, call, id),
			Participant:    me,
			SoiVersion:     soi.Version,
			SoiContentHash: soi.ContentHash,
			SoiChanged:     restating,
			ConflictLevel:  in.Level,
			Description:    in.Description,
			Intent:         in.Intent,
			CreateTime:     timestamppb.New(now),
			Supersedes:     prev.GetName(),
		}
		if err := tx.PutDeclaration(call, pr.Participant, d); err != nil {
			return err
		}
		if err := tx.CountFiled(call, pr.Participant, store.FiledDeclarations); err != nil {
			return err
		}
		index, err := record(tx, now, me, candorv1.EntryKind_ENTRY_KIND_DECLARATION, c.Name, call,
			&candorv1.LogEntry{Payload: &candorv1.LogEntry_Declaration{Declaration: d}})
		if err != nil {
			return err
		}
		return tx.IndexDeclaration(pr.Participant, call, index)
	})
	if err != nil {
		return nil, nil, err
	}
	if in.Restatement.Updated != nil {
		s.watchers.changedAll() // a new SOI version can make this participant's other declarations stale
	} else {
		s.watchers.changed(call)
	}
	if replay != nil {
		d = replay.GetDeclaration()
	}
	return d, rcpt, nil
}

// ClearDeclaration records the chair's ruling on a participant's current declaration (REVIEW policy).
func (s *Service) ClearDeclaration(ctx context.Context, pr Principal, body, call, participant uuid.UUID, decision candorv1.ClearanceDecision, note string) (*candorv1.Clearance, *candorv1.Receipt, error) {
	var cl *candorv1.Clearance
	rcpt, err := s.writeBy(ctx, pr, "ClearDeclaration", func(tx *store.Tx, now time.Time) error {
		c, err := tx.Call(body, call)
		if err != nil {
			return err
		}
		if err := requireChair(&tx.ReadTx, pr, body); err != nil {
			return err
		}
		if _, err := tx.Participant(participant); err != nil {
			return err
		}
		d, err := tx.Declaration(call, participant)
		if err != nil {
			return err
		}
		if err := domain.CheckClearance(c, d, pr.Actor(), now); err != nil {
			return err
		}
		cl = &candorv1.Clearance{
			Declaration: d.Name, Participant: d.Participant, Decision: decision, Note: note,
			Chair: pr.Actor(), CreateTime: timestamppb.New(now),
		}
		if err := tx.PutClearance(call, participant, cl); err != nil {
			return err
		}
		_, err = record(tx, now, pr.Actor(), candorv1.EntryKind_ENTRY_KIND_CLEARANCE, c.Name, call,
			&candorv1.LogEntry{Payload: &candorv1.LogEntry_Clearance{Clearance: cl}})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	s.watchers.changed(call)
	return cl, rcpt, nil
}

// CastBallot records the caller's ballot. It holds the invariant: the ballot and the declaration it
// rests on are read and written in one transaction (see domain.CheckBallot).
func (s *Service) CastBallot(ctx context.Context, pr Principal, body, call uuid.UUID, option string, req Request) (*candorv1.Ballot, *candorv1.Receipt, error) {
	if !pr.isParticipant() {
		return nil, nil, domain.ErrParticipantOnly
	}
	me := resource.Participant(pr.Participant)
	id := newID()
	var b *candorv1.Ballot
	rcpt, replay, err := s.writeOnce(ctx, pr, "CastBallot", req, func(tx *store.Tx, now time.Time) error {
		c, eligible, standing, err := standingIn(&tx.ReadTx, body, call, pr.Participant)
		if err != nil {
			return err
		}
		d := standing.Declaration
		if err := domain.CheckBallot(c, me, eligible, standing, now); err != nil {
			return err
		}
		opt, err := domain.MatchOption(c, option)
		if err != nil {
			return err
		}
		if err := domain.CheckBallotsCast(tx.Filed(call, pr.Participant, store.FiledBallots)); err != nil {
			return err
		}
		prev, err := tx.Ballot(call, pr.Participant)
		if err != nil {
			return err
		}
		b = &candorv1.Ballot{
			Name: resource.Ballot(body, call, id), Participant: me, Option: opt, Declaration: d.Name,
			ConflictLevel: d.ConflictLevel, CreateTime: timestamppb.New(now), Supersedes: prev.GetName(),
		}
		if err := tx.PutBallot(call, pr.Participant, b); err != nil {
			return err
		}
		if err := tx.CountFiled(call, pr.Participant, store.FiledBallots); err != nil {
			return err
		}
		_, err = record(tx, now, me, candorv1.EntryKind_ENTRY_KIND_BALLOT, c.Name, call,
			&candorv1.LogEntry{Payload: &candorv1.LogEntry_Ballot{Ballot: b}})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	s.watchers.changed(call)
	if replay != nil {
		b = replay.GetBallot()
	}
	return b, rcpt, nil
}
