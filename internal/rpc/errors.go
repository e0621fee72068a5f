package rpc

import (
	"context"
	"errors"
	"log/slog"
	"syscall"

	berrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/protoadapt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/internal/domain"
	"github.com/candorhq/candor/internal/service"
	"github.com/candorhq/candor/internal/store"
)

// ErrorDomain is the ErrorInfo domain of every Candor error (AIP-193).
const ErrorDomain = "candor.dev"

// mapping is one sentinel error's gRPC code and ErrorInfo reason.
type mapping struct {
	err    error
	code   codes.Code
	reason string
}

// mappings are tried in order with errors.Is (etcd's togRPCError, without its exact-match map).
var mappings = []mapping{
	{service.ErrUnauthenticated, codes.Unauthenticated, "UNAUTHENTICATED"},
	{service.ErrRequestIDReused, codes.InvalidArgument, "REQUEST_ID_REUSED"},

	{domain.ErrAdminOnly, codes.PermissionDenied, "ADMIN_REQUIRED"},
	{domain.ErrParticipantOnly, codes.PermissionDenied, "PARTICIPANT_REQUIRED"},
	{domain.ErrChairOnly, codes.PermissionDenied, "NOT_CHAIR"},
	{domain.ErrMemberOnly, codes.PermissionDenied, "NOT_MEMBER"},
	{domain.ErrAuditorOnly, codes.PermissionDenied, "AUDITOR_REQUIRED"},
	{domain.ErrNotEligible, codes.PermissionDenied, "NOT_ELIGIBLE"},
	{domain.ErrDeactivated, codes.PermissionDenied, "PARTICIPANT_DEACTIVATED"},
	{domain.ErrMemberRemoved, codes.PermissionDenied, "MEMBER_REMOVED"},
	{domain.ErrAlreadyDeactivated, codes.FailedPrecondition, "ALREADY_DEACTIVATED"},
	{domain.ErrNotAMember, codes.NotFound, "MEMBER_NOT_FOUND"},

	{domain.ErrCallClosed, codes.FailedPrecondition, "CALL_CLOSED"},
	{domain.ErrSOIRequired, codes.FailedPrecondition, "SOI_REQUIRED"},
	{domain.ErrSOIPinNotCurrent, codes.FailedPrecondition, "SOI_PIN_NOT_CURRENT"},
	{domain.ErrDeclarationRequired, codes.FailedPrecondition, "DECLARATION_REQUIRED"},
	{domain.ErrDeclarationStale, codes.FailedPrecondition, "DECLARATION_STALE"},
	{domain.ErrRecused, codes.FailedPrecondition, "RECUSED"},
	{domain.ErrDeclarationNotClear, codes.FailedPrecondition, "DECLARATION_NOT_CLEARED"},
	{domain.ErrClearanceNotNeeded, codes.FailedPrecondition, "CLEARANCE_NOT_APPLICABLE"},
	{domain.ErrEligibleNotMember, codes.FailedPrecondition, "ELIGIBLE_NOT_MEMBER"},
	{domain.ErrNoMembers, codes.FailedPrecondition, "NO_ELIGIBLE_PARTICIPANTS"},
	{domain.ErrDeadlinePassed, codes.InvalidArgument, "DEADLINE_PASSED"},
	{domain.ErrUnknownOption, codes.InvalidArgument, "UNKNOWN_OPTION"},
	{domain.ErrWrongKind, codes.FailedPrecondition, "WRONG_CALL_KIND"},
	{domain.ErrJustificationRequired, codes.InvalidArgument, "JUSTIFICATION_REQUIRED"},
	{domain.ErrDeadlineTooFar, codes.InvalidArgument, "DEADLINE_TOO_FAR"},
	{domain.ErrSelfClearance, codes.PermissionDenied, "SELF_CLEARANCE"},
	{domain.ErrAlreadyObjected, codes.FailedPrecondition, "ALREADY_OBJECTED"},
	{domain.ErrCommentRequired, codes.InvalidArgument, "COMMENT_REQUIRED"},
	{domain.ErrTooManyStatements, codes.FailedPrecondition, "TOO_MANY_STATEMENTS"},
	// Every other cap on what one member may add to a call (domain/limits.go). FailedPrecondition,
	// not ResourceExhausted: the cap does not lift with time, so a client must not retry.
	{domain.ErrLimitReached, codes.FailedPrecondition, "LIMIT_REACHED"},
	{domain.ErrExplanationRequired, codes.FailedPrecondition, "EXPLANATION_REQUIRED"},
	{domain.ErrCallStillOpen, codes.FailedPrecondition, "CALL_STILL_OPEN"},
	{domain.ErrNoProposal, codes.FailedPrecondition, "NO_PROPOSAL"},
	{domain.ErrDesignationFinal, codes.FailedPrecondition, "DESIGNATION_FINAL"},
	{domain.ErrDesignationNotFinal, codes.FailedPrecondition, "DESIGNATION_NOT_FINAL"},
	{domain.ErrObjectionWindowClosed, codes.FailedPrecondition, "OBJECTION_WINDOW_CLOSED"},
	{domain.ErrObjectionWindowOpen, codes.FailedPrecondition, "OBJECTION_WINDOW_OPEN"},
	{domain.ErrPositionRequired, codes.FailedPrecondition, "POSITION_REQUIRED"},
	{domain.ErrCosignerWithoutPosition, codes.FailedPrecondition, "COSIGNER_WITHOUT_POSITION"},
	{domain.ErrSelfCosigner, codes.InvalidArgument, "SELF_COSIGNER"},
	{domain.ErrNotCosigner, codes.PermissionDenied, "NOT_COSIGNER"},
	{domain.ErrAlreadySigned, codes.FailedPrecondition, "ALREADY_SIGNED"},
	{domain.ErrStatementNotFound, codes.NotFound, "MINORITY_STATEMENT_NOT_FOUND"},

	{store.ErrParticipantNotFound, codes.NotFound, "PARTICIPANT_NOT_FOUND"},
	{store.ErrSOINotFound, codes.NotFound, "SOI_NOT_FOUND"},
	{store.ErrBodyNotFound, codes.NotFound, "BODY_NOT_FOUND"},
	{store.ErrCallNotFound, codes.NotFound, "CALL_NOT_FOUND"},
	{store.ErrEntryNotFound, codes.NotFound, "ENTRY_NOT_FOUND"},
	{store.ErrBadRange, codes.OutOfRange, "OUT_OF_RANGE"},
	{store.ErrLogCorrupt, codes.DataLoss, "LOG_CORRUPT"},
	{store.ErrClosed, codes.Unavailable, "SHUTTING_DOWN"},
	{berrors.ErrDatabaseNotOpen, codes.Unavailable, "SHUTTING_DOWN"},

	{context.Canceled, codes.Canceled, "CANCELLED"},
	{context.DeadlineExceeded, codes.DeadlineExceeded, "DEADLINE_EXCEEDED"},
}

// toStatus maps an error from the service to a gRPC status with an ErrorInfo reason. Errors it does
// not know become Internal with a generic message: the cause is logged, never sent.
func toStatus(log *slog.Logger, method string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err // already a status (validation, overload)
	}
	for _, m := range mappings {
		if errors.Is(err, m.err) {
			return withInfo(m.code, m.reason, sentence(err), nil)
		}
	}
	if isDiskFull(err) {
		log.Error("write refused: disk full", "method", method, "err", err)
		return withInfo(codes.ResourceExhausted, "STORAGE_FULL", "the server's storage is full; writes resume when space is freed", nil)
	}
	log.Error("internal error", "method", method, "err", err)
	return withInfo(codes.Internal, "INTERNAL", "internal error", nil)
}

// sentence strips the package prefix of a sentinel's message ("domain: call is closed").
func sentence(err error) string {
	msg := err.Error()
	for _, p := range []string{"domain: ", "store: ", "service: "} {
		if len(msg) > len(p) && msg[:len(p)] == p {
			return msg[len(p):]
		}
	}
	return msg
}

// withInfo builds a status with an ErrorInfo detail, plus field violations when given.
func withInfo(code codes.Code, reason, msg string, violations []*errdetails.BadRequest_FieldViolation) error {
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain}}
	if len(violations) > 0 {
		details = append(details, &errdetails.BadRequest{FieldViolations: violations})
	}
	st, err := status.New(code, msg).WithDetails(details...)
	if err != nil {
		return status.Error(code, msg)
	}
	return st.Err()
}

// isDiskFull reports whether a write failed for lack of space: the disk (ENOSPC) or bbolt's MaxSize.
func isDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, berrors.ErrMaxSizeReached)
}
