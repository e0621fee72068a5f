// Command candord is Candor's server: a gRPC service that refuses a ballot from anyone without a
// current declaration of interest for that call, and keeps every change in a verifiable log.
//
// It only parses flags and signals; internal/daemon does the wiring. `candord check --data DIR`
// checks a stopped server's data folder offline (internal/offline) and exits 1 naming the first
// problem; `candord restore --from FILE --data DIR --key log.pub` makes a new data folder from a
// backup taken by `candor admin backup`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/candorhq/candor/internal/daemon"
	"github.com/candorhq/candor/internal/offline"
	"github.com/candorhq/candor/internal/store"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "check" {
		os.Exit(check(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "restore" {
		os.Exit(restore(os.Args[2:]))
	}
	var cfg daemon.Config
	flag.StringVar(&cfg.DataDir, "data", "./candor-data", "data folder: bbolt file, admin token, log key")
	flag.StringVar(&cfg.Listen, "listen", "127.0.0.1:7420", "address of the gRPC listener")
	flag.StringVar(&cfg.HTTPListen, "http-listen", "127.0.0.1:7421", `address of the HTTP listener: web app, REST API, /openapi.json, /healthz, /readyz ("" turns it off)`)
	flag.StringVar(&cfg.TLSCert, "tls-cert", "", "TLS certificate (PEM), for both listeners")
	flag.StringVar(&cfg.TLSKey, "tls-key", "", "TLS private key (PEM)")
	flag.StringVar(&cfg.ClientCA, "client-ca", "", "require client certificates signed by this CA (PEM)")
	flag.BoolVar(&cfg.Insecure, "insecure", false, "allow a non-loopback listener without TLS")
	flag.BoolVar(&cfg.PublicAudit, "public-audit", false, "let anyone read checkpoints, entries and proofs")
	flag.StringVar(&cfg.Origin, "origin", "", "log origin for checkpoints, set once when the log key is created (default candor.local/HOSTNAME)")
	flag.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 10e9, "how long to drain calls on SIGINT/SIGTERM")
	flag.IntVar(&cfg.MaxWritesInFlight, "max-writes-in-flight", 4096, "writes in flight past which the server answers ResourceExhausted")
	flag.StringVar(&cfg.OTLPEndpoint, "otlp-endpoint", "", "send OpenTelemetry traces to this OTLP/gRPC collector (host:port); plaintext on loopback, else TLS (default: no traces)")
	flag.BoolVar(&cfg.OTLPInsecure, "otlp-insecure", false, "send traces in plaintext to a collector that is not on loopback")
	flag.Float64Var(&cfg.TraceSampleRatio, "otlp-sample-ratio", 0.1, "share of the traces starting here to sample, 0 to 1 (a caller's sampled trace is always followed)")
	flag.StringVar(&cfg.Store, "store", "bbolt", "where state and log live: bbolt (a file in --data) or etcd (--etcd-endpoints; see docs/etcd.md)")
	etcdEndpoints := flag.String("etcd-endpoints", "", "etcd members, comma-separated host:port (with --store etcd)")
	flag.StringVar(&cfg.Etcd.CA, "etcd-cacert", "", "verify the etcd members' certificates with this CA bundle (PEM)")
	flag.StringVar(&cfg.Etcd.Cert, "etcd-cert", "", "client certificate for etcd (PEM)")
	flag.StringVar(&cfg.Etcd.Key, "etcd-key", "", "client key for etcd (PEM)")
	flag.StringVar(&cfg.Etcd.Prefix, "etcd-prefix", "/candor/", "key prefix of this Candor's data in etcd")
	flag.IntVar(&cfg.Etcd.MaxTxnOps, "etcd-max-txn-ops", 128, "the cluster's --max-txn-ops: operations one etcd transaction may carry")
	flag.IntVar(&cfg.Etcd.MaxRequestBytes, "etcd-max-request-bytes", 1536*1024, "the cluster's --max-request-bytes")
	flag.StringVar(&cfg.Etcd.Advertise, "advertise", "", "gRPC address other replicas forward writes to while this one sequences the log (default --listen)")
	flag.DurationVar(&cfg.Etcd.LeaseTTL, "etcd-lease-ttl", 5e9, "how long a dead sequencer holds the log before another replica takes over")
	flag.DurationVar(&cfg.Etcd.KeepAlive, "etcd-keepalive-time", 10e9, "ping each etcd connection this often, dropping one that stops answering (grpc-go's floor is 10s)")
	flag.DurationVar(&cfg.Etcd.RequestTimeout, "etcd-request-timeout", 2e9, "bound on each request to etcd: a batch caught by an etcd leader's death waits this long")
	logFormat := flag.String("log-format", "text", "log format: text or json")
	logLevel := flag.String("log-level", "info", "log level: debug (adds reads that succeed and web requests), info (writes, refusals), warn or error")
	jsonLogs := flag.Bool("log-json", false, "deprecated: use --log-format json")
	flag.Parse()
	logger, err := newLogger(*logFormat, *logLevel, *jsonLogs)
	if err != nil {
		fmt.Fprintf(os.Stderr, "candord: %v\n", err)
		os.Exit(2)
	}
	cfg.Logger = logger
	if *etcdEndpoints != "" {
		cfg.Etcd.Endpoints = strings.Split(*etcdEndpoints, ",")
	}

	if os.Getenv("GOGC") == "" {
		// Under load a quarter of the CPU went to garbage collection at the default GOGC=100; the
		// live heap is small and writes in flight are bounded, so trade memory for throughput
		// (+15-25% writes/s in BenchmarkInProcess) unless the operator chose otherwise.
		debug.SetGCPercent(400)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := daemon.New(cfg)
	if err != nil {
		if errors.Is(err, store.ErrLogCorrupt) {
			fmt.Fprintf(os.Stderr, "candord: refusing to serve: %v\n", err)
			fmt.Fprintln(os.Stderr, "candord: the data file was altered outside the server; restore it from a backup")
		} else {
			fmt.Fprintf(os.Stderr, "candord: %v\n", err)
		}
		os.Exit(1)
	}
	if err := d.Serve(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "candord: %v\n", err)
		os.Exit(1)
	}
}

// newLogger returns the server's logger on stderr. --log-json, the flag before --log-format, still
// works (scripts and units written for it keep their JSON) but cannot be combined with a text format.
func newLogger(format, level string, legacyJSON bool) (*slog.Logger, error) {
	if legacyJSON {
		if format == "text" && !isFlagSet("log-format") {
			format = "json"
		}
		if format != "json" {
			return nil, fmt.Errorf("--log-json contradicts --log-format %s", format)
		}
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(os.Stderr, opts)
	case "json":
		h = slog.NewJSONHandler(os.Stderr, opts)
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", format)
	}
	l := slog.New(h)
	if legacyJSON {
		l.Warn("--log-json is deprecated; use --log-format json")
	}
	return l, nil
}

// isFlagSet reports whether the command line set the named flag.
func isFlagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// check parses the flags of `candord check` and runs it.
func check(args []string) int {
	fs := flag.NewFlagSet("candord check", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: candord check [--data DIR] [--key FILE]\n\nChecks a stopped server's data folder offline: every entry against its leaf hash, the tree\nagainst every signed checkpoint, and the rules replayed. Exits 1 naming the first problem.")
		fs.PrintDefaults()
	}
	var cfg offline.Config
	fs.StringVar(&cfg.DataDir, "data", "./candor-data", "the stopped server's data folder")
	fs.StringVar(&cfg.KeyFile, "key", "", "the log's verifier key (default: log.pub in the data folder)")
	fs.Parse(args)
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	return offline.Main(cfg, os.Stdout, os.Stderr)
}

// restore parses the flags of `candord restore` and runs it.
func restore(args []string) int {
	fs := flag.NewFlagSet("candord restore", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: candord restore --from FILE --data DIR --key FILE\n\nMakes a new data folder from a backup taken by `candor admin backup`, refusing a folder that\nis not empty, and checks it as `candord check` does against the log's verifier key, which it\ninstalls as log.pub. Put log.key and admin.token in the folder before starting the server.")
		fs.PrintDefaults()
	}
	var cfg offline.RestoreConfig
	fs.StringVar(&cfg.From, "from", "", "the backup file (required)")
	fs.StringVar(&cfg.DataDir, "data", "", "the new data folder: absent or empty (required)")
	fs.StringVar(&cfg.KeyFile, "key", "", "the log's verifier key, log.pub (required)")
	fs.Parse(args)
	if fs.NArg() > 0 || cfg.From == "" || cfg.DataDir == "" || cfg.KeyFile == "" {
		fs.Usage()
		return 2
	}
	return offline.RestoreMain(cfg, os.Stdout, os.Stderr)
}
