package browsertest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/internal/testserver"
)

// liveBound is how long a change may take to reach a watching page in this test. The issue's
// target is one second; the test allows five so that a slow CI machine under -race does not fail
// by chance. The measured times are logged.
const liveBound = 5 * time.Second

// TestMeetingInBrowser plays a whole meeting in headless chromium, each person in their own browser
// context: the admin adds a chair, two participants, a body and its members on the Admin page; the
// chair opens a vote; a participant tries to vote before declaring and is told why not; both
// declare and vote while the chair's call page, never reloaded, shows each change in its roster;
// the chair closes the call and every participant sees the result. Every page is photographed at
// 390 and 1920 px and checked with axe-core.
func TestMeetingInBrowser(t *testing.T) {
	b := New(t)
	srv := testserver.Start(t, testserver.HTTP())
	base := "http://" + srv.HTTPAddr

	// The admin signs in and sets up the body.
	admin := b.Person("admin", base, Desktop)
	admin.Open("/signin")
	admin.Snapshot("signin")
	admin.Fill("API token", srv.AdminToken)
	admin.Press("Sign in")
	admin.Snapshot("home-admin")
	admin.In("header nav").Follow("Admin")
	admin.Snapshot("admin-empty")

	chairName, chairToken := addParticipant(t, admin, "Ana Chair", "ana@example.org")
	admin.Snapshot("admin-new-token")
	aliceName, aliceToken := addParticipant(t, admin, "Alice Member", "alice@example.org")
	bobName, bobToken := addParticipant(t, admin, "Bob Member", "")
	admin.Open("/admin")
	if admin.Has("#new-token") {
		t.Errorf("the Admin page shows a participant's token again after a reload")
	}

	const bodyTitle = "At-Large Advisory Committee"
	admin.In("#body").Fill("Title", bodyTitle)
	admin.In("#body").Press("Create body")
	body := Eval[string](admin, `document.getElementById('m-body').value`)
	if !strings.HasPrefix(body, "bodies/") {
		t.Fatalf("after creating the body the member form has body %q selected, want bodies/...", body)
	}
	addMember(t, admin, bodyTitle, "Ana Chair", "Chair", "At-Large")
	addMember(t, admin, bodyTitle, "Alice Member", "Member", "At-Large")
	addMember(t, admin, bodyTitle, "Bob Member", "Member", "Registries")
	admin.Snapshot("admin-members")

	// The chair signs in on the room's projector and opens a vote.
	chair := b.Person("chair", base, Projector)
	chair.SignIn(chairToken)
	chair.Snapshot("home-chair")
	chair.Follow(bodyTitle)
	if got, want := chair.Path(), "/"+body; got != want {
		t.Fatalf("the chair's link to the body leads to %s, want %s", got, want)
	}
	chair.Snapshot("body-chair")
	chair.Follow("Open a call")
	chair.Snapshot("new-call")
	const callTitle = "Adopt the 2026 outreach budget"
	chair.Fill("Title", callTitle)
	chair.Fill("Matter", "Should the committee adopt the outreach budget as circulated?")
	chair.Fill("Affected parties", "Example Registry Ltd")
	chair.Fill("Options", "Adopt\nReject")
	chair.Press("Open the call")
	call := chair.Path()
	if !strings.HasPrefix(call, "/"+body+"/calls/") {
		t.Fatalf("opening the call led to %s, want the call's page under /%s/calls/", call, body)
	}
	chair.Snapshot("call-chair-open")
	// From here on the chair's page is never reloaded: watch its roster.
	watchRoster(chair)

	// Alice, on her phone, has a call waiting and no Statement of Interest yet.
	alice := b.Person("alice", base, Phone)
	alice.SignIn(aliceToken)
	if got := alice.Text("main h2"); got != "Calls waiting for your declaration" {
		t.Errorf("the first heading of Alice's home page is %q, want the calls waiting for her declaration", got)
	}
	if got := alice.Text("section.waiting"); !strings.Contains(got, callTitle) {
		t.Errorf("Alice's first section does not list the open call %q: %q", callTitle, got)
	}
	alice.Snapshot("home-participant")
	alice.Open("/soi")
	alice.Snapshot("soi-empty")
	alice.In("#soi-form").Fill("Employer", "Example Registry Ltd")
	alice.In("#soi-form").Fill("Job title", "Policy adviser")
	alice.In("#soi-form").Fill("Represents", "self")
	alice.In("#soi-form").Fill("Stakeholder groups", "At-Large")
	alice.In("#soi-form").Fill("Organisation 1", "Example Registry Ltd")
	alice.In("#soi-form").Fill("Nature of interest 1", "shareholder")
	alice.Press("File new version")
	alice.Snapshot("soi-filed")

	alice.Open(call)
	alice.Snapshot("call-participant-before")
	// She tries to vote first: the server refuses, and the page says why beside the form.
	alice.In("#vote").Choose("Adopt")
	alice.In("#vote").Press("Cast ballot")
	refusal := alice.Text("#vote [role=alert]")
	if !strings.Contains(strings.ToLower(refusal), "declar") {
		t.Errorf("voting before declaring shows %q beside the ballot, want the server's sentence about declaring", refusal)
	}
	if reason := alice.Attr("#vote [role=alert]", "data-reason"); reason != "DECLARATION_REQUIRED" {
		t.Errorf("the refusal's reason is %q, want DECLARATION_REQUIRED", reason)
	}
	t.Logf("Alice's ballot before declaring was refused with: %q", refusal)
	alice.Snapshot("call-participant-refused")
	if seen := rosterSeen(chair, aliceName); seen.Voted != 0 {
		t.Errorf("the chair's roster shows a refused ballot as cast")
	}

	// She declares her potential conflict, restating her SOI unchanged, then votes.
	alice.In("#declare > form").Choose("Potential")
	alice.In("#declare > form").Fill("Description", "I hold shares in Example Registry Ltd, named as an affected party.")
	declared := time.Now()
	alice.In("#declare > form").Press("Restate unchanged since version 1")
	expectNotice(t, alice, "declaration is on the record")
	awaitRoster(t, chair, "Alice's declaration", aliceName, "declared", declared)
	alice.In("#vote").Choose("Adopt")
	voted := time.Now()
	alice.In("#vote").Press("Cast ballot")
	expectNotice(t, alice, "")
	aliceVote := awaitRoster(t, chair, "Alice's ballot", aliceName, "voted", voted)
	alice.Snapshot("call-participant-voted")

	// Bob, at a laptop, follows the call from his home page and files his SOI with his declaration.
	bob := b.Person("bob", base, Desktop)
	bob.SignIn(bobToken)
	bob.Follow("Declare for " + callTitle)
	if got := bob.Path(); got != call {
		t.Fatalf("Bob's Declare link leads to %s, want %s", got, call)
	}
	bob.In("#declare-soi").Fill("Employer", "Registry Operators Association")
	bob.In("#declare-soi").Fill("Job title", "Secretary")
	bob.In("#declare-soi").Fill("Represents", "Registries")
	bob.In("#declare-soi").Choose("None")
	declared = time.Now()
	bob.In("#declare-soi").Press("Declare with this statement")
	expectNotice(t, bob, "declaration is on the record")
	awaitRoster(t, chair, "Bob's declaration", bobName, "declared", declared)
	bob.In("#vote").Choose("Adopt")
	voted = time.Now()
	bob.In("#vote").Press("Cast ballot")
	expectNotice(t, bob, "")
	bobVote := awaitRoster(t, chair, "Bob's ballot", bobName, "voted", voted)
	t.Logf("ballot to the chair's open roster: Alice %v, Bob %v (from the click on Cast ballot; bound %v)",
		aliceVote.Round(time.Millisecond), bobVote.Round(time.Millisecond), liveBound)

	// The chair's page was never reloaded, and it says so in its live status.
	if !Eval[bool](chair, `window.__noReload === 1`) {
		t.Errorf("the chair's call page was reloaded: the roster must change in place")
	}
	if status := chair.Text("#live-status"); !strings.Contains(status, "Roster updated") {
		t.Errorf("the chair's live status reads %q, want it to announce the roster update", status)
	}
	if row := rosterRow(chair, chairName); row.Declaration != "Not yet" {
		t.Errorf("the chair's own row reads %+v, want Not yet declared", row)
	}
	chair.Snapshot("call-chair-live-roster")

	// The chair closes; each participant's open page shows the result without a reload.
	for _, p := range []*Person{alice, bob} {
		markNoReload(p)
		Eval[bool](p, `(() => {
  const result = document.getElementById('result');
  const stamp = () => { if (!window.__resultAt && result.textContent.includes('Decided')) window.__resultAt = Date.now(); };
  new MutationObserver(stamp).observe(result, {childList: true, subtree: true, characterData: true});
  stamp();
  return true;
})()`)
	}
	closed := time.Now()
	chair.In("#close").Press("Close the call")
	expectNotice(t, chair, "")
	for _, p := range []*Person{alice, bob} {
		p.WaitUntil("the result on the open call page, without a reload",
			`window.__noReload === 1 && window.__resultAt && document.getElementById('result').textContent.includes('Decided: Adopt')`, liveBound)
		at := Eval[int64](p, `window.__resultAt`)
		t.Logf("%s's open call page showed the result %v after the click on Close the call",
			p.Name, time.UnixMilli(at).Sub(closed).Round(time.Millisecond))
	}
	if got := chair.Text("#result"); !strings.Contains(got, "Decided: Adopt") {
		t.Errorf("the chair's result reads %q, want Decided: Adopt", got)
	}
	chair.Snapshot("call-chair-result")
	alice.Snapshot("call-participant-result-live")
	bob.Open(call)
	if got := bob.Text("#result"); !strings.Contains(got, "Decided: Adopt") {
		t.Errorf("Bob's call page, loaded after the close, reads %q, want Decided: Adopt", got)
	}
	if bob.Has("#vote") || bob.Has("#declare") {
		t.Errorf("Bob's call page still offers to declare or vote after the close")
	}
	bob.Snapshot("call-participant-result")

	// The record: the chair's review report, Alice's own declarations, the admin's audit pages.
	chair.Open("/" + body + "/report")
	if got := chair.Text(`section[aria-labelledby="outcomes-h"]`); !strings.Contains(got, "Vote") {
		t.Errorf("the review report's outcomes do not count the vote: %q", got)
	}
	chair.Snapshot("report")
	alice.Open("/audit/me")
	alice.Snapshot("my-declarations")
	admin.Open("/audit")
	admin.Snapshot("audit")
	admin.Follow(callTitle)
	admin.Snapshot("audit-record")

	// Credentials. The admin reissues Bob's token on the Admin page: the new one is shown once, as
	// a new participant's is. Deactivating Bob asks first and says it is final. Alice rotates her
	// own token, which ends her session, and signs in with the new one.
	admin.Open("/admin")
	bobRow := "#p-" + bobName[strings.LastIndexByte(bobName, '/')+1:]
	admin.In(bobRow).Press("Reissue token for Bob Member")
	expectNotice(t, admin, "Bob Member has a new token")
	if got := admin.Text("#new-token h2"); !strings.Contains(got, "Bob Member") {
		t.Errorf("the reissued token is for %q, want Bob Member", got)
	}
	if tok := Eval[string](admin, `(document.getElementById('new-token-value')||{}).value || ''`); tok == "" || tok == bobToken {
		t.Errorf("the Admin page shows no new token for Bob after the reissue")
	}
	admin.Snapshot("admin-reissued-token")
	admin.In(bobRow).Follow("Deactivate Bob Member")
	if got := admin.Text("#confirm"); !strings.Contains(got, "This is final") {
		t.Errorf("the deactivation step does not say it is final: %q", got)
	}
	admin.Snapshot("admin-confirm-deactivate")
	admin.Press("Deactivate Bob Member")
	expectNotice(t, admin, "Bob Member is deactivated")
	if got := admin.Text(bobRow); !strings.Contains(got, "Deactivated") {
		t.Errorf("Bob's row on the Admin page reads %q, want it marked Deactivated", got)
	}
	admin.Snapshot("admin-deactivated")

	alice.In("header nav").Follow("My account")
	alice.Snapshot("account")
	alice.Press("Rotate my token")
	aliceNew := Eval[string](alice, `(document.getElementById('new-token-value')||{}).value || ''`)
	if aliceNew == "" || aliceNew == aliceToken {
		t.Fatalf("the page after rotating shows no new token")
	}
	alice.Snapshot("account-new-token")
	alice.Follow("Sign in with your new token")
	if got := alice.Text(".notice"); !strings.Contains(got, "Sign in with your new token") {
		t.Errorf("the sign-in page after rotating reads %q", got)
	}
	alice.Snapshot("signin-after-rotate")
	alice.SignIn(aliceNew)

	// Signing out ends the session: the home page asks to sign in again.
	alice.Open("/")
	alice.Press("Sign out")
	alice.Open("/")
	if got := alice.Path(); got != "/signin" {
		t.Errorf("after signing out, / shows %s, want /signin", got)
	}
}

// addParticipant adds a participant on the Admin page and returns their resource name and the
// token the page shows once.
func addParticipant(t *testing.T, admin *Person, name, email string) (participant, token string) {
	t.Helper()
	form := admin.In("#participant")
	form.Fill("Display name", name)
	if email != "" {
		form.Fill("Email (optional)", email)
	}
	form.Press("Add participant")
	token = Eval[string](admin, `(document.getElementById('new-token-value')||{}).value || ''`)
	participant = strings.Trim(admin.Text(`#new-token label .sub`), "()")
	if token == "" || !strings.HasPrefix(participant, "participants/") {
		t.Fatalf("after adding %s the Admin page shows a token of %d characters for %q", name, len(token), participant)
	}
	if got := admin.Text("#new-token h2"); !strings.Contains(got, name) {
		t.Fatalf("the new token is for %q, want %s", got, name)
	}
	return participant, token
}

// addMember adds participant (by display name) to the body on the Admin page.
func addMember(t *testing.T, admin *Person, body, participant, role, group string) {
	t.Helper()
	form := admin.In("#add-member")
	form.Select("Body", body)
	form.Select("Participant", participant)
	form.Choose(role)
	form.Fill("Stakeholder group", group)
	form.Press("Save membership")
	expectNotice(t, admin, "")
}

// expectNotice fails the test unless the page shows the server's acceptance notice (containing
// want) and no refusal.
func expectNotice(t *testing.T, p *Person, want string) {
	t.Helper()
	if p.Has(".refusal") {
		t.Fatalf("%s on %s: refused: %q", p.Name, p.Path(), p.Text(".refusal"))
	}
	if got := p.Text(".notice"); !strings.Contains(got, want) {
		t.Fatalf("%s on %s: the notice reads %q, want %q", p.Name, p.Path(), got, want)
	}
}

// markNoReload puts a marker in p's page that a reload would wipe.
func markNoReload(p *Person) { Eval[bool](p, `window.__noReload = 1, true`) }

// watchRoster marks the chair's page (a reload would wipe the marks) and records, for every
// participant, when the page first showed them declared and voted: window.__rosterSeen[name] =
// {declared: ms, voted: ms} since the epoch.
func watchRoster(p *Person) {
	markNoReload(p)
	Eval[bool](p, `(() => {
  window.__rosterSeen = {};
  const roster = document.getElementById('roster');
  const stamp = () => {
    const table = roster.querySelector('table');
    if (!table) return;
    const heads = [...table.tHead.rows[0].cells].map(c => c.textContent.trim());
    const col = h => heads.indexOf(h);
    for (const row of table.querySelectorAll('tr[data-participant]')) {
      const who = row.getAttribute('data-participant');
      const seen = window.__rosterSeen[who] = window.__rosterSeen[who] || {};
      const text = i => i < 0 ? '' : row.cells[i].textContent.trim();
      if (!seen.declared && text(col('Declaration')).startsWith('Declared')) seen.declared = Date.now();
      if (!seen.voted && text(col('Ballot')).startsWith('Voted')) seen.voted = Date.now();
    }
  };
  new MutationObserver(stamp).observe(roster, {childList: true, subtree: true, characterData: true});
  stamp();
  return true;
})()`)
}

// seen is when the chair's page first showed a participant declared and voted (ms since the epoch;
// 0 if not yet).
type seen struct{ Declared, Voted int64 }

func rosterSeen(p *Person, who string) seen {
	return Eval[seen](p, fmt.Sprintf(`Object.assign({declared: 0, voted: 0}, window.__rosterSeen[%s] || {})`, jsString(who)))
}

// awaitRoster waits, on the chair's never-reloaded page, until who's row shows what ("declared" or
// "voted"), at most liveBound after the participant's page finished, and returns the time from
// since (the click) to the roster showing it.
func awaitRoster(t *testing.T, chair *Person, desc, who, what string, since time.Time) time.Duration {
	t.Helper()
	chair.WaitUntil(desc+" in the chair's roster, without a reload",
		fmt.Sprintf(`window.__noReload === 1 && (window.__rosterSeen[%s] || {})[%s]`, jsString(who), jsString(what)), liveBound)
	s := rosterSeen(chair, who)
	at := s.Declared
	if what == "voted" {
		at = s.Voted
	}
	d := time.UnixMilli(at).Sub(since)
	t.Logf("%s reached the chair's open roster %v after the click", desc, d.Round(time.Millisecond))
	return d
}

// row is a participant's roster row as the page shows it.
type row struct{ Declaration, Conflict, Ballot string }

func rosterRow(p *Person, who string) row {
	return Eval[row](p, fmt.Sprintf(`(() => {
  const table = document.querySelector('#roster table');
  const heads = [...table.tHead.rows[0].cells].map(c => c.textContent.trim());
  const r = table.querySelector('tr[data-participant="' + CSS.escape(%s) + '"]');
  const cell = h => r && heads.indexOf(h) >= 0 ? r.cells[heads.indexOf(h)].textContent.replace(/\s+/g, ' ').trim() : '';
  return {Declaration: cell('Declaration'), Conflict: cell('Conflict'), Ballot: cell('Ballot')};
})()`, jsString(who)))
}
