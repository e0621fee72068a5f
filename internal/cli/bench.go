package cli

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/candorhq/candor/internal/loadtest"
)

// benchFlags are the flags of `candor bench`.
type benchFlags struct {
	participants int
	concurrency  int
	duration     time.Duration
	warmup       time.Duration
	calls        int
	conns        int
	serverPID    int
	httpAddr     string
}

func (f *benchFlags) check() error {
	switch {
	case f.participants < 0:
		return usageErrorf("--participants must be positive (or 0 for one per client), not %d", f.participants)
	case f.concurrency < 1:
		return usageErrorf("--concurrency must be at least 1, not %d", f.concurrency)
	case f.duration <= 0:
		return usageErrorf("--duration must be positive, not %s", f.duration)
	case f.warmup < 0:
		return usageErrorf("--warmup must not be negative, not %s", f.warmup)
	case f.calls < 1:
		return usageErrorf("--calls must be at least 1, not %d", f.calls)
	case f.conns < 1:
		return usageErrorf("--conns must be at least 1, not %d", f.conns)
	case f.serverPID < 0:
		return usageErrorf("--server-pid must be a process id, not %d", f.serverPID)
	}
	return nil
}

func newBenchCmd(a *app) *cobra.Command {
	var f benchFlags
	c := &cobra.Command{
		Use:   "bench [--participants N] [--concurrency C] [--duration D] [--calls K] [--http-addr ADDR] [--server-pid PID]",
		Short: "Load a server: its health-check ceiling, then declarations and ballots (admin)",
		Long: `Measure a server under load. With the admin token, bench creates a body with N participants (each
with a Statement of Interest) and a chair who opens K votes. Then, with the same client machinery, C
concurrent clients call the gRPC health check for a warm-up and D (the ceiling), and C concurrent clients
each declare and vote for a warm-up and D (the write path: two durable, logged writes per round).
With --http-addr (candord's HTTP listener), C concurrent clients then do the same over the REST/JSON
gateway on keep-alive connections, reported as a ratio to the gRPC write rate of the same run.

It prints one figure per line: the ceiling and write rates and their ratio, p50/p90/p99 latency of each,
errors by gRPC code and reason, the server's peak resident memory (with --server-pid, on the server's
machine), and whether the targets of issue 5 were met. Refused writes are counted, never retried.

Every run adds N+1 participants, a body and K calls to the server, and writes to its log: point it at a
scratch server (make bench starts one), never at a production log.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check(); err != nil {
				return err
			}
			if a.opts.token == "" {
				return usageErrorf("bench needs the admin token: --token-file DATA/admin.token (or --token, or %s)", envToken)
			}
			var dialOpts []grpc.DialOption
			var httpTLS *tls.Config
			if a.opts.caFile != "" {
				cfg, err := tlsConfig(a.opts.caFile, a.opts.certFile, a.opts.keyFile, a.opts.serverName)
				if err != nil {
					return err
				}
				dialOpts = append(dialOpts, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
				httpTLS = cfg.Clone()
			}
			dialOpts = append(dialOpts, grpc.WithUserAgent("candor-bench"))
			warmup := f.warmup // 0: the package's default
			if cmd.Flags().Changed("warmup") && warmup == 0 {
				warmup = -1 // asked for none
			}
			r, err := loadtest.Run(cmd.Context(), loadtest.Config{
				Addr: a.opts.addr, DialOptions: dialOpts, AdminToken: a.opts.token, HTTPAddr: f.httpAddr, HTTPTLS: httpTLS,
				Participants: f.participants, Concurrency: f.concurrency, Duration: f.duration, Warmup: warmup,
				Calls: f.calls, Conns: f.conns, Timeout: a.opts.timeout, ServerPID: f.serverPID,
				Progress: a.stderr,
			})
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				b, err := json.MarshalIndent(struct {
					Figures []loadtest.Figure `json:"figures"`
					Targets []loadtest.Target `json:"targets"`
				}{r.Figures(), r.Targets()}, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "%s\n", b)
				return err
			}
			_, err = r.WriteTo(a.stdout)
			return err
		},
	}
	fs := c.Flags()
	fs.IntVar(&f.participants, "participants", 0, "participants who vote, N (default one per client)")
	fs.IntVar(&f.concurrency, "concurrency", loadtest.DefaultConcurrency, "concurrent clients, C")
	fs.DurationVar(&f.duration, "duration", loadtest.DefaultDuration, "how long each phase is measured, D")
	fs.DurationVar(&f.warmup, "warmup", 0, "how long each phase runs before it is measured (default D/10, at most 1s)")
	fs.IntVar(&f.calls, "calls", loadtest.DefaultCalls, "votes open at once, K")
	fs.IntVar(&f.conns, "conns", 1, "gRPC connections the clients share")
	fs.StringVar(&f.httpAddr, "http-addr", "", "the server's HTTP listener (`ADDR` or URL) for the REST phase; empty skips it")
	fs.IntVar(&f.serverPID, "server-pid", 0, "the server's process id, to read its peak resident memory from /proc")
	return c
}
