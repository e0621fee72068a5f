package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestRequests checks what each command sends, against the fake server.
func TestRequests(t *testing.T) {
	dir := t.TempDir()
	soiFile := filepath.Join(dir, "soi.json")
	if err := os.WriteFile(soiFile, []byte(`{"employer": "New Employer", "interests": [{"organization": "Org", "nature": "advisor"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	textFile := filepath.Join(dir, "dissent.txt")
	if err := os.WriteFile(textFile, []byte("\nWe dissent.\n\nReasons follow.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		stdin  string
		method string
		want   proto.Message
	}{
		{
			name:   "declare pins the current SOI's hash",
			args:   []string{"declare", openCall, "--conflict", "none", "--description", "No interest in the matter."},
			method: "FileDeclaration",
			want: &candorv1.FileDeclarationRequest{
				Call: openCall, Restatement: &candorv1.FileDeclarationRequest_UnchangedSoiHash{UnchangedSoiHash: soiV2.GetContentHash()},
				ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, Description: "No interest in the matter.",
				Intent: candorv1.Intent_INTENT_PARTICIPATE,
			},
		},
		{
			name:   "declare --recuse with a changed SOI",
			args:   []string{"declare", openCall, "--conflict", "actual", "--recuse", "--soi-file", soiFile},
			method: "FileDeclaration",
			want: &candorv1.FileDeclarationRequest{
				Call: openCall, Restatement: &candorv1.FileDeclarationRequest_UpdatedSoi{UpdatedSoi: &candorv1.StatementOfInterest{
					Employer: "New Employer", Interests: []*candorv1.Interest{{Organization: "Org", Nature: "advisor"}},
				}},
				ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_ACTUAL, Intent: candorv1.Intent_INTENT_RECUSE,
			},
		},
		{
			name:   "declare reads the SOI from stdin",
			args:   []string{"declare", openCall, "--conflict", "potential", "--soi-file", "-"},
			stdin:  `{"represents": "self"}`,
			method: "FileDeclaration",
			want: &candorv1.FileDeclarationRequest{
				Call: openCall, Restatement: &candorv1.FileDeclarationRequest_UpdatedSoi{UpdatedSoi: &candorv1.StatementOfInterest{Represents: "self"}},
				ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL, Intent: candorv1.Intent_INTENT_PARTICIPATE,
			},
		},
		{
			name:   "vote",
			args:   []string{"vote", openCall, "Yes"},
			method: "CastBallot",
			want:   &candorv1.CastBallotRequest{Call: openCall, Option: "Yes"},
		},
		{
			name:   "call open --closes-in counts from now",
			args:   []string{"call", "open", council, "--title", "Budget", "--closes-in", "90m", "--eligible", alice, "--eligible", bob, "--justification", "Finance subgroup."},
			method: "OpenCall",
			want: &candorv1.OpenCallRequest{Body: council, Call: &candorv1.Call{
				Title: "Budget", Kind: candorv1.CallKind_CALL_KIND_VOTE, Deadline: at(23*60 + 30 + 90),
				EligibleParticipants: []string{alice, bob}, EligibilityJustification: "Finance subgroup.",
			}},
		},
		{
			name:   "call clear clears by default",
			args:   []string{"call", "clear", openCall, alice, "--note", "Small holding."},
			method: "ClearDeclaration",
			want: &candorv1.ClearDeclarationRequest{Call: openCall, Participant: alice,
				Decision: candorv1.ClearanceDecision_CLEARANCE_DECISION_CLEARED, Note: "Small holding."},
		},
		{
			name:   "call clear --require-recusal",
			args:   []string{"call", "clear", openCall, bob, "--require-recusal"},
			method: "ClearDeclaration",
			want: &candorv1.ClearDeclarationRequest{Call: openCall, Participant: bob,
				Decision: candorv1.ClearanceDecision_CLEARANCE_DECISION_RECUSAL_REQUIRED},
		},
		{
			name:   "soi set keeps the fields not given",
			args:   []string{"soi", "set", "--employer", "Independent Ltd", "--interest", "Registrar X: advisor"},
			method: "UpdateStatementOfInterest",
			want: &candorv1.UpdateStatementOfInterestRequest{StatementOfInterest: &candorv1.StatementOfInterest{
				Employer: "Independent Ltd", JobTitle: soiV2.GetJobTitle(), Represents: soiV2.GetRepresents(),
				StakeholderGroups: soiV2.GetStakeholderGroups(), OtherInterests: soiV2.GetOtherInterests(),
				Interests: []*candorv1.Interest{{Organization: "Registrar X", Nature: "advisor"}},
			}},
		},
		{
			name:   "soi set clears a list",
			args:   []string{"soi", "set", "--group", "", "--other", ""},
			method: "UpdateStatementOfInterest",
			want: &candorv1.UpdateStatementOfInterestRequest{StatementOfInterest: &candorv1.StatementOfInterest{
				Employer: soiV2.GetEmployer(), JobTitle: soiV2.GetJobTitle(), Represents: soiV2.GetRepresents(),
				Interests: soiV2.GetInterests(),
			}},
		},
		{
			name:   "soi set --replace starts empty",
			args:   []string{"soi", "set", "--replace", "--represents", "self"},
			method: "UpdateStatementOfInterest",
			want:   &candorv1.UpdateStatementOfInterestRequest{StatementOfInterest: &candorv1.StatementOfInterest{Represents: "self"}},
		},
		{
			name:   "add-member",
			args:   []string{"body", "add-member", council, alice, "--role", "chair", "--group", "At-Large"},
			method: "AddMember",
			want:   &candorv1.AddMemberRequest{Body: council, Participant: alice, Role: candorv1.Role_ROLE_CHAIR, StakeholderGroup: "At-Large"},
		},
		{
			name:   "call open --kind consensus",
			args:   []string{"call", "open", council, "--title", "Recommendation 7", "--kind", "consensus", "--affected-party", "Example Registry Inc.", "--conflict-policy", "recuse"},
			method: "OpenCall",
			want: &candorv1.OpenCallRequest{Body: council, Call: &candorv1.Call{
				Title: "Recommendation 7", Kind: candorv1.CallKind_CALL_KIND_CONSENSUS, AffectedParties: []string{"Example Registry Inc."},
				ConflictPolicy: candorv1.ConflictPolicy_CONFLICT_POLICY_RECUSE,
			}},
		},
		{
			name:   "position with a comment",
			args:   []string{"position", consCall, "support-with-concerns", "--comment", "Timeline is tight."},
			method: "StatePosition",
			want: &candorv1.StatePositionRequest{Call: consCall, Position: candorv1.Position_POSITION_SUPPORT_WITH_CONCERNS,
				Comment: "Timeline is tight."},
		},
		{
			name:   "position abstain",
			args:   []string{"position", consCall, "abstain"},
			method: "StatePosition",
			want:   &candorv1.StatePositionRequest{Call: consCall, Position: candorv1.Position_POSITION_ABSTAIN},
		},
		{
			name:   "propose with a window in seconds",
			args:   []string{"call", "propose", consCall, "--designation", "strong-support-significant-opposition", "--rationale", "Split.", "--objection-window", "48h"},
			method: "ProposeDesignation",
			want: &candorv1.ProposeDesignationRequest{Call: consCall, Level: candorv1.ConsensusLevel_CONSENSUS_LEVEL_STRONG_SUPPORT_SIGNIFICANT_OPPOSITION,
				Rationale: "Split.", ObjectionWindowSeconds: 48 * 3600},
		},
		{
			name:   "propose leaves the window to the server",
			args:   []string{"call", "propose", consCall, "--designation", "divergence", "--rationale", "No strong support."},
			method: "ProposeDesignation",
			want: &candorv1.ProposeDesignationRequest{Call: consCall, Level: candorv1.ConsensusLevel_CONSENSUS_LEVEL_DIVERGENCE,
				Rationale: "No strong support."},
		},
		{
			name:   "object",
			args:   []string{"call", "object", consCall, "--reason", "Not full consensus."},
			method: "ObjectToDesignation",
			want:   &candorv1.ObjectToDesignationRequest{Call: consCall, Reason: "Not full consensus."},
		},
		{
			name:   "finalize",
			args:   []string{"call", "finalize", consCall},
			method: "FinalizeDesignation",
			want:   &candorv1.FinalizeDesignationRequest{Call: consCall},
		},
		{
			name:   "appeal",
			args:   []string{"call", "appeal", consCall, "--reason", "Ignored the registries."},
			method: "AppealDesignation",
			want:   &candorv1.AppealDesignationRequest{Call: consCall, Reason: "Ignored the registries."},
		},
		{
			name:   "minority file from a file with co-signers",
			args:   []string{"minority", "file", consCall, "--text-file", textFile, "--cosigner", dave, "--cosigner", alice},
			method: "FileMinorityStatement",
			want: &candorv1.FileMinorityStatementRequest{Call: consCall, Text: "We dissent.\n\nReasons follow.",
				Cosigners: []string{dave, alice}},
		},
		{
			name:   "minority file from stdin",
			args:   []string{"minority", "file", consCall, "--text-file", "-"},
			stdin:  "Alone, I dissent.\n",
			method: "FileMinorityStatement",
			want:   &candorv1.FileMinorityStatementRequest{Call: consCall, Text: "Alone, I dissent."},
		},
		{
			name:   "minority sign",
			args:   []string{"minority", "sign", minority},
			method: "SignMinorityStatement",
			want:   &candorv1.SignMinorityStatementRequest{Name: minority},
		},
		{
			name:   "report review with dates: --to includes its day",
			args:   []string{"report", "review", council, "--from", "2026-01-01", "--to", "2026-03-31"},
			method: "GetReviewReport",
			want: &candorv1.GetReviewReportRequest{Body: council,
				StartTime: timestamppb.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
				EndTime:   timestamppb.New(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))},
		},
		{
			name:   "report review with RFC 3339 times",
			args:   []string{"report", "review", council, "--from", "2026-01-01T08:00:00+02:00", "--to", "2026-02-01T00:00:00Z"},
			method: "GetReviewReport",
			want: &candorv1.GetReviewReportRequest{Body: council,
				StartTime: timestamppb.New(time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)),
				EndTime:   timestamppb.New(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))},
		},
		{
			name:   "report review, whole history",
			args:   []string{"report", "review", council},
			method: "GetReviewReport",
			want:   &candorv1.GetReviewReportRequest{Body: council},
		},
		{
			name:   "soi show a version",
			args:   []string{"soi", "show", alice, "--version", "1"},
			method: "GetStatementOfInterest",
			want:   &candorv1.GetStatementOfInterestRequest{Participant: alice, Version: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, fake := startFake(t, nil)
			args := append([]string{"--addr", addr, "--token", "tok", "--config-dir", t.TempDir()}, tt.args...)
			r := runCLI(t, nil, tt.stdin, args...)
			if r.code != ExitOK {
				t.Fatalf("exit code %d, stderr: %s", r.code, r.stderr)
			}
			got := fake.lastRequest(tt.method)
			if got == nil {
				t.Fatalf("no %s request reached the server", tt.method)
			}
			// Every write that can carry a request id gets a fresh UUID (AIP-155); check it, then
			// compare the rest.
			got = proto.Clone(got)
			if f := got.ProtoReflect().Descriptor().Fields().ByName("request_id"); f != nil {
				id := got.ProtoReflect().Get(f).String()
				if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
					t.Errorf("%s request_id = %q, want a UUID", tt.method, id)
				}
				got.ProtoReflect().Clear(f)
			}
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("%s request (-want +got):\n%s", tt.method, diff)
			}
		})
	}
}

// TestPagination checks that list commands follow next_page_token to the end.
func TestPagination(t *testing.T) {
	tests := []struct {
		args   []string
		method string
		pages  int
		rows   int
	}{
		{[]string{"participant", "list"}, "ListParticipants", 2, 4},
		{[]string{"audit", "history", alice}, "ListDeclarationHistory", 2, 3},
		{[]string{"audit", "call", closedCall}, "ListCallRecord", 3, 5},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			addr, fake := startFake(t, nil)
			r := runCLI(t, nil, "", append([]string{"--addr", addr, "--token", "tok"}, tt.args...)...)
			if r.code != ExitOK {
				t.Fatalf("exit code %d, stderr: %s", r.code, r.stderr)
			}
			pages := 0
			for _, c := range fake.received() {
				if c.method == tt.method {
					pages++
				}
			}
			if pages != tt.pages {
				t.Errorf("%s called %d times, want %d", tt.method, pages, tt.pages)
			}
			if got := strings.Count(r.stdout, "\n") - 1; got != tt.rows {
				t.Errorf("printed %d rows, want %d:\n%s", got, tt.rows, r.stdout)
			}
		})
	}
}

// TestCredentials checks where the address and token come from: flags over the environment, the token
// file, and no header without a token.
func TestCredentials(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "admin.token")
	if err := os.WriteFile(tokenFile, []byte("admin-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantAuth string
	}{
		{"flag", nil, []string{"--token", "flag-tok"}, "Bearer flag-tok"},
		{"env", map[string]string{envToken: "env-tok"}, nil, "Bearer env-tok"},
		{"flag beats env", map[string]string{envToken: "env-tok"}, []string{"--token", "flag-tok"}, "Bearer flag-tok"},
		{"token file beats env", map[string]string{envToken: "env-tok"}, []string{"--token-file", tokenFile}, "Bearer admin-secret"},
		{"none", nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, fake := startFake(t, nil)
			env := map[string]string{envAddr: addr}
			for k, v := range tt.env {
				env[k] = v
			}
			r := runCLI(t, env, "", append(tt.args, "participant", "show")...)
			if r.code != ExitOK {
				t.Fatalf("exit code %d, stderr: %s", r.code, r.stderr)
			}
			calls := fake.received()
			if len(calls) != 1 {
				t.Fatalf("server got %d calls, want 1", len(calls))
			}
			if calls[0].auth != tt.wantAuth {
				t.Errorf("authorization = %q, want %q", calls[0].auth, tt.wantAuth)
			}
		})
	}
}

// TestAddrFlagBeatsEnv checks --addr over CANDOR_ADDR: the env points at nothing.
func TestAddrFlagBeatsEnv(t *testing.T) {
	addr, fake := startFake(t, nil)
	r := runCLI(t, map[string]string{envAddr: closedAddr(t)}, "", "--addr", addr, "participant", "show")
	if r.code != ExitOK || len(fake.received()) != 1 {
		t.Fatalf("exit code %d, %d calls; stderr: %s", r.code, len(fake.received()), r.stderr)
	}
}
