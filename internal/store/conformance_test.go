package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/candorhq/candor/internal/etcdtest"
	"github.com/candorhq/candor/internal/store"
	"github.com/candorhq/candor/internal/translog"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// The conformance suite: every backend keeps the store's promises, whatever moves its bytes. Service,
// domain and verify rely on these and nothing else.

// backendUnderTest opens fresh, empty stores on one backend.
type backendUnderTest struct {
	name string
	// open returns a new empty store, a function that closes it and opens it again on the same
	// data, and its notary. Stores are closed at the end of the test.
	open func(t *testing.T) (s *store.Store, reopen func() *store.Store, n notary)
}

var conformance = []struct {
	name string
	fn   func(*testing.T, backendUnderTest)
}{
	{"ReopenKeepsEverything", conformReopenKeepsEverything},
	{"RefusalInGroupLeavesOthers", conformRefusalInGroupLeavesOthers},
	{"ConcurrentWritesShareCommits", conformConcurrentWritesShareCommits},
	{"ProofsVerifyAgainstCheckpoints", conformProofsVerifyAgainstCheckpoints},
	{"UpdateAfterClose", conformUpdateAfterClose},
	{"WriteReadsItsOwnWrites", conformWriteReadsItsOwnWrites},
	{"CheckpointsOnlyGrow", conformCheckpointsOnlyGrow},
}

func TestConformance(t *testing.T) {
	t.Run("bbolt", func(t *testing.T) {
		b := backendUnderTest{name: "bbolt", open: openBolt}
		for _, c := range conformance {
			t.Run(c.name, func(t *testing.T) { c.fn(t, b) })
		}
	})
	t.Run("etcd", func(t *testing.T) {
		cluster := etcdtest.Start(t, 1, etcdtest.Options{MaxTxnOps: 4096})
		cli := cluster.Client(t)
		var n atomic.Int64
		b := backendUnderTest{name: "etcd", open: func(t *testing.T) (*store.Store, func() *store.Store, notary) {
			prefix := fmt.Sprintf("/conformance/%d/", n.Add(1))
			return openEtcd(t, cli, prefix, store.EtcdLimits{MaxTxnOps: 4096})
		}}
		for _, c := range conformance {
			t.Run(c.name, func(t *testing.T) { c.fn(t, b) })
		}
		t.Run("BatchesSplitAtTheTxnLimit", func(t *testing.T) { etcdBatchesSplit(t, cli) })
		t.Run("OneSequencer", func(t *testing.T) { etcdOneSequencer(t, cli) })
		t.Run("DeposedSequencerCannotCommit", func(t *testing.T) { etcdDeposedSequencer(t, cli) })
		t.Run("ChangedUnderTheCacheFailsTheBatch", func(t *testing.T) { etcdChangedUnderTheCache(t, cli) })
	})
}

func openBolt(t *testing.T) (*store.Store, func() *store.Store, notary) {
	dir := t.TempDir()
	n := newNotary(t, dir)
	path := filepath.Join(dir, "candor.db")
	open := func() *store.Store {
		s, err := store.Open(path, n, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	s := open()
	return s, func() *store.Store { s.Close(); s = open(); return s }, n
}

// openEtcd opens a store under prefix and waits until it sequences the log.
func openEtcd(t *testing.T, cli *clientv3.Client, prefix string, limits store.EtcdLimits) (*store.Store, func() *store.Store, notary) {
	n := newNotary(t, t.TempDir())
	open := func() *store.Store {
		s, err := store.OpenEtcd(cli, n, store.EtcdOptions{Prefix: prefix, Limits: limits, Advertise: "test", LeaseTTL: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		waitSequencer(t, s)
		return s
	}
	s := open()
	return s, func() *store.Store { s.Close(); s = open(); return s }, n
}

func waitSequencer(t *testing.T, s *store.Store) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if leading, _ := s.Sequencer(); leading {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the store never became the sequencer")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func conformReopenKeepsEverything(t *testing.T, b backendUnderTest) {
	ctx := context.Background()
	s, reopen, _ := b.open(t)
	var ids []uuid.UUID
	for i := range 5 {
		id, _, err := addParticipant(ctx, s, fmt.Sprint("p", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	var before []*candorv1.Participant
	var entries [][]byte
	s.View(func(tx *store.ReadTx) error {
		before, _ = tx.ListParticipants(uuid.Nil, 0)
		return tx.Entries(0, 100, func(_ int64, d []byte) error { entries = append(entries, d); return nil })
	})
	cp := s.Latest()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := reopen()
	var after []*candorv1.Participant
	var entries2 [][]byte
	s2.View(func(tx *store.ReadTx) error {
		after, _ = tx.ListParticipants(uuid.Nil, 0)
		return tx.Entries(0, 100, func(_ int64, d []byte) error { entries2 = append(entries2, d); return nil })
	})
	if diff := cmp.Diff(before, after, protocmp.Transform()); diff != "" {
		t.Errorf("participants changed across reopen (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(entries, entries2); diff != "" {
		t.Errorf("log changed across reopen:\n%s", diff)
	}
	if got := s2.Latest(); got.Size != 5 || got.Root != cp.Root || string(got.Signed) != string(cp.Signed) {
		t.Errorf("checkpoint after reopen = size %d root %v, want size 5 root %v", got.Size, got.Root, cp.Root)
	}
	if len(after) != len(ids) || after[0].DisplayName != "p0" {
		t.Errorf("listing order after reopen: %v", after)
	}
}

func conformRefusalInGroupLeavesOthers(t *testing.T, b backendUnderTest) {
	ctx := context.Background()
	s, _, _ := b.open(t)
	refuse := errors.New("refused before writing")
	poison := errors.New("failed after writing")
	var wg sync.WaitGroup
	errs := make([]error, 60)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch i % 3 {
			case 0:
				_, _, errs[i] = addParticipant(ctx, s, "ok")
			case 1:
				_, errs[i] = s.Update(ctx, func(tx *store.Tx) error { return refuse })
			case 2:
				_, errs[i] = s.Update(ctx, func(tx *store.Tx) error {
					tx.Append(&candorv1.LogEntry{Kind: candorv1.EntryKind_ENTRY_KIND_BODY_CREATED})
					return poison
				})
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		want := []error{nil, refuse, poison}[i%3]
		if !errors.Is(err, want) {
			t.Errorf("write %d: got %v, want %v", i, err, want)
		}
	}
	var n int
	var kinds []candorv1.EntryKind
	s.View(func(tx *store.ReadTx) error {
		ps, err := tx.ListParticipants(uuid.Nil, 0)
		n = len(ps)
		tx.Entries(0, 1000, func(_ int64, d []byte) error {
			var e candorv1.LogEntry
			if err := protoUnmarshal(d, &e); err != nil {
				return err
			}
			kinds = append(kinds, e.Kind)
			return nil
		})
		return err
	})
	if n != 20 || len(kinds) != 20 {
		t.Errorf("got %d participants and %d entries, want 20 and 20", n, len(kinds))
	}
	for i, k := range kinds {
		if k != candorv1.EntryKind_ENTRY_KIND_PARTICIPANT_ADDED {
			t.Errorf("entry %d is %v: a failed write's entry was committed", i, k)
		}
	}
	if got := s.Latest().Size; got != 20 {
		t.Errorf("checkpoint size = %d, want 20", got)
	}
}

func conformConcurrentWritesShareCommits(t *testing.T, b backendUnderTest) {
	ctx := context.Background()
	s, _, _ := b.open(t)
	const writers, each = 32, 20
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				_, c, err := addParticipant(ctx, s, "x")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, i := range c.Indexes {
					if seen[i] {
						t.Errorf("index %d handed out twice", i)
					}
					seen[i] = true
				}
				mu.Unlock()
				if c.Checkpoint.Size <= c.Indexes[0] {
					t.Errorf("checkpoint size %d does not cover index %d", c.Checkpoint.Size, c.Indexes[0])
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != writers*each || s.Latest().Size != writers*each {
		t.Errorf("got %d indexes, size %d; want %d", len(seen), s.Latest().Size, writers*each)
	}
}

func conformProofsVerifyAgainstCheckpoints(t *testing.T, b backendUnderTest) {
	ctx := context.Background()
	s, _, n := b.open(t)
	var commits []store.Commit
	for i := range 40 {
		_, c, err := addParticipant(ctx, s, fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		commits = append(commits, c)
	}
	for _, c := range commits {
		cp, err := translog.OpenCheckpoint(c.Checkpoint.Signed, n.s.VerifierKey())
		if err != nil {
			t.Fatal(err)
		}
		idx := c.Indexes[0]
		s.View(func(tx *store.ReadTx) error {
			data, err := tx.Entry(idx)
			if err != nil {
				t.Fatal(err)
			}
			proof, err := tx.InclusionProof(idx, cp.Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := translog.VerifyInclusion(idx, data, translog.HashesToBytes(proof), cp); err != nil {
				t.Errorf("entry %d in tree %d: %v", idx, cp.Size, err)
			}
			latest, _ := translog.OpenCheckpoint(s.Latest().Signed, n.s.VerifierKey())
			cons, err := tx.ConsistencyProof(cp.Size, latest.Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := translog.VerifyConsistency(cp, latest, translog.HashesToBytes(cons)); err != nil {
				t.Errorf("consistency %d -> %d: %v", cp.Size, latest.Size, err)
			}
			return nil
		})
	}
	s.View(func(tx *store.ReadTx) error {
		if _, err := tx.InclusionProof(40, 40); !errors.Is(err, store.ErrBadRange) {
			t.Errorf("proof past the tree: got %v, want ErrBadRange", err)
		}
		if _, err := tx.ConsistencyProof(41, 40); !errors.Is(err, store.ErrBadRange) {
			t.Errorf("consistency past the tree: got %v, want ErrBadRange", err)
		}
		return nil
	})
}

func conformUpdateAfterClose(t *testing.T, b backendUnderTest) {
	s, _, _ := b.open(t)
	s.Close()
	if _, _, err := addParticipant(context.Background(), s, "late"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("write after Close: got %v, want ErrClosed", err)
	}
}

// A write's reads see its own writes and those of earlier writes in its batch: lists merge the
// pending writes with what is stored, and a deleted key is gone.
func conformWriteReadsItsOwnWrites(t *testing.T, b backendUnderTest) {
	ctx := context.Background()
	s, _, _ := b.open(t)
	p1, _, err := addParticipant(ctx, s, "one")
	if err != nil {
		t.Fatal(err)
	}
	call := uuid.Must(uuid.NewV7())
	_, err = s.Update(ctx, func(tx *store.Tx) error {
		if err := tx.PutToken([]byte("hash-one"), p1); err != nil {
			return err
		}
		// An empty value (the eligibility index's) is present, not absent.
		body := uuid.Must(uuid.NewV7())
		if err := tx.PutCall(body, call, &candorv1.Call{EligibleParticipants: []string{"participants/" + p1.String()}}); err != nil {
			return err
		}
		if !tx.IsEligible(call, p1) {
			t.Error("IsEligible inside the write that indexed it: false")
		}
		for i := range 3 {
			if err := tx.PutBallot(call, uuid.Must(uuid.NewV7()), &candorv1.Ballot{Option: fmt.Sprint(i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	_, err = s.Update(ctx, func(tx *store.Tx) error {
		seen = seen[:0]
		p2 := uuid.Must(uuid.NewV7())
		if err := tx.PutBallot(call, p2, &candorv1.Ballot{Option: "new"}); err != nil {
			return err
		}
		ballots, err := tx.Ballots(call)
		if err != nil {
			return err
		}
		for _, b := range ballots {
			seen = append(seen, b.GetOption())
		}
		if err := tx.DeleteTokens(p1); err != nil {
			return err
		}
		if _, err := tx.ParticipantByToken([]byte("hash-one")); !errors.Is(err, store.ErrTokenNotFound) {
			t.Errorf("token after DeleteTokens in the same write: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"0", "1", "2", "new"}, seen); diff != "" {
		t.Errorf("ballots seen inside the write (-want +got):\n%s", diff)
	}
	s.View(func(tx *store.ReadTx) error {
		if _, err := tx.ParticipantByToken([]byte("hash-one")); !errors.Is(err, store.ErrTokenNotFound) {
			t.Errorf("token after commit: %v", err)
		}
		if !tx.IsEligible(call, p1) {
			t.Error("IsEligible after commit: false")
		}
		return nil
	})
}

// Each batch that grows the log stores a checkpoint for its size; sizes only grow, and the stored
// log checks against the newest.
func conformCheckpointsOnlyGrow(t *testing.T, b backendUnderTest) {
	ctx := context.Background()
	s, _, n := b.open(t)
	var last int64
	for i := range 10 {
		_, c, err := addParticipant(ctx, s, fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		if c.Checkpoint.Size <= last {
			t.Errorf("checkpoint size %d after %d", c.Checkpoint.Size, last)
		}
		last = c.Checkpoint.Size
	}
	err := s.View(func(tx *store.ReadTx) error {
		cp, err := tx.CheckLog(n)
		if err != nil {
			return err
		}
		if cp.Size != last {
			t.Errorf("CheckLog size %d, want %d", cp.Size, last)
		}
		var sizes []int64
		for at := int64(0); ; {
			next, _, ok, err := tx.CheckpointAfter(at)
			if err != nil || !ok {
				break
			}
			sizes = append(sizes, next)
			at = next
		}
		if len(sizes) != 10 || sizes[9] != last {
			t.Errorf("stored checkpoints at sizes %v", sizes)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// etcdBatchesSplit: a burst of writes with more operations than one etcd transaction may carry
// commits in several, and a write that alone is too large is refused.
func etcdBatchesSplit(t *testing.T, cli *clientv3.Client) {
	ctx := context.Background()
	s, _, _ := openEtcd(t, cli, "/split/", store.EtcdLimits{MaxTxnOps: 24})
	var wg sync.WaitGroup
	errs := make([]error, 40)
	sizes := make([]int64, 40)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, c, err := addParticipant(ctx, s, fmt.Sprint(i))
			errs[i], sizes[i] = err, c.Checkpoint.Size
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	if got := s.Latest().Size; got != 40 {
		t.Errorf("log size %d, want 40", got)
	}
	_, err := s.Update(ctx, func(tx *store.Tx) error {
		for range 30 {
			if err := tx.PutToken([]byte(uuid.NewString()), uuid.New()); err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, store.ErrWriteTooLarge) {
		t.Errorf("a write of 30 keys under a limit of 24: got %v, want ErrWriteTooLarge", err)
	}

	// A scan adds no compares: revoking one participant's token scans every token, more keys than
	// one transaction may compare, and still commits.
	revoked := uuid.New()
	for i := range 4 {
		if _, err := s.Update(ctx, func(tx *store.Tx) error {
			for j := range 10 {
				if err := tx.PutToken([]byte(fmt.Sprint("token", i, j)), uuid.New()); err != nil {
					return err
				}
			}
			return tx.PutToken([]byte(fmt.Sprint("revoked", i)), revoked)
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Update(ctx, func(tx *store.Tx) error { return tx.DeleteTokens(revoked) }); err != nil {
		t.Fatalf("revoking a token among 44 under a limit of 24: %v", err)
	}
	s.View(func(tx *store.ReadTx) error {
		if _, err := tx.ParticipantByToken([]byte("revoked0")); !errors.Is(err, store.ErrTokenNotFound) {
			t.Errorf("a revoked token still authenticates: %v", err)
		}
		return nil
	})
}

// openReplica opens one replica of the store under prefix, advertising addr, with a short lease.
// It is closed at the end of the test.
func openReplica(t *testing.T, cli *clientv3.Client, n notary, prefix, addr string) *store.Store {
	s, err := store.OpenEtcd(cli, n, store.EtcdOptions{Prefix: prefix, Advertise: addr, LeaseTTL: time.Second,
		Limits: store.EtcdLimits{MaxTxnOps: 4096}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// etcdOneSequencer: of two replicas on one prefix, one sequences and the other's writes are
// refused; when the sequencer closes, the other takes over and continues the same log, and a
// deposed sequencer's batch cannot commit.
func etcdOneSequencer(t *testing.T, cli *clientv3.Client) {
	ctx := context.Background()
	n := newNotary(t, t.TempDir())
	a := openReplica(t, cli, n, "/pair/", "a")
	waitSequencer(t, a)
	b := openReplica(t, cli, n, "/pair/", "b")
	if _, _, err := addParticipant(ctx, a, "via a"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := addParticipant(ctx, b, "via b"); !errors.Is(err, store.ErrNotSequencer) {
		t.Errorf("write on the other replica: got %v, want ErrNotSequencer", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, addr := b.Sequencer(); addr == "a" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("replica b never learned that a sequences")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for b.Latest().Size != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // b follows a's commits through its watch
	}
	if got := b.Latest().Size; got != 1 {
		t.Errorf("replica b's newest checkpoint has size %d, want 1", got)
	}
	a.Close()
	waitSequencer(t, b)
	if _, c, err := addParticipant(ctx, b, "via b"); err != nil || c.Checkpoint.Size != 2 {
		t.Errorf("write on the new sequencer: size %d, %v; want size 2", c.Checkpoint.Size, err)
	}
	var names []string
	b.View(func(tx *store.ReadTx) error {
		ps, _ := tx.ListParticipants(uuid.Nil, 0)
		for _, p := range ps {
			names = append(names, p.DisplayName)
		}
		_, err := tx.CheckLog(n)
		if err != nil {
			t.Errorf("CheckLog after the handover: %v", err)
		}
		return nil
	})
	if diff := cmp.Diff([]string{"via a", "via b"}, names); diff != "" {
		t.Errorf("participants (-want +got):\n%s", diff)
	}
}

// etcdDeposedSequencer: a sequencer whose election key vanished without its noticing (its lease
// expired while it was frozen, say) cannot commit: its batch fails the fence, it steps down, and the
// replica that won meanwhile continues the one log.
func etcdDeposedSequencer(t *testing.T, cli *clientv3.Client) {
	ctx := context.Background()
	n := newNotary(t, t.TempDir())
	a := openReplica(t, cli, n, "/deposed/", "a")
	waitSequencer(t, a)
	if _, _, err := addParticipant(ctx, a, "one"); err != nil {
		t.Fatal(err)
	}
	// Delete a's election key behind its back, then open b: b wins, while a still believes it
	// leads. (b opens after the delete, so that its own key cannot be deleted with a's.)
	if _, err := cli.Delete(ctx, "/deposed/sequencer/", clientv3.WithPrefix()); err != nil {
		t.Fatal(err)
	}
	b := openReplica(t, cli, n, "/deposed/", "b")
	waitSequencer(t, b)
	if _, _, err := addParticipant(ctx, a, "from the deposed"); !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotSequencer) {
		t.Fatalf("write on the deposed sequencer: got %v, want ErrConflict or ErrNotSequencer", err)
	}
	if leading, _ := a.Sequencer(); leading {
		t.Error("the deposed sequencer still believes it leads after its batch failed")
	}
	if _, c, err := addParticipant(ctx, b, "two"); err != nil || c.Checkpoint.Size != 2 {
		t.Fatalf("write on the new sequencer: size %d, %v; want 2", c.Checkpoint.Size, err)
	}
	b.View(func(tx *store.ReadTx) error {
		if _, err := tx.CheckLog(n); err != nil {
			t.Errorf("CheckLog: %v", err)
		}
		ps, _ := tx.ListParticipants(uuid.Nil, 0)
		if len(ps) != 2 {
			t.Errorf("%d participants, want 2: the deposed write must not land", len(ps))
		}
		return nil
	})
}

// etcdChangedUnderTheCache: the sequencer remembers the records its batches read and wrote, but a
// record changed in etcd by anything else is never decided on: the batch that read the remembered
// value fails its compare, and the next one reads the new value.
func etcdChangedUnderTheCache(t *testing.T, cli *clientv3.Client) {
	ctx := context.Background()
	s, _, _ := openEtcd(t, cli, "/cache/", store.EtcdLimits{MaxTxnOps: 4096})
	p, _, err := addParticipant(ctx, s, "before")
	if err != nil {
		t.Fatal(err)
	}
	rename := func(tx *store.Tx) (string, error) {
		m, err := tx.Participant(p)
		if err != nil {
			return "", err
		}
		seen := m.DisplayName
		m.DisplayName += "+"
		return seen, tx.PutParticipant(p, m)
	}
	var seen string
	if _, err := s.Update(ctx, func(tx *store.Tx) (err error) { seen, err = rename(tx); return err }); err != nil || seen != "before" {
		t.Fatalf("first rename saw %q, %v", seen, err)
	}
	changed, _ := proto.Marshal(&candorv1.Participant{Name: "participants/" + p.String(), DisplayName: "changed elsewhere"})
	if _, err := cli.Put(ctx, "/cache/participants/"+string(p[:]), string(changed)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, func(tx *store.Tx) (err error) { seen, err = rename(tx); return err }); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a batch that read a record changed in etcd: got %v (it saw %q), want ErrConflict", err, seen)
	}
	if _, err := s.Update(ctx, func(tx *store.Tx) (err error) { seen, err = rename(tx); return err }); err != nil || seen != "changed elsewhere" {
		t.Fatalf("the next batch saw %q, %v; want the value changed in etcd", seen, err)
	}
}
