package rpc

import (
	"context"
	"errors"
	"log/slog"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	berrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/protoadapt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/internal/domain"
	"github.com/candorhq/candor/internal/service"
	"github.com/candorhq/candor/internal/store"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// ErrorDomain is the ErrorInfo domain of every Candor error (AIP-193).
const ErrorDomain = "candor.dev"

// mapping is one sentinel error of the service, the store or the context, with its gRPC code and
// ErrorInfo reason. The domain's rules name their own reasons (domain.ReasonOf); ruleCodes gives each
// its code.
type mapping struct {
	err    error
	code   codes.Code
	reason candorv1.ErrorReason
}

// mappings are tried in order with errors.Is (etcd's togRPCError, without its exact-match map).
var mappings = []mapping{
	{service.ErrUnauthenticated, codes.Unauthenticated, candorv1.ErrorReason_ERROR_REASON_UNAUTHENTICATED},
	{service.ErrRequestIDReused, codes.InvalidArgument, candorv1.ErrorReason_ERROR_REASON_REQUEST_ID_REUSED},

	{store.ErrParticipantNotFound, codes.NotFound, candorv1.ErrorReason_ERROR_REASON_PARTICIPANT_NOT_FOUND},
	{store.ErrSOINotFound, codes.NotFound, candorv1.ErrorReason_ERROR_REASON_SOI_NOT_FOUND},
	{store.ErrBodyNotFound, codes.NotFound, candorv1.ErrorReason_ERROR_REASON_BODY_NOT_FOUND},
	{store.ErrCallNotFound, codes.NotFound, candorv1.ErrorReason_ERROR_REASON_CALL_NOT_FOUND},
	{store.ErrEntryNotFound, codes.NotFound, candorv1.ErrorReason_ERROR_REASON_ENTRY_NOT_FOUND},
	{store.ErrBadRange, codes.OutOfRange, candorv1.ErrorReason_ERROR_REASON_OUT_OF_RANGE},
	{store.ErrLogCorrupt, codes.DataLoss, candorv1.ErrorReason_ERROR_REASON_LOG_CORRUPT},
	{store.ErrClosed, codes.Unavailable, candorv1.ErrorReason_ERROR_REASON_SHUTTING_DOWN},
	{berrors.ErrDatabaseNotOpen, codes.Unavailable, candorv1.ErrorReason_ERROR_REASON_SHUTTING_DOWN},
	// On etcd: the cluster is out of reach, or the sequencer changed under a write. A retry with
	// the same request id is safe: it is answered from the log if the write did commit.
	{store.ErrUnavailable, codes.Unavailable, candorv1.ErrorReason_ERROR_REASON_UNAVAILABLE},
	{store.ErrNotSequencer, codes.Unavailable, candorv1.ErrorReason_ERROR_REASON_UNAVAILABLE},
	{store.ErrConflict, codes.Unavailable, candorv1.ErrorReason_ERROR_REASON_UNAVAILABLE},
	{store.ErrWriteTooLarge, codes.ResourceExhausted, candorv1.ErrorReason_ERROR_REASON_REQUEST_TOO_LARGE},
	{store.ErrBackupUnsupported, codes.FailedPrecondition, candorv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION},

	{context.Canceled, codes.Canceled, candorv1.ErrorReason_ERROR_REASON_CANCELLED},
	{context.DeadlineExceeded, codes.DeadlineExceeded, candorv1.ErrorReason_ERROR_REASON_DEADLINE_EXCEEDED},
}

// ruleCodes is the gRPC code of each reason a domain rule gives (domain.ReasonOf).
var ruleCodes = map[candorv1.ErrorReason]codes.Code{
	candorv1.ErrorReason_ERROR_REASON_ADMIN_REQUIRED:          codes.PermissionDenied,
	candorv1.ErrorReason_ERROR_REASON_PARTICIPANT_REQUIRED:    codes.PermissionDenied,
	candorv1.ErrorReason_ERROR_REASON_NOT_CHAIR:               codes.PermissionDenied,
	candorv1.ErrorReason_ERROR_REASON_NOT_MEMBER:              codes.PermissionDenied,
	candorv1.ErrorReason_ERROR_REASON_AUDITOR_REQUIRED:        codes.PermissionDenied,
	candorv1.ErrorReason_ERROR_REASON_NOT_ELIGIBLE:            codes.PermissionDenied,
	candorv1.ErrorReason_ERROR_REASON_PARTICIPANT_DEACTIVATED: codes.PermissionDenied,
	candorv1.ErrorReason_ERROR_REASON_MEMBER_REMOVED:          codes.PermissionDenied,
	candorv1.ErrorReason_ERROR_REASON_ALREADY_DEACTIVATED:     codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_MEMBER_NOT_FOUND:        codes.NotFound,

	candorv1.ErrorReason_ERROR_REASON_CALL_CLOSED:                   codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_SOI_REQUIRED:                  codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_SOI_PIN_NOT_CURRENT:           codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_DECLARATION_REQUIRED:          codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_DECLARATION_STALE:             codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_RECUSED:                       codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_DECLARATION_NOT_CLEARED:       codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_CLEARANCE_NOT_APPLICABLE:      codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_ELIGIBLE_NOT_MEMBER:           codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_NO_ELIGIBLE_PARTICIPANTS:      codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_DEADLINE_PASSED:               codes.InvalidArgument,
	candorv1.ErrorReason_ERROR_REASON_UNKNOWN_OPTION:                codes.InvalidArgument,
	candorv1.ErrorReason_ERROR_REASON_WRONG_CALL_KIND:               codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_JUSTIFICATION_REQUIRED:        codes.InvalidArgument,
	candorv1.ErrorReason_ERROR_REASON_DEADLINE_TOO_FAR:              codes.InvalidArgument,
	candorv1.ErrorReason_ERROR_REASON_SELF_CLEARANCE:                codes.PermissionDenied,
	candorv1.ErrorReason_ERROR_REASON_ALREADY_OBJECTED:              codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_COMMENT_REQUIRED:              codes.InvalidArgument,
	candorv1.ErrorReason_ERROR_REASON_DESCRIPTION_REQUIRED:          codes.InvalidArgument,
	candorv1.ErrorReason_ERROR_REASON_TOO_FEW_OPTIONS:               codes.InvalidArgument,
	candorv1.ErrorReason_ERROR_REASON_DUPLICATE_OPTION:              codes.InvalidArgument,
	candorv1.ErrorReason_ERROR_REASON_DUPLICATE_ELIGIBLE:            codes.InvalidArgument,
	candorv1.ErrorReason_ERROR_REASON_OBJECTION_WINDOW_OUT_OF_RANGE: codes.InvalidArgument,
	candorv1.ErrorReason_ERROR_REASON_DUPLICATE_COSIGNER:            codes.InvalidArgument,
	candorv1.ErrorReason_ERROR_REASON_TOO_MANY_STATEMENTS:           codes.FailedPrecondition,
	// Every other cap on what one member may add to a call (domain/limits.go). FailedPrecondition,
	// not ResourceExhausted: the cap does not lift with time, so a client must not retry.
	candorv1.ErrorReason_ERROR_REASON_LIMIT_REACHED:                codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_EXPLANATION_REQUIRED:         codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_CALL_STILL_OPEN:              codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_NO_PROPOSAL:                  codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_DESIGNATION_FINAL:            codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_DESIGNATION_NOT_FINAL:        codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_OBJECTION_WINDOW_CLOSED:      codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_OBJECTION_WINDOW_OPEN:        codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_POSITION_REQUIRED:            codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_COSIGNER_WITHOUT_POSITION:    codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_SELF_COSIGNER:                codes.InvalidArgument,
	candorv1.ErrorReason_ERROR_REASON_NOT_COSIGNER:                 codes.PermissionDenied,
	candorv1.ErrorReason_ERROR_REASON_ALREADY_SIGNED:               codes.FailedPrecondition,
	candorv1.ErrorReason_ERROR_REASON_MINORITY_STATEMENT_NOT_FOUND: codes.NotFound,
}

// fieldOf names the request field a domain rule is about, for the rules that are about one field:
// their refusal also carries a BadRequest field violation naming it, as the transport's own shape
// checks do, so a form can point at the field.
var fieldOf = map[candorv1.ErrorReason]string{
	candorv1.ErrorReason_ERROR_REASON_JUSTIFICATION_REQUIRED:        "call.eligibility_justification",
	candorv1.ErrorReason_ERROR_REASON_COMMENT_REQUIRED:              "comment",
	candorv1.ErrorReason_ERROR_REASON_DESCRIPTION_REQUIRED:          "description",
	candorv1.ErrorReason_ERROR_REASON_OBJECTION_WINDOW_OUT_OF_RANGE: "objection_window_seconds",
	candorv1.ErrorReason_ERROR_REASON_DUPLICATE_COSIGNER:            "cosigners",
	candorv1.ErrorReason_ERROR_REASON_TOO_FEW_OPTIONS:               "call.options",
	candorv1.ErrorReason_ERROR_REASON_DUPLICATE_OPTION:              "call.options",
	candorv1.ErrorReason_ERROR_REASON_DUPLICATE_ELIGIBLE:            "call.eligible_participants",
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
	if r := domain.ReasonOf(err); r != candorv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
		code, ok := ruleCodes[r]
		if !ok {
			code = codes.FailedPrecondition // TestEveryReasonHasACode keeps this from happening
		}
		var fv []*errdetails.BadRequest_FieldViolation
		if f := fieldOf[r]; f != "" {
			fv = []*errdetails.BadRequest_FieldViolation{{Field: f, Description: sentence(err)}}
		}
		return withInfo(code, r, sentence(err), fv)
	}
	for _, m := range mappings {
		if errors.Is(err, m.err) {
			return withInfo(m.code, m.reason, sentence(err), nil)
		}
	}
	if isDiskFull(err) {
		log.Error("write refused: disk full", "method", method, "err", err)
		return withInfo(codes.ResourceExhausted, candorv1.ErrorReason_ERROR_REASON_STORAGE_FULL, "the server's storage is full; writes resume when space is freed", nil)
	}
	log.Error("internal error", "method", method, "err", err)
	return withInfo(codes.Internal, candorv1.ErrorReason_ERROR_REASON_INTERNAL, "internal error", nil)
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

// withInfo builds a status with an ErrorInfo detail naming reason (as domain.Reason spells it), plus
// field violations when given.
func withInfo(code codes.Code, reason candorv1.ErrorReason, msg string, violations []*errdetails.BadRequest_FieldViolation) error {
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: domain.Reason(reason), Domain: ErrorDomain}}
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

// refusals counts refusals by their ErrorInfo reason: candor_refusals_total{reason="RECUSED"}. Every
// refusal is built by [withInfo] with a reason from the ErrorReason enum, so the label takes only
// the enum's values, each present (at zero) from the start. It counts what the client is sent, once
// per RPC, from the status an RPC ends with ([metrics.countUnary]): withInfo also builds statuses that
// are never sent (the codec's refusal of a request whose caller then fails authentication).
type refusals struct {
	vec     *prometheus.CounterVec
	byLabel map[string]prometheus.Counter // reason as sent -> its counter; read-only after newRefusals
}

func newRefusals() refusals {
	r := refusals{
		vec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "candor_refusals_total",
			Help: "RPCs refused, by the ErrorInfo reason sent (AIP-193), e.g. DECLARATION_REQUIRED, RECUSED, OVERLOADED.",
		}, []string{"reason"}),
		byLabel: map[string]prometheus.Counter{},
	}
	for v := range candorv1.ErrorReason_name {
		if reason := candorv1.ErrorReason(v); reason != candorv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
			r.byLabel[domain.Reason(reason)] = r.vec.WithLabelValues(domain.Reason(reason))
		}
	}
	return r
}

// count counts err if it is a status carrying one of Candor's ErrorInfo reasons.
func (r refusals) count(err error) {
	if reason, ok := errorReason(err); ok {
		if c := r.byLabel[reason]; c != nil {
			c.Inc()
		}
	}
}
