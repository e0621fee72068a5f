package rpc_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	ts "github.com/candorhq/candor/internal/testserver"
	"github.com/candorhq/candor/internal/verify"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestStaleDeclarationAtClose: alice votes (or states a position), then changes her SOI to name the
// call's affected party, and the chair closes. The result reports her ballot as stale, by
// participant and in her group; under DISCLOSE it counts and is flagged, under RECUSE and REVIEW it
// is set aside, unless she declares again (and, under REVIEW, is cleared) before close. Bob, with a
// current declaration, always counts. Afterwards the auditor's replay of the server's log
// recomputes every result.
func TestStaleDeclarationAtClose(t *testing.T) {
	srv := ts.Start(t, ts.Bufconn())
	w := ts.NewWorld(t, srv)
	const party = "Registry Services"
	disclose, recusePol, review := candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE, candorv1.ConflictPolicy_CONFLICT_POLICY_RECUSE, candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW
	vote, consensus := candorv1.CallKind_CALL_KIND_VOTE, candorv1.CallKind_CALL_KIND_CONSENSUS

	type want struct {
		counted   int32
		stale     bool // alice listed as stale (and counted in her group's stale figure)
		flagged   bool // alice's ballot counted and flagged as stale
		uncleared bool
	}
	redeclare := func(t *testing.T, call string) { w.Declare(t, w.Alice, call, potential, join) }
	tests := []struct {
		name   string
		kind   candorv1.CallKind
		policy candorv1.ConflictPolicy
		// fix runs as alice (and the chair) after her SOI changed, before close.
		fix  func(t *testing.T, call string)
		want want
	}{
		{"disclose", vote, disclose, nil, want{counted: 2, stale: true, flagged: true}},
		{"recuse", vote, recusePol, nil, want{counted: 1, stale: true}},
		{"review", vote, review, nil, want{counted: 1, stale: true}},
		{"consensus disclose", consensus, disclose, nil, want{counted: 2, stale: true, flagged: true}},
		{"consensus recuse", consensus, recusePol, nil, want{counted: 1, stale: true}},
		{"consensus review", consensus, review, nil, want{counted: 1, stale: true}},
		{"disclose, declared again", vote, disclose, redeclare, want{counted: 2}},
		{"recuse, declared again", vote, recusePol, redeclare, want{counted: 2}},
		{"review, declared again and cleared", vote, review, func(t *testing.T, call string) {
			redeclare(t, call)
			clear(t, w, call, "alice", candorv1.ClearanceDecision_CLEARANCE_DECISION_CLEARED)
		}, want{counted: 2}},
		{"review, declared again, not cleared", vote, review, redeclare, want{counted: 1, uncleared: true}},
		{"consensus recuse, declared again", consensus, recusePol, redeclare, want{counted: 2}},
		{"consensus review, declared again and cleared", consensus, review, func(t *testing.T, call string) {
			redeclare(t, call)
			clear(t, w, call, "alice", candorv1.ClearanceDecision_CLEARANCE_DECISION_CLEARED)
		}, want{counted: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each case starts from an SOI that names nobody the call affects.
			updateSOI(t, w.Alice, "Example Org")
			call := w.OpenVote(t, &candorv1.Call{Kind: tt.kind, ConflictPolicy: tt.policy, AffectedParties: []string{party}}).Name
			for _, c := range []*ts.Client{w.Alice, w.Bob} {
				w.Declare(t, c, call, none, join)
				var err error
				if tt.kind == consensus {
					err = position(t, c, call, support, "")
				} else {
					_, err = ts.Vote(t, c, call, "yes")
				}
				if err != nil {
					t.Fatalf("ballot or position: %v", err)
				}
			}
			updateSOI(t, w.Alice, party)
			if got := rosterStale(t, w, call); !got {
				t.Errorf("roster: alice not stale after her SOI changed")
			}
			if tt.fix != nil {
				tt.fix(t, call)
				if got := rosterStale(t, w, call); got {
					t.Errorf("roster: alice still stale after declaring again")
				}
			}
			resp, err := w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: call})
			if err != nil {
				t.Fatal(err)
			}
			r := resp.Call.Result
			alice := w.Names["alice"]
			if r.BallotsCounted != tt.want.counted {
				t.Errorf("counted %d, want %d", r.BallotsCounted, tt.want.counted)
			}
			option := "yes"
			if tt.kind == consensus {
				option = "support"
			}
			if got := countOf(r.Counts, option); got != tt.want.counted {
				t.Errorf("%s counted %d, want %d", option, got, tt.want.counted)
			}
			var wantStale []string
			if tt.want.stale {
				wantStale = []string{alice}
			}
			if diff := cmp.Diff(wantStale, r.Stale); diff != "" {
				t.Errorf("stale (-want +got):\n%s", diff)
			}
			for _, g := range r.Groups {
				want := int32(0)
				if g.StakeholderGroup == "At-Large" { // alice's group
					want = int32(len(wantStale))
				}
				if g.Stale != want {
					t.Errorf("group %q stale %d, want %d", g.StakeholderGroup, g.Stale, want)
				}
			}
			flagged := false
			for _, f := range r.Flagged {
				if f.Participant == alice {
					flagged = f.Stale
				}
			}
			if flagged != tt.want.flagged {
				t.Errorf("alice flagged as stale %v, want %v (flagged: %v)", flagged, tt.want.flagged, r.Flagged)
			}
			if got := len(r.Uncleared) == 1 && r.Uncleared[0] == alice; got != tt.want.uncleared || len(r.Uncleared) > 1 {
				t.Errorf("uncleared %v, want alice: %v", r.Uncleared, tt.want.uncleared)
			}
			// A stale ballot set aside does not count towards quorum.
			if tt.kind == vote && r.QuorumMet != (r.BallotsCounted >= r.Quorum) {
				t.Errorf("quorum met %v with %d counted of %d", r.QuorumMet, r.BallotsCounted, r.Quorum)
			}
		})
	}

	// The auditor recomputes every result above from the log alone.
	sum, err := verify.Log(w.Auditor.Ctx(t), w.Auditor.Audit, verify.Options{VerifierKey: srv.VerifierKey, StateDir: t.TempDir()})
	if err != nil {
		t.Fatalf("verify.Log: %v", err)
	}
	if sum.Results != len(tests) {
		t.Errorf("verifier checked %d results, want %d", sum.Results, len(tests))
	}
}

// rosterStale reports whether the roster of call shows alice's declaration as stale.
func rosterStale(t *testing.T, w *ts.World, call string) bool {
	t.Helper()
	resp, err := w.Chair.Calls.GetCallRoster(w.Chair.Ctx(t), &candorv1.GetCallRosterRequest{Name: call})
	if err != nil {
		t.Fatalf("GetRoster: %v", err)
	}
	for _, e := range resp.Entries {
		if e.Participant == w.Names["alice"] {
			return e.Stale
		}
	}
	t.Fatalf("alice is not on the roster")
	return false
}
