package rpc

import (
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/internal/service"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// ExportBody implements candorv1.AuditServiceServer.
func (s *Server) ExportBody(req *candorv1.ExportBodyRequest, stream candorv1.AuditService_ExportBodyServer) error {
	var v violations
	body := v.body("body", req.Body)
	from, to := v.period("start_time", req.StartTime, "end_time", req.EndTime)
	if err := v.err(); err != nil {
		return err
	}
	ctx := stream.Context()
	err := s.svc.ExportBody(ctx, principal(ctx), body, service.ExportRange{From: from, To: to}, stream.Send)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	return toStatus(s.log, "ExportBody", err)
}
