package cli

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/internal/export"
	"github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestExportGolden runs `candor export` against the fake server: JSON Lines on standard output,
// and the summary printed after writing a zip, a folder or a file (-o json: the header).
func TestExportGolden(t *testing.T) {
	addr, fake := startFake(t, nil)
	tests := []struct {
		name  string
		args  []string
		files []string // what --out must hold afterwards, relative to $OUT
	}{
		{"export-jsonl", []string{"export", council}, nil},
		{"export-csv-zip", []string{"export", council, "--format", "csv", "--out", "$OUT/minutes.zip", "--from", "2026-03-01", "--to", "2026-03-01"},
			[]string{"minutes.zip"}},
		{"export-csv-folder", []string{"export", council, "--format", "csv", "--out", "$OUT/minutes", "--from", "2026-03-01T10:00:00Z"},
			[]string{"minutes/" + export.Files()[0], "minutes/calls.csv"}},
		{"export-jsonl-file-json", []string{"export", council, "--out", "$OUT/minutes.jsonl", "-o", "json"}, []string{"minutes.jsonl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			args := []string{"--addr", addr, "--token", "tok", "--config-dir", t.TempDir()}
			for _, a := range tt.args {
				args = append(args, strings.ReplaceAll(a, "$OUT", out))
			}
			r := runCLI(t, nil, "", args...)
			if r.code != ExitOK || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			checkGolden(t, tt.name, strings.ReplaceAll(r.stdout, out, "$OUT"))
			for _, f := range tt.files {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Error(err)
				}
			}
			if left, _ := filepath.Glob(filepath.Join(out, "*.partial")); len(left) > 0 {
				t.Errorf("partial files left: %v", left)
			}
		})
	}
	// --from and --to as report review takes them: a day in the local zone, --to including its day.
	want := &candorv1.ExportBodyRequest{Body: council, StartTime: timestamppb.New(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)),
		EndTime: timestamppb.New(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))}
	var got *candorv1.ExportBodyRequest
	for _, c := range fake.received() {
		if c.method == "ExportBody" && c.req.(*candorv1.ExportBodyRequest).EndTime != nil {
			got = c.req.(*candorv1.ExportBodyRequest)
		}
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("ExportBody request (-want +got):\n%s", diff)
	}
}

// TestExportRefusesBadArguments checks that a bad command line is one sentence, exit 2, and sends
// nothing.
func TestExportRefusesBadArguments(t *testing.T) {
	addr, fake := startFake(t, nil)
	used := t.TempDir()
	if err := os.WriteFile(filepath.Join(used, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"export", council, "--from", "last tuesday"}, `--from must be a date (2026-03-31) or an RFC 3339 time (2026-03-31T17:00:00Z), not "last tuesday"`},
		{[]string{"export", council, "--to", "2026-13-01"}, `--to must be a date`},
		{[]string{"export", council, "--from", "2026-03-02", "--to", "2026-03-01"}, "--from must be before --to"},
		{[]string{"export", council, "--from", "2026-03-01T12:00:00Z", "--to", "2026-03-01T12:00:00Z"}, "--from must be before --to"},
		{[]string{"export", council, "--format", "xlsx"}, `--format must be jsonl or csv, not "xlsx"`},
		{[]string{"export", council, "--format", "csv"}, "give --out FOLDER or --out FILE.zip"},
		{[]string{"export", council, "--out", "minutes.zip"}, "add --format csv"},
		{[]string{"export", council, "--format", "csv", "--out", used}, "is a folder that is not empty"},
		{[]string{"export", "At-Large Advisory Committee"}, "BODY must be a body name"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[2:], " "), func(t *testing.T) {
			before := len(fake.received())
			r := runCLI(t, nil, "", append([]string{"--addr", addr, "--token", "tok", "--config-dir", t.TempDir()}, tt.args...)...)
			if r.code != ExitUsage || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, ExitUsage, tt.want)
			}
			checkOneSentence(t, r.stderr)
			if n := len(fake.received()); n != before {
				t.Errorf("%d requests sent", n-before)
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(used, "notes.txt")); err != nil || string(b) != "mine" {
		t.Errorf("the folder in use was touched: %q, %v", b, err)
	}
}

// TestExportServerRefusal checks that the server's InvalidArgument names the flag, and that a
// refused export leaves no file.
func TestExportServerRefusal(t *testing.T) {
	addr, fake := startFake(t, nil)
	fake.fail["ExportBody"] = withDetails(t, codes.InvalidArgument, "end_time: must be after start_time", info("INVALID_ARGUMENT"),
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "end_time", Description: "must be after start_time"}}}).Err()
	out := t.TempDir()
	for _, dest := range []string{"minutes.zip", "minutes"} {
		r := runCLI(t, nil, "", "--addr", addr, "--token", "tok", "--config-dir", t.TempDir(), "export", council, "--format", "csv", "--out", filepath.Join(out, dest))
		want := "candor: invalid request (INVALID_ARGUMENT): end_time (--to): must be after start_time\n"
		if r.code != ExitUsage || r.stderr != want {
			t.Errorf("exit %d, stderr %q; want %d, %q", r.code, r.stderr, ExitUsage, want)
		}
	}
	if left, _ := os.ReadDir(out); len(left) != 0 {
		t.Errorf("a refused export left %v", left)
	}
}

// exportStub is an AuditServiceClient whose ExportBody sends recs.
type exportStub struct {
	candorv1.AuditServiceClient
	recs []*candorv1.ExportBodyResponse
	err  error // after recs
}

func (s exportStub) ExportBody(context.Context, *candorv1.ExportBodyRequest, ...grpc.CallOption) (grpc.ServerStreamingClient[candorv1.ExportBodyResponse], error) {
	return &exportReplay{recs: s.recs, err: s.err}, nil
}

type exportReplay struct {
	grpc.ServerStreamingClient[candorv1.ExportBodyResponse]
	recs []*candorv1.ExportBodyResponse
	err  error
}

func (r *exportReplay) Recv() (*candorv1.ExportBodyResponse, error) {
	if len(r.recs) == 0 {
		if r.err != nil {
			return nil, r.err
		}
		return nil, io.EOF
	}
	m := r.recs[0]
	r.recs = r.recs[1:]
	return m, nil
}

// TestExportIncomplete checks that an export that ends early, fails mid-stream or begins without
// its header leaves nothing behind, and says why.
func TestExportIncomplete(t *testing.T) {
	recs := exportRecords()
	tests := []struct {
		name string
		stub exportStub
		want string
	}{
		{"fewer records than announced", exportStub{recs: recs[:3]}, "ended after 2 of the 5 records"},
		{"broken mid-stream", exportStub{recs: recs[:3], err: errors.New("connection reset")}, "connection reset"},
		{"no header", exportStub{recs: recs[1:]}, "did not begin with its header"},
		{"nothing", exportStub{}, "without sending anything"},
	}
	for _, tt := range tests {
		for _, dest := range []exportDest{
			{format: export.JSONL, path: "minutes.jsonl"},
			{format: export.CSV, path: "minutes.zip", zip: true},
			{format: export.CSV, path: "minutes", folder: true},
		} {
			t.Run(tt.name+"/"+dest.path, func(t *testing.T) {
				dir := t.TempDir()
				dest.path = filepath.Join(dir, dest.path)
				_, err := runExport(context.Background(), tt.stub, &candorv1.ExportBodyRequest{Body: council}, dest, nil)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("err %v, want %q", err, tt.want)
				}
				if left, _ := os.ReadDir(dir); len(left) != 0 {
					t.Errorf("a failed export left %v", left)
				}
			})
		}
	}
}

// TestExportProgress checks the export's progress bar: on standard error when it is a terminal,
// counting records against the header's total, erased at the end; standard output holds the summary
// alone.
func TestExportProgress(t *testing.T) {
	var stderr bytes.Buffer
	a := &app{stderr: &stderr, terminal: func(w io.Writer) bool { return w == &stderr }, opts: globalOptions{output: outputTable}}
	recs := exportRecords()
	recs[0].GetHeader().Records = exportProgressEvery + 4
	for i := range exportProgressEvery - 1 {
		recs = append(recs, &candorv1.ExportBodyResponse{Kind: candorv1.ExportRecordKind_EXPORT_RECORD_KIND_BALLOT, LogIndex: int64(100 + i), Call: closedCall,
			Record: &candorv1.ExportBodyResponse_Ballot{Ballot: &candorv1.Ballot{Participant: alice}}})
	}
	bar := a.newProgress("exporting", "records")
	dest := exportDest{format: export.JSONL, path: filepath.Join(t.TempDir(), "minutes.jsonl")}
	sum, err := runExport(context.Background(), exportStub{recs: recs}, &candorv1.ExportBodyRequest{Body: council}, dest, bar)
	bar.done()
	if err != nil {
		t.Fatal(err)
	}
	if sum.total != exportProgressEvery+4 {
		t.Errorf("%d records, want %d", sum.total, exportProgressEvery+4)
	}
	got := stderr.String()
	if !strings.Contains(got, "exporting") || !strings.Contains(got, "256/260") || !erased(got[strings.LastIndex(got, "|"):]) {
		t.Errorf("stderr = %q, want a bar at 256/260 records, erased at the end", got)
	}
}

// readZip returns the files of a zip.
func readZip(t *testing.T, path string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string][]byte{}
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
		out[f.Name] = b
	}
	return out
}

// readCSV parses one CSV file of an export into rows keyed by column name.
func readCSV(t *testing.T, data []byte) []map[string]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	all, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, row := range all[1:] {
		m := map[string]string{}
		for i, col := range all[0] {
			m[col] = row[i]
		}
		out = append(out, m)
	}
	return out
}

// readJSONL parses JSON Lines of export records.
func readJSONL(t *testing.T, data string) []*candorv1.ExportBodyResponse {
	t.Helper()
	var out []*candorv1.ExportBodyResponse
	sc := bufio.NewScanner(strings.NewReader(data))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		rec := new(candorv1.ExportBodyResponse)
		if err := protojson.Unmarshal(sc.Bytes(), rec); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		out = append(out, rec)
	}
	return out
}

// TestExportAgainstRealServer exports a body from a real server as its members, an auditor and an
// outsider read it: a member's CSV withholds the others' ballots in an open vote, the auditor's
// JSON Lines holds them, --from keeps the records from a time on, and an outsider is refused.
func TestExportAgainstRealServer(t *testing.T) {
	s := newSession(t)
	p := s.setUp()
	closed := s.jsonName("call", p.chairT, "call", "open", p.body, "--title", "Adopt the budget")
	for _, tok := range []string{p.aliceT, p.bobT} {
		s.ok(tok, "declare", closed, "--conflict", "none")
		s.ok(tok, "vote", closed, "yes")
	}
	s.ok(p.chairT, "call", "close", closed)
	open := s.jsonName("call", p.chairT, "call", "open", p.body, "--title", "Elect a liaison")
	for _, tok := range []string{p.aliceT, p.bobT} {
		s.ok(tok, "declare", open, "--conflict", "none")
		s.ok(tok, "vote", open, "no")
	}

	// The auditor's JSON Lines on standard output: every record, every choice.
	all := readJSONL(t, s.ok(p.auditT, "export", p.body))
	header := all[0].GetHeader()
	if header == nil || header.Records != int64(len(all)-1) || header.Reader != p.auditor {
		t.Fatalf("header %v for %d records", all[0], len(all)-1)
	}
	for _, rec := range all[1:] {
		if rec.ChoiceWithheld || rec.GetBallot() != nil && rec.GetBallot().Option == "" {
			t.Errorf("the auditor's record %d is withheld", rec.LogIndex)
		}
	}

	// Alice's CSV in a zip: the same records, Bob's open ballot without its option.
	zipFile := filepath.Join(t.TempDir(), "minutes.zip")
	sum := s.ok(p.aliceT, "export", p.body, "--format", "csv", "--out", zipFile)
	wantLines(t, "export summary", sum, "Body:", p.body, "Records:", "11 (call 2, declaration 4, ballot 4, result 1)", "Written:", zipFile, "CSV files in a zip")
	files := readZip(t, zipFile)
	ballots := readCSV(t, files["ballots.csv"])
	if len(ballots) != 4 {
		t.Fatalf("ballots.csv has %d rows, want 4", len(ballots))
	}
	for _, b := range ballots {
		mine, inOpen := b["participant"] == p.alice, b["call"] == open
		wantHidden := inOpen && !mine
		if (b["option"] == "") != wantHidden || (b["choice_withheld"] == "yes") != wantHidden {
			t.Errorf("alice's ballots.csv row %v: want the option hidden = %v", b, wantHidden)
		}
	}
	decls := readCSV(t, files["declarations.csv"])
	if len(decls) != 4 || decls[0]["soi_version"] != "1" || decls[0]["soi_employer"] == "" {
		t.Errorf("declarations.csv = %v, want 4 rows with the SOI restated", decls)
	}
	if groups := readCSV(t, files["result_groups.csv"]); len(groups) == 0 {
		t.Error("result_groups.csv has no group breakdown")
	}

	// --from: the records from the second call's opening on.
	var from *candorv1.ExportBodyResponse
	for _, rec := range all[1:] {
		if rec.Call == open && rec.GetOpenedCall() != nil {
			from = rec
		}
	}
	since := readJSONL(t, s.ok(p.auditT, "export", p.body, "--from", from.Time.AsTime().Format(time.RFC3339Nano)))
	var want []int64
	for _, rec := range all[1:] {
		if rec.LogIndex >= from.LogIndex {
			want = append(want, rec.LogIndex)
		}
	}
	var got []int64
	for _, rec := range since[1:] {
		got = append(got, rec.LogIndex)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("--from: log indexes (-want +got):\n%s", diff)
	}

	// Someone who is not a member is refused, as the API refuses them the body's record.
	_, outsiderT := s.participant("Otto Outsider")
	s.refused("NOT_MEMBER", outsiderT, "export", p.body)
	s.refused("NOT_MEMBER", outsiderT, "export", p.body, "--format", "csv", "--out", filepath.Join(t.TempDir(), "x.zip"))
}

// TestBackupProgress checks the backup's progress bar against a real server: the first message
// announces the size, so the bar counts bytes against it from the start, on standard error only.
func TestBackupProgress(t *testing.T) {
	srv := testserver.Start(t)
	testserver.NewWorld(t, srv)
	var stderr bytes.Buffer
	a := &app{stderr: &stderr, terminal: func(w io.Writer) bool { return w == &stderr }, opts: globalOptions{output: outputTable}}
	bar := a.newProgress("backing up", unitBytes)
	cl := &clients{audit: candorv1.NewAuditServiceClient(srv.Conn())}
	last, err := receiveBackup(testserver.WithToken(context.Background(), srv.AdminToken), cl, io.Discard, bar)
	bar.done()
	if err != nil {
		t.Fatal(err)
	}
	got := stderr.String()
	if !strings.Contains(got, "backing up") || !strings.Contains(got, "kB") && !strings.Contains(got, "MB") || !erased(got[strings.LastIndex(got, "|"):]) {
		t.Errorf("stderr = %q, want a bar in bytes, erased at the end (copy of %d bytes)", got, last.SizeBytes)
	}
}
