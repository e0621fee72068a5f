package rpc

import (
	"context"

	"google.golang.org/protobuf/proto"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"

	"github.com/candorhq/candor/internal/service"
)

// OpenCall implements candorv1.CallServiceServer.
func (s *Server) OpenCall(ctx context.Context, req *candorv1.OpenCallRequest) (*candorv1.OpenCallResponse, error) {
	var v violations
	body := v.body("body", req.Body)
	v.newCall(req.Call)
	rid := v.requestID("request_id", req.RequestId, req)
	if err := v.err(); err != nil {
		return nil, err
	}
	c, rcpt, err := s.svc.OpenCall(ctx, principal(ctx), body, req.Call, rid)
	if err != nil {
		return nil, toStatus(s.log, "OpenCall", err)
	}
	return &candorv1.OpenCallResponse{Call: c, Receipt: rcpt}, nil
}

// GetCall implements candorv1.CallServiceServer.
func (s *Server) GetCall(ctx context.Context, req *candorv1.GetCallRequest) (*candorv1.GetCallResponse, error) {
	var v violations
	body, call := v.call("name", req.Name)
	if err := v.err(); err != nil {
		return nil, err
	}
	c, err := s.svc.GetCall(ctx, principal(ctx), body, call)
	if err != nil {
		return nil, toStatus(s.log, "GetCall", err)
	}
	return &candorv1.GetCallResponse{Call: c}, nil
}

// ListCalls implements candorv1.CallServiceServer. A page ends at page_size calls or before the
// call that would take it past s.pageBytes, whichever comes first, and holds at least one call.
func (s *Server) ListCalls(ctx context.Context, req *candorv1.ListCallsRequest) (*candorv1.ListCallsResponse, error) {
	var v violations
	body := v.body("body", req.Body)
	limit := v.pageSize("page_size", req.PageSize)
	after := v.uuidToken("page_token", req.PageToken)
	if err := v.err(); err != nil {
		return nil, err
	}
	cs, err := s.svc.ListCalls(ctx, principal(ctx), body, after, limit+1)
	if err != nil {
		return nil, toStatus(s.log, "ListCalls", err)
	}
	if n := fitting(cs, s.pageBytes); n < limit {
		limit = n
	}
	cs, next := page(cs, limit, func(c *candorv1.Call) string { return nameToken(c.Name) })
	return &candorv1.ListCallsResponse{Calls: cs, NextPageToken: next}, nil
}

// fitting returns how many of the first items fit in budget encoded bytes as a repeated field of
// an answer: at least one when there is one.
func fitting[T proto.Message](items []T, budget int) int {
	size := 0
	for i, m := range items {
		size += service.ItemSize(m)
		if i > 0 && size > budget {
			return i
		}
	}
	return len(items)
}

// CloseCall implements candorv1.CallServiceServer.
func (s *Server) CloseCall(ctx context.Context, req *candorv1.CloseCallRequest) (*candorv1.CloseCallResponse, error) {
	var v violations
	body, call := v.call("name", req.Name)
	if err := v.err(); err != nil {
		return nil, err
	}
	c, rcpt, err := s.svc.CloseCall(ctx, principal(ctx), body, call)
	if err != nil {
		return nil, toStatus(s.log, "CloseCall", err)
	}
	return &candorv1.CloseCallResponse{Call: c, Receipt: rcpt}, nil
}

// GetCallRoster implements candorv1.CallServiceServer. page_size 0 bounds a page by s.pageBytes
// alone, so that a client that never pages reads the whole roster of a realistic body.
func (s *Server) GetCallRoster(ctx context.Context, req *candorv1.GetCallRosterRequest) (*candorv1.GetCallRosterResponse, error) {
	var v violations
	body, call := v.call("name", req.Name)
	limit := v.pageSize("page_size", req.PageSize)
	from := v.rosterToken("page_token", call, req.PageToken)
	if err := v.err(); err != nil {
		return nil, err
	}
	if req.PageSize == 0 {
		limit = 0
	}
	p, err := s.svc.Roster(ctx, principal(ctx), body, call, from, service.PageLimit{Count: limit, Bytes: s.pageBytes})
	if err != nil {
		return nil, toStatus(s.log, "GetCallRoster", err)
	}
	return &candorv1.GetCallRosterResponse{
		Entries: p.Entries, NextPageToken: rosterNext(call, p), TotalSize: int32(p.Total),
	}, nil
}

// WatchCall implements candorv1.CallServiceServer. Each state holds the call and as much of the
// roster as fits in s.pageBytes with it; the rest is read with GetCallRoster.
func (s *Server) WatchCall(req *candorv1.WatchCallRequest, stream candorv1.CallService_WatchCallServer) error {
	var v violations
	body, call := v.call("name", req.Name)
	if err := v.err(); err != nil {
		return err
	}
	ctx := stream.Context()
	err := s.svc.WatchCall(ctx, principal(ctx), body, call, s.pageBytes, func(c *candorv1.Call, p service.RosterPage) error {
		return stream.Send(&candorv1.WatchCallResponse{
			Call: c, Roster: p.Entries, RosterNextPageToken: rosterNext(call, p), RosterTotalSize: int32(p.Total),
		})
	})
	if ctx.Err() != nil {
		return nil // the watcher went away: nothing to report to anyone
	}
	return toStatus(s.log, "WatchCall", err)
}

// FileDeclaration implements candorv1.CallServiceServer.
func (s *Server) FileDeclaration(ctx context.Context, req *candorv1.FileDeclarationRequest) (*candorv1.FileDeclarationResponse, error) {
	var v violations
	body, call := v.call("call", req.Call)
	var in service.DeclarationInput
	switch r := req.Restatement.(type) {
	case *candorv1.FileDeclarationRequest_UnchangedSoiHash:
		if len(r.UnchangedSoiHash) != maxSOIHashSize {
			v.add("unchanged_soi_hash", "must be the 32-byte content hash of your current statement of interest")
		}
		in.Restatement.UnchangedHash = r.UnchangedSoiHash
	case *candorv1.FileDeclarationRequest_UpdatedSoi:
		v.soi("updated_soi", r.UpdatedSoi)
		in.Restatement.Updated = r.UpdatedSoi
	default:
		v.add("restatement", "is required: restate your statement of interest, unchanged (unchanged_soi_hash) or updated (updated_soi)")
	}
	v.enum("conflict_level", int32(req.ConflictLevel), candorv1.ConflictLevel_name, false)
	v.enum("intent", int32(req.Intent), candorv1.Intent_name, true)
	v.text("description", req.Description, 0, maxText) // required for a conflict: domain.CheckConflictDescription
	rid := v.requestID("request_id", req.RequestId, req)
	if err := v.err(); err != nil {
		return nil, err
	}
	in.Level, in.Description, in.Intent = req.ConflictLevel, req.Description, req.Intent
	d, rcpt, err := s.svc.FileDeclaration(ctx, principal(ctx), body, call, in, rid)
	if err != nil {
		return nil, toStatus(s.log, "FileDeclaration", err)
	}
	return &candorv1.FileDeclarationResponse{Declaration: d, Receipt: rcpt}, nil
}

// ClearDeclaration implements candorv1.CallServiceServer.
func (s *Server) ClearDeclaration(ctx context.Context, req *candorv1.ClearDeclarationRequest) (*candorv1.ClearDeclarationResponse, error) {
	var v violations
	body, call := v.call("call", req.Call)
	p := v.participant("participant", req.Participant)
	v.enum("decision", int32(req.Decision), candorv1.ClearanceDecision_name, false)
	v.text("note", req.Note, 0, maxText)
	if err := v.err(); err != nil {
		return nil, err
	}
	cl, rcpt, err := s.svc.ClearDeclaration(ctx, principal(ctx), body, call, p, req.Decision, req.Note)
	if err != nil {
		return nil, toStatus(s.log, "ClearDeclaration", err)
	}
	return &candorv1.ClearDeclarationResponse{Clearance: cl, Receipt: rcpt}, nil
}

// CastBallot implements candorv1.CallServiceServer.
func (s *Server) CastBallot(ctx context.Context, req *candorv1.CastBallotRequest) (*candorv1.CastBallotResponse, error) {
	var v violations
	body, call := v.call("call", req.Call)
	v.line("option", req.Option, 1, maxGroup)
	rid := v.requestID("request_id", req.RequestId, req)
	if err := v.err(); err != nil {
		return nil, err
	}
	b, rcpt, err := s.svc.CastBallot(ctx, principal(ctx), body, call, req.Option, rid)
	if err != nil {
		return nil, toStatus(s.log, "CastBallot", err)
	}
	return &candorv1.CastBallotResponse{Ballot: b, Receipt: rcpt}, nil
}
