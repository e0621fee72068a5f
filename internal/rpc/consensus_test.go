package rpc_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

const (
	support  = candorv1.Position_POSITION_SUPPORT
	concerns = candorv1.Position_POSITION_SUPPORT_WITH_CONCERNS
	oppose   = candorv1.Position_POSITION_OPPOSE
)

func openConsensus(t *testing.T, w *ts.World, parties ...string) string {
	t.Helper()
	return w.OpenVote(t, &candorv1.Call{Title: "Recommendation 7", Kind: candorv1.CallKind_CALL_KIND_CONSENSUS, AffectedParties: parties}).Name
}

func position(t *testing.T, c *ts.Client, call string, p candorv1.Position, comment string) error {
	_, err := c.Calls.StatePosition(c.Ctx(t), &candorv1.StatePositionRequest{Call: call, Position: p, Comment: comment})
	return err
}

func propose(t *testing.T, c *ts.Client, call string, level candorv1.ConsensusLevel, window time.Duration) error {
	_, err := c.Calls.ProposeDesignation(c.Ctx(t), &candorv1.ProposeDesignationRequest{
		Call: call, Level: level, Rationale: "most support, one objection", ObjectionWindowSeconds: int64(window / time.Second),
	})
	return err
}

func TestConsensusWorkflow(t *testing.T) {
	w := ts.NewWorld(t, ts.Start(t, ts.Bufconn()))
	call := openConsensus(t, w)

	// Positions need a declaration, exactly like ballots.
	wantStatus(t, position(t, w.Alice, call, support, ""), codes.FailedPrecondition, "DECLARATION_REQUIRED")
	for _, c := range []*ts.Client{w.Chair, w.Alice, w.Bob, w.Carol} {
		w.Declare(t, c, call, none, join)
	}
	wantStatus(t, position(t, w.Bob, call, oppose, ""), codes.InvalidArgument, "COMMENT_REQUIRED")
	wantStatus(t, position(t, w.Chair, call, support, ""), codes.OK, "")
	wantStatus(t, position(t, w.Alice, call, concerns, "timeline is tight"), codes.OK, "")
	wantStatus(t, position(t, w.Bob, call, oppose, "harms registries"), codes.OK, "")
	_, err := ts.Vote(t, w.Alice, call, "yes")
	wantStatus(t, err, codes.FailedPrecondition, "WRONG_CALL_KIND")

	// Minority statement: author and co-signers must have stated a position.
	_, err = w.Bob.Calls.FileMinorityStatement(w.Bob.Ctx(t), &candorv1.FileMinorityStatementRequest{
		Call: call, Text: "We dissent.", Cosigners: []string{w.Names["carol"]},
	})
	wantStatus(t, err, codes.FailedPrecondition, "COSIGNER_WITHOUT_POSITION")
	_, err = w.Carol.Calls.FileMinorityStatement(w.Carol.Ctx(t), &candorv1.FileMinorityStatementRequest{Call: call, Text: "We dissent."})
	wantStatus(t, err, codes.FailedPrecondition, "POSITION_REQUIRED")
	before := logSize(t, w)
	_, err = w.Bob.Calls.FileMinorityStatement(w.Bob.Ctx(t), &candorv1.FileMinorityStatementRequest{
		Call: call, Text: "We dissent.", Cosigners: []string{w.Names["alice"], w.Names["bob"]},
	})
	wantStatus(t, err, codes.InvalidArgument, "SELF_COSIGNER")
	if after := logSize(t, w); after != before {
		t.Errorf("a self-co-signed statement grew the log from %d to %d", before, after)
	}
	ms, err := w.Bob.Calls.FileMinorityStatement(w.Bob.Ctx(t), &candorv1.FileMinorityStatementRequest{
		Call: call, Text: "Registries dissent: the cost falls on us.", Cosigners: []string{w.Names["alice"]},
	})
	wantStatus(t, err, codes.OK, "")
	_, err = w.Carol.Calls.SignMinorityStatement(w.Carol.Ctx(t), &candorv1.SignMinorityStatementRequest{Name: ms.MinorityStatement.Name})
	wantStatus(t, err, codes.PermissionDenied, "NOT_COSIGNER")
	_, err = w.Alice.Calls.SignMinorityStatement(w.Alice.Ctx(t), &candorv1.SignMinorityStatementRequest{Name: ms.MinorityStatement.Name})
	wantStatus(t, err, codes.OK, "")
	_, err = w.Alice.Calls.SignMinorityStatement(w.Alice.Ctx(t), &candorv1.SignMinorityStatementRequest{Name: ms.MinorityStatement.Name})
	wantStatus(t, err, codes.FailedPrecondition, "ALREADY_SIGNED")

	// Designation waits for positions to close, and only the chair proposes.
	wantStatus(t, propose(t, w.Chair, call, candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS, time.Hour), codes.FailedPrecondition, "CALL_STILL_OPEN")
	closed, err := w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: call})
	wantStatus(t, err, codes.OK, "")
	if r := closed.Call.Result; r.Outcome != candorv1.Outcome_OUTCOME_UNSPECIFIED || countOf(r.Counts, "oppose") != 1 || countOf(r.Counts, "support") != 1 {
		t.Errorf("consensus result = %v", r)
	}
	wantStatus(t, position(t, w.Carol, call, support, ""), codes.FailedPrecondition, "CALL_CLOSED")
	wantStatus(t, propose(t, w.Alice, call, candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS, time.Hour), codes.PermissionDenied, "NOT_CHAIR")
	wantStatus(t, propose(t, w.Chair, call, candorv1.ConsensusLevel_CONSENSUS_LEVEL_FULL_CONSENSUS, time.Hour), codes.OK, "")

	// Objection within the window, then a revision with a short window that passes.
	_, err = w.Bob.Calls.ObjectToDesignation(w.Bob.Ctx(t), &candorv1.ObjectToDesignationRequest{Call: call, Reason: "I opposed: not full consensus"})
	wantStatus(t, err, codes.OK, "")
	_, err = w.Chair.Calls.FinalizeDesignation(w.Chair.Ctx(t), &candorv1.FinalizeDesignationRequest{Call: call})
	wantStatus(t, err, codes.FailedPrecondition, "OBJECTION_WINDOW_OPEN")
	wantStatus(t, propose(t, w.Chair, call, candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS, time.Second), codes.OK, "")
	time.Sleep(1100 * time.Millisecond)
	_, err = w.Bob.Calls.ObjectToDesignation(w.Bob.Ctx(t), &candorv1.ObjectToDesignationRequest{Call: call, Reason: "late"})
	wantStatus(t, err, codes.FailedPrecondition, "OBJECTION_WINDOW_CLOSED")
	_, err = w.Bob.Calls.AppealDesignation(w.Bob.Ctx(t), &candorv1.AppealDesignationRequest{Call: call, Reason: "too early"})
	wantStatus(t, err, codes.FailedPrecondition, "DESIGNATION_NOT_FINAL")
	fin, err := w.Chair.Calls.FinalizeDesignation(w.Chair.Ctx(t), &candorv1.FinalizeDesignationRequest{Call: call})
	wantStatus(t, err, codes.OK, "")
	_, err = w.Bob.Calls.AppealDesignation(w.Bob.Ctx(t), &candorv1.AppealDesignationRequest{Call: call, Reason: "the chair ignored the registries"})
	wantStatus(t, err, codes.OK, "")

	got, err := w.Auditor.Calls.GetCall(w.Auditor.Ctx(t), &candorv1.GetCallRequest{Name: call})
	if err != nil {
		t.Fatal(err)
	}
	cr := got.Call.Consensus
	if fin.Call.Consensus.Final.Level != candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS || cr.Final.Revision != 2 {
		t.Errorf("final = %v, want CONSENSUS revision 2", cr.Final)
	}
	if len(cr.Proposals) != 2 || len(cr.Objections) != 1 || len(cr.Appeals) != 1 || len(cr.MinorityStatements) != 1 {
		t.Errorf("record: %d proposals, %d objections, %d appeals, %d statements; want 2 1 1 1",
			len(cr.Proposals), len(cr.Objections), len(cr.Appeals), len(cr.MinorityStatements))
	}
	if s := cr.MinorityStatements[0]; len(s.SignedBy) != 1 || s.SignedBy[0] != w.Names["alice"] {
		t.Errorf("minority statement signed by %v, want alice", s.SignedBy)
	}
	wantStatus(t, propose(t, w.Chair, call, candorv1.ConsensusLevel_CONSENSUS_LEVEL_DIVERGENCE, time.Hour), codes.FailedPrecondition, "DESIGNATION_FINAL")

	// Every step is on the record.
	rec, err := w.Auditor.Audit.ListCallRecord(w.Auditor.Ctx(t), &candorv1.ListCallRecordRequest{Call: call, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[candorv1.EntryKind]int{}
	for _, e := range rec.Entries {
		kinds[e.Entry.Kind]++
	}
	for k, want := range map[candorv1.EntryKind]int{
		candorv1.EntryKind_ENTRY_KIND_POSITION: 3, candorv1.EntryKind_ENTRY_KIND_DESIGNATION_PROPOSED: 2,
		candorv1.EntryKind_ENTRY_KIND_OBJECTION: 1, candorv1.EntryKind_ENTRY_KIND_DESIGNATION_FINALIZED: 1,
		candorv1.EntryKind_ENTRY_KIND_APPEAL: 1, candorv1.EntryKind_ENTRY_KIND_MINORITY_STATEMENT_FILED: 1,
		candorv1.EntryKind_ENTRY_KIND_MINORITY_STATEMENT_SIGNED: 1,
	} {
		if kinds[k] != want {
			t.Errorf("%v entries = %d, want %d", k, kinds[k], want)
		}
	}
}

func TestAffectedPartyScreening(t *testing.T) {
	w := ts.NewWorld(t, ts.Start(t, ts.Bufconn()))
	// Alice's SOI names "Example Registry, Inc." as an interest.
	if _, err := w.Alice.Participants.UpdateStatementOfInterest(w.Alice.Ctx(t), &candorv1.UpdateStatementOfInterestRequest{
		StatementOfInterest: &candorv1.StatementOfInterest{Employer: "University", Interests: []*candorv1.Interest{{Organization: "Example Registry, Inc.", Nature: "shareholder"}}},
	}); err != nil {
		t.Fatal(err)
	}
	call := w.OpenVote(t, &candorv1.Call{AffectedParties: []string{"example registry inc"}}).Name
	_, err := ts.DeclareErr(t, w.Alice, call, none, join)
	wantStatus(t, err, codes.FailedPrecondition, "EXPLANATION_REQUIRED")
	_, err = ts.DeclareErr(t, w.Bob, call, none, join) // no match: no explanation needed
	wantStatus(t, err, codes.OK, "")

	soi, _ := w.Alice.Participants.GetStatementOfInterest(w.Alice.Ctx(t), &candorv1.GetStatementOfInterestRequest{})
	_, err = w.Alice.Calls.FileDeclaration(w.Alice.Ctx(t), &candorv1.FileDeclarationRequest{
		Call: call, Restatement: &candorv1.FileDeclarationRequest_UnchangedSoiHash{UnchangedSoiHash: soi.StatementOfInterest.ContentHash},
		ConflictLevel: none, Description: "I sold my shares last year; the SOI update is pending",
	})
	wantStatus(t, err, codes.OK, "")

	roster, err := w.Chair.Calls.GetCallRoster(w.Chair.Ctx(t), &candorv1.GetCallRosterRequest{Name: call})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range roster.Entries {
		wantMatch := e.Participant == w.Names["alice"]
		if got := len(e.AffectedPartyMatches) > 0; got != wantMatch {
			t.Errorf("roster %s matches = %v, want match %v", e.DisplayName, e.AffectedPartyMatches, wantMatch)
		}
	}
}

func TestGroupBreakdownAndReviewReport(t *testing.T) {
	w := ts.NewWorld(t, ts.Start(t, ts.Bufconn()))
	vote := w.OpenVote(t, nil).Name
	w.Declare(t, w.Chair, vote, none, join)
	w.Declare(t, w.Alice, vote, potential, join)
	w.Declare(t, w.Bob, vote, actual, recuse)
	for _, c := range []*ts.Client{w.Chair, w.Alice} {
		if _, err := ts.Vote(t, c, vote, "yes"); err != nil {
			t.Fatal(err)
		}
	}
	closed, err := w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: vote})
	if err != nil {
		t.Fatal(err)
	}
	byGroup := map[string]*candorv1.GroupTally{}
	for _, g := range closed.Call.Result.Groups {
		byGroup[g.StakeholderGroup] = g
	}
	if g := byGroup["At-Large"]; g == nil || g.Eligible != 2 || g.Declared != 2 || g.Conflicts != 1 || countOf(g.Counts, "yes") != 2 {
		t.Errorf("At-Large tally = %v", g)
	}
	if g := byGroup["Registries"]; g == nil || g.Recusals != 1 || countOf(g.Counts, "yes") != 0 {
		t.Errorf("Registries tally = %v", g)
	}

	cons := openConsensus(t, w)
	w.Declare(t, w.Chair, cons, none, join)
	if err := position(t, w.Chair, cons, support, ""); err != nil {
		t.Fatal(err)
	}

	rep, err := w.Auditor.Audit.GetReviewReport(w.Auditor.Ctx(t), &candorv1.GetReviewReportRequest{Body: w.Body})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Report
	if r.Calls != 2 {
		t.Errorf("calls = %d, want 2", r.Calls)
	}
	if len(r.NeverDeclared) != 1 || r.NeverDeclared[0] != w.Names["carol"] {
		t.Errorf("never declared = %v, want [carol]", r.NeverDeclared)
	}
	// Members of the body read it too (docs/permissions.md); a participant outside it does not.
	_, err = w.Outsider.Audit.GetReviewReport(w.Outsider.Ctx(t), &candorv1.GetReviewReportRequest{Body: w.Body})
	wantStatus(t, err, codes.PermissionDenied, "NOT_MEMBER")
	if _, err := w.Chair.Audit.GetReviewReport(w.Chair.Ctx(t), &candorv1.GetReviewReportRequest{Body: w.Body}); err != nil {
		t.Errorf("chair's review report: %v", err)
	}
}

func countOf(counts []*candorv1.OptionCount, option string) int32 {
	for _, c := range counts {
		if c.Option == option {
			return c.Count
		}
	}
	return -1
}

// TestReviewFindings reproduces, over gRPC, what a review found: each must now be refused or dropped.
func TestReviewFindings(t *testing.T) {
	w := ts.NewWorld(t, ts.Start(t, ts.Bufconn()))

	t.Run("deadline past 2262", func(t *testing.T) {
		_, err := w.Chair.Calls.OpenCall(w.Chair.Ctx(t), &candorv1.OpenCallRequest{Body: w.Body, Call: &candorv1.Call{
			Title: "far", Deadline: timestamppb.New(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)),
		}})
		wantStatus(t, err, codes.InvalidArgument, "DEADLINE_TOO_FAR")
	})
	t.Run("planted consensus record on a vote", func(t *testing.T) {
		resp, err := w.Chair.Calls.OpenCall(w.Chair.Ctx(t), &candorv1.OpenCallRequest{Body: w.Body, Call: &candorv1.Call{
			Title: "t", Consensus: &candorv1.ConsensusRecord{MinorityStatements: []*candorv1.MinorityStatement{{Author: w.Names["alice"], Text: "invented"}}},
		}})
		wantStatus(t, err, codes.OK, "")
		if resp.Call.Consensus != nil {
			t.Errorf("a vote was opened with a consensus record: %v", resp.Call.Consensus)
		}
	})
	t.Run("chair clears their own conflict", func(t *testing.T) {
		call := w.OpenVote(t, &candorv1.Call{ConflictPolicy: candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW}).Name
		w.Declare(t, w.Chair, call, actual, join)
		_, err := w.Chair.Calls.ClearDeclaration(w.Chair.Ctx(t), &candorv1.ClearDeclarationRequest{
			Call: call, Participant: w.Names["chair"], Decision: candorv1.ClearanceDecision_CLEARANCE_DECISION_CLEARED,
		})
		wantStatus(t, err, codes.PermissionDenied, "SELF_CLEARANCE")
	})
	t.Run("conflict declared after voting, under review", func(t *testing.T) {
		call := w.OpenVote(t, &candorv1.Call{ConflictPolicy: candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW}).Name
		w.Declare(t, w.Alice, call, none, join)
		if _, err := ts.Vote(t, w.Alice, call, "yes"); err != nil {
			t.Fatal(err)
		}
		w.Declare(t, w.Alice, call, actual, join)
		resp, err := w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: call})
		if err != nil {
			t.Fatal(err)
		}
		if r := resp.Call.Result; r.BallotsCounted != 0 || len(r.Uncleared) != 1 {
			t.Errorf("counted %d, uncleared %v; want 0 and [alice]", r.BallotsCounted, r.Uncleared)
		}
	})
}
