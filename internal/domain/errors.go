package domain

import "errors"

// Refusals. Each names one rule; the transport maps each to a gRPC code and an ErrorInfo reason.
var (
	// Permission.
	ErrAdminOnly       = errors.New("domain: only an admin may do this")
	ErrParticipantOnly = errors.New("domain: only a participant may do this, not the admin")
	ErrChairOnly       = errors.New("domain: only a chair of the body may do this")
	ErrMemberOnly      = errors.New("domain: only members of the body, admins and auditors may see this")
	ErrAuditorOnly     = errors.New("domain: only auditors and admins may see this")
	ErrNotEligible     = errors.New("domain: participant is not eligible in this call")

	// Preconditions.
	ErrCallClosed          = errors.New("domain: call is closed")
	ErrSOIRequired         = errors.New("domain: participant has no statement of interest yet")
	ErrSOIPinNotCurrent    = errors.New("domain: pinned statement of interest is not the current version")
	ErrDeclarationRequired = errors.New("domain: no current declaration for this call")
	ErrDeclarationStale    = errors.New("domain: statement of interest changed after the declaration")
	ErrRecused             = errors.New("domain: participant is recused from this call")
	ErrDeclarationNotClear = errors.New("domain: the chair has not cleared the declared conflict")
	ErrClearanceNotNeeded  = errors.New("domain: the current declaration needs no clearance")
	ErrEligibleNotMember   = errors.New("domain: an eligible participant is not a member of the body")
	ErrUnknownOption       = errors.New("domain: not an option of this call")
	ErrNoMembers           = errors.New("domain: the call would have no eligible participants")
	ErrDeadlinePassed      = errors.New("domain: deadline is not in the future")
)

// Consensus calls and screening.
var (
	ErrWrongKind               = errors.New("domain: not possible in this kind of call")
	ErrJustificationRequired   = errors.New("domain: narrowing who may take part needs a written justification")
	ErrDeadlineTooFar          = errors.New("domain: deadline is more than 10 years ahead")
	ErrSelfClearance           = errors.New("domain: a chair cannot rule on their own declared conflict")
	ErrAlreadyObjected         = errors.New("domain: you have already objected to this proposal")
	ErrCommentRequired         = errors.New("domain: opposition needs a comment giving its reasons")
	ErrTooManyStatements       = limit("you have filed as many minority statements on this call as one author may (%d)", MaxStatementsPerAuthor)
	ErrExplanationRequired     = errors.New("domain: your statement of interest names an affected party: a declaration of no conflict must explain why")
	ErrCallStillOpen           = errors.New("domain: positions are still being stated: close the call first")
	ErrNoProposal              = errors.New("domain: the chair has proposed no designation yet")
	ErrDesignationFinal        = errors.New("domain: the designation is already final")
	ErrDesignationNotFinal     = errors.New("domain: the designation is not final yet")
	ErrObjectionWindowClosed   = errors.New("domain: the objection window for this proposal has closed")
	ErrObjectionWindowOpen     = errors.New("domain: members may still object to this proposal")
	ErrPositionRequired        = errors.New("domain: only participants who stated a position may file a minority statement")
	ErrCosignerWithoutPosition = errors.New("domain: every co-signer must have stated a position")
	ErrNotCosigner             = errors.New("domain: you are not a named co-signer of this statement")
	ErrAlreadySigned           = errors.New("domain: you have already signed this statement")
	ErrStatementNotFound       = errors.New("domain: no such minority statement in this call")
)

// Acceptance rules that were once checked only at the transport, so the auditor's replay could not
// see them. Each names the request field it is about in its sentence; the transport adds a field
// violation for it (see rpc's mapping).
var (
	ErrDescriptionRequired  = errors.New("domain: a POTENTIAL or ACTUAL conflict needs a description saying what it is")
	ErrObjectionWindowRange = errors.New("domain: the objection window must be between 0 (7 days) and 90 days")
	ErrDuplicateCosigner    = errors.New("domain: a minority statement names each co-signer once")
	ErrTooFewOptions        = errors.New("domain: a vote needs at least two options (or none, for yes/no/abstain)")
	ErrDuplicateOption      = errors.New("domain: a vote names each option once (options are compared ignoring case)")
	ErrDuplicateEligible    = errors.New("domain: a narrowed call names each eligible participant once")
)
