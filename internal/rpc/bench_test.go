package rpc_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/candorhq/candor/internal/daemon"
	"github.com/candorhq/candor/internal/domain"
	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// BenchmarkDeclareThenVote measures the ballot path end to end over gRPC on loopback: each
// iteration is one participant's declaration followed by their ballot (two durable, logged,
// receipted writes), with 64 participants at a time. Reports writes/s.
func BenchmarkDeclareThenVote(b *testing.B) { declareThenVote(b) }

// BenchmarkMetricsCost is BenchmarkDeclareThenVote with the Prometheus metrics and the traces off,
// with the metrics on, and with both on, in one run: compare their writes/s (the metrics should cost
// under 5 %). Traces on is an SDK provider that samples every RPC and batches the spans to an
// exporter that drops them: the cost of making the spans, not of sending them.
func BenchmarkMetricsCost(b *testing.B) {
	b.Run("metrics=off,traces=off", func(b *testing.B) { declareThenVote(b, ts.NoMetrics()) })
	b.Run("metrics=on", func(b *testing.B) { declareThenVote(b) })
	b.Run("metrics=on,traces=all", func(b *testing.B) { declareThenVote(b, withTraces(1)) })
	b.Run("metrics=on,traces=10%", func(b *testing.B) { declareThenVote(b, withTraces(0.1)) })
}

// benchTracerProvider is made once and never shut down: otel binds the tracers that packages take
// when they start (the service's, the store's) to the first global provider installed, so every run
// must install the same one. Its sampler is switched between runs.
var benchTracerProvider = sync.OnceValue(func() *sdktrace.TracerProvider {
	return sdktrace.NewTracerProvider(
		sdktrace.WithSampler(&benchSampler),
		sdktrace.WithBatcher(tracetest.NewNoopExporter()),
	)
})

// switchSampler is a ParentBased ratio sampler whose ratio a benchmark sets.
type switchSampler struct {
	s atomic.Pointer[sdktrace.Sampler]
}

var benchSampler switchSampler

func (s *switchSampler) set(ratio float64) {
	sampler := sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))
	s.s.Store(&sampler)
}

func (s *switchSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	return (*s.s.Load()).ShouldSample(p)
}

func (s *switchSampler) Description() string { return "switchSampler" }

// withTraces turns the daemon's traces on, to benchTracerProvider, sampling ratio of them (as
// candord --otlp-sample-ratio does).
func withTraces(ratio float64) ts.Option {
	benchSampler.set(ratio)
	return func(c *daemon.Config) { c.TracerProvider = benchTracerProvider() }
}

func declareThenVote(b *testing.B, opts ...ts.Option) {
	srv := ts.Start(b, opts...)
	w := ts.NewWorld(b, srv)
	conn := srv.Conn()
	const voters = 64
	var clients []*ts.Client
	for i := range voters {
		resp, err := w.Admin.Participants.CreateParticipant(w.Admin.Ctx(b), &candorv1.CreateParticipantRequest{DisplayName: fmt.Sprint("v", i)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Admin.Bodies.AddMember(w.Admin.Ctx(b), &candorv1.AddMemberRequest{Body: w.Body, Participant: resp.Participant.Name, Role: candorv1.Role_ROLE_MEMBER}); err != nil {
			b.Fatal(err)
		}
		c := ts.NewClient(conn, resp.Token)
		soi, err := c.Participants.UpdateStatementOfInterest(c.Ctx(b), &candorv1.UpdateStatementOfInterestRequest{StatementOfInterest: &candorv1.StatementOfInterest{Employer: "e"}})
		if err != nil {
			b.Fatal(err)
		}
		_ = soi
		clients = append(clients, c)
	}
	// One member may file only domain.MaxDeclarationsPerMember declarations in one call: each
	// voter moves on to a fresh call (opened by the chair when first needed) after half that many
	// rounds, so a long run measures the write path rather than the cap's refusals.
	const roundsPerCall = domain.MaxDeclarationsPerMember / 2
	var callsMu sync.Mutex
	calls := []string{w.OpenVote(b, nil).Name}
	callFor := func(rounds int) (string, error) {
		callsMu.Lock()
		defer callsMu.Unlock()
		for len(calls) <= rounds/roundsPerCall {
			resp, err := w.Chair.Calls.OpenCall(w.Chair.Ctx(b), &candorv1.OpenCallRequest{Body: w.Body, Call: &candorv1.Call{Title: fmt.Sprint("Vote ", len(calls)+1)}})
			if err != nil {
				return "", err
			}
			calls = append(calls, resp.Call.Name)
		}
		return calls[rounds/roundsPerCall], nil
	}
	hashes := make([][]byte, voters)
	for i, c := range clients {
		soi, err := c.Participants.GetStatementOfInterest(c.Ctx(b), &candorv1.GetStatementOfInterestRequest{})
		if err != nil {
			b.Fatal(err)
		}
		hashes[i] = soi.StatementOfInterest.ContentHash
	}
	var next atomic.Int64
	b.SetParallelism(voters / 2) // 2 cores x 32 = 64 goroutines, one per voter
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)-1) % voters
		c := clients[i]
		ctx := c.Ctx(b)
		for rounds := 0; pb.Next(); rounds++ {
			call, err := callFor(rounds)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := c.Calls.FileDeclaration(ctx, &candorv1.FileDeclarationRequest{
				Call: call, Restatement: &candorv1.FileDeclarationRequest_UnchangedSoiHash{UnchangedSoiHash: hashes[i]},
				ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_NONE,
			}); err != nil {
				b.Error(err)
				return
			}
			if _, err := c.Calls.CastBallot(ctx, &candorv1.CastBallotRequest{Call: call, Option: "yes"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "writes/s")
}
