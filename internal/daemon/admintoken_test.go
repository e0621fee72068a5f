package daemon_test

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/internal/daemon"
	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestRotateAdminTokenOffline is the documented way to rotate the admin token (README, "Running the
// server"): stop the server, delete admin.token, start it again. The old token stops working, a new
// one is written owner-only, and nothing else changes: participants' tokens, the log and its key.
func TestRotateAdminTokenOffline(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	srv := ts.Start(t, ts.DataDir(dir))
	w := ts.NewWorld(t, srv)
	before, err := w.Auditor.Audit.GetCheckpoint(w.Auditor.Ctx(t), &candorv1.GetCheckpointRequest{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if err := os.Remove(filepath.Join(dir, daemon.AdminTokenFile)); err != nil {
		t.Fatal(err)
	}

	again := ts.Start(t, ts.DataDir(dir))
	if again.AdminToken == "" || again.AdminToken == srv.AdminToken || again.VerifierKey != srv.VerifierKey {
		t.Fatalf("after deleting admin.token: new token %q (old %q), key changed %v", again.AdminToken, srv.AdminToken, again.VerifierKey != srv.VerifierKey)
	}
	if fi, err := os.Stat(filepath.Join(dir, daemon.AdminTokenFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("new admin.token: %v (mode %v), want 0600", err, fi.Mode().Perm())
	}
	oldAdmin := ts.NewClient(again.Conn(), srv.AdminToken)
	_, err = oldAdmin.Bodies.CreateBody(oldAdmin.Ctx(t), &candorv1.CreateBodyRequest{Title: "stolen"})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("old admin token: %v, want Unauthenticated", err)
	}
	admin := ts.NewClient(again.Conn(), again.AdminToken)
	if _, err := admin.Bodies.CreateBody(admin.Ctx(t), &candorv1.CreateBodyRequest{Title: "works"}); err != nil {
		t.Errorf("new admin token: %v", err)
	}
	auditor := ts.NewClient(again.Conn(), w.Auditor.Token)
	after, err := auditor.Audit.GetCheckpoint(auditor.Ctx(t), &candorv1.GetCheckpointRequest{})
	if err != nil {
		t.Fatalf("a participant's token after the admin token changed: %v", err)
	}
	if after.Checkpoint == nil || len(after.Checkpoint) < len(before.Checkpoint)/2 {
		t.Errorf("checkpoint after rotation: %q", after.Checkpoint)
	}
	bodies, err := admin.Bodies.ListBodies(admin.Ctx(t), &candorv1.ListBodiesRequest{})
	if err != nil || len(bodies.Bodies) != 2 {
		t.Errorf("bodies after rotation: %v (%v), want the world's and the new one", bodies.GetBodies(), err)
	}
}
