package rpc

import (
	"context"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// CreateBody implements candorv1.BodyServiceServer.
func (s *Server) CreateBody(ctx context.Context, req *candorv1.CreateBodyRequest) (*candorv1.CreateBodyResponse, error) {
	var v violations
	v.line("title", req.Title, 1, maxTitle)
	rid := v.requestID("request_id", req.RequestId, req)
	if err := v.err(); err != nil {
		return nil, err
	}
	b, rcpt, err := s.svc.CreateBody(ctx, principal(ctx), req.Title, rid)
	if err != nil {
		return nil, toStatus(s.log, "CreateBody", err)
	}
	return &candorv1.CreateBodyResponse{Body: b, Receipt: rcpt}, nil
}

// GetBody implements candorv1.BodyServiceServer.
func (s *Server) GetBody(ctx context.Context, req *candorv1.GetBodyRequest) (*candorv1.GetBodyResponse, error) {
	var v violations
	id := v.body("name", req.Name)
	if err := v.err(); err != nil {
		return nil, err
	}
	b, err := s.svc.GetBody(ctx, principal(ctx), id)
	if err != nil {
		return nil, toStatus(s.log, "GetBody", err)
	}
	return &candorv1.GetBodyResponse{Body: b}, nil
}

// ListBodies implements candorv1.BodyServiceServer.
func (s *Server) ListBodies(ctx context.Context, req *candorv1.ListBodiesRequest) (*candorv1.ListBodiesResponse, error) {
	var v violations
	limit := v.pageSize("page_size", req.PageSize)
	after := v.uuidToken("page_token", req.PageToken)
	if err := v.err(); err != nil {
		return nil, err
	}
	bs, err := s.svc.ListBodies(ctx, principal(ctx), after, limit+1)
	if err != nil {
		return nil, toStatus(s.log, "ListBodies", err)
	}
	bs, next := page(bs, limit, func(b *candorv1.Body) string { return nameToken(b.Name) })
	return &candorv1.ListBodiesResponse{Bodies: bs, NextPageToken: next}, nil
}

// AddMember implements candorv1.BodyServiceServer.
func (s *Server) AddMember(ctx context.Context, req *candorv1.AddMemberRequest) (*candorv1.AddMemberResponse, error) {
	var v violations
	body := v.body("body", req.Body)
	p := v.participant("participant", req.Participant)
	v.enum("role", int32(req.Role), candorv1.Role_name, false)
	v.line("stakeholder_group", req.StakeholderGroup, 0, maxGroup)
	if err := v.err(); err != nil {
		return nil, err
	}
	m, rcpt, err := s.svc.AddMember(ctx, principal(ctx), body, p, req.Role, req.StakeholderGroup)
	if err != nil {
		return nil, toStatus(s.log, "AddMember", err)
	}
	return &candorv1.AddMemberResponse{Membership: m, Receipt: rcpt}, nil
}

// ListMembers implements candorv1.BodyServiceServer.
func (s *Server) ListMembers(ctx context.Context, req *candorv1.ListMembersRequest) (*candorv1.ListMembersResponse, error) {
	var v violations
	body := v.body("body", req.Body)
	limit := v.pageSize("page_size", req.PageSize)
	after := v.uuidToken("page_token", req.PageToken)
	if err := v.err(); err != nil {
		return nil, err
	}
	ms, err := s.svc.ListMembers(ctx, principal(ctx), body, after, limit+1)
	if err != nil {
		return nil, toStatus(s.log, "ListMembers", err)
	}
	ms, next := page(ms, limit, func(m *candorv1.Membership) string { return nameToken(m.Participant) })
	return &candorv1.ListMembersResponse{Memberships: ms, NextPageToken: next}, nil
}

// RemoveMember implements candorv1.BodyServiceServer.
func (s *Server) RemoveMember(ctx context.Context, req *candorv1.RemoveMemberRequest) (*candorv1.RemoveMemberResponse, error) {
	var v violations
	body := v.body("body", req.Body)
	p := v.participant("participant", req.Participant)
	if err := v.err(); err != nil {
		return nil, err
	}
	m, rcpt, err := s.svc.RemoveMember(ctx, principal(ctx), body, p)
	if err != nil {
		return nil, toStatus(s.log, "RemoveMember", err)
	}
	return &candorv1.RemoveMemberResponse{Membership: m, Receipt: rcpt}, nil
}
