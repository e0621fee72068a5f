package verify_test

import (
	"context"
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc"

	"github.com/candorhq/candor/internal/translog"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// memLog serves a log of given entries from memory through the AuditService client interface, with
// real tlog hashes, proofs and a signed checkpoint: the auditor's side measured without a network
// or bbolt, and a server whose answers a test can bend. Methods it does not serve panic.
type memLog struct {
	candorv1.AuditServiceClient

	entries [][]byte
	hashes  hashSlice
	signer  *translog.Signer
	key     string // verifier key
	signed  []byte

	// list, if set, edits each ListEntries answer.
	list func(req *candorv1.ListEntriesRequest, resp *candorv1.ListEntriesResponse) error
	// consistency, if set, edits each consistency proof.
	consistency func(proof [][]byte)
}

type hashSlice []tlog.Hash

func (s hashSlice) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(s)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = s[x]
	}
	return out, nil
}

// newMemLog serves entries under a new log key.
func newMemLog(tb testing.TB, entries [][]byte) *memLog {
	tb.Helper()
	signer, err := translog.LoadOrCreateKey(tb.TempDir(), "candor.test/memlog")
	if err != nil {
		tb.Fatal(err)
	}
	return newMemLogSigned(tb, entries, signer)
}

// newMemLogSigned serves entries under signer's key.
func newMemLogSigned(tb testing.TB, entries [][]byte, signer *translog.Signer) *memLog {
	tb.Helper()
	m := &memLog{entries: entries, signer: signer}
	for i, e := range entries {
		hs, err := tlog.StoredHashes(int64(i), e, m.hashes)
		if err != nil {
			tb.Fatal(err)
		}
		m.hashes = append(m.hashes, hs...)
	}
	root, err := tlog.TreeHash(int64(len(entries)), m.hashes)
	if err != nil {
		tb.Fatal(err)
	}
	m.key = signer.VerifierKey()
	if m.signed, err = signer.Sign(translog.Checkpoint{Origin: signer.Origin(), Size: int64(len(entries)), Hash: root}); err != nil {
		tb.Fatal(err)
	}
	return m
}

func (m *memLog) GetCheckpoint(context.Context, *candorv1.GetCheckpointRequest, ...grpc.CallOption) (*candorv1.GetCheckpointResponse, error) {
	return &candorv1.GetCheckpointResponse{Checkpoint: m.signed}, nil
}

func (m *memLog) ListEntries(_ context.Context, req *candorv1.ListEntriesRequest, _ ...grpc.CallOption) (*candorv1.ListEntriesResponse, error) {
	n := int64(req.MaxEntries)
	if n <= 0 || n > 1000 {
		n = 1000
	}
	resp := &candorv1.ListEntriesResponse{}
	for i := req.StartIndex; i < int64(len(m.entries)) && i < req.StartIndex+n; i++ {
		resp.Entries = append(resp.Entries, &candorv1.Entry{Index: i, Data: m.entries[i]})
	}
	if m.list != nil {
		if err := m.list(req, resp); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

func (m *memLog) GetInclusionProof(_ context.Context, req *candorv1.GetInclusionProofRequest, _ ...grpc.CallOption) (*candorv1.GetInclusionProofResponse, error) {
	p, err := tlog.ProveRecord(req.TreeSize, req.Index, m.hashes)
	if err != nil {
		return nil, err
	}
	return &candorv1.GetInclusionProofResponse{Hashes: translog.HashesToBytes(p), TreeSize: req.TreeSize}, nil
}

func (m *memLog) GetConsistencyProof(_ context.Context, req *candorv1.GetConsistencyProofRequest, _ ...grpc.CallOption) (*candorv1.GetConsistencyProofResponse, error) {
	p, err := tlog.ProveTree(req.SecondSize, req.FirstSize, m.hashes)
	if err != nil {
		return nil, err
	}
	proof := translog.HashesToBytes(p)
	if m.consistency != nil {
		m.consistency(proof)
	}
	return &candorv1.GetConsistencyProofResponse{Hashes: proof, SecondSize: req.SecondSize}, nil
}
