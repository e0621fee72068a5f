package rpc_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// recvUntil reads the watch until a state satisfies ok, failing after 10 s. It returns that state
// and how many states were read.
func recvUntil(t *testing.T, stream candorv1.CallService_WatchCallClient, what string, ok func(*candorv1.WatchCallResponse) bool) (*candorv1.WatchCallResponse, int) {
	t.Helper()
	type got struct {
		resp *candorv1.WatchCallResponse
		err  error
	}
	timeout := time.After(10 * time.Second)
	for n := 1; ; n++ {
		ch := make(chan got, 1)
		go func() { r, err := stream.Recv(); ch <- got{r, err} }()
		select {
		case g := <-ch:
			if g.err != nil {
				t.Fatalf("waiting for %s: %v", what, g.err)
			}
			if ok(g.resp) {
				return g.resp, n
			}
		case <-timeout:
			t.Fatalf("no state with %s within 10 s", what)
		}
	}
}

func rosterEntry(resp *candorv1.WatchCallResponse, participant string) *candorv1.RosterEntry {
	for _, e := range resp.Roster {
		if e.Participant == participant {
			return e
		}
	}
	return nil
}

func TestWatchCallSendsEveryChange(t *testing.T) {
	w := ts.NewWorld(t, ts.Start(t, ts.Bufconn()))
	call := w.OpenVote(t, nil).Name
	ctx, cancel := context.WithCancel(w.Chair.Ctx(t))
	defer cancel()
	stream, err := w.Chair.Calls.WatchCall(ctx, &candorv1.WatchCallRequest{Name: call})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := recvUntil(t, stream, "the initial roster", func(r *candorv1.WatchCallResponse) bool { return true })
	if got, want := len(first.Roster), 4; got != want {
		t.Fatalf("initial roster has %d entries, want %d", got, want)
	}
	if e := rosterEntry(first, w.Names["alice"]); e == nil || e.Declaration != nil {
		t.Fatalf("initial roster entry for alice = %v, want undeclared", e)
	}

	w.Declare(t, w.Alice, call, none, join)
	recvUntil(t, stream, "alice's declaration", func(r *candorv1.WatchCallResponse) bool {
		return rosterEntry(r, w.Names["alice"]).GetDeclaration() != nil
	})
	if _, err := ts.Vote(t, w.Alice, call, "yes"); err != nil {
		t.Fatal(err)
	}
	recvUntil(t, stream, "alice's ballot", func(r *candorv1.WatchCallResponse) bool {
		return rosterEntry(r, w.Names["alice"]).GetVoted()
	})

	// A new SOI version makes alice's declaration stale in every roster, this one included.
	if _, err := w.Alice.Participants.UpdateStatementOfInterest(w.Alice.Ctx(t), &candorv1.UpdateStatementOfInterestRequest{
		StatementOfInterest: &candorv1.StatementOfInterest{Employer: "Example Registry Inc.", Represents: "self"},
	}); err != nil {
		t.Fatal(err)
	}
	recvUntil(t, stream, "alice's stale declaration", func(r *candorv1.WatchCallResponse) bool {
		return rosterEntry(r, w.Names["alice"]).GetStale()
	})

	if _, err := w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: call}); err != nil {
		t.Fatal(err)
	}
	closed, _ := recvUntil(t, stream, "the result", func(r *candorv1.WatchCallResponse) bool {
		return r.Call.GetState() == candorv1.CallState_CALL_STATE_CLOSED
	})
	if closed.Call.Result == nil {
		t.Fatal("closed call sent without its result")
	}
}

// A watcher that reads nothing must not hold up writers, and when it reads again it gets the latest
// state, not a backlog of every intermediate one.
func TestWatchCallSlowWatcherGetsLatestState(t *testing.T) {
	w := ts.NewWorld(t, ts.Start(t, ts.Bufconn()))
	call := w.OpenVote(t, nil).Name
	ctx, cancel := context.WithCancel(w.Chair.Ctx(t))
	defer cancel()
	stream, err := w.Chair.Calls.WatchCall(ctx, &candorv1.WatchCallRequest{Name: call})
	if err != nil {
		t.Fatal(err)
	}
	// Many changes while the watcher reads nothing. Each write has the client's 30 s bound: a
	// writer held up by the watcher fails the test.
	const ballots = 60
	w.Declare(t, w.Alice, call, none, join)
	options := []string{"yes", "no"}
	for i := range ballots {
		if _, err := ts.Vote(t, w.Alice, call, options[i%2]); err != nil {
			t.Fatalf("ballot %d with a stalled watcher: %v", i, err)
		}
	}
	w.Declare(t, w.Bob, call, none, join)
	_, states := recvUntil(t, stream, "bob's declaration, made after every ballot", func(r *candorv1.WatchCallResponse) bool {
		return rosterEntry(r, w.Names["bob"]).GetDeclaration() != nil
	})
	if states > ballots/2 {
		t.Errorf("watcher read %d states to catch up on %d changes; want the latest state, not a backlog", states, ballots+2)
	}
}

func TestWatchCallRefusals(t *testing.T) {
	w := ts.NewWorld(t, ts.Start(t, ts.Bufconn()))
	call := w.OpenVote(t, nil).Name
	for _, tc := range []struct {
		name   string
		c      *ts.Client
		target string
		code   codes.Code
		reason string
	}{
		{"outsider", w.Outsider, call, codes.PermissionDenied, "NOT_MEMBER"},
		{"anonymous", w.Anonymous, call, codes.Unauthenticated, "UNAUTHENTICATED"},
		{"bad name", w.Chair, "bodies/x/calls/y", codes.InvalidArgument, "INVALID_ARGUMENT"},
		{"no such call", w.Chair, w.Body + "/calls/0194a1b2-0000-7000-8000-000000000000", codes.NotFound, "CALL_NOT_FOUND"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream, err := tc.c.Calls.WatchCall(tc.c.Ctx(t), &candorv1.WatchCallRequest{Name: tc.target})
			if err == nil {
				_, err = stream.Recv()
			}
			wantStatus(t, err, tc.code, tc.reason)
		})
	}
}

// Stopping the server ends live watches rather than waiting for them until the drain times out.
func TestWatchCallEndsOnShutdown(t *testing.T) {
	srv := ts.Start(t, ts.Bufconn())
	w := ts.NewWorld(t, srv)
	call := w.OpenVote(t, nil).Name
	stream, err := w.Chair.Calls.WatchCall(w.Chair.Ctx(t), &candorv1.WatchCallRequest{Name: call})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() { srv.Stop(); close(stopped) }()
	for {
		if _, err := stream.Recv(); err != nil {
			if code := status.Code(err); code != codes.Unavailable {
				t.Errorf("watch ended with %v, want Unavailable", err)
			}
			break
		}
	}
	select {
	case <-stopped:
	case <-time.After(4 * time.Second): // the drain timeout is 5 s
		t.Fatal("server still draining a watch after 4 s")
	}
}
