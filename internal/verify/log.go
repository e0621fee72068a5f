package verify

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/candorhq/candor/internal/translog"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// DefaultPageSize is how many entries [Log] asks for at a time: the server's cap.
const DefaultPageSize = 1000

// progressEvery is how many entries pass between two calls of Options.Progress.
const progressEvery = 10_000

// Options configure [Log].
type Options struct {
	// VerifierKey is the log's pinned public key: the C2SP signed-note verifier key text of log.pub,
	// obtained from somewhere other than the server being audited. Required.
	VerifierKey string
	// StateDir keeps the last checkpoint verified for each log, one file per verifier key. Required:
	// without it a rollback or a fork cannot be told from an honest log.
	StateDir string
	// Progress, if set, is called every 10,000 entries and once at the end with the entries
	// verified so far and the tree size.
	Progress func(done, total int64)
	// PageSize is how many entries to ask for at a time; 0 means DefaultPageSize.
	PageSize int
}

// Summary is what [Log] verified.
type Summary struct {
	// Entries is the number of entries fetched, checked against the root and replayed.
	Entries int64
	// TreeSize and Root are the verified checkpoint's.
	TreeSize int64
	Root     tlog.Hash
	// Checkpoint is the verified checkpoint; Previous is the one verified before for this log, or
	// nil on the first run.
	Checkpoint translog.Checkpoint
	Previous   *translog.Checkpoint
	// Counts are the replay's.
	Counts
}

// Log verifies a server's whole log: it fetches the newest checkpoint and checks its signature with
// the pinned key; checks, with a consistency proof, that it extends the checkpoint verified last
// for this log (a server that rolled back or forked fails) and keeps it as the new last one;
// streams every entry from 0 to the tree size, rebuilding the Merkle root and proving each page
// against the checkpoint before replaying it, so that the rules are only ever checked on
// authenticated entries; and replays the rules over them (see [Replayer]).
//
// The first bad entry is reported as an [*EntryError]: an entry that is not the signed one
// (wrapping [ErrRootMismatch]), a missing one ([ErrMissingEntries]), or one the rules refuse.
//
// The new checkpoint is kept as soon as it is proven to extend the previous one, even if an entry
// then fails: the log has signed it and can never take it back, so a later rollback that hides a
// bad entry must fail too.
func Log(ctx context.Context, client candorv1.AuditServiceClient, opts Options) (Summary, error) {
	if opts.VerifierKey == "" {
		return Summary{}, errors.New("verify: no verifier key")
	}
	if opts.StateDir == "" {
		return Summary{}, errors.New("verify: no state folder to keep the last verified checkpoint in")
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	st := openState(opts.StateDir, opts.VerifierKey)
	prev, err := st.load()
	if err != nil {
		return Summary{}, err
	}
	cp, signed, err := fetchCheckpoint(ctx, client, opts.VerifierKey)
	if errors.Is(err, ErrNoCheckpoint) && prev != nil {
		return Summary{}, fmt.Errorf("%w: it had %d entries at the last verification and now has none", ErrNotConsistent, prev.Size)
	}
	if err != nil {
		return Summary{}, err
	}
	sum := Summary{TreeSize: cp.Size, Root: cp.Hash, Checkpoint: cp, Previous: prev}
	if prev != nil {
		if err := checkExtends(ctx, client, *prev, cp); err != nil {
			return sum, err
		}
	}
	if err := st.save(signed); err != nil {
		return sum, err
	}

	s := &stream{client: client, cp: cp, rb: translog.NewRootBuilder(), replay: NewReplayer(), pageSize: opts.PageSize}
	reported := int64(0)
	for s.next < cp.Size {
		if err := s.page(ctx); err != nil {
			sum.Entries, sum.Counts = s.next, s.replay.Summary()
			return sum, err
		}
		if opts.Progress != nil && (s.next-reported >= progressEvery || s.next == cp.Size) {
			opts.Progress(s.next, cp.Size)
			reported = s.next
		}
	}
	sum.Entries, sum.Counts = s.next, s.replay.Summary()
	return sum, nil
}

// fetchCheckpoint gets the server's newest checkpoint and opens it with the pinned key.
func fetchCheckpoint(ctx context.Context, client candorv1.AuditServiceClient, key string) (translog.Checkpoint, []byte, error) {
	resp, err := client.GetCheckpoint(ctx, &candorv1.GetCheckpointRequest{})
	if err != nil {
		return translog.Checkpoint{}, nil, fmt.Errorf("verify: GetCheckpoint: %w", err)
	}
	signed := resp.GetCheckpoint()
	if len(signed) == 0 {
		return translog.Checkpoint{}, nil, ErrNoCheckpoint
	}
	cp, err := translog.OpenCheckpoint(signed, key)
	if err != nil {
		return translog.Checkpoint{}, nil, fmt.Errorf("verify: the server's checkpoint: %w", err)
	}
	return cp, signed, nil
}

// checkExtends proves with the server's consistency proof that the tree of newer extends the
// tree of older. Both must already be trusted.
func checkExtends(ctx context.Context, client candorv1.AuditServiceClient, older, newer translog.Checkpoint) error {
	if newer.Size < older.Size {
		return fmt.Errorf("%w: it had %d entries and now has %d (rolled back)", ErrNotConsistent, older.Size, newer.Size)
	}
	var proof [][]byte
	if older.Size != 0 && older.Size != newer.Size {
		resp, err := client.GetConsistencyProof(ctx, &candorv1.GetConsistencyProofRequest{FirstSize: older.Size, SecondSize: newer.Size})
		if err != nil {
			return fmt.Errorf("%w: no consistency proof from %d to %d entries: %w", ErrNotConsistent, older.Size, newer.Size, err)
		}
		if resp.GetSecondSize() != newer.Size {
			return fmt.Errorf("%w: asked for a proof to %d entries, got one to %d", ErrNotConsistent, newer.Size, resp.GetSecondSize())
		}
		proof = resp.GetHashes()
	}
	if err := translog.VerifyConsistency(older, newer, proof); err != nil {
		return fmt.Errorf("%w: from %d to %d entries: %w", ErrNotConsistent, older.Size, newer.Size, err)
	}
	return nil
}

// stream fetches, authenticates and replays the entries of one checkpoint's tree, a page at a time.
type stream struct {
	client   candorv1.AuditServiceClient
	cp       translog.Checkpoint
	rb       *translog.RootBuilder
	replay   *Replayer
	pageSize int
	next     int64 // entries authenticated and replayed so far
}

// page handles the next page: fetch it, add it to the root, prove the root of everything so far
// against the checkpoint, then replay it.
func (s *stream) page(ctx context.Context) error {
	start := s.next
	n := min(int64(s.pageSize), s.cp.Size-start)
	resp, err := s.client.ListEntries(ctx, &candorv1.ListEntriesRequest{StartIndex: start, MaxEntries: int32(n)})
	if status.Code(err) == codes.ResourceExhausted && s.pageSize > 1 {
		// The page was larger than the client accepts: ask for fewer entries at a time.
		s.pageSize /= 2
		return nil
	}
	if status.Code(err) == codes.DataLoss {
		return s.locateWithheld(ctx, start, n, err)
	}
	if err != nil {
		return fmt.Errorf("verify: ListEntries from entry %d: %w", start, err)
	}
	entries := resp.GetEntries()
	if len(entries) == 0 {
		return &EntryError{Index: start, Err: fmt.Errorf("%w: no entries from %d, but the checkpoint has %d", ErrMissingEntries, start, s.cp.Size)}
	}
	if int64(len(entries)) > n {
		entries = entries[:n] // more than asked for: what lies beyond the checkpoint is not checked here
	}
	for i, e := range entries {
		if want := start + int64(i); e.GetIndex() != want {
			return &EntryError{Index: want, Err: fmt.Errorf("%w: entry %d was served in its place", ErrMissingEntries, e.GetIndex())}
		}
		if err := s.rb.Append(e.GetData()); err != nil {
			return err
		}
	}
	if err := s.prove(ctx); err != nil {
		if errors.Is(err, ErrRootMismatch) {
			return s.locate(ctx, entries, err)
		}
		return err
	}
	for _, e := range entries {
		if err := s.replay.Apply(e.GetIndex(), e.GetData()); err != nil {
			return err
		}
		s.next++
	}
	return nil
}

// prove checks that the root rebuilt from entries 0..rb.Size()-1 is the root of that prefix of the
// checkpoint's tree: equal to the checkpoint's root at the end, else by a consistency proof.
func (s *stream) prove(ctx context.Context) error {
	root, err := s.rb.Root()
	if err != nil {
		return err
	}
	prefix := translog.Checkpoint{Origin: s.cp.Origin, Size: s.rb.Size(), Hash: root}
	var proof [][]byte
	if prefix.Size < s.cp.Size {
		resp, err := s.client.GetConsistencyProof(ctx, &candorv1.GetConsistencyProofRequest{FirstSize: prefix.Size, SecondSize: s.cp.Size})
		if err != nil {
			return fmt.Errorf("verify: GetConsistencyProof from %d to %d: %w", prefix.Size, s.cp.Size, err)
		}
		if resp.GetSecondSize() != s.cp.Size {
			return fmt.Errorf("%w: asked for a proof to %d entries, got one to %d", ErrRootMismatch, s.cp.Size, resp.GetSecondSize())
		}
		proof = resp.GetHashes()
	}
	if err := translog.VerifyConsistency(prefix, s.cp, proof); err != nil {
		return fmt.Errorf("%w: the first %d entries served: %w", ErrRootMismatch, prefix.Size, err)
	}
	return nil
}

// locate names the first entry of a page that failed to prove (with failure) which is not the
// signed one, by checking each entry's inclusion proof against the checkpoint. The pages before
// were proven, so the first entry that fails is the first bad one. If every entry proves, the
// server's consistency proof, not its entries, was wrong, and failure is returned as it is.
func (s *stream) locate(ctx context.Context, entries []*candorv1.Entry, failure error) error {
	for _, e := range entries {
		resp, err := s.client.GetInclusionProof(ctx, &candorv1.GetInclusionProofRequest{Index: e.GetIndex(), TreeSize: s.cp.Size})
		if err == nil && resp.GetTreeSize() != s.cp.Size {
			err = fmt.Errorf("asked for a proof in the tree of %d entries, got one in %d", s.cp.Size, resp.GetTreeSize())
		}
		if err != nil {
			return fmt.Errorf("%w (no inclusion proof for entry %d to tell which entry is bad: %v)", failure, e.GetIndex(), err)
		}
		if err := translog.VerifyInclusion(e.GetIndex(), e.GetData(), resp.GetHashes(), s.cp); err != nil {
			return &EntryError{Index: e.GetIndex(), Kind: peekKind(e.GetData()),
				Err: fmt.Errorf("%w: the bytes served for this entry are not in the signed tree: %w", ErrRootMismatch, err)}
		}
	}
	return failure
}

// locateWithheld names the entry a server refused to serve in a page of n entries from start
// because, by its own check, it does not match the log's hashes (DataLoss, which Candor's server
// answers for LOG_CORRUPT). The server stops a page at its first bad entry and says which only in
// its message, which is not evidence; so the entry is found by asking again for shorter pages
// from start: a page fails exactly when it reaches the bad entry (a binary search, about ten
// calls for a page of 1000). If no shorter page fails, failure is returned as it is.
func (s *stream) locateWithheld(ctx context.Context, start, n int64, failure error) error {
	fails := func(k int64) (bool, error) {
		_, err := s.client.ListEntries(ctx, &candorv1.ListEntriesRequest{StartIndex: start, MaxEntries: int32(k)})
		if status.Code(err) == codes.DataLoss {
			return true, nil
		}
		return false, err
	}
	lo, hi := int64(1), n // the smallest failing page length lies in [lo, hi]
	if bad, err := fails(hi); err != nil || !bad {
		return fmt.Errorf("verify: ListEntries from entry %d: %w", start, failure)
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		bad, err := fails(mid)
		if err != nil {
			return fmt.Errorf("verify: ListEntries from entry %d: %w (asking again to find the entry: %v)", start, failure, err)
		}
		if bad {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return &EntryError{Index: start + lo - 1, Err: fmt.Errorf("%w (%s)", ErrServerCorrupt, status.Convert(failure).Message())}
}

// peekKind returns the kind of an entry's bytes, or ENTRY_KIND_UNSPECIFIED if they do not decode.
func peekKind(data []byte) candorv1.EntryKind {
	e := new(candorv1.LogEntry)
	if proto.Unmarshal(data, e) != nil {
		return candorv1.EntryKind_ENTRY_KIND_UNSPECIFIED
	}
	return e.GetKind()
}
