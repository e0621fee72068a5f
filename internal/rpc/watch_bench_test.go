package rpc_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/candorhq/candor/internal/service"
	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// BenchmarkWatchLatency measures how long a change takes to reach a watcher: a real server on
// loopback, one WatchCall stream on a vote (the chair's), and per iteration one ballot by a member
// who had declared but not voted; the latency runs from the start of the CastBallot RPC until the
// watcher receives a state whose roster shows that member as voted. It reports the median and the
// 99th percentile (ms), and the ballot RPC's own median for comparison. Run it with a fixed count:
//
//	go test -run '^$' -bench WatchLatency -benchtime 50x ./internal/rpc/
//
// Each iteration needs a fresh voter (a roster only shows that someone voted, not how often), so
// the setup adds b.N members; it is not timed.
//
// WatchCall sends a watcher at most one state per service.WatchMinInterval (50 ms): after each
// send it waits out the interval, then waits for a change. So the latency depends on when the write
// lands relative to the last state sent, and the benchmark reports both cases:
//   - spaced: each ballot starts more than WatchMinInterval after the watcher's last state, as when
//     people vote at human pace; this is the latency of the wake-up path itself (commit, wake, one
//     read of the call and roster, send, receive).
//   - back-to-back: each ballot starts as soon as the previous one was seen, as in a burst; the
//     watcher is then inside its interval and the change waits for it, so the latency is bounded by
//     roughly WatchMinInterval plus the same path. This is the price of bounding a watcher's reads
//     under a burst, and the reason a change still reaches a projector well within a second.
//
// ns/op includes the spacing pause and so is not a latency; read p50-ms and p99-ms.
func BenchmarkWatchLatency(b *testing.B) {
	for _, bc := range []struct {
		name  string
		space time.Duration // least time from the last state seen to the next ballot
	}{
		{"spaced", service.WatchMinInterval + 20*time.Millisecond},
		{"back-to-back", 0},
	} {
		b.Run(bc.name, func(b *testing.B) { benchWatchLatency(b, bc.space) })
	}
}

func benchWatchLatency(b *testing.B, space time.Duration) {
	srv := ts.Start(b)
	w := ts.NewWorld(b, srv)
	conn := srv.Conn()

	// b.N members who will each cast one ballot, added before the call opens so they are eligible.
	voters := make([]*ts.Client, b.N)
	names := make([]string, b.N)
	for i := range voters {
		p, err := w.Admin.Participants.CreateParticipant(w.Admin.Ctx(b), &candorv1.CreateParticipantRequest{DisplayName: fmt.Sprint("voter ", i)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Admin.Bodies.AddMember(w.Admin.Ctx(b), &candorv1.AddMemberRequest{Body: w.Body, Participant: p.Participant.Name, Role: candorv1.Role_ROLE_MEMBER}); err != nil {
			b.Fatal(err)
		}
		c := ts.NewClient(conn, p.Token)
		if _, err := c.Participants.UpdateStatementOfInterest(c.Ctx(b), &candorv1.UpdateStatementOfInterestRequest{
			StatementOfInterest: &candorv1.StatementOfInterest{Employer: "Example Org", Represents: "self"},
		}); err != nil {
			b.Fatal(err)
		}
		voters[i], names[i] = c, p.Participant.Name
	}
	call := w.OpenVote(b, nil).Name
	for _, c := range voters {
		w.Declare(b, c, call, none, join)
	}

	ctx, cancel := context.WithCancel(w.Chair.Ctx(b))
	defer cancel()
	stream, err := w.Chair.Calls.WatchCall(ctx, &candorv1.WatchCallRequest{Name: call})
	if err != nil {
		b.Fatal(err)
	}
	// The watcher: for each state, who has voted, stamped when it arrived.
	type seen struct {
		at    time.Time
		voted map[string]bool
	}
	states := make(chan seen, 64)
	go func() {
		defer close(states)
		for {
			resp, err := stream.Recv()
			if err != nil {
				return
			}
			s := seen{at: time.Now(), voted: map[string]bool{}}
			for _, e := range resp.Roster {
				if e.Voted {
					s.voted[e.Participant] = true
				}
			}
			select {
			case states <- s:
			case <-ctx.Done():
				return
			}
		}
	}()
	next := func() seen {
		select {
		case s, ok := <-states:
			if !ok {
				b.Fatal("the watch ended")
			}
			return s
		case <-time.After(10 * time.Second):
			b.Fatal("no state within 10 s")
		}
		return seen{}
	}
	last := next() // the initial state

	latencies := make([]time.Duration, 0, b.N)
	writes := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		if wait := space - time.Since(last.at); wait > 0 {
			time.Sleep(wait)
		}
		start := time.Now()
		if _, err := ts.Vote(b, voters[i], call, "yes"); err != nil {
			b.Fatal(err)
		}
		writes = append(writes, time.Since(start))
		for last = next(); !last.voted[names[i]]; last = next() {
		}
		latencies = append(latencies, last.at.Sub(start))
	}
	b.StopTimer()
	b.ReportMetric(quantileMS(latencies, 0.50), "p50-ms")
	b.ReportMetric(quantileMS(latencies, 0.99), "p99-ms")
	b.ReportMetric(quantileMS(writes, 0.50), "write-p50-ms")
}

// quantileMS is the q-quantile of ds (nearest rank), in milliseconds.
func quantileMS(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(int(q*float64(len(s))+0.5), len(s)) - 1
	return float64(s[max(i, 0)]) / float64(time.Millisecond)
}
