package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/internal/daemon"
	"github.com/candorhq/candor/internal/store"
	"github.com/candorhq/candor/internal/testserver"
	"github.com/candorhq/candor/internal/translog"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

var backupBenchEntries = flag.Int64("backup-entries", 100_000, "log entries in BenchmarkStreamBackup's store")

// BenchmarkStreamBackup measures the backup as the admin gets it: a real candord on a store of
// -backup-entries ballot-sized entries, the file streamed over gRPC on loopback by StreamBackup
// into FILE.partial (fsynced, SHA-256 checked), against cp of the same file (io.Copy, fsynced) in
// the same run. MB/s is the file's size over the time. The verification that follows the stream
// (candord check's, which replays the rules) is left out: the synthetic entries break the rules.
//
//	go test -run '^$' -bench StreamBackup -benchtime 3x -count 3 ./internal/cli/ -args -backup-entries 1000000
func BenchmarkStreamBackup(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	buildBackupBenchStore(b, dir, *backupBenchEntries)
	srv := testserver.Start(b, testserver.DataDir(dir), testserver.NoMetrics())
	cl := &clients{audit: candorv1.NewAuditServiceClient(srv.Conn())}
	ctx := testserver.WithToken(context.Background(), srv.AdminToken)
	out := filepath.Join(b.TempDir(), "backup.db")
	b.Run("stream", func(b *testing.B) {
		for b.Loop() {
			f, err := os.Create(out)
			if err != nil {
				b.Fatal(err)
			}
			last, err := receiveBackup(ctx, cl, f, nil)
			if err == nil {
				err = f.Sync()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(last.SizeBytes)
		}
	})
	b.Run("cp", func(b *testing.B) {
		for b.Loop() {
			src, err := os.Open(out)
			if err != nil {
				b.Fatal(err)
			}
			f, err := os.Create(out + ".cp")
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(f, src)
			if err == nil {
				err = f.Sync()
			}
			src.Close()
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(n)
		}
	})
}

// buildBackupBenchStore writes n ballot-sized entries into dir's candor.db, signed by a log key in
// dir that candord then adopts.
func buildBackupBenchStore(b *testing.B, dir string, n int64) {
	signer, err := translog.LoadOrCreateKey(dir, "candor.test/log")
	if err != nil {
		b.Fatal(err)
	}
	s, err := store.Open(filepath.Join(dir, daemon.DBFile), benchNotary{signer}, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	start, t0 := time.Now(), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	call := "bodies/0190a1b2-0000-7000-8000-000000000001/calls/0190a1b2-0000-7000-8000-000000000002"
	const batch = 5000
	for next := int64(0); next < n; next += batch {
		_, err := s.Update(context.Background(), func(tx *store.Tx) error {
			for i := next; i < min(next+batch, n); i++ {
				who := fmt.Sprintf("participants/0190a1b2-%04x-7000-8000-%012x", i%4096, i)
				at := timestamppb.New(t0.Add(time.Duration(i) * time.Millisecond))
				if _, _, err := tx.Append(&candorv1.LogEntry{
					Kind: candorv1.EntryKind_ENTRY_KIND_BALLOT, Time: at, Actor: who, Subject: call,
					Payload: &candorv1.LogEntry_Ballot{Ballot: &candorv1.Ballot{
						Name:        fmt.Sprintf("%s/ballots/0190a1b2-0000-7000-8000-%012x", call, i),
						Participant: who, Option: "yes", CreateTime: at,
					}},
				}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, daemon.DBFile))
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("built %d entries in %v: file %.1f MiB", n, time.Since(start).Round(time.Millisecond), float64(fi.Size())/(1<<20))
}

type benchNotary struct{ s *translog.Signer }

func (n benchNotary) Sign(size int64, root tlog.Hash) ([]byte, error) {
	return n.s.Sign(translog.Checkpoint{Origin: n.s.Origin(), Size: size, Hash: root})
}

func (n benchNotary) Open(signed []byte) (int64, tlog.Hash, error) {
	cp, err := translog.OpenCheckpoint(signed, n.s.VerifierKey())
	return cp.Size, cp.Hash, err
}
