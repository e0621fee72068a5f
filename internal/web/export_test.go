package web_test

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/candorhq/candor/internal/export"
	"github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestExportDownload checks the body page's download: for each reader, the zip holds exactly the
// CSV files candor export writes from what ExportBody shows that reader; an outsider gets the
// server's refusal as a page.
func TestExportDownload(t *testing.T) {
	h := newHarness(t)
	w := h.world
	reportWorld(t, h)
	for _, tc := range []struct {
		who    string
		client *testserver.Client
		token  string
	}{
		{"chair", w.Chair, w.Chair.Token},
		{"alice", w.Alice, w.Alice.Token},
		{"auditor", w.Auditor, w.Auditor.Token},
	} {
		t.Run(tc.who, func(t *testing.T) {
			b := h.signIn(tc.token)
			if body := b.get(path(w.Body)).body; !strings.Contains(body, `href="/`+w.Body+`/export"`) {
				t.Fatal("the body page offers no download of the record")
			}
			p := b.get(path(w.Body) + "/export")
			if p.status != http.StatusOK || p.header.Get("Content-Type") != "application/zip" ||
				!strings.HasPrefix(p.header.Get("Content-Disposition"), "attachment;") {
				t.Fatalf("download: status %d, type %q, disposition %q", p.status, p.header.Get("Content-Type"), p.header.Get("Content-Disposition"))
			}
			got := unzip(t, []byte(p.body))
			stream, err := tc.client.Audit.ExportBody(tc.client.Ctx(t), &candorv1.ExportBodyRequest{Body: w.Body})
			if err != nil {
				t.Fatal(err)
			}
			first, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			want, err := export.ZipTemp(first, stream.Recv)
			if err != nil {
				t.Fatal(err)
			}
			defer want.Close()
			wantBytes, _ := io.ReadAll(want)
			wantFiles := unzip(t, wantBytes)
			if len(got) != len(wantFiles) || len(got) == 0 {
				t.Fatalf("the zip holds %d files, want %d", len(got), len(wantFiles))
			}
			// The header row says when each export was made: the two reads may straddle a second.
			got["export.csv"], wantFiles["export.csv"] = withoutExportTime(t, got["export.csv"]), withoutExportTime(t, wantFiles["export.csv"])
			for name, content := range wantFiles {
				if got[name] != content {
					t.Errorf("%s differs from what ExportBody shows %s:\n%s\nwant:\n%s", name, tc.who, got[name], content)
				}
			}
			if !strings.Contains(got["ballots.csv"], "\r\n") {
				t.Errorf("ballots.csv has no records: %q", got["ballots.csv"])
			}
		})
	}
	t.Run("outsider", func(t *testing.T) {
		p := h.signIn(w.Outsider.Token).get(path(w.Body) + "/export")
		if p.status != http.StatusForbidden || p.header.Get("Content-Type") == "application/zip" {
			t.Fatalf("download as an outsider: status %d, type %q", p.status, p.header.Get("Content-Type"))
		}
		stream, err := w.Outsider.Audit.ExportBody(w.Outsider.Ctx(t), &candorv1.ExportBodyRequest{Body: w.Body})
		if err == nil {
			_, err = stream.Recv()
		}
		if want := serverSentence(t, err); !strings.Contains(p.body, want) {
			t.Errorf("the page lacks the server's sentence %q", want)
		}
	})
}

// withoutExportTime returns export.csv with its export_time column emptied.
func withoutExportTime(t *testing.T, file string) string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(file, "\ufeff"))).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("export.csv: %d rows, %v", len(rows), err)
	}
	col := slices.Index(rows[0], "export_time")
	if col < 0 {
		t.Fatalf("export.csv has no export_time column: %v", rows[0])
	}
	for _, row := range rows[1:] {
		row[col] = ""
	}
	var b strings.Builder
	csv.NewWriter(&b).WriteAll(rows)
	return b.String()
}

// unzip returns the files of a zip by name.
func unzip(t *testing.T, b []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	files := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		files[f.Name] = string(data)
	}
	return files
}
