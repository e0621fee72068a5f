package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// Sentinel errors. Callers test them with errors.Is.
var (
	ErrParticipantNotFound = errors.New("store: participant not found")
	ErrSOINotFound         = errors.New("store: statement of interest not found")
	ErrBodyNotFound        = errors.New("store: body not found")
	ErrCallNotFound        = errors.New("store: call not found")
	ErrEntryNotFound       = errors.New("store: log entry not found")
	ErrTokenNotFound       = errors.New("store: token not recognised")
	// ErrLogCorrupt means the stored tree does not match the newest signed checkpoint, or a stored
	// entry does not match its leaf hash ([*CorruptEntryError] names it): the file was altered
	// outside the server. The server must not serve such a log.
	ErrLogCorrupt = errors.New("store: log does not match its newest checkpoint")
	// ErrInUse is returned by [OpenReadOnly] when another process (a running candord) holds the
	// file.
	ErrInUse = errors.New("store: the data file is in use by another process")
	// ErrClosed is returned by writes after Close.
	ErrClosed = errors.New("store: closed")
	// ErrBadRange is returned for proofs and entry ranges outside the published tree.
	ErrBadRange = errors.New("store: index or size outside the published tree")
	// ErrBackupUnsupported is returned by [Store.Backup] on a backend that keeps its own backups
	// (etcd: etcdctl snapshot save).
	ErrBackupUnsupported = errors.New("store: this backend is backed up with its own tools")
)

// Notary signs checkpoints for the store and opens the ones it stored. The store calls Sign inside the
// write transaction that grows the log, so the checkpoint is on disk with the entries it covers; a
// signature whose transaction then fails is discarded unseen, so no two published checkpoints can
// disagree.
type Notary interface {
	// Sign returns a signed checkpoint note for a tree of size entries with the given root.
	Sign(size int64, root tlog.Hash) ([]byte, error)
	// Open verifies a signed checkpoint note and returns its size and root.
	Open(signed []byte) (size int64, root tlog.Hash, err error)
}

// Options tune a store. The zero value is usable.
type Options struct {
	// MaxBatch bounds how many writes share one transaction. Default 256.
	MaxBatch int
	// MaxSize, when positive, caps the file size in bytes (bbolt refuses to grow past it). Used to
	// test a full disk without a mount.
	MaxSize int
	// InitialMmapSize avoids remapping (which waits for readers) as the file grows. Default 1 GiB.
	InitialMmapSize int
	// Registerer, when set, receives the store's metrics (see metrics.go): the write path, the
	// log's size and newest checkpoint, the file. Nil: no metrics.
	Registerer prometheus.Registerer
}

// Store is Candor's state and log, on one of its backends: a bbolt file ([Open]) or an etcd cluster
// ([OpenEtcd]). It is safe for concurrent use.
type Store struct {
	be       backend
	db       *bolt.DB // the bbolt file; nil on etcd
	notary   Notary
	maxBatch int

	writes chan *write   // pending writes, drained by the committer
	quit   chan struct{} // closed by Close
	done   chan struct{} // closed when the committer has returned
	once   sync.Once     // guards Close

	mu       sync.RWMutex // guards latest and latestAt
	latest   Checkpoint   // newest committed checkpoint
	latestAt time.Time    // when latest was committed (at Open: the file's modification time)

	metrics *metrics // nil without Options.Registerer
	batches int64    // batches committed since Open, numbering them for traces (committer only)

	// On etcd (etcd.go): the election, and the goroutines following other replicas' commits.
	seq        *sequencer
	remote     []func() // guarded by mu: run after another replica's commit
	stopRemote context.CancelFunc
	remoteDone chan struct{}
}

// Checkpoint is a committed, signed tree head.
type Checkpoint struct {
	Size   int64
	Root   tlog.Hash
	Signed []byte // the signed note
}

// Open opens (creating if needed) the bbolt file at path and checks that its stored tree matches its
// newest checkpoint. A file held by another process makes Open fail after a second.
func Open(path string, notary Notary, opts Options) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.InitialMmapSize <= 0 {
		opts.InitialMmapSize = 1 << 30
	}
	latestAt := time.Now()
	if fi, err := os.Stat(path); err == nil {
		latestAt = fi.ModTime() // the newest checkpoint is no newer than the file's last write
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:         time.Second,
		InitialMmapSize: opts.InitialMmapSize,
		MaxSize:         opts.MaxSize,
		FreelistType:    bolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	err = db.Update(func(btx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := btx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: init: %w", err)
	}
	be := &boltBackend{db: db, timeWrites: opts.Registerer != nil}
	s, err := open(be, notary, opts, latestAt)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.db = db
	if opts.Registerer != nil {
		s.metrics = newMetrics(opts.Registerer, s)
	}
	return s, nil
}

// open starts a store on a backend whose buckets exist: it checks the schema, the log, and starts
// the committer.
func open(be backend, notary Notary, opts Options, latestAt time.Time) (*Store, error) {
	s := &Store{
		be:       be,
		notary:   notary,
		maxBatch: opts.MaxBatch,
		writes:   make(chan *write, opts.MaxBatch),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		latestAt: latestAt,
	}
	if err := s.init(); err != nil {
		return nil, err
	}
	go s.commitLoop()
	return s, nil
}

// init checks the schema version (recording it on a new store), the log against its newest
// checkpoint and every entry against its leaf hash (see [ReadTx.CheckLog]).
func (s *Store) init() error {
	var fresh bool
	err := s.be.view(func(kv kvReader) error {
		v := kv.get(bucketMeta, metaKeySchema)
		if v == nil {
			fresh = true
		} else if len(v) != 8 || binary.BigEndian.Uint64(v) != schemaVersion {
			return fmt.Errorf("store: schema version %x, this server reads %d", v, schemaVersion)
		}
		return nil
	})
	if err == nil && fresh {
		_, err = s.be.update(func(w kvWriter) error { return w.put(bucketMeta, metaKeySchema, u64(schemaVersion)) })
	}
	if err != nil {
		return fmt.Errorf("store: init: %w", err)
	}
	return s.be.view(func(kv kvReader) error {
		cp, err := checkLog(kv, s.notary)
		s.latest = cp
		return err
	})
}

// Close stops accepting writes, waits for the ones in flight, and closes the backend.
func (s *Store) Close() error {
	s.once.Do(func() {
		close(s.quit)
		<-s.done
		if s.stopRemote != nil {
			s.stopRemote()
			<-s.remoteDone
			<-s.remoteDone
		}
	})
	<-s.done
	return s.be.close()
}

// Latest returns the newest committed checkpoint. Its Signed is nil while the log is empty.
func (s *Store) Latest() Checkpoint {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.latest
}

// latestTime is when the newest checkpoint was committed.
func (s *Store) latestTime() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.latestAt
}

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(*ReadTx) error) error {
	return s.be.view(func(kv kvReader) error { return fn(&ReadTx{kv: kv}) })
}

// Commit tells a writer what its transaction made durable.
type Commit struct {
	// Indexes of the log entries the writer appended, in order.
	Indexes []int64
	// Checkpoint covering the whole transaction (and so the writer's entries).
	Checkpoint Checkpoint
}

type write struct {
	fn     func(*Tx) error
	result chan writeResult
}

type writeResult struct {
	commit Commit
	err    error
	batch  batchInfo
}

// batchInfo says which transaction a write shared, for its trace.
type batchInfo struct {
	id            int64 // batches committed before it since Open
	size          int   // writes it carried
	began, landed time.Time
}

// ErrWriteTooLarge is returned for a single write that needs more operations than one transaction
// of the backend may carry (etcd's --max-txn-ops or --max-request-bytes).
var ErrWriteTooLarge = errors.New("store: the write needs more operations than one transaction may carry")

// Update runs fn in a write transaction shared with other concurrent writers and returns once that
// transaction is durable. fn may be called more than once (when another writer in its group fails
// after writing, the group is retried one by one): it must not change anything outside tx.
//
// If fn returns an error before writing anything, only fn's write is refused; an error after a write
// rolls back the group and fn's error is returned.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) (Commit, error) {
	w := &write{fn: fn, result: make(chan writeResult, 1)}
	select {
	case s.writes <- w:
	case <-s.quit:
		return Commit{}, ErrClosed
	case <-ctx.Done():
		return Commit{}, ctx.Err()
	}
	// Once queued, the write may commit: wait for the answer rather than report a guess.
	select {
	case r := <-w.result:
		traceCommit(ctx, r)
		return r.commit, r.err
	case <-s.done:
		// The committer has stopped; it answers everything it took, so an unanswered write was
		// never in a transaction.
		select {
		case r := <-w.result:
			return r.commit, r.err
		default:
			return Commit{}, ErrClosed
		}
	}
}

// commitLoop is the single writer: it takes whatever writes queued while the previous transaction
// was syncing and commits them together, so a batch grows with the load and never waits on a timer.
func (s *Store) commitLoop() {
	defer close(s.done)
	batch := make([]*write, 0, s.maxBatch)
	for {
		select {
		case w := <-s.writes:
			batch = append(batch[:0], w)
		case <-s.quit:
			s.drainClosed()
			return
		}
	fill:
		for len(batch) < s.maxBatch {
			select {
			case w := <-s.writes:
				batch = append(batch, w)
			default:
				break fill
			}
		}
		s.commitBatch(batch)
	}
}

// drainClosed answers writes that raced with Close.
func (s *Store) drainClosed() {
	for {
		select {
		case w := <-s.writes:
			w.result <- writeResult{err: ErrClosed}
		default:
			return
		}
	}
}

// poisoned reports that a write failed after writing, so its transaction cannot be committed.
type poisoned struct {
	at  int
	err error
}

func (p *poisoned) Error() string { return p.err.Error() }

// commitBatch commits the writes of batch in one transaction. On a backend with savepoints, a
// write that fails after writing is taken back alone, and a transaction that grows past what one
// commit may carry ends before the write that overfilled it: the rest go in the next commit.
func (s *Store) commitBatch(batch []*write) {
	results := make([]writeResult, len(batch))
	var sealed Checkpoint
	var rest []*write // writes that did not fit, for the next transaction
	began := time.Now()
	durable, err := s.be.update(func(kv kvWriter) error {
		sp, _ := kv.(savepointer)
		state := &batchState{size: logSize(kv)}
		start := state.size
	writes:
		for i, w := range batch {
			tx := &Tx{ReadTx: ReadTx{kv: kv}, w: kv, state: state}
			mark, size := 0, state.size
			if sp != nil {
				mark = sp.savepoint()
			}
			err := w.fn(tx)
			if sp != nil && (sp.full() || (err != nil && tx.dirty)) {
				sp.rollbackTo(mark)
				state.size = size
				switch {
				case err != nil:
					results[i].err = err
					continue
				case i == 0:
					results[i].err = ErrWriteTooLarge
					continue
				}
				rest = batch[i:]
				batch, results = batch[:i], results[:i]
				break writes
			}
			if err != nil {
				if tx.dirty {
					return &poisoned{at: i, err: err}
				}
				results[i].err = err
				continue
			}
			results[i].commit.Indexes = tx.appended
		}
		if state.size == start {
			return nil
		}
		cp, err := s.seal(kv, state.size)
		sealed = cp
		return err
	})
	var p *poisoned
	switch {
	case errors.As(err, &p) && len(batch) > 1:
		// One writer broke the shared transaction: give every writer a transaction of its own.
		for _, w := range append(batch, rest...) {
			s.commitBatch([]*write{w})
		}
		return
	case errors.As(err, &p):
		err = p.err
	}
	if err != nil {
		for _, w := range append(batch, rest...) {
			w.result <- writeResult{err: err}
		}
		return
	}
	s.metrics.observeCommit(len(batch), time.Since(began), durable)
	if sealed.Signed != nil {
		s.mu.Lock()
		s.latest, s.latestAt = sealed, time.Now()
		s.mu.Unlock()
	} else {
		sealed = s.Latest()
	}
	info := batchInfo{id: s.batches, size: len(batch), began: began, landed: time.Now()}
	s.batches++
	for i, w := range batch {
		if results[i].err == nil {
			results[i].commit.Checkpoint = sealed
		}
		results[i].batch = info
		w.result <- results[i]
	}
	if len(rest) > 0 {
		s.commitBatch(rest)
	}
}

// seal records the new log size and signs a checkpoint over the new tree, inside the transaction.
func (s *Store) seal(kv kvWriter, size int64) (Checkpoint, error) {
	root, err := tlog.TreeHash(size, hashReader{kv})
	if err != nil {
		return Checkpoint{}, fmt.Errorf("store: tree hash: %w", err)
	}
	signed, err := s.notary.Sign(size, root)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("store: sign checkpoint: %w", err)
	}
	if err := kv.put(bucketMeta, metaKeyLogSize, u64(uint64(size))); err != nil {
		return Checkpoint{}, err
	}
	if err := kv.put(bucketCheckpoints, u64(uint64(size)), signed); err != nil {
		return Checkpoint{}, err
	}
	return Checkpoint{Size: size, Root: root, Signed: signed}, nil
}

// Snapshot describes a copy written by [Store.Backup].
type Snapshot struct {
	// Size is the copy's length in bytes.
	Size int64
	// Checkpoint is the newest checkpoint inside the copy (Signed is nil while its log is empty).
	Checkpoint Checkpoint
}

// Backup writes a consistent copy of the whole file to w, in one read transaction, without
// stopping writers (bbolt's Tx.WriteTo), and says what the copy holds. The copy opens with [Open]
// and [OpenReadOnly] like the original. ctx stops the copy between writes to w.
//
// Like every read transaction, a long copy holds the pages it reads: the file grows while writes go
// on, and a remap waits for the copy to end.
//
// announce, when not nil, is told the copy's length before its first byte is written, so a stream
// can announce its total.
func (s *Store) Backup(ctx context.Context, w io.Writer, announce func(size int64)) (Snapshot, error) {
	if s.db == nil {
		return Snapshot{}, ErrBackupUnsupported
	}
	var snap Snapshot
	err := s.db.View(func(btx *bolt.Tx) error {
		kv := boltTx{btx}
		size := logSize(kv)
		snap.Checkpoint = Checkpoint{Size: size}
		if size > 0 {
			signed := btx.Bucket(bucketCheckpoints).Get(u64(uint64(size)))
			if signed == nil {
				return fmt.Errorf("%w: no checkpoint stored for the log's size %d", ErrLogCorrupt, size)
			}
			snap.Checkpoint.Signed = clone(signed)
			root, err := tlog.TreeHash(size, hashReader{kv})
			if err != nil {
				return err
			}
			snap.Checkpoint.Root = root
		}
		if announce != nil {
			announce(btx.Size())
		}
		n, err := btx.WriteTo(ctxWriter{ctx, w})
		snap.Size = n
		if err != nil {
			return fmt.Errorf("store: backup: %w", err)
		}
		if n != btx.Size() {
			return fmt.Errorf("store: backup: wrote %d bytes of %d", n, btx.Size())
		}
		return nil
	})
	return snap, err
}

// ctxWriter is a writer that stops once its context is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

func logSize(kv kvReader) int64 {
	v := kv.get(bucketMeta, metaKeyLogSize)
	if v == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
