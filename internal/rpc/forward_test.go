package rpc

import (
	"context"
	"errors"
	"net"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// routeTo is a Router that always names one sequencer, or fails.
type routeTo struct {
	conn *grpc.ClientConn
	err  error
}

func (r routeTo) Route() (*grpc.ClientConn, error) { return r.conn, r.err }

// TestForwardSaysWhyAWriteCannotGoThrough checks the answers a replica gives when it cannot hand a
// write to the sequencer: each is Unavailable with the UNAVAILABLE reason (so clients retry with the
// same request id) and a sentence about the sequencer, not about this replica.
func TestForwardSaysWhyAWriteCannotGoThrough(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := lis.Addr().String()
	lis.Close() // nothing listens there any more: a sequencer that died
	conn, err := grpc.NewClient(dead, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	incoming := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer x"))
	for _, tt := range []struct {
		name   string
		router Router
		ctx    context.Context
		want   string
	}{
		{"no sequencer elected", routeTo{err: errors.New("no sequencer")}, incoming, "no replica sequences writes right now"},
		{"the sequencer is unreachable", routeTo{conn: conn}, incoming, "the replica that sequences writes cannot be reached"},
		{"a write already forwarded once", routeTo{conn: conn},
			metadata.NewIncomingContext(context.Background(), metadata.Pairs(forwardedHeader, "1")), "the sequencer moved"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{router: tt.router}
			_, forwarded, err := s.forward(tt.ctx, candorv1.BodyService_CreateBody_FullMethodName, &candorv1.CreateBodyRequest{Title: "x"})
			if !forwarded {
				t.Fatal("the write was not forwarded")
			}
			st := status.Convert(err)
			if st.Code() != codes.Unavailable {
				t.Fatalf("code %v (%s), want Unavailable", st.Code(), st.Message())
			}
			var reason string
			for _, d := range st.Details() {
				if info, ok := d.(*errdetails.ErrorInfo); ok {
					reason = info.Reason
				}
			}
			if reason != "UNAVAILABLE" {
				t.Errorf("reason %q, want UNAVAILABLE", reason)
			}
			if got := st.Message(); len(got) < len(tt.want) || got[:len(tt.want)] != tt.want {
				t.Errorf("message %q, want it to begin %q", got, tt.want)
			}
		})
	}
	t.Run("this replica sequences", func(t *testing.T) {
		s := &Server{router: routeTo{}}
		if _, forwarded, err := s.forward(incoming, candorv1.BodyService_CreateBody_FullMethodName, &candorv1.CreateBodyRequest{}); forwarded || err != nil {
			t.Errorf("forwarded %v, %v; want the write answered here", forwarded, err)
		}
	})
}
