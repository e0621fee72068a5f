package cli

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/candorhq/candor/internal/domain"
	"github.com/candorhq/candor/internal/translog"
	"github.com/candorhq/candor/internal/verify"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// withDetails builds a status as the server sends it.
func withDetails(t testing.TB, c codes.Code, msg string, details ...protoadapt.MessageV1) *status.Status {
	t.Helper()
	st, err := status.New(c, msg).WithDetails(details...)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func info(reason string) *errdetails.ErrorInfo {
	return &errdetails.ErrorInfo{Reason: reason, Domain: "candor.dev"}
}

func TestDescribeStatus(t *testing.T) {
	onCall := errContext{addr: "127.0.0.1:7420", timeout: "10s", tokenGiven: true, subject: subject{call: openCall}}
	tests := []struct {
		name     string
		st       *status.Status
		ec       errContext
		want     string
		wantCode int
	}{
		{
			name:     "declaration required",
			st:       withDetails(t, codes.FailedPrecondition, "no current declaration", info("DECLARATION_REQUIRED")),
			ec:       onCall,
			want:     `candor: refused (DECLARATION_REQUIRED): you have no current declaration for this call; run "candor declare ` + openCall + ` --conflict none|potential|actual" first`,
			wantCode: ExitFailure,
		},
		{
			name:     "declaration required, call from metadata",
			st:       withDetails(t, codes.FailedPrecondition, "no current declaration", &errdetails.ErrorInfo{Reason: "DECLARATION_REQUIRED", Domain: "candor.dev", Metadata: map[string]string{"call": closedCall}}),
			ec:       errContext{addr: "a", timeout: "10s"},
			want:     `candor: refused (DECLARATION_REQUIRED): you have no current declaration for this call; run "candor declare ` + closedCall + ` --conflict none|potential|actual" first`,
			wantCode: ExitFailure,
		},
		{
			name:     "declaration required, call unknown",
			st:       withDetails(t, codes.FailedPrecondition, "x", info("DECLARATION_REQUIRED")),
			ec:       errContext{addr: "a", timeout: "10s"},
			want:     `candor: refused (DECLARATION_REQUIRED): you have no current declaration for this call; run "candor declare CALL --conflict none|potential|actual" first`,
			wantCode: ExitFailure,
		},
		{
			name:     "clearing someone without a declaration",
			st:       withDetails(t, codes.FailedPrecondition, "no current declaration", info("DECLARATION_REQUIRED")),
			ec:       errContext{subject: subject{call: openCall, participant: bob}},
			want:     "candor: refused (DECLARATION_REQUIRED): " + bob + " has no current declaration in this call to rule on",
			wantCode: ExitFailure,
		},
		{
			name:     "stale",
			st:       withDetails(t, codes.FailedPrecondition, "stale", info("DECLARATION_STALE")),
			ec:       onCall,
			want:     `candor: refused (DECLARATION_STALE): your Statement of Interest changed after you declared; declare again with "candor declare ` + openCall + ` --conflict none|potential|actual"`,
			wantCode: ExitFailure,
		},
		{
			name:     "not chair",
			st:       withDetails(t, codes.PermissionDenied, "caller is not a chair", info("NOT_CHAIR")),
			ec:       onCall,
			want:     "candor: refused (NOT_CHAIR): only a chair of the body can do that",
			wantCode: ExitFailure,
		},
		{
			name:     "soi required for someone else",
			st:       withDetails(t, codes.NotFound, "no soi", info("SOI_REQUIRED")),
			ec:       errContext{subject: subject{participant: bob}},
			want:     "candor: not found (SOI_REQUIRED): " + bob + " has not filed a Statement of Interest yet",
			wantCode: ExitFailure,
		},
		{
			name:     "soi required for the caller",
			st:       withDetails(t, codes.FailedPrecondition, "no soi", info("SOI_REQUIRED")),
			want:     `candor: refused (SOI_REQUIRED): you have no Statement of Interest yet; file one with "candor soi set" first`,
			wantCode: ExitFailure,
		},
		{
			name:     "unknown reason falls back to the server's message, every word of it",
			st:       withDetails(t, codes.FailedPrecondition, "The option \"maybe\" is not one of the call's options.\nsecond line.", info("UNKNOWN_OPTION")),
			ec:       onCall,
			want:     `candor: refused (UNKNOWN_OPTION): The option "maybe" is not one of the call's options. second line`,
			wantCode: ExitFailure,
		},
		{
			name:     "no ErrorInfo: the code names the reason",
			st:       status.New(codes.NotFound, "body not found"),
			want:     "candor: not found (NOT_FOUND): body not found",
			wantCode: ExitFailure,
		},
		{
			name:     "internal error with no message",
			st:       status.New(codes.Internal, ""),
			want:     "candor: server error (INTERNAL): the server failed with an internal error; its operator will find the cause in its log",
			wantCode: ExitFailure,
		},
		{
			name:     "unauthenticated without a token",
			st:       status.New(codes.Unauthenticated, "missing credentials"),
			want:     "candor: not authenticated (UNAUTHENTICATED): no token was given; pass --token or --token-file, or set CANDOR_TOKEN",
			wantCode: ExitFailure,
		},
		{
			name:     "unauthenticated with a token",
			st:       withDetails(t, codes.Unauthenticated, "bad token", info("TOKEN_INVALID")),
			ec:       errContext{tokenGiven: true},
			want:     "candor: not authenticated (TOKEN_INVALID): the server did not accept the token",
			wantCode: ExitFailure,
		},
		{
			name: "field violations name the fields and flags",
			st: withDetails(t, codes.InvalidArgument, "invalid call", info("INVALID_ARGUMENT"), &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
				{Field: "call.title", Description: "must be 1 to 200 characters."},
				{Field: "call.options[1]", Description: "duplicate option"},
				{Field: "request_id", Description: "not a UUID"},
			}}),
			ec:       errContext{subject: subject{fields: openFields}},
			want:     "candor: invalid request (INVALID_ARGUMENT): call.title (--title): must be 1 to 200 characters; call.options[1] (--option): duplicate option; request_id: not a UUID",
			wantCode: ExitUsage,
		},
		{
			name:     "invalid argument without violations",
			st:       status.New(codes.InvalidArgument, "bad page token"),
			want:     "candor: invalid request (INVALID_ARGUMENT): bad page token",
			wantCode: ExitUsage,
		},
		{
			name:     "connection refused",
			st:       status.New(codes.Unavailable, `connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:7420: connect: connection refused"`),
			ec:       errContext{addr: "127.0.0.1:7420"},
			want:     "candor: the server at 127.0.0.1:7420 could not be reached (connection refused); check --addr (or CANDOR_ADDR) and that candord is running",
			wantCode: ExitFailure,
		},
		{
			name:     "plaintext client, TLS server",
			st:       status.New(codes.Unavailable, `connection error: desc = "error reading server preface: EOF"`),
			ec:       errContext{addr: "10.0.0.1:7420"},
			want:     "candor: the server at 10.0.0.1:7420 could not be reached (EOF); if the server uses TLS, pass --ca",
			wantCode: ExitFailure,
		},
		{
			name:     "unavailable from the server itself",
			st:       withDetails(t, codes.Unavailable, "the server is shutting down", info("SHUTTING_DOWN")),
			ec:       errContext{addr: "a"},
			want:     "candor: server unavailable (SHUTTING_DOWN): the server is shutting down",
			wantCode: ExitFailure,
		},
		{
			name:     "unknown option names the option",
			st:       withDetails(t, codes.InvalidArgument, "option is not one of the call's options", info("UNKNOWN_OPTION")),
			ec:       errContext{subject: subject{call: openCall, option: "maybe"}},
			want:     `candor: invalid request (UNKNOWN_OPTION): "maybe" is not one of this call's options (see "candor call show ` + openCall + `")`,
			wantCode: ExitUsage,
		},
		{
			name:     "deadline",
			st:       status.New(codes.DeadlineExceeded, "context deadline exceeded"),
			ec:       errContext{addr: "127.0.0.1:7420", timeout: "10s"},
			want:     "candor: the server at 127.0.0.1:7420 did not answer within 10s (raise --timeout if it is busy)",
			wantCode: ExitFailure,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, code := describeStatus(tt.st, tt.ec)
			if got != tt.want {
				t.Errorf("sentence:\n got %s\nwant %s", got, tt.want)
			}
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d", code, tt.wantCode)
			}
		})
	}
}

// TestHintsAreSentences checks every hint, with and without what the command knows, gives one line
// naming its reason.
func TestHintsAreSentences(t *testing.T) {
	for _, reason := range knownReasons() {
		for _, ec := range []errContext{{}, {subject: subject{call: openCall, body: council, participant: alice}}} {
			got, code := describeStatus(withDetails(t, codes.FailedPrecondition, "server message", info(reason)), ec)
			if code != ExitFailure {
				t.Errorf("%s: exit code %d, want %d", reason, code, ExitFailure)
			}
			if !strings.HasPrefix(got, "candor: refused ("+reason+"): ") || strings.ContainsAny(got, "\n\r") || strings.HasSuffix(got, ".") {
				t.Errorf("%s: not one sentence naming the reason: %q", reason, got)
			}
		}
	}
}

// TestEveryReasonHasASentence: every value of the proto's ErrorReason enum, which is every reason
// the server gives, has a hint of its own that says something whatever the server's message, with
// and without what the command knows.
func TestEveryReasonHasASentence(t *testing.T) {
	full := errContext{addr: "127.0.0.1:1", timeout: "10s", subject: subject{call: openCall, body: council, participant: alice, option: "maybe", statement: openCall + "/minorityStatements/x"}}
	for v := range candorv1.ErrorReason_name {
		r := candorv1.ErrorReason(v)
		if r == candorv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
			continue
		}
		h, ok := hints[r]
		if !ok {
			t.Errorf("no sentence for %s", domain.Reason(r))
			continue
		}
		if got := h(full, nil); got == "" || strings.ContainsAny(got, "\n\r") || strings.HasSuffix(got, ".") {
			t.Errorf("%s: sentence %q, want one line without a final full stop", domain.Reason(r), got)
		}
	}
	if _, ok := hints[candorv1.ErrorReason_ERROR_REASON_UNSPECIFIED]; ok {
		t.Error("a sentence for UNSPECIFIED, which the server never sends")
	}
}

// TestRefusalOverTheWire checks the sentence for a refusal that really crossed gRPC, details and all.
func TestRefusalOverTheWire(t *testing.T) {
	addr, fake := startFake(t, nil)
	fake.fail["CastBallot"] = withDetails(t, codes.FailedPrecondition, "no current declaration", info("DECLARATION_REQUIRED")).Err()
	r := runCLI(t, nil, "", "--addr", addr, "--token", "tok", "--config-dir", t.TempDir(), "vote", openCall, "yes")
	want := `candor: refused (DECLARATION_REQUIRED): you have no current declaration for this call; run "candor declare ` + openCall + ` --conflict none|potential|actual" first` + "\n"
	if r.stderr != want || r.code != ExitFailure || r.stdout != "" {
		t.Errorf("got code %d, stdout %q, stderr\n%s\nwant code %d, stderr\n%s", r.code, r.stdout, r.stderr, ExitFailure, want)
	}
}

// TestDeclareWithoutSOI checks that a caller with no SOI gets SOI_REQUIRED whatever NotFound reason
// the server gives, and that no declaration is attempted.
func TestDeclareWithoutSOI(t *testing.T) {
	for _, reason := range []string{"SOI_REQUIRED", "NOT_FOUND"} {
		addr, fake := startFake(t, nil)
		fake.fail["GetStatementOfInterest"] = withDetails(t, codes.NotFound, "no statement", info(reason)).Err()
		r := runCLI(t, nil, "", "--addr", addr, "--token", "tok", "declare", openCall, "--conflict", "none")
		if r.code != ExitFailure || !strings.Contains(r.stderr, "(SOI_REQUIRED): you have no Statement of Interest yet") {
			t.Errorf("server reason %s: code %d, stderr %q", reason, r.code, r.stderr)
		}
		if fake.lastRequest("FileDeclaration") != nil {
			t.Errorf("server reason %s: a declaration was filed without an SOI", reason)
		}
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

func TestUnreachable(t *testing.T) {
	addr := closedAddr(t)
	r := runCLI(t, nil, "", "--addr", addr, "--token", "tok", "body", "list")
	if r.code != ExitFailure {
		t.Errorf("exit code = %d, want %d", r.code, ExitFailure)
	}
	checkOneSentence(t, r.stderr)
	if want := "candor: the server at " + addr + " could not be reached"; !strings.HasPrefix(r.stderr, want) {
		t.Errorf("stderr = %q, want it to start with %q", r.stderr, want)
	}
}

func TestUpperSnake(t *testing.T) {
	for in, want := range map[string]string{
		"FailedPrecondition": "FAILED_PRECONDITION",
		"NotFound":           "NOT_FOUND",
		"Internal":           "INTERNAL",
		"DeadlineExceeded":   "DEADLINE_EXCEEDED",
	} {
		if got := upperSnake(in); got != want {
			t.Errorf("upperSnake(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestOverloadedIsRetried checks that a write refused as OVERLOADED is sent again, and that the refusal
// is reported when it persists.
func TestOverloadedIsRetried(t *testing.T) {
	overloaded := withDetails(t, codes.ResourceExhausted, "the server is at its limit of writes in flight", info("OVERLOADED")).Err()
	t.Run("passes after two refusals", func(t *testing.T) {
		addr, fake := startFake(t, nil)
		fake.fail["CastBallot"] = overloaded
		fake.failTimes["CastBallot"] = 2
		r := runCLI(t, nil, "", "--addr", addr, "--token", "tok", "--config-dir", t.TempDir(), "vote", openCall, "yes")
		if r.code != ExitOK {
			t.Fatalf("exit code %d, stderr: %s", r.code, r.stderr)
		}
		if n := countCalls(fake, "CastBallot"); n != 3 {
			t.Errorf("CastBallot sent %d times, want 3", n)
		}
	})
	t.Run("gives up", func(t *testing.T) {
		addr, fake := startFake(t, nil)
		fake.fail["CastBallot"] = overloaded
		r := runCLI(t, nil, "", "--addr", addr, "--token", "tok", "--config-dir", t.TempDir(), "vote", openCall, "yes")
		if r.code != ExitFailure || !strings.HasPrefix(r.stderr, "candor: refused (OVERLOADED): ") {
			t.Errorf("code %d, stderr %q", r.code, r.stderr)
		}
		if n := countCalls(fake, "CastBallot"); n != 4 {
			t.Errorf("CastBallot sent %d times, want 4", n)
		}
	})
	t.Run("refusals are not retried", func(t *testing.T) {
		addr, fake := startFake(t, nil)
		fake.fail["CastBallot"] = withDetails(t, codes.FailedPrecondition, "x", info("RECUSED")).Err()
		runCLI(t, nil, "", "--addr", addr, "--token", "tok", "--config-dir", t.TempDir(), "vote", openCall, "yes")
		if n := countCalls(fake, "CastBallot"); n != 1 {
			t.Errorf("CastBallot sent %d times, want 1", n)
		}
	})
}

func countCalls(f *fakeServer, method string) int {
	n := 0
	for _, c := range f.received() {
		if c.method == method {
			n++
		}
	}
	return n
}

// TestConsensusHints checks the sentences for the refusals of the consensus workflow, where the same
// reason means different things to different commands.
func TestConsensusHints(t *testing.T) {
	tests := []struct {
		reason string
		code   codes.Code
		sub    subject
		want   string
	}{
		{"WRONG_CALL_KIND", codes.FailedPrecondition, subject{call: consCall, action: "vote"},
			`candor: refused (WRONG_CALL_KIND): this is a consensus call, which takes positions, not ballots; run "candor position ` + consCall + ` support|support-with-concerns|oppose|abstain"`},
		{"WRONG_CALL_KIND", codes.FailedPrecondition, subject{call: openCall, action: "position"},
			`candor: refused (WRONG_CALL_KIND): this call is a vote, which takes ballots, not positions; run "candor vote ` + openCall + ` OPTION"`},
		{"WRONG_CALL_KIND", codes.FailedPrecondition, subject{call: openCall, action: "designation"},
			"candor: refused (WRONG_CALL_KIND): this call is a vote; designations, objections, appeals and minority statements belong to consensus calls"},
		{"EXPLANATION_REQUIRED", codes.FailedPrecondition, subject{call: openCall},
			"candor: refused (EXPLANATION_REQUIRED): your Statement of Interest names a party this call affects, so a declaration of no conflict must say why: add --description, or declare --conflict potential or actual"},
		{"CALL_STILL_OPEN", codes.FailedPrecondition, subject{call: consCall},
			`candor: refused (CALL_STILL_OPEN): positions are still being stated; the chair designates consensus after closing the call with "candor call close ` + consCall + `"`},
		{"OBJECTION_WINDOW_CLOSED", codes.FailedPrecondition, subject{call: consCall},
			`candor: refused (OBJECTION_WINDOW_CLOSED): the objection window for the current proposal has closed (see "candor call show ` + consCall + `")`},
		{"COSIGNER_WITHOUT_POSITION", codes.FailedPrecondition, subject{call: consCall},
			"candor: refused (COSIGNER_WITHOUT_POSITION): every --cosigner must have stated a position in this call; name only those who have"},
		{"NOT_COSIGNER", codes.PermissionDenied, subject{statement: minority},
			"candor: refused (NOT_COSIGNER): you are not named as a co-signer of this minority statement"},
		{"MINORITY_STATEMENT_NOT_FOUND", codes.NotFound, subject{call: consCall, statement: minority},
			`candor: not found (MINORITY_STATEMENT_NOT_FOUND): there is no minority statement named ` + minority + ` (see "candor call show ` + consCall + `")`},
		{"STORAGE_FULL", codes.ResourceExhausted, subject{},
			"candor: refused (STORAGE_FULL): the server's storage is full, so nothing was recorded; try again once its operator has freed space"},
		{"SOI_NOT_FOUND", codes.NotFound, subject{participant: bob},
			`candor: not found (SOI_NOT_FOUND): ` + bob + ` has no Statement of Interest on file, or not that version (see "candor soi history ` + bob + `")`},
	}
	for _, tt := range tests {
		got, code := describeStatus(withDetails(t, tt.code, "server message", info(tt.reason)), errContext{subject: tt.sub})
		if got != tt.want || code != ExitFailure {
			t.Errorf("%s (%s):\n got %q (exit %d)\nwant %q (exit %d)", tt.reason, tt.sub.action, got, code, tt.want, ExitFailure)
		}
	}
	for _, reason := range []string{"WRONG_CALL_KIND", "EXPLANATION_REQUIRED", "CALL_STILL_OPEN", "NO_PROPOSAL", "DESIGNATION_FINAL",
		"DESIGNATION_NOT_FINAL", "OBJECTION_WINDOW_CLOSED", "OBJECTION_WINDOW_OPEN", "POSITION_REQUIRED", "COSIGNER_WITHOUT_POSITION",
		"NOT_COSIGNER", "ALREADY_SIGNED", "MINORITY_STATEMENT_NOT_FOUND", "STORAGE_FULL", "SOI_NOT_FOUND"} {
		if _, ok := hints[domain.ParseReason(reason)]; !ok {
			t.Errorf("no hint for %s", reason)
		}
	}
}

// TestWrongKindOverTheWire checks that a ballot on a consensus call names the position command.
func TestWrongKindOverTheWire(t *testing.T) {
	addr, fake := startFake(t, nil)
	fake.fail["CastBallot"] = withDetails(t, codes.FailedPrecondition, "not possible in this kind of call", info("WRONG_CALL_KIND")).Err()
	r := runCLI(t, nil, "", "--addr", addr, "--token", "tok", "--config-dir", t.TempDir(), "vote", consCall, "yes")
	if r.code != ExitFailure || !strings.Contains(r.stderr, `run "candor position `+consCall) {
		t.Errorf("code %d, stderr %q", r.code, r.stderr)
	}
	checkOneSentence(t, r.stderr)
}

// TestVerifyFailure checks that evidence against the log becomes one sentence naming the first bad
// entry, and that a failure to reach the server is left to describe.
func TestVerifyFailure(t *testing.T) {
	bad := &verify.EntryError{Index: 41, Kind: candorv1.EntryKind_ENTRY_KIND_BALLOT, Err: fmt.Errorf("%w", domain.ErrDeclarationRequired)}
	got, code := (&app{started: true}).describe(verifyFailure("the log", fmt.Errorf("verify: replay: %w", bad)), nil)
	if want := "candor: the log failed verification at entry 41 (BALLOT): no current declaration for this call"; got != want || code != ExitFailure {
		t.Errorf("got %q (exit %d), want %q (exit %d)", got, code, want, ExitFailure)
	}
	got, _ = (&app{started: true}).describe(verifyFailure("the log", fmt.Errorf("%w: from 40 to 12 entries", verify.ErrNotConsistent)), nil)
	if !strings.HasPrefix(got, "candor: the log failed verification: log does not extend the checkpoint verified before") {
		t.Errorf("rollback: got %q", got)
	}
	// Package names go, the server's and the verifier's words stay: "does not verify" keeps its verb.
	got, _ = (&app{started: true}).describe(verifyFailure("the receipt", fmt.Errorf("verify: %w: entry 3", translog.ErrProofFailed)), nil)
	if want := "candor: the receipt failed verification: " + strings.TrimPrefix(translog.ErrProofFailed.Error(), "translog: ") + ": entry 3"; got != want {
		t.Errorf("proof failure: got %q, want %q", got, want)
	}
	unreachable := fmt.Errorf("verify: GetCheckpoint: %w", status.Error(codes.Unavailable, "connection refused"))
	got, code = (&app{started: true, opts: globalOptions{addr: "127.0.0.1:1"}}).describe(verifyFailure("the log", unreachable), nil)
	if !strings.HasPrefix(got, "candor: the server at 127.0.0.1:1 could not be reached") || code != ExitFailure {
		t.Errorf("unreachable: got %q (exit %d)", got, code)
	}
}
