package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/candorhq/candor/internal/testserver"
)

// TestRosterPagesAgainstRealServer runs "call watch" and "call show" against a server whose page
// budget is one byte, so that every roster page, and the roster in every WatchCall state, holds one
// entry and a token: both commands read the other pages with GetCallRoster and print all four
// members, and the watch's counts are of the whole roster.
func TestRosterPagesAgainstRealServer(t *testing.T) {
	s := &session{t: t, srv: testserver.Start(t, testserver.PageBytes(1)), cfg: t.TempDir()}
	p := s.setUp()
	vote := s.jsonName("call", p.chairT, "call", "open", p.body, "--title", "Budget FY27")

	w := s.start(p.chairT, "call", "watch", vote)
	w.waitFor(t, "Budget FY27 (open): 0 of 4 declared, 0 voted")
	s.ok(p.carolT, "declare", vote, "--conflict", "none")
	w.waitFor(t, "Budget FY27 (open): 1 of 4 declared, 0 voted")
	s.ok(p.chairT, "call", "close", vote)
	if code := w.exit(t); code != ExitOK {
		t.Fatalf("watch exit %d, want 0; stderr: %s", code, w.stderr.String())
	}
	out := w.stdout.String()
	last := out[strings.LastIndex(out, "Budget FY27 ("):]
	for _, who := range []string{p.chair, p.alice, p.bob, p.carol} {
		if lineWith(last, who) == "" {
			t.Errorf("the watch's last state does not list %s:\n%s", who, last)
		}
	}

	show := s.ok(p.aliceT, "call", "show", vote)
	for _, who := range []string{p.chair, p.alice, p.bob, p.carol} {
		if lineWith(show, who) == "" {
			t.Errorf("call show does not list %s:\n%s", who, show)
		}
	}
	var doc struct {
		Roster struct {
			Entries       []json.RawMessage `json:"entries"`
			NextPageToken string            `json:"nextPageToken"`
		} `json:"roster"`
	}
	if err := json.Unmarshal([]byte(s.ok(p.aliceT, "call", "show", vote, "-o", "json")), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Roster.Entries) != 4 || doc.Roster.NextPageToken != "" {
		t.Errorf("call show -o json: %d roster entries, next token %q; want all 4 and none", len(doc.Roster.Entries), doc.Roster.NextPageToken)
	}
}
