package store_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/candorhq/candor/internal/store"
)

// TestBackupIsASnapshotWhileWritesGoOn takes a backup while writers append, and checks that the
// copy opens, passes the start-up check, and holds exactly the log of the checkpoint Backup named.
func TestBackupIsASnapshotWhileWritesGoOn(t *testing.T) {
	s, _, n := openTemp(t)
	ctx := context.Background()
	for i := range 50 {
		if _, _, err := addParticipant(ctx, s, "p"); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	before := s.Latest()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := addParticipant(ctx, s, "during"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var buf bytes.Buffer
	snap, err := s.Backup(ctx, &buf, nil)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if snap.Size != int64(buf.Len()) {
		t.Errorf("Snapshot.Size = %d, wrote %d bytes", snap.Size, buf.Len())
	}
	if snap.Checkpoint.Size < before.Size || snap.Checkpoint.Signed == nil {
		t.Fatalf("backup checkpoint of %d entries, want at least the %d committed before it", snap.Checkpoint.Size, before.Size)
	}
	if after := s.Latest(); after.Size <= snap.Checkpoint.Size {
		t.Logf("no write landed after the snapshot (%d entries after, %d in it)", after.Size, snap.Checkpoint.Size)
	}

	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	copied, err := store.Open(path, n, store.Options{})
	if err != nil {
		t.Fatalf("open the copy: %v", err)
	}
	defer copied.Close()
	if got := copied.Latest(); got.Size != snap.Checkpoint.Size || got.Root != snap.Checkpoint.Root || !bytes.Equal(got.Signed, snap.Checkpoint.Signed) {
		t.Errorf("the copy's newest checkpoint is %d entries, root %s; Backup said %d, root %s", got.Size, got.Root, snap.Checkpoint.Size, snap.Checkpoint.Root)
	}
}

func TestBackupStopsWithItsContext(t *testing.T) {
	s, _, _ := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Backup(ctx, &bytes.Buffer{}, nil); err == nil {
		t.Fatal("Backup with a cancelled context succeeded")
	}
}
