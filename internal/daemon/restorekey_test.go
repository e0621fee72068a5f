package daemon_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/candorhq/candor/internal/daemon"
)

// TestRefusesDataWithoutLogKey: a data file without the key that signed it (a restore whose
// operator has not put log.key back) is refused before a new key is made, and log.pub is kept.
func TestRefusesDataWithoutLogKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cfg := daemon.Config{DataDir: dir, Listen: "127.0.0.1:0", Origin: "candor.test/log", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	d, err := daemon.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Serve(ctx); err != nil { // stops at once, and closes the store
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join(dir, daemon.LogPubFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, daemon.LogKeyFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := daemon.New(cfg); !errors.Is(err, daemon.ErrLogKeyMissing) {
		t.Fatalf("New on a folder without its log key: %v, want ErrLogKeyMissing", err)
	}
	if _, err := os.Stat(filepath.Join(dir, daemon.LogKeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a new log key was made: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, daemon.LogPubFile)); string(got) != string(pub) {
		t.Errorf("log.pub changed to %q", got)
	}
}
