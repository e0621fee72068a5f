package cli

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProgressWiring checks when a progress bar is drawn, with the terminal check faked: on standard
// error when it is a terminal, never with -o json or when it is not a terminal, and never on
// standard output.
func TestProgressWiring(t *testing.T) {
	tests := []struct {
		name     string
		output   string
		terminal bool
		want     bool
	}{
		{"terminal", outputTable, true, true},
		{"terminal, -o json", outputJSON, true, false},
		{"not a terminal", outputTable, false, false},
		{"not a terminal, -o json", outputJSON, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			var asked []io.Writer
			a := &app{stdout: &stdout, stderr: &stderr, opts: globalOptions{output: tt.output}}
			a.terminal = func(w io.Writer) bool {
				asked = append(asked, w)
				return tt.terminal
			}
			p := a.newProgress("verifying", "entries")
			if got := p.callback() != nil; got != tt.want {
				t.Fatalf("progress drawn = %v, want %v", got, tt.want)
			}
			p.update(10_000, 25_000) // does nothing on a nil progress
			if tt.want {
				if len(asked) != 1 || asked[0] != &stderr {
					t.Errorf("the terminal check was asked about %v, want standard error only", asked)
				}
				if got := stderr.String(); !strings.Contains(got, "verifying") || !strings.Contains(got, "10000/25000") {
					t.Errorf("stderr = %q, want a bar saying verifying 10000/25000", got)
				}
				before := stderr.Len()
				p.done() // as when the command fails part way
				if rest := stderr.String()[before:]; !erased(rest) {
					t.Errorf("done wrote %q, want the line erased", rest)
				}
				stderr.Reset()
				p = a.newProgress("verifying", "entries")
				p.update(25_000, 25_000)
				if got := stderr.String(); !strings.Contains(got, "0/25000") || !erased(got[strings.LastIndex(got, "|"):]) {
					t.Errorf("stderr = %q, want the bar drawn, then erased when full", got)
				}
				before = stderr.Len()
				p.done()
				if stderr.Len() != before {
					t.Errorf("done after a full bar wrote %q, want nothing more", stderr.String()[before:])
				}
			} else if stderr.Len() != 0 {
				t.Errorf("stderr = %q, want nothing", stderr.String())
			}
			p.done()
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing: progress goes to standard error", stdout.String())
			}
		})
	}
}

// erased reports whether the end of s erases the line: a carriage return, spaces, a carriage return.
func erased(s string) bool {
	i := strings.Index(s, "\r")
	return i >= 0 && strings.HasSuffix(s, "\r") && strings.TrimLeft(s[i:], "\r ") == ""
}

// TestProgressEmptyLog checks that a total of zero entries (an empty log) draws nothing rather than
// failing.
func TestProgressEmptyLog(t *testing.T) {
	var stderr bytes.Buffer
	a := &app{stderr: &stderr, terminal: func(io.Writer) bool { return true }, opts: globalOptions{output: outputTable}}
	p := a.newProgress("verifying", "entries")
	p.update(0, 0)
	p.done()
	if stderr.Len() != 0 {
		t.Errorf("stderr = %q, want nothing", stderr.String())
	}
}

// TestAuditVerifyProgress runs `candor audit verify` against a real server: through Execute, whose
// standard error is not a terminal, it prints nothing there, as with -o json; with standard error
// taken for a terminal the bar goes there and standard output holds only the summary.
func TestAuditVerifyProgress(t *testing.T) {
	s := newSession(t)
	p := s.setUp()
	key := filepath.Join(s.srv.DataDir, "log.pub")

	for _, args := range [][]string{{"audit", "verify", "--key", key}, {"audit", "verify", "--key", key, "-o", "json"}} {
		r := s.run(p.auditT, args...)
		if r.code != ExitOK || r.stderr != "" {
			t.Errorf("candor %s: exit %d, stderr %q; want 0 and nothing on stderr", strings.Join(args, " "), r.code, r.stderr)
		}
	}

	run := func(args ...string) result {
		var stdout, stderr bytes.Buffer
		a := &app{
			stdout: &stdout, stderr: &stderr, stdin: strings.NewReader(""),
			getenv:   func(string) string { return "" },
			now:      time.Now,
			loc:      time.UTC,
			terminal: func(w io.Writer) bool { return w == &stderr },
			userConfigDir: func() (string, error) {
				return "", io.ErrUnexpectedEOF
			},
		}
		code := a.run(context.Background(), append([]string{"--addr", s.srv.Addr, "--config-dir", s.cfg, "--token", p.auditT}, args...))
		return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
	}
	r := run("audit", "verify", "--key", key)
	if r.code != ExitOK {
		t.Fatalf("audit verify on a terminal: exit %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "verifying") || !erased(r.stderr[strings.LastIndex(r.stderr, "|"):]) {
		t.Errorf("stderr = %q, want a bar, erased at the end", r.stderr)
	}
	if strings.Contains(r.stdout, "verifying") || strings.Contains(r.stdout, "\r") || !strings.HasPrefix(r.stdout, "Log:") {
		t.Errorf("stdout = %q, want the summary alone", r.stdout)
	}
	if r := run("audit", "verify", "--key", key, "-o", "json"); r.code != ExitOK || r.stderr != "" {
		t.Errorf("audit verify -o json on a terminal: exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
	}
}
