package verify_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/metadata"

	ts "github.com/candorhq/candor/internal/testserver"
	"github.com/candorhq/candor/internal/verify"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// benchLog writes a log of at least n entries: a body of the given number of members, each with an
// SOI, and votes in which every member declares (one in ten with a potential conflict, which
// DISCLOSE flags) and votes, one in ten votes again, and the chair closes the call.
func benchLog(tb testing.TB, members, n int) *gen {
	g := newGen(tb)
	body := g.body()
	ps := make([]string, members)
	for i := range ps {
		ps[i] = g.participant()
		role := member
		if i == 0 {
			role = chairRole
		}
		g.memberOf(body, ps[i], role, fmt.Sprintf("group-%d", i%4))
		g.soi(ps[i], "Example Org")
	}
	for len(g.entries) < n {
		call := g.open(body, ps[0], nil)
		for i, p := range ps {
			level := none
			if i%10 == 3 {
				level = potential
			}
			g.declare(call, p, level, join)
			g.vote(call, p, []string{"yes", "no", "abstain"}[i%3])
			if i%10 == 7 {
				g.vote(call, p, "yes")
			}
		}
		g.close(call, ps[0])
	}
	return g
}

func reportEntries(b *testing.B, perOp int) {
	b.ReportMetric(float64(perOp)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkReplay measures the rule replay alone, over entries generated in memory.
func BenchmarkReplay(b *testing.B) {
	for _, members := range []int{20, 500} {
		g := benchLog(b, members, 100_000)
		b.Run(fmt.Sprintf("members=%d/entries=%d", members, len(g.entries)), func(b *testing.B) {
			for b.Loop() {
				r := verify.NewReplayer()
				for i, data := range g.entries {
					if err := r.Apply(int64(i), data); err != nil {
						b.Fatal(err)
					}
				}
			}
			reportEntries(b, len(g.entries))
		})
	}
}

// BenchmarkLog measures a whole verification: the checkpoint, every page fetched, hashed into
// the root and proven against the checkpoint, and the replay. "memory" serves the log from
// memory (the auditor's own cost); "candord" is a real server over loopback gRPC and bbolt.
func BenchmarkLog(b *testing.B) {
	b.Run("server=memory/entries=100k", func(b *testing.B) {
		g := benchLog(b, 20, 100_000)
		m := newMemLog(b, g.entries)
		opts := verify.Options{VerifierKey: m.key, StateDir: b.TempDir()}
		for b.Loop() {
			if _, err := verify.Log(context.Background(), m, opts); err != nil {
				b.Fatal(err)
			}
		}
		reportEntries(b, len(g.entries))
	})
	b.Run("server=candord/entries=20k", func(b *testing.B) {
		srv := ts.Start(b)
		w := ts.NewWorld(b, srv)
		size := fillWithBallots(b, w, 20_000)
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+w.Auditor.Token)
		opts := verify.Options{VerifierKey: srv.VerifierKey, StateDir: b.TempDir()}
		for b.Loop() {
			sum, err := verify.Log(ctx, w.Auditor.Audit, opts)
			if err != nil || sum.Entries != size {
				b.Fatalf("Log: %d entries, %v; want %d", sum.Entries, err, size)
			}
		}
		reportEntries(b, int(size))
	})
}

// fillWithBallots grows the server's log to at least n entries with concurrent re-votes by the
// body's members in one open call, and returns the log's size.
func fillWithBallots(b *testing.B, w *ts.World, n int64) int64 {
	call := w.OpenVote(b, nil)
	voters := []*ts.Client{w.Chair, w.Alice, w.Bob, w.Carol}
	for _, c := range voters {
		w.Declare(b, c, call.Name, none, join)
	}
	size := checkpointSizeTB(b, w.Auditor, w.Server.VerifierKey)
	left := n - size
	var wg sync.WaitGroup
	var failed atomic.Value
	for i := range 32 {
		c := voters[i%len(voters)]
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+c.Token)
		wg.Go(func() {
			for atomic.AddInt64(&left, -1) >= 0 {
				if _, err := c.Calls.CastBallot(ctx, &candorv1.CastBallotRequest{Call: call.Name, Option: "yes"}); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatalf("CastBallot: %v", err)
	}
	return checkpointSizeTB(b, w.Auditor, w.Server.VerifierKey)
}
