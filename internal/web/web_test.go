package web_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/candorhq/candor/internal/testserver"
	"github.com/candorhq/candor/internal/web"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// This file is the harness: a real candord (internal/testserver), the web app in front of it on
// an httptest server, and browsers (cookie jars) that sign in with a world's tokens. Every
// response and log line is recorded, so tests can check that no token ever leaves the server.

// harness is one candord, one world and one web app.
type harness struct {
	t     testing.TB
	srv   *testserver.Server
	world *testserver.World
	web   *web.Server
	http  *httptest.Server
	logs  *syncBuffer

	mu   sync.Mutex
	seen bytes.Buffer // every response's headers and body; guarded by mu
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHarness(t testing.TB, mod ...func(*web.Config)) *harness {
	t.Helper()
	return newHarnessOn(t, testserver.Start(t), mod...)
}

// newHarnessOn is newHarness on a server started with options of the test's own.
func newHarnessOn(t testing.TB, srv *testserver.Server, mod ...func(*web.Config)) *harness {
	t.Helper()
	h := &harness{t: t, srv: srv, world: testserver.NewWorld(t, srv), logs: &syncBuffer{}}
	cfg := web.Config{
		Conn:       srv.Conn(),
		Logger:     slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		GRPCAddr:   srv.Addr,
		LogPubPath: srv.DataDir + "/log.pub",
	}
	for _, m := range mod {
		m(&cfg)
	}
	app, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.web = app
	h.http = httptest.NewServer(app)
	t.Cleanup(h.http.Close)
	return h
}

// tokens are every secret of the world: none may appear in a response or a log line.
func (h *harness) tokens() []string {
	w := h.world
	return []string{h.srv.AdminToken, w.Chair.Token, w.Alice.Token, w.Bob.Token, w.Carol.Token, w.Auditor.Token, w.Outsider.Token}
}

// checkNoTokenLeaked fails if any token appeared in a recorded response or in the logs.
func (h *harness) checkNoTokenLeaked() {
	h.t.Helper()
	h.mu.Lock()
	seen := h.seen.String()
	h.mu.Unlock()
	logs := h.logs.String()
	if seen == "" {
		h.t.Fatal("no responses were recorded")
	}
	for _, tok := range h.tokens() {
		if strings.Contains(seen, tok) {
			h.t.Errorf("a token appeared in a response")
		}
		if strings.Contains(logs, tok) {
			h.t.Errorf("a token appeared in the log")
		}
	}
}

// browser is one browser: a cookie jar and the last page's CSRF token.
type browser struct {
	h      *harness
	client *http.Client
}

// recorder records every response the browser sees.
type recorder struct{ h *harness }

func (rt recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.Header.Get("Content-Type") == "text/event-stream; charset=utf-8" {
		return resp, nil // streamed; the SSE test reads it
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	rt.h.mu.Lock()
	defer rt.h.mu.Unlock()
	resp.Header.Write(&rt.h.seen)
	rt.h.seen.Write(body)
	return resp, nil
}

func (h *harness) newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{h: h, client: &http.Client{
		Jar:       jar,
		Transport: recorder{h},
		// Redirects are followed by hand, so tests see the 303 of every form.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// signIn returns a browser signed in with token.
func (h *harness) signIn(token string) *browser {
	h.t.Helper()
	b := h.newBrowser()
	page := b.get("/signin")
	resp := b.postRaw("/signin", url.Values{"csrf": {csrfOf(h.t, page.body)}, "token": {token}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		h.t.Fatalf("sign-in: status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return b
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) get(path string) page {
	b.h.t.Helper()
	resp, err := b.client.Get(b.h.http.URL + path)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func (b *browser) postRaw(path string, form url.Values) *http.Response {
	b.h.t.Helper()
	resp, err := b.client.PostForm(b.h.http.URL+path, form)
	if err != nil {
		b.h.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// submit posts form from the page at from (with that page's CSRF token) to action, expects the
// 303 of an accepted or refused write, and returns the page it leads to.
func (b *browser) submit(from, action string, form url.Values) page {
	b.h.t.Helper()
	p := b.get(from)
	if p.status != http.StatusOK {
		b.h.t.Fatalf("GET %s: status %d\n%s", from, p.status, p.body)
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", csrfOf(b.h.t, p.body))
	resp := b.postRaw(action, form)
	if resp.StatusCode != http.StatusSeeOther {
		b.h.t.Fatalf("POST %s: status %d, want 303", action, resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	if i := strings.IndexByte(loc, '#'); i >= 0 {
		loc = loc[:i]
	}
	return b.get(loc)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t testing.TB, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field on the page:\n%s", body)
	}
	return m[1]
}

// refusal returns the refusal sentence and reason shown on a page, or "".
var refusalRE = regexp.MustCompile(`<p class="refusal" role="alert" data-reason="([A-Z_]*)">([^<]*)</p>`)

func refusalOf(body string) (reason, sentence string) {
	m := refusalRE.FindStringSubmatch(body)
	if m == nil {
		return "", ""
	}
	return m[1], m[2]
}

var receiptRE = regexp.MustCompile(`<a href="/receipts/(\d+)"`)

// path of a resource name in the web app.
func path(name string) string { return "/" + name }

// roster reads a call's roster over gRPC as the chair: the record, not the page.
func (h *harness) roster(call string) map[string]*candorv1.RosterEntry {
	h.t.Helper()
	c := h.world.Chair
	resp, err := c.Calls.GetCallRoster(c.Ctx(h.t), &candorv1.GetCallRosterRequest{Name: call})
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]*candorv1.RosterEntry{}
	for _, e := range resp.GetEntries() {
		out[e.GetParticipant()] = e
	}
	return out
}

func readAll(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
