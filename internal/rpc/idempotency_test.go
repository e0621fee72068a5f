package rpc_test

import (
	"sync"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"

	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestRetriesWithARequestIDWriteOnce retries writes with the same request id, concurrently too, and
// checks each is written once and every retry gets the original answer.
func TestRetriesWithARequestIDWriteOnce(t *testing.T) {
	testRetriesWithARequestIDWriteOnce(t, startBolt)
}

func testRetriesWithARequestIDWriteOnce(t *testing.T, start starter) {
	w := ts.NewWorld(t, start(t))
	call := w.OpenVote(t, nil).Name
	w.Declare(t, w.Alice, call, none, join)

	id := uuid.NewString()
	before := logSize(t, w)
	var wg sync.WaitGroup
	answers := make([]*candorv1.CastBallotResponse, 8)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := w.Alice.Calls.CastBallot(w.Alice.Ctx(t), &candorv1.CastBallotRequest{Call: call, Option: "yes", RequestId: id})
			if err != nil {
				t.Error(err)
				return
			}
			answers[i] = resp
		}()
	}
	wg.Wait()
	if got := logSize(t, w); got != before+1 {
		t.Errorf("log grew by %d for one ballot sent 8 times with one request id, want 1", got-before)
	}
	for _, a := range answers[1:] {
		if a == nil || a.Ballot.Name != answers[0].Ballot.Name || a.Receipt.LogIndex != answers[0].Receipt.LogIndex {
			t.Fatalf("retries answered differently: %v vs %v", a, answers[0])
		}
	}

	// Another caller's request with the same id is its own request.
	w.Declare(t, w.Bob, call, none, join)
	resp, err := w.Bob.Calls.CastBallot(w.Bob.Ctx(t), &candorv1.CastBallotRequest{Call: call, Option: "no", RequestId: id})
	wantStatus(t, err, codes.OK, "")
	if resp.Ballot.Participant != w.Names["bob"] {
		t.Errorf("bob's ballot under alice's request id = %v", resp.Ballot)
	}

	// A retried declaration that restates a changed SOI files one SOI version, not two.
	did := uuid.NewString()
	for range 2 {
		_, err := w.Carol.Calls.FileDeclaration(w.Carol.Ctx(t), &candorv1.FileDeclarationRequest{
			Call:          call,
			Restatement:   &candorv1.FileDeclarationRequest_UpdatedSoi{UpdatedSoi: &candorv1.StatementOfInterest{Employer: "New Co"}},
			ConflictLevel: none, RequestId: did,
		})
		wantStatus(t, err, codes.OK, "")
	}
	sois, err := w.Carol.Participants.ListStatementOfInterestVersions(w.Carol.Ctx(t), &candorv1.ListStatementOfInterestVersionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sois.StatementsOfInterest) != 2 { // one from the world, one from the declaration
		t.Errorf("carol has %d SOI versions, want 2", len(sois.StatementsOfInterest))
	}

	// The same id for a different request is refused, not answered with the first request's result.
	other := w.OpenVote(t, nil).Name
	w.Declare(t, w.Alice, other, none, join)
	_, err = w.Alice.Calls.CastBallot(w.Alice.Ctx(t), &candorv1.CastBallotRequest{Call: other, Option: "yes", RequestId: id})
	wantStatus(t, err, codes.InvalidArgument, "REQUEST_ID_REUSED")

	// The same id on an open call gives the same call; a malformed id is refused.
	oid := uuid.NewString()
	var names []string
	for range 2 {
		resp, err := w.Chair.Calls.OpenCall(w.Chair.Ctx(t), &candorv1.OpenCallRequest{Body: w.Body, Call: &candorv1.Call{Title: "once"}, RequestId: oid})
		wantStatus(t, err, codes.OK, "")
		names = append(names, resp.Call.Name)
	}
	if names[0] != names[1] {
		t.Errorf("OpenCall retried opened %v", names)
	}
	_, err = w.Chair.Calls.OpenCall(w.Chair.Ctx(t), &candorv1.OpenCallRequest{Body: w.Body, Call: &candorv1.Call{Title: "x"}, RequestId: "not-a-uuid"})
	wantStatus(t, err, codes.InvalidArgument, "INVALID_ARGUMENT")
}
