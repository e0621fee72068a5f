package rpc

import (
	"context"
	"strings"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// CreateParticipant implements candorv1.ParticipantServiceServer.
func (s *Server) CreateParticipant(ctx context.Context, req *candorv1.CreateParticipantRequest) (*candorv1.CreateParticipantResponse, error) {
	var v violations
	v.line("display_name", req.DisplayName, 1, maxTitle)
	v.line("email", req.Email, 0, maxEmail)
	if req.Email != "" && !strings.Contains(req.Email, "@") {
		v.add("email", "must be an email address")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	p, token, rcpt, err := s.svc.CreateParticipant(ctx, principal(ctx), req.DisplayName, req.Email)
	if err != nil {
		return nil, toStatus(s.log, "CreateParticipant", err)
	}
	return &candorv1.CreateParticipantResponse{Participant: p, Token: token, Receipt: rcpt}, nil
}

// GetParticipant implements candorv1.ParticipantServiceServer.
func (s *Server) GetParticipant(ctx context.Context, req *candorv1.GetParticipantRequest) (*candorv1.GetParticipantResponse, error) {
	var v violations
	id := v.optionalParticipant("name", req.Name)
	if err := v.err(); err != nil {
		return nil, err
	}
	p, err := s.svc.GetParticipant(ctx, principal(ctx), id)
	if err != nil {
		return nil, toStatus(s.log, "GetParticipant", err)
	}
	return &candorv1.GetParticipantResponse{Participant: p}, nil
}

// ListParticipants implements candorv1.ParticipantServiceServer.
func (s *Server) ListParticipants(ctx context.Context, req *candorv1.ListParticipantsRequest) (*candorv1.ListParticipantsResponse, error) {
	var v violations
	limit := v.pageSize("page_size", req.PageSize)
	after := v.uuidToken("page_token", req.PageToken)
	if err := v.err(); err != nil {
		return nil, err
	}
	ps, err := s.svc.ListParticipants(ctx, principal(ctx), after, limit+1)
	if err != nil {
		return nil, toStatus(s.log, "ListParticipants", err)
	}
	ps, next := page(ps, limit, func(p *candorv1.Participant) string { return nameToken(p.Name) })
	return &candorv1.ListParticipantsResponse{Participants: ps, NextPageToken: next}, nil
}

// GrantAuditor implements candorv1.ParticipantServiceServer.
func (s *Server) GrantAuditor(ctx context.Context, req *candorv1.GrantAuditorRequest) (*candorv1.GrantAuditorResponse, error) {
	var v violations
	id := v.participant("name", req.Name)
	if err := v.err(); err != nil {
		return nil, err
	}
	p, rcpt, err := s.svc.GrantAuditor(ctx, principal(ctx), id)
	if err != nil {
		return nil, toStatus(s.log, "GrantAuditor", err)
	}
	return &candorv1.GrantAuditorResponse{Participant: p, Receipt: rcpt}, nil
}

// GetStatementOfInterest implements candorv1.ParticipantServiceServer.
func (s *Server) GetStatementOfInterest(ctx context.Context, req *candorv1.GetStatementOfInterestRequest) (*candorv1.GetStatementOfInterestResponse, error) {
	var v violations
	id := v.optionalParticipant("participant", req.Participant)
	if req.Version < 0 {
		v.add("version", "must not be negative")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	soi, err := s.svc.GetSOI(ctx, principal(ctx), id, req.Version)
	if err != nil {
		return nil, toStatus(s.log, "GetStatementOfInterest", err)
	}
	return &candorv1.GetStatementOfInterestResponse{StatementOfInterest: soi}, nil
}

// ListStatementOfInterestVersions implements candorv1.ParticipantServiceServer.
func (s *Server) ListStatementOfInterestVersions(ctx context.Context, req *candorv1.ListStatementOfInterestVersionsRequest) (*candorv1.ListStatementOfInterestVersionsResponse, error) {
	var v violations
	id := v.optionalParticipant("participant", req.Participant)
	limit := v.pageSize("page_size", req.PageSize)
	after := v.indexToken("page_token", req.PageToken)
	if err := v.err(); err != nil {
		return nil, err
	}
	sois, err := s.svc.ListSOIs(ctx, principal(ctx), id, after, limit+1)
	if err != nil {
		return nil, toStatus(s.log, "ListStatementOfInterestVersions", err)
	}
	sois, next := page(sois, limit, func(s *candorv1.StatementOfInterest) string { return encodeIndexToken(s.Version) })
	return &candorv1.ListStatementOfInterestVersionsResponse{StatementsOfInterest: sois, NextPageToken: next}, nil
}

// UpdateStatementOfInterest implements candorv1.ParticipantServiceServer.
func (s *Server) UpdateStatementOfInterest(ctx context.Context, req *candorv1.UpdateStatementOfInterestRequest) (*candorv1.UpdateStatementOfInterestResponse, error) {
	var v violations
	v.soi("statement_of_interest", req.StatementOfInterest)
	rid := v.requestID("request_id", req.RequestId, req)
	if err := v.err(); err != nil {
		return nil, err
	}
	soi, rcpt, err := s.svc.UpdateSOI(ctx, principal(ctx), req.StatementOfInterest, rid)
	if err != nil {
		return nil, toStatus(s.log, "UpdateStatementOfInterest", err)
	}
	return &candorv1.UpdateStatementOfInterestResponse{StatementOfInterest: soi, Receipt: rcpt}, nil
}

// RotateToken implements candorv1.ParticipantServiceServer.
func (s *Server) RotateToken(ctx context.Context, req *candorv1.RotateTokenRequest) (*candorv1.RotateTokenResponse, error) {
	p, token, rcpt, err := s.svc.RotateToken(ctx, principal(ctx))
	if err != nil {
		return nil, toStatus(s.log, "RotateToken", err)
	}
	return &candorv1.RotateTokenResponse{Participant: p, Token: token, Receipt: rcpt}, nil
}

// ReissueToken implements candorv1.ParticipantServiceServer.
func (s *Server) ReissueToken(ctx context.Context, req *candorv1.ReissueTokenRequest) (*candorv1.ReissueTokenResponse, error) {
	var v violations
	id := v.participant("name", req.Name)
	if err := v.err(); err != nil {
		return nil, err
	}
	p, token, rcpt, err := s.svc.ReissueToken(ctx, principal(ctx), id)
	if err != nil {
		return nil, toStatus(s.log, "ReissueToken", err)
	}
	return &candorv1.ReissueTokenResponse{Participant: p, Token: token, Receipt: rcpt}, nil
}

// DeactivateParticipant implements candorv1.ParticipantServiceServer.
func (s *Server) DeactivateParticipant(ctx context.Context, req *candorv1.DeactivateParticipantRequest) (*candorv1.DeactivateParticipantResponse, error) {
	var v violations
	id := v.participant("name", req.Name)
	if err := v.err(); err != nil {
		return nil, err
	}
	p, rcpt, err := s.svc.DeactivateParticipant(ctx, principal(ctx), id)
	if err != nil {
		return nil, toStatus(s.log, "DeactivateParticipant", err)
	}
	return &candorv1.DeactivateParticipantResponse{Participant: p, Receipt: rcpt}, nil
}
