package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

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
		grpc.WithChainUnaryInterceptor(a.refuseInvalidUTF8, requestIDInterceptor, timeoutInterceptor(o.timeout)),
		grpc.WithChainStreamInterceptor(a.refuseInvalidUTF8Stream),
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
// stored anything, so a retry cannot record a write twice. Writes that carry a request id (set by
// requestIDInterceptor) are also retried when the server was UNAVAILABLE: it may have written, and the
// id makes the retry return that write instead of repeating it. Each attempt is bounded by --timeout.
var serviceConfig = fmt.Sprintf(`{"methodConfig": [{
  "name": [{"service": %q}, {"service": %q}, {"service": %q}, {"service": %q}],
  "retryPolicy": {"maxAttempts": 4, "initialBackoff": "0.2s", "maxBackoff": "2s", "backoffMultiplier": 2,
                  "retryableStatusCodes": ["RESOURCE_EXHAUSTED"]}
}, {
  "name": [%s],
  "retryPolicy": {"maxAttempts": 4, "initialBackoff": "0.2s", "maxBackoff": "2s", "backoffMultiplier": 2,
                  "retryableStatusCodes": ["RESOURCE_EXHAUSTED", "UNAVAILABLE"]}
}]}`,
	candorv1.ParticipantService_ServiceDesc.ServiceName, candorv1.BodyService_ServiceDesc.ServiceName,
	candorv1.CallService_ServiceDesc.ServiceName, candorv1.AuditService_ServiceDesc.ServiceName,
	idempotentMethods())

// idempotentMethods names, as service config JSON, every method whose request has a request_id.
func idempotentMethods() string {
	var names []string
	for _, fd := range []protoreflect.FileDescriptor{
		candorv1.File_candor_v1_participant_service_proto, candorv1.File_candor_v1_body_service_proto,
		candorv1.File_candor_v1_call_service_proto,
	} {
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				m := sd.Methods().Get(j)
				if m.Input().Fields().ByName("request_id") != nil {
					names = append(names, fmt.Sprintf(`{"service": %q, "method": %q}`, sd.FullName(), m.Name()))
				}
			}
		}
	}
	return strings.Join(names, ", ")
}

// requestIDInterceptor gives every write that can carry a request id (AIP-155) a fresh one, unless it
// has one. gRPC's retries resend the same message, so every attempt of one command shares the id.
func requestIDInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if m, ok := req.(proto.Message); ok {
		r := m.ProtoReflect()
		if f := r.Descriptor().Fields().ByName("request_id"); f != nil && f.Kind() == protoreflect.StringKind && r.Get(f).String() == "" {
			r.Set(f, protoreflect.ValueOfString(uuid.NewString()))
		}
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

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
