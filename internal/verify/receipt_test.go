package verify_test

import (
	"errors"
	"testing"

	ts "github.com/candorhq/candor/internal/testserver"
	"github.com/candorhq/candor/internal/translog"
	"github.com/candorhq/candor/internal/verify"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

func TestReceipt(t *testing.T) {
	srv := ts.Start(t)
	w := ts.NewWorld(t, srv)
	call := w.OpenVote(t, nil)
	w.Declare(t, w.Alice, call.Name, none, join)
	resp, err := ts.Vote(t, w.Alice, call.Name, "yes")
	if err != nil {
		t.Fatal(err)
	}
	proof, err := verify.ProofFromReceipt(resp.Receipt)
	if err != nil {
		t.Fatal(err)
	}
	// As `candor vote` keeps it: the C2SP tlog-proof text.
	saved, err := translog.ParseProof(proof.Marshal())
	if err != nil {
		t.Fatalf("ParseProof of a receipt's own text: %v", err)
	}
	check := func(name string, p translog.Proof, key string, want error) {
		t.Helper()
		// Alice checks her own receipt: proofs answer any participant.
		err := verify.Receipt(w.Alice.Ctx(t), w.Alice.Audit, key, p)
		if want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Errorf("%s: Receipt = %v, want %v", name, err, want)
		}
	}
	check("fresh receipt", saved, srv.VerifierKey, nil)

	// The log grows: the receipt's tree must be proven a prefix of today's.
	w.Declare(t, w.Bob, call.Name, none, join)
	if _, err := ts.Vote(t, w.Bob, call.Name, "no"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: call.Name}); err != nil {
		t.Fatal(err)
	}
	if size := checkpointSize(t, w.Alice, srv.VerifierKey); size <= resp.Receipt.LogIndex+1 {
		t.Fatalf("log has %d entries, want more than the receipt's %d", size, resp.Receipt.LogIndex+1)
	}
	check("receipt after more writes", saved, srv.VerifierKey, nil)

	flipHash := saved
	flipHash.Hashes = append(flipHash.Hashes[:0:0], saved.Hashes...)
	flipHash.Hashes[0][5] ^= 1
	check("receipt with a flipped proof byte", flipHash, srv.VerifierKey, translog.ErrProofFailed)

	flipEntry := saved
	flipEntry.Entry = append([]byte(nil), saved.Entry...)
	flipEntry.Entry[len(flipEntry.Entry)/2] ^= 1
	check("receipt with a flipped entry byte", flipEntry, srv.VerifierKey, translog.ErrProofFailed)

	otherIndex := saved
	otherIndex.Index--
	check("receipt claiming another index", otherIndex, srv.VerifierKey, translog.ErrProofFailed)

	check("receipt checked with another key", saved, otherKey(t, srv.VerifierKey), translog.ErrUnverifiedCheckpoint)
}

func TestProofFromReceiptRefusesShortHashes(t *testing.T) {
	_, err := verify.ProofFromReceipt(&candorv1.Receipt{InclusionProof: [][]byte{make([]byte, 31)}})
	if !errors.Is(err, translog.ErrMalformedProof) {
		t.Errorf("ProofFromReceipt with a 31-byte hash: %v, want ErrMalformedProof", err)
	}
}
