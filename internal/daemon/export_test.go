package daemon_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/candorhq/candor/internal/export"
	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// get sends GET path with token and returns the answer's status, headers and body.
func get(t *testing.T, base, token, path string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, resp.Header, b
}

// lines splits JSON Lines.
func lines(b []byte) [][]byte {
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

// TestRESTExport reads a body's export over REST three ways: the gateway's stream of the RPC (a
// {"result": record} object a line), ?format=jsonl (one protojson record a line, as candor export
// writes it) and ?format=csv (a zip of CSV files); all three hold the same records, withheld for a
// member as over gRPC. start_time keeps the records from a time on; refusals carry their reasons.
func TestRESTExport(t *testing.T) {
	srv := ts.Start(t, ts.HTTP())
	w := ts.NewWorld(t, srv)
	base := "http://" + srv.HTTPAddr
	call := w.OpenVote(t, nil).Name
	for _, c := range []*ts.Client{w.Alice, w.Bob} {
		w.Declare(t, c, call, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.Intent_INTENT_PARTICIPATE)
		if _, err := ts.Vote(t, c, call, "yes"); err != nil {
			t.Fatal(err)
		}
	}
	path := "/v1/" + w.Body + ":export"

	// The gateway's stream.
	code, hdr, b := get(t, base, w.Alice.Token, path)
	if code != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d %s", path, code, b)
	}
	var streamed []*candorv1.ExportBodyResponse
	for _, l := range lines(b) {
		var msg struct{ Result json.RawMessage }
		if err := json.Unmarshal(l, &msg); err != nil || msg.Result == nil {
			t.Fatalf("line %s: %v, want {\"result\": ...}", l, err)
		}
		rec := new(candorv1.ExportBodyResponse)
		if err := protojson.Unmarshal(msg.Result, rec); err != nil {
			t.Fatalf("result %s: %v", msg.Result, err)
		}
		streamed = append(streamed, rec)
	}
	if len(streamed) != 6 || streamed[0].GetHeader().GetRecords() != 5 {
		t.Fatalf("%d records (header %v), want a header and 5 records: %s", len(streamed), streamed[0], b)
	}

	// JSON Lines: each line a protojson record, the same records.
	code, hdr, b = get(t, base, w.Alice.Token, path+"?format=jsonl")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "application/jsonl") ||
		!strings.Contains(hdr.Get("Content-Disposition"), `filename="candor-export-`) {
		t.Fatalf("?format=jsonl: HTTP %d, headers %v: %s", code, hdr, b)
	}
	var recs []*candorv1.ExportBodyResponse
	for _, l := range lines(b) {
		rec := new(candorv1.ExportBodyResponse)
		if err := protojson.Unmarshal(l, rec); err != nil {
			t.Fatalf("line %s: %v", l, err)
		}
		recs = append(recs, rec)
	}
	ignoreTime := protocmp.IgnoreFields(&candorv1.ExportHeader{}, "export_time")
	if diff := cmp.Diff(streamed, recs, protocmp.Transform(), ignoreTime); diff != "" {
		t.Errorf("?format=jsonl differs from the gateway's stream (-stream +jsonl):\n%s", diff)
	}
	withheld := 0
	for _, rec := range recs {
		if rec.ChoiceWithheld {
			withheld++
			if rec.GetBallot().GetParticipant() != w.Names["bob"] || rec.GetBallot().GetOption() != "" {
				t.Errorf("withheld %v, want bob's ballot without its option", rec)
			}
		}
	}
	if withheld != 1 {
		t.Errorf("%d choices withheld from alice, want bob's", withheld)
	}

	// CSV in a zip.
	code, hdr, b = get(t, base, w.Alice.Token, path+"?format=csv")
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/zip" || !strings.HasSuffix(hdr.Get("Content-Disposition"), `.zip"`) {
		t.Fatalf("?format=csv: HTTP %d, headers %v", code, hdr)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	rows := map[string][][]string{}
	for _, f := range zr.File {
		names = append(names, f.Name)
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		all, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff")))).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		rows[f.Name] = all
	}
	if diff := cmp.Diff(export.Files(), names); diff != "" {
		t.Errorf("zip files (-want +got):\n%s", diff)
	}
	if n := len(rows["ballots.csv"]); n != 3 {
		t.Errorf("ballots.csv has %d rows with its header, want 3", n)
	}
	if n := len(rows["declarations.csv"]); n != 3 {
		t.Errorf("declarations.csv has %d rows with its header, want 3", n)
	}

	// start_time keeps the records from the first ballot on.
	var first *candorv1.ExportBodyResponse
	for _, rec := range recs {
		if first == nil && rec.GetBallot() != nil {
			first = rec
		}
	}
	from := url.QueryEscape(first.Time.AsTime().Format(time.RFC3339Nano))
	_, _, b = get(t, base, w.Auditor.Token, path+"?format=jsonl&start_time="+from)
	want := 1 // the header
	for _, rec := range recs[1:] {
		if rec.LogIndex >= first.LogIndex {
			want++
		}
	}
	if since := lines(b); len(since) != want || want < 3 {
		t.Errorf("from the first ballot: %d lines, want %d:\n%s", len(since), want, b)
	}

	// The RPC's stream refuses an outsider too, with the gateway's error object for a stream.
	if code, _, b := get(t, base, w.Outsider.Token, path); code != http.StatusForbidden || !strings.Contains(string(b), `"NOT_MEMBER"`) {
		t.Errorf("the stream as an outsider: HTTP %d %s, want 403 NOT_MEMBER", code, b)
	}

	// Refusals, as the gateway answers them.
	for _, tc := range []struct {
		name, token, query string
		code               int
		reason, field      string
	}{
		{"no token", "", "?format=csv", 401, "UNAUTHENTICATED", ""},
		{"not a member", w.Outsider.Token, "?format=csv", 403, "NOT_MEMBER", ""},
		{"not a member, JSON Lines", w.Outsider.Token, "?format=jsonl", 403, "NOT_MEMBER", ""},
		{"unknown format", w.Alice.Token, "?format=xlsx", 400, "INVALID_ARGUMENT", "format"},
		{"period ending before it starts", w.Alice.Token, "?format=csv&start_time=2026-03-02T00:00:00Z&end_time=2026-03-01T00:00:00Z", 400, "INVALID_ARGUMENT", "end_time"},
		{"a time that is not one", w.Alice.Token, "?format=jsonl&start_time=yesterday", 400, "MALFORMED_REQUEST", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, b := get(t, base, tc.token, path+tc.query)
			var e restError
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatalf("HTTP %d %s: %v", code, b, err)
			}
			if code != tc.code || e.reason() != tc.reason {
				t.Errorf("HTTP %d reason %q (%s), want %d %s", code, e.reason(), e.Message, tc.code, tc.reason)
			}
			if tc.field != "" && !strings.Contains(strings.Join(e.fields(), ","), tc.field) {
				t.Errorf("field violations %v, want %s", e.fields(), tc.field)
			}
		})
	}
}
