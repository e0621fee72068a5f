package store_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/internal/store"
	"github.com/candorhq/candor/internal/translog"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// Large-log benchmarks (issue 5, item 6). Each size builds one store (ballot-sized entries, appended
// largeLogBatch to a transaction), then measures:
//
//   - open: store.Open on the existing file, which checks the stored tree against the newest
//     checkpoint and every entry against its stored leaf hash (issue 9), then Close. ns/op is the
//     start-up time; rss-KiB is the growth of the process's
//     VmRSS across Open (anonymous and file-backed pages: the map of the file counts as it is
//     touched), heap-KiB the growth of the Go heap's live bytes after a GC (runtime/metrics).
//   - proof: one inclusion proof of a random entry in the full tree, in its own read transaction,
//     as a receipt or GetInclusionProof does. p50-ns and p99-ns are the median and 99th percentile
//     of the latencies of every proof the benchmark ran.
//   - verify: every entry streamed out of the store (largeLogPage per read transaction, as
//     ListEntries pages) through translog.RootBuilder, and the root compared with the newest
//     checkpoint's. entries/s is the throughput.
//
// Targets: proof p99 < 1 ms, verify >= 200k entries/s, open < 2 s at 1M entries (it reads and
// hashes every entry), memory flat from 10k to 1M.
//
//   - backup: Store.Backup (bbolt's Tx.WriteTo in one read transaction) of the open store into a
//     file, fsynced; MB/s is the file's size over the time.
//   - cp: the same file copied as cp does (io.Copy from file to file, which uses copy_file_range on
//     Linux), fsynced: the disk's speed to compare backup with. The issue asks backup ~ cp.
//
// Run with: go test -run '^$' -bench LargeLog -v ./internal/store/ (-v shows the build; the 1M build
// takes a minute or two; -bench 'LargeLog/entries=10k' for the small one alone, -bench
// 'LargeLog/entries=1M/open' for the start-up time alone).
func BenchmarkLargeLog(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int64
	}{{"10k", 10_000}, {"1M", 1_000_000}} {
		b.Run("entries="+size.name, func(b *testing.B) {
			// With sub-benchmarks, this function runs once: the store is built once per size.
			path, n := buildLargeLog(b, size.n)
			b.Run("open", func(b *testing.B) { benchOpen(b, path, n) })
			b.Run("proof", func(b *testing.B) { benchProof(b, path, n, size.n) })
			b.Run("verify", func(b *testing.B) { benchVerify(b, path, n, size.n) })
			b.Run("backup", func(b *testing.B) { benchBackup(b, path, n) })
			b.Run("cp", func(b *testing.B) { benchCopy(b, path) })
		})
	}
}

const (
	largeLogBatch = 10_000 // entries appended per transaction while building
	largeLogPage  = 1_000  // entries read per transaction while verifying (ListEntries' page)
)

// largeLogNotary signs checkpoints with a real log key.
type largeLogNotary struct{ s *translog.Signer }

func (n largeLogNotary) Sign(size int64, root tlog.Hash) ([]byte, error) {
	return n.s.Sign(translog.Checkpoint{Origin: n.s.Origin(), Size: size, Hash: root})
}

func (n largeLogNotary) Open(signed []byte) (int64, tlog.Hash, error) {
	cp, err := translog.OpenCheckpoint(signed, n.s.VerifierKey())
	return cp.Size, cp.Hash, err
}

// buildLargeLog builds a store of n ballot entries in a temp folder and returns its path.
func buildLargeLog(b *testing.B, n int64) (string, largeLogNotary) {
	b.Helper()
	dir := b.TempDir()
	signer, err := translog.LoadOrCreateKey(dir, "candor.test/largelog")
	if err != nil {
		b.Fatal(err)
	}
	notary := largeLogNotary{signer}
	path := filepath.Join(dir, "candor.db")
	s, err := store.Open(path, notary, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	call := "bodies/0190a1b2-0000-7000-8000-000000000001/calls/0190a1b2-0000-7000-8000-000000000002"
	for next := int64(0); next < n; {
		end := min(next+largeLogBatch, n)
		_, err := s.Update(context.Background(), func(tx *store.Tx) error {
			for i := next; i < end; i++ {
				who := fmt.Sprintf("participants/0190a1b2-%04x-7000-8000-%012x", i%4096, i)
				at := timestamppb.New(t0.Add(time.Duration(i) * time.Millisecond))
				if _, _, err := tx.Append(&candorv1.LogEntry{
					Kind: candorv1.EntryKind_ENTRY_KIND_BALLOT, Time: at, Actor: who, Subject: call,
					Payload: &candorv1.LogEntry_Ballot{Ballot: &candorv1.Ballot{
						Name:        fmt.Sprintf("%s/ballots/0190a1b2-0000-7000-8000-%012x", call, i),
						Participant: who, Option: "yes", CreateTime: at,
						Declaration:   fmt.Sprintf("%s/declarations/0190a1b2-0000-7000-8000-%012x", call, i),
						ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_NONE,
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
		next = end
	}
	if got := s.Latest().Size; got != n {
		b.Fatalf("built %d entries, want %d", got, n)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("built %d entries in %v: file %.1f MiB", n, time.Since(start).Round(time.Millisecond), float64(fi.Size())/(1<<20))
	return path, notary
}

func benchOpen(b *testing.B, path string, n largeLogNotary) {
	var rss, heap int64
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		rss0, heap0 := vmRSS(b), liveHeap()
		b.StartTimer()
		s, err := store.Open(path, n, store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		rss, heap = max(rss, vmRSS(b)-rss0), max(heap, liveHeap()-heap0)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(rss)/1024, "rss-KiB")
	b.ReportMetric(float64(heap)/1024, "heap-KiB")
}

func benchProof(b *testing.B, path string, n largeLogNotary, size int64) {
	s, err := store.Open(path, n, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	cp := s.Latest()
	tcp := translog.Checkpoint{Origin: "candor.test/largelog", Size: cp.Size, Hash: cp.Root}
	r := rand.New(rand.NewPCG(1, uint64(size)))
	lat := make([]time.Duration, 0, 1<<16)
	// One proof checked first: the latencies must be of proofs that verify.
	if err := s.View(func(tx *store.ReadTx) error {
		i := size / 3
		p, err := tx.InclusionProof(i, cp.Size)
		if err != nil {
			return err
		}
		e, err := tx.Entry(i)
		if err != nil {
			return err
		}
		return translog.VerifyInclusion(i, e, translog.HashesToBytes(p), tcp)
	}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		i := r.Int64N(size)
		start := time.Now()
		err := s.View(func(tx *store.ReadTx) error {
			_, err := tx.InclusionProof(i, cp.Size)
			return err
		})
		if len(lat) < 1<<22 {
			lat = append(lat, time.Since(start))
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2]), "p50-ns")
	b.ReportMetric(float64(lat[(len(lat)*99)/100]), "p99-ns")
}

func benchVerify(b *testing.B, path string, n largeLogNotary, size int64) {
	s, err := store.Open(path, n, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	cp := s.Latest()
	for b.Loop() {
		rb := translog.NewRootBuilder()
		for rb.Size() < cp.Size {
			if err := s.View(func(tx *store.ReadTx) error {
				return tx.Entries(rb.Size(), largeLogPage, func(_ int64, data []byte) error { return rb.Append(data) })
			}); err != nil {
				b.Fatal(err)
			}
		}
		root, err := rb.Root()
		if err != nil {
			b.Fatal(err)
		}
		if root != cp.Root || rb.Size() != size {
			b.Fatalf("rebuilt %d entries to a root that is not the checkpoint's", rb.Size())
		}
	}
	b.ReportMetric(float64(size)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// vmRSS returns the process's resident memory (VmRSS) in bytes.
func vmRSS(b *testing.B) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// liveHeap returns the Go heap's live bytes as of the last GC.
func liveHeap() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

func benchBackup(b *testing.B, path string, n largeLogNotary) {
	s, err := store.Open(path, n, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	dst := filepath.Join(b.TempDir(), "backup.db")
	for b.Loop() {
		f, err := os.Create(dst)
		if err != nil {
			b.Fatal(err)
		}
		snap, err := s.Backup(context.Background(), f, nil)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(snap.Size)
	}
}

func benchCopy(b *testing.B, path string) {
	dst := filepath.Join(b.TempDir(), "copy.db")
	for b.Loop() {
		src, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		f, err := os.Create(dst)
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
}
