package verify_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/candorhq/candor/internal/daemon"
	"github.com/candorhq/candor/internal/offline"
	"github.com/candorhq/candor/internal/store"
	ts "github.com/candorhq/candor/internal/testserver"
	"github.com/candorhq/candor/internal/translog"
	"github.com/candorhq/candor/internal/verify"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// Bucket and key names of the store's schema (internal/store/schema.go), for editing a copy of the
// file as an operator with a text editor could.
var (
	bucketLog         = []byte("log")
	bucketMeta        = []byte("meta")
	bucketCheckpoints = []byte("checkpoints")
	metaLogSize       = []byte("log_size")
)

func u64(v int64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(v))
	return b
}

// copyDir copies the regular files of a stopped server's data folder (candor.db, log.key,
// log.pub, admin.token) to a new folder.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	if err := os.Chmod(dst, 0o700); err != nil { // candord refuses a data folder others can read
		t.Fatal(err)
	}
	files, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !f.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// editDB runs edit on the bbolt file of a stopped server's data folder.
func editDB(t *testing.T, dir string, edit func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, daemon.DBFile), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(edit); err != nil {
		t.Fatalf("editing %s: %v", dir, err)
	}
}

// entryValue returns a copy of entry i's stored bytes.
func entryValue(tx *bolt.Tx, i int64) []byte {
	return append([]byte(nil), tx.Bucket(bucketLog).Get(u64(i))...)
}

// otherKey returns the verifier key of a fresh log key with the same origin as key.
func otherKey(t *testing.T, key string) string {
	t.Helper()
	origin, _, _ := strings.Cut(key, "+")
	_, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	return vkey
}

// tamperFixture is a server's data folder after an honest session, stopped, with the verifier's
// state folder after a successful verification of it.
type tamperFixture struct {
	dataDir, stateDir, key string
	size                   int64             // entries in the log
	ballot                 int64             // index of a ballot entry
	ballotReceipt          *candorv1.Receipt // its receipt
	last                   *candorv1.Receipt
	auditorToken           string
	// ballotAuthorToken is the token of the participant who cast the ballot; bystanderToken that
	// of a participant, not an auditor, who did not.
	ballotAuthorToken, bystanderToken string
}

func newTamperFixture(t *testing.T) tamperFixture {
	t.Helper()
	srv := ts.Start(t)
	w := ts.NewWorld(t, srv)
	r := newRecord(t, w)
	r.session(false)
	f := tamperFixture{dataDir: srv.DataDir, stateDir: t.TempDir(), key: srv.VerifierKey, auditorToken: w.Auditor.Token}
	sum, err := verify.Log(w.Auditor.Ctx(t), w.Auditor.Audit, verify.Options{VerifierKey: f.key, StateDir: f.stateDir})
	if err != nil {
		t.Fatalf("Log of the honest server: %v", err)
	}
	f.ballotReceipt = r.ballots[len(r.ballots)/2]
	f.size, f.ballot, f.last = sum.TreeSize, f.ballotReceipt.LogIndex, r.last
	ballot := new(candorv1.LogEntry)
	if err := proto.Unmarshal(f.ballotReceipt.Entry, ballot); err != nil {
		t.Fatal(err)
	}
	for role, c := range map[string]*ts.Client{"chair": w.Chair, "alice": w.Alice, "bob": w.Bob, "carol": w.Carol} {
		if w.Names[role] == ballot.Actor {
			f.ballotAuthorToken = c.Token
		}
	}
	if f.ballotAuthorToken == "" {
		t.Fatalf("the ballot's actor %q is none of the world's members", ballot.Actor)
	}
	f.bystanderToken = w.Outsider.Token // on no body: wrote none of the session's entries
	if f.last.LogIndex != f.size-1 {
		t.Fatalf("the last write's entry is %d, want the last entry %d", f.last.LogIndex, f.size-1)
	}
	srv.Stop()
	return f
}

// serve starts a server on a copy of the fixture's data folder after edit, and returns a stopped
// copy of the edited folder, an auditor's
// client of it, and a client of a lying operator: one who serves the edited entries as they are in
// the file (skipping missing ones), as a malicious server would, with the real checkpoints and
// proofs.
//
// Candor's own server refuses to start on a file whose entries do not match their stored leaf
// hashes: refused is then its start-up error, honest is nil, and the lying operator's checkpoints
// and proofs come from a server started on the unedited copy (the edit left the hash tree, and so
// every checkpoint and proof, as it was). Only the lying client tests what the auditor catches on
// its own.
func (f tamperFixture) serve(t *testing.T, edit func(tx *bolt.Tx) error) (dir string, honest, lying *ts.Client, refused error) {
	t.Helper()
	dir = copyDir(t, f.dataDir)
	if edit != nil {
		editDB(t, dir, edit)
	}
	raw := readEntries(t, filepath.Join(dir, "candor.db"))
	serveDir := dir
	dir = copyDir(t, dir) // stays stopped, for candord check
	if refused = startErr(dir); refused != nil {
		serveDir = copyDir(t, f.dataDir)
	}
	srv := ts.Start(t, ts.DataDir(serveDir))
	if refused == nil {
		honest = ts.NewClient(srv.Conn(), f.auditorToken)
	}
	lying = ts.NewClient(srv.Conn(), f.auditorToken)
	lying.Audit = lyingAudit{AuditServiceClient: lying.Audit, entries: raw}
	return dir, honest, lying, refused
}

// startErr starts candord on dir and stops it at once; it returns the start-up error.
func startErr(dir string) error {
	d, err := daemon.New(daemon.Config{
		DataDir: dir, Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return d.Serve(ctx)
}

// readEntries reads the log bucket of a bbolt file as it is.
func readEntries(t *testing.T, path string) []*candorv1.Entry {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []*candorv1.Entry
	db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("log")).ForEach(func(k, v []byte) error {
			out = append(out, &candorv1.Entry{Index: int64(binary.BigEndian.Uint64(k)), Data: append([]byte(nil), v...)})
			return nil
		})
	})
	return out
}

// lyingAudit serves entries from a file it does not check.
type lyingAudit struct {
	candorv1.AuditServiceClient
	entries []*candorv1.Entry
}

func (l lyingAudit) ListEntries(_ context.Context, req *candorv1.ListEntriesRequest, _ ...grpc.CallOption) (*candorv1.ListEntriesResponse, error) {
	resp := &candorv1.ListEntriesResponse{}
	for _, e := range l.entries {
		if e.Index >= req.StartIndex && len(resp.Entries) < int(req.MaxEntries) {
			resp.Entries = append(resp.Entries, e)
		}
	}
	return resp, nil
}

// TestLogDetectsTampering edits a copy of an honest server's file, serves it, and checks that
// verification fails and names the bad entry: both for an auditor who verified the log before
// (and kept its checkpoint) and for one who never did.
func TestLogDetectsTampering(t *testing.T) {
	f := newTamperFixture(t)
	tests := []struct {
		name string
		edit func(tx *bolt.Tx) error
		// key is the pinned key; empty means the log's own.
		key func(t *testing.T) string
		// wantIndex is the entry the error must name, -1 for none.
		wantIndex int64
		// wantErr is what an auditor who kept the checkpoint of the honest log gets; wantFreshErr
		// what one who never verified this log gets (nil: success).
		wantErr, wantFreshErr error
	}{
		{
			name: "one byte of a ballot flipped",
			edit: func(tx *bolt.Tx) error {
				v := entryValue(tx, f.ballot)
				v[len(v)/2] ^= 0x01
				return tx.Bucket(bucketLog).Put(u64(f.ballot), v)
			},
			wantIndex: f.ballot,
			wantErr:   verify.ErrRootMismatch, wantFreshErr: verify.ErrRootMismatch,
		},
		{
			name: "one byte of the first entry flipped",
			edit: func(tx *bolt.Tx) error {
				v := entryValue(tx, 0)
				v[len(v)-1] ^= 0x20
				return tx.Bucket(bucketLog).Put(u64(0), v)
			},
			wantIndex: 0,
			wantErr:   verify.ErrRootMismatch, wantFreshErr: verify.ErrRootMismatch,
		},
		{
			name: "one byte of the last entry flipped",
			edit: func(tx *bolt.Tx) error {
				v := entryValue(tx, f.size-1)
				v[2] ^= 0x80
				return tx.Bucket(bucketLog).Put(u64(f.size-1), v)
			},
			wantIndex: f.size - 1,
			wantErr:   verify.ErrRootMismatch, wantFreshErr: verify.ErrRootMismatch,
		},
		{
			name: "a ballot swapped with the entry before it",
			edit: func(tx *bolt.Tx) error {
				a, b := entryValue(tx, f.ballot-1), entryValue(tx, f.ballot)
				if err := tx.Bucket(bucketLog).Put(u64(f.ballot-1), b); err != nil {
					return err
				}
				return tx.Bucket(bucketLog).Put(u64(f.ballot), a)
			},
			wantIndex: f.ballot - 1,
			wantErr:   verify.ErrRootMismatch, wantFreshErr: verify.ErrRootMismatch,
		},
		{
			name: "two distant entries swapped",
			edit: func(tx *bolt.Tx) error {
				a, b := entryValue(tx, 3), entryValue(tx, f.size-2)
				if err := tx.Bucket(bucketLog).Put(u64(3), b); err != nil {
					return err
				}
				return tx.Bucket(bucketLog).Put(u64(f.size-2), a)
			},
			wantIndex: 3,
			wantErr:   verify.ErrRootMismatch, wantFreshErr: verify.ErrRootMismatch,
		},
		{
			name:      "the last entry's bytes removed",
			edit:      func(tx *bolt.Tx) error { return tx.Bucket(bucketLog).Delete(u64(f.size - 1)) },
			wantIndex: f.size - 1,
			wantErr:   verify.ErrMissingEntries, wantFreshErr: verify.ErrMissingEntries,
		},
		{
			name:      "a ballot's bytes removed",
			edit:      func(tx *bolt.Tx) error { return tx.Bucket(bucketLog).Delete(u64(f.ballot)) },
			wantIndex: f.ballot,
			wantErr:   verify.ErrMissingEntries, wantFreshErr: verify.ErrMissingEntries,
		},
		{
			// The server starts on it: its newest checkpoint now matches its hashes. Only an
			// auditor who kept the checkpoint of the longer log can tell.
			name: "the last entry removed and the log rolled back to the checkpoint before",
			edit: func(tx *bolt.Tx) error {
				if err := tx.Bucket(bucketLog).Delete(u64(f.size - 1)); err != nil {
					return err
				}
				if err := tx.Bucket(bucketCheckpoints).Delete(u64(f.size)); err != nil {
					return err
				}
				return tx.Bucket(bucketMeta).Put(metaLogSize, u64(f.size-1))
			},
			wantIndex:    -1,
			wantErr:      verify.ErrNotConsistent,
			wantFreshErr: nil, // a valid log of one entry fewer
		},
		{
			name:         "a checkpoint signed by another key",
			key:          func(t *testing.T) string { return otherKey(t, f.key) },
			wantIndex:    -1,
			wantErr:      translog.ErrUnverifiedCheckpoint,
			wantFreshErr: translog.ErrUnverifiedCheckpoint,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, honest, client, refused := f.serve(t, tt.edit)
			key := f.key
			if tt.key != nil {
				key = tt.key(t)
			}

			// Candor's own server refuses to start on an entry that does not match its leaf hash,
			// naming it; it starts on a log rolled back whole (its hashes and checkpoint agree).
			if tt.wantIndex >= 0 {
				var ce *store.CorruptEntryError
				if !errors.Is(refused, store.ErrLogCorrupt) || !errors.As(refused, &ce) || ce.Index != tt.wantIndex {
					t.Errorf("start-up on the altered file: %v, want a CorruptEntryError naming entry %d", refused, tt.wantIndex)
				} else if want := fmt.Sprintf("log entry %d ", tt.wantIndex); !strings.Contains(refused.Error(), want) {
					t.Errorf("start-up error %q does not say %q", refused, want)
				}
			} else if refused != nil {
				t.Errorf("start-up on the file: %v, want it served", refused)
			}

			// candord check on the stopped folder finds what a first-time auditor finds, with the
			// folder's log.pub or the pinned key given.
			keyFile := filepath.Join(t.TempDir(), "pinned.pub")
			if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr strings.Builder
			code := offline.Main(offline.Config{DataDir: dir, KeyFile: keyFile}, &stdout, &stderr)
			switch {
			case tt.wantFreshErr == nil && code != 0:
				t.Errorf("candord check: exit %d, %s; want 0", code, stderr.String())
			case tt.wantFreshErr != nil && code != 1:
				t.Errorf("candord check: exit %d, stdout %q; want 1", code, stdout.String())
			case tt.wantIndex >= 0 && !strings.Contains(stderr.String(), fmt.Sprintf("entry %d ", tt.wantIndex)):
				t.Errorf("candord check: %q does not name entry %d", stderr.String(), tt.wantIndex)
			}
			if _, err := offline.Check(offline.Config{DataDir: dir, KeyFile: keyFile}); tt.wantIndex >= 0 {
				if p := (*offline.Problem)(nil); !errors.As(err, &p) || p.Index != tt.wantIndex {
					t.Errorf("offline.Check: %v, want a Problem naming entry %d", err, tt.wantIndex)
				}
			}

			// A receipt for the ballot, checked against what is served today.
			if tt.edit != nil && tt.wantIndex >= 0 {
				_, err := verify.ServedEntry(client.Ctx(t), client.Audit, f.ballot, f.ballotReceipt.Entry)
				changed := tt.wantIndex == f.ballot || (strings.Contains(tt.name, "swapped") && tt.wantIndex == f.ballot-1)
				var ee *verify.EntryError
				switch {
				case changed && (!errors.As(err, &ee) || ee.Index != f.ballot):
					t.Errorf("ServedEntry of the ballot's receipt: %v, want an EntryError naming entry %d", err, f.ballot)
				case !changed && err != nil:
					t.Errorf("ServedEntry of the untouched ballot: %v", err)
				}
			}

			for _, run := range []struct {
				name     string
				stateDir string
				wantErr  error
			}{
				{"auditor who verified before", copyDir(t, f.stateDir), tt.wantErr},
				{"first-time auditor", t.TempDir(), tt.wantFreshErr},
			} {
				if honest != nil {
					// Candor's own server, on the altered file, must not let verification pass either.
					_, honestErr := verify.Log(honest.Ctx(t), honest.Audit, verify.Options{VerifierKey: key, StateDir: copyDir(t, run.stateDir), PageSize: 5})
					if (honestErr == nil) != (run.wantErr == nil) {
						t.Errorf("%s: Log of the honest server on the altered file: %v, want failure %v", run.name, honestErr, run.wantErr != nil)
					}
				}
				_, err := verify.Log(client.Ctx(t), client.Audit, verify.Options{VerifierKey: key, StateDir: run.stateDir, PageSize: 5})
				if run.wantErr == nil {
					if err != nil {
						t.Errorf("%s: Log: %v, want success (nothing it can check was altered)", run.name, err)
					}
					continue
				}
				if !errors.Is(err, run.wantErr) {
					t.Errorf("%s: Log: %v, want an error wrapping %v", run.name, err, run.wantErr)
					continue
				}
				gotIndex := int64(-1)
				if ee := (*verify.EntryError)(nil); errors.As(err, &ee) {
					gotIndex = ee.Index
				}
				if gotIndex != tt.wantIndex {
					t.Errorf("%s: Log: %v; named entry %d, want %d (-1: none)", run.name, err, gotIndex, tt.wantIndex)
				}
			}
		})
	}
}

// TestRolledBackServerFailsAfterGrowingAgain rolls the log back by one entry, lets the server
// accept a different write in its place (a fork of the same size), and checks that an auditor who
// kept the old checkpoint, and a receipt for the removed entry, both fail.
func TestRolledBackServerFailsAfterGrowingAgain(t *testing.T) {
	f := newTamperFixture(t)
	dir := copyDir(t, f.dataDir)
	editDB(t, dir, func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketLog).Delete(u64(f.size - 1)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketCheckpoints).Delete(u64(f.size)); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(metaLogSize, u64(f.size-1))
	})
	srv := ts.Start(t, ts.DataDir(dir))
	auditor := ts.NewClient(srv.Conn(), f.auditorToken)

	proof, err := verify.ProofFromReceipt(f.last)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify.Receipt(auditor.Ctx(t), auditor.Audit, f.key, proof); !errors.Is(err, verify.ErrNotConsistent) {
		t.Errorf("Receipt for the removed entry on the rolled-back log: %v, want ErrNotConsistent", err)
	}

	// One write brings the log back to its old size, with another last entry.
	admin := ts.NewClient(srv.Conn(), srv.AdminToken)
	if _, err := admin.Bodies.CreateBody(admin.Ctx(t), &candorv1.CreateBodyRequest{Title: "Fork"}); err != nil {
		t.Fatal(err)
	}
	if got := checkpointSize(t, auditor, f.key); got != f.size {
		t.Fatalf("forked log has %d entries, want %d", got, f.size)
	}
	_, err = verify.Log(auditor.Ctx(t), auditor.Audit, verify.Options{VerifierKey: f.key, StateDir: copyDir(t, f.stateDir)})
	if !errors.Is(err, verify.ErrNotConsistent) || !errors.Is(err, translog.ErrProofFailed) {
		t.Errorf("Log of a fork of the same size: %v, want ErrNotConsistent (two roots for one size)", err)
	}
	if err := verify.Receipt(auditor.Ctx(t), auditor.Audit, f.key, proof); !errors.Is(err, verify.ErrNotConsistent) {
		t.Errorf("Receipt for the removed entry on the forked log: %v, want ErrNotConsistent", err)
	}
}

// TestServerRefusesALogThatDoesNotMatchItsCheckpoint removes the last entry and the log size but
// keeps the newest checkpoint: the server must refuse to start rather than serve it.
func TestServerRefusesALogThatDoesNotMatchItsCheckpoint(t *testing.T) {
	f := newTamperFixture(t)
	dir := copyDir(t, f.dataDir)
	editDB(t, dir, func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketLog).Delete(u64(f.size - 1)); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(metaLogSize, u64(f.size-1))
	})
	d, err := daemon.New(daemon.Config{
		DataDir: dir, Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err == nil {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		d.Serve(ctx)
		t.Fatal("daemon.New served a log shorter than its newest checkpoint")
	}
	if !errors.Is(err, store.ErrLogCorrupt) {
		t.Errorf("daemon.New: %v, want an error wrapping store.ErrLogCorrupt", err)
	}
}

// corruptUnder flips one byte of every copy of data in the bbolt file of a running server's data
// folder, writing to the file as a failing disk or a careless operator would, behind the server's
// back: the server reads it through its map of the file, and so sees the change.
func corruptUnder(t *testing.T, dir string, data []byte) {
	t.Helper()
	path := filepath.Join(dir, daemon.DBFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for off := 0; ; {
		i := bytes.Index(b[off:], data)
		if i < 0 {
			break
		}
		at := int64(off + i + len(data)/2)
		if _, err := f.WriteAt([]byte{b[at] ^ 0x01}, at); err != nil {
			t.Fatal(err)
		}
		n, off = n+1, off+i+len(data)
	}
	if n == 0 {
		t.Fatal("the entry's bytes are not in the file")
	}
}

// TestServerReportedCorruptionNamesTheEntry alters a ballot's stored bytes under a running server,
// which then refuses to serve it (DataLoss, LOG_CORRUPT): the auditor's verification and a receipt
// check must both name the entry, not only report that the server failed.
func TestServerReportedCorruptionNamesTheEntry(t *testing.T) {
	f := newTamperFixture(t)
	dir := copyDir(t, f.dataDir)
	srv := ts.Start(t, ts.DataDir(dir))
	auditor := ts.NewClient(srv.Conn(), f.auditorToken)
	corruptUnder(t, dir, f.ballotReceipt.Entry)

	for _, pageSize := range []int{0, 5, 1} {
		_, err := verify.Log(auditor.Ctx(t), auditor.Audit, verify.Options{VerifierKey: f.key, StateDir: copyDir(t, f.stateDir), PageSize: pageSize})
		var ee *verify.EntryError
		if !errors.Is(err, verify.ErrServerCorrupt) || !errors.As(err, &ee) || ee.Index != f.ballot {
			t.Errorf("page size %d: Log: %v, want an EntryError naming entry %d, wrapping ErrServerCorrupt", pageSize, err, f.ballot)
		}
	}

	proof, err := verify.ProofFromReceipt(f.ballotReceipt)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify.Receipt(auditor.Ctx(t), auditor.Audit, f.key, proof); err != nil {
		t.Errorf("Receipt: %v, want its proofs to pass (the hash tree is intact)", err)
	}
	compared, err := verify.ServedEntry(auditor.Ctx(t), auditor.Audit, f.ballot, f.ballotReceipt.Entry)
	var ee *verify.EntryError
	if !compared || !errors.Is(err, verify.ErrServerCorrupt) || !errors.As(err, &ee) || ee.Index != f.ballot {
		t.Errorf("ServedEntry: %v (compared %v), want an EntryError naming entry %d, wrapping ErrServerCorrupt", err, compared, f.ballot)
	}
	// An untouched entry is served as its receipt holds it.
	if compared, err := verify.ServedEntry(auditor.Ctx(t), auditor.Audit, f.last.LogIndex, f.last.Entry); !compared || err != nil {
		t.Errorf("ServedEntry of an untouched entry: %v (compared %v), want equal bytes", err, compared)
	}
	// The participant who cast the ballot reads back their own entry: their receipt fails too,
	// naming the entry.
	author := ts.NewClient(srv.Conn(), f.ballotAuthorToken)
	compared, err = verify.ServedEntry(author.Ctx(t), author.Audit, f.ballot, f.ballotReceipt.Entry)
	if !compared || !errors.Is(err, verify.ErrServerCorrupt) || !errors.As(err, &ee) || ee.Index != f.ballot {
		t.Errorf("ServedEntry as the ballot's author: %v (compared %v), want an EntryError naming entry %d, wrapping ErrServerCorrupt", err, compared, f.ballot)
	}
	// Another participant may not read an untouched entry they did not write, and a caller without
	// a valid token none: nothing is compared, and that is not a failure.
	bystander := ts.NewClient(srv.Conn(), f.bystanderToken)
	if compared, err := verify.ServedEntry(bystander.Ctx(t), bystander.Audit, f.last.LogIndex, f.last.Entry); compared || err != nil {
		t.Errorf("ServedEntry of another's entry as a participant: %v (compared %v), want not compared", err, compared)
	}
	alice := ts.NewClient(srv.Conn(), srv.AdminToken)
	alice.Token = "not-an-auditor"
	if compared, err := verify.ServedEntry(alice.Ctx(t), alice.Audit, f.ballot, f.ballotReceipt.Entry); compared || err != nil {
		t.Errorf("ServedEntry without an auditor's token: %v (compared %v), want not compared", err, compared)
	}
}

// TestCheckCleanFolder runs candord check on an honest stopped folder (exit 0, a one-line summary),
// and on the folder of a running server (refused: the file is locked).
func TestCheckCleanFolder(t *testing.T) {
	f := newTamperFixture(t)
	dir := copyDir(t, f.dataDir)
	sum, err := offline.Check(offline.Config{DataDir: dir})
	if err != nil {
		t.Fatalf("Check of an honest folder: %v", err)
	}
	if sum.Entries != f.size || sum.Checkpoints == 0 || sum.Ballots == 0 || sum.Origin != "candor.test/log" {
		t.Errorf("Check: %+v, want %d entries, checkpoints, ballots, origin candor.test/log", sum, f.size)
	}
	var stdout, stderr strings.Builder
	if code := offline.Main(offline.Config{DataDir: dir}, &stdout, &stderr); code != 0 || stderr.Len() != 0 ||
		!strings.HasPrefix(stdout.String(), "OK: ") || strings.Count(stdout.String(), "\n") != 1 {
		t.Errorf("candord check: exit %d, stdout %q, stderr %q; want 0 and one line", code, stdout.String(), stderr.String())
	}

	ts.Start(t, ts.DataDir(dir))
	stdout.Reset()
	start := time.Now()
	code := offline.Main(offline.Config{DataDir: dir}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "locked by a running candord") {
		t.Errorf("candord check on a running server's folder: exit %d, stderr %q; want 1, locked", code, stderr.String())
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("candord check waited %v for the lock", elapsed)
	}
}

// TestCheckFindsEntryRewrittenWithItsLeafHash alters a ballot and rewrites its stored leaf hash to
// match: the start-up check (entries against leaf hashes) cannot see it, but candord check, which
// rebuilds the root from the entries, names the entry.
func TestCheckFindsEntryRewrittenWithItsLeafHash(t *testing.T) {
	f := newTamperFixture(t)
	dir := copyDir(t, f.dataDir)
	editDB(t, dir, func(tx *bolt.Tx) error {
		v := entryValue(tx, f.ballot)
		v[len(v)/2] ^= 0x01
		if err := tx.Bucket(bucketLog).Put(u64(f.ballot), v); err != nil {
			return err
		}
		leaf := tlog.RecordHash(v)
		return tx.Bucket([]byte("hashes")).Put(u64(tlog.StoredHashIndex(0, f.ballot)), leaf[:])
	})
	_, err := offline.Check(offline.Config{DataDir: dir})
	if p := (*offline.Problem)(nil); !errors.As(err, &p) || p.Index != f.ballot {
		t.Errorf("Check: %v, want a Problem naming entry %d", err, f.ballot)
	}
}
