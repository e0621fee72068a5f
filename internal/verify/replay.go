package verify

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/internal/domain"
	"github.com/candorhq/candor/internal/resource"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// entryFormat is the LogEntry envelope version this auditor reads (log.proto: "format: 1").
const entryFormat = 1

// TimeTolerance is how far an entry's time may fall behind the latest time of the entries before
// it. The server's entry clock never goes back past the newest entry (service.clock), so none: a
// backdated entry is how a server would slip a ballot in before a deadline.
const TimeTolerance = 0

// Counts says how much of each kind of record a replay checked.
type Counts struct {
	Participants int // participants added
	SOIVersions  int // Statement of Interest versions filed
	Bodies       int
	Memberships  int // members added or changed
	Calls        int // calls opened, votes and consensus calls
	OpenCalls    int // calls opened and not (yet) closed
	Declarations int
	Clearances   int
	Ballots      int
	Positions    int // positions stated in consensus calls
	// Results counts closed calls whose recorded result equals the tally recomputed from the log.
	Results int
	// The consensus workflow: proposed designations (revisions included), objections, final
	// designations, appeals, minority statements filed and co-signatures.
	Proposals, Objections, Designations, Appeals, MinorityStatements, Signatures int
}

// Replayer checks Candor's rules over a log's entries, applied in order from entry 0, using
// nothing but the entries: it rebuilds participants and their SOI versions, bodies and their
// members, and each call as the server keeps it (declarations, clearances, ballots, positions, the
// consensus record), and at every write it calls the same functions of package domain as the server
// did, with the entry's own time as "now". Each entry's payload must also be exactly what the
// server writes for that change: the right names, times, superseded records and recomputed results.
//
// A Replayer trusts the bytes it is given: [Log] gives it only entries already authenticated
// against a signed checkpoint. It can also run offline over a dump. Its memory grows with the
// number of participants, bodies, open calls and consensus calls (whose designation workflow goes
// on after they close), and by one name per closed vote; never with the number of entries. It is
// not safe for concurrent use.
type Replayer struct {
	next     int64     // index of the entry expected next
	err      error     // first failure; every later Apply returns it
	lastTime time.Time // latest entry time seen
	lastSOI  soiEntry  // the last SOI_VERSION entry

	participants map[string]*participantState // by "participants/{id}"
	bodies       map[string]*bodyState        // by "bodies/{id}"
	calls        map[string]*callState        // open calls and consensus calls, by name
	closedVotes  map[string]bool              // names of closed votes, whose state is dropped
	counts       Counts
}

type soiEntry struct {
	index       int64
	participant string
	version     int64
}

type participantState struct {
	soi         *candorv1.StatementOfInterest // latest version, nil before the first
	deactivated bool                          // no more changes by them
}

type bodyState struct {
	members map[string]*candorv1.Membership // by participant name
	former  map[string]*candorv1.Membership // removed members, as they were when removed
}

// group is a participant's stakeholder group in the body: as a member, or as they were when
// removed (their ballots in calls open at the time count under it).
func (b *bodyState) group(p string) string {
	if m := b.members[p]; m != nil {
		return m.GetStakeholderGroup()
	}
	return b.former[p].GetStakeholderGroup()
}

// memberNames returns the body's members who are not deactivated (whom a new call makes
// eligible) in the server's order (by participant id, whose canonical text sorts as its bytes).
func (b *bodyState) memberNames(participants map[string]*participantState) []string {
	names := make([]string, 0, len(b.members))
	for p := range b.members {
		if !participants[p].deactivated {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	return names
}

func (b *bodyState) isChair(actor string) bool { return domain.IsChair(b.members[actor]) }

type callState struct {
	call      *candorv1.Call                         // as the server keeps it: opened, closed, consensus record
	body      *bodyState                             // the body it is in
	standings map[string]domain.Standing             // current declaration and clearance, by participant, while open
	ballots   map[string]*candorv1.Ballot            // current ballot, by participant, while a vote is open
	positions map[string]*candorv1.PositionStatement // current position, by participant (consensus)
	declared  map[string]int                         // declarations filed, superseded ones included, by participant, while open
	cast      map[string]int                         // ballots or positions, superseded ones included, by participant, while open
}

// NewReplayer returns a Replayer for a log whose next entry is entry 0.
func NewReplayer() *Replayer {
	return &Replayer{
		lastSOI:      soiEntry{index: -1},
		participants: map[string]*participantState{},
		bodies:       map[string]*bodyState{},
		calls:        map[string]*callState{},
		closedVotes:  map[string]bool{},
	}
}

// Summary returns what the replay has checked so far.
func (r *Replayer) Summary() Counts {
	c := r.counts
	for _, cs := range r.calls {
		if cs.call.GetState() == candorv1.CallState_CALL_STATE_OPEN {
			c.OpenCalls++
		}
	}
	return c
}

// Apply checks entry index, given as its exact bytes, against the entries applied before it, and
// adds it to the replay state. Entries must come in order from 0. The first failure is an
// [*EntryError] naming the entry; the Replayer then stops and returns it again for every later
// entry.
func (r *Replayer) Apply(index int64, data []byte) error {
	if r.err != nil {
		return r.err
	}
	if index != r.next {
		r.err = &EntryError{Index: r.next, Err: fmt.Errorf("%w: entry %d came next", ErrMissingEntries, index)}
		return r.err
	}
	e := new(candorv1.LogEntry)
	if err := proto.Unmarshal(data, e); err != nil {
		r.err = &EntryError{Index: index, Err: fmt.Errorf("%w: does not decode as a LogEntry: %v", ErrMalformedEntry, err)}
		return r.err
	}
	if err := r.apply(index, e); err != nil {
		r.err = &EntryError{Index: index, Kind: e.GetKind(), Reason: domain.ReasonOf(err), Err: err}
		return r.err
	}
	r.next++
	return nil
}

func (r *Replayer) apply(index int64, e *candorv1.LogEntry) error {
	if e.GetFormat() != entryFormat {
		return fmt.Errorf("%w: envelope format %d, this auditor reads %d", ErrMalformedEntry, e.GetFormat(), entryFormat)
	}
	if err := e.GetTime().CheckValid(); err != nil {
		return fmt.Errorf("%w: time: %v", ErrMalformedEntry, err)
	}
	if !payloadFits(e) {
		return fmt.Errorf("%w: kind %s with payload %T", ErrMalformedEntry, e.GetKind(), e.GetPayload())
	}
	now := e.GetTime().AsTime()
	if now.Before(r.lastTime.Add(-TimeTolerance)) {
		return fmt.Errorf("%w: time %s is %v before an earlier entry's", ErrInconsistent,
			now.Format(time.RFC3339Nano), r.lastTime.Sub(now))
	}
	if now.After(r.lastTime) {
		r.lastTime = now
	}
	// A deactivated participant makes no more changes, of any kind.
	if ps := r.participants[e.GetActor()]; ps != nil && ps.deactivated {
		return fmt.Errorf("%s by %s: %w", e.GetKind(), e.GetActor(), domain.ErrDeactivated)
	}
	switch e.GetKind() {
	case candorv1.EntryKind_ENTRY_KIND_PARTICIPANT_ADDED:
		return r.participantAdded(e)
	case candorv1.EntryKind_ENTRY_KIND_AUDITOR_GRANTED:
		return r.auditorGranted(e)
	case candorv1.EntryKind_ENTRY_KIND_SOI_VERSION:
		return r.soiVersion(index, e)
	case candorv1.EntryKind_ENTRY_KIND_BODY_CREATED:
		return r.bodyCreated(e)
	case candorv1.EntryKind_ENTRY_KIND_MEMBER_ADDED:
		return r.memberAdded(e)
	case candorv1.EntryKind_ENTRY_KIND_CALL_OPENED:
		return r.callOpened(e, now)
	case candorv1.EntryKind_ENTRY_KIND_DECLARATION:
		return r.declaration(index, e, now)
	case candorv1.EntryKind_ENTRY_KIND_CLEARANCE:
		return r.clearance(e, now)
	case candorv1.EntryKind_ENTRY_KIND_BALLOT:
		return r.ballot(e, now)
	case candorv1.EntryKind_ENTRY_KIND_POSITION:
		return r.position(e, now)
	case candorv1.EntryKind_ENTRY_KIND_CALL_CLOSED:
		return r.callClosed(e, now)
	case candorv1.EntryKind_ENTRY_KIND_DESIGNATION_PROPOSED:
		return r.designationProposed(e, now)
	case candorv1.EntryKind_ENTRY_KIND_OBJECTION:
		return r.objection(e, now)
	case candorv1.EntryKind_ENTRY_KIND_DESIGNATION_FINALIZED:
		return r.designationFinalized(e, now)
	case candorv1.EntryKind_ENTRY_KIND_APPEAL:
		return r.appeal(e)
	case candorv1.EntryKind_ENTRY_KIND_MINORITY_STATEMENT_FILED:
		return r.minorityStatementFiled(e)
	case candorv1.EntryKind_ENTRY_KIND_MINORITY_STATEMENT_SIGNED:
		return r.minorityStatementSigned(e)
	case candorv1.EntryKind_ENTRY_KIND_TOKEN_ROTATED, candorv1.EntryKind_ENTRY_KIND_TOKEN_REISSUED:
		return r.tokenChanged(e)
	case candorv1.EntryKind_ENTRY_KIND_PARTICIPANT_DEACTIVATED:
		return r.participantDeactivated(e)
	case candorv1.EntryKind_ENTRY_KIND_MEMBER_REMOVED:
		return r.memberRemoved(e)
	}
	panic("unreachable: payloadFits accepts only known kinds")
}

// payloadFits reports whether e's kind is one this auditor knows and its payload is the one
// log.proto documents for that kind.
func payloadFits(e *candorv1.LogEntry) bool {
	switch e.GetKind() {
	case candorv1.EntryKind_ENTRY_KIND_PARTICIPANT_ADDED, candorv1.EntryKind_ENTRY_KIND_AUDITOR_GRANTED,
		candorv1.EntryKind_ENTRY_KIND_TOKEN_ROTATED, candorv1.EntryKind_ENTRY_KIND_TOKEN_REISSUED,
		candorv1.EntryKind_ENTRY_KIND_PARTICIPANT_DEACTIVATED:
		return e.GetParticipant() != nil
	case candorv1.EntryKind_ENTRY_KIND_SOI_VERSION:
		return e.GetStatementOfInterest() != nil
	case candorv1.EntryKind_ENTRY_KIND_BODY_CREATED:
		return e.GetBody() != nil
	case candorv1.EntryKind_ENTRY_KIND_MEMBER_ADDED, candorv1.EntryKind_ENTRY_KIND_MEMBER_REMOVED:
		return e.GetMembership() != nil
	case candorv1.EntryKind_ENTRY_KIND_CALL_OPENED, candorv1.EntryKind_ENTRY_KIND_CALL_CLOSED:
		return e.GetCall() != nil
	case candorv1.EntryKind_ENTRY_KIND_DECLARATION:
		return e.GetDeclaration() != nil
	case candorv1.EntryKind_ENTRY_KIND_CLEARANCE:
		return e.GetClearance() != nil
	case candorv1.EntryKind_ENTRY_KIND_BALLOT:
		return e.GetBallot() != nil
	case candorv1.EntryKind_ENTRY_KIND_POSITION:
		return e.GetPositionStatement() != nil
	case candorv1.EntryKind_ENTRY_KIND_DESIGNATION_PROPOSED, candorv1.EntryKind_ENTRY_KIND_DESIGNATION_FINALIZED:
		return e.GetDesignation() != nil
	case candorv1.EntryKind_ENTRY_KIND_OBJECTION:
		return e.GetObjection() != nil
	case candorv1.EntryKind_ENTRY_KIND_APPEAL:
		return e.GetAppeal() != nil
	case candorv1.EntryKind_ENTRY_KIND_MINORITY_STATEMENT_FILED, candorv1.EntryKind_ENTRY_KIND_MINORITY_STATEMENT_SIGNED:
		return e.GetMinorityStatement() != nil
	}
	return false
}

// inconsistent returns an error wrapping ErrInconsistent.
func inconsistent(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInconsistent, fmt.Sprintf(format, args...))
}

func sameTime(a, b *timestamppb.Timestamp) bool {
	return a != nil && b != nil && a.GetSeconds() == b.GetSeconds() && a.GetNanos() == b.GetNanos()
}

// participant returns the participant an entry's actor names, refusing the admin and the server
// (who may not declare, vote or take part in the consensus workflow) and unknown names.
func (r *Replayer) participant(actor string) (*participantState, error) {
	if !domain.IsParticipantActor(actor) {
		return nil, fmt.Errorf("made by %q: %w", actor, domain.ErrParticipantOnly)
	}
	ps := r.participants[actor]
	if ps == nil {
		return nil, inconsistent("made by %.120q, not a participant of the log", actor)
	}
	return ps, nil
}

func (r *Replayer) participantAdded(e *candorv1.LogEntry) error {
	p := e.GetParticipant()
	if e.GetActor() != domain.AdminActor {
		return fmt.Errorf("participant %s added by %q: %w", p.GetName(), e.GetActor(), domain.ErrAdminOnly)
	}
	if _, err := resource.ParseParticipant(p.GetName()); err != nil || e.GetSubject() != p.GetName() {
		return fmt.Errorf("%w: participant %.120q, subject %.120q", ErrMalformedEntry, p.GetName(), e.GetSubject())
	}
	if r.participants[p.GetName()] != nil {
		return inconsistent("participant %s added twice", p.GetName())
	}
	if p.GetEmail() != "" {
		return fmt.Errorf("%w: participant %s carries an email address, which the log must never hold", ErrMalformedEntry, p.GetName())
	}
	r.participants[p.GetName()] = &participantState{}
	r.counts.Participants++
	return nil
}

func (r *Replayer) auditorGranted(e *candorv1.LogEntry) error {
	p := e.GetParticipant()
	if e.GetActor() != domain.AdminActor {
		return fmt.Errorf("auditor role for %s granted by %q: %w", p.GetName(), e.GetActor(), domain.ErrAdminOnly)
	}
	if e.GetSubject() != p.GetName() || r.participants[p.GetName()] == nil {
		return inconsistent("auditor role granted to %.120q, not a participant of the log", p.GetName())
	}
	if !p.GetAuditor() || p.GetEmail() != "" {
		return fmt.Errorf("%w: auditor grant without the auditor role, or with an email address", ErrMalformedEntry)
	}
	return nil
}

func (r *Replayer) soiVersion(index int64, e *candorv1.LogEntry) error {
	s := e.GetStatementOfInterest()
	ps := r.participants[e.GetSubject()]
	if ps == nil {
		return inconsistent("SOI of %.120q, not a participant of the log", e.GetSubject())
	}
	if e.GetActor() != e.GetSubject() {
		return inconsistent("SOI of %s filed by %q", e.GetSubject(), e.GetActor())
	}
	id, _ := resource.ParseParticipant(e.GetSubject()) // parsed when the participant was added
	want := ps.soi.GetVersion() + 1
	if s.GetVersion() != want || s.GetName() != resource.SOI(id, want) {
		return inconsistent("SOI %.120q version %d of %s, want version %d", s.GetName(), s.GetVersion(), e.GetSubject(), want)
	}
	if h := domain.SOIContentHash(s); !bytes.Equal(h, s.GetContentHash()) {
		return inconsistent("SOI version %d of %s: content hash %x is not the hash of its content (%x)", s.GetVersion(), e.GetSubject(), s.GetContentHash(), h)
	}
	ps.soi = s
	r.lastSOI = soiEntry{index: index, participant: e.GetSubject(), version: s.GetVersion()}
	r.counts.SOIVersions++
	return nil
}

func (r *Replayer) bodyCreated(e *candorv1.LogEntry) error {
	b := e.GetBody()
	if e.GetActor() != domain.AdminActor {
		return fmt.Errorf("body %s created by %q: %w", b.GetName(), e.GetActor(), domain.ErrAdminOnly)
	}
	if _, err := resource.ParseBody(b.GetName()); err != nil || e.GetSubject() != b.GetName() {
		return fmt.Errorf("%w: body %.120q, subject %.120q", ErrMalformedEntry, b.GetName(), e.GetSubject())
	}
	if r.bodies[b.GetName()] != nil {
		return inconsistent("body %s created twice", b.GetName())
	}
	r.bodies[b.GetName()] = &bodyState{members: map[string]*candorv1.Membership{}, former: map[string]*candorv1.Membership{}}
	r.counts.Bodies++
	return nil
}

func (r *Replayer) memberAdded(e *candorv1.LogEntry) error {
	m := e.GetMembership()
	if e.GetActor() != domain.AdminActor {
		return fmt.Errorf("member %s added by %q: %w", m.GetParticipant(), e.GetActor(), domain.ErrAdminOnly)
	}
	b := r.bodies[e.GetSubject()]
	if b == nil {
		return inconsistent("member added to %.120q, not a body of the log", e.GetSubject())
	}
	if r.participants[m.GetParticipant()] == nil {
		return inconsistent("member %.120q is not a participant of the log", m.GetParticipant())
	}
	pid, _ := resource.ParseParticipant(m.GetParticipant()) // parsed when the participant was added
	if want := e.GetSubject() + "/members/" + pid.String(); m.GetName() != want {
		return inconsistent("membership %.120q, want %s", m.GetName(), want)
	}
	b.members[m.GetParticipant()] = m
	r.counts.Memberships++
	return nil
}

func (r *Replayer) callOpened(e *candorv1.LogEntry, now time.Time) error {
	c := e.GetCall()
	bodyID, _, err := resource.ParseCall(c.GetName())
	if err != nil || e.GetSubject() != c.GetName() {
		return fmt.Errorf("%w: call %.120q, subject %.120q", ErrMalformedEntry, c.GetName(), e.GetSubject())
	}
	b := r.bodies[resource.Body(bodyID)]
	if b == nil {
		return inconsistent("call %s in a body the log never created", c.GetName())
	}
	if r.calls[c.GetName()] != nil || r.closedVotes[c.GetName()] {
		return inconsistent("call %s opened twice", c.GetName())
	}
	if !b.isChair(e.GetActor()) {
		return fmt.Errorf("call %s opened by %q: %w", c.GetName(), e.GetActor(), domain.ErrChairOnly)
	}
	if !sameTime(c.GetOpenTime(), e.GetTime()) {
		return inconsistent("call %s says it opened at %v, not at its entry's time", c.GetName(), c.GetOpenTime().AsTime())
	}
	// The call must be what domain.PrepareCall makes of the chair's request, given the body's
	// members at this point of the log: defaults, eligibility fixed at opening, state.
	want := proto.Clone(c).(*candorv1.Call)
	if !want.GetEligibilityRestricted() {
		want.EligibleParticipants = nil
	}
	if err := domain.PrepareCall(want, b.memberNames(r.participants), e.GetActor(), now); err != nil {
		return fmt.Errorf("call %s: %w", c.GetName(), err)
	}
	if !proto.Equal(want, c) {
		return inconsistent("call %s as opened is not what the rules make of it with the body's %d members (eligible %d, restricted %v, state %s, opened by %q)",
			c.GetName(), len(b.members), len(c.GetEligibleParticipants()), c.GetEligibilityRestricted(), c.GetState(), c.GetOpenedBy())
	}
	cs := &callState{call: c, body: b, standings: map[string]domain.Standing{}, declared: map[string]int{}, cast: map[string]int{}}
	if c.GetKind() == candorv1.CallKind_CALL_KIND_CONSENSUS {
		cs.positions = map[string]*candorv1.PositionStatement{}
	} else {
		cs.ballots = map[string]*candorv1.Ballot{}
	}
	r.calls[c.GetName()] = cs
	r.counts.Calls++
	return nil
}

// call returns the state of call name, which must have been opened earlier in the log; a closed
// vote has no state left and returns closed.
func (r *Replayer) call(name string, closed error) (*callState, error) {
	if cs := r.calls[name]; cs != nil {
		return cs, nil
	}
	if r.closedVotes[name] {
		return nil, closed
	}
	return nil, inconsistent("call %.120q was not opened earlier in the log", name)
}

func (r *Replayer) declaration(index int64, e *candorv1.LogEntry, now time.Time) error {
	d := e.GetDeclaration()
	p := d.GetParticipant()
	cs, err := r.call(e.GetSubject(), domain.ErrCallClosed)
	if err != nil {
		return fmt.Errorf("declaration by %s: %w", p, err)
	}
	c := cs.call
	ps, err := r.participant(e.GetActor())
	if err != nil {
		return fmt.Errorf("declaration: %w", err)
	}
	if p != e.GetActor() {
		return inconsistent("declaration for %.120q filed by %s", p, e.GetActor())
	}
	if err := domain.CheckStillMember(domain.IsEligible(c, p), cs.body.members[p]); err != nil {
		return fmt.Errorf("declaration by %s: %w", p, err)
	}
	if !strings.HasPrefix(d.GetName(), c.GetName()+"/declarations/") {
		return inconsistent("declaration %.120q is not named in call %s", d.GetName(), c.GetName())
	}
	if !sameTime(d.GetCreateTime(), e.GetTime()) {
		return inconsistent("declaration by %s says it was filed at %v, not at its entry's time", p, d.GetCreateTime().AsTime())
	}
	if err := domain.CheckDeclaration(c, domain.IsEligible(c, p), ps.soi.GetVersion(), false, now); err != nil {
		return fmt.Errorf("declaration by %s: %w", p, err)
	}
	if err := domain.CheckDeclarationsFiled(cs.declared[p]); err != nil {
		return fmt.Errorf("declaration by %s: %w", p, err)
	}
	if d.GetSoiVersion() != ps.soi.GetVersion() {
		return fmt.Errorf("declaration by %s restates SOI version %d, current is %d: %w", p, d.GetSoiVersion(), ps.soi.GetVersion(), domain.ErrSOIPinNotCurrent)
	}
	if !bytes.Equal(d.GetSoiContentHash(), ps.soi.GetContentHash()) {
		return inconsistent("declaration by %s pins SOI hash %x, version %d's is %x", p, d.GetSoiContentHash(), ps.soi.GetVersion(), ps.soi.GetContentHash())
	}
	// A changed SOI is filed in the same write, as the entry just before the declaration.
	if d.GetSoiChanged() && (r.lastSOI.index != index-1 || r.lastSOI.participant != p || r.lastSOI.version != d.GetSoiVersion()) {
		return inconsistent("declaration by %s says it filed SOI version %d, but the entry before it is not that version", p, d.GetSoiVersion())
	}
	if err := domain.CheckConflictDescription(d.GetConflictLevel(), d.GetDescription()); err != nil {
		return fmt.Errorf("declaration by %s: %w", p, err)
	}
	if err := domain.CheckScreening(c, ps.soi, d.GetConflictLevel(), d.GetDescription()); err != nil {
		return fmt.Errorf("declaration by %s: %w", p, err)
	}
	prev := cs.standings[p].Declaration
	if d.GetSupersedes() != prev.GetName() {
		return inconsistent("declaration by %s supersedes %.120q, but the current one is %.120q", p, d.GetSupersedes(), prev.GetName())
	}
	// A new declaration needs a new ruling: the clearance of the one it supersedes is forgotten.
	cs.standings[p] = domain.Standing{Declaration: d}
	cs.declared[p]++
	r.counts.Declarations++
	return nil
}

func (r *Replayer) clearance(e *candorv1.LogEntry, now time.Time) error {
	cl := e.GetClearance()
	cs, err := r.call(e.GetSubject(), domain.ErrCallClosed)
	if err != nil {
		return fmt.Errorf("clearance of %s: %w", cl.GetParticipant(), err)
	}
	if !cs.body.isChair(e.GetActor()) {
		return fmt.Errorf("clearance of %s by %q: %w", cl.GetParticipant(), e.GetActor(), domain.ErrChairOnly)
	}
	if cl.GetChair() != e.GetActor() || !sameTime(cl.GetCreateTime(), e.GetTime()) {
		return inconsistent("clearance says it is by %q at %v, not by the entry's actor at the entry's time", cl.GetChair(), cl.GetCreateTime().AsTime())
	}
	st := cs.standings[cl.GetParticipant()]
	if err := domain.CheckClearance(cs.call, st.Declaration, e.GetActor(), now); err != nil {
		return fmt.Errorf("clearance of %s: %w", cl.GetParticipant(), err)
	}
	if cl.GetDeclaration() != st.Declaration.GetName() {
		return inconsistent("clearance rules on %.120q, but the current declaration of %s is %s", cl.GetDeclaration(), cl.GetParticipant(), st.Declaration.GetName())
	}
	st.Clearance = cl
	cs.standings[cl.GetParticipant()] = st
	r.counts.Clearances++
	return nil
}

// standing returns what the invariant reads about the entry's actor in cs, checking that the record
// (a ballot or a position, named name, filed by participant p at time t) belongs to them.
func (r *Replayer) standing(e *candorv1.LogEntry, cs *callState, what, p, name, collection string, t *timestamppb.Timestamp) (domain.Standing, error) {
	ps, err := r.participant(e.GetActor())
	if err != nil {
		return domain.Standing{}, fmt.Errorf("%s: %w", what, err)
	}
	if p != e.GetActor() {
		return domain.Standing{}, inconsistent("%s for %.120q made by %s", what, p, e.GetActor())
	}
	if err := domain.CheckStillMember(domain.IsEligible(cs.call, p), cs.body.members[p]); err != nil {
		return domain.Standing{}, fmt.Errorf("%s by %s: %w", what, p, err)
	}
	if !strings.HasPrefix(name, cs.call.GetName()+"/"+collection+"/") {
		return domain.Standing{}, inconsistent("%s %.120q is not named in call %s", what, name, cs.call.GetName())
	}
	if !sameTime(t, e.GetTime()) {
		return domain.Standing{}, inconsistent("%s by %s says it was made at %v, not at its entry's time", what, p, t.AsTime())
	}
	st := cs.standings[p]
	st.SOIVersion = ps.soi.GetVersion()
	return st, nil
}

func (r *Replayer) ballot(e *candorv1.LogEntry, now time.Time) error {
	b := e.GetBallot()
	p := b.GetParticipant()
	cs, err := r.call(e.GetSubject(), domain.ErrCallClosed)
	if err != nil {
		return fmt.Errorf("ballot by %s: %w", p, err)
	}
	st, err := r.standing(e, cs, "ballot", p, b.GetName(), "ballots", b.GetCreateTime())
	if err != nil {
		return err
	}
	// The invariant that is the product, on the state rebuilt from the log.
	if err := domain.CheckBallot(cs.call, p, domain.IsEligible(cs.call, p), st, now); err != nil {
		return fmt.Errorf("ballot by %s: %w", p, err)
	}
	if opt, err := domain.MatchOption(cs.call, b.GetOption()); err != nil || opt != b.GetOption() {
		return fmt.Errorf("ballot by %s for %.120q: %w", p, b.GetOption(), domain.ErrUnknownOption)
	}
	if err := domain.CheckBallotsCast(cs.cast[p]); err != nil {
		return fmt.Errorf("ballot by %s: %w", p, err)
	}
	d := st.Declaration
	if b.GetDeclaration() != d.GetName() || b.GetConflictLevel() != d.GetConflictLevel() {
		return inconsistent("ballot by %s rests on %.120q at conflict %s, but the current declaration is %s at %s",
			p, b.GetDeclaration(), b.GetConflictLevel(), d.GetName(), d.GetConflictLevel())
	}
	if prev := cs.ballots[p]; b.GetSupersedes() != prev.GetName() {
		return inconsistent("ballot by %s supersedes %.120q, but the current one is %.120q", p, b.GetSupersedes(), prev.GetName())
	}
	cs.ballots[p] = b
	cs.cast[p]++
	r.counts.Ballots++
	return nil
}

func (r *Replayer) position(e *candorv1.LogEntry, now time.Time) error {
	ps := e.GetPositionStatement()
	p := ps.GetParticipant()
	cs, err := r.call(e.GetSubject(), domain.ErrWrongKind) // closed votes are votes
	if err != nil {
		return fmt.Errorf("position of %s: %w", p, err)
	}
	st, err := r.standing(e, cs, "position", p, ps.GetName(), "positions", ps.GetCreateTime())
	if err != nil {
		return err
	}
	// The same invariant, for consensus calls.
	if err := domain.CheckStatement(ps.GetPosition(), ps.GetComment()); err != nil {
		return fmt.Errorf("position by %s: %w", p, err)
	}
	if err := domain.CheckPosition(cs.call, p, domain.IsEligible(cs.call, p), st, now); err != nil {
		return fmt.Errorf("position of %s: %w", p, err)
	}
	if domain.PositionLabel(ps.GetPosition()) == "" {
		return fmt.Errorf("%w: position of %s is %s", ErrMalformedEntry, p, ps.GetPosition())
	}
	if err := domain.CheckBallotsCast(cs.cast[p]); err != nil {
		return fmt.Errorf("position of %s: %w", p, err)
	}
	d := st.Declaration
	if ps.GetDeclaration() != d.GetName() || ps.GetConflictLevel() != d.GetConflictLevel() {
		return inconsistent("position of %s rests on %.120q at conflict %s, but the current declaration is %s at %s",
			p, ps.GetDeclaration(), ps.GetConflictLevel(), d.GetName(), d.GetConflictLevel())
	}
	if prev := cs.positions[p]; ps.GetSupersedes() != prev.GetName() {
		return inconsistent("position of %s supersedes %.120q, but the current one is %.120q", p, ps.GetSupersedes(), prev.GetName())
	}
	cs.positions[p] = ps
	cs.cast[p]++
	r.counts.Positions++
	return nil
}

func (r *Replayer) callClosed(e *candorv1.LogEntry, now time.Time) error {
	c := e.GetCall()
	if c.GetName() != e.GetSubject() {
		return fmt.Errorf("%w: call %.120q, subject %.120q", ErrMalformedEntry, c.GetName(), e.GetSubject())
	}
	cs, err := r.call(c.GetName(), domain.ErrCallClosed)
	if err == nil && cs.call.GetState() != candorv1.CallState_CALL_STATE_OPEN {
		err = domain.ErrCallClosed
	}
	if err != nil {
		return fmt.Errorf("closing %s: %w", c.GetName(), err)
	}
	switch actor := e.GetActor(); {
	case actor == domain.ServerActor:
		if d := cs.call.GetDeadline(); d == nil || now.Before(d.AsTime()) {
			return inconsistent("call %s closed by the server before any deadline", c.GetName())
		}
	case !cs.body.isChair(actor):
		return fmt.Errorf("call %s closed by %q: %w", c.GetName(), actor, domain.ErrChairOnly)
	}
	// The result is recomputed from every eligible participant's standing at close, with their
	// stakeholder group in the body, and their current ballots (or positions). Their SOI version at
	// close is the last SOI_VERSION entry the log holds for them, filed alone or with a declaration
	// in any call: domain.Tally compares it with the version their current declaration restated,
	// so a ballot resting on a declaration that went stale is set aside or flagged exactly as the
	// server must.
	standings := make(map[string]domain.Standing, len(cs.call.GetEligibleParticipants()))
	for _, p := range cs.call.GetEligibleParticipants() {
		st := cs.standings[p]
		st.SOIVersion = r.participants[p].soi.GetVersion() // eligible participants are members, so participants
		st.Group = cs.body.group(p)
		standings[p] = st
	}
	ballots := cs.ballots
	if cs.call.GetKind() == candorv1.CallKind_CALL_KIND_CONSENSUS {
		ps := make([]*candorv1.PositionStatement, 0, len(cs.positions))
		for _, p := range cs.positions {
			ps = append(ps, p)
		}
		ballots = domain.PositionBallots(ps)
	}
	want := proto.Clone(cs.call).(*candorv1.Call)
	want.Result = domain.Tally(cs.call, standings, ballots)
	want.State, want.ClosedBy, want.CloseTime = candorv1.CallState_CALL_STATE_CLOSED, e.GetActor(), e.GetTime()
	if !proto.Equal(want.GetResult(), c.GetResult()) {
		return fmt.Errorf("%w: call %s records {%s}, the log's declarations and ballots give {%s}", ErrResultMismatch,
			c.GetName(), prototext.MarshalOptions{}.Format(c.GetResult()), prototext.MarshalOptions{}.Format(want.GetResult()))
	}
	// Closing sets the state, who closed it, when, and the result; nothing else may change.
	if !proto.Equal(want, c) {
		return inconsistent("call %s as closed is not the call the log built (state %s, closed by %q at %v)",
			c.GetName(), c.GetState(), c.GetClosedBy(), c.GetCloseTime().AsTime())
	}
	r.counts.Results++
	if cs.call.GetKind() != candorv1.CallKind_CALL_KIND_CONSENSUS {
		delete(r.calls, c.GetName())
		r.closedVotes[c.GetName()] = true
		return nil
	}
	// A consensus call's designation and dissent go on after it closes; who stated a position
	// still matters (minority statements), the rest does not.
	cs.call, cs.standings, cs.declared, cs.cast = want, nil, nil, nil
	return nil
}

// consensus returns the state of the consensus call an entry is about. Chair-only steps must be
// made by a chair of the body, the others by a participant, as the server checks before the rule.
func (r *Replayer) consensus(e *candorv1.LogEntry, what string, chairOnly bool) (*callState, error) {
	cs, err := r.call(e.GetSubject(), domain.ErrWrongKind) // closed votes are votes
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if chairOnly && !cs.body.isChair(e.GetActor()) {
		return nil, fmt.Errorf("%s by %q: %w", what, e.GetActor(), domain.ErrChairOnly)
	}
	if !chairOnly {
		if _, err := r.participant(e.GetActor()); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	return cs, nil
}

// record returns the call's consensus record, creating it as the server does.
func (cs *callState) record() *candorv1.ConsensusRecord {
	if cs.call.Consensus == nil {
		cs.call.Consensus = &candorv1.ConsensusRecord{}
	}
	return cs.call.Consensus
}

func (r *Replayer) designationProposed(e *candorv1.LogEntry, now time.Time) error {
	d := e.GetDesignation()
	cs, err := r.consensus(e, "designation", true)
	if err != nil {
		return err
	}
	// The window the chair set is the deadline less the entry's time, in whole seconds as the server
	// takes it; domain.ObjectionWindow must give the same window back (0 seconds means 7 days).
	window := d.GetObjectionDeadline().AsTime().Sub(d.GetCreateTime().AsTime())
	seconds := int64(window / time.Second)
	if window <= 0 {
		seconds = -1 // no time to object: below every bound, whatever the fraction
	}
	if err := domain.CheckPropose(cs.call, seconds); err != nil {
		return fmt.Errorf("designation with a %v objection window: %w", window, err)
	}
	if got, _ := domain.ObjectionWindow(seconds); got != window {
		return inconsistent("designation revision %d has an objection window of %v, not whole seconds the server sets", d.GetRevision(), window)
	}
	rec := cs.record()
	if want := int32(len(rec.GetProposals()) + 1); d.GetRevision() != want || d.GetChair() != e.GetActor() || !sameTime(d.GetCreateTime(), e.GetTime()) {
		return inconsistent("designation revision %d by %q at %v, want revision %d by the entry's actor at the entry's time",
			d.GetRevision(), d.GetChair(), d.GetCreateTime().AsTime(), want)
	}
	if !d.GetObjectionDeadline().AsTime().After(now) {
		return inconsistent("designation revision %d leaves no time to object", d.GetRevision())
	}
	rec.Proposals = append(rec.Proposals, d)
	r.counts.Proposals++
	return nil
}

func (r *Replayer) objection(e *candorv1.LogEntry, now time.Time) error {
	o := e.GetObjection()
	cs, err := r.consensus(e, "objection", false)
	if err != nil {
		return err
	}
	if err := domain.CheckObjection(cs.call, e.GetActor(), now); err != nil {
		return fmt.Errorf("objection by %s: %w", e.GetActor(), err)
	}
	rec := cs.record()
	cur := rec.GetProposals()[len(rec.GetProposals())-1] // CheckObjection requires one
	if o.GetRevision() != cur.GetRevision() || o.GetParticipant() != e.GetActor() || !sameTime(o.GetCreateTime(), e.GetTime()) {
		return inconsistent("objection to revision %d by %q at %v, want revision %d by the entry's actor at the entry's time",
			o.GetRevision(), o.GetParticipant(), o.GetCreateTime().AsTime(), cur.GetRevision())
	}
	rec.Objections = append(rec.Objections, o)
	r.counts.Objections++
	return nil
}

func (r *Replayer) designationFinalized(e *candorv1.LogEntry, now time.Time) error {
	d := e.GetDesignation()
	cs, err := r.consensus(e, "final designation", true)
	if err != nil {
		return err
	}
	if err := domain.CheckFinalize(cs.call, now); err != nil {
		return fmt.Errorf("final designation: %w", err)
	}
	rec := cs.record()
	// The final designation is the current proposal, signed off by the chair now.
	want := proto.Clone(rec.GetProposals()[len(rec.GetProposals())-1]).(*candorv1.Designation) // CheckFinalize requires one
	want.Chair, want.CreateTime = e.GetActor(), e.GetTime()
	if !proto.Equal(want, d) {
		return inconsistent("final designation (revision %d, %s) is not the current proposal (revision %d, %s) finalised by the entry's actor at its time",
			d.GetRevision(), d.GetLevel(), want.GetRevision(), want.GetLevel())
	}
	rec.Final = d
	r.counts.Designations++
	return nil
}

func (r *Replayer) appeal(e *candorv1.LogEntry) error {
	a := e.GetAppeal()
	cs, err := r.consensus(e, "appeal", false)
	if err != nil {
		return err
	}
	if err := domain.CheckAppeal(cs.call, e.GetActor()); err != nil {
		return fmt.Errorf("appeal by %s: %w", e.GetActor(), err)
	}
	if a.GetParticipant() != e.GetActor() || !sameTime(a.GetCreateTime(), e.GetTime()) {
		return inconsistent("appeal by %q at %v, not by the entry's actor at the entry's time", a.GetParticipant(), a.GetCreateTime().AsTime())
	}
	rec := cs.record()
	rec.Appeals = append(rec.Appeals, a)
	r.counts.Appeals++
	return nil
}

func (r *Replayer) minorityStatementFiled(e *candorv1.LogEntry) error {
	ms := e.GetMinorityStatement()
	cs, err := r.consensus(e, "minority statement", false)
	if err != nil {
		return err
	}
	stated := make(map[string]bool, len(cs.positions))
	for p := range cs.positions {
		stated[p] = true
	}
	if err := domain.CheckMinorityStatement(cs.call, e.GetActor(), ms.GetCosigners(), stated); err != nil {
		return fmt.Errorf("minority statement by %s: %w", e.GetActor(), err)
	}
	if ms.GetAuthor() != e.GetActor() || !sameTime(ms.GetCreateTime(), e.GetTime()) || len(ms.GetSignedBy()) != 0 {
		return inconsistent("minority statement by %q at %v, signed by %d, is not a new statement by the entry's actor at the entry's time",
			ms.GetAuthor(), ms.GetCreateTime().AsTime(), len(ms.GetSignedBy()))
	}
	if _, _, _, err := resource.ParseMinorityStatement(ms.GetName()); err != nil || !strings.HasPrefix(ms.GetName(), cs.call.GetName()+"/") ||
		findStatement(cs.call, ms.GetName()) != nil {
		return inconsistent("minority statement %.120q is not a new statement of call %s", ms.GetName(), cs.call.GetName())
	}
	rec := cs.record()
	rec.MinorityStatements = append(rec.MinorityStatements, ms)
	r.counts.MinorityStatements++
	return nil
}

func (r *Replayer) minorityStatementSigned(e *candorv1.LogEntry) error {
	ms := e.GetMinorityStatement()
	cs, err := r.consensus(e, "signature", false)
	if err != nil {
		return err
	}
	cur := findStatement(cs.call, ms.GetName())
	if cur == nil {
		return fmt.Errorf("signature of %.120q: %w", ms.GetName(), domain.ErrStatementNotFound)
	}
	if err := domain.CheckSign(cur, e.GetActor()); err != nil {
		return fmt.Errorf("signature by %s: %w", e.GetActor(), err)
	}
	want := proto.Clone(cur).(*candorv1.MinorityStatement)
	want.SignedBy = append(want.SignedBy, e.GetActor())
	if !proto.Equal(want, ms) {
		return inconsistent("signed minority statement %s is not the statement as filed with one more signature, by the entry's actor", ms.GetName())
	}
	cur.SignedBy = want.SignedBy
	r.counts.Signatures++
	return nil
}

func findStatement(c *candorv1.Call, name string) *candorv1.MinorityStatement {
	for _, ms := range c.GetConsensus().GetMinorityStatements() {
		if ms.GetName() == name {
			return ms
		}
	}
	return nil
}

// tokenChanged checks a participant's token being replaced: by themselves (TOKEN_ROTATED) or by
// the admin (TOKEN_REISSUED). The entry says only that the credential changed.
func (r *Replayer) tokenChanged(e *candorv1.LogEntry) error {
	p := e.GetParticipant()
	if e.GetSubject() != p.GetName() || r.participants[p.GetName()] == nil {
		return inconsistent("token of %.120q replaced, not a participant of the log", p.GetName())
	}
	switch e.GetKind() {
	case candorv1.EntryKind_ENTRY_KIND_TOKEN_ROTATED:
		if e.GetActor() != p.GetName() {
			return inconsistent("token of %s rotated by %q: only the participant rotates their own", p.GetName(), e.GetActor())
		}
	default:
		if e.GetActor() != domain.AdminActor {
			return fmt.Errorf("token of %s reissued by %q: %w", p.GetName(), e.GetActor(), domain.ErrAdminOnly)
		}
	}
	if p.GetEmail() != "" {
		return fmt.Errorf("%w: participant %s carries an email address, which the log must never hold", ErrMalformedEntry, p.GetName())
	}
	return nil
}

func (r *Replayer) participantDeactivated(e *candorv1.LogEntry) error {
	p := e.GetParticipant()
	if e.GetActor() != domain.AdminActor {
		return fmt.Errorf("participant %s deactivated by %q: %w", p.GetName(), e.GetActor(), domain.ErrAdminOnly)
	}
	ps := r.participants[p.GetName()]
	if e.GetSubject() != p.GetName() || ps == nil {
		return inconsistent("deactivated %.120q, not a participant of the log", p.GetName())
	}
	if ps.deactivated {
		return fmt.Errorf("participant %s: %w", p.GetName(), domain.ErrAlreadyDeactivated)
	}
	if !p.GetDeactivated() || !sameTime(p.GetDeactivateTime(), e.GetTime()) || p.GetEmail() != "" {
		return fmt.Errorf("%w: deactivation of %s is not marked deactivated at its entry's time, or carries an email address", ErrMalformedEntry, p.GetName())
	}
	ps.deactivated = true
	return nil
}

func (r *Replayer) memberRemoved(e *candorv1.LogEntry) error {
	m := e.GetMembership()
	if e.GetActor() != domain.AdminActor {
		return fmt.Errorf("member %s removed by %q: %w", m.GetParticipant(), e.GetActor(), domain.ErrAdminOnly)
	}
	b := r.bodies[e.GetSubject()]
	if b == nil {
		return inconsistent("member removed from %.120q, not a body of the log", e.GetSubject())
	}
	cur := b.members[m.GetParticipant()]
	if cur == nil {
		return fmt.Errorf("removing %.120q from %s: %w", m.GetParticipant(), e.GetSubject(), domain.ErrNotAMember)
	}
	if !proto.Equal(cur, m) {
		return inconsistent("removed membership of %s is not the membership the log built", m.GetParticipant())
	}
	delete(b.members, m.GetParticipant())
	b.former[m.GetParticipant()] = m
	return nil
}
