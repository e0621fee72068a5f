package rpc_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestRulesDecidedInTheWrite: the rules that were once checked only by the transport are now the
// domain's, checked by the service inside the write (and replayed by the auditor). Over the wire they
// keep InvalidArgument and a field violation, with a reason of their own, and write nothing.
func TestRulesDecidedInTheWrite(t *testing.T) {
	w := ts.NewWorld(t, ts.Start(t, ts.Bufconn()))
	refused := func(t *testing.T, what string, code codes.Code, reason string, send func() error) {
		t.Helper()
		before := logSize(t, w)
		wantStatus(t, send(), code, reason)
		if after := logSize(t, w); after != before {
			t.Errorf("%s grew the log from %d to %d", what, before, after)
		}
	}

	vote := w.OpenVote(t, &candorv1.Call{Title: "Budget"}).Name
	refused(t, "a conflict without a description", codes.InvalidArgument, "DESCRIPTION_REQUIRED", func() error {
		soi, err := w.Alice.Participants.GetStatementOfInterest(w.Alice.Ctx(t), &candorv1.GetStatementOfInterestRequest{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.Alice.Calls.FileDeclaration(w.Alice.Ctx(t), &candorv1.FileDeclarationRequest{Call: vote,
			Restatement:   &candorv1.FileDeclarationRequest_UnchangedSoiHash{UnchangedSoiHash: soi.StatementOfInterest.ContentHash},
			ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_ACTUAL, Description: " \n "})
		return err
	})
	refused(t, "a vote naming an option twice", codes.InvalidArgument, "DUPLICATE_OPTION", func() error {
		_, err := w.Chair.Calls.OpenCall(w.Chair.Ctx(t), &candorv1.OpenCallRequest{Body: w.Body, Call: &candorv1.Call{Title: "t", Options: []string{"Adopt", "adopt "}}})
		return err
	})
	refused(t, "a vote with one option", codes.InvalidArgument, "TOO_FEW_OPTIONS", func() error {
		_, err := w.Chair.Calls.OpenCall(w.Chair.Ctx(t), &candorv1.OpenCallRequest{Body: w.Body, Call: &candorv1.Call{Title: "t", Options: []string{"Adopt"}}})
		return err
	})
	refused(t, "a narrowed call naming one participant twice", codes.InvalidArgument, "DUPLICATE_ELIGIBLE", func() error {
		_, err := w.Chair.Calls.OpenCall(w.Chair.Ctx(t), &candorv1.OpenCallRequest{Body: w.Body, Call: &candorv1.Call{Title: "t",
			EligibleParticipants: []string{w.Names["alice"], w.Names["alice"]}, EligibilityJustification: "liaisons"}})
		return err
	})

	call := openConsensus(t, w)
	for _, c := range []*ts.Client{w.Alice, w.Bob} {
		w.Declare(t, c, call, none, join)
	}
	wantStatus(t, position(t, w.Alice, call, support, ""), codes.OK, "")
	wantStatus(t, position(t, w.Bob, call, oppose, "too costly"), codes.OK, "")
	refused(t, "a co-signer named twice", codes.InvalidArgument, "DUPLICATE_COSIGNER", func() error {
		_, err := w.Bob.Calls.FileMinorityStatement(w.Bob.Ctx(t), &candorv1.FileMinorityStatementRequest{
			Call: call, Text: "We dissent.", Cosigners: []string{w.Names["alice"], w.Names["alice"]},
		})
		return err
	})
	if _, err := w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: call}); err != nil {
		t.Fatal(err)
	}
	for _, window := range []time.Duration{-time.Second, 90*24*time.Hour + time.Second} {
		refused(t, "an objection window of "+window.String(), codes.InvalidArgument, "OBJECTION_WINDOW_OUT_OF_RANGE", func() error {
			return propose(t, w.Chair, call, candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS, window)
		})
	}
	resp, err := w.Chair.Calls.ProposeDesignation(w.Chair.Ctx(t), &candorv1.ProposeDesignationRequest{
		Call: call, Level: candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS, Rationale: "most support",
	})
	if err != nil {
		t.Fatal(err)
	}
	ps := resp.GetCall().GetConsensus().GetProposals()
	if got := ps[len(ps)-1].GetObjectionDeadline().AsTime().Sub(ps[len(ps)-1].GetCreateTime().AsTime()); got != 7*24*time.Hour {
		t.Errorf("a window of 0 gives %v to object, want 7 days", got)
	}
}
