package rpc

import (
	"context"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// Largest pages of a call's sub-collections: each page stays well under grpc's 4 MiB default
// message limit at the worst case of its items (UTF-8 at four bytes a character). A larger
// page_size is read as the largest page (AIP-158).
const (
	maxObjectionsPage = 100 // a reason of 4000 characters: about 16 KB each, 1.6 MB a page
	maxAppealsPage    = 100 // the same
	maxStatementsPage = 20  // 20000 characters and 100 co-signers named twice: about 91 KB each, 1.8 MB a page
)

// listPage checks a list request's call, page size and token and returns what the handler needs.
func (s *Server) listPage(ctx context.Context, method, call string, size int32, token string, largest int) (*candorv1.ConsensusRecord, int, int, error) {
	var v violations
	body, id := v.call("call", call)
	limit := v.pageSize("page_size", size)
	offset := v.offsetToken("page_token", token)
	if err := v.err(); err != nil {
		return nil, 0, 0, err
	}
	if size == 0 || limit > largest {
		limit = largest
	}
	cr, err := s.svc.ConsensusRecord(ctx, principal(ctx), body, id)
	if err != nil {
		return nil, 0, 0, toStatus(s.log, method, err)
	}
	return cr, offset, limit, nil
}

// ListObjections implements candorv1.CallServiceServer.
func (s *Server) ListObjections(ctx context.Context, req *candorv1.ListObjectionsRequest) (*candorv1.ListObjectionsResponse, error) {
	cr, offset, limit, err := s.listPage(ctx, "ListObjections", req.Call, req.PageSize, req.PageToken, maxObjectionsPage)
	if err != nil {
		return nil, err
	}
	items, next := pageAt(cr.GetObjections(), offset, limit)
	return &candorv1.ListObjectionsResponse{Objections: items, NextPageToken: next}, nil
}

// ListAppeals implements candorv1.CallServiceServer.
func (s *Server) ListAppeals(ctx context.Context, req *candorv1.ListAppealsRequest) (*candorv1.ListAppealsResponse, error) {
	cr, offset, limit, err := s.listPage(ctx, "ListAppeals", req.Call, req.PageSize, req.PageToken, maxAppealsPage)
	if err != nil {
		return nil, err
	}
	items, next := pageAt(cr.GetAppeals(), offset, limit)
	return &candorv1.ListAppealsResponse{Appeals: items, NextPageToken: next}, nil
}

// ListMinorityStatements implements candorv1.CallServiceServer.
func (s *Server) ListMinorityStatements(ctx context.Context, req *candorv1.ListMinorityStatementsRequest) (*candorv1.ListMinorityStatementsResponse, error) {
	cr, offset, limit, err := s.listPage(ctx, "ListMinorityStatements", req.Call, req.PageSize, req.PageToken, maxStatementsPage)
	if err != nil {
		return nil, err
	}
	items, next := pageAt(cr.GetMinorityStatements(), offset, limit)
	return &candorv1.ListMinorityStatementsResponse{MinorityStatements: items, NextPageToken: next}, nil
}
