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
	if h, ok := hints[reason]; ok && detail == "" {
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
var hints = map[string]func(ec errContext, meta map[string]string) string{
	"DECLARATION_REQUIRED": func(ec errContext, meta map[string]string) string {
		if p := ec.subject.participant; p != "" {
			// A chair ruling on someone else's declaration.
			return fmt.Sprintf("%s has no current declaration in this call to rule on", p)
		}
		return fmt.Sprintf("you have no current declaration for this call; run %q first", "candor declare "+ec.call(meta)+" --conflict none|potential|actual")
	},
	"DECLARATION_STALE": func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("your Statement of Interest changed after you declared; declare again with %q", "candor declare "+ec.call(meta)+" --conflict none|potential|actual")
	},
	"RECUSED": func(ec errContext, meta map[string]string) string {
		return "you are recused from this call (by your declaration, its conflict policy or the chair), so you cannot vote in it"
	},
	"DECLARATION_NOT_CLEARED": func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("this call's REVIEW policy needs the chair to clear your declaration before you vote; ask the chair to run %q", "candor call clear "+ec.call(meta)+" PARTICIPANT")
	},
	"SOI_REQUIRED": func(ec errContext, meta map[string]string) string {
		if p := ec.subject.participant; p != "" {
			return p + " has not filed a Statement of Interest yet"
		}
		return `you have no Statement of Interest yet; file one with "candor soi set" first`
	},
	"SOI_PIN_NOT_CURRENT": func(ec errContext, meta map[string]string) string {
		return "your Statement of Interest changed while you were declaring; run the command again to restate the current version"
	},
	"NOT_CHAIR": func(ec errContext, meta map[string]string) string {
		return "only a chair of the body can do that"
	},
	"CALL_CLOSED": func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("the call %s is closed and accepts nothing more", ec.call(meta))
	},
	"NOT_ELIGIBLE": func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("you are not eligible in this call (see %q)", "candor call show "+ec.call(meta))
	},
	"CALL_NOT_FOUND": func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("there is no call named %s", ec.call(meta))
	},
	"BODY_NOT_FOUND": func(ec errContext, meta map[string]string) string {
		if b := ec.subject.body; b != "" {
			return fmt.Sprintf("there is no body named %s (see %q)", b, "candor body list")
		}
		return ""
	},
	"PARTICIPANT_NOT_FOUND": func(ec errContext, meta map[string]string) string {
		if p := ec.subject.participant; p != "" {
			return fmt.Sprintf("there is no participant named %s (see %q)", p, "candor participant list")
		}
		return ""
	},
	"UNKNOWN_OPTION": func(ec errContext, meta map[string]string) string {
		if o := ec.subject.option; o != "" {
			return fmt.Sprintf("%q is not one of this call's options (see %q)", o, "candor call show "+ec.call(meta))
		}
		return ""
	},
	"NOT_MEMBER": func(ec errContext, meta map[string]string) string {
		return "you are not a member of this body"
	},
	"ADMIN_REQUIRED": func(ec errContext, meta map[string]string) string {
		return "only the admin can do that; use the admin token, e.g. --token-file DATA/admin.token on the server's machine"
	},
	"PARTICIPANT_REQUIRED": func(ec errContext, meta map[string]string) string {
		return "only a participant, acting as themselves, can do that; use the participant's own token, not the admin token"
	},
	"AUDITOR_REQUIRED": func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("only auditors and the admin can read the record; the admin grants the role with %q", "candor auditor grant PARTICIPANT")
	},
	"NO_ELIGIBLE_PARTICIPANTS": func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("the body has no members who could vote; add them first with %q", "candor body add-member BODY PARTICIPANT --role member")
	},
	"WRONG_CALL_KIND": func(ec errContext, meta map[string]string) string {
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
	"EXPLANATION_REQUIRED": func(ec errContext, meta map[string]string) string {
		return "your Statement of Interest names a party this call affects, so a declaration of no conflict must say why: add --description, or declare --conflict potential or actual"
	},
	"CALL_STILL_OPEN": func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("positions are still being stated; the chair designates consensus after closing the call with %q", "candor call close "+ec.call(meta))
	},
	"NO_PROPOSAL": func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("the chair has not proposed a designation yet; the chair proposes one with %q", "candor call propose "+ec.call(meta)+" --designation LEVEL --rationale R")
	},
	"DESIGNATION_FINAL": func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("the designation is already final; a member who disagrees can appeal with %q", "candor call appeal "+ec.call(meta)+" --reason R")
	},
	"DESIGNATION_NOT_FINAL": func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("the designation is not final yet, so there is nothing to appeal; while its window is open, object with %q", "candor call object "+ec.call(meta)+" --reason R")
	},
	"OBJECTION_WINDOW_CLOSED": func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("the objection window for the current proposal has closed (see %q)", "candor call show "+ec.call(meta))
	},
	"OBJECTION_WINDOW_OPEN": func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("members may still object to the current proposal; finalise after its objection deadline (see %q)", "candor call show "+ec.call(meta))
	},
	"POSITION_REQUIRED": func(ec errContext, meta map[string]string) string {
		return fmt.Sprintf("only participants who stated a position in this call may file a minority statement; state yours first with %q", "candor position "+ec.call(meta)+" POSITION")
	},
	"COSIGNER_WITHOUT_POSITION": func(ec errContext, meta map[string]string) string {
		return "every --cosigner must have stated a position in this call; name only those who have"
	},
	"SELF_COSIGNER": func(ec errContext, meta map[string]string) string {
		return "you wrote this minority statement, so you cannot also be its --cosigner; name only other members who stand behind it"
	},
	"NOT_COSIGNER": func(ec errContext, meta map[string]string) string {
		return "you are not named as a co-signer of this minority statement"
	},
	"ALREADY_SIGNED": func(ec errContext, meta map[string]string) string {
		return "you have already signed this minority statement; your signature is on the record"
	},
	"MINORITY_STATEMENT_NOT_FOUND": func(ec errContext, meta map[string]string) string {
		if s := ec.subject.statement; s != "" {
			return fmt.Sprintf("there is no minority statement named %s (see %q)", s, "candor call show "+ec.call(meta))
		}
		return ""
	},
	"DEADLINE_TOO_FAR": func(ec errContext, meta map[string]string) string {
		return "a call's deadline may be at most 10 years ahead; give a shorter --closes-in"
	},
	"JUSTIFICATION_REQUIRED": func(ec errContext, meta map[string]string) string {
		return "narrowing who may take part needs a written reason on the record: add --justification"
	},
	"SELF_CLEARANCE": func(ec errContext, meta map[string]string) string {
		return "a chair cannot rule on their own declared conflict; another chair of the body must"
	},
	"ALREADY_OBJECTED": func(ec errContext, meta map[string]string) string {
		return "you have already objected to the current proposal; your objection is on the record"
	},
	"TOO_MANY_STATEMENTS": func(ec errContext, meta map[string]string) string {
		return "you have filed as many minority statements on this call as one author may (3); you can still co-sign another member's"
	},
	"REQUEST_ID_REUSED": func(ec errContext, meta map[string]string) string {
		return "the request id was already used for a different request; send this one with a new id"
	},
	"LOG_CORRUPT": func(ec errContext, meta map[string]string) string {
		return "the server's log does not match its own hashes: its data file was altered; tell its operator and run \"candor audit verify\""
	},
	"STORAGE_FULL": func(ec errContext, meta map[string]string) string {
		return "the server's storage is full, so nothing was recorded; try again once its operator has freed space"
	},
	"SOI_NOT_FOUND": func(ec errContext, meta map[string]string) string {
		if p := ec.subject.participant; p != "" {
			return fmt.Sprintf("%s has no Statement of Interest on file, or not that version (see %q)", p, "candor soi history "+p)
		}
		return `no Statement of Interest on file, or not that version; file one with "candor soi set"`
	},
	"OVERLOADED": func(ec errContext, meta map[string]string) string {
		return "the server is at its limit of writes in flight and stayed busy through candor's retries; try again in a moment"
	},
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

// knownReasons lists the reasons with a hint, for tests and documentation.
func knownReasons() []string {
	out := make([]string, 0, len(hints))
	for r := range hints {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}
