package store

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// EntryFormat is the LogEntry envelope version this server writes.
const EntryFormat = 1

// Append adds e to the log and stores the Merkle hashes it adds to the tree (about two per entry,
// tlog's layout), so proofs and roots never need a replay. It returns the entry's index and its
// exact bytes, the leaf the tree is computed over.
func (tx *Tx) Append(e *candorv1.LogEntry) (int64, []byte, error) {
	e.Format = EntryFormat
	data, err := marshal.Marshal(e)
	if err != nil {
		return 0, nil, fmt.Errorf("store: encode log entry: %w", err)
	}
	index := tx.state.size
	stored, err := tlog.StoredHashes(index, data, hashReader{tx.kv})
	if err != nil {
		return 0, nil, fmt.Errorf("store: tree hashes: %w", err)
	}
	tx.dirty = true
	if err := tx.w.put(bucketLog, u64(uint64(index)), data); err != nil {
		return 0, nil, err
	}
	base := tlog.StoredHashIndex(0, index)
	for i, h := range stored {
		if err := tx.w.put(bucketHashes, u64(uint64(base+int64(i))), h[:]); err != nil {
			return 0, nil, err
		}
	}
	tx.state.size++
	tx.appended = append(tx.appended, index)
	return index, data, nil
}

// LogSize returns the number of entries, including those this transaction appended.
func (tx *Tx) LogSize() int64 { return tx.state.size }

// Entry returns the exact bytes of log entry index.
func (tx *ReadTx) Entry(index int64) ([]byte, error) {
	v := tx.kv.get(bucketLog, u64(uint64(index)))
	if v == nil {
		return nil, fmt.Errorf("%w: %d", ErrEntryNotFound, index)
	}
	return clone(v), nil
}

// Entries calls fn with up to n entries starting at index start, in order, stopping at the published
// size. Each entry is checked against its stored leaf hash on the way out, so a file altered outside
// the server is reported (ErrLogCorrupt) rather than served: a missing or edited entry stops the read.
func (tx *ReadTx) Entries(start int64, n int, fn func(index int64, data []byte) error) error {
	size := logSize(tx.kv)
	hashes := hashReader{tx.kv}
	c := tx.kv.cursor(bucketLog)
	want := start
	for k, v := c.seek(u64(uint64(start))); want < size && want < start+int64(n); k, v = c.next() {
		if k == nil || int64(binary.BigEndian.Uint64(k)) != want {
			return &CorruptEntryError{Index: want, Problem: "is missing"}
		}
		leaf, err := hashes.ReadHashes([]int64{tlog.StoredHashIndex(0, want)})
		if err != nil {
			return &CorruptEntryError{Index: want, Problem: "has no stored leaf hash"}
		}
		if tlog.RecordHash(v) != leaf[0] {
			return &CorruptEntryError{Index: want, Problem: "does not match its leaf hash"}
		}
		if err := fn(want, clone(v)); err != nil {
			return err
		}
		want++
	}
	return nil
}

// Checkpoint returns the stored signed checkpoint for a tree size, if the server signed one.
func (tx *ReadTx) Checkpoint(size int64) []byte {
	return clone(tx.kv.get(bucketCheckpoints, u64(uint64(size))))
}

// InclusionProof returns the RFC 6962 audit path of entry index in the tree of size entries.
func (tx *ReadTx) InclusionProof(index, size int64) ([]tlog.Hash, error) {
	if size > logSize(tx.kv) || index < 0 || index >= size {
		return nil, fmt.Errorf("%w: entry %d in tree %d", ErrBadRange, index, size)
	}
	p, err := tlog.ProveRecord(size, index, hashReader{tx.kv})
	if err != nil {
		return nil, fmt.Errorf("store: inclusion proof: %w", err)
	}
	return p, nil
}

// ConsistencyProof returns the RFC 6962 proof that the tree of size older is a prefix of the tree
// of size newer.
func (tx *ReadTx) ConsistencyProof(older, newer int64) ([]tlog.Hash, error) {
	if newer > logSize(tx.kv) || older < 0 || older > newer {
		return nil, fmt.Errorf("%w: sizes %d and %d", ErrBadRange, older, newer)
	}
	if older == 0 || older == newer {
		return nil, nil
	}
	p, err := tlog.ProveTree(newer, older, hashReader{tx.kv})
	if err != nil {
		return nil, fmt.Errorf("store: consistency proof: %w", err)
	}
	return p, nil
}

// PublishedSize returns the size of the newest committed tree.
func (tx *ReadTx) PublishedSize() int64 { return logSize(tx.kv) }

// hashReader reads tlog stored hashes from the hashes bucket (tlog.HashReader).
type hashReader struct{ kv kvReader }

func (r hashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		v := r.kv.get(bucketHashes, u64(uint64(x)))
		if len(v) != tlog.HashSize {
			return nil, fmt.Errorf("store: stored hash %d missing", x)
		}
		copy(out[i][:], v)
	}
	return out, nil
}
