package rpc_test

import (
	"fmt"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestBallotsRaceDeclarationChanges races each voter's ballots against a change that invalidates
// their declaration (a new SOI version, or a recusal). The invariant holds only if every accepted
// ballot sits in the log before the change, and every ballot refused is refused for that change.
func TestBallotsRaceDeclarationChanges(t *testing.T) { testBallotsRaceDeclarationChanges(t, startBolt) }

func testBallotsRaceDeclarationChanges(t *testing.T, start starter) {
	srv := start(t)
	w := ts.NewWorld(t, srv)
	conn := srv.Conn()
	const voters = 24
	var clients []*ts.Client
	for i := range voters {
		resp, err := w.Admin.Participants.CreateParticipant(w.Admin.Ctx(t), &candorv1.CreateParticipantRequest{DisplayName: fmt.Sprint("voter ", i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Admin.Bodies.AddMember(w.Admin.Ctx(t), &candorv1.AddMemberRequest{
			Body: w.Body, Participant: resp.Participant.Name, Role: candorv1.Role_ROLE_MEMBER,
		}); err != nil {
			t.Fatal(err)
		}
		c := ts.NewClient(conn, resp.Token)
		updateSOI(t, c, "Employer 1")
		clients = append(clients, c)
	}
	call := w.OpenVote(t, nil).Name
	for _, c := range clients {
		w.Declare(t, c, call, none, join)
	}

	type outcome struct {
		changeIndex int64
		accepted    []int64
		refused     []error
	}
	outcomes := make([]outcome, voters)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(2)
		go func() { // the ballots
			defer wg.Done()
			for range 6 {
				resp, err := ts.Vote(t, c, call, "yes")
				if err != nil {
					outcomes[i].refused = append(outcomes[i].refused, err)
					continue
				}
				outcomes[i].accepted = append(outcomes[i].accepted, resp.Receipt.LogIndex)
			}
		}()
		go func() { // the change
			defer wg.Done()
			var rcpt *candorv1.Receipt
			if i%2 == 0 {
				resp, err := c.Participants.UpdateStatementOfInterest(c.Ctx(t), &candorv1.UpdateStatementOfInterestRequest{
					StatementOfInterest: &candorv1.StatementOfInterest{Employer: "Employer 2"},
				})
				if err != nil {
					t.Error(err)
					return
				}
				rcpt = resp.Receipt
			} else {
				rcpt = w.Declare(t, c, call, actual, recuse).Receipt
			}
			outcomes[i].changeIndex = rcpt.LogIndex
		}()
	}
	wg.Wait()

	for i, o := range outcomes {
		wantReason := "DECLARATION_STALE"
		if i%2 == 1 {
			wantReason = "RECUSED"
		}
		for _, idx := range o.accepted {
			if idx > o.changeIndex {
				t.Errorf("voter %d: ballot at index %d accepted after the change at %d", i, idx, o.changeIndex)
			}
		}
		for _, err := range o.refused {
			st, _ := status.FromError(err)
			if st.Code() != codes.FailedPrecondition || errorReason(st) != wantReason {
				t.Errorf("voter %d: ballot refused with %v %q, want %s", i, st.Code(), errorReason(st), wantReason)
			}
		}
		if len(o.accepted)+len(o.refused) != 6 {
			t.Errorf("voter %d: %d answers, want 6", i, len(o.accepted)+len(o.refused))
		}
	}

	// At close, the recused half is left out of the count even where it voted first.
	resp, err := w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: call})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Call.Result
	if len(r.Recused) != voters/2 {
		t.Errorf("recused = %d, want %d", len(r.Recused), voters/2)
	}
	wantCounted := 0
	for i, o := range outcomes {
		if i%2 == 0 && len(o.accepted) > 0 {
			wantCounted++
		}
	}
	if int(r.BallotsCounted) != wantCounted {
		t.Errorf("ballots counted = %d, want %d (voters who voted before their SOI changed)", r.BallotsCounted, wantCounted)
	}
}
