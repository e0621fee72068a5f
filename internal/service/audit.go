package service

import (
	"context"
	"fmt"
	"io"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/protobuf/proto"

	"github.com/candorhq/candor/internal/domain"
	"github.com/candorhq/candor/internal/resource"
	"github.com/candorhq/candor/internal/store"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// Checkpoint returns the newest signed checkpoint (nil while the log is empty).
func (s *Service) Checkpoint(ctx context.Context, pr Principal) (store.Checkpoint, error) {
	return s.store.Latest(), nil
}

// Entries calls fn with up to n log entries from start. Auditors and admins, or anyone with public
// audit; a participant may ask for one entry (n == 1) and is served it when they wrote it
// ([domain.CanReadEntry]).
func (s *Service) Entries(ctx context.Context, pr Principal, start int64, n int, fn func(index int64, data []byte) error) error {
	return s.store.View(func(tx *store.ReadTx) error {
		v, err := viewer(tx, pr)
		if err != nil {
			return err
		}
		whole := domain.CanReadLog(v, s.publicAudit)
		if whole != nil && (n != 1 || !v.IsParticipant()) {
			return whole
		}
		if start < 0 || start > tx.PublishedSize() {
			return fmt.Errorf("%w: start %d, log size %d", store.ErrBadRange, start, tx.PublishedSize())
		}
		if whole == nil {
			return tx.Entries(start, n, fn)
		}
		return ownEntry(tx, v, s.publicAudit, start, fn)
	})
}

// ownEntry calls fn with entry index when v may read it ([domain.CanReadEntry]: v wrote it). The
// entry is checked against its leaf hash before its actor is read, so an altered entry is reported
// as corrupt (store.ErrLogCorrupt) to whoever asks for it: its actor cannot be trusted, and the
// corruption is no secret from anyone holding a receipt.
func ownEntry(tx *store.ReadTx, v domain.Viewer, publicAudit bool, index int64, fn func(index int64, data []byte) error) error {
	var data []byte
	if err := tx.Entries(index, 1, func(_ int64, d []byte) error {
		data = d
		return nil
	}); err != nil {
		return err
	}
	actor := "" // none at the log's end: nobody's entry
	if data != nil {
		e := new(candorv1.LogEntry)
		if err := proto.Unmarshal(data, e); err != nil {
			return fmt.Errorf("service: decode log entry %d: %w", index, err)
		}
		actor = e.GetActor()
	}
	if err := domain.CanReadEntry(v, publicAudit, actor); err != nil {
		return err
	}
	return fn(index, data)
}

// InclusionProof proves entry index is in the tree of size entries (0: the newest checkpoint's).
func (s *Service) InclusionProof(ctx context.Context, pr Principal, index, size int64) ([]tlog.Hash, int64, error) {
	if size == 0 {
		size = s.store.Latest().Size
	}
	var proof []tlog.Hash
	err := s.store.View(func(tx *store.ReadTx) error {
		var err error
		proof, err = tx.InclusionProof(index, size)
		return err
	})
	return proof, size, err
}

// ConsistencyProof proves the tree of size older is a prefix of the tree of size newer (0: newest).
func (s *Service) ConsistencyProof(ctx context.Context, pr Principal, older, newer int64) ([]tlog.Hash, int64, error) {
	if newer == 0 {
		newer = s.store.Latest().Size
	}
	var proof []tlog.Hash
	err := s.store.View(func(tx *store.ReadTx) error {
		var err error
		proof, err = tx.ConsistencyProof(older, newer)
		return err
	})
	return proof, newer, err
}

// DeclarationHistory lists a participant's declarations across all calls after log index `after`
// (-1: from the start). Auditors, admins and the participant themselves read them all; any other
// participant reads those filed in calls of bodies they are a member of, the calls whose rosters
// show them the same declarations (docs/permissions.md). It reads limit entries of the history
// (0: all), so a page may hold fewer once filtered; next is the index to continue after (-1 when the
// history has no more).
func (s *Service) DeclarationHistory(ctx context.Context, pr Principal, participant uuid.UUID, after int64, limit int) (out []*candorv1.HistoryEntry, next int64, err error) {
	next = -1
	err = s.store.View(func(tx *store.ReadTx) error {
		v, err := viewer(tx, pr)
		if err != nil {
			return err
		}
		if !v.Oversees() && !v.IsParticipant() {
			return domain.ErrAuditorOnly
		}
		whole := v.Oversees() || v.Participant == resource.Participant(participant)
		if _, err := tx.Participant(participant); err != nil {
			return err
		}
		ask := limit + 1 // one more, to know whether there is more
		if limit <= 0 {
			ask = 0 // no limit
		}
		indexes, err := tx.DeclarationHistory(participant, after, ask)
		if err != nil {
			return err
		}
		if limit > 0 && len(indexes) > limit {
			indexes = indexes[:limit]
			next = indexes[limit-1]
		}
		member := map[uuid.UUID]bool{} // the caller's memberships, by body, read once each
		for _, i := range indexes {
			e, err := entry(tx, i)
			if err != nil {
				return err
			}
			h := &candorv1.HistoryEntry{LogIndex: i, Call: e.Subject, Declaration: e.GetDeclaration()}
			b, c, err := resource.ParseCall(e.Subject)
			if !whole {
				if err != nil {
					continue
				}
				ok, seen := member[b]
				if !seen {
					m, err := membership(tx, pr, b)
					if err != nil {
						return err
					}
					ok = domain.CanSeeBody(v, m) == nil
					member[b] = ok
				}
				if !ok {
					continue
				}
			}
			if err == nil {
				if call, err := tx.Call(b, c); err == nil {
					h.CallTitle = call.Title
				}
			}
			out = append(out, h)
		}
		return nil
	})
	return out, next, err
}

// CallRecord lists every log entry about a call after log index `after` (-1: from the start).
// Members of the body, auditors and admins; while the call is open, a member sees the choice of no
// ballot or position but their own ([domain.ShowsChoice]).
func (s *Service) CallRecord(ctx context.Context, pr Principal, body, call uuid.UUID, after int64, limit int) ([]*candorv1.RecordEntry, error) {
	var out []*candorv1.RecordEntry
	err := s.store.View(func(tx *store.ReadTx) error {
		v, err := viewer(tx, pr)
		if err != nil {
			return err
		}
		if err := canSeeBody(tx, pr, body); err != nil {
			return err
		}
		c, err := tx.CallHead(body, call)
		if err != nil {
			return err
		}
		open := c.GetState() == candorv1.CallState_CALL_STATE_OPEN
		indexes, err := tx.CallRecord(call, after, limit)
		if err != nil {
			return err
		}
		for _, i := range indexes {
			e, err := entry(tx, i)
			if err != nil {
				return err
			}
			if author := domain.ChoiceAuthor(e); author != "" && !domain.ShowsChoice(v, author, open) {
				domain.RedactChoice(e)
			}
			out = append(out, &candorv1.RecordEntry{LogIndex: i, Entry: e})
		}
		return nil
	})
	return out, err
}

func entry(tx *store.ReadTx, index int64) (*candorv1.LogEntry, error) {
	data, err := tx.Entry(index)
	if err != nil {
		return nil, err
	}
	e := new(candorv1.LogEntry)
	if err := proto.Unmarshal(data, e); err != nil {
		return nil, fmt.Errorf("service: decode log entry %d: %w", index, err)
	}
	return e, nil
}

// Backup writes a consistent copy of the store's file to w while writes go on ([store.Store.Backup]).
// The admin only: the copy holds every token hash and every record.
//
// size, when not nil, is called with the copy's length in bytes before its first byte reaches w, so
// that a stream can announce its total (a progress bar) from its first message.
func (s *Service) Backup(ctx context.Context, pr Principal, w io.Writer, size func(int64)) (store.Snapshot, error) {
	if err := domain.RequireAdmin(pr.known()); err != nil {
		return store.Snapshot{}, err
	}
	return s.store.Backup(ctx, w, size)
}
