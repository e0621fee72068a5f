package verify_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	ts "github.com/candorhq/candor/internal/testserver"
	"github.com/candorhq/candor/internal/translog"
	"github.com/candorhq/candor/internal/verify"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// record counts what a test did through the API, to compare with what verify counts in the log.
type record struct {
	t       *testing.T
	w       *ts.World
	want    verify.Counts
	last    *candorv1.Receipt // of the last accepted write
	ballots []*candorv1.Receipt
}

func newRecord(t *testing.T, w *ts.World) *record {
	// NewWorld: six participants, a body, four members, five SOIs.
	return &record{t: t, w: w, want: verify.Counts{Participants: 6, Bodies: 1, Memberships: 4, SOIVersions: 5}}
}

func (r *record) open(c *candorv1.Call) string {
	r.t.Helper()
	call := r.w.OpenVote(r.t, c)
	r.want.Calls++
	r.want.OpenCalls++
	return call.Name
}

func (r *record) declare(c *ts.Client, call string, level candorv1.ConflictLevel, intent candorv1.Intent) {
	r.t.Helper()
	r.last = r.w.Declare(r.t, c, call, level, intent).Receipt
	r.want.Declarations++
}

// declareChanged files a declaration that restates a changed SOI: two entries.
func (r *record) declareChanged(c *ts.Client, call, employer string, level candorv1.ConflictLevel) {
	r.t.Helper()
	resp, err := c.Calls.FileDeclaration(c.Ctx(r.t), &candorv1.FileDeclarationRequest{
		Call: call,
		Restatement: &candorv1.FileDeclarationRequest_UpdatedSoi{UpdatedSoi: &candorv1.StatementOfInterest{
			Employer: employer, JobTitle: "Director", Represents: "self", StakeholderGroups: []string{"Registrars"},
		}},
		ConflictLevel: level, Description: "I now work for a party named in the matter", Intent: join,
	})
	if err != nil {
		r.t.Fatalf("FileDeclaration with a changed SOI: %v", err)
	}
	r.last = resp.Receipt
	r.want.Declarations++
	r.want.SOIVersions++
}

func (r *record) updateSOI(c *ts.Client, employer string) {
	r.t.Helper()
	resp, err := c.Participants.UpdateStatementOfInterest(c.Ctx(r.t), &candorv1.UpdateStatementOfInterestRequest{
		StatementOfInterest: &candorv1.StatementOfInterest{Employer: employer, Represents: "self"},
	})
	if err != nil {
		r.t.Fatalf("UpdateStatementOfInterest: %v", err)
	}
	r.last = resp.Receipt
	r.want.SOIVersions++
}

func (r *record) clear(call, who string, d candorv1.ClearanceDecision) {
	r.t.Helper()
	resp, err := r.w.Chair.Calls.ClearDeclaration(r.w.Chair.Ctx(r.t), &candorv1.ClearDeclarationRequest{
		Call: call, Participant: r.w.Names[who], Decision: d, Note: "ruled at the meeting",
	})
	if err != nil {
		r.t.Fatalf("ClearDeclaration(%s): %v", who, err)
	}
	r.last = resp.Receipt
	r.want.Clearances++
}

func (r *record) vote(c *ts.Client, call, option string) {
	r.t.Helper()
	resp, err := ts.Vote(r.t, c, call, option)
	if err != nil {
		r.t.Fatalf("CastBallot(%s): %v", option, err)
	}
	r.last = resp.Receipt
	r.ballots = append(r.ballots, resp.Receipt)
	r.want.Ballots++
}

// refused casts a ballot the server must refuse, so that it leaves no entry.
func (r *record) refused(c *ts.Client, call string) {
	r.t.Helper()
	if _, err := ts.Vote(r.t, c, call, "yes"); status.Code(err) != codes.FailedPrecondition {
		r.t.Fatalf("CastBallot = %v, want FailedPrecondition", err)
	}
}

func (r *record) close(call string) {
	r.t.Helper()
	resp, err := r.w.Chair.Calls.CloseCall(r.w.Chair.Ctx(r.t), &candorv1.CloseCallRequest{Name: call})
	if err != nil {
		r.t.Fatalf("CloseCall: %v", err)
	}
	r.last = resp.Receipt
	r.closed()
}

func (r *record) closed() {
	r.want.OpenCalls--
	r.want.Results++
}

// session runs a council session on the real server: calls under each policy with conflicts,
// recusals, a clearance and a required recusal, a changed SOI, a stale declaration renewed,
// re-votes, refused ballots, and a call left open. With deadline, it also opens a narrowed call
// and waits for the server to close it at its deadline.
func (r *record) session(deadline bool) {
	t, w := r.t, r.w
	// DISCLOSE: a flagged ballot, a recusal, a re-vote.
	call := r.open(&candorv1.Call{ConflictPolicy: disclose, Quorum: 2})
	r.declare(w.Alice, call, none, join)
	r.vote(w.Alice, call, "yes")
	r.declare(w.Bob, call, potential, join)
	r.vote(w.Bob, call, "no")
	r.declare(w.Carol, call, actual, recuse)
	r.refused(w.Carol, call)
	r.declare(w.Chair, call, none, join)
	r.vote(w.Chair, call, "yes")
	r.vote(w.Chair, call, "no")
	r.close(call)

	// RECUSE: an actual conflict recused by policy; a changed SOI restated in the declaration.
	call = r.open(&candorv1.Call{ConflictPolicy: recusePol, Threshold: candorv1.Threshold_THRESHOLD_TWO_THIRDS})
	r.declare(w.Alice, call, actual, join)
	r.refused(w.Alice, call)
	r.declare(w.Bob, call, none, join)
	r.vote(w.Bob, call, "yes")
	r.declareChanged(w.Carol, call, "Registrar Ltd", potential)
	r.vote(w.Carol, call, "yes")
	r.close(call)

	// REVIEW: a clearance, a required recusal, a stale declaration renewed before a re-vote, and a
	// ballot withdrawn by a later recusal.
	call = r.open(&candorv1.Call{ConflictPolicy: review, Options: []string{"Adopt", "Reject", "abstain"}})
	r.declare(w.Alice, call, potential, join)
	r.refused(w.Alice, call)
	r.clear(call, "alice", cleared)
	r.vote(w.Alice, call, "adopt") // the server keeps the call's spelling
	r.declare(w.Bob, call, actual, join)
	r.clear(call, "bob", mustRecuse)
	r.declare(w.Carol, call, none, join)
	r.vote(w.Carol, call, "Adopt")
	r.updateSOI(w.Carol, "Registry Services")
	r.refused(w.Carol, call)
	r.declare(w.Carol, call, none, join)
	r.vote(w.Carol, call, "Reject")
	r.declare(w.Chair, call, none, join)
	r.vote(w.Chair, call, "abstain")
	r.declare(w.Chair, call, actual, recuse)
	r.close(call)

	if deadline {
		call = r.open(&candorv1.Call{
			EligibleParticipants:     []string{w.Names["alice"], w.Names["bob"]},
			EligibilityJustification: "Only the liaisons vote on liaison matters",
			Deadline:                 timestamppb.New(time.Now().Add(2 * time.Second)),
		})
		r.declare(w.Alice, call, none, join)
		r.vote(w.Alice, call, "no")
		waitClosed(t, w, call)
		r.closed()
	}

	// CONSENSUS, with a window to object of a second when it is not the last run (finalising
	// waits it out).
	if deadline {
		r.consensusSession()
	}

	// Left open.
	call = r.open(nil)
	r.declare(w.Bob, call, none, join)
	r.vote(w.Bob, call, "yes")
}

// consensusSession runs a consensus call on a matter affecting a party named in everyone's SOI:
// positions, a recusal, a minority statement filed while open and co-signed after, a designation
// revised after an objection, finalised and appealed.
func (r *record) consensusSession() {
	t, w := r.t, r.w
	call := r.open(&candorv1.Call{Kind: consensus, AffectedParties: []string{"Example Org"}})
	r.declare(w.Alice, call, potential, join)
	r.state(w.Alice, call, support)
	// Everyone's SOI names Example Org: no conflict must be explained.
	if _, err := ts.DeclareErr(t, w.Bob, call, none, join); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("unexplained declaration of no conflict = %v, want FailedPrecondition", err)
	}
	r.declareChanged(w.Bob, call, "Registry Services", none)
	r.state(w.Bob, call, oppose)
	r.declare(w.Carol, call, potential, join)
	r.state(w.Carol, call, concerns)
	r.state(w.Carol, call, oppose)
	r.declare(w.Chair, call, actual, recuse)
	resp, err := w.Bob.Calls.FileMinorityStatement(w.Bob.Ctx(t), &candorv1.FileMinorityStatementRequest{
		Call: call, Text: "We dissent: the matter favours one registry.", Cosigners: []string{w.Names["carol"]},
	})
	if err != nil {
		t.Fatalf("FileMinorityStatement: %v", err)
	}
	r.want.MinorityStatements++
	r.close(call)
	if _, err := w.Carol.Calls.SignMinorityStatement(w.Carol.Ctx(t), &candorv1.SignMinorityStatementRequest{Name: resp.MinorityStatement.Name}); err != nil {
		t.Fatalf("SignMinorityStatement: %v", err)
	}
	r.want.Signatures++
	r.propose(call, candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS)
	if _, err := w.Bob.Calls.ObjectToDesignation(w.Bob.Ctx(t), &candorv1.ObjectToDesignationRequest{Call: call, Reason: "Opposition is not small."}); err != nil {
		t.Fatalf("ObjectToDesignation: %v", err)
	}
	r.want.Objections++
	r.propose(call, candorv1.ConsensusLevel_CONSENSUS_LEVEL_STRONG_SUPPORT_SIGNIFICANT_OPPOSITION)
	time.Sleep(1100 * time.Millisecond) // the objection window
	if _, err := w.Chair.Calls.FinalizeDesignation(w.Chair.Ctx(t), &candorv1.FinalizeDesignationRequest{Call: call}); err != nil {
		t.Fatalf("FinalizeDesignation: %v", err)
	}
	r.want.Designations++
	if _, err := w.Bob.Calls.AppealDesignation(w.Bob.Ctx(t), &candorv1.AppealDesignationRequest{Call: call, Reason: "The chair misread the room."}); err != nil {
		t.Fatalf("AppealDesignation: %v", err)
	}
	r.want.Appeals++
}

func (r *record) state(c *ts.Client, call string, p candorv1.Position) {
	r.t.Helper()
	if _, err := c.Calls.StatePosition(c.Ctx(r.t), &candorv1.StatePositionRequest{Call: call, Position: p, Comment: "for the reasons given"}); err != nil {
		r.t.Fatalf("StatePosition: %v", err)
	}
	r.want.Positions++
}

func (r *record) propose(call string, level candorv1.ConsensusLevel) {
	r.t.Helper()
	if _, err := r.w.Chair.Calls.ProposeDesignation(r.w.Chair.Ctx(r.t), &candorv1.ProposeDesignationRequest{
		Call: call, Level: level, Rationale: "most support it", ObjectionWindowSeconds: 1,
	}); err != nil {
		r.t.Fatalf("ProposeDesignation: %v", err)
	}
	r.want.Proposals++
}

// waitClosed waits for the server to close call at its deadline.
func waitClosed(t *testing.T, w *ts.World, call string) {
	t.Helper()
	for start := time.Now(); time.Since(start) < 15*time.Second; time.Sleep(50 * time.Millisecond) {
		resp, err := w.Chair.Calls.GetCall(w.Chair.Ctx(t), &candorv1.GetCallRequest{Name: call})
		if err != nil {
			t.Fatalf("GetCall: %v", err)
		}
		if resp.Call.State == candorv1.CallState_CALL_STATE_CLOSED {
			if resp.Call.ClosedBy != "server" {
				t.Fatalf("call closed by %q, want the server", resp.Call.ClosedBy)
			}
			return
		}
	}
	t.Fatalf("the server did not close %s at its deadline", call)
}

// checkpointSize returns the size of the server's newest checkpoint, opened with key.
func checkpointSize(t *testing.T, c *ts.Client, key string) int64 {
	t.Helper()
	return checkpointSizeTB(t, c, key)
}

func checkpointSizeTB(t testing.TB, c *ts.Client, key string) int64 {
	t.Helper()
	resp, err := c.Audit.GetCheckpoint(c.Ctx(t), &candorv1.GetCheckpointRequest{})
	if err != nil {
		t.Fatalf("GetCheckpoint: %v", err)
	}
	cp, err := translog.OpenCheckpoint(resp.Checkpoint, key)
	if err != nil {
		t.Fatal(err)
	}
	return cp.Size
}

func TestLogVerifiesAnHonestServer(t *testing.T) {
	srv := ts.Start(t)
	w := ts.NewWorld(t, srv)
	r := newRecord(t, w)
	r.session(true)

	stateDir := t.TempDir()
	var progress [][2]int64
	opts := verify.Options{
		VerifierKey: srv.VerifierKey, StateDir: stateDir, PageSize: 7,
		Progress: func(done, total int64) { progress = append(progress, [2]int64{done, total}) },
	}
	ctx := w.Auditor.Ctx(t)
	sum, err := verify.Log(ctx, w.Auditor.Audit, opts)
	if err != nil {
		t.Fatalf("Log: %v", err)
	}
	size := checkpointSize(t, w.Auditor, srv.VerifierKey)
	if sum.Entries != size || sum.TreeSize != size || sum.Checkpoint.Size != size || sum.Previous != nil {
		t.Errorf("Log: %d entries of a tree of %d (checkpoint %d, previous %v), want %d of %d and no previous",
			sum.Entries, sum.TreeSize, sum.Checkpoint.Size, sum.Previous, size, size)
	}
	if diff := cmp.Diff(r.want, sum.Counts); diff != "" {
		t.Errorf("Log counts mismatch (-want +got):\n%s", diff)
	}
	if len(progress) == 0 || progress[len(progress)-1] != [2]int64{size, size} {
		t.Errorf("Progress calls %v, want a last call (%d, %d)", progress, size, size)
	}

	// A second run proves the grown log consistent with the checkpoint kept from the first, with
	// the default page size.
	r.session(false)
	opts.PageSize, opts.Progress = 0, nil
	sum2, err := verify.Log(ctx, w.Auditor.Audit, opts)
	if err != nil {
		t.Fatalf("Log, second run: %v", err)
	}
	if sum2.Previous == nil || sum2.Previous.Size != size || sum2.Previous.Hash != sum.Root || sum2.TreeSize <= size {
		t.Errorf("Log, second run: previous %v, tree size %d; want the first run's checkpoint (%d) and a larger tree",
			sum2.Previous, sum2.TreeSize, size)
	}
	if diff := cmp.Diff(r.want, sum2.Counts); diff != "" {
		t.Errorf("Log counts, second run, mismatch (-want +got):\n%s", diff)
	}
}

func TestLogNeedsAKeyAndAStateFolder(t *testing.T) {
	srv := ts.Start(t)
	w := ts.NewWorld(t, srv)
	for _, opts := range []verify.Options{{StateDir: t.TempDir()}, {VerifierKey: srv.VerifierKey}} {
		if _, err := verify.Log(w.Auditor.Ctx(t), w.Auditor.Audit, opts); err == nil {
			t.Errorf("Log(%+v) succeeded, want an error", opts)
		}
	}
}

func TestLogOfAnEmptyServer(t *testing.T) {
	srv := ts.Start(t)
	admin := ts.NewClient(srv.Conn(), srv.AdminToken)
	_, err := verify.Log(admin.Ctx(t), admin.Audit, verify.Options{VerifierKey: srv.VerifierKey, StateDir: t.TempDir()})
	if !errors.Is(err, verify.ErrNoCheckpoint) {
		t.Errorf("Log of an empty log: %v, want ErrNoCheckpoint", err)
	}
}
