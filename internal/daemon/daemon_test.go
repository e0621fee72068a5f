package daemon_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	"github.com/candorhq/candor/internal/daemon"
	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestFirstStartCreatesOwnerOnlyFiles(t *testing.T) {
	srv := ts.Start(t, ts.DataDir(filepath.Join(t.TempDir(), "fresh"))) // the daemon creates it
	for name, want := range map[string]os.FileMode{
		daemon.AdminTokenFile: 0o600, daemon.LogKeyFile: 0o600, daemon.DBFile: 0o600, daemon.LogPubFile: 0o644,
	} {
		fi, err := os.Stat(filepath.Join(srv.DataDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s mode = %v, want %v", name, got, want)
		}
	}
	fi, _ := os.Stat(srv.DataDir)
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("data folder mode = %v, want owner-only", fi.Mode().Perm())
	}
	pub, _ := os.ReadFile(filepath.Join(srv.DataDir, daemon.LogPubFile))
	if strings.TrimSpace(string(pub)) != srv.VerifierKey {
		t.Errorf("log.pub = %q, want the server's verifier key %q", pub, srv.VerifierKey)
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	srv := ts.Start(t)
	w := ts.NewWorld(t, srv)
	call := w.OpenVote(t, nil).Name
	w.Declare(t, w.Alice, call, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.Intent_INTENT_PARTICIPATE)
	before, err := w.Auditor.Audit.GetCheckpoint(w.Auditor.Ctx(t), &candorv1.GetCheckpointRequest{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()

	again := ts.Start(t, ts.DataDir(srv.DataDir))
	if again.AdminToken != srv.AdminToken || again.VerifierKey != srv.VerifierKey {
		t.Fatal("admin token or log key changed across restart")
	}
	auditor := ts.NewClient(again.Conn(), w.Auditor.Token)
	after, err := auditor.Audit.GetCheckpoint(auditor.Ctx(t), &candorv1.GetCheckpointRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if string(after.Checkpoint) != string(before.Checkpoint) {
		t.Errorf("checkpoint after restart:\n%s\nwant\n%s", after.Checkpoint, before.Checkpoint)
	}
	alice := ts.NewClient(again.Conn(), w.Alice.Token)
	if _, err := ts.Vote(t, alice, call, "yes"); err != nil {
		t.Errorf("vote after restart, on a declaration filed before it: %v", err)
	}
}

func TestRefusesOpenListenerWithoutTLS(t *testing.T) {
	ifaces, _ := net.InterfaceAddrs()
	var ip string
	for _, a := range ifaces {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			ip = n.IP.String()
		}
	}
	for _, addr := range []string{"0.0.0.0:0", ip + ":0"} {
		if strings.HasPrefix(addr, ":") {
			continue
		}
		_, err := daemon.New(daemon.Config{DataDir: filepath.Join(t.TempDir(), "data"), Listen: addr, Logger: quiet()})
		if err == nil || !strings.Contains(err.Error(), "without TLS") {
			t.Errorf("listen on %s without TLS: got %v, want a refusal", addr, err)
		}
	}
}

func TestTLSWithClientCertificates(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCA(t)
	writeCert(t, dir, "server", ca, caKey, []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	writeCert(t, dir, "client", ca, caKey, nil, nil)
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", ca.Raw)

	d, err := daemon.New(daemon.Config{
		DataDir: filepath.Join(dir, "data"), Listen: "127.0.0.1:0", Logger: quiet(),
		TLSCert: filepath.Join(dir, "server.pem"), TLSKey: filepath.Join(dir, "server-key.pem"),
		ClientCA: filepath.Join(dir, "ca.pem"),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx) }()
	defer func() { cancel(); <-done }()

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	clientCert, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	check := func(conf *tls.Config) error {
		conn, err := grpc.NewClient(d.Addr(), grpc.WithTransportCredentials(credentials.NewTLS(conf)))
		if err != nil {
			return err
		}
		defer conn.Close()
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ccancel()
		_, err = healthpb.NewHealthClient(conn).Check(cctx, &healthpb.HealthCheckRequest{})
		return err
	}
	if err := check(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{clientCert}, ServerName: "localhost"}); err != nil {
		t.Errorf("TLS with a client certificate: %v", err)
	}
	if err := check(&tls.Config{RootCAs: pool, ServerName: "localhost"}); err == nil {
		t.Error("TLS without a client certificate was accepted")
	}
}

func TestHealthAndReflection(t *testing.T) {
	srv := ts.Start(t)
	conn := srv.Conn()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v; want SERVING", resp, err)
	}
	// grpcurl lists services through reflection, without a token.
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	r, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range r.GetListServicesResponse().GetService() {
		names = append(names, s.Name)
	}
	for _, want := range []string{"candor.v1.CallService", "candor.v1.AuditService", "grpc.health.v1.Health"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("reflection lists %v, missing %s", names, want)
		}
	}
}

func TestPublicAudit(t *testing.T) {
	for _, public := range []bool{false, true} {
		var opts []ts.Option
		if public {
			opts = append(opts, ts.PublicAudit())
		}
		srv := ts.Start(t, opts...)
		ts.NewWorld(t, srv)
		conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), nil), 5*time.Second)
		defer cancel()
		_, err = candorv1.NewAuditServiceClient(conn).ListEntries(ctx, &candorv1.ListEntriesRequest{})
		if got := err == nil; got != public {
			t.Errorf("anonymous ListEntries with public audit %v: err %v", public, err)
		}
		_, err = candorv1.NewCallServiceClient(conn).ListCalls(ctx, &candorv1.ListCallsRequest{Body: "bodies/0194f5c2-7d4e-7a1b-9c3d-2e5f6a7b8c9d"})
		if err == nil {
			t.Errorf("anonymous ListCalls answered with public audit %v", public)
		}
	}
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "candor test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

func writeCert(t *testing.T, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, dns []string, ips []net.IP) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: dns, IPAddresses: ips,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	writePEM(t, filepath.Join(dir, name+".pem"), "CERTIFICATE", der)
	writePEM(t, filepath.Join(dir, name+"-key.pem"), "EC PRIVATE KEY", kder)
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestEmptyAdminTokenFileIsReplaced: a crash can leave the token file empty; the server makes a new
// token rather than accept an empty one and lock the admin out.
func TestEmptyAdminTokenFileIsReplaced(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	srv := ts.Start(t, ts.DataDir(dir))
	srv.Stop()
	if err := os.WriteFile(filepath.Join(dir, daemon.AdminTokenFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	again := ts.Start(t, ts.DataDir(dir))
	if again.AdminToken == "" || again.AdminToken == srv.AdminToken {
		t.Fatalf("admin token after an empty file = %q", again.AdminToken)
	}
	admin := ts.NewClient(again.Conn(), again.AdminToken)
	if _, err := admin.Bodies.CreateBody(admin.Ctx(t), &candorv1.CreateBodyRequest{Title: "works"}); err != nil {
		t.Errorf("the new admin token does not work: %v", err)
	}
}

func TestRefusesSecretsOthersCanRead(t *testing.T) {
	for _, tc := range []struct {
		name string
		path func(dir string) string
		mode os.FileMode
	}{
		{"data folder", func(dir string) string { return dir }, 0o755},
		{"admin token", func(dir string) string { return filepath.Join(dir, daemon.AdminTokenFile) }, 0o640},
		{"log key", func(dir string) string { return filepath.Join(dir, daemon.LogKeyFile) }, 0o604},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			srv := ts.Start(t, ts.DataDir(dir))
			srv.Stop()
			path := tc.path(dir)
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			_, err := daemon.New(daemon.Config{DataDir: dir, Listen: "127.0.0.1:0", Logger: quiet()})
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "chmod") {
				t.Fatalf("start with %s mode %#o: got %v, want a refusal naming the file and the fix", tc.name, tc.mode, err)
			}
		})
	}
}
