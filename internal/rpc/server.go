package rpc

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/candorhq/candor/internal/service"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// Options configure the transport.
type Options struct {
	// PublicAudit lets anyone call the four log endpoints without a token.
	PublicAudit bool
	// MaxWritesInFlight bounds concurrent write RPCs; past it they are refused with
	// ResourceExhausted. Default 4096.
	MaxWritesInFlight int
	// PageBytes is the encoded size a page of a roster or of a body's calls, and a WatchCall state,
	// stays within, unless it holds a single item. Default service.DefaultPageBytes; tests set it
	// small to page realistic data.
	PageBytes int
	Logger    *slog.Logger
	// Registerer, when set, receives the transport's metrics (see metrics.go). Nil: no metrics,
	// and no interceptor for them.
	Registerer prometheus.Registerer
	// TracerProvider, when set, gets a server span per RPC (see tracing.go). Nil: no stats handler
	// and no interceptor for traces.
	TracerProvider trace.TracerProvider
	// Router, when set, sends writes to the replica that sequences the log (see forward.go). Nil:
	// this server answers every write itself.
	Router Router
}

// Server implements Candor's four gRPC services over a service.Service.
type Server struct {
	candorv1.UnimplementedParticipantServiceServer
	candorv1.UnimplementedBodyServiceServer
	candorv1.UnimplementedCallServiceServer
	candorv1.UnimplementedAuditServiceServer

	svc         *service.Service
	publicAudit bool
	log         *slog.Logger
	writeSlots  chan struct{} // one token per write in flight
	codec       *refusingCodec
	pageBytes   int      // see Options.PageBytes
	metrics     *metrics // nil without Options.Registerer
	// tracerProvider is Options.TracerProvider, nil without.
	tracerProvider trace.TracerProvider
	router         Router // nil: answer every write here
}

var (
	_ candorv1.ParticipantServiceServer = (*Server)(nil)
	_ candorv1.BodyServiceServer        = (*Server)(nil)
	_ candorv1.CallServiceServer        = (*Server)(nil)
	_ candorv1.AuditServiceServer       = (*Server)(nil)
)

// New returns a transport over svc.
func New(svc *service.Service, opts Options) *Server {
	if opts.MaxWritesInFlight <= 0 {
		opts.MaxWritesInFlight = 4096
	}
	if opts.PageBytes <= 0 {
		opts.PageBytes = service.DefaultPageBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{
		svc: svc, publicAudit: opts.PublicAudit, log: opts.Logger,
		writeSlots: make(chan struct{}, opts.MaxWritesInFlight),
		codec:      newRefusingCodec(),
		pageBytes:  opts.PageBytes,

		tracerProvider: opts.TracerProvider,
		router:         opts.Router,
	}
	if opts.Registerer != nil {
		s.metrics = newMetrics(opts.Registerer, s)
	}
	return s
}

// ServerOptions returns the codec, interceptors and stats handler the transport needs; pass them to
// grpc.NewServer. The codec and the interceptors work together (see [refusingCodec]): install all or
// none.
func (s *Server) ServerOptions() []grpc.ServerOption {
	// The traces' interceptors come first (none without Options.TracerProvider), so that the span
	// gets every refusal's reason.
	return append(s.tracingOptions(),
		grpc.ForceServerCodecV2(s.codec),
		// Chained in order: the log, then the metrics (none without Options.Registerer), then
		// authentication and shedding, so the log and the metrics see every refusal.
		grpc.ChainUnaryInterceptor(s.logUnary),
		grpc.ChainUnaryInterceptor(s.metrics.unary()...),
		grpc.ChainUnaryInterceptor(s.unaryInterceptor),
		grpc.ChainStreamInterceptor(s.logStream),
		grpc.ChainStreamInterceptor(s.metrics.stream()...),
		grpc.ChainStreamInterceptor(s.streamInterceptor),
	)
}

// Register registers the four services on g.
func (s *Server) Register(g grpc.ServiceRegistrar) {
	candorv1.RegisterParticipantServiceServer(g, s)
	candorv1.RegisterBodyServiceServer(g, s)
	candorv1.RegisterCallServiceServer(g, s)
	candorv1.RegisterAuditServiceServer(g, s)
	s.metrics.initialize(g)
}
