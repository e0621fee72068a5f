package offline_test

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/candorhq/candor/internal/offline"
)

// keyFile writes a fresh verifier key and returns its path.
func keyFile(t *testing.T) string {
	t.Helper()
	_, vkey, err := note.GenerateKey(rand.Reader, "candor.test/log")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "log.pub")
	if err := os.WriteFile(path, []byte(vkey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRestoreRefusesNonEmptyFolder(t *testing.T) {
	from := filepath.Join(t.TempDir(), "candor.backup")
	if err := os.WriteFile(from, []byte("not looked at"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kept := filepath.Join(dir, "candor.db")
	if err := os.WriteFile(kept, []byte("the live data"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := offline.RestoreMain(offline.RestoreConfig{From: from, DataDir: dir, KeyFile: keyFile(t)}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "is not empty") || stdout.Len() != 0 {
		t.Fatalf("restore into a non-empty folder: exit %d, stdout %q, stderr %q; want 1 and a sentence saying it is not empty", code, stdout.String(), stderr.String())
	}
	if b, err := os.ReadFile(kept); err != nil || string(b) != "the live data" {
		t.Errorf("the folder's file after a refused restore: %q, %v", b, err)
	}
}

func TestRestoreOfDamagedFileLeavesNothing(t *testing.T) {
	from := filepath.Join(t.TempDir(), "candor.backup")
	if err := os.WriteFile(from, bytes.Repeat([]byte{0xa5}, 1<<16), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "new")
	_, err := offline.Restore(offline.RestoreConfig{From: from, DataDir: dir, KeyFile: keyFile(t)})
	if err == nil {
		t.Fatal("restore of a file that is not a Candor data file succeeded")
	}
	t.Log(err)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the new folder after a failed restore: %v, want it absent", err)
	}
}
