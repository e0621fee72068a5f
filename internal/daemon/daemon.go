// Package daemon wires candord together: the data folder, the log key, the bbolt store, the admin
// token, the gRPC server with health and reflection, TLS, the deadline closer and graceful shutdown.
// server/main.go only parses flags and signals; tests start the same wiring on 127.0.0.1:0.
//
// It holds no rule of Candor's: it must only assemble the packages that do.
package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/candorhq/candor/internal/durable"
	"github.com/candorhq/candor/internal/rpc"
	"github.com/candorhq/candor/internal/service"
	"github.com/candorhq/candor/internal/store"
	"github.com/candorhq/candor/internal/translog"
)

// File names inside the data folder.
const (
	DBFile         = "candor.db"
	AdminTokenFile = "admin.token"
	LogKeyFile     = "log.key"
	LogPubFile     = "log.pub"
)

// Config is what candord's flags set.
type Config struct {
	DataDir string
	Listen  string
	// TLSCert and TLSKey enable TLS; ClientCA additionally requires client certificates signed by it.
	TLSCert, TLSKey, ClientCA string
	// Insecure allows a non-loopback listener without TLS.
	Insecure bool
	// PublicAudit lets anyone read the log's checkpoints, entries and proofs.
	PublicAudit bool
	// Origin names the log in its checkpoints. Used only when the log key is created.
	Origin string
	// ShutdownTimeout bounds the graceful drain on shutdown. Default 10s.
	ShutdownTimeout time.Duration
	// MaxWritesInFlight bounds concurrent writes (see rpc.Options). Default 4096.
	MaxWritesInFlight int
	// MaxDBSize caps the bbolt file (0: no cap), for tests of a full disk.
	MaxDBSize int
	// PageBytes bounds a page's encoded size (see rpc.Options), for tests that page realistic data.
	PageBytes int
	// Listener, when set, is served instead of listening on Listen (tests pass a bufconn listener).
	Listener net.Listener
	// HTTPListen is the address of the HTTP listener: the web app, the REST API under /v1/,
	// /openapi.json, /healthz and /readyz. Empty turns it off.
	HTTPListen string
	// HTTPListener, when set, is served instead of listening on HTTPListen.
	HTTPListener net.Listener
	// NoMetrics turns the Prometheus metrics off (no instruments, /metrics answers 404), for
	// benchmarks that compare the write rate with and without them.
	NoMetrics bool
	// OTLPEndpoint (host:port), when set, turns traces on and sends them to this OTLP/gRPC
	// collector (see tracing.go). Empty: no traces, at no cost.
	OTLPEndpoint string
	// OTLPInsecure sends traces in plaintext to a collector that is not on loopback.
	OTLPInsecure bool
	// TraceSampleRatio is the share of the traces starting here that are sampled (up to 1; 0 means
	// every one); a caller's own sampling decision is followed. Used with OTLPEndpoint.
	TraceSampleRatio float64
	// TracerProvider, when set, turns traces on and gets them instead of a collector (tests and
	// benchmarks); its owner shuts it down.
	TracerProvider trace.TracerProvider
	// Store is the backend: "bbolt" (the default, a file in DataDir) or "etcd" (see etcd.go).
	Store  string
	Etcd   EtcdConfig
	Logger *slog.Logger
}

// Daemon is a running candord.
type Daemon struct {
	cfg      Config
	log      *slog.Logger
	store    *store.Store
	svc      *service.Service
	grpc     *grpc.Server
	health   *health.Server
	lis      net.Listener
	tlsConf  *tls.Config // nil without TLS
	verifier string

	// With --store etcd (see etcd.go): the cluster's client, and where writes go.
	etcd   *clientv3.Client
	router *router

	// The HTTP side, when on (see listenHTTP).
	http    *http.Server
	httpLis net.Listener
	inproc  *inprocess
	ready   atomic.Bool // true while serving: /readyz

	// metrics is the one Prometheus registry: the store and the transport register their
	// instruments in it, and /metrics on the HTTP listener serves it (see newRegistry).
	metrics *prometheus.Registry
	// tracing is the tracer provider, nil without traces (see newTracing).
	tracing *tracing
}

// New opens (creating on first start) the data folder and the store, and listens. Serve starts
// answering.
func New(cfg Config) (*Daemon, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	log := cfg.Logger
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	if err := checkOwnerOnly(cfg.DataDir); err != nil {
		return nil, err
	}
	if err := requireKeyForData(cfg.DataDir); err != nil {
		return nil, err
	}
	origin, err := logOrigin(cfg.DataDir, cfg.Origin)
	if err != nil {
		return nil, err
	}
	signer, err := translog.LoadOrCreateKey(cfg.DataDir, origin)
	if err != nil {
		return nil, fmt.Errorf("log key: %w", err)
	}
	d := &Daemon{cfg: cfg, log: log, verifier: signer.VerifierKey()}
	if !cfg.NoMetrics {
		d.metrics = newRegistry()
	}
	if err := d.bind(); err != nil {
		return nil, err
	}
	st, err := d.openStore(notary{signer})
	if err != nil {
		d.lis.Close()
		return nil, err
	}
	d.store = st
	fail := func(err error) (*Daemon, error) {
		st.Close()
		d.lis.Close()
		if d.etcd != nil {
			d.router.close()
			d.etcd.Close()
		}
		return nil, err
	}
	d.svc = service.New(service.Config{Store: st, PublicAudit: cfg.PublicAudit, Logger: log})
	if err := d.ensureAdminToken(); err != nil {
		return fail(err)
	}
	if d.tracing, err = newTracing(cfg, log); err != nil {
		return fail(err)
	}
	if err := d.listen(); err != nil {
		d.tracing.stop(cfg.ShutdownTimeout)
		return fail(err)
	}
	return d, nil
}

// Addr is the address the server listens on.
func (d *Daemon) Addr() string { return d.lis.Addr().String() }

// VerifierKey is the log's public key, as written to log.pub.
func (d *Daemon) VerifierKey() string { return d.verifier }

// Serve answers until ctx is done, then drains in-flight calls (up to the shutdown timeout) and
// closes the store.
func (d *Daemon) Serve(ctx context.Context) error {
	errc := make(chan error, 3)
	go func() { errc <- d.grpc.Serve(d.lis) }()
	if d.http != nil {
		go func() { errc <- d.inproc.server.Serve(d.inproc.lis) }()
		go func() { errc <- d.http.Serve(d.httpLis) }()
	}
	closerDone := make(chan struct{})
	closerCtx, stopCloser := context.WithCancel(ctx)
	go func() { defer close(closerDone); d.closeAtDeadlines(closerCtx) }()
	d.ready.Store(true)
	d.log.Info("candord serving", "addr", d.Addr(), "web", d.webURL(), "data", d.cfg.DataDir,
		"admin_token", filepath.Join(d.cfg.DataDir, AdminTokenFile),
		"log_pub", d.logPubPath(), "tls", d.cfg.TLSCert != "")

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	d.ready.Store(false)
	d.health.Shutdown() // tell load balancers first
	stopCloser()
	<-closerDone
	// Live watchers would hold both servers open until the timeout: end them first.
	d.svc.StopWatching()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		if d.http != nil {
			hctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
			defer cancel()
			d.http.Shutdown(hctx) // waits for REST and web requests, which call the in-process server
			d.inproc.server.GracefulStop()
			d.inproc.conn.Close()
		}
		d.grpc.GracefulStop()
	}()
	select {
	case <-drained:
	case <-time.After(d.cfg.ShutdownTimeout):
		d.log.Warn("drain timed out; closing remaining calls", "timeout", d.cfg.ShutdownTimeout)
		d.grpc.Stop()
		if d.http != nil {
			d.http.Close()
			d.inproc.server.Stop()
		}
	}
	if err := d.store.Close(); err != nil && serveErr == nil {
		serveErr = err
	}
	if d.etcd != nil {
		d.router.close()
		d.etcd.Close()
	}
	d.tracing.stop(d.cfg.ShutdownTimeout)
	d.log.Info("candord stopped")
	if errors.Is(serveErr, grpc.ErrServerStopped) || errors.Is(serveErr, http.ErrServerClosed) {
		return nil
	}
	return serveErr
}

// logPubPath is where the log's public key is written.
func (d *Daemon) logPubPath() string { return filepath.Join(d.cfg.DataDir, LogPubFile) }

// webURL is the web app's address for the start-up log, or "" when the HTTP listener is off.
func (d *Daemon) webURL() string {
	if d.http == nil {
		return ""
	}
	scheme := "http"
	if d.cfg.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + d.HTTPAddr() + "/"
}

// closeAtDeadlines closes calls whose deadline passed, checking at the next deadline or every second.
// After a failure (a full disk, say) it waits longer each time, up to half a minute, rather than spin
// against the committer.
func (d *Daemon) closeAtDeadlines(ctx context.Context) {
	backoff := time.Duration(0)
	for {
		wait := time.Second
		if next, ok := d.svc.NextDeadline(); ok {
			if w := time.Until(next); w < wait {
				wait = max(w, 0)
			}
		}
		wait = max(wait, backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if leading, _ := d.store.Sequencer(); !leading {
			continue // the sequencer closes calls; writes here would be refused
		}
		if _, err := d.svc.CloseDue(ctx); err != nil && ctx.Err() == nil {
			backoff = min(max(2*backoff, time.Second), 30*time.Second)
			d.log.Error("closing calls at their deadline", "err", err, "retry_in", backoff)
		} else {
			backoff = 0
		}
	}
}

// ensureAdminToken creates the admin token file on first start (owner-only). The file is the
// operator's key: if it is deleted, or left empty by a crash, a new token is made and the old one
// stops working.
func (d *Daemon) ensureAdminToken() error {
	path := filepath.Join(d.cfg.DataDir, AdminTokenFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil && strings.TrimSpace(string(b)) != "":
		return d.svc.SetAdminToken(context.Background(), strings.TrimSpace(string(b)))
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("admin token: %w", err)
	}
	token := service.NewToken()
	if err := durable.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return fmt.Errorf("admin token: %w", err)
	}
	d.log.Info("created admin token", "file", path)
	return d.svc.SetAdminToken(context.Background(), token)
}

// checkOwnerOnly refuses a data folder, admin token or log key that group or others can read or
// write: the token is the operator's key and the log key signs the record, so a copy taken by another
// account could forge both. ssh refuses a private key with loose modes for the same reason.
func checkOwnerOnly(dir string) error {
	for _, path := range []string{dir, filepath.Join(dir, AdminTokenFile), filepath.Join(dir, LogKeyFile)} {
		fi, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // created owner-only on first start
		}
		if err != nil {
			return err
		}
		if mode := fi.Mode().Perm(); mode&0o077 != 0 {
			fix := "chmod 600"
			if fi.IsDir() {
				fix = "chmod 700"
			}
			return fmt.Errorf("refusing to start: %s can be read or written by other accounts (mode %#o); run: %s %s",
				path, mode, fix, path)
		}
	}
	return nil
}

// bind checks the TLS flags and opens the gRPC listener. It runs before the store opens: on etcd,
// a replica campaigns to sequence the log with the address it listens on.
func (d *Daemon) bind() error {
	tlsConf, err := d.tlsConfig()
	if err != nil {
		return err
	}
	lis := d.cfg.Listener
	if lis == nil {
		host, _, err := net.SplitHostPort(d.cfg.Listen)
		if err != nil {
			return fmt.Errorf("--listen %q: %w", d.cfg.Listen, err)
		}
		if tlsConf == nil && !d.cfg.Insecure && !isLoopback(host) {
			return fmt.Errorf("refusing to listen on %s without TLS: give --tls-cert and --tls-key, or --insecure", d.cfg.Listen)
		}
		if lis, err = net.Listen("tcp", d.cfg.Listen); err != nil {
			return err
		}
	}
	d.lis, d.tlsConf = lis, tlsConf
	return nil
}

// listen builds the gRPC server on the bound listener, and the HTTP side.
func (d *Daemon) listen() error {
	lis, tlsConf := d.lis, d.tlsConf
	var creds credentials.TransportCredentials
	if tlsConf != nil {
		creds = credentials.NewTLS(tlsConf)
	}
	rpcOpts := (rpc.Options{
		PublicAudit: d.cfg.PublicAudit, MaxWritesInFlight: d.cfg.MaxWritesInFlight, PageBytes: d.cfg.PageBytes, Logger: d.log,
		Registerer: d.registerer(), TracerProvider: d.tracing.providerOf(),
	})
	if d.router != nil {
		rpcOpts.Router = d.router
	}
	rpcServer := rpc.New(d.svc, rpcOpts)
	opts := rpcServer.ServerOptions()
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	d.grpc = grpc.NewServer(opts...)
	rpcServer.Register(d.grpc)
	d.health = health.NewServer()
	healthpb.RegisterHealthServer(d.grpc, d.health)
	reflection.Register(d.grpc)
	if err := d.listenHTTP(rpcServer, tlsConf); err != nil {
		lis.Close()
		return err
	}
	return nil
}

// tlsConfig is the TLS both listeners serve, or nil without --tls-cert and --tls-key.
func (d *Daemon) tlsConfig() (*tls.Config, error) {
	if d.cfg.TLSCert == "" && d.cfg.TLSKey == "" {
		if d.cfg.ClientCA != "" {
			return nil, errors.New("--client-ca needs --tls-cert and --tls-key")
		}
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(d.cfg.TLSCert, d.cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("TLS key pair: %w", err)
	}
	conf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if d.cfg.ClientCA != "" {
		pem, err := os.ReadFile(d.cfg.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client CA %s: no certificates", d.cfg.ClientCA)
		}
		conf.ClientCAs, conf.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return conf, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// logOrigin returns the log's origin: the name in an existing key, else the flag, else one made up
// from the host name. It never changes once the key exists, because checkpoints name it.
func logOrigin(dir, flag string) (string, error) {
	origin, err := translog.KeyOrigin(dir)
	if !errors.Is(err, fs.ErrNotExist) {
		return origin, err
	}
	if flag != "" {
		return flag, nil
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	return "candor.local/" + host, nil
}

// notary adapts the log signer to the store.
type notary struct{ s *translog.Signer }

func (n notary) Sign(size int64, root tlog.Hash) ([]byte, error) {
	return n.s.Sign(translog.Checkpoint{Origin: n.s.Origin(), Size: size, Hash: root})
}

func (n notary) Open(signed []byte) (int64, tlog.Hash, error) {
	cp, err := translog.OpenCheckpoint(signed, n.s.VerifierKey())
	return cp.Size, cp.Hash, err
}

// ErrLogKeyMissing refuses a data folder that holds a data file but no log key: the key that signed
// its checkpoints was lost, or a restore (candord restore) was not followed by putting it back. A
// new key would never verify the log, and would overwrite log.pub.
var ErrLogKeyMissing = errors.New("daemon: log key missing")

// requireKeyForData refuses a folder with candor.db but no log.key, before a new key is made.
func requireKeyForData(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, DBFile)); err != nil {
		return nil // a new folder, or one the store will report on
	}
	if _, err := os.Stat(filepath.Join(dir, LogKeyFile)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s holds %s but no %s: put back the log key that signed its checkpoints (after candord restore, copy it from where you keep it, mode 0600); a new key would not verify the log", ErrLogKeyMissing, dir, DBFile, LogKeyFile)
	}
	return nil
}
