package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"golang.org/x/mod/sumdb/tlog"
)

// This file checks a store file against itself: the stored tree against the newest signed
// checkpoint, and every stored entry against its stored leaf hash. [Open] runs it before serving;
// `candord check` runs it on a stopped server's file opened with [OpenReadOnly].

// CorruptEntryError names the first log entry whose stored bytes are not the ones the tree was
// built over: missing, altered, swapped with another, or stored past the log's size. It wraps
// [ErrLogCorrupt].
type CorruptEntryError struct {
	Index int64
	// Problem completes the sentence "log entry N ...": "does not match its leaf hash".
	Problem string
}

func (e *CorruptEntryError) Error() string {
	return fmt.Sprintf("store: log entry %d %s", e.Index, e.Problem)
}

func (e *CorruptEntryError) Unwrap() error { return ErrLogCorrupt }

// CheckLog checks what [Open] checks before it serves: that the stored tree's root is the root of
// the newest checkpoint (opened, and so its signature checked, with n), and that every entry up to
// the log's size is stored and matches its stored leaf hash, SHA-256(0x00||data). It returns the
// newest checkpoint (zero for an empty log), and an error wrapping [ErrLogCorrupt] on the first
// problem; a bad entry is a [*CorruptEntryError].
//
// It does not recompute interior hashes from the entries: an entry altered together with its
// stored leaf hash passes here and fails every proof an auditor checks (and `candord check`, which
// rebuilds the root from the entries).
func (tx *ReadTx) CheckLog(n Notary) (Checkpoint, error) { return checkLog(tx.kv, n) }

func checkLog(kv kvReader, n Notary) (Checkpoint, error) {
	size := logSize(kv)
	k, v := kv.cursor(bucketCheckpoints).last()
	if k == nil {
		if size != 0 {
			return Checkpoint{}, fmt.Errorf("%w: %d entries but no checkpoint", ErrLogCorrupt, size)
		}
		return Checkpoint{}, checkEntries(kv, 0, nil)
	}
	signed := clone(v)
	cpSize, root, err := n.Open(signed)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: newest checkpoint: %w", ErrLogCorrupt, err)
	}
	if cpSize != size || len(k) != 8 || int64(binary.BigEndian.Uint64(k)) != size {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint size %d, log size %d", ErrLogCorrupt, cpSize, size)
	}
	got, err := tlog.TreeHash(size, hashReader{kv})
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %v", ErrLogCorrupt, err)
	}
	if got != root {
		return Checkpoint{}, fmt.Errorf("%w: stored root %v, checkpoint root %v", ErrLogCorrupt, got, root)
	}
	if err := checkEntries(kv, size, nil); err != nil {
		return Checkpoint{}, err
	}
	return Checkpoint{Size: size, Root: root, Signed: signed}, nil
}

// ScanEntries calls fn with every entry of the published log, in order, each checked against its
// stored leaf hash first (see [ReadTx.CheckLog]); the first bad entry stops the scan with a
// [*CorruptEntryError]. It reads with two cursors in this one transaction and copies nothing: data
// is valid only during the call to fn, which must not keep it or change it.
func (tx *ReadTx) ScanEntries(fn func(index int64, data []byte) error) error {
	return checkEntries(tx.kv, logSize(tx.kv), fn)
}

// checkEntries walks the log bucket and the hashes bucket side by side (a leaf's stored hash index,
// tlog.StoredHashIndex(0, i), grows with i, so both cursors only move forward), compares each of
// the size entries with its leaf hash (tlog.RecordHash, which does not allocate) and, if fn is not
// nil, hands it on. An entry stored at or past size is reported too: the server writes an entry and
// the size that covers it in one transaction.
func checkEntries(kv kvReader, size int64, fn func(int64, []byte) error) error {
	logs := kv.cursor(bucketLog)
	hashes := kv.cursor(bucketHashes)
	k, v := logs.first()
	hk, hv := hashes.first()
	for i := int64(0); i < size; i++ {
		at, ok := keyIndex(k)
		switch {
		case k == nil || (ok && at > i):
			return &CorruptEntryError{Index: i, Problem: "is missing"}
		case !ok || at < i:
			return &CorruptEntryError{Index: i, Problem: fmt.Sprintf("is preceded by a stray key %x in the log", k)}
		}
		want := tlog.StoredHashIndex(0, i)
		for {
			at, ok := keyIndex(hk)
			if hk == nil || (ok && at >= want) {
				break
			}
			hk, hv = hashes.next()
		}
		if at, ok := keyIndex(hk); !ok || at != want || len(hv) != tlog.HashSize {
			return &CorruptEntryError{Index: i, Problem: "has no stored leaf hash"}
		}
		if tlog.RecordHash(v) != tlog.Hash(hv) {
			return &CorruptEntryError{Index: i, Problem: "does not match its leaf hash"}
		}
		if fn != nil {
			if err := fn(i, v); err != nil {
				return err
			}
		}
		k, v = logs.next()
	}
	if k != nil {
		at, _ := keyIndex(k)
		return &CorruptEntryError{Index: at, Problem: fmt.Sprintf("is stored past the log's %d entries", size)}
	}
	return nil
}

// keyIndex decodes an 8-byte big-endian key.
func keyIndex(k []byte) (int64, bool) {
	if len(k) != 8 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(k)), true
}

// CheckpointAfter returns the stored signed checkpoint with the smallest tree size above size: its
// size as stored (its key) and a copy of the signed note; ok is false when there is none. A
// checker walks every checkpoint with it without holding them all.
func (tx *ReadTx) CheckpointAfter(size int64) (next int64, signed []byte, ok bool, err error) {
	c := tx.kv.cursor(bucketCheckpoints)
	for k, v := c.seek(u64(uint64(size + 1))); k != nil; k, v = c.next() {
		at, good := keyIndex(k)
		if !good {
			return 0, nil, false, fmt.Errorf("%w: stray key %x among the checkpoints", ErrLogCorrupt, k)
		}
		if at > size {
			return at, clone(v), true, nil
		}
	}
	return 0, nil, false, nil
}

// ReadOnly is a store file opened for reading by a process other than the server, which must be
// stopped: `candord check`. It never writes, creates or repairs anything.
type ReadOnly struct {
	db *bolt.DB
}

// OpenReadOnly opens an existing store file for reading. It fails with [ErrInUse] when another
// process holds the file (bbolt's lock; the server holds it while it runs), and when the file was
// never initialised by a server or has another schema version.
func OpenReadOnly(path string) (*ReadOnly, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s is locked", ErrInUse, path)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	err = db.View(func(btx *bolt.Tx) error {
		for _, name := range allBuckets {
			if btx.Bucket(name) == nil {
				return fmt.Errorf("store: %s has no %q bucket: not a Candor data file, or one a server never finished creating", path, name)
			}
		}
		v := btx.Bucket(bucketMeta).Get(metaKeySchema)
		if len(v) != 8 || binary.BigEndian.Uint64(v) != schemaVersion {
			return fmt.Errorf("store: %s has schema version %x, this build reads %d", path, v, schemaVersion)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &ReadOnly{db: db}, nil
}

// View runs fn in a read-only transaction.
func (r *ReadOnly) View(fn func(*ReadTx) error) error {
	return r.db.View(func(btx *bolt.Tx) error { return fn(&ReadTx{kv: boltTx{btx}}) })
}

// Close closes the file.
func (r *ReadOnly) Close() error { return r.db.Close() }
