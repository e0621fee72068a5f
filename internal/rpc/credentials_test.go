package rpc_test

import (
	"bytes"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/candorhq/candor/internal/service"
	ts "github.com/candorhq/candor/internal/testserver"
	"github.com/candorhq/candor/internal/verify"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// verifyLog runs the offline auditor over the server's whole log.
func verifyLog(t *testing.T, srv *ts.Server, w *ts.World) {
	t.Helper()
	if _, err := verify.Log(w.Auditor.Ctx(t), w.Auditor.Audit, verify.Options{VerifierKey: srv.VerifierKey, StateDir: t.TempDir()}); err != nil {
		t.Fatalf("verify.Log: %v", err)
	}
}

// entryHolds fails if the receipt's entry contains secret (a token or its hash).
func entryHolds(t *testing.T, rcpt *candorv1.Receipt, kind candorv1.EntryKind, secrets ...[]byte) {
	t.Helper()
	e := new(candorv1.LogEntry)
	if err := proto.Unmarshal(rcpt.GetEntry(), e); err != nil {
		t.Fatal(err)
	}
	if e.Kind != kind {
		t.Errorf("entry kind %v, want %v", e.Kind, kind)
	}
	for _, s := range secrets {
		if bytes.Contains(rcpt.GetEntry(), s) {
			t.Errorf("the %v entry holds a credential", kind)
		}
	}
}

func TestRotateToken(t *testing.T) {
	srv := ts.Start(t, ts.Bufconn())
	w := ts.NewWorld(t, srv)
	old := w.Alice.Token
	resp, err := w.Alice.Participants.RotateToken(w.Alice.Ctx(t), &candorv1.RotateTokenRequest{})
	wantStatus(t, err, codes.OK, "")
	if resp.Token == "" || resp.Token == old || resp.Participant.GetName() != w.Names["alice"] {
		t.Fatalf("RotateToken gave token %q for %s", resp.Token, resp.Participant.GetName())
	}
	entryHolds(t, resp.Receipt, candorv1.EntryKind_ENTRY_KIND_TOKEN_ROTATED, []byte(old), []byte(resp.Token), hash(resp.Token), hash(old))

	// The old token stops working at once, for reads and writes; the new one works.
	_, err = w.Alice.Participants.GetParticipant(w.Alice.Ctx(t), &candorv1.GetParticipantRequest{})
	wantStatus(t, err, codes.Unauthenticated, "UNAUTHENTICATED")
	w.Alice.Token = resp.Token
	call := w.OpenVote(t, nil).Name
	w.Declare(t, w.Alice, call, none, join)
	_, err = ts.Vote(t, w.Alice, call, "yes")
	wantStatus(t, err, codes.OK, "")

	// The admin is no participant: it has no token of its own to rotate here.
	_, err = w.Admin.Participants.RotateToken(w.Admin.Ctx(t), &candorv1.RotateTokenRequest{})
	wantStatus(t, err, codes.PermissionDenied, "PARTICIPANT_REQUIRED")
	verifyLog(t, srv, w)
}

func TestReissueToken(t *testing.T) {
	srv := ts.Start(t, ts.Bufconn())
	w := ts.NewWorld(t, srv)
	old := w.Bob.Token
	resp, err := w.Admin.Participants.ReissueToken(w.Admin.Ctx(t), &candorv1.ReissueTokenRequest{Name: w.Names["bob"]})
	wantStatus(t, err, codes.OK, "")
	entryHolds(t, resp.Receipt, candorv1.EntryKind_ENTRY_KIND_TOKEN_REISSUED, []byte(old), []byte(resp.Token), hash(resp.Token), hash(old))
	_, err = w.Bob.Participants.GetParticipant(w.Bob.Ctx(t), &candorv1.GetParticipantRequest{})
	wantStatus(t, err, codes.Unauthenticated, "UNAUTHENTICATED")
	w.Bob.Token = resp.Token
	got, err := w.Bob.Participants.GetParticipant(w.Bob.Ctx(t), &candorv1.GetParticipantRequest{})
	wantStatus(t, err, codes.OK, "")
	if got.Participant.Name != w.Names["bob"] {
		t.Errorf("the new token is %s's, want bob's", got.Participant.Name)
	}
	_, err = w.Admin.Participants.ReissueToken(w.Admin.Ctx(t), &candorv1.ReissueTokenRequest{Name: "participants/00000000-0000-7000-8000-000000000000"})
	wantStatus(t, err, codes.NotFound, "PARTICIPANT_NOT_FOUND")
	verifyLog(t, srv, w)
}

func TestDeactivateParticipant(t *testing.T) {
	srv := ts.Start(t, ts.Bufconn())
	w := ts.NewWorld(t, srv)
	call := w.OpenVote(t, nil).Name
	w.Declare(t, w.Alice, call, none, join)
	if _, err := ts.Vote(t, w.Alice, call, "yes"); err != nil {
		t.Fatal(err)
	}
	w.Declare(t, w.Bob, call, none, join)

	resp, err := w.Admin.Participants.DeactivateParticipant(w.Admin.Ctx(t), &candorv1.DeactivateParticipantRequest{Name: w.Names["bob"]})
	wantStatus(t, err, codes.OK, "")
	if !resp.Participant.Deactivated || resp.Participant.DeactivateTime == nil {
		t.Errorf("deactivated participant: %v", resp.Participant)
	}
	_, err = w.Admin.Participants.DeactivateParticipant(w.Admin.Ctx(t), &candorv1.DeactivateParticipantRequest{Name: w.Names["bob"]})
	wantStatus(t, err, codes.FailedPrecondition, "ALREADY_DEACTIVATED")

	// No more writes from bob, of any kind; the reason says why.
	_, err = ts.Vote(t, w.Bob, call, "no")
	wantStatus(t, err, codes.PermissionDenied, "PARTICIPANT_DEACTIVATED")
	_, err = ts.DeclareErr(t, w.Bob, call, none, join)
	wantStatus(t, err, codes.PermissionDenied, "PARTICIPANT_DEACTIVATED")
	_, err = w.Bob.Participants.UpdateStatementOfInterest(w.Bob.Ctx(t), &candorv1.UpdateStatementOfInterestRequest{
		StatementOfInterest: &candorv1.StatementOfInterest{Employer: "Other", JobTitle: "x", Represents: "self"},
	})
	wantStatus(t, err, codes.PermissionDenied, "PARTICIPANT_DEACTIVATED")
	_, err = w.Bob.Participants.RotateToken(w.Bob.Ctx(t), &candorv1.RotateTokenRequest{})
	wantStatus(t, err, codes.PermissionDenied, "PARTICIPANT_DEACTIVATED")

	// Bob still reads (his own record and receipts); others read his record, which says deactivated.
	_, err = w.Bob.Participants.GetParticipant(w.Bob.Ctx(t), &candorv1.GetParticipantRequest{})
	wantStatus(t, err, codes.OK, "")
	got, err := w.Alice.Participants.GetParticipant(w.Alice.Ctx(t), &candorv1.GetParticipantRequest{Name: w.Names["bob"]})
	wantStatus(t, err, codes.OK, "")
	if !got.Participant.Deactivated {
		t.Error("bob's record does not say deactivated")
	}

	// The open call keeps its eligibility; alice's ballot counts. A new call leaves bob out.
	closed, err := w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: call})
	wantStatus(t, err, codes.OK, "")
	if r := closed.Call.Result; r.Eligible != 4 || r.BallotsCounted != 1 {
		t.Errorf("result: eligible %d, counted %d; want 4 and 1", r.Eligible, r.BallotsCounted)
	}
	next := w.OpenVote(t, nil)
	for _, p := range next.EligibleParticipants {
		if p == w.Names["bob"] {
			t.Error("a call opened after bob's deactivation lists him as eligible")
		}
	}

	// A chair who is deactivated can no longer close a call.
	_, err = w.Admin.Participants.DeactivateParticipant(w.Admin.Ctx(t), &candorv1.DeactivateParticipantRequest{Name: w.Names["chair"]})
	wantStatus(t, err, codes.OK, "")
	_, err = w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: next.Name})
	wantStatus(t, err, codes.PermissionDenied, "PARTICIPANT_DEACTIVATED")
	verifyLog(t, srv, w)
}

func TestRemoveMember(t *testing.T) {
	srv := ts.Start(t, ts.Bufconn())
	w := ts.NewWorld(t, srv)
	call := w.OpenVote(t, nil).Name
	w.Declare(t, w.Bob, call, none, join)
	if _, err := ts.Vote(t, w.Bob, call, "no"); err != nil {
		t.Fatal(err)
	}
	w.Declare(t, w.Alice, call, none, join)

	for _, p := range []string{"bob", "alice"} {
		resp, err := w.Admin.Bodies.RemoveMember(w.Admin.Ctx(t), &candorv1.RemoveMemberRequest{Body: w.Body, Participant: w.Names[p]})
		wantStatus(t, err, codes.OK, "")
		if resp.Membership.Participant != w.Names[p] {
			t.Errorf("removed %s, want %s", resp.Membership.Participant, w.Names[p])
		}
	}
	_, err := w.Admin.Bodies.RemoveMember(w.Admin.Ctx(t), &candorv1.RemoveMemberRequest{Body: w.Body, Participant: w.Names["bob"]})
	wantStatus(t, err, codes.NotFound, "MEMBER_NOT_FOUND")

	// Alice was eligible when the call opened and declared, but may not vote now; nor declare again.
	_, err = ts.Vote(t, w.Alice, call, "yes")
	wantStatus(t, err, codes.PermissionDenied, "MEMBER_REMOVED")
	_, err = ts.DeclareErr(t, w.Alice, call, none, join)
	wantStatus(t, err, codes.PermissionDenied, "MEMBER_REMOVED")

	// Bob's ballot stays and counts, under his group; the roster still lists both.
	roster, err := w.Admin.Calls.GetCallRoster(w.Admin.Ctx(t), &candorv1.GetCallRosterRequest{Name: call})
	wantStatus(t, err, codes.OK, "")
	if len(roster.Entries) != 4 {
		t.Errorf("roster has %d entries, want the 4 fixed at opening", len(roster.Entries))
	}
	closed, err := w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: call})
	wantStatus(t, err, codes.OK, "")
	r := closed.Call.Result
	if r.Eligible != 4 || r.BallotsCounted != 1 {
		t.Errorf("result: eligible %d, counted %d; want 4 and 1", r.Eligible, r.BallotsCounted)
	}
	for _, g := range r.Groups {
		if g.StakeholderGroup == "" {
			t.Errorf("a removed member's ballot was counted under no group: %v", r.Groups)
		}
	}
	members, err := w.Admin.Bodies.ListMembers(w.Admin.Ctx(t), &candorv1.ListMembersRequest{Body: w.Body})
	wantStatus(t, err, codes.OK, "")
	if len(members.Memberships) != 2 {
		t.Errorf("%d members after two removals, want 2", len(members.Memberships))
	}
	next := w.OpenVote(t, nil)
	if len(next.EligibleParticipants) != 2 {
		t.Errorf("a new call makes %d eligible, want the 2 remaining members", len(next.EligibleParticipants))
	}
	verifyLog(t, srv, w)
}

func hash(token string) []byte { return service.TokenHash(token) }
