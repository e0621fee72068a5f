package rpc_test

import (
	"testing"

	"github.com/candorhq/candor/internal/etcdtest"
	ts "github.com/candorhq/candor/internal/testserver"
)

// starter starts a server for a test, on one of the store's backends.
type starter func(t *testing.T) *ts.Server

func startBolt(t *testing.T) *ts.Server { return ts.Start(t, ts.Bufconn()) }

// TestInvariantsOnEtcd runs the invariant's tests (a ballot only on the current declaration, the
// refusals, the tally, retries that write once, ballots racing declaration changes) against a
// server whose store is an etcd cluster: the rules must not depend on the backend.
func TestInvariantsOnEtcd(t *testing.T) {
	cluster := etcdtest.Start(t, 1, etcdtest.Options{MaxTxnOps: 4096})
	start := func(t *testing.T) *ts.Server { return ts.Start(t, ts.Bufconn(), ts.Etcd(cluster.Endpoints(), "")) }
	for _, tt := range []struct {
		name string
		fn   func(*testing.T, starter)
	}{
		{"BallotRequiresCurrentDeclaration", testBallotRequiresCurrentDeclaration},
		{"BallotRefusals", testBallotRefusals},
		{"DeclarationNeedsSOI", testDeclarationNeedsSOI},
		{"TallyAtClose", testTallyAtClose},
		{"DeadlineClosesCall", testDeadlineClosesCall},
		{"NarrowEligibilityNeedsJustification", testNarrowEligibilityNeedsJustification},
		{"BallotsRaceDeclarationChanges", testBallotsRaceDeclarationChanges},
		{"RetriesWithARequestIDWriteOnce", testRetriesWithARequestIDWriteOnce},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, start) })
	}
}
