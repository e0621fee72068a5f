package daemon_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"github.com/candorhq/candor/internal/daemon"
	"github.com/candorhq/candor/internal/etcdtest"
	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestReplicasForwardOverMutualTLS: replicas that serve TLS and require client certificates
// forward writes to the sequencer over TLS, presenting their own certificate.
func TestReplicasForwardOverMutualTLS(t *testing.T) {
	cluster := etcdtest.Start(t, 1, etcdtest.Options{MaxTxnOps: 4096})
	dir := t.TempDir()
	ca, caKey := newCA(t)
	writeCert(t, dir, "replica", ca, caKey, []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	writeCert(t, dir, "client", ca, caKey, nil, nil)
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", ca.Raw)

	start := func(name string) *daemon.Daemon {
		d, err := daemon.New(daemon.Config{
			DataDir: filepath.Join(dir, name), Listen: "127.0.0.1:0", Logger: quiet(),
			TLSCert: filepath.Join(dir, "replica.pem"), TLSKey: filepath.Join(dir, "replica-key.pem"),
			ClientCA: filepath.Join(dir, "ca.pem"),
			Store:    "etcd",
			Etcd:     daemon.EtcdConfig{Endpoints: cluster.Endpoints(), Prefix: "/tls/", MaxTxnOps: 4096, LeaseTTL: 2 * time.Second},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d.Serve(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		return d
	}
	start("a") // the first replica sequences
	ts.ShareSecrets(t, filepath.Join(dir, "a"), filepath.Join(dir, "b"))
	b := start("b")
	token, _ := os.ReadFile(filepath.Join(dir, "a", daemon.AdminTokenFile))

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	clientCert, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(b.Addr(), grpc.WithTransportCredentials(credentials.NewTLS(
		&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{clientCert}, ServerName: "localhost"})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := candorv1.NewBodyServiceClient(conn).CreateBody(ctx, &candorv1.CreateBodyRequest{Title: "Forwarded over TLS"})
	if err != nil {
		t.Fatalf("a write to the replica that forwards: %v", err)
	}
	if resp.GetReceipt() == nil {
		t.Fatal("no receipt")
	}
}
