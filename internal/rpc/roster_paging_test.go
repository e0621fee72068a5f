package rpc_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/candorhq/candor/internal/service"
	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// grpcMaxMessage is grpc-go's default limit on a received message, which every answer must stay under.
const grpcMaxMessage = 4 << 20

// slack is what a page's answer holds besides its items (a next page token, a total): the budget
// counts only the items.
const slack = 64

// bigText is n characters of four bytes each in UTF-8: the worst case of a text limit.
func bigText(n int) string { return strings.Repeat("𝔸", n) }

// addMembers creates n participants, each a member of w's body with an SOI, and returns their clients
// by participant name.
func addMembers(t *testing.T, w *ts.World, n int) map[string]*ts.Client {
	t.Helper()
	conn := w.Server.Conn()
	var mu sync.Mutex
	out := make(map[string]*ts.Client, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 32)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ctx := w.Admin.Ctx(t)
			name := fmt.Sprintf("member%03d", i)
			p, err := w.Admin.Participants.CreateParticipant(ctx, &candorv1.CreateParticipantRequest{DisplayName: name, Email: name + "@example.org"})
			if err != nil {
				errs <- fmt.Errorf("CreateParticipant: %w", err)
				return
			}
			if _, err := w.Admin.Bodies.AddMember(ctx, &candorv1.AddMemberRequest{
				Body: w.Body, Participant: p.Participant.Name, Role: candorv1.Role_ROLE_MEMBER, StakeholderGroup: "At-Large",
			}); err != nil {
				errs <- fmt.Errorf("AddMember: %w", err)
				return
			}
			c := ts.NewClient(conn, p.Token)
			if _, err := c.Participants.UpdateStatementOfInterest(c.Ctx(t), &candorv1.UpdateStatementOfInterestRequest{
				StatementOfInterest: &candorv1.StatementOfInterest{Employer: "Example Org", Represents: "self"},
			}); err != nil {
				errs <- fmt.Errorf("UpdateStatementOfInterest: %w", err)
				return
			}
			mu.Lock()
			out[p.Participant.Name] = c
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return out
}

// declareBig files a POTENTIAL declaration with a description of the largest size (4000 characters
// of four bytes) for each client, in parallel.
func declareBig(t *testing.T, call string, clients map[string]*ts.Client) {
	t.Helper()
	desc := bigText(4000)
	var wg sync.WaitGroup
	errs := make(chan error, len(clients))
	sem := make(chan struct{}, 32)
	for _, c := range clients {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			soi, err := c.Participants.GetStatementOfInterest(c.Ctx(t), &candorv1.GetStatementOfInterestRequest{})
			if err != nil {
				errs <- err
				return
			}
			if _, err := c.Calls.FileDeclaration(c.Ctx(t), &candorv1.FileDeclarationRequest{
				Call:          call,
				Restatement:   &candorv1.FileDeclarationRequest_UnchangedSoiHash{UnchangedSoiHash: soi.StatementOfInterest.ContentHash},
				ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL, Description: desc, Intent: join,
			}); err != nil {
				errs <- fmt.Errorf("FileDeclaration: %w", err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// readRoster follows GetCallRoster's pages from token, checking each page's count and size bounds,
// and returns every entry and the number of pages.
func readRoster(t *testing.T, c *ts.Client, call, token string, pageSize int32, budget int) ([]*candorv1.RosterEntry, int) {
	t.Helper()
	var all []*candorv1.RosterEntry
	pages := 0
	for first := true; first || token != ""; first = false {
		resp, err := c.Calls.GetCallRoster(c.Ctx(t), &candorv1.GetCallRosterRequest{Name: call, PageSize: pageSize, PageToken: token})
		if err != nil {
			t.Fatalf("GetCallRoster page %d: %v", pages+1, err)
		}
		pages++
		if len(resp.Entries) == 0 {
			t.Fatalf("GetCallRoster page %d is empty", pages)
		}
		if pageSize > 0 && len(resp.Entries) > int(pageSize) {
			t.Errorf("GetCallRoster page %d holds %d entries, want at most page_size %d", pages, len(resp.Entries), pageSize)
		}
		if len(resp.Entries) > 1 && proto.Size(resp) > budget+slack {
			t.Errorf("GetCallRoster page %d is %d bytes in %d entries, past the budget of %d", pages, proto.Size(resp), len(resp.Entries), budget)
		}
		all = append(all, resp.Entries...)
		token = resp.NextPageToken
	}
	return all, pages
}

// wantRosterOrder checks that entries name every eligible participant exactly once, in order.
func wantRosterOrder(t *testing.T, what string, entries []*candorv1.RosterEntry, eligible []string) {
	t.Helper()
	if len(entries) != len(eligible) {
		t.Fatalf("%s: %d entries, want %d", what, len(entries), len(eligible))
	}
	for i, e := range entries {
		if e.Participant != eligible[i] {
			t.Fatalf("%s: entry %d is %s, want %s", what, i, e.Participant, eligible[i])
		}
	}
}

// TestRosterFlood fills a call's roster with a few hundred members, each with a declaration of the
// largest size: about 5 MB of roster, more than grpc's 4 MiB message limit. Under a page budget of
// 256 KiB (set small so that a few hundred members make many pages), GetCallRoster pages return
// every entry exactly once, in the order of the eligibility list, each page within its bounds;
// WatchCall still delivers, its first state carrying a token that GetCallRoster continues; and
// ListCalls pages of calls with the largest matter stay within the budget.
func TestRosterFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("a few hundred members: not in -short")
	}
	const (
		members = 300
		budget  = 256 << 10
	)
	w := ts.NewWorld(t, ts.Start(t, ts.Bufconn(), ts.PageBytes(budget)))
	clients := addMembers(t, w, members)
	call := w.OpenVote(t, nil)
	eligible := call.EligibleParticipants
	if len(eligible) != members+4 {
		t.Fatalf("the call has %d eligible participants, want %d", len(eligible), members+4)
	}
	declareBig(t, call.Name, clients)

	t.Run("GetCallRoster default page", func(t *testing.T) {
		got, pages := readRoster(t, w.Alice, call.Name, "", 0, budget)
		wantRosterOrder(t, "the default pages", got, eligible)
		total := 0
		for _, e := range got {
			total += service.ItemSize(e)
		}
		if total <= grpcMaxMessage {
			t.Fatalf("the whole roster is %d bytes: the flood is not large enough to pass the message limit", total)
		}
		if least := total / budget; pages < least {
			t.Errorf("%d pages for %d bytes of roster, want at least %d", pages, total, least)
		}
	})
	t.Run("GetCallRoster page_size", func(t *testing.T) {
		got, pages := readRoster(t, w.Auditor, call.Name, "", 7, budget)
		wantRosterOrder(t, "pages of 7", got, eligible)
		if want := (len(eligible) + 6) / 7; pages != want {
			t.Errorf("%d pages of at most 7, want %d", pages, want)
		}
	})
	t.Run("total_size", func(t *testing.T) {
		resp, err := w.Bob.Calls.GetCallRoster(w.Bob.Ctx(t), &candorv1.GetCallRosterRequest{Name: call.Name, PageSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		if resp.TotalSize != int32(len(eligible)) {
			t.Errorf("total_size %d, want %d", resp.TotalSize, len(eligible))
		}
	})

	t.Run("WatchCall", func(t *testing.T) {
		ctx, cancel := context.WithCancel(w.Chair.Ctx(t))
		defer cancel()
		stream, err := w.Chair.Calls.WatchCall(ctx, &candorv1.WatchCallRequest{Name: call.Name})
		if err != nil {
			t.Fatal(err)
		}
		msg, err := stream.Recv()
		if err != nil {
			t.Fatalf("WatchCall: %v", err)
		}
		if len(msg.Roster) == 0 || len(msg.Roster) >= len(eligible) || msg.RosterNextPageToken == "" {
			t.Fatalf("WatchCall's state holds %d of %d entries, next token %q: want a first page and a token",
				len(msg.Roster), len(eligible), msg.RosterNextPageToken)
		}
		if len(msg.Roster) > 1 && proto.Size(msg) > budget+slack {
			t.Errorf("WatchCall's state is %d bytes with %d entries, past the budget of %d", proto.Size(msg), len(msg.Roster), budget)
		}
		if msg.RosterTotalSize != int32(len(eligible)) {
			t.Errorf("roster_total_size %d, want %d", msg.RosterTotalSize, len(eligible))
		}
		rest, _ := readRoster(t, w.Chair, call.Name, msg.RosterNextPageToken, 0, budget)
		wantRosterOrder(t, "the watch's first page and the rest", append(msg.Roster, rest...), eligible)

		// A change still reaches the watcher.
		lastName := eligible[len(eligible)-1]
		if _, err := ts.Vote(t, clients[lastName], call.Name, "yes"); err != nil {
			t.Fatalf("CastBallot: %v", err)
		}
		if msg, err = stream.Recv(); err != nil {
			t.Fatalf("WatchCall after a ballot: %v", err)
		}
		if msg.RosterNextPageToken == "" {
			t.Fatalf("the second state has no next page token")
		}
		rest, _ = readRoster(t, w.Chair, call.Name, msg.RosterNextPageToken, 0, budget)
		if last := rest[len(rest)-1]; last.Participant != lastName || !last.Voted {
			t.Errorf("the last entry after the ballot: %s voted %v; want %s voted", last.Participant, last.Voted, lastName)
		}
	})

	t.Run("page tokens", func(t *testing.T) {
		first, err := w.Alice.Calls.GetCallRoster(w.Alice.Ctx(t), &candorv1.GetCallRosterRequest{Name: call.Name, PageSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		other := w.OpenVote(t, nil)
		listed, err := w.Alice.Calls.ListCalls(w.Alice.Ctx(t), &candorv1.ListCallsRequest{Body: w.Body, PageSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ name, call, token string }{
			{"another call's token", other.Name, first.NextPageToken},
			{"a ListCalls token", call.Name, listed.NextPageToken},
			{"a token re-spelled", call.Name, first.NextPageToken + "A"},
		} {
			_, err := w.Alice.Calls.GetCallRoster(w.Alice.Ctx(t), &candorv1.GetCallRosterRequest{Name: tc.call, PageToken: tc.token})
			if err == nil {
				t.Errorf("%s: accepted", tc.name)
				continue
			}
			wantStatus(t, err, codes.InvalidArgument, "INVALID_ARGUMENT")
		}
		_, err = w.Outsider.Calls.GetCallRoster(w.Outsider.Ctx(t), &candorv1.GetCallRosterRequest{Name: call.Name, PageToken: first.NextPageToken})
		wantStatus(t, err, codes.PermissionDenied, "NOT_MEMBER")
	})

	t.Run("ListCalls", func(t *testing.T) {
		// Calls with the largest matter and a few hundred eligible: about 60 KB each.
		matter := bigText(10000)
		const opened = 12
		for range opened {
			w.OpenVote(t, &candorv1.Call{Matter: matter})
		}
		var all []*candorv1.Call
		pages := 0
		for tok := ""; ; {
			resp, err := w.Carol.Calls.ListCalls(w.Carol.Ctx(t), &candorv1.ListCallsRequest{Body: w.Body, PageSize: 100, PageToken: tok})
			if err != nil {
				t.Fatalf("ListCalls: %v", err)
			}
			pages++
			if len(resp.Calls) == 0 {
				t.Fatalf("ListCalls page %d is empty", pages)
			}
			if len(resp.Calls) > 1 && proto.Size(resp) > budget+slack {
				t.Errorf("ListCalls page %d is %d bytes in %d calls, past the budget of %d", pages, proto.Size(resp), len(resp.Calls), budget)
			}
			all = append(all, resp.Calls...)
			if tok = resp.NextPageToken; tok == "" {
				break
			}
		}
		if want := opened + 2; len(all) != want { // the flooded call and the one the token test opened
			t.Fatalf("ListCalls returned %d calls over %d pages, want %d", len(all), pages, want)
		}
		if pages < 3 {
			t.Errorf("ListCalls returned %d calls of about %d bytes in %d pages: the budget of %d cut none",
				len(all), proto.Size(all[len(all)-1]), pages, budget)
		}
		seen := map[string]bool{}
		for _, c := range all {
			if seen[c.Name] {
				t.Errorf("ListCalls returned %s twice", c.Name)
			}
			seen[c.Name] = true
		}
	})
}

// TestRosterDefaultPageIsWhole checks that a client that never pages still reads a realistic
// roster whole, with no token, under the server's default budget; and that page_size pages it.
func TestRosterDefaultPageIsWhole(t *testing.T) {
	w := ts.NewWorld(t, ts.Start(t, ts.Bufconn()))
	call := w.OpenVote(t, nil)
	w.Declare(t, w.Bob, call.Name, none, join)
	resp, err := w.Alice.Calls.GetCallRoster(w.Alice.Ctx(t), &candorv1.GetCallRosterRequest{Name: call.Name})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Entries) != 4 || resp.NextPageToken != "" || resp.TotalSize != 4 {
		t.Fatalf("default page: %d entries, token %q, total %d; want all 4, no token", len(resp.Entries), resp.NextPageToken, resp.TotalSize)
	}
	got, pages := readRoster(t, w.Alice, call.Name, "", 3, service.DefaultPageBytes)
	wantRosterOrder(t, "pages of 3", got, call.EligibleParticipants)
	if pages != 2 {
		t.Errorf("%d pages of 3 for 4 entries, want 2", pages)
	}
	_, err = w.Alice.Calls.GetCallRoster(w.Alice.Ctx(t), &candorv1.GetCallRosterRequest{Name: call.Name, PageSize: -1})
	wantStatus(t, err, codes.InvalidArgument, "INVALID_ARGUMENT")
}
