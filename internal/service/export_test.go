package service

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/candorhq/candor/internal/domain"
	"github.com/candorhq/candor/internal/resource"
	"github.com/candorhq/candor/internal/store"
	"github.com/candorhq/candor/internal/translog"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// testClock is a clock tests move by hand; every reading is a second after the last, so that each
// log entry has its own time.
type testClock struct {
	mu sync.Mutex
	t  time.Time // guarded by mu
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func (c *testClock) jump(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// exportWorld is a body with a closed vote, an open vote and a closed consensus call with its whole
// designation workflow, on a real store.
type exportWorld struct {
	t     *testing.T
	svc   *Service
	clock *testClock
	ctx   context.Context

	admin                                    Principal
	chair, alice, bob, auditor, outsider     Principal
	body                                     uuid.UUID
	closedVote, openVote, consensus          uuid.UUID
	openedAt                                 map[uuid.UUID]time.Time // when each call opened
	aliceSOI, bobSOI, chairSOI, outsiderSOI  []byte
	names                                    map[Principal]string
	other                                    uuid.UUID // a body only the outsider sits on
	bobsOpenBallot, alicesOpenBallot, closed int64     // log indexes
}

// newTestStore opens a store in a temporary folder, with its own log key; it closes when the test
// ends.
func newTestStore(t *testing.T) *store.Store {
	t.Helper()
	dir := t.TempDir()
	signer, err := translog.LoadOrCreateKey(dir, "candor.test/service")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, "candor.db"), notary{signer}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newExportWorld(t *testing.T) *exportWorld {
	t.Helper()
	st := newTestStore(t)
	clock := &testClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	w := &exportWorld{t: t, svc: New(Config{Store: st, Now: clock.now}), clock: clock, ctx: context.Background(),
		admin: Principal{Admin: true}, openedAt: map[uuid.UUID]time.Time{}, names: map[Principal]string{}}
	person := func(name string) Principal {
		p, _, _, err := w.svc.CreateParticipant(w.ctx, w.admin, name, "")
		w.must(err)
		id, err := resource.ParseParticipant(p.Name)
		w.must(err)
		pr := Principal{Participant: id}
		w.names[pr] = p.Name
		return pr
	}
	w.chair, w.alice, w.bob, w.auditor, w.outsider = person("Chair"), person("Alice"), person("Bob"), person("Audra"), person("Otto")
	_, _, err := w.svc.GrantAuditor(w.ctx, w.admin, w.auditor.Participant)
	w.must(err)
	soi := func(pr Principal, employer string) []byte {
		s, _, err := w.svc.UpdateSOI(w.ctx, pr, &candorv1.StatementOfInterest{Employer: employer, Represents: "self",
			Interests: []*candorv1.Interest{{Organization: "Example Registry", Nature: "shareholder"}}}, Request{})
		w.must(err)
		return s.ContentHash
	}
	w.chairSOI, w.aliceSOI, w.bobSOI, w.outsiderSOI = soi(w.chair, "University"), soi(w.alice, "Independent"), soi(w.bob, "Registry Co"), soi(w.outsider, "Elsewhere")
	body := func(title string, members map[Principal]candorv1.Role) uuid.UUID {
		b, _, err := w.svc.CreateBody(w.ctx, w.admin, title, Request{})
		w.must(err)
		id, err := resource.ParseBody(b.Name)
		w.must(err)
		for pr, role := range members {
			_, _, err := w.svc.AddMember(w.ctx, w.admin, id, pr.Participant, role, "At-Large")
			w.must(err)
		}
		return id
	}
	w.body = body("Council", map[Principal]candorv1.Role{w.chair: candorv1.Role_ROLE_CHAIR, w.alice: candorv1.Role_ROLE_MEMBER, w.bob: candorv1.Role_ROLE_MEMBER})
	w.other = body("Elsewhere", map[Principal]candorv1.Role{w.outsider: candorv1.Role_ROLE_CHAIR})

	// A closed vote.
	w.closedVote = w.open(candorv1.CallKind_CALL_KIND_VOTE, "Adopt the budget")
	w.declare(w.alice, w.closedVote, w.aliceSOI)
	w.declare(w.bob, w.closedVote, w.bobSOI)
	w.vote(w.alice, w.closedVote, "yes")
	w.vote(w.bob, w.closedVote, "no")
	_, rcpt, err := w.svc.CloseCall(w.ctx, w.chair, w.body, w.closedVote)
	w.must(err)
	w.closed = rcpt.LogIndex

	// A consensus call, closed, proposed, objected to, finalised, appealed, with a minority statement.
	w.consensus = w.open(candorv1.CallKind_CALL_KIND_CONSENSUS, "Adopt the statement")
	w.declare(w.alice, w.consensus, w.aliceSOI)
	w.declare(w.bob, w.consensus, w.bobSOI)
	_, _, err = w.svc.StatePosition(w.ctx, w.alice, w.body, w.consensus, candorv1.Position_POSITION_SUPPORT, "", Request{})
	w.must(err)
	_, _, err = w.svc.StatePosition(w.ctx, w.bob, w.body, w.consensus, candorv1.Position_POSITION_OPPOSE, "The cost falls on registries.", Request{})
	w.must(err)
	_, _, err = w.svc.CloseCall(w.ctx, w.chair, w.body, w.consensus)
	w.must(err)
	_, _, err = w.svc.ProposeDesignation(w.ctx, w.chair, w.body, w.consensus, candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS, "Most support it.", 60)
	w.must(err)
	_, _, err = w.svc.ObjectToDesignation(w.ctx, w.bob, w.body, w.consensus, "I opposed.")
	w.must(err)
	w.clock.jump(2 * time.Minute)
	_, _, err = w.svc.FinalizeDesignation(w.ctx, w.chair, w.body, w.consensus)
	w.must(err)
	_, _, err = w.svc.AppealDesignation(w.ctx, w.bob, w.body, w.consensus, "Registries were not heard.")
	w.must(err)
	_, _, err = w.svc.FileMinorityStatement(w.ctx, w.bob, w.body, w.consensus, "We dissent.", nil, Request{})
	w.must(err)

	// An open vote: both members voted; while it is open each sees only their own choice.
	w.openVote = w.open(candorv1.CallKind_CALL_KIND_VOTE, "Elect a liaison")
	w.declare(w.alice, w.openVote, w.aliceSOI)
	w.declare(w.bob, w.openVote, w.bobSOI)
	w.alicesOpenBallot = w.vote(w.alice, w.openVote, "yes")
	w.bobsOpenBallot = w.vote(w.bob, w.openVote, "no")

	// A call in the other body, which no export of the council may carry.
	b, _, err := w.svc.OpenCall(w.ctx, w.outsider, w.other, &candorv1.Call{Title: "Elsewhere"}, Request{})
	w.must(err)
	_, c, err := resource.ParseCall(b.Name)
	w.must(err)
	w.declare(w.outsider, c, w.outsiderSOI)
	return w
}

func (w *exportWorld) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *exportWorld) open(kind candorv1.CallKind, title string) uuid.UUID {
	w.t.Helper()
	c, _, err := w.svc.OpenCall(w.ctx, w.chair, w.body, &candorv1.Call{Title: title, Kind: kind}, Request{})
	w.must(err)
	_, id, err := resource.ParseCall(c.Name)
	w.must(err)
	w.openedAt[id] = c.OpenTime.AsTime()
	return id
}

func (w *exportWorld) declare(pr Principal, call uuid.UUID, soi []byte) {
	w.t.Helper()
	_, _, err := w.svc.FileDeclaration(w.ctx, pr, w.bodyOf(call), call, DeclarationInput{
		Restatement: Restatement{UnchangedHash: soi}, Level: candorv1.ConflictLevel_CONFLICT_LEVEL_NONE,
	}, Request{})
	w.must(err)
}

func (w *exportWorld) bodyOf(call uuid.UUID) uuid.UUID {
	if _, ok := w.openedAt[call]; ok {
		return w.body
	}
	return w.other
}

func (w *exportWorld) vote(pr Principal, call uuid.UUID, option string) int64 {
	w.t.Helper()
	_, rcpt, err := w.svc.CastBallot(w.ctx, pr, w.body, call, option, Request{})
	w.must(err)
	return rcpt.LogIndex
}

// export returns pr's export of the council in r: its header and its records.
func (w *exportWorld) export(pr Principal, r ExportRange) (*candorv1.ExportHeader, []*candorv1.ExportBodyResponse, error) {
	var header *candorv1.ExportHeader
	var recs []*candorv1.ExportBodyResponse
	err := w.svc.ExportBody(w.ctx, pr, w.body, r, func(rec *candorv1.ExportBodyResponse) error {
		if h := rec.GetHeader(); h != nil {
			if header != nil {
				w.t.Errorf("a second header: %v", rec)
			}
			header = h
			return nil
		}
		recs = append(recs, rec)
		return nil
	})
	return header, recs, err
}

// TestExportReadsAsTheAPI checks every reader's export against what the API shows them: refused
// where ListCallRecord refuses them, and otherwise, call by call, the entries ListCallRecord returns
// them, redacted the same way (a plain member cannot export a choice they could not read).
func TestExportReadsAsTheAPI(t *testing.T) {
	w := newExportWorld(t)
	for _, tc := range []struct {
		name     string
		pr       Principal
		withheld []int64 // ballots whose choice the reader may not see
	}{
		{"admin", w.admin, nil},
		{"auditor", w.auditor, nil},
		{"chair", w.chair, []int64{w.alicesOpenBallot, w.bobsOpenBallot}},
		{"alice", w.alice, []int64{w.bobsOpenBallot}},
		{"bob", w.bob, []int64{w.alicesOpenBallot}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			header, recs, err := w.export(tc.pr, ExportRange{})
			if err != nil {
				t.Fatal(err)
			}
			if header.GetRecords() != int64(len(recs)) {
				t.Errorf("header says %d records, %d were sent", header.GetRecords(), len(recs))
			}
			if header.GetReader() != tc.pr.Actor() || header.GetBody() != resource.Body(w.body) || header.GetTitle() != "Council" {
				t.Errorf("header = %v", header)
			}
			byCall := map[string][]*candorv1.RecordEntry{}
			var withheld []int64
			for _, rec := range recs {
				e := entryOf(t, rec)
				byCall[rec.Call] = append(byCall[rec.Call], &candorv1.RecordEntry{LogIndex: rec.LogIndex, Entry: e})
				if rec.ChoiceWithheld {
					withheld = append(withheld, rec.LogIndex)
				}
			}
			if diff := cmp.Diff(tc.withheld, withheld); diff != "" {
				t.Errorf("choices withheld (-want +got):\n%s", diff)
			}
			for _, call := range []uuid.UUID{w.closedVote, w.consensus, w.openVote} {
				want, err := w.svc.CallRecord(w.ctx, tc.pr, w.body, call, -1, 0)
				if err != nil {
					t.Fatal(err)
				}
				for i, e := range want {
					if e.Entry.GetKind() == candorv1.EntryKind_ENTRY_KIND_CALL_CLOSED {
						// The log's entry holds the whole call; the export, its result: compare those.
						c := proto.Clone(e).(*candorv1.RecordEntry)
						c.Entry.Payload = &candorv1.LogEntry_Call{Call: &candorv1.Call{Result: e.Entry.GetCall().GetResult()}}
						want[i] = c
					}
				}
				if diff := cmp.Diff(want, byCall[resource.Call(w.body, call)], protocmp.Transform()); diff != "" {
					t.Errorf("call %s: export differs from ListCallRecord (-record +export):\n%s", call, diff)
				}
				delete(byCall, resource.Call(w.body, call))
			}
			if len(byCall) != 0 {
				t.Errorf("records of calls outside the body: %v", byCall)
			}
		})
	}

	// Readers the API refuses the body are refused its export.
	for _, pr := range []Principal{w.outsider, {}} {
		_, recs, err := w.export(pr, ExportRange{})
		if !errors.Is(err, domain.ErrMemberOnly) || len(recs) > 0 {
			t.Errorf("%q: export gave %d records, err %v; want %v", pr.Actor(), len(recs), err, domain.ErrMemberOnly)
		}
		if _, err := w.svc.CallRecord(w.ctx, pr, w.body, w.openVote, -1, 0); !errors.Is(err, domain.ErrMemberOnly) {
			t.Errorf("%q: ListCallRecord answered %v: the test's premise is wrong", pr.Actor(), err)
		}
	}
}

// entryOf rebuilds the log entry an export record was read from, as ListCallRecord shows it.
func entryOf(t *testing.T, rec *candorv1.ExportBodyResponse) *candorv1.LogEntry {
	t.Helper()
	e := &candorv1.LogEntry{Format: 1, Kind: rec.EntryKind, Time: rec.Time, Actor: rec.Actor, Subject: rec.Call}
	switch r := rec.Record.(type) {
	case *candorv1.ExportBodyResponse_OpenedCall:
		e.Payload = &candorv1.LogEntry_Call{Call: r.OpenedCall}
	case *candorv1.ExportBodyResponse_Result:
		e.Payload = &candorv1.LogEntry_Call{Call: &candorv1.Call{Result: r.Result.Result}}
	case *candorv1.ExportBodyResponse_Declaration:
		e.Payload = &candorv1.LogEntry_Declaration{Declaration: r.Declaration}
	case *candorv1.ExportBodyResponse_Ballot:
		e.Payload = &candorv1.LogEntry_Ballot{Ballot: r.Ballot}
	case *candorv1.ExportBodyResponse_Position:
		e.Payload = &candorv1.LogEntry_PositionStatement{PositionStatement: r.Position}
	case *candorv1.ExportBodyResponse_Designation:
		e.Payload = &candorv1.LogEntry_Designation{Designation: r.Designation}
	case *candorv1.ExportBodyResponse_Objection:
		e.Payload = &candorv1.LogEntry_Objection{Objection: r.Objection}
	case *candorv1.ExportBodyResponse_Appeal:
		e.Payload = &candorv1.LogEntry_Appeal{Appeal: r.Appeal}
	case *candorv1.ExportBodyResponse_MinorityStatement:
		e.Payload = &candorv1.LogEntry_MinorityStatement{MinorityStatement: r.MinorityStatement}
	case *candorv1.ExportBodyResponse_Clearance:
		e.Payload = &candorv1.LogEntry_Clearance{Clearance: r.Clearance}
	default:
		t.Fatalf("record %d of kind %v has no payload", rec.LogIndex, rec.Kind)
	}
	return e
}

// TestExportRecords checks the export's shape: the header's log size and checkpoint, records in log
// order, one per entry about the body's calls, each declaration with the SOI version it restated,
// and every kind of record the body's calls produced.
func TestExportRecords(t *testing.T) {
	w := newExportWorld(t)
	header, recs, err := w.export(w.auditor, ExportRange{})
	if err != nil {
		t.Fatal(err)
	}
	size := w.svc.store.Latest().Size
	if header.GetLogSize() != size || len(header.GetCheckpoint()) == 0 {
		t.Errorf("header log size %d (checkpoint %d bytes), want %d with its checkpoint", header.GetLogSize(), len(header.GetCheckpoint()), size)
	}
	kinds := map[candorv1.ExportRecordKind]int{}
	last := int64(-1)
	for _, rec := range recs {
		if rec.LogIndex <= last {
			t.Errorf("record %d after record %d: not in log order", rec.LogIndex, last)
		}
		last = rec.LogIndex
		kinds[rec.Kind]++
		if d := rec.GetDeclaration(); d != nil {
			soi := rec.GetStatementOfInterest()
			if soi.GetVersion() != d.GetSoiVersion() || string(soi.GetContentHash()) != string(d.GetSoiContentHash()) || soi.GetEmployer() == "" {
				t.Errorf("declaration %d restated version %d, the record carries %v", rec.LogIndex, d.GetSoiVersion(), soi)
			}
		} else if rec.StatementOfInterest != nil {
			t.Errorf("record %d (%v) carries a Statement of Interest", rec.LogIndex, rec.Kind)
		}
	}
	want := map[candorv1.ExportRecordKind]int{
		candorv1.ExportRecordKind_EXPORT_RECORD_KIND_CALL:               3,
		candorv1.ExportRecordKind_EXPORT_RECORD_KIND_DECLARATION:        6,
		candorv1.ExportRecordKind_EXPORT_RECORD_KIND_BALLOT:             4,
		candorv1.ExportRecordKind_EXPORT_RECORD_KIND_POSITION:           2,
		candorv1.ExportRecordKind_EXPORT_RECORD_KIND_RESULT:             2,
		candorv1.ExportRecordKind_EXPORT_RECORD_KIND_DESIGNATION:        2,
		candorv1.ExportRecordKind_EXPORT_RECORD_KIND_OBJECTION:          1,
		candorv1.ExportRecordKind_EXPORT_RECORD_KIND_APPEAL:             1,
		candorv1.ExportRecordKind_EXPORT_RECORD_KIND_MINORITY_STATEMENT: 1,
	}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("records by kind (-want +got):\n%s", diff)
	}
	for _, rec := range recs {
		if r := rec.GetResult(); r != nil && rec.LogIndex == w.closed {
			if r.GetTitle() != "Adopt the budget" || r.GetClosedBy() != w.names[w.chair] || len(r.GetResult().GetGroups()) != 1 {
				t.Errorf("the closed vote's result record: %v", r)
			}
		}
	}
}

// TestExportRange checks --from and --to: the records kept are exactly those whose time is in
// [from, to), whichever bounds are set.
func TestExportRange(t *testing.T) {
	w := newExportWorld(t)
	_, all, err := w.export(w.auditor, ExportRange{})
	if err != nil {
		t.Fatal(err)
	}
	from, to := w.openedAt[w.consensus], w.openedAt[w.openVote]
	for _, tc := range []struct {
		name string
		r    ExportRange
	}{
		{"from", ExportRange{From: from}},
		{"to", ExportRange{To: to}},
		{"from and to", ExportRange{From: from, To: to}},
		{"between entries", ExportRange{From: from.Add(time.Millisecond), To: to.Add(time.Millisecond)}},
		{"after the last entry", ExportRange{From: to.Add(time.Hour)}},
		{"before the first call", ExportRange{To: w.openedAt[w.closedVote]}},
	} {
		r := tc.r
		t.Run(tc.name, func(t *testing.T) {
			header, got, err := w.export(w.auditor, r)
			if err != nil {
				t.Fatal(err)
			}
			var want []*candorv1.ExportBodyResponse
			for _, rec := range all {
				at := rec.Time.AsTime()
				if (r.From.IsZero() || !at.Before(r.From)) && (r.To.IsZero() || at.Before(r.To)) {
					want = append(want, rec)
				}
			}
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if header.GetRecords() != int64(len(want)) {
				t.Errorf("header says %d records, want %d", header.GetRecords(), len(want))
			}
			if !r.From.IsZero() && !header.GetStartTime().AsTime().Equal(r.From) || !r.To.IsZero() && !header.GetEndTime().AsTime().Equal(r.To) {
				t.Errorf("header period %v to %v, want %v to %v", header.GetStartTime(), header.GetEndTime(), r.From, r.To)
			}
		})
	}
}

// TestExportPages exports more records than one page, in calls whose entries interleave, and checks
// that every page continues where the last stopped; a reader removed from the body mid-export is
// refused from the next page on.
func TestExportPages(t *testing.T) {
	w := newExportWorld(t)
	a, b := w.open(candorv1.CallKind_CALL_KIND_VOTE, "A"), w.open(candorv1.CallKind_CALL_KIND_VOTE, "B")
	for _, c := range []uuid.UUID{a, b} {
		w.declare(w.alice, c, w.aliceSOI)
		w.declare(w.bob, c, w.bobSOI)
	}
	for i := range exportPage / 2 {
		for _, c := range []uuid.UUID{a, b} {
			w.vote([]Principal{w.alice, w.bob}[i%2], c, []string{"yes", "no"}[i%3%2])
		}
	}
	header, recs, err := w.export(w.chair, ExportRange{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) <= exportPage || header.GetRecords() != int64(len(recs)) {
		t.Fatalf("%d records (header %d), want more than a page of %d", len(recs), header.GetRecords(), exportPage)
	}
	var want []int64
	for _, c := range []uuid.UUID{w.closedVote, w.consensus, w.openVote, a, b} {
		es, err := w.svc.CallRecord(w.ctx, w.chair, w.body, c, -1, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			want = append(want, e.LogIndex)
		}
	}
	slices.Sort(want)
	var got []int64
	for _, rec := range recs {
		got = append(got, rec.LogIndex)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log indexes (-want +got):\n%s", diff)
	}

	// Alice leaves the body while her export is being sent: the next page is refused.
	n := 0
	err = w.svc.ExportBody(w.ctx, w.alice, w.body, ExportRange{}, func(rec *candorv1.ExportBodyResponse) error {
		if n++; n == 2 {
			_, _, err := w.svc.RemoveMember(w.ctx, w.admin, w.body, w.alice.Participant)
			w.must(err)
		}
		return nil
	})
	if !errors.Is(err, domain.ErrMemberOnly) || n != exportPage+1 {
		t.Errorf("export while removed: %d records sent, err %v; want the header and one page, then %v", n, err, domain.ErrMemberOnly)
	}
}
