package rpc

import (
	"context"
	"errors"

	"golang.org/x/mod/sumdb/tlog"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// GetCheckpoint implements candorv1.AuditServiceServer.
func (s *Server) GetCheckpoint(ctx context.Context, req *candorv1.GetCheckpointRequest) (*candorv1.GetCheckpointResponse, error) {
	cp, err := s.svc.Checkpoint(ctx, principal(ctx))
	if err != nil {
		return nil, toStatus(s.log, "GetCheckpoint", err)
	}
	return &candorv1.GetCheckpointResponse{Checkpoint: cp.Signed}, nil
}

// ListEntries implements candorv1.AuditServiceServer.
func (s *Server) ListEntries(ctx context.Context, req *candorv1.ListEntriesRequest) (*candorv1.ListEntriesResponse, error) {
	var v violations
	if req.StartIndex < 0 {
		v.add("start_index", "must not be negative")
	}
	n := int(req.MaxEntries)
	switch {
	case n < 0:
		v.add("max_entries", "must not be negative")
	case n == 0 || n > maxEntries:
		n = maxEntries // the server's cap: a larger ask gets a full page, not an error
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	resp := &candorv1.ListEntriesResponse{}
	bytes := 0
	err := s.svc.Entries(ctx, principal(ctx), req.StartIndex, n, func(index int64, data []byte) error {
		// Cap the page by size too, well under gRPC's 4 MiB default receive limit; at least one
		// entry is always returned so a reader makes progress.
		if bytes += len(data); bytes > maxEntriesBytes && len(resp.Entries) > 0 {
			return errPageFull
		}
		resp.Entries = append(resp.Entries, &candorv1.Entry{Index: index, Data: data})
		return nil
	})
	if errors.Is(err, errPageFull) {
		err = nil
	}
	if err != nil {
		return nil, toStatus(s.log, "ListEntries", err)
	}
	return resp, nil
}

// GetInclusionProof implements candorv1.AuditServiceServer.
func (s *Server) GetInclusionProof(ctx context.Context, req *candorv1.GetInclusionProofRequest) (*candorv1.GetInclusionProofResponse, error) {
	var v violations
	if req.Index < 0 {
		v.add("index", "must not be negative")
	}
	if req.TreeSize < 0 {
		v.add("tree_size", "must not be negative")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	proof, size, err := s.svc.InclusionProof(ctx, principal(ctx), req.Index, req.TreeSize)
	if err != nil {
		return nil, toStatus(s.log, "GetInclusionProof", err)
	}
	return &candorv1.GetInclusionProofResponse{Hashes: hashBytes(proof), TreeSize: size}, nil
}

// GetConsistencyProof implements candorv1.AuditServiceServer.
func (s *Server) GetConsistencyProof(ctx context.Context, req *candorv1.GetConsistencyProofRequest) (*candorv1.GetConsistencyProofResponse, error) {
	var v violations
	if req.FirstSize < 0 {
		v.add("first_size", "must not be negative")
	}
	if req.SecondSize < 0 {
		v.add("second_size", "must not be negative")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	proof, size, err := s.svc.ConsistencyProof(ctx, principal(ctx), req.FirstSize, req.SecondSize)
	if err != nil {
		return nil, toStatus(s.log, "GetConsistencyProof", err)
	}
	return &candorv1.GetConsistencyProofResponse{Hashes: hashBytes(proof), SecondSize: size}, nil
}

// ListDeclarationHistory implements candorv1.AuditServiceServer.
func (s *Server) ListDeclarationHistory(ctx context.Context, req *candorv1.ListDeclarationHistoryRequest) (*candorv1.ListDeclarationHistoryResponse, error) {
	var v violations
	p := v.participant("participant", req.Participant)
	limit := v.pageSize("page_size", req.PageSize)
	after := v.indexToken("page_token", req.PageToken)
	if err := v.err(); err != nil {
		return nil, err
	}
	hs, last, err := s.svc.DeclarationHistory(ctx, principal(ctx), p, after, limit)
	if err != nil {
		return nil, toStatus(s.log, "ListDeclarationHistory", err)
	}
	next := ""
	if last >= 0 {
		next = encodeIndexToken(last)
	}
	return &candorv1.ListDeclarationHistoryResponse{Entries: hs, NextPageToken: next}, nil
}

// ListCallRecord implements candorv1.AuditServiceServer.
func (s *Server) ListCallRecord(ctx context.Context, req *candorv1.ListCallRecordRequest) (*candorv1.ListCallRecordResponse, error) {
	var v violations
	body, call := v.call("call", req.Call)
	limit := v.pageSize("page_size", req.PageSize)
	after := v.indexToken("page_token", req.PageToken)
	if err := v.err(); err != nil {
		return nil, err
	}
	es, err := s.svc.CallRecord(ctx, principal(ctx), body, call, after, limit+1)
	if err != nil {
		return nil, toStatus(s.log, "ListCallRecord", err)
	}
	es, next := page(es, limit, func(e *candorv1.RecordEntry) string { return encodeIndexToken(e.LogIndex) })
	return &candorv1.ListCallRecordResponse{Entries: es, NextPageToken: next}, nil
}

// maxEntriesBytes caps a ListEntries page's entry bytes.
const maxEntriesBytes = 2 << 20

var errPageFull = errors.New("rpc: page full")

func hashBytes(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = append([]byte(nil), hs[i][:]...)
	}
	return out
}
