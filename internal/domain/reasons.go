package domain

import (
	"errors"
	"strings"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// reasonPrefix is what every value of [candorv1.ErrorReason] starts with and the wire does not carry
// (buf's STANDARD lint wants the enum's name as its values' prefix).
const reasonPrefix = "ERROR_REASON_"

// Reason is the ErrorInfo reason of r as it is sent: its name without the ERROR_REASON_ prefix
// ("DECLARATION_REQUIRED"). It is the one place the wire's spelling is derived from the enum.
func Reason(r candorv1.ErrorReason) string {
	return strings.TrimPrefix(r.String(), reasonPrefix)
}

// ParseReason is the inverse of [Reason]: the enum value of a reason as sent, or
// ERROR_REASON_UNSPECIFIED for a reason this build does not know (a newer server's).
func ParseReason(s string) candorv1.ErrorReason {
	if s == "" || strings.HasPrefix(s, reasonPrefix) {
		return candorv1.ErrorReason_ERROR_REASON_UNSPECIFIED
	}
	return candorv1.ErrorReason(candorv1.ErrorReason_value[reasonPrefix+s])
}

// ruleReasons names the reason of every refusal by a rule of this package, tried in order with
// errors.Is: the specific caps come before [ErrLimitReached], which every cap also is.
var ruleReasons = []struct {
	err    error
	reason candorv1.ErrorReason
}{
	{ErrAdminOnly, candorv1.ErrorReason_ERROR_REASON_ADMIN_REQUIRED},
	{ErrParticipantOnly, candorv1.ErrorReason_ERROR_REASON_PARTICIPANT_REQUIRED},
	{ErrChairOnly, candorv1.ErrorReason_ERROR_REASON_NOT_CHAIR},
	{ErrMemberOnly, candorv1.ErrorReason_ERROR_REASON_NOT_MEMBER},
	{ErrAuditorOnly, candorv1.ErrorReason_ERROR_REASON_AUDITOR_REQUIRED},
	{ErrNotEligible, candorv1.ErrorReason_ERROR_REASON_NOT_ELIGIBLE},
	{ErrDeactivated, candorv1.ErrorReason_ERROR_REASON_PARTICIPANT_DEACTIVATED},
	{ErrMemberRemoved, candorv1.ErrorReason_ERROR_REASON_MEMBER_REMOVED},
	{ErrAlreadyDeactivated, candorv1.ErrorReason_ERROR_REASON_ALREADY_DEACTIVATED},
	{ErrNotAMember, candorv1.ErrorReason_ERROR_REASON_MEMBER_NOT_FOUND},

	{ErrCallClosed, candorv1.ErrorReason_ERROR_REASON_CALL_CLOSED},
	{ErrSOIRequired, candorv1.ErrorReason_ERROR_REASON_SOI_REQUIRED},
	{ErrSOIPinNotCurrent, candorv1.ErrorReason_ERROR_REASON_SOI_PIN_NOT_CURRENT},
	{ErrDeclarationRequired, candorv1.ErrorReason_ERROR_REASON_DECLARATION_REQUIRED},
	{ErrDeclarationStale, candorv1.ErrorReason_ERROR_REASON_DECLARATION_STALE},
	{ErrRecused, candorv1.ErrorReason_ERROR_REASON_RECUSED},
	{ErrDeclarationNotClear, candorv1.ErrorReason_ERROR_REASON_DECLARATION_NOT_CLEARED},
	{ErrClearanceNotNeeded, candorv1.ErrorReason_ERROR_REASON_CLEARANCE_NOT_APPLICABLE},
	{ErrEligibleNotMember, candorv1.ErrorReason_ERROR_REASON_ELIGIBLE_NOT_MEMBER},
	{ErrNoMembers, candorv1.ErrorReason_ERROR_REASON_NO_ELIGIBLE_PARTICIPANTS},
	{ErrDeadlinePassed, candorv1.ErrorReason_ERROR_REASON_DEADLINE_PASSED},
	{ErrUnknownOption, candorv1.ErrorReason_ERROR_REASON_UNKNOWN_OPTION},
	{ErrWrongKind, candorv1.ErrorReason_ERROR_REASON_WRONG_CALL_KIND},
	{ErrJustificationRequired, candorv1.ErrorReason_ERROR_REASON_JUSTIFICATION_REQUIRED},
	{ErrDeadlineTooFar, candorv1.ErrorReason_ERROR_REASON_DEADLINE_TOO_FAR},
	{ErrSelfClearance, candorv1.ErrorReason_ERROR_REASON_SELF_CLEARANCE},
	{ErrAlreadyObjected, candorv1.ErrorReason_ERROR_REASON_ALREADY_OBJECTED},
	{ErrCommentRequired, candorv1.ErrorReason_ERROR_REASON_COMMENT_REQUIRED},
	{ErrDescriptionRequired, candorv1.ErrorReason_ERROR_REASON_DESCRIPTION_REQUIRED},
	{ErrTooFewOptions, candorv1.ErrorReason_ERROR_REASON_TOO_FEW_OPTIONS},
	{ErrDuplicateOption, candorv1.ErrorReason_ERROR_REASON_DUPLICATE_OPTION},
	{ErrDuplicateEligible, candorv1.ErrorReason_ERROR_REASON_DUPLICATE_ELIGIBLE},
	{ErrObjectionWindowRange, candorv1.ErrorReason_ERROR_REASON_OBJECTION_WINDOW_OUT_OF_RANGE},
	{ErrDuplicateCosigner, candorv1.ErrorReason_ERROR_REASON_DUPLICATE_COSIGNER},
	{ErrTooManyStatements, candorv1.ErrorReason_ERROR_REASON_TOO_MANY_STATEMENTS},
	// Every other cap on what one member may add to a call (limits.go).
	{ErrLimitReached, candorv1.ErrorReason_ERROR_REASON_LIMIT_REACHED},
	{ErrExplanationRequired, candorv1.ErrorReason_ERROR_REASON_EXPLANATION_REQUIRED},
	{ErrCallStillOpen, candorv1.ErrorReason_ERROR_REASON_CALL_STILL_OPEN},
	{ErrNoProposal, candorv1.ErrorReason_ERROR_REASON_NO_PROPOSAL},
	{ErrDesignationFinal, candorv1.ErrorReason_ERROR_REASON_DESIGNATION_FINAL},
	{ErrDesignationNotFinal, candorv1.ErrorReason_ERROR_REASON_DESIGNATION_NOT_FINAL},
	{ErrObjectionWindowClosed, candorv1.ErrorReason_ERROR_REASON_OBJECTION_WINDOW_CLOSED},
	{ErrObjectionWindowOpen, candorv1.ErrorReason_ERROR_REASON_OBJECTION_WINDOW_OPEN},
	{ErrPositionRequired, candorv1.ErrorReason_ERROR_REASON_POSITION_REQUIRED},
	{ErrCosignerWithoutPosition, candorv1.ErrorReason_ERROR_REASON_COSIGNER_WITHOUT_POSITION},
	{ErrSelfCosigner, candorv1.ErrorReason_ERROR_REASON_SELF_COSIGNER},
	{ErrNotCosigner, candorv1.ErrorReason_ERROR_REASON_NOT_COSIGNER},
	{ErrAlreadySigned, candorv1.ErrorReason_ERROR_REASON_ALREADY_SIGNED},
	{ErrStatementNotFound, candorv1.ErrorReason_ERROR_REASON_MINORITY_STATEMENT_NOT_FOUND},
}

// ReasonOf names the rule of this package that refused err: the reason the server sends for it and
// the auditor's replay reports. It is ERROR_REASON_UNSPECIFIED when no rule of this package refused err.
func ReasonOf(err error) candorv1.ErrorReason {
	for _, r := range ruleReasons {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return candorv1.ErrorReason_ERROR_REASON_UNSPECIFIED
}

// RuleReasons lists the reasons [ReasonOf] can return, in its order: for the transport's tests,
// which check that each has a gRPC code.
func RuleReasons() []candorv1.ErrorReason {
	out := make([]candorv1.ErrorReason, len(ruleReasons))
	for i, r := range ruleReasons {
		out[i] = r.reason
	}
	return out
}
