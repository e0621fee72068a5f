package rpc_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"sort"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/candorhq/candor/internal/domain"
	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// permWorld is what TestReadTable reads: bob's record, as each reader of domain.ReadTable.
//
// Bob sits on two bodies: the world's (with the chair, alice and carol) and a second one (chaired by
// carol). The outsider sits on a third body, which bob is not on. In the world's body, vote open is
// still open (bob declared a POTENTIAL conflict, naming an affected party his SOI lists, and voted
// "yes"; alice declared and voted "no") and vote closed is closed (bob voted "no"); in the second
// body bob declared in vote elsewhere.
type permWorld struct {
	*ts.World
	open, closed, elsewhere string
	// bobsBallot and alicesBallot are the log indexes of their ballots in vote open.
	bobsBallot, alicesBallot int64
	// bodies each reader belongs to.
	bodies map[domain.Reader][]string
	second string // the second body
}

const bobsConflict = "I advise Example Registry, named in the matter"

func newPermWorld(t *testing.T, opts ...ts.Option) *permWorld {
	w := &permWorld{World: ts.NewWorld(t, ts.Start(t, append([]ts.Option{ts.Bufconn()}, opts...)...))}
	admin := w.Admin
	body := func(title string, members map[string]candorv1.Role) string {
		b, err := admin.Bodies.CreateBody(admin.Ctx(t), &candorv1.CreateBodyRequest{Title: title})
		if err != nil {
			t.Fatal(err)
		}
		for who, role := range members {
			if _, err := admin.Bodies.AddMember(admin.Ctx(t), &candorv1.AddMemberRequest{Body: b.Body.Name, Participant: w.Names[who], Role: role}); err != nil {
				t.Fatal(err)
			}
		}
		return b.Body.Name
	}
	w.second = body("Registries Stakeholder Group", map[string]candorv1.Role{"carol": candorv1.Role_ROLE_CHAIR, "bob": candorv1.Role_ROLE_MEMBER})
	third := body("Nominating Committee", map[string]candorv1.Role{"outsider": candorv1.Role_ROLE_MEMBER})
	w.bodies = map[domain.Reader][]string{
		domain.ReaderSelf: {w.Body, w.second}, domain.ReaderFellow: {w.Body}, domain.ReaderChair: {w.Body},
		domain.ReaderOtherBody: {third},
	}
	if _, err := w.Bob.Participants.UpdateStatementOfInterest(w.Bob.Ctx(t), &candorv1.UpdateStatementOfInterestRequest{
		StatementOfInterest: &candorv1.StatementOfInterest{
			Employer: "Example Org", JobTitle: "Analyst", Represents: "self", StakeholderGroups: []string{"Registries"},
			Interests: []*candorv1.Interest{{Organization: "Example Registry", Nature: "paid advisor"}},
		},
	}); err != nil {
		t.Fatal(err)
	}
	declareAndVote := func(c *ts.Client, call string, level candorv1.ConflictLevel, option string) int64 {
		t.Helper()
		soi, err := c.Participants.GetStatementOfInterest(c.Ctx(t), &candorv1.GetStatementOfInterestRequest{})
		if err != nil {
			t.Fatal(err)
		}
		desc := "no interest in the matter"
		if level != none {
			desc = bobsConflict
		}
		if _, err := c.Calls.FileDeclaration(c.Ctx(t), &candorv1.FileDeclarationRequest{
			Call: call, Restatement: &candorv1.FileDeclarationRequest_UnchangedSoiHash{UnchangedSoiHash: soi.StatementOfInterest.ContentHash},
			ConflictLevel: level, Description: desc,
		}); err != nil {
			t.Fatal(err)
		}
		b, err := ts.Vote(t, c, call, option)
		if err != nil {
			t.Fatal(err)
		}
		return b.GetReceipt().GetLogIndex()
	}
	parties := []string{"Example Registry"}
	w.closed = w.OpenVote(t, &candorv1.Call{Title: "Adopt the budget", AffectedParties: parties}).Name
	declareAndVote(w.Bob, w.closed, potential, "no")
	if _, err := w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: w.closed}); err != nil {
		t.Fatal(err)
	}
	w.open = w.OpenVote(t, &candorv1.Call{Title: "Adopt the statement", AffectedParties: parties}).Name
	w.bobsBallot = declareAndVote(w.Bob, w.open, potential, "yes")
	w.alicesBallot = declareAndVote(w.Alice, w.open, none, "no")
	other, err := w.Carol.Calls.OpenCall(w.Carol.Ctx(t), &candorv1.OpenCallRequest{Body: w.second, Call: &candorv1.Call{Title: "Elect a liaison", AffectedParties: parties}})
	if err != nil {
		t.Fatal(err)
	}
	w.elsewhere = other.Call.Name
	declareAndVote(w.Bob, w.elsewhere, potential, "yes")
	return w
}

// readerKeys name the columns in subtests.
var readerKeys = map[domain.Reader]string{
	domain.ReaderSelf: "self", domain.ReaderFellow: "fellow", domain.ReaderChair: "chair", domain.ReaderOtherBody: "other-body",
	domain.ReaderAuditor: "auditor", domain.ReaderAdmin: "admin", domain.ReaderPublicAudit: "public-audit",
}

// reader returns the client of a column of the table ("the participant" is bob).
func (w *permWorld) reader(r domain.Reader) *ts.Client {
	return map[domain.Reader]*ts.Client{
		domain.ReaderSelf: w.Bob, domain.ReaderFellow: w.Alice, domain.ReaderChair: w.Chair,
		domain.ReaderOtherBody: w.Outsider, domain.ReaderAuditor: w.Auditor, domain.ReaderAdmin: w.Admin,
		domain.ReaderPublicAudit: w.Anonymous,
	}[r]
}

// callsOf returns the calls of the fixture in the bodies the reader belongs to.
func (w *permWorld) callsOf(r domain.Reader) []string {
	var out []string
	for _, b := range w.bodies[r] {
		switch b {
		case w.Body:
			out = append(out, w.open, w.closed)
		case w.second:
			out = append(out, w.elsewhere)
		}
	}
	sort.Strings(out)
	return out
}

// view is what a probe saw of bob's record.
type view int

const (
	sawAll      view = iota + 1 // everything the row names
	sawRedacted                 // exactly what the row's redaction leaves, for this reader
	sawOther                    // anything else: a failure
)

func (v view) String() string {
	return map[view]string{sawAll: "all", sawRedacted: "redacted", sawOther: "other"}[v]
}

// probe reads a row's records as reader r.
type probe struct {
	read func(t *testing.T, w *permWorld, r domain.Reader, c *ts.Client) (view, error)
	// inLog reports whether the log's entries carry the row's records (for "in the log only").
	inLog func(w *permWorld, es []*candorv1.LogEntry) bool
}

// choices returns, for every ballot entry of a call's record, its author and the option shown.
func choices(es []*candorv1.RecordEntry) map[string]string {
	out := map[string]string{}
	for _, e := range es {
		if b := e.Entry.GetBallot(); b != nil {
			out[b.Participant] = b.Option
		}
	}
	return out
}

var probes = map[string]probe{
	"soi": {
		read: func(t *testing.T, w *permWorld, _ domain.Reader, c *ts.Client) (view, error) {
			cur, err := c.Participants.GetStatementOfInterest(c.Ctx(t), &candorv1.GetStatementOfInterestRequest{Participant: w.Names["bob"]})
			if err != nil {
				return 0, err
			}
			first, err := c.Participants.GetStatementOfInterest(c.Ctx(t), &candorv1.GetStatementOfInterestRequest{Participant: w.Names["bob"], Version: 1})
			if err != nil {
				return 0, err
			}
			all, err := c.Participants.ListStatementOfInterestVersions(c.Ctx(t), &candorv1.ListStatementOfInterestVersionsRequest{Participant: w.Names["bob"]})
			if err != nil {
				return 0, err
			}
			if len(cur.StatementOfInterest.GetInterests()) == 1 && first.StatementOfInterest.GetVersion() == 1 && len(all.StatementsOfInterest) == 2 {
				return sawAll, nil
			}
			return sawOther, nil
		},
		inLog: func(w *permWorld, es []*candorv1.LogEntry) bool {
			n := 0
			for _, e := range es {
				if e.GetStatementOfInterest() != nil && e.Subject == w.Names["bob"] {
					n++
				}
			}
			return n == 2
		},
	},
	"declaration": {
		read: func(t *testing.T, w *permWorld, _ domain.Reader, c *ts.Client) (view, error) {
			roster, err := c.Calls.GetCallRoster(c.Ctx(t), &candorv1.GetCallRosterRequest{Name: w.open})
			if err != nil {
				return 0, err
			}
			watched, err := watchOnce(t, c, w.open)
			if err != nil {
				return 0, err
			}
			for _, entries := range [][]*candorv1.RosterEntry{roster.Entries, watched.Roster} {
				d := findEntry(entries, w.Names["bob"]).GetDeclaration()
				if d.GetDescription() != bobsConflict || d.GetConflictLevel() != potential {
					return sawOther, nil
				}
			}
			return sawAll, nil
		},
		inLog: func(w *permWorld, es []*candorv1.LogEntry) bool {
			for _, e := range es {
				if d := e.GetDeclaration(); d != nil && e.Subject == w.open && d.Participant == w.Names["bob"] {
					return d.Description == bobsConflict && d.ConflictLevel == potential
				}
			}
			return false
		},
	},
	"ballot": {
		read: func(t *testing.T, w *permWorld, r domain.Reader, c *ts.Client) (view, error) {
			open, err := c.Audit.ListCallRecord(c.Ctx(t), &candorv1.ListCallRecordRequest{Call: w.open})
			if err != nil {
				return 0, err
			}
			closed, err := c.Audit.ListCallRecord(c.Ctx(t), &candorv1.ListCallRecordRequest{Call: w.closed})
			if err != nil {
				return 0, err
			}
			bob := w.Names["bob"]
			now, before := choices(open.Entries), choices(closed.Entries)
			// The closed call's result names bob's flagged ballot (a POTENTIAL conflict, under DISCLOSE).
			got, err := c.Calls.GetCall(c.Ctx(t), &candorv1.GetCallRequest{Name: w.closed})
			if err != nil {
				return 0, err
			}
			if f := got.Call.GetResult().GetFlagged(); len(f) != 1 || f[0].Participant != bob || f[0].Option != "no" {
				return sawOther, nil
			}
			switch {
			case now[bob] == "yes" && before[bob] == "no":
				return sawAll, nil
			case now[bob] == "" && before[bob] == "no" && len(now) == 2:
				return sawRedacted, nil // bob's ballot is on the record, its option is not
			}
			return sawOther, nil
		},
		inLog: func(w *permWorld, es []*candorv1.LogEntry) bool {
			for _, e := range es {
				if b := e.GetBallot(); b != nil && e.Subject == w.open && b.Participant == w.Names["bob"] {
					return b.Option == "yes"
				}
			}
			return false
		},
	},
	"roster": {
		read: func(t *testing.T, w *permWorld, _ domain.Reader, c *ts.Client) (view, error) {
			roster, err := c.Calls.GetCallRoster(c.Ctx(t), &candorv1.GetCallRosterRequest{Name: w.open})
			if err != nil {
				return 0, err
			}
			watched, err := watchOnce(t, c, w.open)
			if err != nil {
				return 0, err
			}
			for _, entries := range [][]*candorv1.RosterEntry{roster.Entries, watched.Roster} {
				e := findEntry(entries, w.Names["bob"])
				if e == nil || e.Declaration == nil || !e.Voted || e.Stale || !slices.Equal(e.AffectedPartyMatches, []string{"Example Registry"}) {
					return sawOther, nil
				}
			}
			return sawAll, nil
		},
	},
	"history": {
		read: func(t *testing.T, w *permWorld, r domain.Reader, c *ts.Client) (view, error) {
			var calls []string
			tok := ""
			for {
				// Pages of one, so that a page left empty by the filter must still lead on.
				resp, err := c.Audit.ListDeclarationHistory(c.Ctx(t), &candorv1.ListDeclarationHistoryRequest{Participant: w.Names["bob"], PageSize: 1, PageToken: tok})
				if err != nil {
					return 0, err
				}
				for _, h := range resp.Entries {
					if h.Declaration.GetDescription() != bobsConflict {
						return sawOther, nil
					}
					calls = append(calls, h.Call)
				}
				if tok = resp.NextPageToken; tok == "" {
					break
				}
			}
			sort.Strings(calls)
			all := []string{w.open, w.closed, w.elsewhere}
			sort.Strings(all)
			switch {
			case slices.Equal(calls, all):
				return sawAll, nil
			case slices.Equal(calls, w.callsOf(r)):
				return sawRedacted, nil
			}
			return sawOther, nil
		},
		inLog: func(w *permWorld, es []*candorv1.LogEntry) bool {
			n := 0
			for _, e := range es {
				if d := e.GetDeclaration(); d != nil && d.Participant == w.Names["bob"] {
					n++
				}
			}
			return n == 3
		},
	},
	"record": {
		read: func(t *testing.T, w *permWorld, r domain.Reader, c *ts.Client) (view, error) {
			resp, err := c.Audit.ListCallRecord(c.Ctx(t), &candorv1.ListCallRecordRequest{Call: w.open})
			if err != nil {
				return 0, err
			}
			// Opened, two declarations, two ballots: every entry is there, redacted or not.
			if len(resp.Entries) != 5 {
				return sawOther, nil
			}
			got := choices(resp.Entries)
			want := map[string]string{w.Names["bob"]: "yes", w.Names["alice"]: "no"}
			if mapsEqual(got, want) {
				return sawAll, nil
			}
			me := w.reader(r)
			for p := range want {
				if (p == w.Names[nameOf(w, me)]) != (got[p] != "") {
					return sawOther, nil
				}
			}
			return sawRedacted, nil
		},
		inLog: func(w *permWorld, es []*candorv1.LogEntry) bool {
			n := 0
			for _, e := range es {
				if e.Subject == w.open {
					n++
				}
			}
			return n == 5
		},
	},
	"export": {
		read: func(t *testing.T, w *permWorld, r domain.Reader, c *ts.Client) (view, error) {
			stream, err := c.Audit.ExportBody(c.Ctx(t), &candorv1.ExportBodyRequest{Body: w.Body})
			if err != nil {
				return 0, err
			}
			var recs []*candorv1.ExportBodyResponse
			for {
				rec, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return 0, err
				}
				recs = append(recs, rec)
			}
			// The header, then both calls' records: each opening, and in the closed call bob's
			// declaration, ballot and the result; in the open one two declarations and ballots.
			if len(recs) != 1+4+5 || recs[0].GetHeader().GetRecords() != 9 {
				return sawOther, nil
			}
			open, closed := map[string]string{}, map[string]string{}
			withheld := 0
			for _, rec := range recs[1:] {
				if b := rec.GetBallot(); b != nil {
					map[string]map[string]string{w.open: open, w.closed: closed}[rec.Call][b.Participant] = b.Option
					if rec.ChoiceWithheld != (b.Option == "") {
						return sawOther, nil
					}
					if rec.ChoiceWithheld {
						withheld++
					}
				}
				if d := rec.GetDeclaration(); d != nil && rec.GetStatementOfInterest().GetVersion() != d.GetSoiVersion() {
					return sawOther, nil
				}
			}
			bob, alice := w.Names["bob"], w.Names["alice"]
			if closed[bob] != "no" {
				return sawOther, nil
			}
			if mapsEqual(open, map[string]string{bob: "yes", alice: "no"}) && withheld == 0 {
				return sawAll, nil
			}
			me := w.Names[nameOf(w, w.reader(r))]
			for p, option := range map[string]string{bob: "yes", alice: "no"} {
				if shown := open[p] != ""; shown != (p == me) || shown && open[p] != option {
					return sawOther, nil
				}
			}
			return sawRedacted, nil
		},
		inLog: func(w *permWorld, es []*candorv1.LogEntry) bool {
			n := 0
			for _, e := range es {
				if e.Subject == w.open || e.Subject == w.closed {
					n++
				}
			}
			return n == 9
		},
	},
	"review": {
		read: func(t *testing.T, w *permWorld, _ domain.Reader, c *ts.Client) (view, error) {
			resp, err := c.Audit.GetReviewReport(c.Ctx(t), &candorv1.GetReviewReportRequest{Body: w.Body})
			if err != nil {
				return 0, err
			}
			if resp.Report.GetCalls() == 2 {
				return sawAll, nil
			}
			return sawOther, nil
		},
	},
	"log": {
		read: func(t *testing.T, w *permWorld, _ domain.Reader, c *ts.Client) (view, error) {
			resp, err := c.Audit.ListEntries(c.Ctx(t), &candorv1.ListEntriesRequest{})
			if err != nil {
				return 0, err
			}
			if len(resp.Entries) > 0 {
				return sawAll, nil
			}
			return sawOther, nil
		},
	},
	"entry": {
		read: func(t *testing.T, w *permWorld, _ domain.Reader, c *ts.Client) (view, error) {
			resp, err := c.Audit.ListEntries(c.Ctx(t), &candorv1.ListEntriesRequest{StartIndex: w.bobsBallot, MaxEntries: 1})
			if err != nil {
				return 0, err
			}
			if len(resp.Entries) != 1 || resp.Entries[0].Index != w.bobsBallot {
				return sawOther, nil
			}
			e := new(candorv1.LogEntry)
			if err := proto.Unmarshal(resp.Entries[0].Data, e); err != nil {
				return 0, err
			}
			if e.Actor == w.Names["bob"] && e.GetBallot().GetOption() == "yes" {
				return sawAll, nil
			}
			return sawOther, nil
		},
	},
	"backup": {
		read: func(t *testing.T, w *permWorld, _ domain.Reader, c *ts.Client) (view, error) {
			stream, err := c.Audit.StreamBackup(c.Ctx(t), &candorv1.StreamBackupRequest{})
			if err != nil {
				return 0, err
			}
			var n int64
			for {
				resp, err := stream.Recv()
				if err != nil {
					return 0, err
				}
				if len(resp.Data) == 0 {
					if n > 0 && n == resp.SizeBytes && len(resp.Checkpoint) > 0 {
						return sawAll, nil
					}
					return sawOther, nil
				}
				n += int64(len(resp.Data))
			}
		},
	},
	"proofs": {
		read: func(t *testing.T, w *permWorld, _ domain.Reader, c *ts.Client) (view, error) {
			cp, err := c.Audit.GetCheckpoint(c.Ctx(t), &candorv1.GetCheckpointRequest{})
			if err != nil {
				return 0, err
			}
			inc, err := c.Audit.GetInclusionProof(c.Ctx(t), &candorv1.GetInclusionProofRequest{Index: 1})
			if err != nil {
				return 0, err
			}
			con, err := c.Audit.GetConsistencyProof(c.Ctx(t), &candorv1.GetConsistencyProofRequest{FirstSize: 1})
			if err != nil {
				return 0, err
			}
			if len(cp.Checkpoint) > 0 && len(inc.Hashes) > 0 && len(con.Hashes) > 0 {
				return sawAll, nil
			}
			return sawOther, nil
		},
	},
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// nameOf returns the world's role name of a client ("" for the admin and the anonymous).
func nameOf(w *permWorld, c *ts.Client) string {
	for role, cl := range map[string]*ts.Client{"chair": w.Chair, "alice": w.Alice, "bob": w.Bob, "carol": w.Carol, "auditor": w.Auditor, "outsider": w.Outsider} {
		if cl == c {
			return role
		}
	}
	return ""
}

func findEntry(entries []*candorv1.RosterEntry, p string) *candorv1.RosterEntry {
	for _, e := range entries {
		if e.Participant == p {
			return e
		}
	}
	return nil
}

// watchOnce returns WatchCall's first message (or its refusal) and drops the stream.
func watchOnce(t *testing.T, c *ts.Client, call string) (*candorv1.WatchCallResponse, error) {
	ctx, cancel := context.WithCancel(c.Ctx(t))
	defer cancel()
	stream, err := c.Calls.WatchCall(ctx, &candorv1.WatchCallRequest{Name: call})
	if err != nil {
		return nil, err
	}
	return stream.Recv()
}

// logEntries reads the whole log as c.
func logEntries(t *testing.T, c *ts.Client) []*candorv1.LogEntry {
	t.Helper()
	var out []*candorv1.LogEntry
	for {
		resp, err := c.Audit.ListEntries(c.Ctx(t), &candorv1.ListEntriesRequest{StartIndex: int64(len(out))})
		if err != nil {
			t.Fatalf("ListEntries: %v", err)
		}
		if len(resp.Entries) == 0 {
			return out
		}
		for _, e := range resp.Entries {
			le := new(candorv1.LogEntry)
			if err := proto.Unmarshal(e.Data, le); err != nil {
				t.Fatal(err)
			}
			out = append(out, le)
		}
	}
}

// TestReadTable checks every cell of domain.ReadTable, the table docs/permissions.md is generated
// from, against a running server: each reader's read of bob's record is answered whole, answered
// redacted exactly as the cell says, refused with the cell's reason, or (under --public-audit)
// refused while the log carries the data. The last column runs on a server with public audit, the
// others on one without.
func TestReadTable(t *testing.T) {
	plain := newPermWorld(t)
	public := newPermWorld(t, ts.PublicAudit())
	publicLog := logEntries(t, public.Anonymous)
	for _, row := range domain.ReadTable {
		p, ok := probes[row.Key]
		if !ok {
			t.Errorf("row %q of domain.ReadTable has no probe here: add one", row.Key)
			continue
		}
		for _, r := range domain.Readers {
			cell := row.Cells[r]
			t.Run(row.Key+"/"+readerKeys[r], func(t *testing.T) {
				w := plain
				if r == domain.ReaderPublicAudit {
					w = public
				}
				got, err := p.read(t, w, r, w.reader(r))
				switch cell.Access {
				case domain.Allowed, domain.Redacted:
					want := sawAll
					if cell.Access == domain.Redacted {
						want = sawRedacted
					}
					if err != nil || got != want {
						t.Errorf("got %v (err %v), want %v", got, err, want)
					}
				case domain.Refused:
					code := codes.PermissionDenied
					if cell.Reason == "UNAUTHENTICATED" {
						code = codes.Unauthenticated
					}
					st, _ := status.FromError(err)
					if st.Code() != code || errorReason(st) != cell.Reason {
						t.Errorf("got %v (err %v), want %v %s", got, err, code, cell.Reason)
					}
				case domain.LogOnly:
					if status.Code(err) != codes.Unauthenticated {
						t.Errorf("got %v (err %v), want Unauthenticated: the data is in the log only", got, err)
					}
					if p.inLog == nil {
						t.Fatalf("row %q says its data is in the log, and its probe cannot look there", row.Key)
					}
					if !p.inLog(w, publicLog) {
						t.Errorf("the log read under --public-audit does not carry the row's data")
					}
				default:
					t.Errorf("cell access %v: not one the test knows", cell.Access)
				}
			})
		}
	}
}

// TestParticipantReadsOwnEntriesOnly checks the edges of the "entry" row: a participant who is not an
// auditor reads one entry at a time, and only one they wrote; ranges, and entries written by
// another participant, the admin or the server (or past the log's end) are refused as the whole log
// is.
func TestParticipantReadsOwnEntriesOnly(t *testing.T) {
	w := newPermWorld(t)
	size := int64(len(logEntries(t, w.Auditor)))
	bob := w.Bob
	tests := []struct {
		name       string
		start      int64
		max        int32
		wantServed bool
	}{
		{"his own ballot", w.bobsBallot, 1, true},
		{"alice's ballot", w.alicesBallot, 1, false},
		{"the admin's first entry", 0, 1, false},
		{"two entries from his own", w.bobsBallot, 2, false},
		{"a page from his own", w.bobsBallot, 0, false},
		{"past the log's end", size, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := bob.Audit.ListEntries(bob.Ctx(t), &candorv1.ListEntriesRequest{StartIndex: tt.start, MaxEntries: tt.max})
			if tt.wantServed {
				if err != nil || len(resp.Entries) != 1 || resp.Entries[0].Index != tt.start {
					t.Errorf("got %v (err %v), want entry %d", resp, err, tt.start)
				}
				return
			}
			st, _ := status.FromError(err)
			if st.Code() != codes.PermissionDenied || errorReason(st) != "AUDITOR_REQUIRED" {
				t.Errorf("got %v (err %v), want PermissionDenied AUDITOR_REQUIRED", resp, err)
			}
		})
	}
	// The same entry alice may not read, though she sits on the same body.
	if _, err := w.Alice.Audit.ListEntries(w.Alice.Ctx(t), &candorv1.ListEntriesRequest{StartIndex: w.bobsBallot, MaxEntries: 1}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("alice reading bob's ballot entry: %v, want PermissionDenied", err)
	}
}
