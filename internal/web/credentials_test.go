package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// signInStatus posts token to the sign-in form in a fresh browser and returns the answer's status
// and page: 303 when the server accepted the token.
func (h *harness) signInStatus(token string) (int, string) {
	h.t.Helper()
	b := h.newBrowser()
	p := b.get("/signin")
	resp, err := b.client.PostForm(h.http.URL+"/signin", url.Values{"csrf": {csrfOf(h.t, p.body)}, "token": {token}})
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, readAll(h.t, resp)
}

// post sends form (with the CSRF token of the page at from) and returns the 303's location,
// failing on any other status.
func (b *browser) post(from, action string, form url.Values) string {
	b.h.t.Helper()
	p := b.get(from)
	if p.status != http.StatusOK {
		b.h.t.Fatalf("GET %s: status %d", from, p.status)
	}
	form.Set("csrf", csrfOf(b.h.t, p.body))
	resp := b.postRaw(action, form)
	if resp.StatusCode != http.StatusSeeOther {
		b.h.t.Fatalf("POST %s: status %d, want 303", action, resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// withoutFragment drops a location's #anchor.
func withoutFragment(loc string) string { return strings.SplitN(loc, "#", 2)[0] }

// TestAdminReissuesToken checks that a reissued token is shown once on the admin's page, exactly as
// a new participant's is, never in a URL or a log, that the old token no longer signs in (and a
// browser signed in with it is signed out), and that the new one does.
func TestAdminReissuesToken(t *testing.T) {
	h := newHarness(t)
	w := h.world
	alice := h.signIn(w.Alice.Token)
	admin := h.signIn(h.srv.AdminToken)

	aliceID := w.Names["alice"][strings.LastIndexByte(w.Names["alice"], '/')+1:]
	loc := admin.post("/admin", "/admin/participants/"+aliceID+"/token", url.Values{})
	if loc != "/admin#new-token" {
		t.Errorf("after reissuing: location %q, want /admin#new-token", loc)
	}
	shown := admin.get(withoutFragment(loc))
	m := newTokenRE.FindStringSubmatch(shown.body)
	if m == nil {
		t.Fatalf("the page after reissuing shows no token:\n%s", shown.body)
	}
	token := m[1]
	if token == w.Alice.Token {
		t.Fatalf("the reissued token is the old one")
	}
	for _, want := range []string{"New API token for alice", "shown now and never again", "previous token no longer works", "alice has a new token, on the record."} {
		if !strings.Contains(shown.body, want) {
			t.Errorf("the page with the reissued token lacks %q", want)
		}
	}
	if receiptRE.FindStringSubmatch(shown.body) == nil {
		t.Errorf("the page with the reissued token shows no receipt")
	}
	if got := shown.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control of the page with the token: %q, want no-store", got)
	}
	if again := admin.get("/admin"); strings.Contains(again.body, token) || newTokenRE.MatchString(again.body) {
		t.Errorf("a reload of /admin shows the reissued token again")
	}
	if strings.Contains(h.logs.String(), token) {
		t.Errorf("the reissued token appeared in the log")
	}

	if code, body := h.signInStatus(w.Alice.Token); code != http.StatusUnauthorized || !strings.Contains(body, "did not accept this token") {
		t.Errorf("signing in with the old token: status %d, want 401 with the refusal", code)
	}
	if p := alice.get("/soi"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/signin" {
		t.Errorf("a browser signed in with the old token: GET /soi status %d location %q, want 303 to /signin", p.status, p.header.Get("Location"))
	}
	if p := h.signIn(token).get("/"); !strings.Contains(p.body, "Welcome, alice") {
		t.Errorf("signing in with the reissued token: no welcome")
	}
	h.checkNoTokenLeaked()
}

// TestAdminDeactivates walks deactivation: the confirmation step says it is final and what it
// means, the write shows its receipt, the participants table and the roster mark the participant,
// the participant's next write is refused with the server's sentence, and a second deactivation
// is refused beside the participant's row.
func TestAdminDeactivates(t *testing.T) {
	h := newHarness(t)
	w := h.world
	call := h.world.OpenVote(t, nil)
	alice := h.signIn(w.Alice.Token)
	admin := h.signIn(h.srv.AdminToken)
	aliceID := w.Names["alice"][strings.LastIndexByte(w.Names["alice"], '/')+1:]

	list := admin.get("/admin")
	confirmURL := "/admin/participants/" + aliceID + "/deactivate"
	if !strings.Contains(list.body, `href="`+confirmURL+`"`) {
		t.Errorf("the participants table has no Deactivate link for alice")
	}
	confirm := admin.get(confirmURL)
	if confirm.status != http.StatusOK {
		t.Fatalf("GET %s: status %d", confirmURL, confirm.status)
	}
	for _, want := range []string{"Deactivate alice?", "This is final", "can make no more changes", "stays on the record", `action="` + confirmURL + `"`} {
		if !strings.Contains(confirm.body, want) {
			t.Errorf("the confirmation step lacks %q", want)
		}
	}
	if r := h.roster(call.Name)[w.Names["alice"]]; r.GetDeactivated() {
		t.Fatalf("alice is deactivated before the admin confirmed")
	}

	p := admin.submit(confirmURL, confirmURL, url.Values{})
	if !strings.Contains(p.body, "alice is deactivated, on the record") || receiptRE.FindStringSubmatch(p.body) == nil {
		t.Errorf("after deactivating: no notice or receipt")
	}
	if !strings.Contains(p.body, `<span class="badge no">Deactivated</span>`) {
		t.Errorf("the participants table does not mark alice deactivated")
	}
	if strings.Contains(p.body, `href="`+confirmURL+`"`) {
		t.Errorf("the participants table still offers to deactivate alice")
	}
	got, err := w.Admin.Participants.GetParticipant(w.Admin.Ctx(t), &candorv1.GetParticipantRequest{Name: w.Names["alice"]})
	if err != nil || !got.GetParticipant().GetDeactivated() {
		t.Fatalf("alice is not deactivated on the record (err %v)", err)
	}
	if r := h.roster(call.Name)[w.Names["alice"]]; !r.GetDeactivated() || r.GetRemoved() {
		t.Errorf("roster entry: deactivated=%v removed=%v, want true, false", r.GetDeactivated(), r.GetRemoved())
	}
	if cp := admin.get(path(call.Name)); !strings.Contains(cp.body, `<span class="badge muted">Deactivated</span>`) {
		t.Errorf("the call's roster does not mark alice deactivated")
	}

	// Alice's next write is refused with the server's own sentence.
	_, err = w.Alice.Participants.UpdateStatementOfInterest(w.Alice.Ctx(t), &candorv1.UpdateStatementOfInterestRequest{
		StatementOfInterest: &candorv1.StatementOfInterest{Employer: "Elsewhere"},
	})
	want := serverSentence(t, err)
	refused := alice.submit("/soi", "/soi", url.Values{"employer": {"Elsewhere"}})
	reason, sentence := refusalOf(refused.body)
	if reason != "PARTICIPANT_DEACTIVATED" {
		t.Errorf("refusal reason = %q, want PARTICIPANT_DEACTIVATED", reason)
	}
	if sentence != want {
		t.Errorf("refusal sentence = %q, want the server's %q", sentence, want)
	}

	// A second deactivation is refused beside alice's row.
	again := admin.submit("/admin", confirmURL, url.Values{})
	if reason, sentence := refusalOf(again.body); reason != "ALREADY_DEACTIVATED" || sentence == "" {
		t.Errorf("deactivating twice: refusal %q %q, want ALREADY_DEACTIVATED with a sentence", reason, sentence)
	}
	if i, j := strings.Index(again.body, `id="p-`+aliceID+`"`), strings.Index(again.body, `data-reason="ALREADY_DEACTIVATED"`); i < 0 || j < i {
		t.Errorf("the refusal is not in alice's row")
	}
	h.checkNoTokenLeaked()
}

// TestAdminRemovesMember walks a removal: the confirmation step says eligibility in open calls stays
// fixed, the member list drops the member, the roster marks them, and their declaration is refused.
func TestAdminRemovesMember(t *testing.T) {
	h := newHarness(t)
	w := h.world
	call := h.world.OpenVote(t, nil)
	bob := h.signIn(w.Bob.Token)
	admin := h.signIn(h.srv.AdminToken)
	bodyID := w.Body[strings.LastIndexByte(w.Body, '/')+1:]
	bobID := w.Names["bob"][strings.LastIndexByte(w.Names["bob"], '/')+1:]

	removeURL := "/admin/bodies/" + bodyID + "/members/" + bobID + "/remove"
	if list := admin.get("/admin"); !strings.Contains(list.body, `href="`+removeURL+`"`) {
		t.Errorf("the member list has no Remove from body link for bob")
	}
	confirm := admin.get(removeURL)
	for _, want := range []string{"Remove bob from At-Large Advisory Committee?", "fixed at opening", "can no longer declare, vote"} {
		if !strings.Contains(confirm.body, want) {
			t.Errorf("the confirmation step lacks %q", want)
		}
	}
	// Bob has the call page open, with its declaration form, when the admin removes him.
	from := path(call.Name)
	open := bob.get(from)
	hash := soiHash(t, bob, from)

	before := countRecord(t, h)
	p := admin.submit(removeURL, removeURL, url.Values{})
	if !strings.Contains(p.body, "The removal from the body is on the record.") || receiptRE.FindStringSubmatch(p.body) == nil {
		t.Errorf("after removing: no notice or receipt")
	}
	if strings.Contains(p.body, `href="`+removeURL+`"`) {
		t.Errorf("the member list still lists bob")
	}
	if after := countRecord(t, h); after.members != before.members-1 {
		t.Errorf("members after the removal: %d, want %d", after.members, before.members-1)
	}
	if r := h.roster(call.Name)[w.Names["bob"]]; r == nil || !r.GetRemoved() || r.GetDeactivated() {
		t.Errorf("roster entry for bob: %v, want removed and not deactivated", r)
	}
	if cp := admin.get(path(call.Name)); !strings.Contains(cp.body, `<span class="badge muted">Removed from the body</span>`) {
		t.Errorf("the call's roster does not mark bob removed")
	}

	// The form bob still has open is refused with the server's sentence, shown on the page he is
	// sent to although he may no longer read the call.
	resp := bob.postRaw(from+"/declare", url.Values{
		"csrf": {csrfOf(t, open.body)}, "restate": {"unchanged"}, "soi_hash": {hash}, "conflict_level": {"NONE"},
	})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("bob's declaration after removal: status %d, want 303", resp.StatusCode)
	}
	refused := bob.get(withoutFragment(resp.Header.Get("Location")))
	if reason, sentence := refusalOf(refused.body); reason != "MEMBER_REMOVED" || sentence == "" {
		t.Errorf("bob's declaration after removal: refusal %q %q, want MEMBER_REMOVED with a sentence", reason, sentence)
	}
	if e := h.roster(call.Name)[w.Names["bob"]]; e.GetDeclaration() != nil {
		t.Errorf("bob's refused declaration is on the record")
	}

	again := admin.submit("/admin", removeURL, url.Values{})
	if reason, sentence := refusalOf(again.body); reason != "MEMBER_NOT_FOUND" || sentence == "" {
		t.Errorf("removing twice: refusal %q %q, want MEMBER_NOT_FOUND with a sentence", reason, sentence)
	}
	h.checkNoTokenLeaked()
}

// TestRotateMyToken checks a participant's own rotation: the page says what will happen before the
// button, the new token is shown once, the session ends, the sign-in page says to use the new
// token, the old token no longer signs in and the new one does.
func TestRotateMyToken(t *testing.T) {
	h := newHarness(t)
	w := h.world
	alice := h.signIn(w.Alice.Token)

	home := alice.get("/")
	if !strings.Contains(home.body, `<a href="/account"`) {
		t.Errorf("the participant's header has no link to their account")
	}
	acct := alice.get("/account")
	if acct.status != http.StatusOK {
		t.Fatalf("GET /account: status %d", acct.status)
	}
	warn, button := strings.Index(acct.body, "this browser is signed out"), strings.Index(acct.body, "Rotate my token")
	if warn < 0 || button < 0 || warn > button {
		t.Errorf("the account page does not say, before the button, that the session ends")
	}

	loc := alice.post("/account", "/account/token", url.Values{})
	shown := alice.get(withoutFragment(loc))
	m := newTokenRE.FindStringSubmatch(shown.body)
	if m == nil {
		t.Fatalf("the page after rotating shows no token:\n%s", shown.body)
	}
	token := m[1]
	if strings.Contains(loc, token) {
		t.Errorf("the redirect's location %q holds the token", loc)
	}
	for _, want := range []string{"shown now and never again", "Your token is replaced, on the record.", `href="/signin?after=rotate"`} {
		if !strings.Contains(shown.body, want) {
			t.Errorf("the page with the new token lacks %q", want)
		}
	}
	if strings.Contains(shown.body, `action="/signout"`) {
		t.Errorf("the page with the new token is drawn signed in")
	}
	if !strings.Contains(strings.Join(shown.header.Values("Set-Cookie"), "\n"), "candor_session=;") {
		t.Errorf("the page with the new token does not clear the session cookie")
	}
	if strings.Contains(h.logs.String(), token) {
		t.Errorf("the new token appeared in the log")
	}

	// The session is over: nothing is shown again, and every page asks to sign in.
	for _, p := range []string{"/account", "/"} {
		if got := alice.get(p); got.status != http.StatusSeeOther || got.header.Get("Location") != "/signin" || strings.Contains(got.body, token) {
			t.Errorf("GET %s after rotating: status %d location %q, want 303 to /signin", p, got.status, got.header.Get("Location"))
		}
	}
	if sp := alice.get("/signin?after=rotate"); !strings.Contains(sp.body, "Sign in with your new token.") {
		t.Errorf("the sign-in page after rotating does not say to sign in with the new token")
	}
	if code, _ := h.signInStatus(w.Alice.Token); code != http.StatusUnauthorized {
		t.Errorf("signing in with the old token: status %d, want 401", code)
	}
	if p := h.signIn(token).get("/"); !strings.Contains(p.body, "Welcome, alice") {
		t.Errorf("signing in with the new token: no welcome")
	}
	h.checkNoTokenLeaked()
}

// credentialWrites are the admin's credential forms, for alice and bob in the world's body.
func credentialWrites(h *harness) []string {
	w := h.world
	id := func(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }
	return []string{
		"/admin/participants/" + id(w.Names["alice"]) + "/token",
		"/admin/participants/" + id(w.Names["alice"]) + "/deactivate",
		"/admin/bodies/" + id(w.Body) + "/members/" + id(w.Names["bob"]) + "/remove",
	}
}

// credentialState is what the credential forms change, read over gRPC: whether each world token
// still authenticates, who is deactivated, and the body's members.
func credentialState(t *testing.T, h *harness) string {
	t.Helper()
	w := h.world
	var b strings.Builder
	for _, c := range []struct {
		role string
		tok  string
	}{{"alice", w.Alice.Token}, {"bob", w.Bob.Token}} {
		code, _ := h.signInStatus(c.tok)
		b.WriteString(c.role + " signs in: " + http.StatusText(code) + "\n")
	}
	ps, err := w.Admin.Participants.ListParticipants(w.Admin.Ctx(t), &candorv1.ListParticipantsRequest{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps.GetParticipants() {
		if p.GetDeactivated() {
			b.WriteString(p.GetDisplayName() + " deactivated\n")
		}
	}
	ms, err := w.Admin.Bodies.ListMembers(w.Admin.Ctx(t), &candorv1.ListMembersRequest{Body: w.Body, PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms.GetMemberships() {
		b.WriteString("member " + m.GetParticipant() + "\n")
	}
	return b.String()
}

// TestCredentialFormsForbidden checks that the admin's credential forms and their confirmation
// steps are refused (403, with a sentence) to everyone else, with nothing written.
func TestCredentialFormsForbidden(t *testing.T) {
	h := newHarness(t)
	w := h.world
	before := credentialState(t, h)
	for _, who := range []struct{ name, token string }{{"alice", w.Alice.Token}, {"chair", w.Chair.Token}, {"auditor", w.Auditor.Token}} {
		t.Run(who.name, func(t *testing.T) {
			b := h.signIn(who.token)
			csrf := csrfOf(t, b.get("/").body)
			for _, action := range credentialWrites(h) {
				if strings.HasSuffix(action, "/deactivate") || strings.HasSuffix(action, "/remove") {
					if p := b.get(action); p.status != http.StatusForbidden {
						t.Errorf("GET %s as %s: status %d, want 403", action, who.name, p.status)
					}
				}
				resp, err := b.client.PostForm(h.http.URL+action, url.Values{"csrf": {csrf}})
				if err != nil {
					t.Fatal(err)
				}
				body := readAll(t, resp)
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("POST %s as %s: status %d, want 403", action, who.name, resp.StatusCode)
				}
				if !strings.Contains(body, `class="refusal"`) {
					t.Errorf("POST %s as %s: no refusal sentence on the page", action, who.name)
				}
			}
		})
	}
	if after := credentialState(t, h); after != before {
		t.Errorf("record after refused credential writes:\n%s\nwant:\n%s", after, before)
	}
	h.checkNoTokenLeaked()
}

// TestCredentialFormsCSRF checks that the credential forms, the admin's and the participant's own,
// are refused with 403 without the session's CSRF token, before anything reaches the server.
func TestCredentialFormsCSRF(t *testing.T) {
	h := newHarness(t)
	admin := h.signIn(h.srv.AdminToken)
	alice := h.signIn(h.world.Alice.Token)
	before := credentialState(t, h)
	for _, csrf := range [][]string{nil, {""}, {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}} {
		form := url.Values{}
		if csrf != nil {
			form["csrf"] = csrf
		}
		for _, action := range credentialWrites(h) {
			if resp := admin.postRaw(action, form); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with CSRF %q: status %d, want 403", action, csrf, resp.StatusCode)
			}
		}
		if resp := alice.postRaw("/account/token", form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST /account/token with CSRF %q: status %d, want 403", csrf, resp.StatusCode)
		}
	}
	if after := credentialState(t, h); after != before {
		t.Errorf("record after forged credential writes:\n%s\nwant:\n%s", after, before)
	}
	if p := alice.get("/account"); p.status != http.StatusOK {
		t.Errorf("alice's session did not survive forged rotations: GET /account status %d", p.status)
	}
}
