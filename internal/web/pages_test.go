package web_test

import (
	"net/http"
	"strings"
	"testing"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestPagesRender signs in as each kind of principal and opens every page they would, checking the
// status and a line each page must show.
func TestPagesRender(t *testing.T) {
	h := newHarness(t)
	w := h.world
	vote := w.OpenVote(t, &candorv1.Call{Title: "Adopt the budget", AffectedParties: []string{"Example Org"}})
	consensus := w.OpenVote(t, &candorv1.Call{Title: "Statement on DNS abuse", Kind: candorv1.CallKind_CALL_KIND_CONSENSUS})
	tests := []struct {
		who   string
		token string
		path  string
		want  []string
	}{
		{"alice", w.Alice.Token, "/", []string{"Calls waiting for your declaration", "Adopt the budget", "Statement on DNS abuse", "Your Statement of Interest"}},
		{"alice", w.Alice.Token, "/soi", []string{"My Statement of Interest", "File a new version", "Example Org"}},
		{"alice", w.Alice.Token, path(w.Body), []string{"At-Large Advisory Committee", "Members"}},
		{"alice", w.Alice.Token, path(vote.Name), []string{"Restate unchanged since version 1", "Cast ballot", `id="roster"`, "Example Org"}},
		{"alice", w.Alice.Token, path(consensus.Name), []string{"State position", "Minority statements"}},
		{"chair", w.Chair.Token, path(w.Body), []string{"Open a call"}},
		{"chair", w.Chair.Token, path(w.Body) + "/calls/new", []string{"Open the call", "Eligible participants"}},
		{"chair", w.Chair.Token, path(vote.Name), []string{"Close the call", "Chair's controls"}},
		{"admin", h.srv.AdminToken, "/", []string{"Administration", "All bodies"}},
		{"admin", h.srv.AdminToken, path(vote.Name), []string{`id="roster"`}},
		{"auditor", w.Auditor.Token, "/", []string{"All bodies"}},
	}
	browsers := map[string]*browser{}
	for _, tc := range tests {
		t.Run(tc.who+tc.path, func(t *testing.T) {
			b := browsers[tc.who]
			if b == nil {
				b = h.signIn(tc.token)
				browsers[tc.who] = b
			}
			p := b.get(tc.path)
			if p.status != http.StatusOK {
				t.Fatalf("GET %s: status %d\n%s", tc.path, p.status, p.body)
			}
			for _, want := range tc.want {
				if !strings.Contains(p.body, want) {
					t.Errorf("GET %s as %s: page lacks %q", tc.path, tc.who, want)
				}
			}
		})
	}
	h.checkNoTokenLeaked()
}
