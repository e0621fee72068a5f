package web_test

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/internal/cli"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestVoteBeforeDeclaring checks that a ballot without a declaration is refused by the server, that
// the page says the server's DECLARATION_REQUIRED sentence beside the ballot form, and that nothing
// was written.
func TestVoteBeforeDeclaring(t *testing.T) {
	h := newHarness(t)
	call := h.world.OpenVote(t, nil)
	alice := h.signIn(h.world.Alice.Token)

	p := alice.submit(path(call.Name), path(call.Name)+"/vote", url.Values{"option": {"yes"}})
	reason, sentence := refusalOf(p.body)
	if reason != "DECLARATION_REQUIRED" {
		t.Errorf("refusal reason = %q, want DECLARATION_REQUIRED", reason)
	}
	if want := "No current declaration for this call."; sentence != want {
		t.Errorf("refusal sentence = %q, want %q", sentence, want)
	}
	if !strings.Contains(p.body, `id="vote"`) || strings.Index(p.body, sentence) < strings.Index(p.body, `id="vote"`) {
		t.Errorf("the refusal is not inside the ballot form")
	}
	if receiptRE.MatchString(p.body) {
		t.Errorf("a refused ballot shows a receipt")
	}
	if e := h.roster(call.Name)[h.world.Names["alice"]]; e.GetVoted() || e.GetDeclaration() != nil {
		t.Errorf("after a refused ballot the roster says declared=%v voted=%v", e.GetDeclaration() != nil, e.GetVoted())
	}
	// The refusal is shown once: a reload is the plain page.
	if reason, _ := refusalOf(alice.get(path(call.Name)).body); reason != "" {
		t.Errorf("the refusal was shown again after a reload")
	}
	h.checkNoTokenLeaked()
}

// TestDeclareThenVote declares with one click (SOI unchanged since version N), votes, and checks
// each write's receipt on the page, then feeds the downloaded receipt to `candor audit receipt`.
func TestDeclareThenVote(t *testing.T) {
	h := newHarness(t)
	call := h.world.OpenVote(t, nil)
	alice := h.signIn(h.world.Alice.Token)
	from := path(call.Name)

	p := alice.submit(from, from+"/declare", url.Values{
		"restate": {"unchanged"}, "soi_hash": {soiHash(t, alice, from)}, "conflict_level": {"NONE"},
	})
	if reason, s := refusalOf(p.body); reason != "" || s != "" {
		t.Fatalf("declaration refused: %s %s", reason, s)
	}
	if !strings.Contains(p.body, "Your declaration is on the record.") {
		t.Errorf("no confirmation after declaring")
	}
	p = alice.submit(from, from+"/vote", url.Values{"option": {"yes"}})
	if !strings.Contains(p.body, "Your ballot (yes) is on the record.") {
		t.Fatalf("no confirmation after voting:\n%s", p.body)
	}
	m := receiptRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no receipt link after voting")
	}
	if !regexp.MustCompile(`log index <strong>` + m[1] + `</strong> in the log <code>candor.test/log</code>, checkpoint tree size <strong>\d+</strong>`).MatchString(p.body) {
		t.Errorf("the receipt's log index, origin and tree size are not shown")
	}
	e := h.roster(call.Name)[h.world.Names["alice"]]
	if e.GetDeclaration() == nil || !e.GetVoted() {
		t.Errorf("roster after declaring and voting: declared=%v voted=%v", e.GetDeclaration() != nil, e.GetVoted())
	}

	dl := alice.get("/receipts/" + m[1])
	if dl.status != http.StatusOK || dl.header.Get("Content-Type") != "application/json" ||
		!strings.Contains(dl.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("receipt download: status %d, headers %v", dl.status, dl.header)
	}
	file := filepath.Join(t.TempDir(), "receipt.json")
	if err := os.WriteFile(file, []byte(dl.body), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := cli.Execute([]string{"--config-dir", t.TempDir(), "--addr", h.srv.Addr, "--token", h.world.Alice.Token,
		"audit", "receipt", file, "--key", filepath.Join(h.srv.DataDir, "log.pub")}, &stdout, &stderr)
	if code != cli.ExitOK {
		t.Fatalf("candor audit receipt: exit %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}
	if out := stdout.String(); !strings.Contains(out, "ballot by "+h.world.Names["alice"]) || !strings.Contains(out, "signed by the key given") {
		t.Errorf("candor audit receipt did not check alice's ballot with the key:\n%s", out)
	}

	// Another session has no such receipt.
	if p := h.signIn(h.world.Bob.Token).get("/receipts/" + m[1]); p.status != http.StatusNotFound {
		t.Errorf("another session's receipt: status %d, want 404", p.status)
	}
	h.checkNoTokenLeaked()
}

var soiHashRE = regexp.MustCompile(`name="soi_hash" value="([0-9a-f]+)"`)

// soiHash reads the pinned SOI hash the call page offers to restate.
func soiHash(t *testing.T, b *browser, from string) string {
	t.Helper()
	m := soiHashRE.FindStringSubmatch(b.get(from).body)
	if m == nil {
		t.Fatal("the call page offers no SOI hash to restate")
	}
	return m[1]
}

// rowOf returns the roster row of participant on a page.
func rowOf(t *testing.T, body, participant string) string {
	t.Helper()
	i := strings.Index(body, `data-participant="`+participant+`"`)
	if i < 0 {
		t.Fatalf("no roster row for %s", participant)
	}
	row := body[i:]
	if j := strings.Index(row, "</tr>"); j >= 0 {
		row = row[:j]
	}
	return row
}

// TestRosterShowsState checks the chair's roster rows: declared or not, conflict level, stale,
// affected-party matches, voted.
func TestRosterShowsState(t *testing.T) {
	h := newHarness(t)
	w := h.world
	call := w.OpenVote(t, &candorv1.Call{AffectedParties: []string{"Registry Inc"}})
	w.Declare(t, w.Alice, call.Name, candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL, candorv1.Intent_INTENT_PARTICIPATE)
	w.Declare(t, w.Bob, call.Name, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.Intent_INTENT_PARTICIPATE)
	if _, err := w.Alice.Calls.CastBallot(w.Alice.Ctx(t), &candorv1.CastBallotRequest{Call: call.Name, Option: "no"}); err != nil {
		t.Fatal(err)
	}
	// Bob's SOI changes after he declared (and names an affected party): his declaration is stale.
	if _, err := w.Bob.Participants.UpdateStatementOfInterest(w.Bob.Ctx(t), &candorv1.UpdateStatementOfInterestRequest{
		StatementOfInterest: &candorv1.StatementOfInterest{Employer: "Registry Inc", Interests: []*candorv1.Interest{{Organization: "Registry Inc", Nature: "employee"}}},
	}); err != nil {
		t.Fatal(err)
	}
	p := h.signIn(w.Chair.Token).get(path(call.Name))
	tests := []struct {
		who     string
		want    []string
		notWant []string
	}{
		{"alice", []string{"Declared", "Potential", "Voted"}, []string{"Not yet</span>", "Stale"}},
		{"bob", []string{"Stale: must declare again", "Registry Inc"}, []string{"Voted"}},
		{"carol", []string{"Not yet"}, []string{"Declared", "Voted"}},
	}
	for _, tc := range tests {
		row := rowOf(t, p.body, w.Names[tc.who])
		for _, s := range tc.want {
			if !strings.Contains(row, s) {
				t.Errorf("%s's row lacks %q:\n%s", tc.who, s, row)
			}
		}
		for _, s := range tc.notWant {
			if strings.Contains(row, s) {
				t.Errorf("%s's row shows %q:\n%s", tc.who, s, row)
			}
		}
	}
	if !strings.Contains(p.body, "1 of 4 declared, 1 stale (must declare again), 2 not yet; 1 voted; 1 declared a conflict.") {
		t.Errorf("roster summary wrong:\n%s", p.body[strings.Index(p.body, `class="summary"`):][:200])
	}
}

// TestOpenCallForm opens a call through the form with every option the CLI has and reads it back
// over gRPC; a narrowed eligibility without a justification is refused with the server's sentence.
func TestOpenCallForm(t *testing.T) {
	h := newHarness(t)
	w := h.world
	chair := h.signIn(w.Chair.Token)
	newPage := path(w.Body) + "/calls/new"
	action := path(w.Body) + "/calls"

	p := chair.submit(newPage, action, url.Values{
		"title": {"Pick a venue"}, "eligible": {w.Names["alice"], w.Names["bob"]},
	})
	if reason, _ := refusalOf(p.body); reason != "JUSTIFICATION_REQUIRED" && reason != "INVALID_ARGUMENT" {
		t.Errorf("narrowed call without justification: reason %q, want JUSTIFICATION_REQUIRED", reason)
	}
	if !strings.Contains(p.body, `value="Pick a venue"`) {
		t.Errorf("the refused form was not filled in again")
	}

	before := time.Now()
	p = chair.submit(newPage, action, url.Values{
		"kind": {"vote"}, "title": {"Pick a venue"}, "matter": {"Where we meet next."},
		"options": {"Lisbon\nKigali\n\nabstain"}, "affected_parties": {"Venue A\nVenue B"},
		"conflict_policy": {"review"}, "closes_in_hours": {"2"}, "quorum": {"2"}, "threshold": {"two-thirds"},
		"eligible": {w.Names["alice"], w.Names["bob"]}, "justification": {"Only the venue committee votes."},
	})
	if reason, s := refusalOf(p.body); reason != "" {
		t.Fatalf("open refused: %s %s", reason, s)
	}
	calls, err := w.Chair.Calls.ListCalls(w.Chair.Ctx(t), &candorv1.ListCallsRequest{Body: w.Body})
	if err != nil || len(calls.Calls) != 1 {
		t.Fatalf("ListCalls: %v, %d calls", err, len(calls.GetCalls()))
	}
	c := calls.Calls[0]
	if got := strings.Join(c.Options, ","); got != "Lisbon,Kigali,abstain" {
		t.Errorf("options = %s", got)
	}
	if got := strings.Join(c.AffectedParties, ","); got != "Venue A,Venue B" {
		t.Errorf("affected parties = %s", got)
	}
	if c.ConflictPolicy != candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW || c.Threshold != candorv1.Threshold_THRESHOLD_TWO_THIRDS || c.Quorum != 2 {
		t.Errorf("policy %v, threshold %v, quorum %d", c.ConflictPolicy, c.Threshold, c.Quorum)
	}
	if d := c.Deadline.AsTime().Sub(before); d < 119*time.Minute || d > 121*time.Minute+time.Minute {
		t.Errorf("deadline %v after the request, want about 2h", d)
	}
	if !c.EligibilityRestricted || len(c.EligibleParticipants) != 2 || c.EligibilityJustification != "Only the venue committee votes." {
		t.Errorf("eligibility: restricted %v, %d eligible, justification %q", c.EligibilityRestricted, len(c.EligibleParticipants), c.EligibilityJustification)
	}
	if !strings.Contains(p.body, "Pick a venue") || !strings.Contains(p.body, "The call is open and on the record.") {
		t.Errorf("the redirect did not lead to the new call's page")
	}

	// A member who is not a chair is refused by the server, and the page says so.
	alice := h.signIn(w.Alice.Token)
	p = alice.submit(newPage, action, url.Values{"title": {"Not mine to open"}})
	if reason, _ := refusalOf(p.body); reason != "NOT_CHAIR" {
		t.Errorf("a member opening a call: reason %q, want NOT_CHAIR", reason)
	}
}

// TestReviewClearance: under REVIEW, a conflicted member's ballot waits for the chair's ruling,
// which the chair gives from the roster row.
func TestReviewClearance(t *testing.T) {
	h := newHarness(t)
	w := h.world
	call := w.OpenVote(t, &candorv1.Call{ConflictPolicy: candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW})
	w.Declare(t, w.Alice, call.Name, candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL, candorv1.Intent_INTENT_PARTICIPATE)
	alice := h.signIn(w.Alice.Token)
	from := path(call.Name)

	p := alice.submit(from, from+"/vote", url.Values{"option": {"yes"}})
	if reason, _ := refusalOf(p.body); reason != "DECLARATION_NOT_CLEARED" {
		t.Errorf("uncleared ballot: reason %q, want DECLARATION_NOT_CLEARED", reason)
	}
	chair := h.signIn(w.Chair.Token)
	if row := rowOf(t, chair.get(from).body, w.Names["alice"]); !strings.Contains(row, "Require recusal") {
		t.Fatalf("the chair is offered no ruling on alice's row:\n%s", row)
	}
	p = chair.submit(from, from+"/clear", url.Values{"participant": {w.Names["alice"]}, "decision": {"cleared"}, "note": {"Minor"}})
	if !strings.Contains(p.body, "Your ruling (Cleared) is on the record.") {
		t.Fatalf("no confirmation of the ruling")
	}
	if row := rowOf(t, p.body, w.Names["alice"]); !strings.Contains(row, "Cleared") {
		t.Errorf("alice's row does not show the clearance:\n%s", row)
	}
	p = alice.submit(from, from+"/vote", url.Values{"option": {"yes"}})
	if !strings.Contains(p.body, "Your ballot (yes) is on the record.") {
		t.Errorf("cleared ballot not accepted")
	}
}

// TestSOIForm files SOI versions through the form, with interests in several rows, and checks a
// refusal names the field.
func TestSOIForm(t *testing.T) {
	h := newHarness(t)
	alice := h.signIn(h.world.Alice.Token)
	p := alice.submit("/soi", "/soi", url.Values{
		"employer": {"Example Registry"}, "job_title": {"Counsel"}, "represents": {"self"},
		"stakeholder_groups": {"At-Large\nRegistries"}, "other_interests": {"Board of a charity"},
		"interest_org": {"Registry A", "", "Registrar B"}, "interest_nature": {"shareholder", "", "adviser"},
	})
	if !strings.Contains(p.body, "Your Statement of Interest version 2 is on the record.") {
		t.Fatalf("no confirmation:\n%s", p.body)
	}
	soi, err := h.world.Alice.Participants.GetStatementOfInterest(h.world.Alice.Ctx(t), &candorv1.GetStatementOfInterestRequest{})
	if err != nil {
		t.Fatal(err)
	}
	s := soi.StatementOfInterest
	if s.Version != 2 || s.Employer != "Example Registry" || len(s.Interests) != 2 || s.Interests[1].Organization != "Registrar B" ||
		strings.Join(s.StakeholderGroups, ",") != "At-Large,Registries" {
		t.Errorf("stored SOI = %v", s)
	}

	p = alice.submit("/soi", "/soi", url.Values{"interest_org": {""}, "interest_nature": {"shareholder"}})
	reason, sentence := refusalOf(p.body)
	if reason != "INVALID_ARGUMENT" || !strings.HasPrefix(sentence, "Organisation: ") {
		t.Errorf("interest without organisation: %s %q, want a field sentence naming Organisation", reason, sentence)
	}
}

// TestConsensusWorkflow runs a consensus call through the web app: positions, close, proposal,
// objection, finalisation, appeal, and a minority statement with a co-signer who signs.
func TestConsensusWorkflow(t *testing.T) {
	h := newHarness(t)
	w := h.world
	call := w.OpenVote(t, &candorv1.Call{Kind: candorv1.CallKind_CALL_KIND_CONSENSUS})
	from := path(call.Name)
	alice, bob, chair := h.signIn(w.Alice.Token), h.signIn(w.Bob.Token), h.signIn(w.Chair.Token)
	for _, b := range []*browser{alice, bob} {
		b.submit(from, from+"/declare", url.Values{"restate": {"unchanged"}, "soi_hash": {soiHash(t, b, from)}, "conflict_level": {"NONE"}})
	}
	p := bob.submit(from, from+"/position", url.Values{"position": {"OPPOSE"}})
	if reason, _ := refusalOf(p.body); reason != "INVALID_ARGUMENT" && reason != "COMMENT_REQUIRED" {
		t.Errorf("oppose without comment: reason %q", reason)
	}
	for _, step := range []struct {
		b    *browser
		form url.Values
	}{
		{alice, url.Values{"position": {"SUPPORT"}}},
		{bob, url.Values{"position": {"OPPOSE"}, "comment": {"Too broad."}}},
	} {
		if p := step.b.submit(from, from+"/position", step.form); !strings.Contains(p.body, "Your position (") {
			t.Fatalf("position %v not accepted: %v", step.form, refusalOf2(p.body))
		}
	}
	steps := []struct {
		name   string
		b      *browser
		action string
		form   url.Values
		want   string
	}{
		{"minority", bob, "/minority", url.Values{"text": {"We dissent."}, "cosigner": {w.Names["alice"]}}, "Your minority statement is on the record"},
		{"close", chair, "/close", nil, "The call is closed"},
		// An objection window of about a second, so that the test can finalise.
		{"propose", chair, "/propose", url.Values{"level": {"CONSENSUS"}, "rationale": {"Most agree."}, "window_days": {"0.0000116"}}, "Your proposed designation is on the record"},
		{"object", bob, "/object", url.Values{"reason": {"Not consensus."}}, "Your objection is on the record."},
	}
	for _, st := range steps {
		p := st.b.submit(from, from+st.action, st.form)
		if !strings.Contains(p.body, st.want) {
			t.Fatalf("%s: want %q, got refusal %v", st.name, st.want, refusalOf2(p.body))
		}
	}
	// Alice signs bob's statement.
	p = alice.get(from)
	m := regexp.MustCompile(`action="(/bodies/[^"]+/minority/[^"]+/sign)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("alice is not offered to sign the statement")
	}
	if p := alice.submit(from, m[1], nil); !strings.Contains(p.body, "Your signature on the minority statement is on the record.") {
		t.Fatalf("sign: %v", refusalOf2(p.body))
	}
	// Wait for the objection window to pass (bounded), then finalise and appeal.
	c, err := w.Chair.Calls.GetCall(w.Chair.Ctx(t), &candorv1.GetCallRequest{Name: call.Name})
	if err != nil {
		t.Fatal(err)
	}
	proposals := c.Call.GetConsensus().GetProposals()
	if len(proposals) == 0 {
		t.Fatal("no proposal on record")
	}
	if d := time.Until(proposals[len(proposals)-1].ObjectionDeadline.AsTime()); d > 10*time.Second {
		t.Fatalf("objection window %v, want about a second", d)
	} else {
		time.Sleep(d + 50*time.Millisecond)
	}
	if p := chair.submit(from, from+"/finalize", nil); !strings.Contains(p.body, "The designation is final") {
		t.Fatalf("finalize: %v", refusalOf2(p.body))
	}
	if p := bob.submit(from, from+"/appeal", url.Values{"reason": {"The objection was ignored."}}); !strings.Contains(p.body, "Your appeal is on the record.") {
		t.Fatalf("appeal: %v", refusalOf2(p.body))
	}
	p = alice.get(from)
	for _, want := range []string{"Final", "Consensus</strong>", "We dissent.", "Not consensus.", "The objection was ignored.", `<svg role="img"`, "Counted ballots per stakeholder group"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the closed consensus call's page lacks %q", want)
		}
	}
	h.checkNoTokenLeaked()
}

func refusalOf2(body string) []string {
	r, s := refusalOf(body)
	return []string{r, s}
}

// Browsers send a textarea's line breaks as CRLF; the server refuses carriage returns in free text,
// so the web app must hand it line feeds, or every multi-line description would be refused.
func TestMultiLineTextFromABrowser(t *testing.T) {
	h := newHarness(t)
	call := h.world.OpenVote(t, nil)
	alice := h.signIn(h.world.Alice.Token)
	from := path(call.Name)
	p := alice.submit(from, from+"/declare", url.Values{
		"restate": {"unchanged"}, "soi_hash": {soiHash(t, alice, from)}, "conflict_level": {"POTENTIAL"},
		"description": {"I advise a registrar.\r\nThe contract ends in May."},
	})
	if reason, s := refusalOf(p.body); reason != "" || s != "" {
		t.Fatalf("multi-line declaration refused: %s %s", reason, s)
	}
	got := h.roster(call.Name)[h.world.Names["alice"]].GetDeclaration().GetDescription()
	if want := "I advise a registrar.\nThe contract ends in May."; got != want {
		t.Errorf("description on record = %q, want %q", got, want)
	}
}
