package rpc

import (
	"context"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
)

// metrics are the transport's instruments: per-RPC requests, latency and codes (go-grpc-middleware's
// Prometheus provider, not our own arithmetic), refusals by ErrorInfo reason (see [refusals]), and
// the write slots. A Server without Options.Registerer has none and installs no extra interceptor.
type metrics struct {
	grpc     *grpcprom.ServerMetrics
	refusals refusals
	shed     prometheus.Counter
}

// rpcBuckets span a read served from memory (tens of microseconds) to a write queued behind a slow
// disk.
var rpcBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

func newMetrics(reg prometheus.Registerer, s *Server) *metrics {
	m := &metrics{
		grpc: grpcprom.NewServerMetrics(
			grpcprom.WithServerCounterOptions(grpcprom.WithNamespace("candor")),
			grpcprom.WithServerHandlingTimeHistogram(grpcprom.WithHistogramNamespace("candor"), grpcprom.WithHistogramBuckets(rpcBuckets)),
		),
		refusals: newRefusals(),
		shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "candor_writes_shed_total",
			Help: "Write RPCs refused with OVERLOADED because every write slot was taken (Options.MaxWritesInFlight).",
		}),
	}
	reg.MustRegister(m.grpc, m.refusals.vec, m.shed,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "candor_writes_in_flight",
			Help: "Write RPCs holding a write slot: admitted and not yet answered.",
		}, func() float64 { return float64(len(s.writeSlots)) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "candor_writes_in_flight_limit",
			Help: "Write slots (Options.MaxWritesInFlight): past it writes are shed.",
		}, func() float64 { return float64(cap(s.writeSlots)) }),
	)
	return m
}

// unary returns the metrics' unary interceptors, none on a nil *metrics. [Server.ServerOptions]
// chains them outside authentication and shedding, so that every refusal is counted.
func (m *metrics) unary() []grpc.UnaryServerInterceptor {
	if m == nil {
		return nil
	}
	return []grpc.UnaryServerInterceptor{m.grpc.UnaryServerInterceptor(), m.countUnary}
}

// stream is [metrics.unary] for streaming methods.
func (m *metrics) stream() []grpc.StreamServerInterceptor {
	if m == nil {
		return nil
	}
	return []grpc.StreamServerInterceptor{m.grpc.StreamServerInterceptor(), m.countStream}
}

// initialize creates the per-RPC series of every method registered on g at zero, so a dashboard
// shows a method before its first call.
func (m *metrics) initialize(g grpc.ServiceRegistrar) {
	if p, ok := g.(interface {
		GetServiceInfo() map[string]grpc.ServiceInfo
	}); ok && m != nil {
		m.grpc.InitializeMetrics(p)
	}
}

func (m *metrics) countUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if err != nil {
		m.refusals.count(err)
	}
	return resp, err
}

func (m *metrics) countStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	err := handler(srv, ss)
	if err != nil {
		m.refusals.count(err)
	}
	return err
}

// noteShed counts a write refused for want of a slot.
func (m *metrics) noteShed() {
	if m != nil {
		m.shed.Inc()
	}
}
