package translog

import (
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// Fixed test-only keys, so that signatures (Ed25519 is deterministic) and
// fuzz corpora are reproducible. Both keys have the same name: a note
// signed by the other key must not pass for the log's.
const (
	testOrigin    = "candor.test/log"
	testSignerKey = "PRIVATE+KEY+candor.test/log+7e42f4c9+AYNaTAcet3sDdVOYOMGIhiPiLLgrApV5ZvUvfR7b7agp"
	testVerifier  = "candor.test/log+7e42f4c9+AZrsNZnrJbautKPqkpkbLRAr2S0813EmCXypTni2xXJB"
	otherSigner   = "PRIVATE+KEY+candor.test/log+1fe7bb26+AeDIi7ESZwTp22xpE3XbTrVf9nUCQ79EwsVKrtcx1Kyz"
	otherVerifier = "candor.test/log+1fe7bb26+AQrKEmOouXzmKJ0N8NL9oEbJBaglnzJXbdYY8MSgTriH"
)

func mustSigner(t testing.TB, skey string) *Signer {
	t.Helper()
	s, err := newSigner(skey)
	if err != nil {
		t.Fatalf("newSigner: %v", err)
	}
	return s
}

// memTree is an in-memory log kept the way the store keeps it: the entries
// plus the hashes tlog.StoredHashes says to store, read back through
// tlog.HashReader.
type memTree struct {
	leaves [][]byte
	hashes []tlog.Hash
}

func (m *memTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m.hashes)) {
			return nil, fmt.Errorf("memTree: no stored hash %d (have %d)", x, len(m.hashes))
		}
		out[i] = m.hashes[x]
	}
	return out, nil
}

func (m *memTree) append(t testing.TB, data []byte) {
	t.Helper()
	hs, err := tlog.StoredHashes(int64(len(m.leaves)), data, m)
	if err != nil {
		t.Fatalf("StoredHashes(%d): %v", len(m.leaves), err)
	}
	m.hashes = append(m.hashes, hs...)
	m.leaves = append(m.leaves, data)
}

func (m *memTree) root(t testing.TB, n int64) tlog.Hash {
	t.Helper()
	h, err := tlog.TreeHash(n, m)
	if err != nil {
		t.Fatalf("TreeHash(%d): %v", n, err)
	}
	return h
}

func (m *memTree) checkpoint(t testing.TB, n int64) Checkpoint {
	t.Helper()
	return Checkpoint{Origin: testOrigin, Size: n, Hash: m.root(t, n)}
}

func (m *memTree) proveRecord(t testing.TB, index, n int64) [][]byte {
	t.Helper()
	p, err := tlog.ProveRecord(n, index, m)
	if err != nil {
		t.Fatalf("ProveRecord(size %d, index %d): %v", n, index, err)
	}
	return HashesToBytes(p)
}

func (m *memTree) proveTree(t testing.TB, older, newer int64) [][]byte {
	t.Helper()
	p, err := tlog.ProveTree(newer, older, m)
	if err != nil {
		t.Fatalf("ProveTree(%d to %d): %v", older, newer, err)
	}
	return HashesToBytes(p)
}

func leafData(i int) []byte {
	return fmt.Appendf(nil, "candor entry %d", i)
}

func newMemTree(t testing.TB, n int) *memTree {
	t.Helper()
	m := &memTree{}
	for i := range n {
		m.append(t, leafData(i))
	}
	return m
}

// flipBit returns a copy of proof with one bit of hash i flipped. The bit
// varies with i so that different positions in the hash get exercised.
func flipBit(proof [][]byte, i int) [][]byte {
	out := make([][]byte, len(proof))
	for j := range proof {
		out[j] = append([]byte(nil), proof[j]...)
	}
	bit := (i * 37) % (8 * tlog.HashSize)
	out[i][bit/8] ^= 1 << (bit % 8)
	return out
}

func flipHash(h tlog.Hash) tlog.Hash {
	h[0] ^= 0x80
	return h
}
