package rpc

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// Router names the replica that sequences the log, when candord runs as one of several replicas
// of an etcd-backed store. Writes go there; reads are answered wherever they arrive.
type Router interface {
	// Route returns nil when this replica sequences writes, or a connection to the one that does.
	// It fails while no replica sequences (an election is under way).
	Route() (*grpc.ClientConn, error)
}

// forwardedHeader marks a write one replica forwarded to another, which must answer it itself:
// a write is forwarded at most once, so a stale view of the sequencer cannot bounce it around.
const forwardedHeader = "candor-forwarded"

// forward sends a write to the sequencer with the caller's own metadata (its token, its request
// id travels in the request), and returns the sequencer's answer as if this replica had given it.
// ok is false when this replica must answer the write itself.
func (s *Server) forward(ctx context.Context, method string, req any) (reply any, ok bool, err error) {
	if s.router == nil {
		return nil, false, nil
	}
	in, _ := metadata.FromIncomingContext(ctx)
	conn, err := s.router.Route()
	switch {
	case err != nil:
		return nil, true, withInfo(codes.Unavailable, candorv1.ErrorReason_ERROR_REASON_UNAVAILABLE,
			"no replica sequences writes right now (an election is under way); retry shortly", nil)
	case conn == nil:
		return nil, false, nil
	case len(in.Get(forwardedHeader)) > 0:
		return nil, true, withInfo(codes.Unavailable, candorv1.ErrorReason_ERROR_REASON_UNAVAILABLE,
			"the sequencer moved while this write was forwarded; retry shortly", nil)
	}
	out := metadata.MD{forwardedHeader: []string{"1"}}
	for _, k := range []string{"authorization"} {
		if v := in.Get(k); len(v) > 0 {
			out.Set(k, v...)
		}
	}
	resp, err := newReply(method)
	if err != nil {
		return nil, true, err
	}
	if err := conn.Invoke(metadata.NewOutgoingContext(ctx, out), method, req, resp); err != nil {
		st := status.Convert(err)
		switch {
		case st.Code() == codes.Canceled && ctx.Err() == nil:
			// The hop broke, not the caller: the write may or may not have committed, and its
			// retry (same request id) is answered from the log either way.
			return nil, true, withInfo(codes.Unavailable, candorv1.ErrorReason_ERROR_REASON_UNAVAILABLE,
				"the connection to the sequencer broke; retry with the same request id", nil)
		case st.Code() == codes.Unavailable && len(st.Details()) == 0:
			// The sequencer did not answer at all (it died, and its lease has not run out yet):
			// say so, rather than pass on a transport error the caller would take for this
			// replica's.
			return nil, true, withInfo(codes.Unavailable, candorv1.ErrorReason_ERROR_REASON_UNAVAILABLE,
				"the replica that sequences writes cannot be reached; another takes over when its lease runs out: retry shortly", nil)
		}
		return nil, true, err // the sequencer's status, reason and all
	}
	return resp, true, nil
}

// newReply makes an empty response message for a Candor method, from the registered descriptors.
func newReply(method string) (proto.Message, error) {
	// "/candor.v1.CallService/CastBallot" -> "candor.v1.CallService.CastBallot"
	name := protoreflect.FullName(method[1:])
	for i := len(method) - 1; i > 0; i-- {
		if method[i] == '/' {
			name = protoreflect.FullName(method[1:i] + "." + method[i+1:])
			break
		}
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
	if err != nil {
		return nil, err
	}
	md, ok := d.(protoreflect.MethodDescriptor)
	if !ok {
		return nil, protoregistry.NotFound
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
	if err != nil {
		return nil, err
	}
	return mt.New().Interface(), nil
}
