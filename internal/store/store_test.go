package store_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/protobuf/proto"

	"github.com/candorhq/candor/internal/store"
	"github.com/candorhq/candor/internal/translog"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// notary signs with a real log key in dir.
type notary struct{ s *translog.Signer }

func (n notary) Sign(size int64, root tlog.Hash) ([]byte, error) {
	return n.s.Sign(translog.Checkpoint{Origin: n.s.Origin(), Size: size, Hash: root})
}

func (n notary) Open(signed []byte) (int64, tlog.Hash, error) {
	cp, err := translog.OpenCheckpoint(signed, n.s.VerifierKey())
	return cp.Size, cp.Hash, err
}

func newNotary(t testing.TB, dir string) notary {
	s, err := translog.LoadOrCreateKey(dir, "candor.test/store")
	if err != nil {
		t.Fatal(err)
	}
	return notary{s}
}

// openTemp opens a store in a fresh temp folder and returns it with its path.
func openTemp(t testing.TB) (*store.Store, string, notary) {
	t.Helper()
	dir := t.TempDir()
	n := newNotary(t, dir)
	path := filepath.Join(dir, "candor.db")
	s, err := store.Open(path, n, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path, n
}

func addParticipant(ctx context.Context, s *store.Store, name string) (uuid.UUID, store.Commit, error) {
	id := uuid.Must(uuid.NewV7())
	commit, err := s.Update(ctx, func(tx *store.Tx) error {
		p := &candorv1.Participant{Name: "participants/" + id.String(), DisplayName: name}
		if err := tx.PutParticipant(id, p); err != nil {
			return err
		}
		_, _, err := tx.Append(&candorv1.LogEntry{Kind: candorv1.EntryKind_ENTRY_KIND_PARTICIPANT_ADDED,
			Payload: &candorv1.LogEntry_Participant{Participant: p}})
		return err
	})
	return id, commit, err
}

func TestOpenRefusesAlteredTree(t *testing.T) {
	tests := []struct {
		name  string
		alter func(btx *bolt.Tx) error
	}{
		// The start-up check recomputes the root from the stored hashes it rests on; a stored hash
		// off that path (an old leaf's) is caught by the offline auditor, who rehashes every entry.
		{"stored hash on the root path changed", func(btx *bolt.Tx) error {
			b := btx.Bucket([]byte("hashes"))
			k, v := b.Cursor().Last()
			w := append([]byte(nil), v...)
			w[0] ^= 1
			return b.Put(k, w)
		}},
		{"newest checkpoint removed", func(btx *bolt.Tx) error {
			b := btx.Bucket([]byte("checkpoints"))
			k, _ := b.Cursor().Last()
			return b.Delete(k)
		}},
		{"log size rolled back", func(btx *bolt.Tx) error {
			return btx.Bucket([]byte("meta")).Put([]byte("log_size"), []byte{0, 0, 0, 0, 0, 0, 0, 2})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, path, n := openTemp(t)
			for i := range 3 {
				if _, _, err := addParticipant(ctx, s, fmt.Sprint(i)); err != nil {
					t.Fatal(err)
				}
			}
			s.Close()
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(tt.alter); err != nil {
				t.Fatal(err)
			}
			db.Close()
			if s2, err := store.Open(path, n, store.Options{}); !errors.Is(err, store.ErrLogCorrupt) {
				if s2 != nil {
					s2.Close()
				}
				t.Fatalf("Open on an altered tree: got %v, want ErrLogCorrupt", err)
			}
		})
	}
}

func protoUnmarshal(b []byte, m *candorv1.LogEntry) error { return proto.Unmarshal(b, m) }

// tamperedStore writes 5 entries to a fresh store, closes it, runs edit on the file's log bucket, and
// returns the path and the notary.
func tamperedStore(t *testing.T, edit func(b *bolt.Bucket) error) (string, notary) {
	t.Helper()
	ctx := context.Background()
	s, path, n := openTemp(t)
	for i := range 5 {
		if _, _, err := addParticipant(ctx, s, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(btx *bolt.Tx) error { return edit(btx.Bucket([]byte("log"))) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	return path, n
}

func entryKey(i uint64) []byte { return binary.BigEndian.AppendUint64(nil, i) }

// entryEdits alter, remove or swap entries of the log bucket and leave the hash tree as it is:
// Open's root check, which reads only the stored hashes, cannot see them. want is the index the
// error must name.
var entryEdits = []struct {
	name string
	edit func(b *bolt.Bucket) error
	want int64
}{
	{"byte of entry 2 flipped", func(b *bolt.Bucket) error {
		w := append([]byte(nil), b.Get(entryKey(2))...)
		w[len(w)-1] ^= 1
		return b.Put(entryKey(2), w)
	}, 2},
	{"entry 0 removed", func(b *bolt.Bucket) error { return b.Delete(entryKey(0)) }, 0},
	{"last entry removed", func(b *bolt.Bucket) error { return b.Delete(entryKey(4)) }, 4},
	{"entries 1 and 3 swapped", func(b *bolt.Bucket) error {
		one, three := append([]byte(nil), b.Get(entryKey(1))...), append([]byte(nil), b.Get(entryKey(3))...)
		if err := b.Put(entryKey(1), three); err != nil {
			return err
		}
		return b.Put(entryKey(3), one)
	}, 1},
	{"entry added past the log's size", func(b *bolt.Bucket) error {
		return b.Put(entryKey(5), append([]byte(nil), b.Get(entryKey(4))...))
	}, 5},
}

// TestOpenRefusesAlteredEntries checks that the start-up check compares every entry with its leaf
// hash and names the first bad one.
func TestOpenRefusesAlteredEntries(t *testing.T) {
	for _, tt := range entryEdits {
		t.Run(tt.name, func(t *testing.T) {
			path, n := tamperedStore(t, tt.edit)
			s, err := store.Open(path, n, store.Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open served a log whose entries do not match their leaf hashes")
			}
			var ce *store.CorruptEntryError
			if !errors.Is(err, store.ErrLogCorrupt) || !errors.As(err, &ce) {
				t.Fatalf("Open: %v, want a CorruptEntryError wrapping ErrLogCorrupt", err)
			}
			if ce.Index != tt.want {
				t.Errorf("Open: %v; named entry %d, want %d", err, ce.Index, tt.want)
			}
			if want := fmt.Sprintf("entry %d ", tt.want); !strings.Contains(err.Error(), want) {
				t.Errorf("Open: %q does not say %q", err, want)
			}
		})
	}
}

// TestEntriesRefuseAlteredBytes checks that a read of entries (ListEntries) refuses an entry that
// does not match its leaf hash, on a file opened read-only (the server refuses to open it).
func TestEntriesRefuseAlteredBytes(t *testing.T) {
	for _, tt := range entryEdits[:4] {
		t.Run(tt.name, func(t *testing.T) {
			path, _ := tamperedStore(t, tt.edit)
			ro, err := store.OpenReadOnly(path)
			if err != nil {
				t.Fatal(err)
			}
			defer ro.Close()
			err = ro.View(func(tx *store.ReadTx) error {
				return tx.Entries(0, 10, func(int64, []byte) error { return nil })
			})
			var ce *store.CorruptEntryError
			if !errors.As(err, &ce) || ce.Index != tt.want {
				t.Errorf("Entries over an altered entry: got %v, want a CorruptEntryError naming entry %d", err, tt.want)
			}
		})
	}
}

// TestOpenReadOnly checks that a file a store holds open is refused as in use, and that once closed
// it opens read-only and passes the same check as Open, which then still opens it for writing.
func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	s, path, n := openTemp(t)
	for i := range 3 {
		if _, _, err := addParticipant(ctx, s, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if ro, err := store.OpenReadOnly(path); !errors.Is(err, store.ErrInUse) {
		if ro != nil {
			ro.Close()
		}
		t.Fatalf("OpenReadOnly on a file the server holds: %v, want ErrInUse", err)
	}
	want := s.Latest()
	s.Close()
	ro, err := store.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	var scanned int64
	err = ro.View(func(tx *store.ReadTx) error {
		cp, err := tx.CheckLog(n)
		if err != nil {
			return err
		}
		if cp.Size != want.Size || cp.Root != want.Root {
			t.Errorf("CheckLog: checkpoint of %d entries, want %d", cp.Size, want.Size)
		}
		return tx.ScanEntries(func(i int64, _ []byte) error {
			if i != scanned {
				t.Errorf("ScanEntries gave entry %d, want %d", i, scanned)
			}
			scanned++
			return nil
		})
	})
	if err != nil || scanned != 3 {
		t.Errorf("CheckLog and ScanEntries: %v, %d entries, want nil, 3", err, scanned)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := store.OpenReadOnly(filepath.Join(t.TempDir(), "none.db")); err == nil {
		t.Error("OpenReadOnly created a missing file")
	}
	s2, err := store.Open(path, n, store.Options{})
	if err != nil {
		t.Fatalf("Open after OpenReadOnly: %v", err)
	}
	s2.Close()
}
