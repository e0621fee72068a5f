package rpc

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/candorhq/candor/internal/service"
	"github.com/candorhq/candor/internal/store"
	"github.com/candorhq/candor/internal/translog"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

type benchNotary struct{ s *translog.Signer }

func (n benchNotary) Sign(size int64, root tlog.Hash) ([]byte, error) {
	return n.s.Sign(translog.Checkpoint{Origin: n.s.Origin(), Size: size, Hash: root})
}

func (n benchNotary) Open(signed []byte) (int64, tlog.Hash, error) {
	cp, err := translog.OpenCheckpoint(signed, n.s.VerifierKey())
	return cp.Size, cp.Hash, err
}

// BenchmarkRequestLogChain runs Candor's unary interceptor chain (authentication against a real
// bbolt file, the write bound) around a handler that does nothing, on a write method, with and
// without the request log in front. "info" logs every call as JSON to io.Discard; "warn" has the
// interceptor installed but its lines below the logger's level. The chain alone is a few
// microseconds, so this is the worst case for the ratio; BenchmarkRequestLog (logging_e2e_test.go)
// gives the ratio on the write path end to end.
func BenchmarkRequestLogChain(b *testing.B) {
	dir := b.TempDir()
	signer, err := translog.LoadOrCreateKey(dir, "candor.test/bench")
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, "candor.db"), benchNotary{signer}, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	svc := service.New(service.Config{Store: st})
	const token = "bench-admin-token"
	if err := svc.SetAdminToken(context.Background(), token); err != nil {
		b.Fatal(err)
	}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+token))
	info := &grpc.UnaryServerInfo{FullMethod: candorv1.CallService_CastBallot_FullMethodName}
	req := &candorv1.CastBallotRequest{Call: "bodies/x/calls/y", Option: "yes", RequestId: "0d9a4c52-7d4e-4a43-9a0e-8a7c7c2f1b11"}
	resp := &candorv1.CastBallotResponse{}
	handler := func(context.Context, any) (any, error) { return resp, nil }

	for _, bc := range []struct {
		name  string
		level slog.Level
		log   bool // the request log in the chain
	}{
		{"without", slog.LevelInfo, false},
		{"warn", slog.LevelWarn, true},
		{"info", slog.LevelInfo, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := New(svc, Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: bc.level}))})
			chain := func(ctx context.Context) (any, error) {
				return s.unaryInterceptor(ctx, req, info, handler)
			}
			if bc.log {
				chain = func(ctx context.Context) (any, error) {
					return s.logUnary(ctx, req, info, func(ctx context.Context, req any) (any, error) {
						return s.unaryInterceptor(ctx, req, info, handler)
					})
				}
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := chain(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
