package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/candorhq/candor/internal/daemon"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// corruptUnder flips one byte of every copy of data in a running server's bbolt file, behind its
// back, as a failing disk or a careless operator would: the server reads the file through its map,
// so it sees the change, and refuses to serve the entry (DataLoss, LOG_CORRUPT).
func corruptUnder(t *testing.T, dir string, data []byte) {
	t.Helper()
	path := filepath.Join(dir, daemon.DBFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for off := 0; ; {
		i := bytes.Index(b[off:], data)
		if i < 0 {
			break
		}
		at := int64(off + i + len(data)/2)
		if _, err := f.WriteAt([]byte{b[at] ^ 0x01}, at); err != nil {
			t.Fatal(err)
		}
		n, off = n+1, off+i+len(data)
	}
	if n == 0 {
		t.Fatal("the entry's bytes are not in the file")
	}
}

// newestReceipt returns the path and log index of the receipt with the highest index the session
// saved.
func (s *session) newestReceipt() (string, int64) {
	s.t.Helper()
	dir := filepath.Join(s.cfg, "receipts", originFolder("candor.test/log"))
	files, err := os.ReadDir(dir)
	if err != nil {
		s.t.Fatal(err)
	}
	best, path := int64(-1), ""
	for _, f := range files {
		i, err := strconv.ParseInt(strings.TrimSuffix(f.Name(), ".json"), 10, 64)
		if err == nil && i > best {
			best, path = i, filepath.Join(dir, f.Name())
		}
	}
	if path == "" {
		s.t.Fatalf("no receipts in %s", dir)
	}
	return path, best
}

// TestAuditNamesAlteredEntry alters an entry's stored bytes under a running server (its hash tree
// intact) and checks that `candor audit receipt` (which used to say "still in the log") and
// `candor audit verify` (which used to relay the server's refusal without an index) both fail in
// one sentence naming the entry: for an auditor, and for the participant whose receipt it is, who
// may read back the entries they wrote.
func TestAuditNamesAlteredEntry(t *testing.T) {
	s := newSession(t)
	p := s.setUp()
	key := filepath.Join(s.srv.DataDir, "log.pub")
	receipt, index := s.newestReceipt()
	_, r, err := readReceiptFile(receipt)
	if err != nil {
		t.Fatal(err)
	}
	entry := new(candorv1.LogEntry)
	if err := proto.Unmarshal(r.GetEntry(), entry); err != nil || entry.GetActor() != p.carol {
		t.Fatalf("the newest receipt's entry is by %q (%v), want carol's (%s)", entry.GetActor(), err, p.carol)
	}

	same := fmt.Sprintf("the same as the receipt's: the server serves them at index %d", index)
	wantLines(t, "audit receipt as an auditor", s.ok(p.auditT, "audit", "receipt", receipt, "--key", key),
		"Still in the log:", "yes", "Entry bytes:", same)
	wantLines(t, "audit receipt as the participant who wrote it", s.ok(p.carolT, "audit", "receipt", receipt, "--key", key),
		"Still in the log:", "yes", "Entry bytes:", same)
	wantLines(t, "audit receipt as another participant", s.ok(p.bobT, "audit", "receipt", receipt),
		"Entry bytes:", "not compared: a participant reads only the entries they wrote")

	corruptUnder(t, s.srv.DataDir, r.GetEntry())
	at := fmt.Sprintf("failed verification at entry %d", index) // the newest entry: no longer index starts so
	for _, tt := range []struct {
		what, token string
		args        []string
	}{
		{"receipt", p.auditT, []string{"audit", "receipt", receipt, "--key", key}},
		{"receipt without --key", p.auditT, []string{"audit", "receipt", receipt}},
		{"receipt, by the participant who wrote it", p.carolT, []string{"audit", "receipt", receipt, "--key", key}},
		{"receipt without --key, by the participant who wrote it", p.carolT, []string{"audit", "receipt", receipt}},
		{"log", p.auditT, []string{"audit", "verify", "--key", key}},
		{"log, as JSON, for a UI", p.auditT, []string{"audit", "verify", "--key", key, "-o", "json"}},
	} {
		res := s.run(tt.token, tt.args...)
		if res.code != ExitFailure || !strings.Contains(res.stderr, at) || !strings.Contains(res.stderr, "does not match") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want failure naming entry %d", tt.what, res.code, res.stdout, res.stderr, index)
		}
		checkOneSentence(t, res.stderr)
	}
}
