package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// tracing is the daemon's OpenTelemetry tracer provider, on with --otlp-endpoint (or
// Config.TracerProvider): every RPC is a server span (rpc.Options.TracerProvider, on the network
// listener and on the in-process one behind REST and the web app), each write's use case a child
// of it (internal/service), and the store's commit a child of that. The provider is installed as
// otel's global, with the W3C trace context propagator, for the packages that take their tracer
// from there.
//
// Without it nothing is made or installed: no exporter, no SDK, no stats handler; the globals stay
// otel's no-op ones, and a write makes no span (service and store check the caller's span
// first). A nil *tracing is off.
type tracing struct {
	provider trace.TracerProvider
	sdk      *sdktrace.TracerProvider // the provider made for --otlp-endpoint, shut down by stop; nil for Config.TracerProvider
	log      *slog.Logger

	// The globals the provider replaced, put back by stop, so that a process that runs daemons one
	// after another (tests) is left as it was.
	prevProvider   trace.TracerProvider
	prevPropagator propagation.TextMapPropagator
}

// newTracing returns the daemon's tracing, or nil when it is off.
func newTracing(cfg Config, log *slog.Logger) (*tracing, error) {
	t := &tracing{provider: cfg.TracerProvider, log: log}
	if t.provider == nil {
		if cfg.OTLPEndpoint == "" {
			return nil, nil
		}
		sdk, err := newOTLPProvider(cfg.OTLPEndpoint, cfg.OTLPInsecure, cfg.TraceSampleRatio)
		if err != nil {
			return nil, err
		}
		t.provider, t.sdk = sdk, sdk
		otelLogger.Store(log)
		otelErrorsOnce.Do(func() { otel.SetErrorHandler(otel.ErrorHandlerFunc(logOtelError)) })
	}
	t.prevProvider, t.prevPropagator = otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(t.provider)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return t, nil
}

// newOTLPProvider makes an SDK provider that batches spans to an OTLP/gRPC collector at endpoint
// (host:port): in plaintext to a loopback address or with insecure, else over TLS checked against
// the system's roots. The exporter connects when it first sends, so a collector that is down does
// not stop candord from starting; it logs the spans it could not send (see logOtelError).
//
// It samples the given ratio of the traces that start here, and follows the caller's decision for
// the others (ParentBased): tracing every request costs a CPU-bound server about 15 % of its write
// rate (BenchmarkMetricsCost), a tenth of them about a tenth of that. The standard
// OTEL_TRACES_SAMPLER variables, when set, win; OTEL_RESOURCE_ATTRIBUTES adds to the resource.
func newOTLPProvider(endpoint string, insecure bool, ratio float64) (*sdktrace.TracerProvider, error) {
	host, _, err := net.SplitHostPort(endpoint)
	if err != nil {
		return nil, fmt.Errorf("--otlp-endpoint %q: want host:port: %w", endpoint, err)
	}
	opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(endpoint)}
	if insecure || isLoopback(host) {
		opts = append(opts, otlptracegrpc.WithInsecure())
	}
	exporter, err := otlptracegrpc.New(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	attrs := []attribute.KeyValue{semconv.ServiceName("candord")}
	if v := moduleVersion(); v != "" {
		attrs = append(attrs, semconv.ServiceVersion(v))
	}
	res, err := resource.New(context.Background(),
		resource.WithTelemetrySDK(), resource.WithAttributes(attrs...), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	popts := []sdktrace.TracerProviderOption{sdktrace.WithBatcher(exporter), sdktrace.WithResource(res)}
	if ratio <= 0 {
		ratio = 1
	}
	if os.Getenv("OTEL_TRACES_SAMPLER") == "" {
		popts = append(popts, sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))))
	}
	return sdktrace.NewTracerProvider(popts...), nil
}

// moduleVersion is candord's version when it was built from a tagged module (go install
// ...@v1.2.3), else "".
func moduleVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Version == "(devel)" {
		return ""
	}
	return info.Main.Version
}

// providerOf is the provider the transport's spans go to, nil when tracing is off.
func (t *tracing) providerOf() trace.TracerProvider {
	if t == nil {
		return nil
	}
	return t.provider
}

// stop sends the spans still buffered (waiting at most timeout for the collector), shuts the
// provider down if the daemon made it, and puts back the globals it replaced.
func (t *tracing) stop(timeout time.Duration) {
	if t == nil {
		return
	}
	otel.SetTracerProvider(t.prevProvider)
	otel.SetTextMapPropagator(t.prevPropagator)
	if t.sdk == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := t.sdk.Shutdown(ctx); err != nil {
		t.log.Warn("traces: sending the last spans", "err", err)
	}
	otelLogger.CompareAndSwap(t.log, nil)
}

// otel reports the errors of its exporter and processors (a collector that cannot be reached) to
// one global handler. It is set once (otel keeps the first handler for good) to logOtelError, which
// logs them with the running daemon's logger.
var (
	otelErrorsOnce sync.Once
	otelLogger     atomic.Pointer[slog.Logger]
)

func logOtelError(err error) {
	log := otelLogger.Load()
	if log == nil {
		log = slog.Default()
	}
	log.Warn("traces", "err", err)
}
