package rpc

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/candorhq/candor/internal/service"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

type principalKey struct{}

// principal returns the caller the interceptor authenticated.
func principal(ctx context.Context) service.Principal {
	p, _ := ctx.Value(principalKey{}).(service.Principal)
	return p
}

// publicAuditMethods answer anyone when the server runs with public audit: they are what a
// third-party auditor scripts against.
var publicAuditMethods = map[string]bool{
	candorv1.AuditService_GetCheckpoint_FullMethodName:       true,
	candorv1.AuditService_ListEntries_FullMethodName:         true,
	candorv1.AuditService_GetInclusionProof_FullMethodName:   true,
	candorv1.AuditService_GetConsistencyProof_FullMethodName: true,
}

// writeMethods are bounded in flight: past the bound the server sheds them with ResourceExhausted
// rather than queue without limit. A write is a method whose response carries a receipt, so a new
// write RPC is bounded without anyone remembering to list it.
var writeMethods = func() map[string]bool {
	m := map[string]bool{}
	for _, fd := range []protoreflect.FileDescriptor{
		candorv1.File_candor_v1_participant_service_proto, candorv1.File_candor_v1_body_service_proto,
		candorv1.File_candor_v1_call_service_proto, candorv1.File_candor_v1_audit_service_proto,
	} {
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				md := sd.Methods().Get(j)
				if md.Output().Fields().ByName("receipt") != nil {
					m[fmt.Sprintf("/%s/%s", sd.FullName(), md.Name())] = true
				}
			}
		}
	}
	return m
}()

// unaryInterceptor authenticates Candor's methods and bounds writes in flight. Methods outside
// candor.v1 (health, reflection) pass through untouched.
//
// A request the codec could not parse is refused here, after authentication as any invalid request
// is: the codec noted why against it (see [refusingCodec]).
func (s *Server) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	refused := s.codec.take(req) // always taken, so nothing is left behind
	if !strings.HasPrefix(info.FullMethod, "/candor.v1.") {
		if refused != nil {
			return nil, refused
		}
		return handler(ctx, req)
	}
	ctx, err := s.authenticate(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, refused
	}
	if writeMethods[info.FullMethod] {
		select {
		case s.writeSlots <- struct{}{}:
			defer func() { <-s.writeSlots }()
		default:
			s.metrics.noteShed()
			return nil, withInfo(codes.ResourceExhausted, candorv1.ErrorReason_ERROR_REASON_OVERLOADED,
				"the server is at its limit of writes in flight; retry with backoff", nil)
		}
		if reply, forwarded, err := s.forward(ctx, info.FullMethod, req); forwarded {
			return reply, err
		}
	}
	return handler(ctx, req)
}

// streamInterceptor authenticates Candor's streaming methods (WatchCall) as the unary one does. A
// stream is a read: it takes no write slot. Every stream, Candor's or not, receives through
// [refusingStream], which refuses what the codec could not parse.
func (s *Server) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if !strings.HasPrefix(info.FullMethod, "/candor.v1.") {
		return handler(srv, &refusingStream{ServerStream: ss, ctx: ss.Context(), codec: s.codec})
	}
	ctx, err := s.authenticate(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return handler(srv, &refusingStream{ServerStream: ss, ctx: ctx, codec: s.codec})
}

// authenticate returns ctx carrying the principal of the request's bearer token (or the anonymous
// principal, for the public audit methods on a public-audit server).
func (s *Server) authenticate(ctx context.Context, method string) (context.Context, error) {
	token := bearer(ctx)
	if token == "" && s.publicAudit && publicAuditMethods[method] {
		return context.WithValue(ctx, principalKey{}, service.Principal{}), nil
	}
	pr, err := s.svc.Authenticate(token)
	if err != nil {
		return nil, toStatus(s.log, method, err)
	}
	noteCaller(ctx, pr.Actor())
	return context.WithValue(ctx, principalKey{}, pr), nil
}

// bearer returns the token of an "authorization: Bearer <token>" header, or "".
func bearer(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		// The scheme is case-insensitive (RFC 6750 via RFC 7235).
		if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
			return strings.TrimSpace(v[7:])
		}
	}
	return ""
}
