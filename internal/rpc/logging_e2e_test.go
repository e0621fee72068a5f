package rpc_test

import (
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// BenchmarkRequestLog measures writes over gRPC on loopback (64 participants each updating their
// Statement of Interest: a logged, receipted write with no per-call cap) with the request log
// writing JSON to io.Discard at Info ("info": a line per write) and with its lines below the
// level ("warn"), in the same run. Reports writes/s; compare the two.
func BenchmarkRequestLog(b *testing.B) {
	for _, bc := range []struct {
		name  string
		level slog.Level
	}{{"warn", slog.LevelWarn}, {"info", slog.LevelInfo}} {
		b.Run(bc.name, func(b *testing.B) {
			logger := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: bc.level}))
			srv := ts.Start(b, ts.Logger(logger))
			w := ts.NewWorld(b, srv)
			conn := srv.Conn()
			const writers = 64
			var clients []*ts.Client
			for i := range writers {
				resp, err := w.Admin.Participants.CreateParticipant(w.Admin.Ctx(b), &candorv1.CreateParticipantRequest{DisplayName: fmt.Sprint("v", i)})
				if err != nil {
					b.Fatal(err)
				}
				clients = append(clients, ts.NewClient(conn, resp.Token))
			}
			var next atomic.Int64
			b.SetParallelism(writers / 2)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				c := clients[int(next.Add(1)-1)%writers]
				ctx := c.Ctx(b)
				for i := 0; pb.Next(); i++ {
					soi := &candorv1.StatementOfInterest{Employer: fmt.Sprint("employer ", i)}
					if _, err := c.Participants.UpdateStatementOfInterest(ctx, &candorv1.UpdateStatementOfInterestRequest{StatementOfInterest: soi}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
}
