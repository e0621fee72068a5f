package loadtest_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

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
