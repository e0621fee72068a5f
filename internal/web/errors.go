package web

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/internal/domain"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// fieldLabels names request fields the way the forms label them, for field violations.
var fieldLabels = map[string]string{
	"title": "Title", "matter": "Matter", "options": "Options", "affected_parties": "Affected parties",
	"conflict_policy": "Conflict policy", "deadline": "Closes after", "quorum": "Quorum", "threshold": "Threshold",
	"eligible_participants": "Eligible participants", "eligibility_justification": "Justification",
	"description": "Description", "conflict_level": "Conflict level", "intent": "Recuse",
	"unchanged_soi_hash": "Statement of Interest version", "restatement": "Statement of Interest",
	"option": "Ballot", "position": "Position", "comment": "Comment", "reason": "Reason",
	"rationale": "Rationale", "level": "Consensus level", "objection_window_seconds": "Objection window",
	"text": "Statement", "cosigners": "Co-signers", "note": "Note", "employer": "Employer",
	"job_title": "Job title", "represents": "Represents", "stakeholder_groups": "Stakeholder groups",
	"interests": "Interests", "organization": "Organisation", "nature": "Nature of the interest",
	"other_interests": "Other interests", "display_name": "Display name", "email": "Email",
}

// sentence turns an error from an RPC into the one plain sentence shown beside the form, and the
// ErrorInfo reason (for tests and data attributes). The server's messages are already sentences
// meant for people; field violations add "Field: description". Errors the server did not explain
// (Internal, Unknown) and failures to reach it get a generic sentence: a cause is logged, not shown.
// Nothing a user typed is echoed, so a token pasted into a wrong field cannot come back.
func (s *Server) sentence(err error, action string) (msg, reason string) {
	st := status.Convert(err)
	var bad *errdetails.BadRequest
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if reason == "" {
				reason = d.GetReason()
			}
		case *errdetails.BadRequest:
			bad = d
		}
	}
	if domain.ParseReason(reason) == candorv1.ErrorReason_ERROR_REASON_OVERLOADED {
		return "The server is busy right now, and nothing was recorded. Please try again in a few seconds.", reason
	}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		s.log.Warn("web: server unreachable", "action", action, "code", st.Code().String())
		return "The Candor server could not be reached just now. Please try again in a moment.", reason
	case codes.Internal, codes.Unknown, codes.DataLoss, codes.Unimplemented:
		s.log.Error("web: server error", "action", action, "code", st.Code().String(), "reason", reason)
		return "Something went wrong on the server, and nothing was recorded. Please try again; if it keeps happening, tell the administrator.", reason
	}
	if fv := bad.GetFieldViolations(); len(fv) > 0 {
		parts := make([]string, 0, len(fv))
		for _, v := range fv {
			parts = append(parts, fieldLabel(v.GetField())+": "+strings.TrimSuffix(v.GetDescription(), "."))
		}
		return strings.Join(parts, "; ") + ".", reason
	}
	if domain.ParseReason(reason) == candorv1.ErrorReason_ERROR_REASON_REQUEST_ID_REUSED {
		return "This form was already sent with different answers. Reload the page and try again.", reason
	}
	m := strings.TrimSpace(st.Message())
	if m == "" {
		return "The server refused this without saying why.", reason
	}
	return capitalise(strings.TrimSuffix(m, ".")) + ".", reason
}

// fieldLabel names a request field path ("call.title", "updated_soi.interests[0].organization").
func fieldLabel(path string) string {
	last := path
	if i := strings.LastIndexByte(last, '.'); i >= 0 {
		last = last[i+1:]
	}
	if i := strings.IndexByte(last, '['); i >= 0 {
		last = last[:i]
	}
	if l, ok := fieldLabels[last]; ok {
		return l
	}
	return capitalise(strings.ReplaceAll(last, "_", " "))
}

// capitalise upper-cases the first letter.
func capitalise(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// reasonOf returns a status's ErrorInfo reason, or "".
func reasonOf(st *status.Status) string {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}
