package service

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/protobuf/proto"

	"github.com/candorhq/candor/internal/store"
	"github.com/candorhq/candor/internal/translog"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

type notary struct{ s *translog.Signer }

func (n notary) Sign(size int64, root tlog.Hash) ([]byte, error) {
	return n.s.Sign(translog.Checkpoint{Origin: n.s.Origin(), Size: size, Hash: root})
}

func (n notary) Open(signed []byte) (int64, tlog.Hash, error) {
	cp, err := translog.OpenCheckpoint(signed, n.s.VerifierKey())
	return cp.Size, cp.Hash, err
}

// TestEntryTimesNeverGoBackwards steps the wall clock back between writes and across a restart:
// entry times must not follow it, or the log could never verify.
func TestEntryTimesNeverGoBackwards(t *testing.T) {
	dir := t.TempDir()
	signer, err := translog.LoadOrCreateKey(dir, "candor.test/clock")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "candor.db")
	base := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	steps := []time.Duration{0, time.Hour, -time.Hour, 2 * time.Hour, -3 * time.Hour}
	i := 0
	now := func() time.Time { return base.Add(steps[i%len(steps)]) }
	admin := Principal{Admin: true}
	for round := range 2 { // the second round reopens the store: the clock must remember
		st, err := store.Open(path, notary{signer}, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		svc := New(Config{Store: st, Now: now})
		for range len(steps) {
			if _, _, err := svc.CreateBody(context.Background(), admin, "b", Request{}); err != nil {
				t.Fatal(err)
			}
			i++
		}
		if round == 1 {
			var last time.Time
			st.View(func(tx *store.ReadTx) error {
				return tx.Entries(0, 100, func(index int64, data []byte) error {
					e := new(candorv1.LogEntry)
					if err := proto.Unmarshal(data, e); err != nil {
						return err
					}
					if got := e.Time.AsTime(); got.Before(last) {
						t.Errorf("entry %d at %v, before the previous entry's %v", index, got, last)
					} else {
						last = got
					}
					return nil
				})
			})
		}
		st.Close()
	}
}
