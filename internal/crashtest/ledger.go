package crashtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/candorhq/candor/internal/translog"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// ErrLost reports acknowledged writes that the log no longer holds as they were acknowledged.
var ErrLost = errors.New("crashtest: acknowledged writes lost")

// pageSize is how many entries a check asks for at a time (the server's maximum).
const pageSize = 1000

// Ack is one acknowledged write: the receipt's entry and the checkpoint it was proven against.
type Ack struct {
	Index int64
	Entry []byte
	// Size is the tree size of the receipt's checkpoint.
	Size int64
}

// Ledger keeps every receipt a server handed out and every checkpoint they carried, and checks a
// server against them. It is safe for concurrent use.
type Ledger struct {
	key string // the log's verifier key

	mu          sync.Mutex
	acks        []Ack
	checkpoints map[int64]translog.Checkpoint // every checkpoint handed out, by tree size
}

// NewLedger returns an empty ledger for the log with the given verifier key (log.pub's text).
func NewLedger(verifierKey string) *Ledger {
	return &Ledger{key: verifierKey, checkpoints: map[int64]translog.Checkpoint{}}
}

// Keep verifies a receipt (its checkpoint's signature and its entry's inclusion proof) and keeps it.
func (l *Ledger) Keep(r *candorv1.Receipt) error {
	cp, err := translog.OpenCheckpoint(r.GetCheckpoint(), l.key)
	if err != nil {
		return fmt.Errorf("receipt for entry %d: %w", r.GetLogIndex(), err)
	}
	if err := translog.VerifyInclusion(r.GetLogIndex(), r.GetEntry(), r.GetInclusionProof(), cp); err != nil {
		return fmt.Errorf("receipt for entry %d: %w", r.GetLogIndex(), err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.keepCheckpoint(cp); err != nil {
		return err
	}
	l.acks = append(l.acks, Ack{Index: r.GetLogIndex(), Entry: bytes.Clone(r.GetEntry()), Size: cp.Size})
	return nil
}

// keepCheckpoint records cp; two different roots for one size are a fork. l.mu must be held.
func (l *Ledger) keepCheckpoint(cp translog.Checkpoint) error {
	if old, ok := l.checkpoints[cp.Size]; ok {
		if old.Hash != cp.Hash {
			return fmt.Errorf("%w: two signed checkpoints of size %d with different roots", translog.ErrProofFailed, cp.Size)
		}
		return nil
	}
	l.checkpoints[cp.Size] = cp
	return nil
}

// Acks returns how many writes were acknowledged.
func (l *Ledger) Acks() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acks)
}

// Result is what a check found.
type Result struct {
	// Size is the current tree's size.
	Size int64
	// Acked is how many acknowledged writes were checked; Lost how many are missing or changed.
	Acked, Lost int
	// Checkpoints is how many distinct checkpoints the current tree was checked to extend.
	Checkpoints int
	// Ballots is how many ballots the invariant was checked for.
	Ballots int
}

// Check audits a server against the ledger:
//
//   - its current checkpoint is signed by the log key, and it is kept too;
//   - every entry is read back (ListEntries) and the root rebuilt from them equals the checkpoint's;
//   - the first n entries rebuild the root of every kept checkpoint of size n (so the current tree
//     extends every checkpoint handed out), and the server's consistency proof from each of them
//     to the current tree verifies;
//   - every acknowledged write is at its index with the bytes it was acknowledged with;
//   - no ballot lacks a current declaration by the same participant for the same open call, filed
//     after the call opened, intending to participate and restating the participant's current SOI.
//
// Lost writes are counted in the result and reported as [ErrLost]; other failures are returned
// as they are found.
func (l *Ledger) Check(ctx context.Context, audit candorv1.AuditServiceClient) (Result, error) {
	var res Result
	resp, err := audit.GetCheckpoint(ctx, &candorv1.GetCheckpointRequest{})
	if err != nil {
		return res, fmt.Errorf("GetCheckpoint: %w", err)
	}
	cur, err := translog.OpenCheckpoint(resp.GetCheckpoint(), l.key)
	if err != nil {
		return res, fmt.Errorf("current checkpoint: %w", err)
	}
	res.Size = cur.Size

	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.keepCheckpoint(cur); err != nil {
		return res, err
	}
	acks := append([]Ack(nil), l.acks...)
	sort.Slice(acks, func(i, j int) bool { return acks[i].Index < acks[j].Index })
	res.Acked = len(acks)
	sizes := make([]int64, 0, len(l.checkpoints))
	for s := range l.checkpoints {
		sizes = append(sizes, s)
	}
	sort.Slice(sizes, func(i, j int) bool { return sizes[i] < sizes[j] })

	// One pass over the log: rebuild roots, compare acknowledged entries, replay the invariant.
	rb := translog.NewRootBuilder()
	inv := newInvariant()
	nextAck, nextSize := 0, 0
	checkPrefix := func() error {
		for nextSize < len(sizes) && sizes[nextSize] == rb.Size() {
			root, err := rb.Root()
			if err != nil {
				return err
			}
			if want := l.checkpoints[sizes[nextSize]]; root != want.Hash {
				return fmt.Errorf("%w: the first %d entries do not rebuild the root of the checkpoint handed out for that size", translog.ErrProofFailed, rb.Size())
			}
			nextSize++
			res.Checkpoints++
		}
		return nil
	}
	if err := checkPrefix(); err != nil { // size 0
		return res, err
	}
	for pages := int64(0); rb.Size() < cur.Size && pages <= cur.Size; pages++ {
		page, err := audit.ListEntries(ctx, &candorv1.ListEntriesRequest{StartIndex: rb.Size(), MaxEntries: pageSize})
		if err != nil {
			return res, fmt.Errorf("ListEntries from %d: %w", rb.Size(), err)
		}
		if len(page.GetEntries()) == 0 {
			return res, fmt.Errorf("ListEntries from %d of %d: no entries", rb.Size(), cur.Size)
		}
		for _, e := range page.GetEntries() {
			if rb.Size() == cur.Size {
				break // entries past the checkpoint we hold are checked next time
			}
			if e.GetIndex() != rb.Size() {
				return res, fmt.Errorf("ListEntries: entry %d served as %d", rb.Size(), e.GetIndex())
			}
			for nextAck < len(acks) && acks[nextAck].Index == e.GetIndex() {
				if !bytes.Equal(acks[nextAck].Entry, e.GetData()) {
					res.Lost++
				}
				nextAck++
			}
			if err := inv.apply(e.GetIndex(), e.GetData()); err != nil {
				return res, err
			}
			if err := rb.Append(e.GetData()); err != nil {
				return res, err
			}
			if err := checkPrefix(); err != nil {
				return res, err
			}
		}
	}
	if rb.Size() != cur.Size {
		return res, fmt.Errorf("read %d entries of a tree of %d", rb.Size(), cur.Size)
	}
	root, err := rb.Root()
	if err != nil {
		return res, err
	}
	if root != cur.Hash {
		return res, fmt.Errorf("%w: entries do not rebuild the current checkpoint's root", translog.ErrProofFailed)
	}
	res.Lost += len(acks) - nextAck // acknowledged past the current tree
	res.Ballots = inv.ballots
	if nextSize != len(sizes) {
		return res, fmt.Errorf("%w: %d checkpoints handed out are larger than the current tree of %d",
			translog.ErrProofFailed, len(sizes)-nextSize, cur.Size)
	}

	// The server's own consistency proofs, from every checkpoint handed out to the current tree.
	for _, s := range sizes {
		old := l.checkpoints[s]
		p, err := audit.GetConsistencyProof(ctx, &candorv1.GetConsistencyProofRequest{FirstSize: s, SecondSize: cur.Size})
		if err != nil {
			return res, fmt.Errorf("GetConsistencyProof(%d, %d): %w", s, cur.Size, err)
		}
		if err := translog.VerifyConsistency(old, cur, p.GetHashes()); err != nil {
			return res, err
		}
	}
	if res.Lost > 0 {
		return res, fmt.Errorf("%w: %d of %d", ErrLost, res.Lost, res.Acked)
	}
	return res, nil
}

// invariant replays the log's entries far enough to check that every ballot rests on a current
// declaration (DESIGN.md, "The invariant that is the product"). It is deliberately simpler than
// package verify's replay: it checks that one rule and nothing else.
type invariant struct {
	opened  map[string]int64                    // call name -> index of its CALL_OPENED
	closed  map[string]bool                     // call name -> closed
	soi     map[string]int64                    // participant -> current SOI version
	decl    map[[2]string]*candorv1.Declaration // (call, participant) -> current declaration
	ballots int
}

func newInvariant() *invariant {
	return &invariant{opened: map[string]int64{}, closed: map[string]bool{}, soi: map[string]int64{}, decl: map[[2]string]*candorv1.Declaration{}}
}

func (v *invariant) apply(index int64, data []byte) error {
	var e candorv1.LogEntry
	if err := proto.Unmarshal(data, &e); err != nil {
		return fmt.Errorf("entry %d does not decode: %w", index, err)
	}
	switch e.GetKind() {
	case candorv1.EntryKind_ENTRY_KIND_CALL_OPENED:
		v.opened[e.GetCall().GetName()] = index
	case candorv1.EntryKind_ENTRY_KIND_CALL_CLOSED:
		v.closed[e.GetCall().GetName()] = true
	case candorv1.EntryKind_ENTRY_KIND_SOI_VERSION:
		v.soi[e.GetSubject()] = e.GetStatementOfInterest().GetVersion()
	case candorv1.EntryKind_ENTRY_KIND_DECLARATION:
		d := e.GetDeclaration()
		if _, ok := v.opened[e.GetSubject()]; !ok {
			return fmt.Errorf("entry %d: declaration in %s, which was never opened", index, e.GetSubject())
		}
		v.decl[[2]string{e.GetSubject(), d.GetParticipant()}] = d
	case candorv1.EntryKind_ENTRY_KIND_BALLOT:
		v.ballots++
		b := e.GetBallot()
		call, who := e.GetSubject(), b.GetParticipant()
		d := v.decl[[2]string{call, who}]
		switch {
		case e.GetActor() != who:
			return fmt.Errorf("entry %d: ballot of %s cast by %s", index, who, e.GetActor())
		case v.closed[call]:
			return fmt.Errorf("entry %d: ballot in %s after it closed", index, call)
		case d == nil:
			return fmt.Errorf("entry %d: ballot by %s in %s with no declaration before it", index, who, call)
		case d.GetName() != b.GetDeclaration():
			return fmt.Errorf("entry %d: ballot rests on %s, but the current declaration is %s", index, b.GetDeclaration(), d.GetName())
		case d.GetIntent() != candorv1.Intent_INTENT_PARTICIPATE:
			return fmt.Errorf("entry %d: ballot after a declaration of %s", index, d.GetIntent())
		case d.GetSoiVersion() != v.soi[who]:
			return fmt.Errorf("entry %d: ballot on a stale declaration (SOI version %d, current %d)", index, d.GetSoiVersion(), v.soi[who])
		}
	}
	return nil
}
