package loadtest_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/candorhq/candor/internal/loadtest"
	ts "github.com/candorhq/candor/internal/testserver"
)

// BenchmarkInProcess runs each phase of `candor bench` at 256 clients against a daemon in this
// process, so that `go test -cpuprofile` (runtime/pprof) sees server and clients together, one
// phase per sub-benchmark (rest: the write phase over the REST/JSON gateway):
//
//	go test -run '^$' -bench 'InProcess/writes' -benchtime 1x -cpuprofile cpu.prof ./internal/loadtest/
//	go tool pprof -top cpu.prof
//
// Each iteration is one 5 s phase; it reports the phase's rates and write latency.
func BenchmarkInProcess(b *testing.B) {
	for _, p := range []struct {
		name   string
		phases loadtest.Phases
	}{{"ceiling", loadtest.Ceiling}, {"writes", loadtest.Writes}, {"rest", loadtest.REST}} {
		b.Run(p.name, func(b *testing.B) {
			srv := ts.Start(b, ts.HTTP())
			var r *loadtest.Report
			for b.Loop() {
				var err error
				r, err = loadtest.Run(context.Background(), loadtest.Config{
					Addr: srv.Addr, HTTPAddr: srv.HTTPAddr, AdminToken: srv.AdminToken, Concurrency: 256,
					Duration: 5 * time.Second, Phases: p.phases, ServerPID: os.Getpid(),
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			switch p.phases {
			case loadtest.Ceiling:
				b.ReportMetric(r.CeilingRPS(), "rps")
				b.ReportMetric(float64(r.Ceiling.Latency.Quantile(0.99))/1e6, "p99-ms")
			case loadtest.REST:
				b.ReportMetric(r.RESTWriteRPS(), "writes/s")
				b.ReportMetric(float64(r.RESTWriteLatency().Quantile(0.99))/1e6, "p99-ms")
			default:
				b.ReportMetric(r.WriteRPS(), "writes/s")
				b.ReportMetric(float64(r.WriteLatency().Quantile(0.99))/1e6, "p99-ms")
			}
			b.ReportMetric(float64(r.Errors()), "errors")
		})
	}
}
