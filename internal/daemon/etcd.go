package daemon

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/candorhq/candor/internal/store"
)

// EtcdConfig is what candord's --etcd-* flags set: where the cluster is, how to reach it, and what
// one of its transactions may carry.
type EtcdConfig struct {
	Endpoints []string
	// CA, Cert and Key are the client TLS flags etcdctl has (--cacert, --cert, --key).
	CA, Cert, Key string
	// Prefix keeps this Candor's keys apart from anything else in the cluster. Default /candor/.
	Prefix string
	// MaxTxnOps and MaxRequestBytes must not exceed the cluster's --max-txn-ops and
	// --max-request-bytes (etcd's defaults: 128 and 1.5 MiB).
	MaxTxnOps, MaxRequestBytes int
	// Advertise is the gRPC address the other replicas forward writes to while this one sequences
	// the log. Default: the --listen address.
	Advertise string
	// LeaseTTL is how long a dead sequencer holds the log before another replica takes over.
	// Default 5 s.
	LeaseTTL time.Duration
	// KeepAlive is how often the client pings each member's connection, so one that stopped
	// answering (a frozen machine) is dropped and requests go to the others. grpc-go raises
	// anything below 10 s to 10 s. Default 10 s.
	KeepAlive time.Duration
	// RequestTimeout bounds each request to the cluster. A request caught by an etcd leader's
	// death waits it out, holding the batch behind it: keep it short. Default 2 s.
	RequestTimeout time.Duration
}

// openStore opens the bbolt file in the data folder, or, with --store etcd, the store in the etcd
// cluster.
func (d *Daemon) openStore(n store.Notary) (*store.Store, error) {
	switch d.cfg.Store {
	case "", "bbolt":
		return store.Open(filepath.Join(d.cfg.DataDir, DBFile), n, store.Options{MaxSize: d.cfg.MaxDBSize, Registerer: d.registerer()})
	case "etcd":
	default:
		return nil, fmt.Errorf("--store %q: want bbolt or etcd", d.cfg.Store)
	}
	ec := d.cfg.Etcd
	if len(ec.Endpoints) == 0 {
		return nil, errors.New("--store etcd needs --etcd-endpoints")
	}
	var tlsConf *tls.Config
	if ec.CA != "" || ec.Cert != "" || ec.Key != "" {
		var err error
		tlsConf, err = (transport.TLSInfo{TrustedCAFile: ec.CA, CertFile: ec.Cert, KeyFile: ec.Key}).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("etcd client TLS: %w", err)
		}
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            ec.Endpoints,
		TLS:                  tlsConf,
		DialTimeout:          5 * time.Second,
		DialKeepAliveTime:    cmp.Or(ec.KeepAlive, 10*time.Second),
		DialKeepAliveTimeout: 2 * time.Second,
		Logger:               zap.NewNop(), // the client's retries are noise; the store logs what an operator acts on
	})
	if err != nil {
		return nil, fmt.Errorf("etcd client: %w", err)
	}
	advertise := ec.Advertise
	if advertise == "" {
		advertise = d.lis.Addr().String() // the bound address: --listen may say port 0
	}
	st, err := store.OpenEtcd(cli, n, store.EtcdOptions{
		Options:   store.Options{Registerer: d.registerer()},
		Prefix:    ec.Prefix,
		Limits:    store.EtcdLimits{MaxTxnOps: ec.MaxTxnOps, MaxRequestBytes: ec.MaxRequestBytes, Timeout: ec.RequestTimeout},
		Advertise: advertise,
		LeaseTTL:  ec.LeaseTTL,
		Logger:    d.log,
	})
	if err != nil {
		cli.Close()
		return nil, err
	}
	// Serve once a sequencer is known, so the first writes are not refused; a dead sequencer's
	// lease can hold the election for up to its TTL.
	wait, cancel := context.WithTimeout(context.Background(), 2*max(ec.LeaseTTL, 5*time.Second))
	defer cancel()
	if err := st.WaitSequencer(wait); err != nil {
		d.log.Warn("no replica sequences the log yet; writes are refused until one does", "err", err)
	}
	d.etcd = cli
	d.router = &router{store: st, tls: peerTLS(d.tlsConf), log: d.log}
	return st, nil
}

// router forwards writes to the replica that sequences the log (rpc.Router). It keeps one
// connection per address it has forwarded to, for as long as it runs: closing the old sequencer's
// connection when the sequencer moves would cancel writes still on their way over it, and a
// cluster has few replicas.
type router struct {
	store *store.Store
	tls   *tls.Config // for forwarding to a replica off loopback; nil: plaintext
	log   *slog.Logger

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

func (r *router) Route() (*grpc.ClientConn, error) {
	leading, addr := r.store.Sequencer()
	if leading {
		return nil, nil
	}
	if addr == "" {
		return nil, errors.New("no sequencer")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if conn, ok := r.conns[addr]; ok {
		return conn, nil
	}
	creds := insecure.NewCredentials()
	if r.tls != nil {
		creds = credentials.NewTLS(r.tls) // replicas serve as this one does: TLS, on loopback too
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, err
	}
	r.log.Info("forwarding writes to the sequencer", "sequencer", addr)
	if r.conns == nil {
		r.conns = make(map[string]*grpc.ClientConn)
	}
	r.conns[addr] = conn
	return conn, nil
}

// peerTLS is how a replica forwards writes to another over TLS, given its own server TLS (nil:
// none, forward in plaintext): it presents its own certificate, which a sequencer that requires
// client certificates (--client-ca) checks like any client's, and checks the sequencer's against
// the same CA, or the system's roots without --client-ca. Replicas of one cluster are expected to
// hold certificates from one CA.
func peerTLS(server *tls.Config) *tls.Config {
	if server == nil {
		return nil
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: server.Certificates, RootCAs: server.ClientCAs}
}

func (r *router) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, conn := range r.conns {
		conn.Close()
	}
}
