package rpc

import (
	"context"
	"crypto/sha256"
	"errors"

	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc/status"

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

// backupChunk is the most file data one StreamBackup message carries, well under gRPC's 4 MiB
// default receive limit.
const backupChunk = 1 << 20

// StreamBackup implements candorv1.AuditServiceServer.
func (s *Server) StreamBackup(req *candorv1.StreamBackupRequest, stream candorv1.AuditService_StreamBackupServer) error {
	ctx := stream.Context()
	sum := sha256.New()
	var total int64 // the copy's length, announced in the first message
	first := true
	cw := &chunkWriter{buf: make([]byte, 0, backupChunk), send: func(b []byte) error {
		sum.Write(b)
		msg := &candorv1.StreamBackupResponse{Data: b}
		if first {
			msg.SizeBytes, first = total, false
		}
		return stream.Send(msg)
	}}
	snap, err := s.svc.Backup(ctx, principal(ctx), cw, func(n int64) { total = n })
	if err == nil {
		err = cw.flush()
	}
	if err != nil {
		if ctx.Err() != nil {
			return status.FromContextError(ctx.Err()).Err()
		}
		return toStatus(s.log, "StreamBackup", err)
	}
	return stream.Send(&candorv1.StreamBackupResponse{SizeBytes: snap.Size, Sha256: sum.Sum(nil), Checkpoint: snap.Checkpoint.Signed})
}

// chunkWriter gathers writes into chunks of cap(buf) bytes and hands each full chunk to send.
type chunkWriter struct {
	buf  []byte
	send func([]byte) error
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := copy(c.buf[len(c.buf):cap(c.buf)], p)
		c.buf, p = c.buf[:len(c.buf)+k], p[k:]
		if len(c.buf) == cap(c.buf) {
			if err := c.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// flush sends what is gathered. gRPC does not promise that a sent message is no longer read (stats
// handlers may read it later), so each chunk gets a fresh buffer.
func (c *chunkWriter) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	err := c.send(c.buf)
	c.buf = make([]byte, 0, cap(c.buf))
	return err
}
