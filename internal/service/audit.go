package service

import (
	"context"
	"fmt"

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

// Entries calls fn with up to n log entries from start. Auditors and admins, or anyone with public audit.
func (s *Service) Entries(ctx context.Context, pr Principal, start int64, n int, fn func(index int64, data []byte) error) error {
	return s.store.View(func(tx *store.ReadTx) error {
		if err := s.canReadLog(tx, pr); err != nil {
			return err
		}
		if start < 0 || start > tx.PublishedSize() {
			return fmt.Errorf("%w: start %d, log size %d", store.ErrBadRange, start, tx.PublishedSize())
		}
		return tx.Entries(start, n, fn)
	})
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

func (s *Service) canReadLog(tx *store.ReadTx, pr Principal) error {
	if s.publicAudit {
		return nil
	}
	return requireAuditor(tx, pr)
}

// requireAuditor refuses callers who are neither auditors nor the admin.
func requireAuditor(tx *store.ReadTx, pr Principal) error {
	ok, err := isAuditor(tx, pr)
	if err == nil && !ok {
		err = domain.ErrAuditorOnly
	}
	return err
}

// DeclarationHistory lists a participant's declarations across all calls after log index `after`
// (-1: from the start). Auditors, admins and the participant themselves.
func (s *Service) DeclarationHistory(ctx context.Context, pr Principal, participant uuid.UUID, after int64, limit int) ([]*candorv1.HistoryEntry, error) {
	var out []*candorv1.HistoryEntry
	err := s.store.View(func(tx *store.ReadTx) error {
		if !(pr.isParticipant() && pr.Participant == participant) {
			if err := requireAuditor(tx, pr); err != nil {
				return err
			}
		}
		if _, err := tx.Participant(participant); err != nil {
			return err
		}
		indexes, err := tx.DeclarationHistory(participant, after, limit)
		if err != nil {
			return err
		}
		for _, i := range indexes {
			e, err := entry(tx, i)
			if err != nil {
				return err
			}
			h := &candorv1.HistoryEntry{LogIndex: i, Call: e.Subject, Declaration: e.GetDeclaration()}
			if b, c, err := resource.ParseCall(e.Subject); err == nil {
				if call, err := tx.Call(b, c); err == nil {
					h.CallTitle = call.Title
				}
			}
			out = append(out, h)
		}
		return nil
	})
	return out, err
}

// CallRecord lists every log entry about a call after log index `after` (-1: from the start).
// Auditors and admins.
func (s *Service) CallRecord(ctx context.Context, pr Principal, body, call uuid.UUID, after int64, limit int) ([]*candorv1.RecordEntry, error) {
	var out []*candorv1.RecordEntry
	err := s.store.View(func(tx *store.ReadTx) error {
		if err := requireAuditor(tx, pr); err != nil {
			return err
		}
		if _, err := tx.Call(body, call); err != nil {
			return err
		}
		indexes, err := tx.CallRecord(call, after, limit)
		if err != nil {
			return err
		}
		for _, i := range indexes {
			e, err := entry(tx, i)
			if err != nil {
				return err
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
