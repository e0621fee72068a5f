package rpc_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/candorhq/candor/internal/etcdtest"
	ts "github.com/candorhq/candor/internal/testserver"
	"github.com/candorhq/candor/internal/translog"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestReplicasShareOneLog runs two candord replicas on one etcd store: writes sent to the one that
// does not sequence are forwarded, its watchers see the other's writes, and when the sequencer
// stops the other takes over and continues the same log.
func TestReplicasShareOneLog(t *testing.T) {
	cluster := etcdtest.Start(t, 1, etcdtest.Options{MaxTxnOps: 4096})
	const prefix = "/replicas/"
	a := ts.Start(t, ts.Etcd(cluster.Endpoints(), prefix))
	dirB := filepath.Join(t.TempDir(), "data")
	ts.ShareSecrets(t, a.DataDir, dirB)
	b := ts.Start(t, ts.DataDir(dirB), ts.Etcd(cluster.Endpoints(), prefix))

	// Every write of the world's set-up goes to b, which forwards it to a.
	w := ts.NewWorld(t, b)
	call := w.OpenVote(t, nil).Name

	// A watcher on b sees a declaration written through a.
	ctx, cancel := context.WithCancel(w.Chair.Ctx(t))
	defer cancel()
	stream, err := w.Chair.Calls.WatchCall(ctx, &candorv1.WatchCallRequest{Name: call})
	if err != nil {
		t.Fatal(err)
	}
	recvUntil(t, stream, "the initial roster", func(*candorv1.WatchCallResponse) bool { return true })
	aliceOnA := ts.NewClient(a.Conn(), w.Alice.Token)
	w.Declare(t, aliceOnA, call, none, join)
	recvUntil(t, stream, "alice's declaration, written through the other replica", func(r *candorv1.WatchCallResponse) bool {
		return rosterEntry(r, w.Names["alice"]).GetDeclaration() != nil
	})
	if _, err := ts.Vote(t, w.Alice, call, "yes"); err != nil {
		t.Fatalf("vote through the replica that forwards: %v", err)
	}

	// Both replicas serve the same checkpoint, once b's watch has caught up with a's last commit.
	onA, onB := ts.NewClient(a.Conn(), w.Auditor.Token), ts.NewClient(b.Conn(), w.Auditor.Token)
	var before translog.Checkpoint
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		before = checkpoint(t, onB, b.VerifierKey)
		got := checkpoint(t, onA, b.VerifierKey)
		if got.Size == before.Size && got.Hash == before.Hash {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas serve different checkpoints: %d and %d", got.Size, before.Size)
		}
	}

	// The sequencer goes; b takes over once a's lease is gone, and the log continues.
	a.Stop()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := ts.Vote(t, w.Alice, call, "no")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes did not resume on the remaining replica: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	after := checkpoint(t, w.Auditor, b.VerifierKey)
	if after.Size <= before.Size {
		t.Fatalf("log size %d after the handover, want more than %d", after.Size, before.Size)
	}
	proof, err := w.Auditor.Audit.GetConsistencyProof(w.Auditor.Ctx(t), &candorv1.GetConsistencyProofRequest{FirstSize: before.Size, SecondSize: after.Size})
	if err != nil {
		t.Fatal(err)
	}
	if err := translog.VerifyConsistency(before, after, proof.Hashes); err != nil {
		t.Fatalf("the new sequencer's log does not extend the old one's: %v", err)
	}
}

func checkpoint(t *testing.T, c *ts.Client, key string) translog.Checkpoint {
	t.Helper()
	resp, err := c.Audit.GetCheckpoint(c.Ctx(t), &candorv1.GetCheckpointRequest{})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := translog.OpenCheckpoint(resp.Checkpoint, key)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}
