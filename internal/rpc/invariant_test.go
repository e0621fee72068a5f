package rpc_test

import (
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

const (
	none      = candorv1.ConflictLevel_CONFLICT_LEVEL_NONE
	potential = candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL
	actual    = candorv1.ConflictLevel_CONFLICT_LEVEL_ACTUAL
	join      = candorv1.Intent_INTENT_PARTICIPATE
	recuse    = candorv1.Intent_INTENT_RECUSE
)

// wantStatus fails unless err is a status with code and an ErrorInfo reason (reason "" skips it).
func wantStatus(t *testing.T, err error, code codes.Code, reason string) {
	t.Helper()
	if code == codes.OK {
		if err != nil {
			t.Fatalf("got error %v, want success", err)
		}
		return
	}
	st, ok := status.FromError(err)
	if !ok || err == nil {
		t.Fatalf("got %v, want %v %s", err, code, reason)
	}
	if st.Code() != code {
		t.Fatalf("got code %v (%s), want %v %s", st.Code(), st.Message(), code, reason)
	}
	if got := errorReason(st); reason != "" && got != reason {
		t.Fatalf("got reason %q (%s), want %q", got, st.Message(), reason)
	}
}

func errorReason(st *status.Status) string {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.Reason
		}
	}
	return ""
}

func TestBallotRequiresCurrentDeclaration(t *testing.T) {
	testBallotRequiresCurrentDeclaration(t, startBolt)
}

func testBallotRequiresCurrentDeclaration(t *testing.T, start starter) {
	w := ts.NewWorld(t, start(t))
	tests := []struct {
		name   string
		policy candorv1.ConflictPolicy
		// prepare runs as alice before she votes, on call c.
		prepare    func(t *testing.T, c string)
		wantCode   codes.Code
		wantReason string
	}{
		{"no declaration", 0, func(*testing.T, string) {}, codes.FailedPrecondition, "DECLARATION_REQUIRED"},
		{"declared none", 0, func(t *testing.T, c string) { w.Declare(t, w.Alice, c, none, join) }, codes.OK, ""},
		{"declaration in another call", 0, func(t *testing.T, c string) {
			other := w.OpenVote(t, nil)
			w.Declare(t, w.Alice, other.Name, none, join)
		}, codes.FailedPrecondition, "DECLARATION_REQUIRED"},
		{"SOI changed after declaring", 0, func(t *testing.T, c string) {
			w.Declare(t, w.Alice, c, none, join)
			updateSOI(t, w.Alice, "New Employer Ltd")
		}, codes.FailedPrecondition, "DECLARATION_STALE"},
		{"declared a recusal", 0, func(t *testing.T, c string) { w.Declare(t, w.Alice, c, actual, recuse) }, codes.FailedPrecondition, "RECUSED"},
		{"recusal supersedes participation", 0, func(t *testing.T, c string) {
			w.Declare(t, w.Alice, c, none, join)
			w.Declare(t, w.Alice, c, actual, recuse)
		}, codes.FailedPrecondition, "RECUSED"},
		{"participation supersedes recusal", 0, func(t *testing.T, c string) {
			w.Declare(t, w.Alice, c, actual, recuse)
			w.Declare(t, w.Alice, c, none, join)
		}, codes.OK, ""},
		{"disclose policy lets an actual conflict vote", candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE,
			func(t *testing.T, c string) { w.Declare(t, w.Alice, c, actual, join) }, codes.OK, ""},
		{"recuse policy refuses an actual conflict", candorv1.ConflictPolicy_CONFLICT_POLICY_RECUSE,
			func(t *testing.T, c string) { w.Declare(t, w.Alice, c, actual, join) }, codes.FailedPrecondition, "RECUSED"},
		{"recuse policy lets a potential conflict vote", candorv1.ConflictPolicy_CONFLICT_POLICY_RECUSE,
			func(t *testing.T, c string) { w.Declare(t, w.Alice, c, potential, join) }, codes.OK, ""},
		{"review policy needs clearance", candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW,
			func(t *testing.T, c string) { w.Declare(t, w.Alice, c, potential, join) }, codes.FailedPrecondition, "DECLARATION_NOT_CLEARED"},
		{"review policy needs no clearance without a conflict", candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW,
			func(t *testing.T, c string) { w.Declare(t, w.Alice, c, none, join) }, codes.OK, ""},
		{"review policy after clearance", candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW, func(t *testing.T, c string) {
			w.Declare(t, w.Alice, c, potential, join)
			clear(t, w, c, "alice", candorv1.ClearanceDecision_CLEARANCE_DECISION_CLEARED)
		}, codes.OK, ""},
		{"review policy: clearance does not carry to a new declaration", candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW, func(t *testing.T, c string) {
			w.Declare(t, w.Alice, c, potential, join)
			clear(t, w, c, "alice", candorv1.ClearanceDecision_CLEARANCE_DECISION_CLEARED)
			w.Declare(t, w.Alice, c, actual, join)
		}, codes.FailedPrecondition, "DECLARATION_NOT_CLEARED"},
		{"review policy: chair requires recusal", candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW, func(t *testing.T, c string) {
			w.Declare(t, w.Alice, c, actual, join)
			clear(t, w, c, "alice", candorv1.ClearanceDecision_CLEARANCE_DECISION_RECUSAL_REQUIRED)
		}, codes.FailedPrecondition, "RECUSED"},
		{"closed call", 0, func(t *testing.T, c string) {
			w.Declare(t, w.Alice, c, none, join)
			if _, err := w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: c}); err != nil {
				t.Fatal(err)
			}
		}, codes.FailedPrecondition, "CALL_CLOSED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := w.OpenVote(t, &candorv1.Call{ConflictPolicy: tt.policy})
			tt.prepare(t, c.Name)
			before := logSize(t, w)
			_, err := ts.Vote(t, w.Alice, c.Name, "yes")
			wantStatus(t, err, tt.wantCode, tt.wantReason)
			if err != nil && logSize(t, w) != before {
				t.Errorf("a refused ballot changed the log: size %d, want %d", logSize(t, w), before)
			}
			// Restore alice's SOI version for the next case: each case starts current.
		})
	}
}

func TestBallotRefusals(t *testing.T) { testBallotRefusals(t, startBolt) }

func testBallotRefusals(t *testing.T, start starter) {
	w := ts.NewWorld(t, start(t))
	c := w.OpenVote(t, &candorv1.Call{Options: []string{"Yes", "No"}})

	t.Run("outsider is not eligible", func(t *testing.T) {
		// The outsider has no SOI either; eligibility is checked first.
		_, err := w.Outsider.Calls.FileDeclaration(w.Outsider.Ctx(t), &candorv1.FileDeclarationRequest{
			Call:          c.Name,
			Restatement:   &candorv1.FileDeclarationRequest_UnchangedSoiHash{UnchangedSoiHash: make([]byte, 32)},
			ConflictLevel: none,
		})
		wantStatus(t, err, codes.PermissionDenied, "NOT_ELIGIBLE")
	})
	t.Run("admin cannot vote", func(t *testing.T) {
		_, err := ts.Vote(t, w.Admin, c.Name, "yes")
		wantStatus(t, err, codes.PermissionDenied, "PARTICIPANT_REQUIRED")
	})
	t.Run("no token", func(t *testing.T) {
		_, err := ts.Vote(t, w.Anonymous, c.Name, "yes")
		wantStatus(t, err, codes.Unauthenticated, "UNAUTHENTICATED")
	})
	t.Run("unknown option", func(t *testing.T) {
		w.Declare(t, w.Bob, c.Name, none, join)
		_, err := ts.Vote(t, w.Bob, c.Name, "maybe")
		wantStatus(t, err, codes.InvalidArgument, "UNKNOWN_OPTION")
	})
	t.Run("option matched ignoring case", func(t *testing.T) {
		resp, err := ts.Vote(t, w.Bob, c.Name, "yes")
		wantStatus(t, err, codes.OK, "")
		if resp.Ballot.Option != "Yes" {
			t.Errorf("ballot option = %q, want the call's spelling %q", resp.Ballot.Option, "Yes")
		}
	})
	t.Run("stale pin", func(t *testing.T) {
		old, err := w.Carol.Participants.GetStatementOfInterest(w.Carol.Ctx(t), &candorv1.GetStatementOfInterestRequest{})
		if err != nil {
			t.Fatal(err)
		}
		updateSOI(t, w.Carol, "Another Employer")
		_, err = w.Carol.Calls.FileDeclaration(w.Carol.Ctx(t), &candorv1.FileDeclarationRequest{
			Call:          c.Name,
			Restatement:   &candorv1.FileDeclarationRequest_UnchangedSoiHash{UnchangedSoiHash: old.StatementOfInterest.ContentHash},
			ConflictLevel: none,
		})
		wantStatus(t, err, codes.FailedPrecondition, "SOI_PIN_NOT_CURRENT")
	})
}

func TestDeclarationNeedsSOI(t *testing.T) { testDeclarationNeedsSOI(t, startBolt) }

func testDeclarationNeedsSOI(t *testing.T, start starter) {
	w := ts.NewWorld(t, start(t))
	resp, err := w.Admin.Participants.CreateParticipant(w.Admin.Ctx(t), &candorv1.CreateParticipantRequest{DisplayName: "dave"})
	if err != nil {
		t.Fatal(err)
	}
	dave := ts.NewClient(w.Server.Conn(), resp.Token)
	if _, err := w.Admin.Bodies.AddMember(w.Admin.Ctx(t), &candorv1.AddMemberRequest{
		Body: w.Body, Participant: resp.Participant.Name, Role: candorv1.Role_ROLE_MEMBER,
	}); err != nil {
		t.Fatal(err)
	}
	c := w.OpenVote(t, nil)
	_, err = dave.Calls.FileDeclaration(dave.Ctx(t), &candorv1.FileDeclarationRequest{
		Call:          c.Name,
		Restatement:   &candorv1.FileDeclarationRequest_UnchangedSoiHash{UnchangedSoiHash: make([]byte, 32)},
		ConflictLevel: none,
	})
	wantStatus(t, err, codes.FailedPrecondition, "SOI_REQUIRED")

	// Restating with a full SOI files version 1 and the declaration in one step.
	d, err := dave.Calls.FileDeclaration(dave.Ctx(t), &candorv1.FileDeclarationRequest{
		Call: c.Name,
		Restatement: &candorv1.FileDeclarationRequest_UpdatedSoi{UpdatedSoi: &candorv1.StatementOfInterest{
			Employer: "Registry Co", Represents: "self",
			Interests: []*candorv1.Interest{{Organization: "Registry Co", Nature: "employee"}},
		}},
		ConflictLevel: potential, Description: "my employer is affected",
	})
	wantStatus(t, err, codes.OK, "")
	if d.Declaration.SoiVersion != 1 || !d.Declaration.SoiChanged {
		t.Errorf("declaration = version %d changed %v, want version 1 changed", d.Declaration.SoiVersion, d.Declaration.SoiChanged)
	}
	if _, err := ts.Vote(t, dave, c.Name, "no"); err != nil {
		t.Errorf("vote after restating: %v", err)
	}
}

func TestTallyAtClose(t *testing.T) { testTallyAtClose(t, startBolt) }

func testTallyAtClose(t *testing.T, start starter) {
	w := ts.NewWorld(t, start(t))
	c := w.OpenVote(t, &candorv1.Call{Quorum: 2, Threshold: candorv1.Threshold_THRESHOLD_TWO_THIRDS})
	w.Declare(t, w.Chair, c.Name, none, join)
	w.Declare(t, w.Alice, c.Name, potential, join)
	w.Declare(t, w.Bob, c.Name, actual, recuse)
	for who, opt := range map[*ts.Client]string{w.Chair: "no", w.Alice: "yes"} {
		if _, err := ts.Vote(t, who, c.Name, opt); err != nil {
			t.Fatal(err)
		}
	}
	// The chair changes their ballot: the last counts.
	if _, err := ts.Vote(t, w.Chair, c.Name, "yes"); err != nil {
		t.Fatal(err)
	}
	resp, err := w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: c.Name})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Call.Result
	if r.Outcome != candorv1.Outcome_OUTCOME_DECIDED || r.WinningOption != "yes" {
		t.Errorf("outcome %v %q, want DECIDED yes", r.Outcome, r.WinningOption)
	}
	if r.BallotsCounted != 2 || r.VotesCast != 2 || r.Eligible != 4 || !r.QuorumMet {
		t.Errorf("counted %d cast %d eligible %d quorum %v; want 2 2 4 true", r.BallotsCounted, r.VotesCast, r.Eligible, r.QuorumMet)
	}
	if len(r.Recused) != 1 || r.Recused[0] != w.Names["bob"] {
		t.Errorf("recused = %v, want [bob]", r.Recused)
	}
	if len(r.Flagged) != 1 || r.Flagged[0].Participant != w.Names["alice"] {
		t.Errorf("flagged = %v, want [alice]", r.Flagged)
	}
	if len(r.Undeclared) != 1 || r.Undeclared[0] != w.Names["carol"] {
		t.Errorf("undeclared = %v, want [carol]", r.Undeclared)
	}
	if want := 2.0 / 3.0; r.Turnout != want {
		t.Errorf("turnout = %v, want %v (recusals leave the denominator)", r.Turnout, want)
	}
	_, err = w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: c.Name})
	wantStatus(t, err, codes.FailedPrecondition, "CALL_CLOSED")
}

func TestDeadlineClosesCall(t *testing.T) { testDeadlineClosesCall(t, startBolt) }

func testDeadlineClosesCall(t *testing.T, start starter) {
	w := ts.NewWorld(t, start(t))
	c := w.OpenVote(t, &candorv1.Call{Deadline: timestamppb.New(time.Now().Add(1500 * time.Millisecond))})
	w.Declare(t, w.Alice, c.Name, none, join)
	if _, err := ts.Vote(t, w.Alice, c.Name, "yes"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, err := w.Chair.Calls.GetCall(w.Chair.Ctx(t), &candorv1.GetCallRequest{Name: c.Name})
		if err != nil {
			t.Fatal(err)
		}
		if got.Call.State == candorv1.CallState_CALL_STATE_CLOSED {
			if got.Call.ClosedBy != "server" || got.Call.Result.GetBallotsCounted() != 1 {
				t.Errorf("closed by %q with %d ballots, want server and 1", got.Call.ClosedBy, got.Call.Result.GetBallotsCounted())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("call still open 15 s after its deadline")
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, err := ts.Vote(t, w.Alice, c.Name, "no")
	wantStatus(t, err, codes.FailedPrecondition, "CALL_CLOSED")
}

func TestNarrowEligibilityNeedsJustification(t *testing.T) {
	testNarrowEligibilityNeedsJustification(t, startBolt)
}

func testNarrowEligibilityNeedsJustification(t *testing.T, start starter) {
	w := ts.NewWorld(t, start(t))
	_, err := w.Chair.Calls.OpenCall(w.Chair.Ctx(t), &candorv1.OpenCallRequest{Body: w.Body, Call: &candorv1.Call{
		Title: "Narrow", EligibleParticipants: []string{w.Names["alice"]},
	}})
	wantStatus(t, err, codes.InvalidArgument, "JUSTIFICATION_REQUIRED")

	_, err = w.Chair.Calls.OpenCall(w.Chair.Ctx(t), &candorv1.OpenCallRequest{Body: w.Body, Call: &candorv1.Call{
		Title: "Narrow", EligibleParticipants: []string{w.Names["outsider"]}, EligibilityJustification: "x",
	}})
	wantStatus(t, err, codes.FailedPrecondition, "ELIGIBLE_NOT_MEMBER")

	resp, err := w.Chair.Calls.OpenCall(w.Chair.Ctx(t), &candorv1.OpenCallRequest{Body: w.Body, Call: &candorv1.Call{
		Title: "Narrow", EligibleParticipants: []string{w.Names["alice"]},
		EligibilityJustification: "Only the liaison votes on liaison matters (Charter 4.2)",
	}})
	wantStatus(t, err, codes.OK, "")
	if !resp.Call.EligibilityRestricted || resp.Call.EligibilityJustification == "" {
		t.Errorf("call = %v, want restricted with its justification kept", resp.Call)
	}
	_, err = ts.DeclareErr(t, w.Bob, resp.Call.Name, none, join)
	wantStatus(t, err, codes.PermissionDenied, "NOT_ELIGIBLE")
}

func updateSOI(t *testing.T, c *ts.Client, employer string) {
	t.Helper()
	if _, err := c.Participants.UpdateStatementOfInterest(c.Ctx(t), &candorv1.UpdateStatementOfInterestRequest{
		StatementOfInterest: &candorv1.StatementOfInterest{Employer: employer, Represents: "self"},
	}); err != nil {
		t.Fatalf("UpdateStatementOfInterest: %v", err)
	}
}

func clear(t *testing.T, w *ts.World, call, who string, d candorv1.ClearanceDecision) {
	t.Helper()
	if _, err := w.Chair.Calls.ClearDeclaration(w.Chair.Ctx(t), &candorv1.ClearDeclarationRequest{
		Call: call, Participant: w.Names[who], Decision: d, Note: "reviewed",
	}); err != nil {
		t.Fatalf("ClearDeclaration: %v", err)
	}
}

func logSize(t *testing.T, w *ts.World) int64 {
	t.Helper()
	resp, err := w.Auditor.Audit.GetInclusionProof(w.Auditor.Ctx(t), &candorv1.GetInclusionProofRequest{Index: 0})
	if err != nil {
		t.Fatal(err)
	}
	return resp.TreeSize
}
