package service

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/candorhq/candor/internal/store"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// WatchMinInterval is the least time between two states sent to one watcher. Under a burst of
// writes a watcher re-reads a call at most this often, so a projector watching a 1,000-member
// roster costs the server a bounded number of reads, whatever the write rate; a change still reaches
// it well within a second.
const WatchMinInterval = 50 * time.Millisecond

// watchers wakes the WatchCall streams of a call after a write changes it. Writers never wait on a
// watcher: a wake-up is a non-blocking send on a channel of capacity one, so any number of changes
// while a watcher is busy sending collapse into one, and the watcher then reads the latest state.
type watchers struct {
	mu     sync.Mutex
	byCall map[uuid.UUID]map[chan struct{}]struct{} // guarded by mu
}

func (w *watchers) add(call uuid.UUID) chan struct{} {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.byCall == nil {
		w.byCall = make(map[uuid.UUID]map[chan struct{}]struct{})
	}
	if w.byCall[call] == nil {
		w.byCall[call] = make(map[chan struct{}]struct{})
	}
	w.byCall[call][ch] = struct{}{}
	return ch
}

func (w *watchers) remove(call uuid.UUID, ch chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.byCall[call], ch)
	if len(w.byCall[call]) == 0 {
		delete(w.byCall, call)
	}
}

// changed wakes the watchers of the given calls.
func (w *watchers) changed(calls ...uuid.UUID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, call := range calls {
		for ch := range w.byCall[call] {
			wake(ch)
		}
	}
}

// changedAll wakes every watcher: for writes that can change any roster, such as a new SOI version
// (staleness, affected-party matches) or a member's stakeholder group.
func (w *watchers) changedAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, chs := range w.byCall {
		for ch := range chs {
			wake(ch)
		}
	}
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default: // already due to wake: this change will be in the state it reads
	}
}

// WatchCall calls send with the call and the first page of its roster, read in one snapshot, at
// once and again after each change, until ctx ends, send fails, or the caller may no longer read
// the call (the error says why). The call and the page together stay within bytes encoded bytes
// (0: [DefaultPageBytes]), with at least one entry; the rest of a larger roster is read with
// [Service.Roster] from the page's Next. send runs on the caller's goroutine, so a slow receiver
// delays only its own next read.
func (s *Service) WatchCall(ctx context.Context, pr Principal, body, call uuid.UUID, bytes int, send func(*candorv1.Call, RosterPage) error) error {
	wakeup := s.watchers.add(call)
	defer s.watchers.remove(call, wakeup)
	budget := PageLimit{Bytes: bytes}.budget()
	for {
		var c *candorv1.Call
		var page RosterPage
		err := s.store.View(func(tx *store.ReadTx) error {
			// Permission is checked on every read: a watcher who loses the right to read stops here.
			if err := canSeeBody(tx, pr, body); err != nil {
				return err
			}
			full, err := tx.Call(body, call)
			if err != nil {
				return err
			}
			c = summarize(full, SummaryItems)
			// What the call leaves of the budget, less the call's own field of the answer.
			page, err = roster(tx, body, call, full, 0, 0, budget-ItemSize(c))
			return err
		})
		if err != nil {
			return err
		}
		if err := send(c, page); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.stopWatch:
			return store.ErrClosed
		case <-time.After(WatchMinInterval):
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.stopWatch:
			return store.ErrClosed
		case <-wakeup:
		}
	}
}

// StopWatching ends every WatchCall stream, now and from now on, so a server shutting down is not
// held open by watchers until its drain times out.
func (s *Service) StopWatching() { s.stopWatchOnce.Do(func() { close(s.stopWatch) }) }

// remoteCommitted runs after another replica of an etcd-backed store commits (store.OnRemoteCommit):
// this replica's watchers see the change, and its clock never goes behind the newest entry, so a
// replica that takes over as sequencer with a slower clock still writes times that only grow.
func (s *Service) remoteCommitted() {
	newest := s.lastEntryTime()
	s.clockMu.Lock()
	if newest.After(s.last) {
		s.last = newest
	}
	s.clockMu.Unlock()
	s.watchers.changedAll()
}
