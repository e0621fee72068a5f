package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runWithFile runs candor with --token-file file.
func (s *session) runWithFile(file string, args ...string) result {
	s.t.Helper()
	global := []string{"--addr", s.srv.Addr, "--config-dir", s.cfg, "--token-file", file}
	var stdout, stderr strings.Builder
	code := Execute(append(global, args...), &stdout, &stderr)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

func TestCredentialCommands(t *testing.T) {
	s := newSession(t)
	p := s.setUp()

	// token rotate with --token: the new token is printed once; the old one is refused.
	out := s.ok(p.aliceT, "token", "rotate")
	wantLines(t, "token rotate", out, "Participant:", p.alice, "Token:", "cnd_", "old token no longer works")
	newAlice := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(lineWith(out, "Token:")), "Token:"))
	s.refused("UNAUTHENTICATED", p.aliceT, "participant", "show")
	s.ok(newAlice, "participant", "show")

	// With --token-file, candor says to update the file; with --write-token-file, it writes it.
	dir := t.TempDir()
	file := filepath.Join(dir, "bob.token")
	if err := os.WriteFile(file, []byte(p.bobT+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := s.runWithFile(file, "token", "rotate")
	if r.code != ExitOK || !strings.Contains(r.stdout, "Update --token-file "+file) {
		t.Fatalf("token rotate --token-file: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	bobT := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(lineWith(r.stdout, "Token:")), "Token:"))
	if err := os.WriteFile(file, []byte(bobT+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = s.runWithFile(file, "token", "rotate", "--write-token-file", file)
	if r.code != ExitOK || strings.Contains(r.stdout, "Token:") || strings.Contains(r.stdout, "Update --token-file") {
		t.Fatalf("token rotate --write-token-file: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	if r := s.runWithFile(file, "participant", "show"); r.code != ExitOK {
		t.Fatalf("the written token file does not work: %s", r.stderr)
	}

	// participant reissue-token (admin).
	var reissued struct{ Token string }
	if err := json.Unmarshal([]byte(s.ok(p.admin, "participant", "reissue-token", p.carol, "-o", "json")), &reissued); err != nil || reissued.Token == "" {
		t.Fatalf("reissue-token -o json: %v", err)
	}
	s.refused("UNAUTHENTICATED", p.carolT, "participant", "show")
	s.refused("ADMIN_REQUIRED", p.chairT, "participant", "reissue-token", p.carol)

	// participant deactivate (admin): the record says so; writes are refused with the reason.
	call := s.jsonName("call", p.chairT, "call", "open", p.body, "--title", "Adopt the budget")
	wantLines(t, "deactivate", s.ok(p.admin, "participant", "deactivate", p.carol), "Deactivated:")
	s.refused("PARTICIPANT_DEACTIVATED", reissued.Token, "soi", "set", "--employer", "Elsewhere")
	s.refused("ALREADY_DEACTIVATED", p.admin, "participant", "deactivate", p.carol)

	// body remove-member (admin).
	out = s.ok(p.admin, "body", "remove-member", p.body, p.bob)
	wantLines(t, "remove-member", out, "Removed:", p.bob, "Calls already open keep the eligibility")
	s.refused("MEMBER_REMOVED", bobTokenFrom(t, file), "declare", call, "--conflict", "none")
	s.refused("MEMBER_NOT_FOUND", p.admin, "body", "remove-member", p.body, p.bob)
	// The auditor replays every one of these changes.
	wantLines(t, "audit verify", s.ok(p.auditT, "audit", "verify", "--key", filepath.Join(s.srv.DataDir, "log.pub")), "OK: ")
}

func bobTokenFrom(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
