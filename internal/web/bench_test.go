package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/candorhq/candor/internal/testserver"
	"github.com/candorhq/candor/internal/web"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// BenchmarkRosterPage renders the chair's page of an open vote with 1,000 eligible members (half
// of them declared, a quarter voted), through the whole handler: the session, GetCall,
// GetCallRoster, ListMembers and GetBody against a real candord, and the templates. It reports
// the p50 and p99 of one render (target: p99 < 50 ms).
//
//	go test -run '^$' -bench BenchmarkRosterPage -benchtime 200x ./internal/web/
func BenchmarkRosterPage(b *testing.B) {
	const members = 1000
	srv := testserver.Start(b)
	conn := srv.Conn()
	admin := testserver.NewClient(conn, srv.AdminToken)
	body, err := admin.Bodies.CreateBody(admin.Ctx(b), &candorv1.CreateBodyRequest{Title: "General Assembly"})
	if err != nil {
		b.Fatal(err)
	}
	clients := make([]*testserver.Client, members)
	groups := []string{"At-Large", "Registries", "Registrars", "Governments", "Business"}
	var wg sync.WaitGroup
	errs := make(chan error, members)
	sem := make(chan struct{}, 32)
	for i := range members {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			p, err := admin.Participants.CreateParticipant(admin.Ctx(b), &candorv1.CreateParticipantRequest{DisplayName: fmt.Sprintf("Member %04d", i)})
			if err != nil {
				errs <- err
				return
			}
			role := candorv1.Role_ROLE_MEMBER
			if i == 0 {
				role = candorv1.Role_ROLE_CHAIR
			}
			if _, err := admin.Bodies.AddMember(admin.Ctx(b), &candorv1.AddMemberRequest{
				Body: body.Body.Name, Participant: p.Participant.Name, Role: role, StakeholderGroup: groups[i%len(groups)],
			}); err != nil {
				errs <- err
				return
			}
			clients[i] = testserver.NewClient(conn, p.Token)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	chair := clients[0]
	call, err := chair.Calls.OpenCall(chair.Ctx(b), &candorv1.OpenCallRequest{Body: body.Body.Name, Call: &candorv1.Call{
		Title: "Adopt the charter", AffectedParties: []string{"Registry Inc"},
	}})
	if err != nil {
		b.Fatal(err)
	}
	errs = make(chan error, members)
	for i := 1; i < members; i += 2 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c := clients[i]
			soi, err := c.Participants.UpdateStatementOfInterest(c.Ctx(b), &candorv1.UpdateStatementOfInterestRequest{
				StatementOfInterest: &candorv1.StatementOfInterest{Employer: "Example", Represents: "self"},
			})
			if err == nil {
				_, err = c.Calls.FileDeclaration(c.Ctx(b), &candorv1.FileDeclarationRequest{
					Call:          call.Call.Name,
					Restatement:   &candorv1.FileDeclarationRequest_UnchangedSoiHash{UnchangedSoiHash: soi.StatementOfInterest.ContentHash},
					ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_NONE,
				})
			}
			if err == nil && i%4 == 1 {
				_, err = c.Calls.CastBallot(c.Ctx(b), &candorv1.CastBallotRequest{Call: call.Call.Name, Option: "yes"})
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}

	app, err := web.New(web.Config{Conn: conn, GRPCAddr: srv.Addr})
	if err != nil {
		b.Fatal(err)
	}
	cookie := benchSignIn(b, app, chair.Token)
	target := "/" + call.Call.Name
	render := func() {
		req := httptest.NewRequest("GET", target, nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `data-participant="`) {
			b.Fatalf("GET %s: status %d", target, rec.Code)
		}
	}
	render() // warm up; also checks the page is whole

	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		render()
		durations = append(durations, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(durations)
	pct := func(p float64) float64 {
		return float64(durations[int(p*float64(len(durations)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// benchSignIn signs in through the app's own form and returns the session cookie.
func benchSignIn(b *testing.B, app http.Handler, token string) *http.Cookie {
	b.Helper()
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, httptest.NewRequest("GET", "/signin", nil))
	pre := rec.Result().Cookies()
	csrf := csrfOf(b, rec.Body.String())
	req := httptest.NewRequest("POST", "/signin", strings.NewReader(url.Values{"csrf": {csrf}, "token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range pre {
		req.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	app.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "candor_session" {
			return c
		}
	}
	b.Fatalf("sign-in failed: status %d", rec.Code)
	return nil
}

// BenchmarkLiveRosterLatency measures how long a change takes to reach a watching browser: from the
// start of a participant's declaration to the chair's Server-Sent Events stream delivering a roster
// row that shows it, through WatchCall, the relay's rendering and HTTP. Changes are spaced past
// service.WatchMinInterval (50 ms), as a meeting's are; back-to-back changes wait up to that long
// (see BenchmarkWatchLatency in internal/rpc). It reports the p50 and p99 (target: well under 1 s).
//
//	go test -run '^$' -bench LiveRosterLatency -benchtime 50x ./internal/web/
func BenchmarkLiveRosterLatency(b *testing.B) {
	h := newHarness(b)
	w := h.world
	call := w.OpenVote(b, nil)
	chair := h.signIn(w.Chair.Token)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", h.http.URL+path(call.Name)+"/events", nil)
	resp, err := chair.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	events := make(chan sseEvent, 64)
	go readEvents(resp.Body, events)

	alice := w.Names["alice"]
	levels := []candorv1.ConflictLevel{candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE}
	durations := make([]time.Duration, 0, b.N)
	i := 0
	for b.Loop() {
		level := levels[i%2]
		i++
		b.StopTimer()
		time.Sleep(60 * time.Millisecond) // past WatchMinInterval since the last state
		b.StartTimer()
		start := time.Now()
		w.Declare(b, w.Alice, call.Name, level, candorv1.Intent_INTENT_PARTICIPATE)
		timeout := time.After(10 * time.Second)
		for seen := false; !seen; {
			select {
			case ev, open := <-events:
				if !open {
					b.Fatal("the event stream ended")
				}
				row := rowIn(ev.data, alice)
				seen = ev.name == "roster" && strings.Contains(row, "Declared") &&
					strings.Contains(row, "Potential") == (level == candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL)
			case <-timeout:
				b.Fatalf("declaration %d did not reach the live roster within 10 s", i)
			}
		}
		durations = append(durations, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(durations)
	pct := func(p float64) float64 {
		return float64(durations[int(p*float64(len(durations)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
