package web_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// reportWorld is the world with a closed vote (alice and bob declared, alice with a conflict; carol
// and the chair never did) and a consensus call whose designation bob objected to.
func reportWorld(t *testing.T, h *harness) (vote, consensus *candorv1.Call) {
	t.Helper()
	w := h.world
	vote = w.OpenVote(t, &candorv1.Call{Title: "Adopt the budget"})
	w.Declare(t, w.Alice, vote.Name, candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL, candorv1.Intent_INTENT_PARTICIPATE)
	w.Declare(t, w.Bob, vote.Name, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.Intent_INTENT_PARTICIPATE)
	for _, c := range []*testserver.Client{w.Alice, w.Bob} {
		if _, err := testserver.Vote(t, c, vote.Name, "yes"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: vote.Name}); err != nil {
		t.Fatal(err)
	}
	consensus = w.OpenVote(t, &candorv1.Call{Title: "Statement on DNS abuse", Kind: candorv1.CallKind_CALL_KIND_CONSENSUS})
	w.Declare(t, w.Bob, consensus.Name, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.Intent_INTENT_PARTICIPATE)
	w.Declare(t, w.Alice, consensus.Name, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.Intent_INTENT_PARTICIPATE)
	if _, err := w.Bob.Calls.StatePosition(w.Bob.Ctx(t), &candorv1.StatePositionRequest{Call: consensus.Name, Position: candorv1.Position_POSITION_OPPOSE, Comment: "Too broad"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Alice.Calls.StatePosition(w.Alice.Ctx(t), &candorv1.StatePositionRequest{Call: consensus.Name, Position: candorv1.Position_POSITION_SUPPORT}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: consensus.Name}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Chair.Calls.ProposeDesignation(w.Chair.Ctx(t), &candorv1.ProposeDesignationRequest{Call: consensus.Name, Level: candorv1.ConsensusLevel_CONSENSUS_LEVEL_FULL_CONSENSUS, Rationale: "Nearly all support."}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Bob.Calls.ObjectToDesignation(w.Bob.Ctx(t), &candorv1.ObjectToDesignationRequest{Call: consensus.Name, Reason: "I opposed it."}); err != nil {
		t.Fatal(err)
	}
	return vote, consensus
}

// TestReportShowsGroupRates checks the chair's review report against the report read over gRPC:
// the group rates in the table, the chart, the outcomes, the objected call and who never declared.
func TestReportShowsGroupRates(t *testing.T) {
	h := newHarness(t)
	w := h.world
	_, consensus := reportWorld(t, h)
	chair := h.signIn(w.Chair.Token)
	p := chair.get(path(w.Body) + "/report")
	if p.status != http.StatusOK {
		t.Fatalf("GET report: status %d\n%s", p.status, p.body)
	}
	rep, err := w.Chair.Audit.GetReviewReport(w.Chair.Ctx(t), &candorv1.GetReviewReportRequest{Body: w.Body})
	if err != nil {
		t.Fatal(err)
	}
	pct := func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }
	if len(rep.GetReport().GetGroups()) != 3 {
		t.Fatalf("the server's report has %d groups, want 3", len(rep.GetReport().GetGroups()))
	}
	for _, g := range rep.GetReport().GetGroups() {
		row := fmt.Sprintf(`<tr><th scope="row">%s</th><td class="num">%d</td><td class="num">%d</td><td class="num">%d</td><td class="num">%s</td><td class="num">%d</td><td class="num">%s</td><td class="num">%d</td><td class="num">%d</td><td class="num">%s</td></tr>`,
			g.GetStakeholderGroup(), g.GetMembers(), g.GetEligible(), g.GetDeclared(), pct(g.GetDeclarationRate()),
			g.GetConflicts(), pct(g.GetConflictRate()), g.GetRecusals(), g.GetParticipated(), pct(g.GetParticipationRate()))
		if !strings.Contains(p.body, row) {
			t.Errorf("the group table lacks the row\n%s", row)
		}
		bar := fmt.Sprintf(`class="chart-label">Declared: %s (%d of %d)</text>`, pct(g.GetDeclarationRate()), g.GetDeclared(), g.GetEligible())
		if !strings.Contains(p.body, bar) {
			t.Errorf("the chart lacks the bar label %q", bar)
		}
	}
	// At-Large: the chair never declared and alice did, with a conflict, in both calls.
	for _, want := range []string{
		`<tr><th scope="row">At-Large</th><td class="num">2</td><td class="num">4</td><td class="num">2</td><td class="num">50%</td><td class="num">1</td><td class="num">50%</td>`,
		`<svg role="img" aria-labelledby="chart-rates-title"`,
		`<tr><th scope="row">Vote</th><td>Decided</td><td class="num">1</td></tr>`,
		`<a href="/` + consensus.Name + `">Statement on DNS abuse</a>`,
		"<dt>Calls</dt><dd>2</dd>",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	never := regexp.MustCompile(`<ul id="never-declared">(.*)</ul>`).FindStringSubmatch(p.body)
	if never == nil || strings.Count(never[1], "<li>") != 2 || !strings.Contains(never[1], "<li>carol</li>") || !strings.Contains(never[1], "<li>chair</li>") {
		t.Errorf("never declared: %v, want carol and chair by display name", never)
	}
	if strings.Contains(p.body, " style=") {
		t.Errorf("the report has an inline style attribute, which the CSP forbids")
	}
	h.checkNoTokenLeaked()
}

// TestReportPeriod checks the date form: a period after every call counts none; dates the report
// cannot use are refused beside the form, without asking the server.
func TestReportPeriod(t *testing.T) {
	h := newHarness(t)
	w := h.world
	reportWorld(t, h)
	chair := h.signIn(w.Chair.Token)
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format("2006-01-02")
	today := time.Now().UTC().Format("2006-01-02")

	p := chair.get(path(w.Body) + "/report?from=" + tomorrow)
	if p.status != http.StatusOK || !strings.Contains(p.body, "<dt>Calls</dt><dd>0</dd>") {
		t.Errorf("report from tomorrow: status %d, or it counts calls", p.status)
	}
	if !strings.Contains(p.body, `value="`+tomorrow+`"`) {
		t.Errorf("the form does not keep the date sent")
	}
	p = chair.get(path(w.Body) + "/report?from=" + today + "&to=" + today)
	if p.status != http.StatusOK || !strings.Contains(p.body, "<dt>Calls</dt><dd>2</dd>") {
		t.Errorf("report for today: status %d, or it lacks today's 2 calls", p.status)
	}
	for _, q := range []string{"from=" + tomorrow + "&to=" + today, "from=31/12/2026", "to=yesterday"} {
		p := chair.get(path(w.Body) + "/report?" + q)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, `<p class="refusal" role="alert" id="period-problem">`) {
			t.Errorf("report?%s: status %d, want 400 with the sentence beside the form", q, p.status)
		}
		if strings.Contains(p.body, "<dt>Calls</dt>") {
			t.Errorf("report?%s: a report is shown for dates that were refused", q)
		}
	}
}

// TestReportAccess checks who may read the report: members of the body (chairs or not), auditors
// and the admin (docs/permissions.md); anyone else is shown the server's sentence.
func TestReportAccess(t *testing.T) {
	h := newHarness(t)
	w := h.world
	for _, tc := range []struct {
		who    string
		client *testserver.Client
		token  string
		want   int
	}{
		{"chair", w.Chair, w.Chair.Token, http.StatusOK},
		{"auditor", w.Auditor, w.Auditor.Token, http.StatusOK},
		{"admin", w.Admin, h.srv.AdminToken, http.StatusOK},
		{"alice", w.Alice, w.Alice.Token, http.StatusOK},
		{"outsider", w.Outsider, w.Outsider.Token, http.StatusForbidden},
	} {
		t.Run(tc.who, func(t *testing.T) {
			p := h.signIn(tc.token).get(path(w.Body) + "/report")
			if p.status != tc.want {
				t.Fatalf("report as %s: status %d, want %d", tc.who, p.status, tc.want)
			}
			if tc.want == http.StatusForbidden {
				_, err := tc.client.Audit.GetReviewReport(tc.client.Ctx(t), &candorv1.GetReviewReportRequest{Body: w.Body})
				if want := serverSentence(t, err); !strings.Contains(p.body, want) {
					t.Errorf("report as %s: page lacks the server's sentence %q", tc.who, want)
				}
			}
		})
	}
}

// Every member may read the body's review report (docs/permissions.md), so the body page offers
// it to every member, not only to chairs.
func TestBodyPageOffersReportToMembers(t *testing.T) {
	h := newHarness(t)
	alice := h.signIn(h.world.Alice.Token)
	p := alice.get(path(h.world.Body))
	if p.status != http.StatusOK || !strings.Contains(p.body, `href="/`+h.world.Body+`/report"`) {
		t.Fatalf("body page for a member: status %d, no link to the review report", p.status)
	}
	if strings.Contains(p.body, "Open a call") {
		t.Errorf("a member who is not a chair is offered to open a call")
	}
	if r := alice.get(path(h.world.Body) + "/report"); r.status != http.StatusOK {
		t.Errorf("the review report for a member: status %d", r.status)
	}
}
