package translog

import (
	"fmt"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// BenchmarkVerifyInclusion measures checking one receipt's inclusion proof
// (leaf hashing included), against transparency-dev's verifier on the same
// proofs for a ratio.
func BenchmarkVerifyInclusion(b *testing.B) {
	for _, n := range []int{1 << 10, 1 << 20} {
		tree := &memTree{}
		for i := range n {
			tree.append(b, leafData(i))
		}
		cp := tree.checkpoint(b, int64(n))
		const nproofs = 256
		type item struct {
			index int64
			leaf  []byte
			proof [][]byte
		}
		items := make([]item, nproofs)
		for k := range items {
			i := int64(k) * int64(n) / nproofs
			items[k] = item{i, tree.leaves[i], tree.proveRecord(b, i, int64(n))}
		}
		b.Run(fmt.Sprintf("size=%d/impl=translog", n), func(b *testing.B) {
			k := 0
			for b.Loop() {
				it := items[k%nproofs]
				if err := VerifyInclusion(it.index, it.leaf, it.proof, cp); err != nil {
					b.Fatal(err)
				}
				k++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "proofs/s")
		})
		b.Run(fmt.Sprintf("size=%d/impl=transparency-dev", n), func(b *testing.B) {
			h := rfc6962.DefaultHasher
			k := 0
			for b.Loop() {
				it := items[k%nproofs]
				if err := proof.VerifyInclusion(h, uint64(it.index), uint64(n), h.HashLeaf(it.leaf), it.proof, cp.Hash[:]); err != nil {
					b.Fatal(err)
				}
				k++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "proofs/s")
		})
	}
}

// BenchmarkRootBuilderAppend measures the auditor's streaming rebuild,
// against tlog.StoredHashes (the server's per-write hashing, which also
// keeps every stored hash) for a ratio. Entries are 256 bytes.
func BenchmarkRootBuilderAppend(b *testing.B) {
	entry := make([]byte, 256)
	b.Run("impl=RootBuilder", func(b *testing.B) {
		b.SetBytes(int64(len(entry)))
		rb := NewRootBuilder()
		for b.Loop() {
			if err := rb.Append(entry); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := rb.Root(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	})
	b.Run("impl=tlog.StoredHashes", func(b *testing.B) {
		b.SetBytes(int64(len(entry)))
		var hashes hashSlice
		n := int64(0)
		for b.Loop() {
			hs, err := tlog.StoredHashes(n, entry, hashes)
			if err != nil {
				b.Fatal(err)
			}
			hashes = append(hashes, hs...)
			n++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	})
}

// hashSlice is a minimal tlog.HashReader with no per-read checks, so the
// comparison above measures tlog rather than the test tree.
type hashSlice []tlog.Hash

func (s hashSlice) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = s[x]
	}
	return out, nil
}
