package export

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

const (
	body     = "bodies/c0c00000-0000-4000-8000-000000000001"
	vote     = body + "/calls/0be10000-0000-4000-8000-000000000001"
	cons     = body + "/calls/0be10000-0000-4000-8000-000000000002"
	alice    = "participants/a11ce000-0000-4000-8000-000000000001"
	bob      = "participants/b0b00000-0000-4000-8000-000000000002"
	chair    = "participants/c4a12000-0000-4000-8000-000000000003"
	aliceD   = vote + "/declarations/d0000000-0000-4000-8000-000000000001"
	bobsVote = vote + "/ballots/ba110000-0000-4000-8000-000000000002"
)

// at is minutes after 2026-03-01 10:00 UTC, with nanoseconds the CSV leaves out.
func at(min int) *timestamppb.Timestamp {
	return timestamppb.New(time.Date(2026, 3, 1, 10, min, 0, 123456789, time.UTC))
}

func rec(kind candorv1.ExportRecordKind, index int64, entry candorv1.EntryKind, call, actor string) *candorv1.ExportBodyResponse {
	return &candorv1.ExportBodyResponse{Kind: kind, LogIndex: index, EntryKind: entry, Time: at(int(index)), Actor: actor, Call: call}
}

// fixture is an export holding every kind of record.
func fixture() []*candorv1.ExportBodyResponse {
	k := candorv1.ExportRecordKind_EXPORT_RECORD_KIND_HEADER
	header := &candorv1.ExportBodyResponse{Kind: k, Record: &candorv1.ExportBodyResponse_Header{Header: &candorv1.ExportHeader{
		Body: body, Title: "At-Large Advisory Committee", StartTime: at(0), LogSize: 40, Records: 13, Reader: alice, ExportTime: at(59),
		Checkpoint: []byte("candor.example/log\n40\nq83v=\n\n— candor.example/log AAAA\n"),
	}}}
	opened := rec(candorv1.ExportRecordKind_EXPORT_RECORD_KIND_CALL, 10, candorv1.EntryKind_ENTRY_KIND_CALL_OPENED, vote, chair)
	opened.Record = &candorv1.ExportBodyResponse_OpenedCall{OpenedCall: &candorv1.Call{
		Name: vote, Title: "Budget FY27", Matter: "Adopt the budget,\nas tabled.", Kind: candorv1.CallKind_CALL_KIND_VOTE,
		Options: []string{"yes", "no", "abstain"}, AffectedParties: []string{"Example Registry, Inc."},
		ConflictPolicy: candorv1.ConflictPolicy_CONFLICT_POLICY_RECUSE, Quorum: 2, Threshold: candorv1.Threshold_THRESHOLD_TWO_THIRDS,
		EligibleParticipants: []string{alice, bob}, OpenedBy: chair, OpenTime: at(10),
	}}
	decl := rec(candorv1.ExportRecordKind_EXPORT_RECORD_KIND_DECLARATION, 11, candorv1.EntryKind_ENTRY_KIND_DECLARATION, vote, alice)
	decl.Record = &candorv1.ExportBodyResponse_Declaration{Declaration: &candorv1.Declaration{
		Name: aliceD, Participant: alice, SoiVersion: 2, SoiContentHash: []byte{0xab, 0xcd},
		ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL, Description: "=HYPERLINK(\"http://evil\")", Intent: candorv1.Intent_INTENT_PARTICIPATE,
	}}
	decl.StatementOfInterest = &candorv1.StatementOfInterest{Version: 2, Employer: "Independent", Represents: "self",
		StakeholderGroups: []string{"At-Large", "Non-Commercial"},
		Interests:         []*candorv1.Interest{{Organization: "Example Registry Inc.", Nature: "shareholder"}, {Organization: "DNS Forum"}},
		OtherInterests:    "Advises a registrar."}
	clear := rec(candorv1.ExportRecordKind_EXPORT_RECORD_KIND_CLEARANCE, 12, candorv1.EntryKind_ENTRY_KIND_CLEARANCE, vote, chair)
	clear.Record = &candorv1.ExportBodyResponse_Clearance{Clearance: &candorv1.Clearance{
		Declaration: aliceD, Participant: alice, Decision: candorv1.ClearanceDecision_CLEARANCE_DECISION_CLEARED, Note: "Below 1%.", Chair: chair,
	}}
	ballot := rec(candorv1.ExportRecordKind_EXPORT_RECORD_KIND_BALLOT, 13, candorv1.EntryKind_ENTRY_KIND_BALLOT, vote, alice)
	ballot.Record = &candorv1.ExportBodyResponse_Ballot{Ballot: &candorv1.Ballot{Name: vote + "/ballots/1", Participant: alice, Option: "yes", Declaration: aliceD,
		ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL}}
	hidden := rec(candorv1.ExportRecordKind_EXPORT_RECORD_KIND_BALLOT, 14, candorv1.EntryKind_ENTRY_KIND_BALLOT, vote, bob)
	hidden.ChoiceWithheld = true
	hidden.Record = &candorv1.ExportBodyResponse_Ballot{Ballot: &candorv1.Ballot{Name: bobsVote, Participant: bob}}
	result := rec(candorv1.ExportRecordKind_EXPORT_RECORD_KIND_RESULT, 15, candorv1.EntryKind_ENTRY_KIND_CALL_CLOSED, vote, chair)
	result.Record = &candorv1.ExportBodyResponse_Result{Result: &candorv1.ExportResult{
		Title: "Budget FY27", CallKind: candorv1.CallKind_CALL_KIND_VOTE, ClosedBy: chair, CloseTime: at(15),
		Result: &candorv1.Result{
			Counts: []*candorv1.OptionCount{{Option: "yes", Count: 1}, {Option: "no", Count: 0}}, Eligible: 2, BallotsCounted: 1, VotesCast: 1,
			Recused: []string{bob}, Flagged: []*candorv1.FlaggedBallot{{Participant: alice, Option: "yes", ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL}},
			Quorum: 2, Outcome: candorv1.Outcome_OUTCOME_NO_QUORUM, Turnout: 1.0 / 3,
			Groups: []*candorv1.GroupTally{
				{StakeholderGroup: "At-Large", Eligible: 1, Declared: 1, Conflicts: 1, Counts: []*candorv1.OptionCount{{Option: "yes", Count: 1}}},
				{StakeholderGroup: "Registries", Eligible: 1, Declared: 1, Recusals: 1},
			},
		},
	}}
	position := rec(candorv1.ExportRecordKind_EXPORT_RECORD_KIND_POSITION, 20, candorv1.EntryKind_ENTRY_KIND_POSITION, cons, bob)
	position.Record = &candorv1.ExportBodyResponse_Position{Position: &candorv1.PositionStatement{Name: cons + "/positions/1", Participant: bob,
		Position: candorv1.Position_POSITION_SUPPORT_WITH_CONCERNS, Comment: "-2% is too much; \"phase it\"."}}
	proposed := rec(candorv1.ExportRecordKind_EXPORT_RECORD_KIND_DESIGNATION, 21, candorv1.EntryKind_ENTRY_KIND_DESIGNATION_PROPOSED, cons, chair)
	proposed.Record = &candorv1.ExportBodyResponse_Designation{Designation: &candorv1.Designation{Revision: 1,
		Level: candorv1.ConsensusLevel_CONSENSUS_LEVEL_STRONG_SUPPORT_SIGNIFICANT_OPPOSITION, Rationale: "Most support it.", Chair: chair, ObjectionDeadline: at(30)}}
	objection := rec(candorv1.ExportRecordKind_EXPORT_RECORD_KIND_OBJECTION, 22, candorv1.EntryKind_ENTRY_KIND_OBJECTION, cons, bob)
	objection.Record = &candorv1.ExportBodyResponse_Objection{Objection: &candorv1.Objection{Revision: 1, Participant: bob, Reason: "I opposed."}}
	final := rec(candorv1.ExportRecordKind_EXPORT_RECORD_KIND_DESIGNATION, 23, candorv1.EntryKind_ENTRY_KIND_DESIGNATION_FINALIZED, cons, chair)
	final.Record = &candorv1.ExportBodyResponse_Designation{Designation: &candorv1.Designation{Revision: 1,
		Level: candorv1.ConsensusLevel_CONSENSUS_LEVEL_STRONG_SUPPORT_SIGNIFICANT_OPPOSITION, Rationale: "Most support it.", Chair: chair}}
	appeal := rec(candorv1.ExportRecordKind_EXPORT_RECORD_KIND_APPEAL, 24, candorv1.EntryKind_ENTRY_KIND_APPEAL, cons, bob)
	appeal.Record = &candorv1.ExportBodyResponse_Appeal{Appeal: &candorv1.Appeal{Participant: bob, Reason: "Registries were not heard."}}
	ms := &candorv1.MinorityStatement{Name: cons + "/minorityStatements/1", Author: bob, Text: "We dissent.\nWe ask for a phased start.", Cosigners: []string{alice}}
	filed := rec(candorv1.ExportRecordKind_EXPORT_RECORD_KIND_MINORITY_STATEMENT, 25, candorv1.EntryKind_ENTRY_KIND_MINORITY_STATEMENT_FILED, cons, bob)
	filed.Record = &candorv1.ExportBodyResponse_MinorityStatement{MinorityStatement: ms}
	signed := rec(candorv1.ExportRecordKind_EXPORT_RECORD_KIND_MINORITY_STATEMENT, 26, candorv1.EntryKind_ENTRY_KIND_MINORITY_STATEMENT_SIGNED, cons, alice)
	signed.Record = &candorv1.ExportBodyResponse_MinorityStatement{MinorityStatement: &candorv1.MinorityStatement{
		Name: ms.Name, Author: bob, Text: ms.Text, Cosigners: ms.Cosigners, SignedBy: []string{alice}}}
	return []*candorv1.ExportBodyResponse{header, opened, decl, clear, ballot, hidden, result, position, proposed, objection, final, appeal, filed, signed}
}

// wantCSV is every file of the fixture's CSV form, by file: its rows after the header.
var wantCSV = map[string][][]string{
	"export.csv": {{body, "At-Large Advisory Committee", "2026-03-01T10:00:00Z", "", "40", "13", alice, "2026-03-01T10:59:00Z",
		"candor.example/log\n40\nq83v=\n\n— candor.example/log AAAA\n"}},
	"calls.csv": {{"10", "2026-03-01T10:10:00Z", vote, "Budget FY27", "vote", "Adopt the budget,\nas tabled.", "recuse", "yes; no; abstain",
		"Example Registry, Inc.", "2", "two-thirds", "", "2", "no", "", chair}},
	"eligibility.csv": {{"10", vote, alice}, {"10", vote, bob}},
	"declarations.csv": {{"11", "2026-03-01T10:11:00Z", vote, aliceD, alice, "potential", "participate", `'=HYPERLINK("http://evil")`,
		"2", "no", "abcd", "Independent", "", "self", "At-Large; Non-Commercial", "Example Registry Inc. (shareholder); DNS Forum",
		"Advises a registrar.", ""}},
	"clearances.csv": {{"12", "2026-03-01T10:12:00Z", vote, aliceD, alice, "cleared", "Below 1%.", chair}},
	"ballots.csv": {
		{"13", "2026-03-01T10:13:00Z", vote, vote + "/ballots/1", alice, "yes", "no", aliceD, "potential", ""},
		{"14", "2026-03-01T10:14:00Z", vote, bobsVote, bob, "", "yes", "", "", ""},
	},
	"positions.csv": {{"20", "2026-03-01T10:20:00Z", cons, cons + "/positions/1", bob, "support-with-concerns", `'-2% is too much; "phase it".`, "no", "", "", ""}},
	"results.csv": {{"15", "2026-03-01T10:15:00Z", vote, "Budget FY27", "vote", chair, "no-quorum", "", "2", "1", "1", "0", "2", "no",
		"0.3333333333333333", "1", "1", "0", "0", "0"}},
	"result_groups.csv": {{"15", vote, "At-Large", "1", "1", "1", "0", "0"}, {"15", vote, "Registries", "1", "1", "0", "1", "0"}},
	"result_counts.csv": {
		{"15", vote, "call", "", "yes", "1"}, {"15", vote, "call", "", "no", "0"},
		{"15", vote, "group", "At-Large", "yes", "1"},
	},
	"result_participants.csv": {{"15", vote, bob, "recused", "", "", ""}, {"15", vote, alice, "flagged", "yes", "potential", "no"}},
	"designations.csv": {
		{"21", "2026-03-01T10:21:00Z", cons, "proposed", "1", "strong-support-significant-opposition", "Most support it.", chair, "2026-03-01T10:30:00Z"},
		{"23", "2026-03-01T10:23:00Z", cons, "final", "1", "strong-support-significant-opposition", "Most support it.", chair, ""},
	},
	"objections.csv": {{"22", "2026-03-01T10:22:00Z", cons, "1", bob, "I opposed."}},
	"appeals.csv":    {{"24", "2026-03-01T10:24:00Z", cons, bob, "Registries were not heard."}},
	"minority_statements.csv": {
		{"25", "2026-03-01T10:25:00Z", cons, "filed", cons + "/minorityStatements/1", bob, "", "We dissent.\nWe ask for a phased start.", alice, ""},
		{"26", "2026-03-01T10:26:00Z", cons, "signed", cons + "/minorityStatements/1", bob, alice, "We dissent.\nWe ask for a phased start.", alice, alice},
	},
}

func writeAll(t *testing.T, w Writer, recs []*candorv1.ExportBodyResponse) {
	t.Helper()
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// parseCSV reads one CSV file as a spreadsheet would: it must start with the UTF-8 byte order mark,
// use CRLF line ends, and parse as RFC 4180 with every row as wide as the header.
func parseCSV(t *testing.T, name string, data []byte) (header []string, rows [][]string) {
	t.Helper()
	rest, ok := bytes.CutPrefix(data, []byte(bom))
	if !ok {
		t.Errorf("%s does not begin with the UTF-8 byte order mark", name)
	}
	if !bytes.HasSuffix(rest, []byte("\r\n")) {
		t.Errorf("%s does not end its last row with CRLF", name)
	}
	r := csv.NewReader(bytes.NewReader(rest))
	r.FieldsPerRecord = 0 // every row as wide as the first
	all, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(all) == 0 {
		t.Fatalf("%s has no header row", name)
	}
	return all[0], all[1:]
}

// checkFiles checks each CSV file of an export against wantCSV.
func checkFiles(t *testing.T, files map[string][]byte) {
	t.Helper()
	if diff := cmp.Diff(Files(), keys(files)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	for _, name := range Files() {
		header, rows := parseCSV(t, name, files[name])
		if diff := cmp.Diff(Header(name), header); diff != "" {
			t.Errorf("%s header (-want +got):\n%s", name, diff)
		}
		want := wantCSV[name]
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Errorf("%s rows (-want +got):\n%s", name, diff)
		}
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for _, name := range Files() { // in Files' order, then any other
		if _, ok := m[name]; ok {
			out = append(out, name)
		}
	}
	for name := range m {
		if Header(name) == nil {
			out = append(out, name)
		}
	}
	return out
}

// TestCSVFolder writes the fixture into a folder and parses every file back with encoding/csv.
func TestCSVFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "minutes")
	w, err := NewCSVDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, fixture())
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	checkFiles(t, files)
}

// TestCSVZip writes the fixture as a zip and reads every file back out of it; the zip leaves no
// temporary files behind.
func TestCSVZip(t *testing.T) {
	tmp := t.TempDir()
	var buf bytes.Buffer
	w, err := NewCSVZip(&buf, tmp)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, fixture())
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	var order []string
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = b
		order = append(order, f.Name)
		if !f.Modified.Equal(at(59).AsTime().Truncate(2 * time.Second)) {
			t.Errorf("%s modified %v, want the export's time", f.Name, f.Modified)
		}
	}
	if diff := cmp.Diff(Files(), order); diff != "" {
		t.Errorf("zip order (-want +got):\n%s", diff)
	}
	checkFiles(t, files)
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// TestCSVAbort checks that an aborted export leaves nothing: neither the folder it made nor files in
// a folder it was given, nor a zip's temporary folder.
func TestCSVAbort(t *testing.T) {
	made := filepath.Join(t.TempDir(), "new")
	w, err := NewCSVDir(made)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(fixture()[1])
	w.Abort()
	if _, err := os.Stat(made); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the folder the export made: %v, want it removed", err)
	}

	given := t.TempDir()
	w, err = NewCSVDir(given)
	if err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if left, err := os.ReadDir(given); err != nil || len(left) != 0 {
		t.Errorf("the folder given: %v, %v; want it kept, empty", left, err)
	}

	tmp := t.TempDir()
	w, err = NewCSVZip(io.Discard, tmp)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(fixture()[0])
	w.Abort()
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// TestCSVRefusesAFolderInUse checks that an export never mixes its files with others.
func TestCSVRefusesAFolderInUse(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "calls.csv"), []byte("an earlier export"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewCSVDir(dir); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("NewCSVDir on a folder in use: %v, want %v", err, ErrNotEmpty)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "calls.csv")); string(b) != "an earlier export" {
		t.Errorf("the folder's file was changed: %q", b)
	}
}

// TestJSONL checks that each record is one line of compact protojson that says its kind and parses
// back to the record.
func TestJSONL(t *testing.T) {
	var buf bytes.Buffer
	writeAll(t, NewJSONL(&buf), fixture())
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	var got []*candorv1.ExportBodyResponse
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, `{"kind":"EXPORT_RECORD_KIND_`) {
			t.Errorf("line does not open with its kind: %.80s", line)
		}
		rec := new(candorv1.ExportBodyResponse)
		if err := protojson.Unmarshal([]byte(line), rec); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		got = append(got, rec)
	}
	if diff := cmp.Diff(fixture(), got, protocmp.Transform()); diff != "" {
		t.Errorf("records read back (-want +got):\n%s", diff)
	}
	// The bytes are stable: protojson's deliberate spacing is compacted away.
	line, err := MarshalLine(fixture()[4])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"EXPORT_RECORD_KIND_BALLOT","logIndex":"13","entryKind":"ENTRY_KIND_BALLOT","time":"2026-03-01T10:13:00.123456789Z",` +
		`"actor":"` + alice + `","call":"` + vote + `","ballot":{"name":"` + vote + `/ballots/1","participant":"` + alice +
		`","option":"yes","declaration":"` + aliceD + `","conflictLevel":"CONFLICT_LEVEL_POTENTIAL"}}` + "\n"
	if string(line) != want {
		t.Errorf("MarshalLine =\n%s\nwant\n%s", line, want)
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"jsonl", "csv"} {
		if f, err := ParseFormat(s); err != nil || string(f) != s {
			t.Errorf("ParseFormat(%q) = %q, %v", s, f, err)
		}
	}
	for _, s := range []string{"", "CSV", "json", "xlsx"} {
		if _, err := ParseFormat(s); err == nil {
			t.Errorf("ParseFormat(%q) accepted", s)
		}
	}
}
