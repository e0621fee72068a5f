package verify

import (
	"bytes"
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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

// ServedEntry fetches the entry the server serves at index (ListEntries with start_index=index,
// max_entries=1) and compares its bytes with want, a receipt's entry. A receipt's proofs show
// that the server's tree still contains the entry's hash; this shows that the server still holds
// and serves the entry itself. It fails with an [*EntryError] naming index: the bytes differ
// ([ErrEntryChanged]), the server serves no entry there ([ErrMissingEntries]), or it refuses to
// because its stored entry does not match its hashes ([ErrServerCorrupt]).
//
// Auditors and the admin read any entry (anyone, when the server runs with public audit), and a
// participant the entries they wrote (docs/permissions.md): when the server refuses the caller
// (PermissionDenied, Unauthenticated), ServedEntry returns compared=false and no error, and
// nothing was compared.
func ServedEntry(ctx context.Context, client candorv1.AuditServiceClient, index int64, want []byte) (compared bool, err error) {
	resp, err := client.ListEntries(ctx, &candorv1.ListEntriesRequest{StartIndex: index, MaxEntries: 1})
	switch status.Code(err) {
	case codes.OK:
	case codes.PermissionDenied, codes.Unauthenticated:
		return false, nil
	case codes.DataLoss:
		return true, &EntryError{Index: index, Kind: peekKind(want), Err: fmt.Errorf("%w (%s)", ErrServerCorrupt, status.Convert(err).Message())}
	case codes.OutOfRange:
		return true, &EntryError{Index: index, Kind: peekKind(want), Err: fmt.Errorf("%w: the server has no entry %d", ErrMissingEntries, index)}
	default:
		return false, fmt.Errorf("verify: ListEntries at entry %d: %w", index, err)
	}
	entries := resp.GetEntries()
	if len(entries) == 0 || entries[0].GetIndex() != index {
		return true, &EntryError{Index: index, Kind: peekKind(want), Err: fmt.Errorf("%w: asked for entry %d, the server served none", ErrMissingEntries, index)}
	}
	if !bytes.Equal(entries[0].GetData(), want) {
		return true, &EntryError{Index: index, Kind: peekKind(want), Err: ErrEntryChanged}
	}
	return true, nil
}
