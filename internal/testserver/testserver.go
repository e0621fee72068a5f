// Package testserver starts a real candord (the daemon's full wiring, a real bbolt file in a temp
// folder) on 127.0.0.1 for tests, and hands out clients. Tests of every layer above the store use
// it, so they exercise exactly what runs in production.
package testserver

import (
	"context"
	"github.com/google/uuid"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	"github.com/candorhq/candor/internal/daemon"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// Server is a running test server.
type Server struct {
	// Addr is the 127.0.0.1 address, or "bufnet" for a server started with Bufconn.
	Addr string
	// HTTPAddr is the HTTP listener's 127.0.0.1 address for a server started with HTTP, else "".
	HTTPAddr    string
	AdminToken  string
	DataDir     string
	VerifierKey string

	t      testing.TB
	bufLis *bufconn.Listener // set by Bufconn
	cancel context.CancelFunc
	done   chan error
}

// Option changes the daemon's configuration.
type Option func(*daemon.Config)

// PublicAudit turns public audit on.
func PublicAudit() Option { return func(c *daemon.Config) { c.PublicAudit = true } }

// DataDir uses dir instead of a fresh temp folder (to restart on the same data).
func DataDir(dir string) Option { return func(c *daemon.Config) { c.DataDir = dir } }

// MaxWritesInFlight bounds writes in flight.
func MaxWritesInFlight(n int) Option { return func(c *daemon.Config) { c.MaxWritesInFlight = n } }

// Bufconn serves over an in-process bufconn listener instead of a socket (grpc-go test/bufconn):
// no port, no network. Conn dials it; Addr is only a label.
func Bufconn() Option {
	return func(c *daemon.Config) { c.Listener = bufconn.Listen(1 << 20) }
}

// HTTP turns on the HTTP listener (web app, REST, OpenAPI, health) on 127.0.0.1.
func HTTP() Option { return func(c *daemon.Config) { c.HTTPListen = "127.0.0.1:0" } }

// NoMetrics turns the Prometheus metrics off, for benchmarks that measure their cost.
func NoMetrics() Option { return func(c *daemon.Config) { c.NoMetrics = true } }

// MaxDBSize caps the bbolt file.
func MaxDBSize(n int) Option { return func(c *daemon.Config) { c.MaxDBSize = n } }

// PageBytes bounds the encoded size of a roster or call-list page and of a WatchCall state, so that
// a test pages a few hundred entries rather than tens of thousands.
func PageBytes(n int) Option { return func(c *daemon.Config) { c.PageBytes = n } }

// Logger sends the server's logs (the request log among them) to l instead of discarding them.
// ShareSecrets copies the log key, its public half and the admin token from one data folder into
// another (created owner-only if needed), as an operator sets up a second replica of an etcd store:
// every replica signs with the same key.
func ShareSecrets(t testing.TB, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{daemon.LogKeyFile, daemon.LogPubFile, daemon.AdminTokenFile} {
		b, err := os.ReadFile(filepath.Join(from, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// Etcd keeps the server's state and log in the etcd cluster at endpoints, under prefix ("": a
// prefix of its own), instead of a bbolt file. Replicas of one store share a prefix.
func Etcd(endpoints []string, prefix string) Option {
	if prefix == "" {
		prefix = "/test/" + uuid.NewString() + "/"
	}
	return func(c *daemon.Config) {
		c.Store = "etcd"
		c.Etcd = daemon.EtcdConfig{Endpoints: endpoints, Prefix: prefix, MaxTxnOps: 4096, LeaseTTL: 2 * time.Second}
	}
}

func Logger(l *slog.Logger) Option { return func(c *daemon.Config) { c.Logger = l } }

// Start starts a server; it stops when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := daemon.Config{
		DataDir: filepath.Join(t.TempDir(), "data"), Listen: "127.0.0.1:0", Origin: "candor.test/log",
		ShutdownTimeout: 5 * time.Second,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, o := range opts {
		o(&cfg)
	}
	d, err := daemon.New(cfg)
	if err != nil {
		t.Fatalf("start candord: %v", err)
	}
	token, err := os.ReadFile(filepath.Join(cfg.DataDir, daemon.AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	bufLis, _ := cfg.Listener.(*bufconn.Listener)
	s := &Server{
		bufLis: bufLis,
		Addr:   d.Addr(), HTTPAddr: d.HTTPAddr(), AdminToken: strings.TrimSpace(string(token)), DataDir: cfg.DataDir,
		VerifierKey: d.VerifierKey(), t: t, cancel: cancel, done: make(chan error, 1),
	}
	go func() { s.done <- d.Serve(ctx) }()
	t.Cleanup(s.Stop)
	return s
}

// Stop drains and stops the server (idempotent).
func (s *Server) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	if err := <-s.done; err != nil {
		s.t.Errorf("candord stopped with: %v", err)
	}
	s.cancel = nil
}

// Conn dials the server; the connection closes when the test ends.
func (s *Server) Conn() *grpc.ClientConn {
	s.t.Helper()
	target, opts := s.Addr, []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if s.bufLis != nil {
		target = "passthrough:///bufnet"
		opts = append(opts, grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return s.bufLis.DialContext(ctx)
		}))
	}
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { conn.Close() })
	return conn
}

// Client holds the four service clients of one connection and a token.
type Client struct {
	Participants candorv1.ParticipantServiceClient
	Bodies       candorv1.BodyServiceClient
	Calls        candorv1.CallServiceClient
	Audit        candorv1.AuditServiceClient
	Token        string
}

// NewClient returns clients on conn that send token.
func NewClient(conn *grpc.ClientConn, token string) *Client {
	return &Client{
		Participants: candorv1.NewParticipantServiceClient(conn),
		Bodies:       candorv1.NewBodyServiceClient(conn),
		Calls:        candorv1.NewCallServiceClient(conn),
		Audit:        candorv1.NewAuditServiceClient(conn),
		Token:        token,
	}
}

// Ctx returns a context carrying the client's token, bounded to 30 s.
func (c *Client) Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	if c.Token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.Token)
}

// WithToken returns ctx carrying token as the bearer token, for calls made where a testing.TB is not
// at hand (goroutines, which must not call t.Fatal).
func WithToken(ctx context.Context, token string) context.Context {
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}
