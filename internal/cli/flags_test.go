package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestUsageErrors checks that bad command lines exit with ExitUsage, say what is wrong in one line,
// and never reach the server.
func TestUsageErrors(t *testing.T) {
	addr, fake := startFake(t, nil)
	dir := t.TempDir()
	badJSON := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(badJSON, []byte(`{"employer": "X", "emploer": "typo"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(emptyFile, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string // in the sentence
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate" for "candor"`},
		{"unknown subcommand", []string{"call", "reopen"}, `unknown command "reopen" for "candor call"`},
		{"unknown flag", []string{"vote", openCall, "yes", "--force"}, "unknown flag: --force"},
		{"too few args", []string{"vote", openCall}, `expected CALL OPTION, got 1 argument`},
		{"too many args", []string{"soi", "show", alice, bob}, `expected [PARTICIPANT], got 2 arguments`},
		{"bad output", []string{"-o", "yaml", "body", "list"}, "-o/--output must be table or json"},
		{"token and token file", []string{"--token-file", badJSON, "body", "list"}, "either --token or --token-file"},
		{"cert without ca", []string{"--client-cert", "c.pem", "--client-key", "k.pem", "body", "list"}, "need --ca"},
		{"cert without key", []string{"--ca", "ca.pem", "--client-cert", "c.pem", "body", "list"}, "--client-cert and --client-key go together"},
		{"bad timeout", []string{"--timeout", "0s", "body", "list"}, "--timeout must be positive"},
		{"call name not a call", []string{"vote", council, "yes"}, `CALL must be a call name like bodies/ID/calls/ID, not "` + council + `"`},
		{"display name for participant", []string{"auditor", "grant", "Carol Chen"}, `PARTICIPANT must be a participant name like participants/ID`},
		{"body with trailing slash", []string{"call", "list", council + "/"}, "BODY must be a body name"},

		{"eligible without justification", []string{"call", "open", council, "--title", "T", "--eligible", alice}, "--justification is required"},
		{"eligible with blank justification", []string{"call", "open", council, "--title", "T", "--eligible", alice, "--justification", "  "}, "--justification is required"},
		{"justification without eligible", []string{"call", "open", council, "--title", "T", "--justification", "why"}, "--justification goes with --eligible"},
		{"eligible not a participant", []string{"call", "open", council, "--title", "T", "--eligible", "Alice", "--justification", "why"}, `--eligible must be a participant name`},
		{"no title", []string{"call", "open", council}, "--title is required"},
		{"bad closes-in", []string{"call", "open", council, "--title", "T", "--closes-in", "3 days"}, `invalid argument "3 days" for "--closes-in"`},
		{"zero closes-in", []string{"call", "open", council, "--title", "T", "--closes-in", "0s"}, "--closes-in must be a positive duration"},
		{"negative closes-in", []string{"call", "open", council, "--title", "T", "--closes-in", "-1h"}, "--closes-in must be a positive duration"},
		{"bad policy", []string{"call", "open", council, "--title", "T", "--conflict-policy", "ignore"}, `--conflict-policy must be disclose, recuse or review, not "ignore"`},
		{"bad threshold", []string{"call", "open", council, "--title", "T", "--threshold", "unanimous"}, `--threshold must be simple or two-thirds`},
		{"negative quorum", []string{"call", "open", council, "--title", "T", "--quorum", "-1"}, "--quorum must be 0 or more"},
		{"matter twice", []string{"call", "open", council, "--title", "T", "--matter", "m", "--matter-file", badJSON}, "either --matter or --matter-file"},

		{"no conflict", []string{"declare", openCall}, "--conflict is required"},
		{"bad conflict", []string{"declare", openCall, "--conflict", "maybe"}, `--conflict must be none, potential or actual, not "maybe"`},
		{"conflict in capitals", []string{"declare", openCall, "--conflict", "NONE"}, `--conflict must be none, potential or actual`},
		{"soi file with unknown field", []string{"declare", openCall, "--conflict", "none", "--soi-file", badJSON}, "is not a protojson StatementOfInterest"},
		{"soi file missing", []string{"declare", openCall, "--conflict", "none", "--soi-file", filepath.Join(dir, "nope.json")}, "cannot read --soi-file"},

		{"bad kind", []string{"call", "open", council, "--title", "T", "--kind", "poll"}, `--kind must be vote or consensus, not "poll"`},
		{"consensus with options", []string{"call", "open", council, "--title", "T", "--kind", "consensus", "--option", "a", "--option", "b"}, "--option applies to votes only"},
		{"consensus with quorum", []string{"call", "open", council, "--title", "T", "--kind", "consensus", "--quorum", "3"}, "--quorum applies to votes only"},
		{"consensus with threshold", []string{"call", "open", council, "--title", "T", "--kind", "consensus", "--threshold", "two-thirds"}, "--threshold applies to votes only"},

		{"position missing", []string{"position", consCall}, "expected CALL POSITION, got 1 argument"},
		{"bad position", []string{"position", consCall, "yes"}, `POSITION must be support, support-with-concerns, oppose or abstain, not "yes"`},
		{"position in capitals", []string{"position", consCall, "SUPPORT"}, "POSITION must be support"},
		{"oppose without comment", []string{"position", consCall, "oppose"}, "oppose needs --comment"},
		{"oppose with blank comment", []string{"position", consCall, "oppose", "--comment", " "}, "oppose needs --comment"},
		{"position on a body", []string{"position", council, "support"}, "CALL must be a call name"},

		{"propose without designation", []string{"call", "propose", consCall, "--rationale", "r"}, "--designation is required: full-consensus, consensus"},
		{"propose bad designation", []string{"call", "propose", consCall, "--designation", "unanimous", "--rationale", "r"}, `--designation must be full-consensus, consensus, strong-support-significant-opposition or divergence, not "unanimous"`},
		{"propose without rationale", []string{"call", "propose", consCall, "--designation", "consensus"}, "--rationale is required"},
		{"propose zero window", []string{"call", "propose", consCall, "--designation", "consensus", "--rationale", "r", "--objection-window", "0s"}, "--objection-window must be at least 1s"},
		{"propose sub-second window", []string{"call", "propose", consCall, "--designation", "consensus", "--rationale", "r", "--objection-window", "500ms"}, "--objection-window must be at least 1s"},
		{"propose fractional window", []string{"call", "propose", consCall, "--designation", "consensus", "--rationale", "r", "--objection-window", "1500ms"}, "--objection-window must be whole seconds"},
		{"propose bad window", []string{"call", "propose", consCall, "--designation", "consensus", "--rationale", "r", "--objection-window", "2 days"}, `invalid argument "2 days" for "--objection-window"`},
		{"object without reason", []string{"call", "object", consCall}, "--reason is required"},
		{"appeal with blank reason", []string{"call", "appeal", consCall, "--reason", "  "}, "--reason is required"},
		{"finalize a body", []string{"call", "finalize", council}, "CALL must be a call name"},

		{"minority without text", []string{"minority", "file", consCall}, "--text-file is required"},
		{"minority text missing", []string{"minority", "file", consCall, "--text-file", filepath.Join(dir, "nope.txt")}, "cannot read --text-file"},
		{"minority text empty", []string{"minority", "file", consCall, "--text-file", emptyFile}, "is empty"},
		{"minority bad cosigner", []string{"minority", "file", consCall, "--text-file", badJSON, "--cosigner", "Carol"}, "--cosigner must be a participant name"},
		{"sign a call", []string{"minority", "sign", consCall}, "STATEMENT must be a minority statement name like bodies/ID/calls/ID/minorityStatements/ID"},

		{"review bad from", []string{"report", "review", council, "--from", "March"}, `--from must be a date (2026-03-31) or an RFC 3339 time`},
		{"review bad to", []string{"report", "review", council, "--to", "2026-02-30"}, `--to must be a date`},
		{"review from after to", []string{"report", "review", council, "--from", "2026-03-02", "--to", "2026-03-01"}, "--from must be before --to"},
		{"review a call", []string{"report", "review", consCall}, "BODY must be a body name"},

		{"verify without key", []string{"audit", "verify"}, "--key is required"},
		{"verify key missing", []string{"audit", "verify", "--key", filepath.Join(dir, "nope.pub")}, "cannot read --key"},
		{"verify key not a key", []string{"audit", "verify", "--key", badJSON}, "does not hold a signed-note verifier key"},
		{"receipt missing", []string{"audit", "receipt", filepath.Join(dir, "nope.json")}, "no such file"},
		{"receipt not a receipt", []string{"audit", "receipt", badJSON}, "is not a candor receipt"},
		{"checkpoint key not a key", []string{"audit", "checkpoint", "--key", emptyFile}, "does not hold a signed-note verifier key"},

		{"no role", []string{"body", "add-member", council, bob}, "--role is required"},
		{"bad role", []string{"body", "add-member", council, bob, "--role", "observer"}, `--role must be chair or member, not "observer"`},
		{"soi set nothing", []string{"soi", "set"}, "nothing to set"},
		{"interest without nature", []string{"soi", "set", "--interest", "Example Registry Inc."}, `must read "ORGANISATION: nature of the interest"`},
		{"interest without organisation", []string{"soi", "set", "--interest", ": shareholder"}, `must read "ORGANISATION: nature of the interest"`},
		{"empty group among others", []string{"soi", "set", "--group", "At-Large", "--group", ""}, "--group must not be empty"},
		{"negative soi version", []string{"soi", "show", "--version", "-2"}, "--version must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(fake.received())
			args := append([]string{"--addr", addr, "--token", "tok", "--config-dir", dir}, tt.args...)
			r := runCLI(t, nil, "", args...)
			if r.code != ExitUsage {
				t.Errorf("exit code = %d, want %d (stderr %q)", r.code, ExitUsage, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tt.want)
			}
			checkOneSentence(t, r.stderr)
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			if got := fake.received()[before:]; len(got) != 0 {
				t.Errorf("a usage error reached the server: %v", got[0].method)
			}
		})
	}
}

// checkOneSentence fails unless s is one line starting with "candor: ".
func checkOneSentence(t *testing.T, s string) {
	t.Helper()
	if !strings.HasPrefix(s, "candor: ") || !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") != 1 {
		t.Errorf("stderr is not one line starting with \"candor: \": %q", s)
	}
}

func TestOpenCallRequest(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	readFile := func(name string) ([]byte, error) { return []byte("matter from " + name), nil }
	tests := []struct {
		name    string
		f       openFlags
		changed []string
		want    *candorv1.OpenCallRequest
	}{
		{
			name:    "defaults left to the server",
			f:       openFlags{title: "Budget"},
			changed: []string{"title"},
			want: &candorv1.OpenCallRequest{Body: council, Call: &candorv1.Call{
				Title: "Budget", Kind: candorv1.CallKind_CALL_KIND_VOTE,
			}},
		},
		{
			name: "everything",
			f: openFlags{
				title: "Budget", matter: "Approve it.", options: []string{"for", "against"}, affected: []string{"Org A", "Org B"},
				policy: "review", closesIn: 72 * time.Hour, quorum: 5, threshold: "two-thirds",
				eligible: []string{alice, bob}, justification: "Only the finance subgroup.",
			},
			changed: []string{"title", "matter", "option", "affected-party", "conflict-policy", "closes-in", "quorum", "threshold", "eligible", "justification"},
			want: &candorv1.OpenCallRequest{Body: council, Call: &candorv1.Call{
				Title: "Budget", Matter: "Approve it.", Kind: candorv1.CallKind_CALL_KIND_VOTE,
				Options: []string{"for", "against"}, AffectedParties: []string{"Org A", "Org B"},
				ConflictPolicy: candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW,
				Deadline:       timestamppb.New(now.Add(72 * time.Hour)), Quorum: 5,
				Threshold:            candorv1.Threshold_THRESHOLD_TWO_THIRDS,
				EligibleParticipants: []string{alice, bob}, EligibilityJustification: "Only the finance subgroup.",
			}},
		},
		{
			name:    "simple-majority spelled out, matter from a file",
			f:       openFlags{title: "Budget", threshold: "simple-majority", policy: "recuse", matterFile: "m.txt"},
			changed: []string{"title", "threshold", "conflict-policy", "matter-file"},
			want: &candorv1.OpenCallRequest{Body: council, Call: &candorv1.Call{
				Title: "Budget", Matter: "matter from m.txt", Kind: candorv1.CallKind_CALL_KIND_VOTE,
				ConflictPolicy: candorv1.ConflictPolicy_CONFLICT_POLICY_RECUSE,
				Threshold:      candorv1.Threshold_THRESHOLD_SIMPLE_MAJORITY,
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changed := func(name string) bool {
				for _, c := range tt.changed {
					if c == name {
						return true
					}
				}
				return false
			}
			got, err := openCallRequest(council, &tt.f, changed, now, readFile)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseInterest(t *testing.T) {
	tests := []struct {
		in      string
		want    *candorv1.Interest
		wantErr bool
	}{
		{in: "Example Registry Inc.: shareholder", want: &candorv1.Interest{Organization: "Example Registry Inc.", Nature: "shareholder"}},
		{in: "  Org :  board member, unpaid ", want: &candorv1.Interest{Organization: "Org", Nature: "board member, unpaid"}},
		{in: "Org: ratio 1:2", want: &candorv1.Interest{Organization: "Org", Nature: "ratio 1:2"}},
		{in: "Org", wantErr: true},
		{in: "Org:", wantErr: true},
		{in: ": nature", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseInterest(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseInterest(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
			t.Errorf("parseInterest(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		kind, value string
		ok          bool
	}{
		{"participant", alice, true},
		{"participant", "participants/", false},
		{"participant", "participants/a/b", false},
		{"participant", "Alice", false},
		{"participant", "participants/ a", false},
		{"body", council, true},
		{"body", "bodies", false},
		{"call", openCall, true},
		{"call", council + "/calls/", false},
		{"call", council + "/members/x", false},
		{"call", "calls/x", false},
	}
	for _, tt := range tests {
		err := checkName(tt.kind, "ARG", tt.value)
		if (err == nil) != tt.ok {
			t.Errorf("checkName(%q, %q) = %v, want ok %v", tt.kind, tt.value, err, tt.ok)
		}
	}
}
