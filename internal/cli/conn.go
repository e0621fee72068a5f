package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// dial connects to the server in --addr: with TLS when --ca is given, in plaintext otherwise. The
// connection is lazy: an unreachable server shows up as the first RPC's Unavailable error.
func (a *app) dial() (*grpc.ClientConn, error) {
	o := a.opts
	transport := insecure.NewCredentials()
	secure := o.caFile != ""
	if secure {
		cfg, err := tlsConfig(o.caFile, o.certFile, o.keyFile, o.serverName)
		if err != nil {
			return nil, err
		}
		transport = credentials.NewTLS(cfg)
	}
	dialOpts := []grpc.DialOption{
		grpc.WithTransportCredentials(transport),
		grpc.WithUnaryInterceptor(timeoutInterceptor(o.timeout)),
		grpc.WithUserAgent("candor-cli"),
		grpc.WithDefaultServiceConfig(serviceConfig),
	}
	if o.token != "" {
		dialOpts = append(dialOpts, grpc.WithPerRPCCredentials(bearer{token: o.token, secure: secure}))
	}
	conn, err := grpc.NewClient(o.addr, dialOpts...)
	if err != nil {
		return nil, usageErrorf("cannot use --addr %q: %v", o.addr, err)
	}
	return conn, nil
}

// serviceConfig has grpc retry calls the server refused with RESOURCE_EXHAUSTED: OVERLOADED (too many
// writes in flight, refused before the handler runs) or STORAGE_FULL (the transaction failed). Neither
// stored anything, so a retry cannot record a write twice. Each attempt is bounded by --timeout.
var serviceConfig = fmt.Sprintf(`{"methodConfig": [{
  "name": [{"service": %q}, {"service": %q}, {"service": %q}, {"service": %q}],
  "retryPolicy": {"maxAttempts": 4, "initialBackoff": "0.2s", "maxBackoff": "2s", "backoffMultiplier": 2,
                  "retryableStatusCodes": ["RESOURCE_EXHAUSTED"]}
}]}`,
	candorv1.ParticipantService_ServiceDesc.ServiceName, candorv1.BodyService_ServiceDesc.ServiceName,
	candorv1.CallService_ServiceDesc.ServiceName, candorv1.AuditService_ServiceDesc.ServiceName)

// tlsConfig builds the client TLS configuration from PEM files.
func tlsConfig(caFile, certFile, keyFile, serverName string) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, usageErrorf("cannot read --ca: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, usageErrorf("--ca %s holds no PEM certificate", caFile)
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, usageErrorf("cannot load --client-cert and --client-key: %v", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// bearer sends "authorization: Bearer <token>" with every RPC.
type bearer struct {
	token  string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

// RequireTransportSecurity reports whether the token may only travel over TLS. Plaintext is allowed
// because without --ca the user asked for it (the server refuses non-loopback plaintext by default).
func (b bearer) RequireTransportSecurity() bool { return b.secure }

// timeoutInterceptor bounds each RPC by d, so that paging through a long history is not cut short by
// one overall deadline.
func timeoutInterceptor(d time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}
