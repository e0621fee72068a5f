package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/internal/domain"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// describe turns an error from a command into the one sentence printed on stderr and the exit code.
func (a *app) describe(err error, cmd *cobra.Command) (string, int) {
	path := "candor"
	if cmd != nil {
		path = cmd.CommandPath()
	}
	var ue *usageError
	if errors.As(err, &ue) || !a.started {
		// Errors before a command starts come from cobra's parsing: unknown commands and flags.
		return fmt.Sprintf("candor: %s; see %q", sentence(err.Error()), path+" --help"), ExitUsage
	}
	var f *failure
	if errors.As(err, &f) {
		return "candor: " + sentence(f.msg), ExitFailure
	}
	var nr *errRecordedNoReceipt
	if errors.As(err, &nr) {
		return "candor: " + sentence(nr.Error()), ExitFailure
	}
	if st, ok := status.FromError(err); ok {
		return describeStatus(st, errContext{addr: a.opts.addr, timeout: a.opts.timeout.String(), tokenGiven: a.opts.token != "", subject: a.subject})
	}
	if errors.Is(err, context.Canceled) {
		return "candor: interrupted", ExitFailure
	}
	return "candor: " + sentence(err.Error()), ExitFailure
}

// errContext is what describeStatus needs to know about the command that failed.
type errContext struct {
	addr       string
	timeout    string
	tokenGiven bool
	subject    subject
	// message is the server's own sentence, for the hints that pass it on.
	message string
}

// describeStatus maps a gRPC status to a sentence and an exit code. The sentence names the ErrorInfo
// reason (or, without one, the code in UPPER_SNAKE_CASE), then gives a hint for the common reasons and
// the server's own message otherwise.
func describeStatus(st *status.Status, ec errContext) (string, int) {
	var info *errdetails.ErrorInfo
	var bad *errdetails.BadRequest
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if info == nil {
				info = d
			}
		case *errdetails.BadRequest:
			if bad == nil {
				bad = d
			}
		}
	}
	code := st.Code()
	msg := sentence(st.Message())

	// Failures of the connection itself carry no ErrorInfo: the server never answered.
	if info == nil {
		switch code {
		case codes.Unavailable:
			s := fmt.Sprintf("candor: the server at %s could not be reached", ec.addr)
			if d := transportCause(st.Message()); d != "" {
				s += " (" + d + ")"
			}
			if strings.Contains(st.Message(), "preface") {
				s += "; if the server uses TLS, pass --ca"
			} else {
				s += "; check --addr (or " + envAddr + ") and that candord is running"
			}
			return s, ExitFailure
		case codes.DeadlineExceeded:
			return fmt.Sprintf("candor: the server at %s did not answer within %s (raise --timeout if it is busy)", ec.addr, ec.timeout), ExitFailure
		case codes.Canceled:
			return "candor: interrupted", ExitFailure
		}
	}

	reason := upperSnake(code.String())
	if info != nil && info.GetReason() != "" {
		reason = info.GetReason()
	}
	var meta map[string]string
	if info != nil {
		meta = info.GetMetadata()
	}

	detail := ""
	if fv := bad.GetFieldViolations(); len(fv) > 0 {
		parts := make([]string, 0, len(fv))
		for _, v := range fv {
			field := v.GetField()
			if flag, ok := ec.subject.flagFor(field); ok {
				field += " (" + flag + ")"
			}
			parts = append(parts, field+": "+sentence(v.GetDescription()))
		}
		detail = strings.Join(parts, "; ")
	}
	if h, ok := hints[domain.ParseReason(reason)]; ok && detail == "" {
		ec.message = msg
		detail = h(ec, meta)
	}
	if detail == "" && code == codes.Unauthenticated {
		if ec.tokenGiven {
			detail = "the server did not accept the token"
		} else {
			detail = "no token was given; pass --token or --token-file, or set " + envToken
		}
	}
	if detail == "" {
		detail = msg
	}
	if detail == "" {
		detail = "the server gave no message"
	}
	exit := ExitFailure
	if code == codes.InvalidArgument {
		exit = ExitUsage
	}
	return fmt.Sprintf("candor: %s (%s): %s", codePhrase(code), reason, detail), exit
}

// reasonOf returns the ErrorInfo reason of a status, or "".
func reasonOf(st *status.Status) string {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// codePhrase is the opening of the sentence for a status code.
func codePhrase(c codes.Code) string {
	switch c {
	case codes.FailedPrecondition, codes.PermissionDenied, codes.Aborted, codes.OutOfRange, codes.ResourceExhausted:
		return "refused"
	case codes.Unauthenticated:
		return "not authenticated"
	case codes.InvalidArgument:
		return "invalid request"
	case codes.NotFound:
		return "not found"
	case codes.AlreadyExists:
		return "already exists"
	case codes.Unimplemented:
		return "not supported by the server"
	case codes.Unavailable:
		return "server unavailable"
	case codes.Internal, codes.Unknown, codes.DataLoss:
		return "server error"
	default:
		return "failed"
	}
}

// hints are friendlier explanations for the reasons a participant or chair meets most. Each returns ""
// to fall back to the server's message.
var hints = map[candorv1.ErrorReason]func(ec errContext, meta map[string]string) string{
	candorv1.ErrorReason_ERROR_REASON_DECLARATION_REQUIRED: func(ec errContext, meta map[string]string) string {
		if p := ec.subject.participant; p != "" {
			// A chair ruling on someone else's declaration.
			return fmt.Sprintf("%s has no current declaration in this call to rule on", p)
		}
		return fmt.Sprintf("you have no current declaration for this call; run %q first", "candor declare "+ec.call(meta)+" --conflict none|potential|actual")
	},
	candorv1.ErrorReason_ERROR_REASON_DECLARATION_STALE: func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("your Statement of Interest changed after you declared; declare again with %q", "candor declare "+ec.call(meta)+" --conflict none|potential|actual")
	},
	candorv1.ErrorReason_ERROR_REASON_RECUSED: func(ec errContext, meta map[string]string) string {
		return "you are recused from this call (by your declaration, its conflict policy or the chair), so you cannot vote in it"
	},
	candorv1.ErrorReason_ERROR_REASON_DECLARATION_NOT_CLEARED: func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("this call's REVIEW policy needs the chair to clear your declaration before you vote; ask the chair to run %q", "candor call clear "+ec.call(meta)+" PARTICIPANT")
	},
	candorv1.ErrorReason_ERROR_REASON_SOI_REQUIRED: func(ec errContext, meta map[string]string) string {
		if p := ec.subject.participant; p != "" {
			return p + " has not filed a Statement of Interest yet"
		}
		return `you have no Statement of Interest yet; file one with "candor soi set" first`
	},
	candorv1.ErrorReason_ERROR_REASON_SOI_PIN_NOT_CURRENT: func(ec errContext, meta map[string]string) string {
		return "your Statement of Interest changed while you were declaring; run the command again to restate the current version"
	},
	candorv1.ErrorReason_ERROR_REASON_NOT_CHAIR: func(ec errContext, meta map[string]string) string {
		return "only a chair of the body can do that"
	},
	candorv1.ErrorReason_ERROR_REASON_CALL_CLOSED: func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("the call %s is closed and accepts nothing more", ec.call(meta))
	},
	candorv1.ErrorReason_ERROR_REASON_NOT_ELIGIBLE: func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("you are not eligible in this call (see %q)", "candor call show "+ec.call(meta))
	},
	candorv1.ErrorReason_ERROR_REASON_CALL_NOT_FOUND: func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("there is no call named %s", ec.call(meta))
	},
	candorv1.ErrorReason_ERROR_REASON_BODY_NOT_FOUND: func(ec errContext, meta map[string]string) string {
		if b := ec.subject.body; b != "" {
			return fmt.Sprintf("there is no body named %s (see %q)", b, "candor body list")
		}
		return ""
	},
	candorv1.ErrorReason_ERROR_REASON_PARTICIPANT_NOT_FOUND: func(ec errContext, meta map[string]string) string {
		if p := ec.subject.participant; p != "" {
			return fmt.Sprintf("there is no participant named %s (see %q)", p, "candor participant list")
		}
		return ""
	},
	candorv1.ErrorReason_ERROR_REASON_UNKNOWN_OPTION: func(ec errContext, meta map[string]string) string {
		if o := ec.subject.option; o != "" {
			return fmt.Sprintf("%q is not one of this call's options (see %q)", o, "candor call show "+ec.call(meta))
		}
		return ""
	},
	candorv1.ErrorReason_ERROR_REASON_NOT_MEMBER: func(ec errContext, meta map[string]string) string {
		return "you are not a member of this body"
	},
	candorv1.ErrorReason_ERROR_REASON_ADMIN_REQUIRED: func(ec errContext, meta map[string]string) string {
		return "only the admin can do that; use the admin token, e.g. --token-file DATA/admin.token on the server's machine"
	},
	candorv1.ErrorReason_ERROR_REASON_PARTICIPANT_REQUIRED: func(ec errContext, meta map[string]string) string {
		return "only a participant, acting as themselves, can do that; use the participant's own token, not the admin token"
	},
	candorv1.ErrorReason_ERROR_REASON_AUDITOR_REQUIRED: func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("only auditors and the admin can read the whole log (see docs/permissions.md); the admin grants the role with %q", "candor auditor grant PARTICIPANT")
	},
	candorv1.ErrorReason_ERROR_REASON_NO_ELIGIBLE_PARTICIPANTS: func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("the body has no members who could vote; add them first with %q", "candor body add-member BODY PARTICIPANT --role member")
	},
	candorv1.ErrorReason_ERROR_REASON_WRONG_CALL_KIND: func(ec errContext, meta map[string]string) string {
		switch ec.subject.action {
		case "vote":
			return fmt.Sprintf("this is a consensus call, which takes positions, not ballots; run %q", "candor position "+ec.call(meta)+" support|support-with-concerns|oppose|abstain")
		case "position":
			return fmt.Sprintf("this call is a vote, which takes ballots, not positions; run %q", "candor vote "+ec.call(meta)+" OPTION")
		case "designation", "minority":
			return "this call is a vote; designations, objections, appeals and minority statements belong to consensus calls"
		}
		return "not possible in this kind of call (vote or consensus)"
	},
	candorv1.ErrorReason_ERROR_REASON_EXPLANATION_REQUIRED: func(ec errContext, meta map[string]string) string {
		return "your Statement of Interest names a party this call affects, so a declaration of no conflict must say why: add --description, or declare --conflict potential or actual"
	},
	candorv1.ErrorReason_ERROR_REASON_CALL_STILL_OPEN: func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("positions are still being stated; the chair designates consensus after closing the call with %q", "candor call close "+ec.call(meta))
	},
	candorv1.ErrorReason_ERROR_REASON_NO_PROPOSAL: func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("the chair has not proposed a designation yet; the chair proposes one with %q", "candor call propose "+ec.call(meta)+" --designation LEVEL --rationale R")
	},
	candorv1.ErrorReason_ERROR_REASON_DESIGNATION_FINAL: func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("the designation is already final; a member who disagrees can appeal with %q", "candor call appeal "+ec.call(meta)+" --reason R")
	},
	candorv1.ErrorReason_ERROR_REASON_DESIGNATION_NOT_FINAL: func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("the designation is not final yet, so there is nothing to appeal; while its window is open, object with %q", "candor call object "+ec.call(meta)+" --reason R")
	},
	candorv1.ErrorReason_ERROR_REASON_OBJECTION_WINDOW_CLOSED: func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("the objection window for the current proposal has closed (see %q)", "candor call show "+ec.call(meta))
	},
	candorv1.ErrorReason_ERROR_REASON_OBJECTION_WINDOW_OPEN: func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("members may still object to the current proposal; finalise after its objection deadline (see %q)", "candor call show "+ec.call(meta))
	},
	candorv1.ErrorReason_ERROR_REASON_POSITION_REQUIRED: func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("only participants who stated a position in this call may file a minority statement; state yours first with %q", "candor position "+ec.call(meta)+" POSITION")
	},
	candorv1.ErrorReason_ERROR_REASON_COSIGNER_WITHOUT_POSITION: func(ec errContext, meta map[string]string) string {
		return "every --cosigner must have stated a position in this call; name only those who have"
	},
	candorv1.ErrorReason_ERROR_REASON_SELF_COSIGNER: func(ec errContext, meta map[string]string) string {
		return "you wrote this minority statement, so you cannot also be its --cosigner; name only other members who stand behind it"
	},
	candorv1.ErrorReason_ERROR_REASON_NOT_COSIGNER: func(ec errContext, meta map[string]string) string {
		return "you are not named as a co-signer of this minority statement"
	},
	candorv1.ErrorReason_ERROR_REASON_ALREADY_SIGNED: func(ec errContext, meta map[string]string) string {
		return "you have already signed this minority statement; your signature is on the record"
	},
	candorv1.ErrorReason_ERROR_REASON_MINORITY_STATEMENT_NOT_FOUND: func(ec errContext, meta map[string]string) string {
		if s := ec.subject.statement; s != "" {
			return fmt.Sprintf("there is no minority statement named %s (see %q)", s, "candor call show "+ec.call(meta))
		}
		return ""
	},
	candorv1.ErrorReason_ERROR_REASON_DEADLINE_TOO_FAR: func(ec errContext, meta map[string]string) string {
		return "a call's deadline may be at most 10 years ahead; give a shorter --closes-in"
	},
	candorv1.ErrorReason_ERROR_REASON_JUSTIFICATION_REQUIRED: func(ec errContext, meta map[string]string) string {
		return "narrowing who may take part needs a written reason on the record: add --justification"
	},
	candorv1.ErrorReason_ERROR_REASON_SELF_CLEARANCE: func(ec errContext, meta map[string]string) string {
		return "a chair cannot rule on their own declared conflict; another chair of the body must"
	},
	candorv1.ErrorReason_ERROR_REASON_ALREADY_OBJECTED: func(ec errContext, meta map[string]string) string {
		return "you have already objected to the current proposal; your objection is on the record"
	},
	candorv1.ErrorReason_ERROR_REASON_TOO_MANY_STATEMENTS: func(ec errContext, meta map[string]string) string {
		return "you have filed as many minority statements on this call as one author may (3); you can still co-sign another member's"
	},
	candorv1.ErrorReason_ERROR_REASON_REQUEST_ID_REUSED: func(ec errContext, meta map[string]string) string {
		return "the request id was already used for a different request; send this one with a new id"
	},
	candorv1.ErrorReason_ERROR_REASON_LOG_CORRUPT: func(ec errContext, meta map[string]string) string {
		return "the server's log does not match its own hashes: its data file was altered; tell its operator and run \"candor audit verify\""
	},
	candorv1.ErrorReason_ERROR_REASON_STORAGE_FULL: func(ec errContext, meta map[string]string) string {
		return "the server's storage is full, so nothing was recorded; try again once its operator has freed space"
	},
	candorv1.ErrorReason_ERROR_REASON_SOI_NOT_FOUND: func(ec errContext, meta map[string]string) string {
		if p := ec.subject.participant; p != "" {
			return fmt.Sprintf("%s has no Statement of Interest on file, or not that version (see %q)", p, "candor soi history "+p)
		}
		return `no Statement of Interest on file, or not that version; file one with "candor soi set"`
	},
	candorv1.ErrorReason_ERROR_REASON_OVERLOADED: func(ec errContext, meta map[string]string) string {
		return "the server is at its limit of writes in flight and stayed busy through candor's retries; try again in a moment"
	},
	// Every other reason, so that each value of the enum has its sentence (TestEveryReasonHasASentence).
	candorv1.ErrorReason_ERROR_REASON_UNAUTHENTICATED: func(ec errContext, meta map[string]string) string {
		if ec.tokenGiven {
			return "the server did not accept the token"
		}
		return "no token was given; pass --token or --token-file, or set " + envToken
	},
	candorv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT: func(ec errContext, meta map[string]string) string {
		return serverSays(ec, "the server found a field of the request malformed")
	},
	candorv1.ErrorReason_ERROR_REASON_MALFORMED_REQUEST: func(ec errContext, meta map[string]string) string {
		return "the server could not read the request as a message of its method; is candor older or newer than the server?"
	},
	candorv1.ErrorReason_ERROR_REASON_NO_SUCH_METHOD: func(ec errContext, meta map[string]string) string {
		return "the server has no such method; is candor newer than the server?"
	},
	candorv1.ErrorReason_ERROR_REASON_REQUEST_TOO_LARGE: func(ec errContext, meta map[string]string) string {
		return "the request is larger than the server accepts; shorten the text or send fewer items"
	},
	candorv1.ErrorReason_ERROR_REASON_PARTICIPANT_DEACTIVATED: func(ec errContext, meta map[string]string) string {
		return "this participant was deactivated by the admin and can make no more changes; what they filed before stays on the record"
	},
	candorv1.ErrorReason_ERROR_REASON_MEMBER_REMOVED: func(ec errContext, meta map[string]string) string {
		return "you were removed from this body, so you can no longer take part in its calls; what you filed before stays on the record"
	},
	candorv1.ErrorReason_ERROR_REASON_ALREADY_DEACTIVATED: func(ec errContext, meta map[string]string) string {
		return "this participant is already deactivated"
	},
	candorv1.ErrorReason_ERROR_REASON_CLEARANCE_NOT_APPLICABLE: func(ec errContext, meta map[string]string) string {
		return "the current declaration needs no ruling: only a POTENTIAL or ACTUAL conflict by a participant who takes part, under the REVIEW policy, is cleared"
	},
	candorv1.ErrorReason_ERROR_REASON_ELIGIBLE_NOT_MEMBER: func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("every --eligible participant must be a member of the body (see %q)", "candor body show "+bodyOr(ec))
	},
	candorv1.ErrorReason_ERROR_REASON_DEADLINE_PASSED: func(ec errContext, meta map[string]string) string {
		return "the deadline is not in the future; give a later --closes-in"
	},
	candorv1.ErrorReason_ERROR_REASON_DESCRIPTION_REQUIRED: func(ec errContext, meta map[string]string) string {
		return "a POTENTIAL or ACTUAL conflict needs a description saying what it is: add --description"
	},
	candorv1.ErrorReason_ERROR_REASON_TOO_FEW_OPTIONS: func(ec errContext, meta map[string]string) string {
		return "a vote needs at least two --option values, or none for yes, no and abstain"
	},
	candorv1.ErrorReason_ERROR_REASON_DUPLICATE_OPTION: func(ec errContext, meta map[string]string) string {
		return "each --option may be given once (options are compared ignoring case)"
	},
	candorv1.ErrorReason_ERROR_REASON_DUPLICATE_ELIGIBLE: func(ec errContext, meta map[string]string) string {
		return "each --eligible participant may be named once"
	},
	candorv1.ErrorReason_ERROR_REASON_COMMENT_REQUIRED: func(ec errContext, meta map[string]string) string {
		return "opposition needs its reasons on the record: add --comment"
	},
	candorv1.ErrorReason_ERROR_REASON_OBJECTION_WINDOW_OUT_OF_RANGE: func(ec errContext, meta map[string]string) string {
		return "the objection window must be between 0 (7 days) and 90 days; give another --objection-window"
	},
	candorv1.ErrorReason_ERROR_REASON_DUPLICATE_COSIGNER: func(ec errContext, meta map[string]string) string {
		return "each --cosigner may be named once"
	},
	candorv1.ErrorReason_ERROR_REASON_LIMIT_REACHED: func(ec errContext, meta map[string]string) string {
		return serverSays(ec, "you have added as many of these to this call as one member may") + "; the cap does not lift, so trying again will not help"
	},
	candorv1.ErrorReason_ERROR_REASON_MEMBER_NOT_FOUND: func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("that participant is not a member of the body (see %q)", "candor body show "+bodyOr(ec))
	},
	candorv1.ErrorReason_ERROR_REASON_ENTRY_NOT_FOUND: func(ec errContext, meta map[string]string) string {
		return "the server's log has no entry at that index"
	},
	candorv1.ErrorReason_ERROR_REASON_OUT_OF_RANGE: func(ec errContext, meta map[string]string) string {
		return "the range asked for is outside the server's log"
	},
	candorv1.ErrorReason_ERROR_REASON_SHUTTING_DOWN: func(ec errContext, meta map[string]string) string {
		return serverSays(ec, "the server is shutting down and recorded nothing; try again once it is back")
	},
	candorv1.ErrorReason_ERROR_REASON_INTERNAL: func(ec errContext, meta map[string]string) string {
		return "the server failed with an internal error; its operator will find the cause in its log"
	},
	candorv1.ErrorReason_ERROR_REASON_CANCELLED: func(ec errContext, meta map[string]string) string {
		return "the request was cancelled before the server answered"
	},
	candorv1.ErrorReason_ERROR_REASON_DEADLINE_EXCEEDED: func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("the server did not answer within %s (raise --timeout if it is busy)", timeoutOr(ec))
	},
	candorv1.ErrorReason_ERROR_REASON_UNKNOWN: func(ec errContext, meta map[string]string) string {
		return serverSays(ec, "the server failed without saying why")
	},
	candorv1.ErrorReason_ERROR_REASON_ALREADY_EXISTS: func(ec errContext, meta map[string]string) string {
		return serverSays(ec, "that already exists")
	},
	candorv1.ErrorReason_ERROR_REASON_PERMISSION_DENIED: func(ec errContext, meta map[string]string) string {
		return serverSays(ec, "you may not do that")
	},
	candorv1.ErrorReason_ERROR_REASON_RESOURCE_EXHAUSTED: func(ec errContext, meta map[string]string) string {
		return serverSays(ec, "the server is at a limit; try again in a moment")
	},
	candorv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION: func(ec errContext, meta map[string]string) string {
		return serverSays(ec, "the server refused the request in its current state")
	},
	candorv1.ErrorReason_ERROR_REASON_ABORTED: func(ec errContext, meta map[string]string) string {
		return serverSays(ec, "the request was aborted; try again")
	},
	candorv1.ErrorReason_ERROR_REASON_UNAVAILABLE: func(ec errContext, meta map[string]string) string {
		// The server says why when it knows (an election under way, a sequencer out of reach).
		return serverSays(ec, fmt.Sprintf("the server at %s is unavailable; try again once it is back", addrOr(ec)))
	},
	candorv1.ErrorReason_ERROR_REASON_DATA_LOSS: func(ec errContext, meta map[string]string) string {
		return "the server reports lost or damaged data; tell its operator and run \"candor audit verify\""
	},
}

// serverSays is the server's own sentence for a refusal, or fallback when it gave none.
func serverSays(ec errContext, fallback string) string {
	if ec.message != "" {
		return ec.message
	}
	return fallback
}

func bodyOr(ec errContext) string {
	if ec.subject.body != "" {
		return ec.subject.body
	}
	return "BODY"
}

func addrOr(ec errContext) string {
	if ec.addr != "" {
		return ec.addr
	}
	return "the configured address"
}

func timeoutOr(ec errContext) string {
	if ec.timeout != "" {
		return ec.timeout
	}
	return "the timeout"
}

// call names the call a hint is about: the server's metadata, else the command's argument.
func (ec errContext) call(meta map[string]string) string {
	if c := meta["call"]; c != "" {
		return c
	}
	if ec.subject.call != "" {
		return ec.subject.call
	}
	return "CALL"
}

// flagFor names the flag or argument that set a request field. It tries the field path, then the path
// without list indexes ("options[2]" is "options"), then without its leading message ("call.title" is
// "title").
func (s subject) flagFor(field string) (string, bool) {
	if f, ok := s.fields[field]; ok {
		return f, true
	}
	if i := strings.IndexByte(field, '['); i >= 0 {
		if j := strings.IndexByte(field[i:], ']'); j >= 0 {
			return s.flagFor(field[:i] + field[i+j+1:])
		}
	}
	if i := strings.IndexByte(field, '.'); i >= 0 {
		return s.flagFor(field[i+1:])
	}
	return "", false
}

// transportCause picks the useful end of a grpc transport error, e.g. "connection refused".
func transportCause(msg string) string {
	msg = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(msg), `"`))
	if msg == "" {
		return ""
	}
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return sentence(msg)
}

// sentence makes s fit in one line of a sentence without losing a word of it: its lines are joined
// by single spaces, one closing full stop is dropped (an ellipsis is kept), and control and
// bidirectional formatting characters are escaped ([escapeControls]), since s may be the server's.
func sentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "..") {
		s = strings.TrimSuffix(s, ".")
	}
	return escapeControls(s)
}

// packageNames are the Go packages whose sentinel errors begin with their name ("translog: proof
// does not verify"); [withoutPackagePrefixes] drops those names from a chain of messages.
var packageNames = map[string]bool{"verify": true, "translog": true, "domain": true, "store": true, "service": true}

// withoutPackagePrefixes drops the package names from an error chain such as "verify: replay:
// translog: proof does not verify: entry 3": a part of the chain (the text between ": ") is dropped
// only when it is exactly a package's name, so words inside a message are never touched ("does not
// verify: entry 3" keeps its "verify", which a plain string replacement of "verify: " would lose).
func withoutPackagePrefixes(msg string) string {
	parts := strings.Split(msg, ": ")
	kept := parts[:0]
	for i, p := range parts {
		if packageNames[p] && i < len(parts)-1 {
			continue
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, ": ")
}

// upperSnake turns a code name such as "FailedPrecondition" into "FAILED_PRECONDITION".
func upperSnake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

// knownReasons lists the reasons with a hint, as sent, for tests and documentation.
func knownReasons() []string {
	out := make([]string, 0, len(hints))
	for r := range hints {
		out = append(out, domain.Reason(r))
	}
	sort.Strings(out)
	return out
}
