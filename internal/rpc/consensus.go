package rpc

import (
	"context"
	"fmt"

	"github.com/candorhq/candor/internal/resource"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// StatePosition implements candorv1.CallServiceServer.
func (s *Server) StatePosition(ctx context.Context, req *candorv1.StatePositionRequest) (*candorv1.StatePositionResponse, error) {
	var v violations
	body, call := v.call("call", req.Call)
	v.enum("position", int32(req.Position), candorv1.Position_name, false)
	v.text("comment", req.Comment, 0, maxText) // an opposition's comment is a rule: domain.CheckStatement
	rid := v.requestID("request_id", req.RequestId, req)
	if err := v.err(); err != nil {
		return nil, err
	}
	ps, rcpt, err := s.svc.StatePosition(ctx, principal(ctx), body, call, req.Position, req.Comment, rid)
	if err != nil {
		return nil, toStatus(s.log, "StatePosition", err)
	}
	return &candorv1.StatePositionResponse{PositionStatement: ps, Receipt: rcpt}, nil
}

// ProposeDesignation implements candorv1.CallServiceServer.
func (s *Server) ProposeDesignation(ctx context.Context, req *candorv1.ProposeDesignationRequest) (*candorv1.ProposeDesignationResponse, error) {
	var v violations
	body, call := v.call("call", req.Call)
	v.enum("level", int32(req.Level), candorv1.ConsensusLevel_name, false)
	v.text("rationale", req.Rationale, 1, maxText)
	// The window's bounds are a rule (domain.ObjectionWindow), checked where the auditor replays it.
	if err := v.err(); err != nil {
		return nil, err
	}
	c, rcpt, err := s.svc.ProposeDesignation(ctx, principal(ctx), body, call, req.Level, req.Rationale,
		req.ObjectionWindowSeconds)
	if err != nil {
		return nil, toStatus(s.log, "ProposeDesignation", err)
	}
	return &candorv1.ProposeDesignationResponse{Call: c, Receipt: rcpt}, nil
}

// ObjectToDesignation implements candorv1.CallServiceServer.
func (s *Server) ObjectToDesignation(ctx context.Context, req *candorv1.ObjectToDesignationRequest) (*candorv1.ObjectToDesignationResponse, error) {
	var v violations
	body, call := v.call("call", req.Call)
	v.text("reason", req.Reason, 1, maxText)
	if err := v.err(); err != nil {
		return nil, err
	}
	o, rcpt, err := s.svc.ObjectToDesignation(ctx, principal(ctx), body, call, req.Reason)
	if err != nil {
		return nil, toStatus(s.log, "ObjectToDesignation", err)
	}
	return &candorv1.ObjectToDesignationResponse{Objection: o, Receipt: rcpt}, nil
}

// FinalizeDesignation implements candorv1.CallServiceServer.
func (s *Server) FinalizeDesignation(ctx context.Context, req *candorv1.FinalizeDesignationRequest) (*candorv1.FinalizeDesignationResponse, error) {
	var v violations
	body, call := v.call("call", req.Call)
	if err := v.err(); err != nil {
		return nil, err
	}
	c, rcpt, err := s.svc.FinalizeDesignation(ctx, principal(ctx), body, call)
	if err != nil {
		return nil, toStatus(s.log, "FinalizeDesignation", err)
	}
	return &candorv1.FinalizeDesignationResponse{Call: c, Receipt: rcpt}, nil
}

// AppealDesignation implements candorv1.CallServiceServer.
func (s *Server) AppealDesignation(ctx context.Context, req *candorv1.AppealDesignationRequest) (*candorv1.AppealDesignationResponse, error) {
	var v violations
	body, call := v.call("call", req.Call)
	v.text("reason", req.Reason, 1, maxText)
	if err := v.err(); err != nil {
		return nil, err
	}
	a, rcpt, err := s.svc.AppealDesignation(ctx, principal(ctx), body, call, req.Reason)
	if err != nil {
		return nil, toStatus(s.log, "AppealDesignation", err)
	}
	return &candorv1.AppealDesignationResponse{Appeal: a, Receipt: rcpt}, nil
}

// FileMinorityStatement implements candorv1.CallServiceServer.
func (s *Server) FileMinorityStatement(ctx context.Context, req *candorv1.FileMinorityStatementRequest) (*candorv1.FileMinorityStatementResponse, error) {
	var v violations
	body, call := v.call("call", req.Call)
	v.text("text", req.Text, 1, maxStatement)
	if len(req.Cosigners) > maxCosigners {
		v.add("cosigners", "at most %d", maxCosigners)
	}
	// Each co-signer named once is a rule (domain.CheckMinorityStatement); here only their names' shape.
	for i, p := range req.Cosigners {
		v.participant(fmt.Sprintf("cosigners[%d]", i), p)
	}
	rid := v.requestID("request_id", req.RequestId, req)
	if err := v.err(); err != nil {
		return nil, err
	}
	ms, rcpt, err := s.svc.FileMinorityStatement(ctx, principal(ctx), body, call, req.Text, req.Cosigners, rid)
	if err != nil {
		return nil, toStatus(s.log, "FileMinorityStatement", err)
	}
	return &candorv1.FileMinorityStatementResponse{MinorityStatement: ms, Receipt: rcpt}, nil
}

// SignMinorityStatement implements candorv1.CallServiceServer.
func (s *Server) SignMinorityStatement(ctx context.Context, req *candorv1.SignMinorityStatementRequest) (*candorv1.SignMinorityStatementResponse, error) {
	var v violations
	body, call, statement, err := resource.ParseMinorityStatement(req.Name)
	if err != nil {
		v.add("name", "must be a minority statement name, bodies/{uuid}/calls/{uuid}/minorityStatements/{uuid}")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	ms, rcpt, err := s.svc.SignMinorityStatement(ctx, principal(ctx), body, call, statement)
	if err != nil {
		return nil, toStatus(s.log, "SignMinorityStatement", err)
	}
	return &candorv1.SignMinorityStatementResponse{MinorityStatement: ms, Receipt: rcpt}, nil
}

// GetReviewReport implements candorv1.AuditServiceServer.
func (s *Server) GetReviewReport(ctx context.Context, req *candorv1.GetReviewReportRequest) (*candorv1.GetReviewReportResponse, error) {
	var v violations
	body := v.body("body", req.Body)
	from, to := v.period("start_time", req.StartTime, "end_time", req.EndTime)
	if err := v.err(); err != nil {
		return nil, err
	}
	rep, err := s.svc.ReviewReport(ctx, principal(ctx), body, from, to)
	if err != nil {
		return nil, toStatus(s.log, "GetReviewReport", err)
	}
	return &candorv1.GetReviewReportResponse{Report: rep}, nil
}
