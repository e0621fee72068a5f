package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/candorhq/candor/internal/web"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

const wantCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// TestSignInSetsSessionCookie checks the session cookie's flags under TLS: HttpOnly, SameSite=Strict,
// Secure, Path=/, Max-Age of the TTL, and a value that is not the token.
func TestSignInSetsSessionCookie(t *testing.T) {
	h := newHarness(t, func(c *web.Config) { c.Secure = true; c.SessionTTL = 2 * time.Hour })
	b := h.newBrowser()
	page := b.get("/signin")
	pre := cookieNamed(page.header, "candor_signin")
	if pre == nil || !pre.HttpOnly || pre.SameSite != http.SameSiteStrictMode || !pre.Secure {
		t.Fatalf("sign-in form cookie = %+v, want HttpOnly, SameSite=Strict, Secure", pre)
	}
	// The jar would not send a Secure cookie over http; send it by hand.
	req, _ := http.NewRequest("POST", h.http.URL+"/signin", strings.NewReader(url.Values{
		"csrf": {csrfOf(t, page.body)}, "token": {h.world.Alice.Token},
	}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: pre.Name, Value: pre.Value})
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in status %d", resp.StatusCode)
	}
	c := cookieNamed(resp.Header, "candor_session")
	if c == nil {
		t.Fatal("no session cookie")
	}
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge != 7200 {
		t.Errorf("session cookie = %+v, want HttpOnly, Secure, SameSite=Strict, Path=/, Max-Age=7200", c)
	}
	if len(c.Value) < 43 || strings.Contains(c.Value, h.world.Alice.Token) {
		t.Errorf("session cookie value is not a fresh 32-byte id")
	}
	h.checkNoTokenLeaked()
}

func cookieNamed(h http.Header, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestSignInRefused checks that a sign-in without its form token, or with a token the server does
// not accept, starts no session and never echoes what was typed.
func TestSignInRefused(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name     string
		withCSRF bool
		token    string
		want     int
	}{
		{"wrong token", true, "not-a-real-token-0123456789", http.StatusUnauthorized},
		{"empty token", true, "  ", http.StatusUnprocessableEntity},
		{"no form token", false, h.world.Alice.Token, http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := h.newBrowser()
			form := url.Values{"token": {tc.token}}
			if tc.withCSRF {
				form.Set("csrf", csrfOf(t, b.get("/signin").body))
			}
			resp, err := b.client.PostForm(h.http.URL+"/signin", form)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if cookieNamed(resp.Header, "candor_session") != nil {
				t.Errorf("a refused sign-in set a session cookie")
			}
			if strings.TrimSpace(tc.token) != "" && strings.Contains(body, tc.token) {
				t.Errorf("the refused page echoes the token")
			}
			if p := b.get("/"); p.status != http.StatusSeeOther {
				t.Errorf("after a refused sign-in, GET / = %d, want a redirect to sign in", p.status)
			}
		})
	}
	h.checkNoTokenLeaked()
}

// TestSignedOutRedirects checks that pages need a session, and that a form posted without one
// writes nothing.
func TestSignedOutRedirects(t *testing.T) {
	h := newHarness(t)
	call := h.world.OpenVote(t, nil)
	b := h.newBrowser()
	for _, p := range []string{"/", "/soi", path(h.world.Body), path(call.Name), path(call.Name) + "/events", "/receipts/1"} {
		resp, err := b.client.Get(h.http.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin" {
			t.Errorf("GET %s signed out: %d to %q, want 303 to /signin", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	resp := b.postRaw(path(call.Name)+"/vote", url.Values{"option": {"yes"}, "csrf": {"x"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin" {
		t.Errorf("POST signed out: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestCSRFRefused checks that a write without the session's CSRF token, with a wrong one, or with
// another session's, is refused with 403 and that nothing reaches the record.
func TestCSRFRefused(t *testing.T) {
	h := newHarness(t)
	w := h.world
	call := w.OpenVote(t, nil)
	alice, bob := h.signIn(w.Alice.Token), h.signIn(w.Bob.Token)
	bobsToken := csrfOf(t, bob.get("/").body)
	aliceToken := csrfOf(t, alice.get("/").body)
	tests := []struct {
		name string
		csrf []string
	}{
		{"none", nil},
		{"empty", []string{""}},
		{"wrong", []string{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
		{"another session's", []string{bobsToken}},
		{"the right one with a suffix", []string{aliceToken + "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, action := range []string{path(call.Name) + "/declare", "/soi"} {
				form := url.Values{"restate": {"updated"}, "conflict_level": {"NONE"}, "employer": {"Forged"}}
				if tc.csrf != nil {
					form["csrf"] = tc.csrf
				}
				if resp := alice.postRaw(action, form); resp.StatusCode != http.StatusForbidden {
					t.Errorf("POST %s with CSRF %s: status %d, want 403", action, tc.name, resp.StatusCode)
				}
			}
		})
	}
	if e := h.roster(call.Name)[w.Names["alice"]]; e.GetDeclaration() != nil {
		t.Errorf("a forged declaration was recorded")
	}
	soi, err := w.Alice.Participants.GetStatementOfInterest(w.Alice.Ctx(t), &candorv1.GetStatementOfInterestRequest{})
	if err != nil || soi.StatementOfInterest.Version != 1 {
		t.Errorf("SOI after forged posts: version %d, err %v; want version 1", soi.GetStatementOfInterest().GetVersion(), err)
	}
}

// TestSignOutEndsSession checks that sign-out needs the CSRF token and ends the session on the
// server: the old cookie value no longer works.
func TestSignOutEndsSession(t *testing.T) {
	h := newHarness(t)
	alice := h.signIn(h.world.Alice.Token)
	u, _ := url.Parse(h.http.URL)
	var id string
	for _, c := range alice.client.Jar.Cookies(u) {
		if c.Name == "candor_session" {
			id = c.Value
		}
	}
	if resp := alice.postRaw("/signout", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-out without CSRF: %d, want 403", resp.StatusCode)
	}
	if p := alice.get("/"); p.status != http.StatusOK {
		t.Fatalf("a refused sign-out ended the session: GET / = %d", p.status)
	}
	p := alice.submit("/", "/signout", nil)
	if !strings.Contains(p.body, "Sign in to Candor") {
		t.Errorf("sign-out did not lead to the sign-in page")
	}
	// Replay the old cookie by hand: the server must have forgotten it.
	req, _ := http.NewRequest("GET", h.http.URL+"/", nil)
	req.AddCookie(&http.Cookie{Name: "candor_session", Value: id})
	resp, err := h.newBrowser().client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin" {
		t.Errorf("old session cookie after sign-out: %d to %q, want 303 to /signin", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestSessionExpires checks that a session ends after its TTL.
func TestSessionExpires(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	h := newHarness(t, func(c *web.Config) {
		c.SessionTTL = time.Hour
		c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	alice := h.signIn(h.world.Alice.Token)
	if p := alice.get("/"); p.status != http.StatusOK {
		t.Fatalf("GET / = %d", p.status)
	}
	mu.Lock()
	now = now.Add(time.Hour + time.Second)
	mu.Unlock()
	if p := alice.get("/"); p.status != http.StatusSeeOther {
		t.Errorf("GET / after the TTL = %d, want 303 to sign in", p.status)
	}
}

// TestSecurityHeaders checks the headers every response carries, pages or not.
func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t)
	alice := h.signIn(h.world.Alice.Token)
	tests := []struct {
		path    string
		noStore bool
	}{
		{"/signin", true},
		{"/", true},
		{"/soi", true},
		{"/receipts/12345", true},
		{"/static/style.css", false},
		{"/static/live.js", false},
		{"/no/such/page", false},
	}
	for _, tc := range tests {
		p := alice.get(tc.path)
		for k, want := range map[string]string{
			"Content-Security-Policy": wantCSP, "X-Content-Type-Options": "nosniff",
			"Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
		} {
			if got := p.header.Get(k); got != want {
				t.Errorf("GET %s: %s = %q, want %q", tc.path, k, got, want)
			}
		}
		if tc.noStore && p.header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Cache-Control = %q, want no-store", tc.path, p.header.Get("Cache-Control"))
		}
	}
	// No inline script or style anywhere: the CSP would block it, so the page would break.
	for _, p := range []string{"/", "/soi"} {
		body := alice.get(p).body
		for _, bad := range []string{"<script>", "style=", "<style", "onclick", "javascript:"} {
			if strings.Contains(body, bad) {
				t.Errorf("GET %s contains %q", p, bad)
			}
		}
	}
}
