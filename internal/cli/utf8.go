package cli

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/candorhq/candor/internal/rpc/utf8check"
)

// refuseInvalidUTF8 stops a request whose text is not valid UTF-8 (an argument or a file in another
// encoding) before it is sent: the server would refuse it, and protobuf cannot even encode it. It is a
// usage error (exit 2) naming the flag or argument, or the request field when no flag set it.
func (a *app) refuseInvalidUTF8(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if err := a.checkUTF8(req); err != nil {
		return err
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// refuseInvalidUTF8Stream checks a stream's request (candor call watch) before the stream is opened:
// the check runs when the request is sent, and a refused request ends the stream unsent.
func (a *app) refuseInvalidUTF8Stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		cancel()
		return nil, err
	}
	return &utf8ClientStream{ClientStream: cs, a: a, cancel: cancel}, nil
}

type utf8ClientStream struct {
	grpc.ClientStream
	a      *app
	cancel context.CancelFunc // ends the stream when its request is refused, or when it ends
}

func (s *utf8ClientStream) SendMsg(m any) error {
	if err := s.a.checkUTF8(m); err != nil {
		s.cancel()
		return err
	}
	return s.ClientStream.SendMsg(m)
}

func (s *utf8ClientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.cancel()
	}
	return err
}

func (a *app) checkUTF8(req any) error {
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	field := utf8check.Message(m)
	if field == "" {
		return nil
	}
	if flag, ok := a.subject.flagFor(field); ok {
		return usageErrorf("%s is not valid UTF-8 text (request field %s); nothing was sent to the server", flag, field)
	}
	return usageErrorf("request field %s is not valid UTF-8 text; nothing was sent to the server", field)
}
