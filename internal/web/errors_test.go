package web

import (
	"errors"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func withDetails(t *testing.T, code codes.Code, msg, reason string, fv ...*errdetails.BadRequest_FieldViolation) error {
	t.Helper()
	st := status.New(code, msg)
	st, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: "candor.dev"})
	if err != nil {
		t.Fatal(err)
	}
	if len(fv) > 0 {
		if st, err = st.WithDetails(&errdetails.BadRequest{FieldViolations: fv}); err != nil {
			t.Fatal(err)
		}
	}
	return st.Err()
}

// TestSentence checks the one sentence shown for each kind of refusal.
func TestSentence(t *testing.T) {
	s, err := New(Config{Conn: nilConn{}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		err        error
		want       string
		wantReason string
	}{
		{"the server's sentence", withDetails(t, codes.FailedPrecondition, "no current declaration for this call", "DECLARATION_REQUIRED"),
			"No current declaration for this call.", "DECLARATION_REQUIRED"},
		{"field violations", withDetails(t, codes.InvalidArgument, "call.title: is required (and 1 more)", "INVALID_ARGUMENT",
			&errdetails.BadRequest_FieldViolation{Field: "call.title", Description: "is required"},
			&errdetails.BadRequest_FieldViolation{Field: "updated_soi.interests[0].organization", Description: "must not be blank."}),
			"Title: is required; Organisation: must not be blank.", "INVALID_ARGUMENT"},
		{"an unknown field", withDetails(t, codes.InvalidArgument, "x", "INVALID_ARGUMENT",
			&errdetails.BadRequest_FieldViolation{Field: "page_token", Description: "is not valid"}),
			"Page token: is not valid.", "INVALID_ARGUMENT"},
		{"internal", withDetails(t, codes.Internal, "internal error: bolt page 7 corrupt", "INTERNAL"),
			"Something went wrong on the server, and nothing was recorded. Please try again; if it keeps happening, tell the administrator.", "INTERNAL"},
		{"not a status", errors.New("dial tcp: secret detail"),
			"Something went wrong on the server, and nothing was recorded. Please try again; if it keeps happening, tell the administrator.", ""},
		{"unreachable", status.Error(codes.Unavailable, "connection refused"),
			"The Candor server could not be reached just now. Please try again in a moment.", ""},
		{"overloaded", withDetails(t, codes.ResourceExhausted, "too many writes", "OVERLOADED"),
			"The server is busy right now, and nothing was recorded. Please try again in a few seconds.", "OVERLOADED"},
		{"empty message", status.Error(codes.PermissionDenied, ""), "The server refused this without saying why.", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := s.sentence(tc.err, "test")
			if got != tc.want || reason != tc.wantReason {
				t.Errorf("sentence = %q (%s), want %q (%s)", got, reason, tc.want, tc.wantReason)
			}
		})
	}
}
