package translog

import (
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// rangeFactory builds compact ranges with RFC 6962 node hashing. It is
// transparency-dev's code, not tlog's, so an auditor's rebuilt root is an
// independent check of the roots the server computed with tlog.
var rangeFactory = &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

// RootBuilder rebuilds a tree's root hash from its entries streamed in
// order, keeping only the O(log n) hashes of a compact range (one per set bit
// of the size), so an auditor can check a checkpoint over millions of entries
// without storing the tree. tlog has no streaming API, hence
// transparency-dev's compact range. The zero RootBuilder is not usable; call
// [NewRootBuilder]. A RootBuilder is not safe for concurrent use.
type RootBuilder struct {
	r *compact.Range
}

// NewRootBuilder returns a RootBuilder for an empty tree.
func NewRootBuilder() *RootBuilder {
	return &RootBuilder{r: rangeFactory.NewEmptyRange(0)}
}

// Append adds the next entry, given as its exact stored bytes.
func (b *RootBuilder) Append(leafData []byte) error {
	if err := b.r.Append(rfc6962.DefaultHasher.HashLeaf(leafData), nil); err != nil {
		return fmt.Errorf("translog: appending entry %d: %w", b.r.End(), err)
	}
	return nil
}

// Size returns the number of entries appended so far.
func (b *RootBuilder) Size() int64 {
	return int64(b.r.End())
}

// Root returns the root hash of the tree of the entries appended so far; for
// the empty tree that is SHA-256 of the empty string (RFC 6962).
func (b *RootBuilder) Root() (tlog.Hash, error) {
	if b.r.End() == 0 {
		return emptyRoot, nil
	}
	h, err := b.r.GetRootHash(nil)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("translog: root of %d entries: %w", b.r.End(), err)
	}
	if len(h) != tlog.HashSize {
		return tlog.Hash{}, fmt.Errorf("translog: root of %d entries is %d bytes", b.r.End(), len(h))
	}
	return tlog.Hash(h), nil
}
