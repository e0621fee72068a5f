package verify_test

import (
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/internal/domain"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// gen writes log entries by hand, as an honest server would, for tests and benchmarks that need
// no server. It checks no rule: it writes what it is told, so a test can write a log that breaks
// one. Each builder takes mutations, applied to the entry just before it is encoded.
type gen struct {
	tb      testing.TB
	now     time.Time
	entries [][]byte
	kinds   []candorv1.EntryKind
	sois    map[string]*candorv1.StatementOfInterest // latest, by participant
	members map[string]map[string]string             // stakeholder group, by body and participant
	calls   map[string]*genCall
}

type genCall struct {
	body      string
	c         *candorv1.Call // as the server keeps it
	positions map[string]*candorv1.PositionStatement
	decls     map[string]*candorv1.Declaration
	clears    map[string]*candorv1.Clearance
	ballots   map[string]*candorv1.Ballot
}

type mutation func(*candorv1.LogEntry)

// explaining sets a declaration's description.
func explaining(why string) mutation {
	return func(e *candorv1.LogEntry) { e.GetDeclaration().Description = why }
}

const (
	consensus  = candorv1.CallKind_CALL_KIND_CONSENSUS
	support    = candorv1.Position_POSITION_SUPPORT
	concerns   = candorv1.Position_POSITION_SUPPORT_WITH_CONCERNS
	oppose     = candorv1.Position_POSITION_OPPOSE
	none       = candorv1.ConflictLevel_CONFLICT_LEVEL_NONE
	potential  = candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL
	actual     = candorv1.ConflictLevel_CONFLICT_LEVEL_ACTUAL
	join       = candorv1.Intent_INTENT_PARTICIPATE
	recuse     = candorv1.Intent_INTENT_RECUSE
	chairRole  = candorv1.Role_ROLE_CHAIR
	member     = candorv1.Role_ROLE_MEMBER
	cleared    = candorv1.ClearanceDecision_CLEARANCE_DECISION_CLEARED
	mustRecuse = candorv1.ClearanceDecision_CLEARANCE_DECISION_RECUSAL_REQUIRED
	disclose   = candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE
	recusePol  = candorv1.ConflictPolicy_CONFLICT_POLICY_RECUSE
	review     = candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW
)

func newGen(tb testing.TB) *gen {
	return &gen{
		tb:      tb,
		now:     time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
		sois:    map[string]*candorv1.StatementOfInterest{},
		members: map[string]map[string]string{},
		calls:   map[string]*genCall{},
	}
}

// tick advances the clock by a millisecond and returns it, for the next entry.
func (g *gen) tick() time.Time {
	g.now = g.now.Add(time.Millisecond)
	return g.now
}

// add encodes the next entry, stamped at now, and returns its index.
func (g *gen) add(now time.Time, kind candorv1.EntryKind, actor, subject string, e *candorv1.LogEntry, muts []mutation) int64 {
	e.Format, e.Kind, e.Time, e.Actor, e.Subject = 1, kind, timestamppb.New(now), actor, subject
	for _, m := range muts {
		m(e)
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(e)
	if err != nil {
		g.tb.Fatal(err)
	}
	g.entries = append(g.entries, data)
	g.kinds = append(g.kinds, e.Kind)
	return int64(len(g.entries) - 1)
}

func (g *gen) last() int64 { return int64(len(g.entries) - 1) }

func (g *gen) participant(muts ...mutation) string {
	now := g.tick()
	name := "participants/" + uuid.NewString()
	g.add(now, candorv1.EntryKind_ENTRY_KIND_PARTICIPANT_ADDED, "admin", name, &candorv1.LogEntry{
		Payload: &candorv1.LogEntry_Participant{Participant: &candorv1.Participant{
			Name: name, DisplayName: name[len(name)-4:], CreateTime: timestamppb.New(now),
		}},
	}, muts)
	return name
}

func (g *gen) grantAuditor(p string, muts ...mutation) {
	now := g.tick()
	g.add(now, candorv1.EntryKind_ENTRY_KIND_AUDITOR_GRANTED, "admin", p, &candorv1.LogEntry{
		Payload: &candorv1.LogEntry_Participant{Participant: &candorv1.Participant{Name: p, Auditor: true}},
	}, muts)
}

// soi files the participant's next SOI version.
func (g *gen) soi(p, employer string, muts ...mutation) *candorv1.StatementOfInterest {
	now := g.tick()
	s := &candorv1.StatementOfInterest{
		Version: g.sois[p].GetVersion() + 1, Employer: employer, JobTitle: "Analyst", Represents: "self",
		StakeholderGroups: []string{"At-Large"},
		Interests:         []*candorv1.Interest{{Organization: "Example Registry Inc.", Nature: "shareholder"}},
	}
	s.Name = p + "/statementsOfInterest/" + strconv.FormatInt(s.Version, 10)
	s.ContentHash = domain.SOIContentHash(s)
	s.CreateTime = timestamppb.New(now)
	g.sois[p] = s
	g.add(now, candorv1.EntryKind_ENTRY_KIND_SOI_VERSION, p, p, &candorv1.LogEntry{
		Payload: &candorv1.LogEntry_StatementOfInterest{StatementOfInterest: s},
	}, muts)
	return s
}

func (g *gen) body(muts ...mutation) string {
	now := g.tick()
	name := "bodies/" + uuid.NewString()
	g.add(now, candorv1.EntryKind_ENTRY_KIND_BODY_CREATED, "admin", name, &candorv1.LogEntry{
		Payload: &candorv1.LogEntry_Body{Body: &candorv1.Body{Name: name, Title: "Council", CreateTime: timestamppb.New(now)}},
	}, muts)
	return name
}

func (g *gen) member(body, p string, role candorv1.Role, muts ...mutation) {
	g.memberOf(body, p, role, "At-Large", muts...)
}

func (g *gen) memberOf(body, p string, role candorv1.Role, group string, muts ...mutation) {
	now := g.tick()
	if g.members[body] == nil {
		g.members[body] = map[string]string{}
	}
	g.members[body][p] = group
	g.add(now, candorv1.EntryKind_ENTRY_KIND_MEMBER_ADDED, "admin", body, &candorv1.LogEntry{
		Payload: &candorv1.LogEntry_Membership{Membership: &candorv1.Membership{
			Name: body + "/members/" + p[len("participants/"):], Participant: p, Role: role,
			StakeholderGroup: group, CreateTime: timestamppb.New(now),
		}},
	}, muts)
}

// open opens a call from template c (nil: defaults) as the service does, with domain.PrepareCall.
func (g *gen) open(body, chair string, c *candorv1.Call, muts ...mutation) string {
	now := g.tick()
	if c == nil {
		c = &candorv1.Call{}
	}
	c = proto.Clone(c).(*candorv1.Call)
	if c.Title == "" {
		c.Title = "Adopt the statement"
	}
	c.Name, c.OpenTime = body+"/calls/"+uuid.NewString(), timestamppb.New(now)
	// The server lists members by participant id.
	members := make([]string, 0, len(g.members[body]))
	for p := range g.members[body] {
		members = append(members, p)
	}
	sort.Strings(members)
	if len(c.EligibleParticipants) > 0 && c.EligibilityJustification == "" {
		c.EligibilityJustification = "Only the liaison votes on liaison matters"
	}
	if err := domain.PrepareCall(c, members, chair, now); err != nil {
		g.tb.Fatalf("PrepareCall: %v", err)
	}
	g.calls[c.Name] = &genCall{
		body: body, c: c, positions: map[string]*candorv1.PositionStatement{}, decls: map[string]*candorv1.Declaration{}, clears: map[string]*candorv1.Clearance{},
		ballots: map[string]*candorv1.Ballot{},
	}
	g.add(now, candorv1.EntryKind_ENTRY_KIND_CALL_OPENED, chair, c.Name, &candorv1.LogEntry{
		Payload: &candorv1.LogEntry_Call{Call: proto.Clone(c).(*candorv1.Call)},
	}, muts)
	return c.Name
}

// declare files a declaration pinning p's current SOI.
func (g *gen) declare(call, p string, level candorv1.ConflictLevel, intent candorv1.Intent, muts ...mutation) *candorv1.Declaration {
	return g.declaration(call, p, level, intent, false, muts)
}

// declareChanged files a new SOI version and a declaration restating it, as one write does.
func (g *gen) declareChanged(call, p, employer string, level candorv1.ConflictLevel, intent candorv1.Intent, muts ...mutation) *candorv1.Declaration {
	g.soi(p, employer)
	return g.declaration(call, p, level, intent, true, muts)
}

func (g *gen) declaration(call, p string, level candorv1.ConflictLevel, intent candorv1.Intent, changed bool, muts []mutation) *candorv1.Declaration {
	now := g.tick()
	gc := g.calls[call]
	s := g.sois[p]
	d := &candorv1.Declaration{
		Name: call + "/declarations/" + uuid.NewString(), Participant: p,
		SoiVersion: s.GetVersion(), SoiContentHash: s.GetContentHash(), SoiChanged: changed,
		ConflictLevel: level, Intent: intent, CreateTime: timestamppb.New(now),
		Supersedes: gc.decls[p].GetName(),
	}
	if level > none {
		d.Description = "I advise a party to this matter" // a conflict says what it is
	}
	gc.decls[p] = d
	delete(gc.clears, p)
	g.add(now, candorv1.EntryKind_ENTRY_KIND_DECLARATION, p, call, &candorv1.LogEntry{
		Payload: &candorv1.LogEntry_Declaration{Declaration: d},
	}, muts)
	return d
}

func (g *gen) clear(call, chair, p string, decision candorv1.ClearanceDecision, muts ...mutation) {
	now := g.tick()
	gc := g.calls[call]
	cl := &candorv1.Clearance{
		Declaration: gc.decls[p].GetName(), Participant: p, Decision: decision, Note: "ruled",
		Chair: chair, CreateTime: timestamppb.New(now),
	}
	gc.clears[p] = cl
	g.add(now, candorv1.EntryKind_ENTRY_KIND_CLEARANCE, chair, call, &candorv1.LogEntry{
		Payload: &candorv1.LogEntry_Clearance{Clearance: cl},
	}, muts)
}

func (g *gen) vote(call, p, option string, muts ...mutation) {
	now := g.tick()
	gc := g.calls[call]
	d := gc.decls[p]
	b := &candorv1.Ballot{
		Name: call + "/ballots/" + uuid.NewString(), Participant: p, Option: option,
		Declaration: d.GetName(), ConflictLevel: d.GetConflictLevel(), CreateTime: timestamppb.New(now),
		Supersedes: gc.ballots[p].GetName(),
	}
	gc.ballots[p] = b
	g.add(now, candorv1.EntryKind_ENTRY_KIND_BALLOT, p, call, &candorv1.LogEntry{
		Payload: &candorv1.LogEntry_Ballot{Ballot: b},
	}, muts)
}

// close closes a call with the result domain.Tally computes, as the service does.
func (g *gen) close(call, actor string, muts ...mutation) *candorv1.Result {
	now := g.tick()
	gc := g.calls[call]
	standings := map[string]domain.Standing{}
	for _, p := range gc.c.EligibleParticipants {
		standings[p] = domain.Standing{
			Declaration: gc.decls[p], Clearance: gc.clears[p], SOIVersion: g.sois[p].GetVersion(),
			Group: g.members[gc.body][p],
		}
	}
	ballots := gc.ballots
	if gc.c.Kind == candorv1.CallKind_CALL_KIND_CONSENSUS {
		var ps []*candorv1.PositionStatement
		for _, p := range gc.positions {
			ps = append(ps, p)
		}
		ballots = domain.PositionBallots(ps)
	}
	c := proto.Clone(gc.c).(*candorv1.Call)
	c.Result = domain.Tally(c, standings, ballots)
	c.State, c.ClosedBy, c.CloseTime = candorv1.CallState_CALL_STATE_CLOSED, actor, timestamppb.New(now)
	gc.c = c
	g.add(now, candorv1.EntryKind_ENTRY_KIND_CALL_CLOSED, actor, call, &candorv1.LogEntry{
		Payload: &candorv1.LogEntry_Call{Call: proto.Clone(c).(*candorv1.Call)},
	}, muts)
	return c.Result
}

// state records a position in a consensus call.
func (g *gen) state(call, p string, pos candorv1.Position, muts ...mutation) {
	now := g.tick()
	gc := g.calls[call]
	d := gc.decls[p]
	ps := &candorv1.PositionStatement{
		Name: call + "/positions/" + uuid.NewString(), Participant: p, Position: pos, Comment: "because",
		Declaration: d.GetName(), ConflictLevel: d.GetConflictLevel(), CreateTime: timestamppb.New(now),
		Supersedes: gc.positions[p].GetName(),
	}
	gc.positions[p] = ps
	g.add(now, candorv1.EntryKind_ENTRY_KIND_POSITION, p, call, &candorv1.LogEntry{
		Payload: &candorv1.LogEntry_PositionStatement{PositionStatement: ps},
	}, muts)
}

func (g *gen) consensus(call string) *candorv1.ConsensusRecord {
	c := g.calls[call].c
	if c.Consensus == nil {
		c.Consensus = &candorv1.ConsensusRecord{}
	}
	return c.Consensus
}

// propose proposes (or revises) a designation with an objection window.
func (g *gen) propose(call, chair string, level candorv1.ConsensusLevel, window time.Duration, muts ...mutation) {
	now := g.tick()
	rec := g.consensus(call)
	d := &candorv1.Designation{
		Revision: int32(len(rec.Proposals) + 1), Level: level, Rationale: "most support it",
		Chair: chair, CreateTime: timestamppb.New(now), ObjectionDeadline: timestamppb.New(now.Add(window)),
	}
	rec.Proposals = append(rec.Proposals, d)
	g.add(now, candorv1.EntryKind_ENTRY_KIND_DESIGNATION_PROPOSED, chair, call, &candorv1.LogEntry{
		Payload: &candorv1.LogEntry_Designation{Designation: proto.Clone(d).(*candorv1.Designation)},
	}, muts)
}

func (g *gen) object(call, p string, muts ...mutation) {
	now := g.tick()
	rec := g.consensus(call)
	o := &candorv1.Objection{
		Revision: rec.Proposals[len(rec.Proposals)-1].Revision, Participant: p, Reason: "not so",
		CreateTime: timestamppb.New(now),
	}
	rec.Objections = append(rec.Objections, o)
	g.add(now, candorv1.EntryKind_ENTRY_KIND_OBJECTION, p, call, &candorv1.LogEntry{
		Payload: &candorv1.LogEntry_Objection{Objection: o},
	}, muts)
}

func (g *gen) finalize(call, chair string, muts ...mutation) {
	now := g.tick()
	rec := g.consensus(call)
	final := proto.Clone(rec.Proposals[len(rec.Proposals)-1]).(*candorv1.Designation)
	final.Chair, final.CreateTime = chair, timestamppb.New(now)
	rec.Final = final
	g.add(now, candorv1.EntryKind_ENTRY_KIND_DESIGNATION_FINALIZED, chair, call, &candorv1.LogEntry{
		Payload: &candorv1.LogEntry_Designation{Designation: proto.Clone(final).(*candorv1.Designation)},
	}, muts)
}

func (g *gen) appeal(call, p string, muts ...mutation) {
	now := g.tick()
	rec := g.consensus(call)
	a := &candorv1.Appeal{Participant: p, Reason: "the chair misread the room", CreateTime: timestamppb.New(now)}
	rec.Appeals = append(rec.Appeals, a)
	g.add(now, candorv1.EntryKind_ENTRY_KIND_APPEAL, p, call, &candorv1.LogEntry{
		Payload: &candorv1.LogEntry_Appeal{Appeal: a},
	}, muts)
}

// fileStatement files a minority statement and returns its name.
func (g *gen) fileStatement(call, author string, cosigners []string, muts ...mutation) string {
	now := g.tick()
	rec := g.consensus(call)
	ms := &candorv1.MinorityStatement{
		Name: call + "/minorityStatements/" + uuid.NewString(), Author: author, Text: "We dissent.",
		Cosigners: cosigners, CreateTime: timestamppb.New(now),
	}
	rec.MinorityStatements = append(rec.MinorityStatements, ms)
	g.add(now, candorv1.EntryKind_ENTRY_KIND_MINORITY_STATEMENT_FILED, author, call, &candorv1.LogEntry{
		Payload: &candorv1.LogEntry_MinorityStatement{MinorityStatement: proto.Clone(ms).(*candorv1.MinorityStatement)},
	}, muts)
	return ms.Name
}

func (g *gen) sign(call, statement, p string, muts ...mutation) {
	now := g.tick()
	var ms *candorv1.MinorityStatement
	for _, m := range g.consensus(call).MinorityStatements {
		if m.Name == statement {
			ms = m
		}
	}
	ms.SignedBy = append(ms.SignedBy, p)
	g.add(now, candorv1.EntryKind_ENTRY_KIND_MINORITY_STATEMENT_SIGNED, p, call, &candorv1.LogEntry{
		Payload: &candorv1.LogEntry_MinorityStatement{MinorityStatement: proto.Clone(ms).(*candorv1.MinorityStatement)},
	}, muts)
}

// council is a body with a chair and three members, each with an SOI, and an outsider.
type council struct {
	body                               string
	chair, alice, bob, carol, outsider string
}

func newCouncil(g *gen) council {
	var c council
	c.chair, c.alice, c.bob, c.carol, c.outsider = g.participant(), g.participant(), g.participant(), g.participant(), g.participant()
	g.grantAuditor(c.outsider)
	c.body = g.body()
	g.memberOf(c.body, c.chair, chairRole, "At-Large")
	g.memberOf(c.body, c.alice, member, "At-Large")
	g.memberOf(c.body, c.bob, member, "Registries")
	g.memberOf(c.body, c.carol, member, "Registrars")
	for _, p := range []string{c.chair, c.alice, c.bob, c.carol, c.outsider} {
		g.soi(p, "Example Org")
	}
	return c
}
