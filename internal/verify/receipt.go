package verify

import (
	"context"
	"fmt"

	"github.com/candorhq/candor/internal/translog"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// ProofFromReceipt converts the receipt a write RPC returns to its C2SP tlog-proof form. It
// checks only the hashes' lengths; [Receipt] checks the rest.
func ProofFromReceipt(r *candorv1.Receipt) (translog.Proof, error) {
	hashes, err := translog.BytesToHashes(r.GetInclusionProof())
	if err != nil {
		return translog.Proof{}, fmt.Errorf("verify: receipt: %w", err)
	}
	return translog.Proof{Index: r.GetLogIndex(), Entry: r.GetEntry(), Hashes: hashes, Checkpoint: r.GetCheckpoint()}, nil
}

// Receipt checks a saved receipt: that its checkpoint is signed by the pinned key and its inclusion
// proof shows its entry at its index in that checkpoint's tree, and then, against the server's
// current checkpoint (also checked with the pinned key) and a consistency proof, that the log
// still contains that tree, and so the entry. It does not check the entry against the rules: that
// takes the whole log ([Log]).
func Receipt(ctx context.Context, client candorv1.AuditServiceClient, key string, p translog.Proof) error {
	cp, err := translog.VerifyProof(p, key)
	if err != nil {
		return fmt.Errorf("verify: receipt for entry %d: %w", p.Index, err)
	}
	cur, _, err := fetchCheckpoint(ctx, client, key)
	if err != nil {
		return err
	}
	if err := checkExtends(ctx, client, cp, cur); err != nil {
		return fmt.Errorf("verify: receipt for entry %d, in a tree of %d entries: %w", p.Index, cp.Size, err)
	}
	return nil
}
