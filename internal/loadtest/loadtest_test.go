package loadtest_test

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/candorhq/candor/internal/loadtest"
	ts "github.com/candorhq/candor/internal/testserver"
)

// TestRunAgainstServer runs a short load against an in-process server and checks the report adds
// up: both phases ran, every write succeeded, and the log holds the writes the report counted.
func TestRunAgainstServer(t *testing.T) {
	srv := ts.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := loadtest.Run(ctx, loadtest.Config{
		Addr: srv.Addr, AdminToken: srv.AdminToken,
		Participants: 6, Concurrency: 8, Calls: 2, Conns: 2,
		Duration: 300 * time.Millisecond, Warmup: -1, ServerPID: os.Getpid(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Ceiling.Count == 0 || r.Declarations.Count == 0 || r.Ballots.Count == 0 {
		t.Fatalf("counts: ceiling %d, declarations %d, ballots %d; want all > 0", r.Ceiling.Count, r.Declarations.Count, r.Ballots.Count)
	}
	if r.Errors() != 0 {
		t.Errorf("errors: ceiling %v, write %v", r.CeilingErrors, r.WriteErrors)
	}
	// A ballot only follows its own declaration.
	if r.Ballots.Count > r.Declarations.Count+int64(r.Concurrency) {
		t.Errorf("%d ballots but %d declarations", r.Ballots.Count, r.Declarations.Count)
	}
	if wpc := r.WritesPerCommit(); wpc < 1 {
		t.Errorf("%.2f writes per commit (%d commits): every write's receipt names its commit", wpc, r.Commits)
	}
	if r.Ceiling.Latency.Count() != r.Ceiling.Count {
		t.Errorf("ceiling latency has %d samples for %d checks", r.Ceiling.Latency.Count(), r.Ceiling.Count)
	}
	if r.ServerPeakRSS <= 0 {
		t.Errorf("server peak RSS = %d (%s)", r.ServerPeakRSS, r.RSSUnknown)
	}
	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", b.String())
}

// TestOverloadSheds loads a server whose bound on writes in flight is far below the load: the
// excess must be refused with ResourceExhausted OVERLOADED, and nothing else may fail. A ballot is
// tried only after its declaration was admitted, and is itself admitted about as often as any
// write, so the load is 8 clients a slot (not 32) over a second: enough to shed, with ballots
// admitted even on a busy machine under -race.
func TestOverloadSheds(t *testing.T) {
	srv := ts.Start(t, ts.MaxWritesInFlight(2))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := loadtest.Run(ctx, loadtest.Config{
		Addr: srv.Addr, AdminToken: srv.AdminToken,
		Participants: 16, Concurrency: 16, Calls: 1,
		Duration: time.Second, Warmup: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.WriteErrors["ResourceExhausted OVERLOADED"] == 0 {
		t.Errorf("no write was shed at 16 clients over 2 slots: errors %v", r.WriteErrors)
	}
	for k, n := range r.WriteErrors {
		if k != "ResourceExhausted OVERLOADED" {
			t.Errorf("%d writes failed with %s; only OVERLOADED is expected", n, k)
		}
	}
	if r.Declarations.Count == 0 || r.Ballots.Count == 0 {
		t.Errorf("declarations %d, ballots %d: the server must keep serving what it admits", r.Declarations.Count, r.Ballots.Count)
	}
	if len(r.CeilingErrors) != 0 {
		t.Errorf("health checks failed: %v (they are not writes and are never shed)", r.CeilingErrors)
	}
}

// TestRunSpreadsOverAddresses gives Run two addresses: the server, and a second gRPC server that
// has only the health service. The setup runs through the first; the clients' connections
// alternate, so the ceiling phase is answered by both, and every write that went to the second
// fails as Unimplemented while those that went to the first succeed.
func TestRunSpreadsOverAddresses(t *testing.T) {
	srv := ts.Start(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	other := grpc.NewServer()
	healthpb.RegisterHealthServer(other, health.NewServer())
	go other.Serve(lis)
	t.Cleanup(other.Stop)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := loadtest.Run(ctx, loadtest.Config{
		Addr: srv.Addr + "," + lis.Addr().String(), AdminToken: srv.AdminToken,
		Participants: 4, Concurrency: 4, Calls: 1,
		Duration: 300 * time.Millisecond, Warmup: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Conns != 2 {
		t.Errorf("Conns = %d, want one per address (2)", r.Conns)
	}
	if r.Ceiling.Count == 0 || len(r.CeilingErrors) != 0 {
		t.Errorf("ceiling: %d checks, errors %v; want checks and no errors", r.Ceiling.Count, r.CeilingErrors)
	}
	if r.Declarations.Count == 0 {
		t.Error("no declaration succeeded through the first address")
	}
	if r.WriteErrors["Unimplemented"] == 0 || len(r.WriteErrors) != 1 {
		t.Errorf("write errors %v, want only Unimplemented, from the second address", r.WriteErrors)
	}

	for _, addr := range []string{srv.Addr + ",", "," + srv.Addr} {
		if _, err := loadtest.Run(ctx, loadtest.Config{Addr: addr, AdminToken: srv.AdminToken}); err == nil {
			t.Errorf("Run with Addr %q: no error, want one for the empty address", addr)
		}
	}
}
