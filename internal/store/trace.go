package store

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracer is the global provider's: a no-op until the daemon installs one (--otlp-endpoint).
var tracer = otel.Tracer("github.com/candorhq/candor/internal/store")

// traceCommit adds the commit a write waited for to the writer's trace. Many writers share one
// commit, so each trace gets its own span over the same interval, carrying the batch's number and
// size: a slow write shows whether it waited on a large batch or a slow disk.
func traceCommit(ctx context.Context, r writeResult) {
	if !trace.SpanFromContext(ctx).IsRecording() || r.batch.began.IsZero() {
		return
	}
	_, span := tracer.Start(ctx, "candor.store/commit",
		trace.WithTimestamp(r.batch.began),
		trace.WithAttributes(
			attribute.Int64("candor.batch.id", r.batch.id),
			attribute.Int("candor.batch.size", r.batch.size),
			attribute.Int64("candor.log.size", r.commit.Checkpoint.Size),
		))
	if r.err != nil {
		span.SetStatus(codes.Error, r.err.Error())
	}
	span.End(trace.WithTimestamp(r.batch.landed))
}
