package rpc

import (
	"context"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// reasonKey is the span attribute naming the ErrorInfo reason a call was refused with
// ("DECLARATION_REQUIRED"), on the RPC's span and on the service's span of a refused write.
const reasonKey = attribute.Key("candor.error.reason")

// tracingOptions returns, with Options.TracerProvider, otelgrpc's stats handler (a server span per
// RPC, continuing a W3C traceparent the caller sent) and the interceptors that add the refusal's
// reason to it; nothing without. Health checks get no span: a load balancer polls them.
//
// otelgrpc's own metrics go to a no-op meter: the transport's metrics are Prometheus's (metrics.go).
func (s *Server) tracingOptions() []grpc.ServerOption {
	if s.tracerProvider == nil {
		return nil
	}
	return []grpc.ServerOption{
		grpc.StatsHandler(otelgrpc.NewServerHandler(
			otelgrpc.WithTracerProvider(s.tracerProvider),
			otelgrpc.WithPropagators(propagation.TraceContext{}),
			otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()),
			otelgrpc.WithFilter(filters.Not(filters.HealthCheck())),
		)),
		grpc.ChainUnaryInterceptor(traceReasonUnary),
		grpc.ChainStreamInterceptor(traceReasonStream),
	}
}

func traceReasonUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	noteReason(ctx, err)
	return resp, err
}

func traceReasonStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	err := handler(srv, ss)
	noteReason(ss.Context(), err)
	return err
}

// noteReason adds the ErrorInfo reason of err, if any, to the RPC's span.
func noteReason(ctx context.Context, err error) {
	if err == nil {
		return
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		if reason, ok := errorReason(err); ok {
			span.SetAttributes(reasonKey.String(reason))
		}
	}
}

// errorReason is the reason of the ErrorInfo of Candor's domain that err carries, if it is a status
// with one.
func errorReason(err error) (string, bool) {
	st, ok := status.FromError(err)
	if !ok {
		return "", false
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.Domain == ErrorDomain {
			return info.Reason, true
		}
	}
	return "", false
}
