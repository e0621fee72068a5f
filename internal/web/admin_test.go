package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// newTokenRE finds the one-time token field on the admin page.
var newTokenRE = regexp.MustCompile(`id="new-token-value" readonly value="([^"]+)"`)

// adminCounts is what the admin's writes change, read over gRPC as the admin: the record, not the page.
type adminCounts struct {
	participants, bodies, members, auditors int
}

func countRecord(t *testing.T, h *harness) adminCounts {
	t.Helper()
	a := h.world.Admin
	ps, err := a.Participants.ListParticipants(a.Ctx(t), &candorv1.ListParticipantsRequest{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	bs, err := a.Bodies.ListBodies(a.Ctx(t), &candorv1.ListBodiesRequest{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := a.Bodies.ListMembers(a.Ctx(t), &candorv1.ListMembersRequest{Body: h.world.Body, PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	c := adminCounts{participants: len(ps.GetParticipants()), bodies: len(bs.GetBodies()), members: len(ms.GetMemberships())}
	for _, p := range ps.GetParticipants() {
		if p.GetAuditor() {
			c.auditors++
		}
	}
	return c
}

// TestAdminCreatesParticipant checks that the admin's new participant gets a token shown exactly
// once, on a page that is not cached, never in a URL or a log line, and that the token signs in.
func TestAdminCreatesParticipant(t *testing.T) {
	h := newHarness(t)
	admin := h.signIn(h.srv.AdminToken)
	home := admin.get("/")
	if !strings.Contains(home.body, `<a href="/admin"`) {
		t.Errorf("the admin's header has no Admin link")
	}

	p := admin.get("/admin")
	if p.status != http.StatusOK {
		t.Fatalf("GET /admin: status %d\n%s\nlog:\n%s", p.status, p.body, h.logs.String())
	}
	resp := admin.postRaw("/admin/participants", url.Values{
		"csrf": {csrfOf(t, p.body)}, "display_name": {"Dana Diaz"}, "email": {"dana@example.org"},
	})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /admin/participants: status %d, want 303", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	shown := admin.get(strings.SplitN(loc, "#", 2)[0])
	m := newTokenRE.FindStringSubmatch(shown.body)
	if m == nil {
		t.Fatalf("the page after creating a participant shows no token:\n%s", shown.body)
	}
	token := m[1]
	if strings.Contains(loc, token) {
		t.Errorf("the redirect's location %q holds the token", loc)
	}
	if got := shown.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control of the page with the token: %q, want no-store", got)
	}
	for _, want := range []string{"shown now and never again", "Dana Diaz", "dana@example.org"} {
		if !strings.Contains(shown.body, want) {
			t.Errorf("the page with the token lacks %q", want)
		}
	}
	if receiptRE.FindStringSubmatch(shown.body) == nil {
		t.Errorf("the page with the token shows no receipt")
	}

	again := admin.get("/admin")
	if again.status != http.StatusOK {
		t.Fatalf("GET /admin again: status %d", again.status)
	}
	if strings.Contains(again.body, token) || newTokenRE.MatchString(again.body) {
		t.Errorf("a reload of /admin shows the token again")
	}
	if !strings.Contains(again.body, "Dana Diaz") {
		t.Errorf("the participant list lacks the new participant")
	}
	if strings.Contains(h.logs.String(), token) {
		t.Errorf("the new token appeared in the log")
	}

	dana := h.signIn(token)
	if p := dana.get("/"); !strings.Contains(p.body, "Welcome, Dana Diaz") {
		t.Errorf("signing in with the new token: home page lacks the participant's name:\n%s", p.body)
	}
	h.checkNoTokenLeaked()
}

// TestAdminForbidden checks that only the admin has the admin page and that every admin write by
// anyone else is refused with 403, with nothing written.
func TestAdminForbidden(t *testing.T) {
	h := newHarness(t)
	w := h.world
	before := countRecord(t, h)
	for _, who := range []struct{ name, token string }{{"alice", w.Alice.Token}, {"chair", w.Chair.Token}, {"auditor", w.Auditor.Token}} {
		t.Run(who.name, func(t *testing.T) {
			b := h.signIn(who.token)
			home := b.get("/")
			if strings.Contains(home.body, `<a href="/admin"`) {
				t.Errorf("%s's header has an Admin link", who.name)
			}
			if p := b.get("/admin"); p.status != http.StatusForbidden {
				t.Errorf("GET /admin as %s: status %d, want 403", who.name, p.status)
			}
			csrf := csrfOf(t, home.body)
			writes := []struct {
				action string
				form   url.Values
			}{
				{"/admin/participants", url.Values{"display_name": {"Mallory"}}},
				{"/admin/bodies", url.Values{"title": {"Shadow body"}}},
				{"/admin/members", url.Values{"body": {w.Body}, "participant": {w.Names["outsider"]}, "role": {"chair"}, "stakeholder_group": {"X"}}},
				{"/admin/auditors", url.Values{"participant": {w.Names["bob"]}}},
			}
			for _, wr := range writes {
				wr.form.Set("csrf", csrf)
				resp, err := b.client.PostForm(h.http.URL+wr.action, wr.form)
				if err != nil {
					t.Fatal(err)
				}
				body := readAll(t, resp)
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("POST %s as %s: status %d, want 403", wr.action, who.name, resp.StatusCode)
				}
				if !strings.Contains(body, `class="refusal"`) {
					t.Errorf("POST %s as %s: no refusal sentence on the page", wr.action, who.name)
				}
			}
		})
	}
	if after := countRecord(t, h); after != before {
		t.Errorf("record after refused admin writes: %+v, want %+v", after, before)
	}
}

// TestAdminCSRF checks that an admin write without the session's CSRF token is refused with 403
// before it reaches the server.
func TestAdminCSRF(t *testing.T) {
	h := newHarness(t)
	admin := h.signIn(h.srv.AdminToken)
	before := countRecord(t, h)
	for _, csrf := range [][]string{nil, {""}, {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}} {
		for action, form := range map[string]url.Values{
			"/admin/participants": {"display_name": {"Forged"}},
			"/admin/bodies":       {"title": {"Forged"}},
			"/admin/members":      {"body": {h.world.Body}, "participant": {h.world.Names["outsider"]}, "role": {"member"}},
			"/admin/auditors":     {"participant": {h.world.Names["bob"]}},
		} {
			if csrf != nil {
				form["csrf"] = csrf
			}
			if resp := admin.postRaw(action, form); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with CSRF %q: status %d, want 403", action, csrf, resp.StatusCode)
			}
		}
	}
	if after := countRecord(t, h); after != before {
		t.Errorf("record after forged admin writes: %+v, want %+v", after, before)
	}
}

// TestAdminBodiesMembersAuditors walks the admin's other forms: a body, a member (refused with a
// bad choice, then accepted), and an auditor grant, each with its receipt or its sentence.
func TestAdminBodiesMembersAuditors(t *testing.T) {
	h := newHarness(t)
	w := h.world
	admin := h.signIn(h.srv.AdminToken)

	p := admin.submit("/admin", "/admin/bodies", url.Values{"title": {"Board of Directors"}})
	if !strings.Contains(p.body, "Board of Directors is created") || receiptRE.FindStringSubmatch(p.body) == nil {
		t.Errorf("after creating a body: no notice or receipt")
	}
	p = admin.submit("/admin", "/admin/bodies", url.Values{"title": {""}})
	if reason, sentence := refusalOf(p.body); sentence == "" || reason == "" {
		t.Errorf("creating a body without a title: no refusal shown (reason %q, sentence %q)", reason, sentence)
	}

	// The datalist offers the groups already used in the chosen body.
	bodyID := w.Body[strings.LastIndexByte(w.Body, '/')+1:]
	p = admin.get("/admin?body=" + bodyID)
	for _, g := range []string{"At-Large", "Registries", "Registrars"} {
		if !strings.Contains(p.body, `<option value="`+g+`"></option>`) {
			t.Errorf("the group datalist for the body lacks %q", g)
		}
	}

	before := countRecord(t, h)
	bad := []struct {
		name string
		form url.Values
	}{
		{"no role", url.Values{"body": {w.Body}, "participant": {w.Names["outsider"]}, "role": {"owner"}, "stakeholder_group": {"Registrars"}}},
		{"unknown participant", url.Values{"body": {w.Body}, "participant": {"participants/00000000-0000-0000-0000-000000000000"}, "role": {"member"}, "stakeholder_group": {"Registrars"}}},
		{"no body", url.Values{"body": {""}, "participant": {w.Names["outsider"]}, "role": {"member"}, "stakeholder_group": {"Registrars"}}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			p := admin.submit("/admin", "/admin/members", tc.form)
			reason, sentence := refusalOf(p.body)
			if sentence == "" {
				t.Fatalf("adding a member with %s: no refusal sentence on the page", tc.name)
			}
			if reason == "" {
				t.Errorf("adding a member with %s: the refusal carries no reason", tc.name)
			}
			if !strings.Contains(p.body, `id="m-group" name="stakeholder_group" maxlength="100" list="m-groups" autocomplete="off" aria-describedby="m-group-hint" value="Registrars"`) {
				t.Errorf("the refused member form was not filled in again")
			}
		})
	}
	if after := countRecord(t, h); after != before {
		t.Errorf("record after refused member adds: %+v, want %+v", after, before)
	}

	p = admin.submit("/admin", "/admin/members", url.Values{"body": {w.Body}, "participant": {w.Names["outsider"]}, "role": {"chair"}, "stakeholder_group": {"Registrars"}})
	if !strings.Contains(p.body, "The membership (chair, Registrars) is on the record.") || receiptRE.FindStringSubmatch(p.body) == nil {
		t.Errorf("after adding a member: no notice or receipt")
	}
	ms, err := w.Admin.Bodies.ListMembers(w.Admin.Ctx(t), &candorv1.ListMembersRequest{Body: w.Body})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range ms.GetMemberships() {
		if m.GetParticipant() == w.Names["outsider"] {
			found = m.GetRole() == candorv1.Role_ROLE_CHAIR && m.GetStakeholderGroup() == "Registrars"
		}
	}
	if !found {
		t.Errorf("the member added from the page is not on the record as chair of Registrars")
	}

	p = admin.submit("/admin", "/admin/auditors", url.Values{"participant": {w.Names["bob"]}})
	if !strings.Contains(p.body, "bob is now an auditor") {
		t.Errorf("after granting the auditor role: no notice")
	}
	bob, err := w.Admin.Participants.GetParticipant(w.Admin.Ctx(t), &candorv1.GetParticipantRequest{Name: w.Names["bob"]})
	if err != nil || !bob.GetParticipant().GetAuditor() {
		t.Errorf("bob is not an auditor on the record (err %v)", err)
	}
	h.checkNoTokenLeaked()
}
