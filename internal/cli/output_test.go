package cli

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// checkGolden compares got with testdata/name.golden, or rewrites the file with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("output differs from %s (-want +got):\n%s", path, diff)
	}
}

// TestGoldenOutput runs commands against the fake server and compares what they print with golden files.
// The config folder in receipt lines is printed as $CONFIG.
func TestGoldenOutput(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"participant-add", []string{"participant", "add", "Alice Adeyemi", "--email", "alice@example.org"}},
		{"participant-list", []string{"participant", "list"}},
		{"participant-list-json", []string{"participant", "list", "-o", "json"}},
		{"participant-show", []string{"participant", "show"}},
		{"auditor-grant", []string{"auditor", "grant", carol}},
		{"body-create", []string{"body", "create", "At-Large Advisory Committee"}},
		{"body-add-member", []string{"body", "add-member", council, bob, "--role", "member", "--group", "Registries"}},
		{"body-list", []string{"body", "list"}},
		{"body-members", []string{"body", "members", council}},
		{"soi-set", []string{"soi", "set", "--employer", "Independent Ltd"}},
		{"soi-show", []string{"soi", "show"}},
		{"soi-show-json", []string{"soi", "show", alice, "-o", "json"}},
		{"soi-history", []string{"soi", "history", alice}},
		{"call-open", []string{"call", "open", council, "--title", "Budget FY27"}},
		{"call-show-open", []string{"call", "show", openCall}},
		{"call-show-closed", []string{"call", "show", closedCall}},
		{"call-show-json", []string{"call", "show", closedCall, "-o", "json"}},
		{"call-list", []string{"call", "list", council}},
		{"call-close", []string{"call", "close", closedCall}},
		{"call-clear", []string{"call", "clear", openCall, alice, "--note", "Holding is below the 1% threshold."}},
		{"declare", []string{"declare", openCall, "--conflict", "potential", "--description", "Shareholder of Example Registry Inc., an affected party."}},
		{"declare-json", []string{"declare", openCall, "--conflict", "potential", "-o", "json"}},
		{"vote", []string{"vote", openCall, "yes"}},
		{"audit-history", []string{"audit", "history", alice}},
		{"audit-call", []string{"audit", "call", closedCall}},
		{"call-show-consensus", []string{"call", "show", consCall}},
		{"call-show-consensus-json", []string{"call", "show", consCall, "-o", "json"}},
		{"position", []string{"position", consCall, "oppose", "--comment", "The cost falls on registries."}},
		{"call-propose", []string{"call", "propose", consCall, "--designation", "full-consensus", "--rationale", "Every position but one supports the recommendation.", "--objection-window", "1h"}},
		{"call-object", []string{"call", "object", consCall, "--reason", "I opposed, so it is not full consensus."}},
		{"call-finalize", []string{"call", "finalize", consCall}},
		{"call-appeal", []string{"call", "appeal", consCall, "--reason", "The registries' cost was not weighed."}},
		{"minority-file", []string{"minority", "file", consCall, "--text-file", "-", "--cosigner", dave, "--cosigner", alice}},
		{"minority-sign", []string{"minority", "sign", minority}},
		{"audit-call-consensus", []string{"audit", "call", consCall}},
		{"report-review", []string{"report", "review", council, "--from", "2026-03-01", "--to", "2026-03-01"}},
		{"report-review-json", []string{"report", "review", council, "-o", "json"}},
	}
	addr, _ := startFake(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"--addr", addr, "--token", "tok", "--config-dir", dir}, tt.args...)
			r := runCLI(t, nil, "We dissent: the cost falls on registries.\n\nWe ask for a phased start.\n", args...)
			if r.code != ExitOK {
				t.Fatalf("exit code %d, stderr: %s", r.code, r.stderr)
			}
			out := strings.ReplaceAll(r.stdout, dir, "$CONFIG")
			checkGolden(t, tt.name, out)
			if strings.HasSuffix(tt.name, "-json") && strings.Contains(r.stdout, "receipt:") {
				t.Errorf("with -o json, stdout must hold only the JSON document; got a receipt line:\n%s", r.stdout)
			}
		})
	}
}

// TestJSONNotices checks that with -o json the remarks around the answer go to stderr, so that stdout
// is one JSON document.
func TestJSONNotices(t *testing.T) {
	addr, _ := startFake(t, nil)
	dir := t.TempDir()
	r := runCLI(t, nil, "", "--addr", addr, "--config-dir", dir, "-o", "json", "participant", "add", "Alice Adeyemi")
	if r.code != ExitOK {
		t.Fatalf("exit code %d, stderr: %s", r.code, r.stderr)
	}
	for _, want := range []string{"shown once", "receipt: " + filepath.Join(dir, "receipts", "candor.example_log-9e2ba541", "1.json") + " (log index 1)"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr = %q, want it to contain %q", r.stderr, want)
		}
	}
	if !strings.HasPrefix(r.stdout, "{") || !strings.HasSuffix(r.stdout, "}\n") || !strings.Contains(r.stdout, `"token": "cnd_tok_example"`) {
		t.Errorf("stdout is not the JSON answer with the token:\n%s", r.stdout)
	}
}
