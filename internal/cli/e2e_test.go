package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/candorhq/candor/internal/testserver"
)

// This file runs whole sessions of candor against a real candord (internal/testserver: the daemon's
// full wiring on a real bbolt file and a loopback port), through Execute, as a user would. It checks
// exit codes and key lines; the exact layout of tables is the golden tests' job.

// session runs candor commands against one real server with one config folder.
type session struct {
	t   *testing.T
	srv *testserver.Server
	cfg string
}

func newSession(t *testing.T) *session {
	t.Helper()
	return &session{t: t, srv: testserver.Start(t), cfg: t.TempDir()}
}

// run runs candor with token (none when empty) and returns what it printed and its exit code.
func (s *session) run(token string, args ...string) result {
	s.t.Helper()
	global := []string{"--addr", s.srv.Addr, "--config-dir", s.cfg}
	if token != "" {
		global = append(global, "--token", token)
	}
	var stdout, stderr bytes.Buffer
	code := Execute(append(global, args...), &stdout, &stderr)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// ok runs a command that must succeed and returns its standard output.
func (s *session) ok(token string, args ...string) string {
	s.t.Helper()
	r := s.run(token, args...)
	if r.code != ExitOK {
		s.t.Fatalf("candor %s: exit %d\nstdout:\n%s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// refused runs a command the server must refuse with reason, and checks the one-sentence error.
func (s *session) refused(reason, token string, args ...string) string {
	s.t.Helper()
	r := s.run(token, args...)
	if r.code != ExitFailure {
		s.t.Errorf("candor %s: exit %d, want %d\nstdout:\n%s\nstderr: %s", strings.Join(args, " "), r.code, ExitFailure, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "("+reason+"): ") {
		s.t.Errorf("candor %s: stderr %q, want the reason %s", strings.Join(args, " "), r.stderr, reason)
	}
	checkOneSentence(s.t, r.stderr)
	if r.stdout != "" {
		s.t.Errorf("candor %s: a refusal printed on stdout: %q", strings.Join(args, " "), r.stdout)
	}
	return r.stderr
}

// jsonName runs a command with -o json and returns the "name" of the object under key.
func (s *session) jsonName(key, token string, args ...string) string {
	s.t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s.ok(token, append(args, "-o", "json")...)), &doc); err != nil {
		s.t.Fatal(err)
	}
	var obj struct{ Name string }
	if err := json.Unmarshal(doc[key], &obj); err != nil || obj.Name == "" {
		s.t.Fatalf("candor %s -o json: no %s.name (%v)", strings.Join(args, " "), key, err)
	}
	return obj.Name
}

// participant adds a participant as the admin and returns their name and token.
func (s *session) participant(display string) (name, token string) {
	s.t.Helper()
	var resp struct {
		Participant struct{ Name string }
		Token       string
	}
	out := s.ok(s.srv.AdminToken, "participant", "add", display, "-o", "json")
	if err := json.Unmarshal([]byte(out), &resp); err != nil || resp.Token == "" {
		s.t.Fatalf("participant add -o json: %v\n%s", err, out)
	}
	return resp.Participant.Name, resp.Token
}

// wantLines fails unless out contains each of subs, in this order.
func wantLines(t *testing.T, what, out string, subs ...string) {
	t.Helper()
	rest := out
	for _, sub := range subs {
		i := strings.Index(rest, sub)
		if i < 0 {
			t.Errorf("%s: want %q (in this order) in:\n%s", what, sub, out)
			return
		}
		rest = rest[i+len(sub):]
	}
}

// lineWith returns the first line of out that contains sub.
func lineWith(out, sub string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

type people struct {
	admin                                string
	chair, alice, bob, carol, auditor    string // names
	chairT, aliceT, bobT, carolT, auditT string // tokens
	body                                 string
}

// setUp adds a chair, three members in three stakeholder groups and an auditor, a body, and their
// Statements of Interest; Bob's names Example Registry Inc.
func (s *session) setUp() people {
	var p people
	p.admin = s.srv.AdminToken
	p.chair, p.chairT = s.participant("Chair Chidi")
	p.alice, p.aliceT = s.participant("Alice Adeyemi")
	p.bob, p.bobT = s.participant("Bob Brandt")
	p.carol, p.carolT = s.participant("Carol Chen")
	p.auditor, p.auditT = s.participant("Audra Auditor")
	wantLines(s.t, "auditor grant", s.ok(p.admin, "auditor", "grant", p.auditor), "Auditor:", "yes")
	p.body = s.jsonName("body", p.admin, "body", "create", "At-Large Advisory Committee")
	for _, m := range []struct{ who, role, group string }{
		{p.chair, "chair", "At-Large"}, {p.alice, "member", "At-Large"}, {p.bob, "member", "Registries"}, {p.carol, "member", "Registrars"},
	} {
		s.ok(p.admin, "body", "add-member", p.body, m.who, "--role", m.role, "--group", m.group)
	}
	s.ok(p.chairT, "soi", "set", "--employer", "University of Lagos", "--represents", "self")
	s.ok(p.aliceT, "soi", "set", "--employer", "Independent", "--group", "At-Large")
	s.ok(p.bobT, "soi", "set", "--employer", "Registry Services Ltd", "--interest", "Example Registry Inc.: shareholder")
	s.ok(p.carolT, "soi", "set", "--employer", "Registrar Co", "--job-title", "Policy lead")
	return p
}

// TestSessionAgainstRealServer runs the issue 2 and 4 sessions from the command line against a real
// server: a vote with a refused undeclared ballot, an affected-party match, a recusal, a close and the
// audit history; then a consensus call with an objection, a revision, finalisation, an appeal and a
// co-signed minority statement; then the review report, the receipts and the log's verification.
func TestSessionAgainstRealServer(t *testing.T) {
	s := newSession(t)
	p := s.setUp()

	// Unauthenticated and wrong-role calls are one sentence each.
	r := s.run("", "participant", "list")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "no token was given") {
		t.Errorf("no token: code %d, stderr %q", r.code, r.stderr)
	}
	s.refused("ADMIN_REQUIRED", p.aliceT, "body", "create", "Rogue body")

	// A vote under the RECUSE policy, affecting a party Bob's SOI names.
	vote := s.jsonName("call", p.chairT, "call", "open", p.body, "--title", "Budget FY27", "--conflict-policy", "recuse",
		"--affected-party", "Example Registry, Inc.", "--quorum", "2", "--closes-in", "1h")
	stderr := s.refused("DECLARATION_REQUIRED", p.aliceT, "vote", vote, "yes")
	if !strings.Contains(stderr, `run "candor declare `+vote+` --conflict none|potential|actual" first`) {
		t.Errorf("the undeclared ballot's refusal does not say what to do: %q", stderr)
	}
	s.refused("EXPLANATION_REQUIRED", p.bobT, "declare", vote, "--conflict", "none")
	wantLines(t, "bob's recusal", s.ok(p.bobT, "declare", vote, "--conflict", "actual", "--recuse", "--description", "Shareholder of Example Registry Inc."),
		"Conflict:", "actual", "Intent:", "recuse", "receipt: ")
	s.refused("RECUSED", p.bobT, "vote", vote, "yes")
	s.ok(p.aliceT, "declare", vote, "--conflict", "none")
	s.ok(p.chairT, "declare", vote, "--conflict", "none")
	s.ok(p.carolT, "declare", vote, "--conflict", "potential", "--description", "My employer is a registrar")
	if r := s.run(p.aliceT, "vote", vote, "maybe"); r.code != ExitUsage || !strings.Contains(r.stderr, `(UNKNOWN_OPTION): "maybe" is not one of this call's options`) {
		t.Errorf("vote for an unknown option: code %d, stderr %q", r.code, r.stderr)
	}
	s.ok(p.aliceT, "vote", vote, "yes")
	s.ok(p.chairT, "vote", vote, "yes")
	s.ok(p.carolT, "vote", vote, "no")
	s.refused("WRONG_CALL_KIND", p.aliceT, "position", vote, "support")

	show := s.ok(p.chairT, "call", "show", vote)
	wantLines(t, "call show (open vote)", show, "State:", "open", "Roster:", "AFFECTED-PARTY MATCHES")
	if l := lineWith(show, p.bob); !strings.Contains(l, "Example Registry, Inc.") || !strings.Contains(l, "recuse") {
		t.Errorf("roster line for Bob lacks the affected-party match or the recusal: %q", l)
	}
	// The line ends AFFECTED-PARTY MATCHES, STATUS.
	if f := strings.Fields(lineWith(show, p.alice)); len(f) < 2 || f[len(f)-2] != "-" || f[len(f)-1] != "active" {
		l := strings.Join(f, " ")
		t.Errorf("roster line for Alice shows a match: %q", l)
	}

	closed := s.ok(p.chairT, "call", "close", vote)
	wantLines(t, "call close", closed, "Outcome:", "decided: yes", "Quorum:", "2 (met)", "Recused:", p.bob,
		"OPTION", "yes", "2", "Ballots counted under a declared conflict or a stale declaration:", p.carol, "no", "potential",
		"By stakeholder group:", "GROUP")
	if l := lineWith(closed, "Registries"); !strings.Contains(l, "yes 0, no 0, abstain 0") || !strings.Contains(strings.Join(strings.Fields(l), " "), "Registries 1 1 1 1") {
		t.Errorf("the Registries group should show one eligible, declared, conflicted, recused member: %q", l)
	}
	s.refused("CALL_CLOSED", p.aliceT, "vote", vote, "no")

	hist := s.ok(p.auditT, "audit", "history", p.bob)
	wantLines(t, "audit history", hist, "LOG INDEX", "Budget FY27", "actual", "recuse")
	// A fellow member reads it too, for the calls of bodies they share (docs/permissions.md).
	wantLines(t, "audit history as a fellow member", s.ok(p.aliceT, "audit", "history", p.bob), "Budget FY27", "actual", "recuse")
	wantLines(t, "audit call", s.ok(p.auditT, "audit", "call", vote), "call-opened", "declaration", "ballot", "call-closed", "outcome decided: yes")

	// A consensus call.
	cons := s.jsonName("call", p.chairT, "call", "open", p.body, "--title", "Recommendation 7", "--kind", "consensus",
		"--affected-party", "Example Registry Inc.")
	s.refused("DECLARATION_REQUIRED", p.aliceT, "position", cons, "support")
	s.ok(p.chairT, "declare", cons, "--conflict", "none")
	s.ok(p.aliceT, "declare", cons, "--conflict", "none")
	s.ok(p.bobT, "declare", cons, "--conflict", "potential", "--description", "Shareholder of Example Registry Inc.")
	s.ok(p.carolT, "declare", cons, "--conflict", "none")
	wantLines(t, "position", s.ok(p.chairT, "position", cons, "support"), "Position:", "support", "receipt: ")
	s.ok(p.aliceT, "position", cons, "support-with-concerns", "--comment", "The timeline is tight")
	s.ok(p.bobT, "position", cons, "oppose", "--comment", "The cost falls on registries")
	s.refused("WRONG_CALL_KIND", p.bobT, "vote", cons, "yes")

	text := filepath.Join(t.TempDir(), "dissent.txt")
	if err := os.WriteFile(text, []byte("The registries dissent: the cost falls on us.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.refused("COSIGNER_WITHOUT_POSITION", p.bobT, "minority", "file", cons, "--text-file", text, "--cosigner", p.carol)
	s.refused("POSITION_REQUIRED", p.carolT, "minority", "file", cons, "--text-file", text)
	s.ok(p.carolT, "position", cons, "support")
	statement := s.jsonName("minorityStatement", p.bobT, "minority", "file", cons, "--text-file", text, "--cosigner", p.carol)
	s.refused("NOT_COSIGNER", p.aliceT, "minority", "sign", statement)
	wantLines(t, "minority sign", s.ok(p.carolT, "minority", "sign", statement), "Co-signers:", p.carol+": signed")
	s.refused("ALREADY_SIGNED", p.carolT, "minority", "sign", statement)

	s.refused("CALL_STILL_OPEN", p.chairT, "call", "propose", cons, "--designation", "consensus", "--rationale", "Most agree")
	wantLines(t, "close consensus", s.ok(p.chairT, "call", "close", cons),
		"Designation:", "none proposed yet", "Positions counted:", "4", "POSITION", "support", "2", "oppose", "1")
	s.refused("NOT_CHAIR", p.aliceT, "call", "propose", cons, "--designation", "consensus", "--rationale", "Most agree")
	s.refused("NO_PROPOSAL", p.bobT, "call", "object", cons, "--reason", "Too early")
	wantLines(t, "propose", s.ok(p.chairT, "call", "propose", cons, "--designation", "full-consensus", "--rationale", "Nearly everyone supports", "--objection-window", "1h"),
		"Designation:", "full-consensus (proposed, revision 1)", "Final:", "not yet")
	s.ok(p.bobT, "call", "object", cons, "--reason", "I opposed, so it is not full consensus")
	s.refused("OBJECTION_WINDOW_OPEN", p.chairT, "call", "finalize", cons)
	s.ok(p.chairT, "call", "propose", cons, "--designation", "consensus", "--rationale", "One member opposes: a small minority", "--objection-window", "1s")
	time.Sleep(1100 * time.Millisecond)
	s.refused("OBJECTION_WINDOW_CLOSED", p.bobT, "call", "object", cons, "--reason", "Late")
	s.refused("DESIGNATION_NOT_FINAL", p.bobT, "call", "appeal", cons, "--reason", "Too early")
	wantLines(t, "finalize", s.ok(p.chairT, "call", "finalize", cons), "Designation:", "consensus (final, revision 2)", "Final:", "consensus (revision 2)")
	s.refused("DESIGNATION_FINAL", p.chairT, "call", "propose", cons, "--designation", "divergence", "--rationale", "Changed my mind")
	s.ok(p.bobT, "call", "appeal", cons, "--reason", "The registries' cost was not weighed")

	show = s.ok(p.auditT, "call", "show", cons)
	wantLines(t, "call show (consensus)", show,
		"Kind:", "consensus", "Designation:", "consensus (final, revision 2), appealed (1)",
		"Result:", "Positions counted:", "4",
		"By stakeholder group:", "POSITIONS",
		"Designation record:", "1", "full-consensus", "Nearly everyone supports", "2", "consensus", "One member opposes",
		"Objections:", "1", p.bob, "I opposed, so it is not full consensus",
		"Final:", "consensus (revision 2)",
		"Appeals:", p.bob, "The registries' cost was not weighed",
		"Minority statements:", statement, "Author:", p.bob, "Co-signers:", p.carol, "signed",
		"The registries dissent", "Roster:", "STATED")
	if l := lineWith(show, "Registries"); !strings.Contains(l, "oppose 1") {
		t.Errorf("the Registries group should show Bob's opposition: %q", l)
	}
	wantLines(t, "audit call (consensus)", s.ok(p.auditT, "audit", "call", cons),
		"position", "minority-statement-filed", "minority-statement-signed", "call-closed",
		"designation-proposed", "objection", "designation-proposed", "designation-finalized", "appeal")

	// The review report, as a table and as JSON.
	today := time.Now().Format(dateLayout)
	rep := s.ok(p.chairT, "report", "review", p.body, "--from", today, "--to", today)
	wantLines(t, "report review", rep, "Calls:", "2", "KIND", "vote", "decided", "consensus", "consensus",
		"GROUP", "Registries", "Designations objected to:", cons, "Designations appealed:", cons)
	wantLines(t, "report review as a member", s.ok(p.aliceT, "report", "review", p.body), "Calls:", "2") // docs/permissions.md
	var doc struct {
		Report struct {
			Calls         int
			ObjectedCalls []string
			Groups        []struct{ StakeholderGroup string }
		}
	}
	if err := json.Unmarshal([]byte(s.ok(p.auditT, "report", "review", p.body, "-o", "json")), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Report.Calls != 2 || len(doc.Report.ObjectedCalls) != 1 || len(doc.Report.Groups) != 3 {
		t.Errorf("review report JSON: %+v", doc.Report)
	}
	wantLines(t, "call list", s.ok(p.chairT, "call", "list", p.body), "Budget FY27", "vote", "decided: yes", "Recommendation 7", "consensus", "consensus (final, revision 2)")

	s.checkLog(t, p)
}

// checkLog checks the receipts the session saved and the whole log, as a participant and an auditor
// would.
func (s *session) checkLog(t *testing.T, p people) {
	key := filepath.Join(s.srv.DataDir, "log.pub")

	// Receipts live in one folder per log origin.
	folders, err := os.ReadDir(filepath.Join(s.cfg, "receipts"))
	if err != nil || len(folders) != 1 || folders[0].Name() != originFolder("candor.test/log") {
		t.Fatalf("receipt folders = %v (%v), want one, %s", folders, err, originFolder("candor.test/log"))
	}
	dir := filepath.Join(s.cfg, "receipts", folders[0].Name())
	files, _ := os.ReadDir(dir)
	if len(files) < 40 {
		t.Errorf("%d receipts saved, want one per accepted write", len(files))
	}
	receipt := filepath.Join(dir, "3.json")
	wantLines(t, "audit receipt --key", s.ok(p.bobT, "audit", "receipt", receipt, "--key", key),
		"Entry:", "3: ", "Included:", "yes", "Still in the log:", "yes", "Signatures:", "both checkpoints are signed by the key given")
	wantLines(t, "audit receipt without key", s.ok(p.bobT, "audit", "receipt", receipt), "Still in the log:", "yes", "Signatures:", "not checked")

	// Without --addr (or CANDOR_ADDR), candor does not follow the address inside the receipt: it
	// would send the caller's token to a server the receipt's author chose. It says so and stops.
	t.Setenv(envAddr, "")
	var stdout, stderr bytes.Buffer
	if code := Execute([]string{"--token", p.bobT, "--config-dir", s.cfg, "audit", "receipt", receipt, "--key", key}, &stdout, &stderr); code != ExitFailure ||
		!strings.Contains(stderr.String(), "came from the server at "+s.srv.Addr) || !strings.Contains(stderr.String(), "--addr "+s.srv.Addr) {
		t.Errorf("audit receipt without --addr: exit %d, stdout:\n%s\nstderr: %s", code, stdout.String(), stderr.String())
	}

	cp := s.ok(p.bobT, "audit", "checkpoint", "--key", key)
	if !strings.HasPrefix(cp, "candor.test/log\n") || !strings.Contains(cp, "\n\n— candor.test/log ") {
		t.Errorf("audit checkpoint did not print the signed note:\n%s", cp)
	}

	// The whole log verifies, twice: the second run checks it extends the first.
	out := s.ok(p.auditT, "audit", "verify", "--key", key)
	wantLines(t, "audit verify", out, "Log:", "candor.test/log", "Entries verified:", "Previous checkpoint:", "none: first verification",
		"Calls:", "2 (0 open)", "Ballots:", "3", "Positions:", "4", "Results recomputed:", "2",
		"Designations:", "2 proposed, 1 objections, 1 final, 1 appeals", "Minority statements:", "1, 1 co-signatures", "OK: ")
	s.ok(p.aliceT, "declare", s.jsonName("call", p.chairT, "call", "open", p.body, "--title", "Another"), "--conflict", "none")
	wantLines(t, "audit verify again", s.ok(p.auditT, "audit", "verify", "--key", key), "Previous checkpoint:", "entries, verified before: this log extends it", "OK: ")
	var sum struct {
		TreeSize, Entries int64
		Declarations      int
		Positions         int
	}
	if err := json.Unmarshal([]byte(s.ok(p.admin, "audit", "verify", "--key", key, "-o", "json")), &sum); err != nil || sum.Entries != sum.TreeSize || sum.Declarations != 9 || sum.Positions != 4 {
		t.Errorf("audit verify -o json: %+v (%v)", sum, err)
	}
	s.refused("AUDITOR_REQUIRED", p.aliceT, "audit", "verify", "--key", key)

	// A key that did not sign this log fails verification, in one sentence.
	_, vkey, err := note.GenerateKey(rand.Reader, "candor.test/log")
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other.pub")
	if err := os.WriteFile(other, []byte(vkey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for what, args := range map[string][]string{
		"log":        {"audit", "verify", "--key", other},
		"receipt":    {"audit", "receipt", receipt, "--key", other},
		"checkpoint": {"audit", "checkpoint", "--key", other},
	} {
		r := s.run(p.auditT, args...)
		if r.code != ExitFailure || !strings.HasPrefix(r.stderr, "candor: the "+what+" failed verification: ") {
			t.Errorf("candor %s: code %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
		}
		checkOneSentence(t, r.stderr)
	}
}
