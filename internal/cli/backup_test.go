package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/candorhq/candor/internal/daemon"
	"github.com/candorhq/candor/internal/offline"
	"github.com/candorhq/candor/internal/testserver"
	"github.com/candorhq/candor/internal/verify"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// writeLoad runs voting rounds (a vote opened by the chair, then a declaration and a ballot from
// each member) in goroutines until stop, keeping every receipt acknowledged while before is set.
type writeLoad struct {
	w      *testserver.World
	before atomic.Bool // set until the backup begins

	mu       sync.Mutex
	acked    []*candorv1.Receipt // guarded by mu: receipts acknowledged while before was set
	all      int                 // guarded by mu: every receipt acknowledged
	firstErr error               // guarded by mu
}

func (l *writeLoad) note(r *candorv1.Receipt, err error) bool {
	before := l.before.Load() // read after the response arrived: true means it arrived before the backup
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		if l.firstErr == nil {
			l.firstErr = err
		}
		return false
	}
	if before {
		l.acked = append(l.acked, r)
	}
	l.all++
	return true
}

func (l *writeLoad) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all
}

func (l *writeLoad) round(ctx context.Context, soi map[*testserver.Client][]byte) bool {
	w := l.w
	call, err := w.Chair.Calls.OpenCall(withToken(ctx, w.Chair), &candorv1.OpenCallRequest{Body: w.Body, Call: &candorv1.Call{Title: "Adopt the statement"}})
	if !l.note(call.GetReceipt(), err) {
		return false
	}
	for _, c := range []*testserver.Client{w.Alice, w.Bob, w.Carol} {
		d, err := c.Calls.FileDeclaration(withToken(ctx, c), &candorv1.FileDeclarationRequest{
			Call:          call.Call.Name,
			Restatement:   &candorv1.FileDeclarationRequest_UnchangedSoiHash{UnchangedSoiHash: soi[c]},
			ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, Intent: candorv1.Intent_INTENT_PARTICIPATE,
		})
		if !l.note(d.GetReceipt(), err) {
			return false
		}
		b, err := c.Calls.CastBallot(withToken(ctx, c), &candorv1.CastBallotRequest{Call: call.Call.Name, Option: "yes"})
		if !l.note(b.GetReceipt(), err) {
			return false
		}
	}
	return true
}

// withToken is ctx carrying c's token, as c.Ctx does without a testing.TB (the writers run in
// goroutines, where t.Fatal must not be called).
func withToken(ctx context.Context, c *testserver.Client) context.Context {
	return testserver.WithToken(ctx, c.Token)
}

func TestBackupUnderWriteLoadRestores(t *testing.T) {
	srv := testserver.Start(t)
	w := testserver.NewWorld(t, srv)
	tmp := t.TempDir()
	keyFile := filepath.Join(tmp, "log.pub")
	if err := os.WriteFile(keyFile, []byte(srv.VerifierKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	soi := map[*testserver.Client][]byte{}
	for _, c := range []*testserver.Client{w.Alice, w.Bob, w.Carol} {
		resp, err := c.Participants.GetStatementOfInterest(c.Ctx(t), &candorv1.GetStatementOfInterestRequest{})
		if err != nil {
			t.Fatal(err)
		}
		soi[c] = resp.StatementOfInterest.ContentHash
	}

	load := &writeLoad{w: w}
	load.before.Store(true)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && load.round(ctx, soi) {
			}
		}()
	}
	waitFor := func(n int) {
		for load.count() < n {
			load.mu.Lock()
			err := load.firstErr
			load.mu.Unlock()
			if err != nil {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}

	waitFor(150)
	load.before.Store(false) // from here on, a receipt may or may not be in the backup
	backupFile := filepath.Join(tmp, "candor.backup")
	var stdout, stderr bytes.Buffer
	code := Execute([]string{"--addr", srv.Addr, "--config-dir", t.TempDir(), "--token", srv.AdminToken,
		"admin", "backup", backupFile, "--key", keyFile}, &stdout, &stderr)
	atBackup := load.count()
	waitFor(atBackup + 100) // keep writing after the snapshot
	stop()
	wg.Wait()
	if load.firstErr != nil && !errors.Is(load.firstErr, context.Canceled) && !strings.Contains(load.firstErr.Error(), "context canceled") {
		t.Fatalf("a write under load failed: %v", load.firstErr)
	}
	if code != ExitOK {
		t.Fatalf("candor admin backup: exit %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "verified") {
		t.Errorf("candor admin backup printed %q, want a verified summary", stdout.String())
	}
	if fi, err := os.Stat(backupFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, mode %v; want 0600", err, fi.Mode())
	}
	if _, err := os.Stat(backupFile + ".partial"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("FILE.partial left behind: %v", err)
	}
	t.Logf("%d receipts acknowledged before the backup, %d at its end, %d in all", len(load.acked), atBackup, load.count())

	// Restore into a new folder, put the keys in place, start a server on it.
	dir := filepath.Join(t.TempDir(), "restored")
	var rout, rerr bytes.Buffer
	if code := offline.RestoreMain(offline.RestoreConfig{From: backupFile, DataDir: dir, KeyFile: keyFile}, &rout, &rerr); code != 0 {
		t.Fatalf("candord restore: exit %d: %s", code, rerr.String())
	}
	if !strings.Contains(rout.String(), "log.key") {
		t.Errorf("restore's output %q does not tell the operator to put log.key in place", rout.String())
	}
	for _, name := range []string{daemon.LogKeyFile, daemon.AdminTokenFile} {
		b, err := os.ReadFile(filepath.Join(srv.DataDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	restored := testserver.Start(t, testserver.DataDir(dir))
	audit := candorv1.NewAuditServiceClient(restored.Conn())
	actx := testserver.WithToken(context.Background(), restored.AdminToken)
	cp, err := audit.GetCheckpoint(actx, &candorv1.GetCheckpointRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cp.Checkpoint) == 0 {
		t.Fatal("the restored server has no checkpoint")
	}

	// Every receipt acknowledged before the backup began checks against the restored server.
	for _, r := range load.acked {
		p, err := verify.ProofFromReceipt(r)
		if err == nil {
			err = verify.Receipt(actx, audit, srv.VerifierKey, p)
		}
		if err != nil {
			t.Fatalf("receipt for entry %d, acknowledged before the backup: %v", r.LogIndex, err)
		}
	}
	if len(load.acked) < 150 {
		t.Errorf("only %d receipts were acknowledged before the backup, want at least 150", len(load.acked))
	}

	// The whole restored log verifies from the outside too.
	stdout.Reset()
	stderr.Reset()
	if code := Execute([]string{"--addr", restored.Addr, "--config-dir", t.TempDir(), "--token", restored.AdminToken,
		"audit", "verify", "--key", keyFile}, &stdout, &stderr); code != ExitOK {
		t.Fatalf("candor audit verify on the restored server: exit %d: %s", code, stderr.String())
	}
}

// corruptingAudit is an AuditServiceClient whose StreamBackup flips one byte of the copy inside
// the bytes of entry, and, when resum is set, sends the SHA-256 of the damaged copy, as a server
// with a damaged disk would.
type corruptingAudit struct {
	candorv1.AuditServiceClient
	entry []byte
	resum bool
}

func (c corruptingAudit) StreamBackup(ctx context.Context, in *candorv1.StreamBackupRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[candorv1.StreamBackupResponse], error) {
	s, err := c.AuditServiceClient.StreamBackup(ctx, in, opts...)
	if err != nil {
		return nil, err
	}
	var file []byte
	var last *candorv1.StreamBackupResponse
	for last == nil {
		resp, err := s.Recv()
		if err != nil {
			return nil, err
		}
		if len(resp.Data) == 0 {
			last = resp
		}
		file = append(file, resp.Data...)
	}
	i := bytes.Index(file, c.entry)
	if i < 0 {
		return nil, errors.New("test: the entry is not in the copy")
	}
	file[i+len(c.entry)/2] ^= 0x01
	if c.resum {
		h := sha256.Sum256(file)
		last.Sha256 = h[:]
	}
	return &replay{msgs: []*candorv1.StreamBackupResponse{{Data: file}, last}}, nil
}

type replay struct {
	grpc.ServerStreamingClient[candorv1.StreamBackupResponse]
	msgs []*candorv1.StreamBackupResponse
}

func (r *replay) Recv() (*candorv1.StreamBackupResponse, error) {
	if len(r.msgs) == 0 {
		return nil, io.EOF
	}
	m := r.msgs[0]
	r.msgs = r.msgs[1:]
	return m, nil
}

func TestCorruptBackupLeavesNoFile(t *testing.T) {
	srv := testserver.Start(t)
	w := testserver.NewWorld(t, srv)
	call := w.OpenVote(t, nil)
	d := w.Declare(t, w.Alice, call.Name, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.Intent_INTENT_PARTICIPATE)
	for _, tc := range []struct {
		name  string
		resum bool
		want  string
	}{
		{"damaged on the way", false, "SHA-256"},
		{"damaged at the source", true, "failed verification"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "candor.backup")
			cl := &clients{audit: corruptingAudit{AuditServiceClient: w.Admin.Audit, entry: d.Receipt.Entry, resum: tc.resum}}
			_, err := backup(testserver.WithToken(context.Background(), srv.AdminToken), cl, path, srv.VerifierKey, nil)
			var f *failure
			if !errors.As(err, &f) || !strings.Contains(f.msg, tc.want) {
				t.Fatalf("backup of a damaged copy: %v, want a failure naming %q", err, tc.want)
			}
			t.Log(f.msg)
			for _, p := range []string{path, path + ".partial"} {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s: %v, want it absent", filepath.Base(p), err)
				}
			}
		})
	}
}

func TestBackupRefusesNonAdmin(t *testing.T) {
	s := newSession(t)
	w := testserver.NewWorld(t, s.srv)
	keyFile := filepath.Join(t.TempDir(), "log.pub")
	if err := os.WriteFile(keyFile, []byte(s.srv.VerifierKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "candor.backup")
	for _, tok := range []string{w.Auditor.Token, w.Alice.Token} {
		s.refused("ADMIN_REQUIRED", tok, "admin", "backup", path, "--key", keyFile)
		for _, p := range []string{path, path + ".partial"} {
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: %v, want it absent", filepath.Base(p), err)
			}
		}
	}
}
