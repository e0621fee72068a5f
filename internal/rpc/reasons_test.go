package rpc

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/internal/domain"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestEveryRuleReasonHasACode: every reason a domain rule gives maps to a gRPC code here.
func TestEveryRuleReasonHasACode(t *testing.T) {
	for _, r := range domain.RuleReasons() {
		if _, ok := ruleCodes[r]; !ok {
			t.Errorf("no gRPC code for %v", r)
		}
	}
}

// TestRefusalsNameTheEnum: a domain refusal reaches the wire as the enum's name without its prefix,
// and a rule about one field names the field.
func TestRefusalsNameTheEnum(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		err       error
		code      codes.Code
		reason    string
		wantField string
	}{
		{fmt.Errorf("service: %w", domain.ErrDeclarationRequired), codes.FailedPrecondition, "DECLARATION_REQUIRED", ""},
		{domain.ErrDescriptionRequired, codes.InvalidArgument, "DESCRIPTION_REQUIRED", "description"},
		{domain.ErrObjectionWindowRange, codes.InvalidArgument, "OBJECTION_WINDOW_OUT_OF_RANGE", "objection_window_seconds"},
		{domain.ErrDuplicateCosigner, codes.InvalidArgument, "DUPLICATE_COSIGNER", "cosigners"},
		{domain.ErrTooManyBallots, codes.FailedPrecondition, "LIMIT_REACHED", ""},
		{errors.New("disk on fire"), codes.Internal, "INTERNAL", ""},
	}
	for _, tt := range tests {
		st, _ := status.FromError(toStatus(log, "Test", tt.err))
		var reason, field string
		for _, d := range st.Details() {
			switch d := d.(type) {
			case *errdetails.ErrorInfo:
				reason = d.GetReason()
			case *errdetails.BadRequest:
				field = d.GetFieldViolations()[0].GetField()
			}
		}
		if st.Code() != tt.code || reason != tt.reason || field != tt.wantField {
			t.Errorf("toStatus(%v) = %v, %q, field %q; want %v, %q, field %q", tt.err, st.Code(), reason, field, tt.code, tt.reason, tt.wantField)
		}
	}
}

// TestEveryReasonIsGiven: no value of the enum is left that the server never sends (apart from
// those the REST gateway gives, in internal/daemon), so the enum stays the list of what clients meet.
func TestEveryReasonIsGiven(t *testing.T) {
	given := map[candorv1.ErrorReason]bool{
		// Given outside the tables: validation, the codec, shedding, a full disk, an unknown error.
		candorv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT:  true,
		candorv1.ErrorReason_ERROR_REASON_MALFORMED_REQUEST: true,
		candorv1.ErrorReason_ERROR_REASON_OVERLOADED:        true,
		candorv1.ErrorReason_ERROR_REASON_STORAGE_FULL:      true,
		candorv1.ErrorReason_ERROR_REASON_INTERNAL:          true,
		// The REST gateway's own (internal/daemon/http.go).
		candorv1.ErrorReason_ERROR_REASON_NO_SUCH_METHOD:      true,
		candorv1.ErrorReason_ERROR_REASON_REQUEST_TOO_LARGE:   true,
		candorv1.ErrorReason_ERROR_REASON_UNKNOWN:             true,
		candorv1.ErrorReason_ERROR_REASON_ALREADY_EXISTS:      true,
		candorv1.ErrorReason_ERROR_REASON_PERMISSION_DENIED:   true,
		candorv1.ErrorReason_ERROR_REASON_RESOURCE_EXHAUSTED:  true,
		candorv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION: true,
		candorv1.ErrorReason_ERROR_REASON_ABORTED:             true,
		candorv1.ErrorReason_ERROR_REASON_UNAVAILABLE:         true,
		candorv1.ErrorReason_ERROR_REASON_DATA_LOSS:           true,
	}
	for r := range ruleCodes {
		given[r] = true
	}
	for _, m := range mappings {
		given[m.reason] = true
	}
	for v := range candorv1.ErrorReason_name {
		r := candorv1.ErrorReason(v)
		if r != candorv1.ErrorReason_ERROR_REASON_UNSPECIFIED && !given[r] {
			t.Errorf("%v is in the enum but nothing gives it", r)
		}
	}
}
