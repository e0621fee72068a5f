package translog

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// LeafHash returns the RFC 6962 leaf hash of an entry's exact stored bytes,
// SHA-256(0x00 || data), as tlog.RecordHash computes it.
func LeafHash(data []byte) tlog.Hash {
	return tlog.RecordHash(data)
}

// VerifyInclusion checks that proof (an RFC 6962 audit path, leaf's sibling
// first, as tlog.ProveRecord returns it) shows that leaf, the entry's exact
// bytes, is entry index of the tree described by cp. It takes the entry
// rather than its hash so that callers cannot check a hash they never
// recomputed. cp must already be trusted (see [OpenCheckpoint]).
func VerifyInclusion(index int64, leaf []byte, proof [][]byte, cp Checkpoint) error {
	p, err := BytesToHashes(proof)
	if err != nil {
		return err
	}
	return checkInclusion(index, LeafHash(leaf), p, cp)
}

func checkInclusion(index int64, leafHash tlog.Hash, p []tlog.Hash, cp Checkpoint) error {
	// tlog refuses these too, but with an error that does not say why.
	if index < 0 || index >= cp.Size {
		return fmt.Errorf("%w: index %d is outside the tree of size %d", ErrProofFailed, index, cp.Size)
	}
	if err := tlog.CheckRecord(p, cp.Size, cp.Hash, index, leafHash); err != nil {
		return fmt.Errorf("%w: entry %d in tree of size %d: %v", ErrProofFailed, index, cp.Size, err)
	}
	return nil
}

// VerifyConsistency checks that proof (an RFC 6962 consistency proof, as
// tlog.ProveTree returns it) shows that the tree described by newer extends
// the one described by older: same entries, possibly more of them. Both
// checkpoints must be of the same log (same origin). Equal sizes need an
// empty proof and equal hashes. An empty older tree is extended by every
// tree and needs an empty proof, but its hash must be the empty tree's.
// Both checkpoints must already be trusted (see [OpenCheckpoint]).
func VerifyConsistency(older, newer Checkpoint, proof [][]byte) error {
	if older.Origin != newer.Origin {
		return fmt.Errorf("%w: older checkpoint is of %.64q, newer of %.64q", ErrOriginMismatch, older.Origin, newer.Origin)
	}
	if older.Size < 0 || older.Size > newer.Size {
		return fmt.Errorf("%w: tree size %d cannot extend tree size %d", ErrProofFailed, newer.Size, older.Size)
	}
	p, err := BytesToHashes(proof)
	if err != nil {
		return err
	}
	switch {
	case older.Size == 0:
		if older.Hash != emptyRoot || newer.Size == 0 && newer.Hash != emptyRoot {
			return fmt.Errorf("%w: tree of size 0 with a root other than the empty tree's", ErrProofFailed)
		}
		if len(p) != 0 {
			return fmt.Errorf("%w: %d proof hashes from the empty tree, want none", ErrProofFailed, len(p))
		}
		return nil
	case older.Size == newer.Size:
		// tlog.CheckTree handles this case the same way; it is spelled out
		// so that the rule is visible here.
		if len(p) != 0 {
			return fmt.Errorf("%w: %d proof hashes between equal sizes, want none", ErrProofFailed, len(p))
		}
		if older.Hash != newer.Hash {
			return fmt.Errorf("%w: two different roots for tree size %d", ErrProofFailed, older.Size)
		}
		return nil
	}
	if err := tlog.CheckTree(p, newer.Size, newer.Hash, older.Size, older.Hash); err != nil {
		return fmt.Errorf("%w: tree size %d to %d: %v", ErrProofFailed, older.Size, newer.Size, err)
	}
	return nil
}

// HashesToBytes converts tlog hashes to the [][]byte form proofs take on the
// wire and in transparency-dev's APIs. Each element is a fresh copy.
func HashesToBytes(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = append([]byte(nil), hs[i][:]...)
	}
	return out
}

// BytesToHashes converts wire-form proof hashes to tlog hashes. Each must be
// exactly 32 bytes; anything else wraps [ErrMalformedProof].
func BytesToHashes(bs [][]byte) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(bs))
	for i, b := range bs {
		if len(b) != tlog.HashSize {
			return nil, fmt.Errorf("%w: proof hash %d is %d bytes, want %d", ErrMalformedProof, i, len(b), tlog.HashSize)
		}
		out[i] = tlog.Hash(b)
	}
	return out, nil
}
