package web_test

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// idOf is the id at the end of a resource name.
func idOf(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

// recordPath is the web path of a call's full record.
func recordPath(call string) string {
	parts := strings.Split(call, "/")
	return "/audit/calls/" + parts[1] + "/" + parts[3]
}

// serverSentence is what the page must show for err: the server's message, as the web app
// capitalises and escapes it.
func serverSentence(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		t.Fatal("the server accepted a request it should refuse")
	}
	m := strings.TrimSuffix(status.Convert(err).Message(), ".")
	return html.EscapeString(strings.ToUpper(m[:1]) + m[1:] + ".")
}

// TestAuditorSeesCheckpointHistoryAndRecord checks the auditor's pages against the record read
// over gRPC: the checkpoint and the verify command, a participant's history, a call's record.
func TestAuditorSeesCheckpointHistoryAndRecord(t *testing.T) {
	h := newHarness(t)
	w := h.world
	call := w.OpenVote(t, &candorv1.Call{Title: "Adopt the budget", AffectedParties: []string{"Example Org"}})
	decl := w.Declare(t, w.Alice, call.Name, candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL, candorv1.Intent_INTENT_PARTICIPATE)
	if _, err := testserver.Vote(t, w.Alice, call.Name, "yes"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: call.Name}); err != nil {
		t.Fatal(err)
	}
	auditor := h.signIn(w.Auditor.Token)

	p := auditor.get("/audit")
	if p.status != http.StatusOK {
		t.Fatalf("GET /audit: status %d\n%s", p.status, p.body)
	}
	cp, err := w.Auditor.Audit.GetCheckpoint(w.Auditor.Ctx(t), &candorv1.GetCheckpointRequest{})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(cp.GetCheckpoint()), "\n")
	wantCmd := fmt.Sprintf("candor audit verify --addr %s --key %s/log.pub", h.srv.Addr, h.srv.DataDir)
	for _, want := range []string{
		`<a href="/audit" aria-current="page">Audit</a>`,
		"<dd><code>" + lines[0] + "</code></dd>",
		"<dd>" + lines[1] + " entries</dd>",
		"<dd><code>" + lines[2] + "</code></dd>",
		lines[4], // the signature line, in the note
		`<code class="cmd" id="verify-cmd">` + wantCmd + `</code>`,
		`<a href="` + recordPath(call.Name) + `">Adopt the budget</a>`,
	} {
		// html/template writes "+" as "&#43;"; compare the text a reader sees.
		if !strings.Contains(html.UnescapeString(p.body), want) {
			t.Errorf("/audit lacks %q", want)
		}
	}

	// The picker leads to the participant's page.
	resp, err := auditor.client.Get(h.http.URL + "/audit/participants?participant=" + w.Names["alice"])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.Header.Get("Location"), "/audit/participants/"+idOf(w.Names["alice"]); resp.StatusCode != http.StatusSeeOther || got != want {
		t.Errorf("picker: status %d to %q, want 303 to %q", resp.StatusCode, got, want)
	}

	p = auditor.get("/audit/participants/" + idOf(w.Names["alice"]))
	if p.status != http.StatusOK {
		t.Fatalf("history: status %d\n%s", p.status, p.body)
	}
	for _, want := range []string{
		"Declarations of alice",
		`<a href="/` + call.Name + `">Adopt the budget</a>`,
		`<a href="` + recordPath(call.Name) + `">Full record`,
		`<span class="badge conflict">Potential</span>`,
		"<td>Participate</td>",
		"I advise a party named in the matter",
		"Version 1, restated unchanged",
		fmt.Sprintf(`<td class="num">%d</td>`, decl.GetReceipt().GetLogIndex()),
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("history lacks %q", want)
		}
	}

	p = auditor.get(recordPath(call.Name))
	if p.status != http.StatusOK {
		t.Fatalf("record: status %d\n%s", p.status, p.body)
	}
	rec, err := w.Auditor.Audit.ListCallRecord(w.Auditor.Ctx(t), &candorv1.ListCallRecordRequest{Call: call.Name})
	if err != nil {
		t.Fatal(err)
	}
	// Every entry, in the server's order (oldest first), with its kind.
	kinds := regexp.MustCompile(`<h3>Log index (\d+): ([^<]+)</h3>`).FindAllStringSubmatch(p.body, -1)
	if len(kinds) != len(rec.GetEntries()) {
		t.Fatalf("record page shows %d entries, the server has %d", len(kinds), len(rec.GetEntries()))
	}
	for i, e := range rec.GetEntries() {
		if kinds[i][1] != fmt.Sprint(e.GetLogIndex()) {
			t.Errorf("entry %d: page shows log index %s, want %d", i, kinds[i][1], e.GetLogIndex())
		}
	}
	var got []string
	for _, k := range kinds {
		got = append(got, k[2])
	}
	if want := "Call opened|Declaration|Ballot|Call closed"; strings.Join(got, "|") != want {
		t.Errorf("record kinds: %q, want %q", strings.Join(got, "|"), want)
	}
	for _, want := range []string{"By chair", "By alice", "<dt>Ballot</dt><dd class=\"prewrap\">yes</dd>", "<dt>Outcome</dt>"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("record lacks %q", want)
		}
	}
	h.checkNoTokenLeaked()
}

// TestHistoryPaged checks that a long history is paged with the server's page tokens.
func TestHistoryPaged(t *testing.T) {
	h := newHarness(t)
	w := h.world
	const n = 53
	for i := range n {
		c := w.OpenVote(t, &candorv1.Call{Title: fmt.Sprintf("Call %02d", i)})
		w.Declare(t, w.Bob, c.Name, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.Intent_INTENT_PARTICIPATE)
	}
	auditor := h.signIn(w.Auditor.Token)
	rows := regexp.MustCompile(`<th scope="row"><a href="/bodies/[^"]+">Call (\d\d)</a>`)
	next := regexp.MustCompile(`<a href="\?page=([^"]+)">Next page</a>`)

	p := auditor.get("/audit/participants/" + idOf(w.Names["bob"]))
	first := rows.FindAllStringSubmatch(p.body, -1)
	m := next.FindStringSubmatch(p.body)
	if len(first) != 50 || m == nil {
		t.Fatalf("first page: %d rows, next link %v; want 50 and a link", len(first), m != nil)
	}
	p = auditor.get("/audit/participants/" + idOf(w.Names["bob"]) + "?page=" + html.UnescapeString(m[1]))
	second := rows.FindAllStringSubmatch(p.body, -1)
	if len(second) != n-50 || next.MatchString(p.body) || !strings.Contains(p.body, `<a href="?">First page</a>`) {
		t.Fatalf("second page: %d rows, next link %v; want %d rows, no next link, a first-page link", len(second), next.MatchString(p.body), n-50)
	}
	all := append(first, second...)
	for i, r := range all {
		if r[1] != fmt.Sprintf("%02d", i) {
			t.Fatalf("row %d is Call %s: history is not oldest first across pages", i, r[1])
		}
	}
}

// TestMemberAuditAccess checks what a plain member may read (docs/permissions.md): their own
// history; another's history in the calls of bodies they share; a call's record, linked from the
// call's page, with others' ballots hidden while it is open; and not the audit page.
func TestMemberAuditAccess(t *testing.T) {
	h := newHarness(t)
	w := h.world
	call := w.OpenVote(t, nil)
	w.Declare(t, w.Alice, call.Name, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.Intent_INTENT_PARTICIPATE)
	w.Declare(t, w.Bob, call.Name, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.Intent_INTENT_PARTICIPATE)
	alice := h.signIn(w.Alice.Token)

	home := alice.get("/")
	if !strings.Contains(home.body, `<a href="/audit/me">My declarations</a>`) {
		t.Errorf("alice's header lacks My declarations")
	}
	if strings.Contains(home.body, `<a href="/audit">`) {
		t.Errorf("alice's header has the Audit link")
	}
	resp, err := alice.client.Get(h.http.URL + "/audit/me")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	own := "/audit/participants/" + idOf(w.Names["alice"])
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != own {
		t.Fatalf("/audit/me: status %d to %q, want 303 to %q", resp.StatusCode, resp.Header.Get("Location"), own)
	}
	p := alice.get(own)
	if p.status != http.StatusOK || !strings.Contains(p.body, "<h1>My declarations</h1>") || !strings.Contains(p.body, "Adopt the statement") {
		t.Errorf("alice's own history: status %d, or lacks the heading or the call", p.status)
	}
	if strings.Contains(p.body, "Full record") {
		t.Errorf("alice's history links to call records: the history page offers them to auditors and the admin only")
	}

	p = alice.get("/audit/participants/" + idOf(w.Names["bob"]))
	if p.status != http.StatusOK || !strings.Contains(p.body, "Adopt the statement") {
		t.Errorf("alice reading bob's history in their shared body: status %d, or lacks the call\n%s", p.status, p.body)
	}

	if _, err := testserver.Vote(t, w.Bob, call.Name, "yes"); err != nil {
		t.Fatal(err)
	}
	link := `<a href="` + recordPath(call.Name) + `">Full record of this call</a>`
	for who, token := range map[string]string{"alice": w.Alice.Token, "the chair": w.Chair.Token, "the auditor, on no body": w.Auditor.Token} {
		if p := h.signIn(token).get("/" + call.Name); p.status != http.StatusOK || !strings.Contains(p.body, link) {
			t.Errorf("%s's call page: status %d, or lacks the link to the record %s", who, p.status, link)
		}
	}
	p = alice.get(recordPath(call.Name))
	if p.status != http.StatusOK || !strings.Contains(p.body, "(hidden until the call closes)") {
		t.Errorf("alice reading the open call's record: status %d, or bob's ballot is not hidden\n%s", p.status, p.body)
	}

	_, err = w.Outsider.Audit.ListCallRecord(w.Outsider.Ctx(t), &candorv1.ListCallRecordRequest{Call: call.Name})
	outsider := h.signIn(w.Outsider.Token)
	p = outsider.get(recordPath(call.Name))
	if want := serverSentence(t, err); p.status != http.StatusForbidden || !strings.Contains(p.body, want) {
		t.Errorf("an outsider reading the call record: status %d, want 403 with %q", p.status, want)
	}
	if p := outsider.get("/" + call.Name); p.status != http.StatusForbidden || strings.Contains(p.body, "Full record") {
		t.Errorf("an outsider's call page: status %d, want 403 without a link to the record", p.status)
	}
	if p := alice.get("/audit"); p.status != http.StatusForbidden {
		t.Errorf("alice on /audit: status %d, want 403", p.status)
	}
}
