package cli

import (
	"strings"
	"testing"
)

// TestCompletionScripts checks that `candor completion SHELL` prints each shell's script for candor
// on standard output, without a server and whatever the environment holds.
func TestCompletionScripts(t *testing.T) {
	tests := []struct {
		shell string
		want  string // a line only that shell's script for candor has
	}{
		{"bash", "complete -o default -F __start_candor candor"},
		{"zsh", "#compdef candor"},
		{"fish", "complete -c candor "},
	}
	for _, tt := range tests {
		t.Run(tt.shell, func(t *testing.T) {
			// A token candor would refuse must not stop the script: completion talks to no server.
			r := runCLI(t, map[string]string{envToken: "not a token"}, "", "completion", tt.shell)
			if r.code != ExitOK {
				t.Fatalf("exit code %d, want %d; stderr: %s", r.code, ExitOK, r.stderr)
			}
			if !strings.Contains(r.stdout, tt.want) {
				t.Errorf("the %s script does not contain %q; it begins:\n%.300s", tt.shell, tt.want, r.stdout)
			}
			if r.stderr != "" {
				t.Errorf("stderr = %q, want nothing", r.stderr)
			}
		})
	}
}

// TestCompletionRefusesUnknownShell checks that an unknown shell is a usage error, as an unknown
// subcommand of any other group is, rather than the help and success.
func TestCompletionRefusesUnknownShell(t *testing.T) {
	for _, args := range [][]string{{"completion", "tcsh"}, {"completion", "bash", "extra"}} {
		r := runCLI(t, nil, "", args...)
		if r.code != ExitUsage {
			t.Errorf("%v: exit code %d, want %d; stderr: %s", args, r.code, ExitUsage, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("%v: stdout = %q, want nothing", args, r.stdout)
		}
	}
}

// TestCompleteOutputValues checks a word the shell asks candor for at run time: the values of -o.
func TestCompleteOutputValues(t *testing.T) {
	r := runCLI(t, nil, "", "__complete", "participant", "list", "-o", "")
	if r.code != ExitOK {
		t.Fatalf("exit code %d, want %d; stderr: %s", r.code, ExitOK, r.stderr)
	}
	if got, want := r.stdout, "table\njson\n:4\n"; got != want {
		t.Errorf("completions = %q, want %q", got, want)
	}
}

// TestCompleteExportFormat checks the values the shell is offered for candor export --format.
func TestCompleteExportFormat(t *testing.T) {
	r := runCLI(t, nil, "", "__complete", "export", council, "--format", "")
	if r.code != ExitOK {
		t.Fatalf("exit code %d, want %d; stderr: %s", r.code, ExitOK, r.stderr)
	}
	if got, want := r.stdout, "jsonl\ncsv\n:4\n"; got != want {
		t.Errorf("completions = %q, want %q", got, want)
	}
}
