package daemon_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"
	collectortracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/candorhq/candor/internal/daemon"
	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// otel binds the tracers that packages take when they start (the service's, the store's) to the
// first global provider ever installed, for good. followGlobal is installed first, before any test
// runs, so that each span of those packages goes to whichever provider the running test's daemon
// installed, and every test sees its own spans however many daemons ran before it.
func init() { otel.SetTracerProvider(followGlobal{}) }

type followGlobal struct{ embedded.TracerProvider }

func (followGlobal) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return followTracer{name: name, opts: opts}
}

type followTracer struct {
	embedded.Tracer
	name string
	opts []trace.TracerOption
}

func (f followTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	tp := otel.GetTracerProvider()
	if _, self := tp.(followGlobal); self {
		tp = noop.NewTracerProvider()
	}
	return tp.Tracer(f.name, f.opts...).Start(ctx, name, opts...)
}

// startTraced starts a server whose spans the returned recorder keeps. Stop the server before
// reading them: it waits for every RPC, and so for every span, to end.
func startTraced(t *testing.T, opts ...ts.Option) (*ts.Server, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { tp.Shutdown(context.Background()) }) // after the server's stop, registered later
	opts = append(opts, func(c *daemon.Config) { c.TracerProvider = tp })
	return ts.Start(t, opts...), rec
}

// spans are ended spans, as a recorder keeps them.
type spans []sdktrace.ReadOnlySpan

func (ss spans) named(name string) spans {
	var out spans
	for _, s := range ss {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// childOf is the one span named name whose parent is parent, failing unless there is exactly one.
func (ss spans) childOf(t *testing.T, parent sdktrace.ReadOnlySpan, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	var out spans
	for _, s := range ss.named(name) {
		if s.Parent().SpanID() == parent.SpanContext().SpanID() && s.SpanContext().TraceID() == parent.SpanContext().TraceID() {
			out = append(out, s)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%d spans %q are children of %q (trace %s), want 1; spans: %v", len(out), name, parent.Name(), parent.SpanContext().TraceID(), ss.names())
	}
	return out[0]
}

func (ss spans) names() []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name())
	}
	return out
}

// attr is the value of the span's attribute key, or an invalid value.
func attr(s sdktrace.ReadOnlySpan, key string) attribute.Value {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// withTraceparent returns ctx sending a W3C traceparent for a sampled span of the caller's, and
// that span.
func withTraceparent(ctx context.Context) (context.Context, trace.SpanContext) {
	caller := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(trace.ContextWithSpanContext(ctx, caller), carrier)
	return metadata.AppendToOutgoingContext(ctx, "traceparent", carrier.Get("traceparent")), caller
}

// TestTraceJoinsRPCAndService checks that writes over gRPC and over REST are each a server span for
// the RPC with the service's span for the use case as its child, that both continue a trace the
// caller sent (grpc metadata, or the HTTP traceparent header), and that a REST call without one
// starts a trace.
func TestTraceJoinsRPCAndService(t *testing.T) {
	srv, rec := startTraced(t, ts.HTTP())
	admin := ts.NewClient(srv.Conn(), srv.AdminToken)
	ctx, caller := withTraceparent(admin.Ctx(t))
	if _, err := admin.Participants.CreateParticipant(ctx, &candorv1.CreateParticipantRequest{DisplayName: "Ada"}); err != nil {
		t.Fatal(err)
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	req, err := http.NewRequest("POST", "http://"+srv.HTTPAddr+"/v1/participants", strings.NewReader(`{"displayName": "Grace"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.AdminToken)
	req.Header.Set("Traceparent", md.Get("traceparent")[0])
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("REST write with a traceparent: %v %v", resp, err)
	}
	resp.Body.Close()
	restClient{t, "http://" + srv.HTTPAddr, srv.AdminToken}.must("POST", "/v1/participants", `{"displayName": "Hopper"}`)
	srv.Stop()

	got := spans(rec.Ended())
	rpcs := got.named("candor.v1.ParticipantService/CreateParticipant")
	if len(rpcs) != 3 {
		t.Fatalf("%d RPC spans for CreateParticipant, want 3 (gRPC, REST with and without a traceparent); spans: %v", len(rpcs), got.names())
	}
	var fromCaller int
	for _, rpc := range rpcs {
		if rpc.SpanKind() != trace.SpanKindServer {
			t.Errorf("RPC span kind %v, want server", rpc.SpanKind())
		}
		switch {
		case rpc.SpanContext().TraceID() == caller.TraceID():
			fromCaller++
			if rpc.Parent().SpanID() != caller.SpanID() || !rpc.Parent().IsRemote() {
				t.Errorf("RPC span's parent %v, want the caller's span %v", rpc.Parent().SpanID(), caller.SpanID())
			}
		case rpc.Parent().IsValid():
			t.Errorf("REST span has parent %v, want a new trace", rpc.Parent().SpanID())
		}
		svc := got.childOf(t, rpc, "candor.service/CreateParticipant")
		if m := attr(svc, "candor.method").AsString(); m != "CreateParticipant" {
			t.Errorf("service span candor.method = %q, want CreateParticipant", m)
		}
		if attr(svc, "candor.log.index").Type() != attribute.INT64 {
			t.Errorf("service span has no candor.log.index: %v", svc.Attributes())
		}
		if st := svc.Status(); st.Code != codes.Unset {
			t.Errorf("service span of a write that succeeded has status %v", st)
		}
	}
	if fromCaller != 2 {
		t.Errorf("%d RPC spans continue the caller's trace, want 2 (gRPC and REST with a traceparent)", fromCaller)
	}
}

// TestTraceNamesRefusalReason checks that a refused write's RPC span and service span both carry
// the ErrorInfo reason, and the service span an error status.
func TestTraceNamesRefusalReason(t *testing.T) {
	srv, rec := startTraced(t)
	w := ts.NewWorld(t, srv)
	refuse(t, w) // a vote without a declaration
	srv.Stop()

	got := spans(rec.Ended())
	rpcs := got.named("candor.v1.CallService/CastBallot")
	if len(rpcs) != 1 {
		t.Fatalf("%d RPC spans for CastBallot, want 1", len(rpcs))
	}
	if r := attr(rpcs[0], "candor.error.reason").AsString(); r != "DECLARATION_REQUIRED" {
		t.Errorf("RPC span candor.error.reason = %q, want DECLARATION_REQUIRED", r)
	}
	svc := got.childOf(t, rpcs[0], "candor.service/CastBallot")
	if r := attr(svc, "candor.error.reason").AsString(); r != "DECLARATION_REQUIRED" {
		t.Errorf("service span candor.error.reason = %q, want DECLARATION_REQUIRED", r)
	}
	if st := svc.Status(); st.Code != codes.Error || st.Description != "DECLARATION_REQUIRED" {
		t.Errorf("service span status %+v, want Error DECLARATION_REQUIRED", st)
	}
}

// TestTraceMarksReplayedWrite checks that a retry answered from the log (AIP-155) is marked so,
// naming the original entry.
func TestTraceMarksReplayedWrite(t *testing.T) {
	srv, rec := startTraced(t)
	admin := ts.NewClient(srv.Conn(), srv.AdminToken)
	req := &candorv1.CreateBodyRequest{Title: "ALAC", RequestId: "0190b7a4-3c1e-7a2b-9f00-5d6e7f8a9b0c"}
	for range 2 {
		if _, err := admin.Bodies.CreateBody(admin.Ctx(t), req); err != nil {
			t.Fatal(err)
		}
	}
	srv.Stop()

	svcs := spans(rec.Ended()).named("candor.service/CreateBody")
	if len(svcs) != 2 {
		t.Fatalf("%d service spans for CreateBody, want 2", len(svcs))
	}
	var replayed []bool
	for _, s := range svcs {
		replayed = append(replayed, attr(s, "candor.request.replayed").AsBool())
	}
	if replayed[0] || !replayed[1] {
		t.Errorf("candor.request.replayed of the write and its retry: %v, want [false true]", replayed)
	}
	if a, b := attr(svcs[0], "candor.log.index"), attr(svcs[1], "candor.log.index"); a.Type() != attribute.INT64 || a != b {
		t.Errorf("candor.log.index of the write and its retry: %v and %v, want the same entry", a.Emit(), b.Emit())
	}
}

// TestNoTracesWithoutEndpoint checks that a daemon started without --otlp-endpoint installs no
// provider or propagator, and that its transport makes no span even when a provider that records
// is installed by someone else.
func TestNoTracesWithoutEndpoint(t *testing.T) {
	if _, sdk := otel.GetTracerProvider().(*sdktrace.TracerProvider); sdk {
		t.Fatal("an SDK provider is installed before the test")
	}
	prop := otel.GetTextMapPropagator()
	srv := ts.Start(t)
	if tp := otel.GetTracerProvider(); tp != (followGlobal{}) {
		t.Errorf("the daemon installed the tracer provider %T", tp)
	}
	if p := otel.GetTextMapPropagator(); p != prop {
		t.Errorf("the daemon installed the propagator %T", p)
	}

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(followGlobal{}) })
	admin := ts.NewClient(srv.Conn(), srv.AdminToken)
	ctx, caller := withTraceparent(admin.Ctx(t))
	if _, err := admin.Participants.CreateParticipant(ctx, &candorv1.CreateParticipantRequest{DisplayName: "Ada"}); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	for _, s := range rec.Ended() {
		if s.SpanKind() == trace.SpanKindServer || s.SpanContext().TraceID() == caller.TraceID() {
			t.Errorf("span %q (kind %v, trace %s): the transport traced without --otlp-endpoint", s.Name(), s.SpanKind(), s.SpanContext().TraceID())
		}
	}
}

// collector is a fake OTLP/gRPC trace collector on 127.0.0.1.
type collector struct {
	collectortracepb.UnimplementedTraceServiceServer
	addr string

	mu       sync.Mutex
	received []*tracepb.ResourceSpans // guarded by mu
}

func startCollector(t *testing.T) *collector {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{addr: lis.Addr().String()}
	g := grpc.NewServer()
	collectortracepb.RegisterTraceServiceServer(g, c)
	go g.Serve(lis)
	t.Cleanup(g.Stop)
	return c
}

func (c *collector) Export(_ context.Context, req *collectortracepb.ExportTraceServiceRequest) (*collectortracepb.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.received = append(c.received, req.ResourceSpans...)
	return &collectortracepb.ExportTraceServiceResponse{}, nil
}

// spans returns the spans received so far, by name, and the resources that sent them.
func (c *collector) spans() (map[string][]*tracepb.Span, []map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	byName := map[string][]*tracepb.Span{}
	var resources []map[string]string
	for _, rs := range c.received {
		resources = append(resources, stringAttrs(rs.GetResource().GetAttributes()))
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				byName[s.Name] = append(byName[s.Name], s)
			}
		}
	}
	return byName, resources
}

func stringAttrs(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[kv.Key] = kv.GetValue().GetStringValue()
	}
	return m
}

// TestTracesReachOTLPCollector starts candord with --otlp-endpoint on a fake collector and checks
// that a write's spans arrive, parent and child, from service.name candord. The daemon sends the
// spans it holds when it stops, so no waiting is needed.
func TestTracesReachOTLPCollector(t *testing.T) {
	c := startCollector(t)
	srv := ts.Start(t, func(cfg *daemon.Config) { cfg.OTLPEndpoint = c.addr })
	if _, sdk := otel.GetTracerProvider().(*sdktrace.TracerProvider); !sdk {
		t.Errorf("with --otlp-endpoint the global provider is %T, want the SDK's", otel.GetTracerProvider())
	}
	admin := ts.NewClient(srv.Conn(), srv.AdminToken)
	if _, err := admin.Participants.CreateParticipant(admin.Ctx(t), &candorv1.CreateParticipantRequest{DisplayName: "Ada"}); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if tp := otel.GetTracerProvider(); tp != (followGlobal{}) {
		t.Errorf("after stopping, the global provider is %T, want the one before", tp)
	}

	byName, resources := c.spans()
	rpcs, svcs := byName["candor.v1.ParticipantService/CreateParticipant"], byName["candor.service/CreateParticipant"]
	if len(rpcs) != 1 || len(svcs) != 1 {
		t.Fatalf("collector got %d RPC spans and %d service spans for CreateParticipant, want 1 and 1; all: %d names", len(rpcs), len(svcs), len(byName))
	}
	if string(svcs[0].TraceId) != string(rpcs[0].TraceId) || string(svcs[0].ParentSpanId) != string(rpcs[0].SpanId) {
		t.Errorf("service span (trace %x, parent %x) is not a child of the RPC span (trace %x, span %x)",
			svcs[0].TraceId, svcs[0].ParentSpanId, rpcs[0].TraceId, rpcs[0].SpanId)
	}
	for _, r := range resources {
		if r["service.name"] != "candord" {
			t.Errorf("resource %v: service.name %q, want candord", r, r["service.name"])
		}
	}
}

func TestRefusesBadOTLPEndpoint(t *testing.T) {
	_, err := daemon.New(daemon.Config{
		DataDir: filepath.Join(t.TempDir(), "data"), Listen: "127.0.0.1:0", Logger: quiet(),
		OTLPEndpoint: "collector.example", // no port
	})
	if err == nil || !strings.Contains(err.Error(), "--otlp-endpoint") {
		t.Fatalf("--otlp-endpoint without a port: got %v, want a refusal naming the flag", err)
	}
}

// TestTraceShowsStoreCommit checks that each write's trace holds the store's commit, a child of the
// service's span, and that writes committed together name the same batch.
func TestTraceShowsStoreCommit(t *testing.T) {
	srv, rec := startTraced(t)
	admin := ts.NewClient(srv.Conn(), srv.AdminToken)
	ctx := admin.Ctx(t)
	const writers = 16
	// Concurrent writers share commits; a round that happens to commit every write alone is
	// followed by another, up to a bound.
	shared := false
	for round := 0; round < 10 && !shared; round++ {
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, writers)
		for i := range writers {
			wg.Go(func() {
				<-start
				_, err := admin.Participants.CreateParticipant(ctx, &candorv1.CreateParticipantRequest{DisplayName: fmt.Sprintf("p%d-%d", round, i)})
				errs <- err
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		// A write's service and store spans end before its answer is sent.
		for _, n := range writesByBatch(spans(rec.Ended()).named("candor.store/commit")) {
			shared = shared || n > 1
		}
	}
	srv.Stop()
	if !shared {
		t.Fatalf("no two of %d concurrent writes shared a commit in 10 rounds", writers)
	}

	got := spans(rec.Ended())
	commits := spans{}
	for _, rpc := range got.named("candor.v1.ParticipantService/CreateParticipant") {
		svc := got.childOf(t, rpc, "candor.service/CreateParticipant")
		commit := got.childOf(t, svc, "candor.store/commit")
		for _, key := range []string{"candor.batch.id", "candor.batch.size", "candor.log.size"} {
			if attr(commit, key).Type() != attribute.INT64 {
				t.Errorf("commit span has no integer %s: %v", key, commit.Attributes())
			}
		}
		commits = append(commits, commit)
	}
	// Every span of one batch gives the batch's size, and no more spans than that name it.
	sizes := map[int64]int64{}
	for _, c := range commits {
		id, size := attr(c, "candor.batch.id").AsInt64(), attr(c, "candor.batch.size").AsInt64()
		if prev, ok := sizes[id]; ok && prev != size {
			t.Errorf("batch %d: commit spans give sizes %d and %d", id, prev, size)
		}
		sizes[id] = size
	}
	for id, n := range writesByBatch(commits) {
		if n > sizes[id] {
			t.Errorf("batch %d: %d writes' commit spans name it, but its size is %d", id, n, sizes[id])
		}
	}
}

// writesByBatch counts commit spans by candor.batch.id.
func writesByBatch(commits spans) map[int64]int64 {
	n := map[int64]int64{}
	for _, c := range commits {
		n[attr(c, "candor.batch.id").AsInt64()]++
	}
	return n
}
