package web_test

import (
	"html"
	"strings"
	"testing"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestStaleDeclarationPages: alice votes, then changes her SOI. Her home page and the call page tell
// her she must declare again and what happens to her ballot if she does not; after close, the
// result lists her as stale, says what the policy did, and shows the group's stale figure.
func TestStaleDeclarationPages(t *testing.T) {
	for _, tt := range []struct {
		policy  candorv1.ConflictPolicy
		fate    string // on the call page while open
		home    string
		result  string // in the result's stale line
		flagged bool
		counted string
	}{
		{candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE, "counted but flagged as resting on a stale declaration", "is flagged",
			"counted and flagged under the Disclose policy", true, "yes 1"},
		{candorv1.ConflictPolicy_CONFLICT_POLICY_RECUSE, "set aside, not counted", "will not be counted", "set aside", false, "yes 0"},
		{candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW, "set aside, not counted", "will not be counted", "set aside", false, "yes 0"},
	} {
		t.Run(tt.policy.String(), func(t *testing.T) {
			h := newHarness(t)
			w := h.world
			call := w.OpenVote(t, &candorv1.Call{ConflictPolicy: tt.policy})
			w.Declare(t, w.Alice, call.Name, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.Intent_INTENT_PARTICIPATE)
			if _, err := w.Alice.Calls.CastBallot(w.Alice.Ctx(t), &candorv1.CastBallotRequest{Call: call.Name, Option: "yes"}); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Alice.Participants.UpdateStatementOfInterest(w.Alice.Ctx(t), &candorv1.UpdateStatementOfInterestRequest{
				StatementOfInterest: &candorv1.StatementOfInterest{Employer: "Registry Inc", Represents: "self"},
			}); err != nil {
				t.Fatal(err)
			}
			alice := h.signIn(w.Alice.Token)
			home := html.UnescapeString(alice.get("/").body)
			for _, want := range []string{"Must declare again", tt.home, "Stale declaration: must declare again"} {
				if !strings.Contains(home, want) {
					t.Errorf("home page lacks %q", want)
				}
			}
			page := html.UnescapeString(alice.get(path(call.Name)).body)
			for _, want := range []string{"Stale: you must declare again", tt.fate} {
				if !strings.Contains(page, want) {
					t.Errorf("call page lacks %q", want)
				}
			}

			if _, err := w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: call.Name}); err != nil {
				t.Fatal(err)
			}
			closed := html.UnescapeString(h.signIn(w.Chair.Token).get(path(call.Name)).body)
			if !strings.Contains(closed, "<dt>Stale declaration</dt><dd>alice <span") || !strings.Contains(closed, tt.result) {
				t.Errorf("result does not list alice as stale with %q:\n%s", tt.result, section(closed, "<dt>Stale declaration</dt>"))
			}
			if got := strings.Contains(closed, "alice: yes (stale declaration)"); got != tt.flagged {
				t.Errorf("alice flagged as stale: %v, want %v:\n%s", got, tt.flagged, section(closed, "Counted under"))
			}
			// The group table: At-Large (the chair and alice) has one stale ballot.
			if row := section(closed, `<th scope="row">At-Large</th>`); !strings.Contains(row, `<td class="num">1</td><td>`+tt.counted) {
				t.Errorf("At-Large row lacks a stale count of 1 before %q:\n%s", tt.counted, row)
			}
		})
	}
}

// section returns up to 400 bytes of body from the first occurrence of from.
func section(body, from string) string {
	i := strings.Index(body, from)
	if i < 0 {
		return "(no " + from + ")"
	}
	return body[i:min(len(body), i+400)]
}
