package rpc

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	"github.com/candorhq/candor/internal/rpc/utf8check"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// Requests that cannot be parsed.
//
// protobuf-go refuses a proto3 string field holding invalid UTF-8 while it parses, before any
// handler could validate it, and grpc-go turns every codec error into codes.Internal with no detail
// (rpc_util.go, recv). So a client's bad input would read as the server's fault, naming nothing.
//
// The fix keeps both libraries as they are. The server's codec ([refusingCodec], installed by
// [Server.ServerOptions] with grpc.ForceServerCodecV2) parses with grpc's own proto codec. When that
// fails it resets the message (nothing of the bad bytes is kept), walks the bytes against the
// message's descriptor to find the string field that is not UTF-8 ([utf8check.Wire]), notes the
// refusal against the message, and reports success to grpc. The interceptors, installed by the same
// ServerOptions, run for every method before any handler sees the message: they take the refusal
// back ([refusingCodec.take]) and answer InvalidArgument with ErrorInfo INVALID_ARGUMENT and a
// BadRequest violation naming the field, as validate.go does for every other bad field. Unary
// requests are checked in the unary interceptor; streamed ones (WatchCall) as the handler receives
// them, through the stream wrapper. Bytes that are not a protobuf message at all are refused the
// same way, with reason MALFORMED_REQUEST and no field.
//
// A noted refusal lives from the codec to the interceptor of the same call: a few microseconds, and
// it is always taken, because grpc runs the unary interceptor whenever decoding succeeds, and every
// stream receives through the wrapper.
//
// Clients that build requests in memory cannot send invalid UTF-8 at all (protobuf-go refuses to
// marshal it, again as an unnamed Internal error); [RefuseInvalidUTF8] and [RefuseInvalidUTF8Stream]
// refuse it on the client, before sending, with the same status. The HTTP side's in-process
// connection uses them, so REST and web requests are answered as gRPC ones are.
type refusingCodec struct {
	base encoding.CodecV2

	refused sync.Map // request message (a pointer) -> error to answer instead
}

func newRefusingCodec() *refusingCodec {
	return &refusingCodec{base: encoding.GetCodecV2(grpcproto.Name)}
}

// Name implements encoding.CodecV2: the content-subtype is proto's.
func (c *refusingCodec) Name() string { return grpcproto.Name }

// Marshal implements encoding.CodecV2.
func (c *refusingCodec) Marshal(v any) (mem.BufferSlice, error) { return c.base.Marshal(v) }

// Unmarshal implements encoding.CodecV2. See [refusingCodec].
func (c *refusingCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.base.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	m := messageOf(v)
	if m == nil {
		return err
	}
	proto.Reset(m)
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	refusal := withInfo(codes.InvalidArgument, candorv1.ErrorReason_ERROR_REASON_MALFORMED_REQUEST, "the request is not a valid protobuf message of its method's type", nil)
	if field := utf8check.Wire(buf.ReadOnlyData(), m.ProtoReflect().Descriptor()); field != "" {
		refusal = invalidUTF8(field)
	}
	c.refused.Store(v, refusal)
	return nil
}

// take returns, and forgets, the refusal noted for req by Unmarshal, or nil.
func (c *refusingCodec) take(req any) error {
	if err, ok := c.refused.LoadAndDelete(req); ok {
		return err.(error)
	}
	return nil
}

func messageOf(v any) proto.Message {
	switch v := v.(type) {
	case protoadapt.MessageV2:
		return v
	case protoadapt.MessageV1:
		return protoadapt.MessageV2Of(v)
	}
	return nil
}

// invalidUTF8 is the refusal of a string field that is not valid UTF-8.
func invalidUTF8(field string) error {
	var v violations
	v.add(field, "must be valid UTF-8")
	return v.err()
}

// refusingStream is a server stream whose received messages are checked for noted refusals; it also
// carries the authenticated context for Candor's methods.
type refusingStream struct {
	grpc.ServerStream
	ctx   context.Context
	codec *refusingCodec
}

func (s *refusingStream) Context() context.Context { return s.ctx }

func (s *refusingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.codec.take(m)
}

// RefuseInvalidUTF8 is a client interceptor that refuses, before sending, a request whose string
// field holds invalid UTF-8, with the InvalidArgument status the server would give (protobuf-go would
// otherwise fail to marshal it as an unnamed Internal error).
func RefuseInvalidUTF8(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if m := messageOf(req); m != nil {
		if field := utf8check.Message(m); field != "" {
			return invalidUTF8(field)
		}
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// RefuseInvalidUTF8Stream is [RefuseInvalidUTF8] for streams: each message is checked as it is sent,
// and a refused one cancels the stream, so nothing of it reaches the server.
func RefuseInvalidUTF8Stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		cancel()
		return nil, err
	}
	return &refusingClientStream{ClientStream: cs, cancel: cancel}, nil
}

type refusingClientStream struct {
	grpc.ClientStream
	cancel context.CancelFunc // ends the stream when a message is refused, or when it ends
}

func (s *refusingClientStream) SendMsg(m any) error {
	if pm := messageOf(m); pm != nil {
		if field := utf8check.Message(pm); field != "" {
			s.cancel()
			return invalidUTF8(field)
		}
	}
	return s.ClientStream.SendMsg(m)
}

func (s *refusingClientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.cancel()
	}
	return err
}
