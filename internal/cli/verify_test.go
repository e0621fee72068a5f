package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/candorhq/candor/internal/daemon"
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
// one sentence naming the entry.
func TestAuditNamesAlteredEntry(t *testing.T) {
	s := newSession(t)
	p := s.setUp()
	key := filepath.Join(s.srv.DataDir, "log.pub")
	receipt, index := s.newestReceipt()
	_, r, err := readReceiptFile(receipt)
	if err != nil {
		t.Fatal(err)
	}

	wantLines(t, "audit receipt as an auditor", s.ok(p.auditT, "audit", "receipt", receipt, "--key", key),
		"Still in the log:", "yes", "Entry bytes:", fmt.Sprintf("the same as the receipt's: the server serves them at index %d", index))
	wantLines(t, "audit receipt as a participant", s.ok(p.bobT, "audit", "receipt", receipt),
		"Entry bytes:", "not compared: reading entries needs an auditor's")

	corruptUnder(t, s.srv.DataDir, r.GetEntry())
	at := fmt.Sprintf("failed verification at entry %d", index) // the newest entry: no longer index starts so
	for what, args := range map[string][]string{
		"receipt":                {"audit", "receipt", receipt, "--key", key},
		"receipt without --key":  {"audit", "receipt", receipt},
		"log":                    {"audit", "verify", "--key", key},
		"log, as JSON, for a UI": {"audit", "verify", "--key", key, "-o", "json"},
	} {
		res := s.run(p.auditT, args...)
		if res.code != ExitFailure || !strings.Contains(res.stderr, at) || !strings.Contains(res.stderr, "does not match") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want failure naming entry %d", what, res.code, res.stdout, res.stderr, index)
		}
		checkOneSentence(t, res.stderr)
	}
}
