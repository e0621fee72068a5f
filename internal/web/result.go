package web

import (
	"fmt"
	"strings"
	"time"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// resultView is a closed call's result as the page shows it: the figures, the charts (SVG drawn
// here, on the server) and the lists of people set apart from the count.
type resultView struct {
	R         *candorv1.Result
	Consensus bool
	Outcome   string
	Overall   *barChart
	Groups    *barChart
	Recused   []string
	Undecl    []string
	Uncleared []string
	// Stale are the participants whose ballot or position rested on a declaration that went stale
	// before close; StaleCounted says whether the policy (DISCLOSE) counted them anyway.
	Stale        []string
	StaleCounted bool
	Flagged      []flaggedRow
}

// flaggedRow is a ballot counted under a caveat: a declared conflict, a stale declaration, or both.
type flaggedRow struct {
	Name, Option, Level string
	Conflict, Stale     bool
}

func newResultView(c *candorv1.Call, r *candorv1.Result, name func(string) string) *resultView {
	v := &resultView{R: r, Consensus: c.GetKind() == candorv1.CallKind_CALL_KIND_CONSENSUS}
	switch {
	case v.Consensus:
		rec := c.GetConsensus()
		ps := rec.GetProposals()
		switch {
		case rec.GetFinal() != nil:
			v.Outcome = "Designated: " + enumLabel(rec.GetFinal().GetLevel())
		case len(ps) > 0:
			v.Outcome = "Proposed: " + enumLabel(ps[len(ps)-1].GetLevel()) + " (open to objection)"
		default:
			v.Outcome = "Awaiting the chair's designation"
		}
	case r.GetOutcome() == candorv1.Outcome_OUTCOME_DECIDED:
		v.Outcome = "Decided: " + r.GetWinningOption()
	default:
		v.Outcome = enumLabel(r.GetOutcome())
	}
	for _, p := range r.GetRecused() {
		v.Recused = append(v.Recused, name(p))
	}
	for _, p := range r.GetUndeclared() {
		v.Undecl = append(v.Undecl, name(p))
	}
	for _, p := range r.GetUncleared() {
		v.Uncleared = append(v.Uncleared, name(p))
	}
	for _, p := range r.GetStale() {
		v.Stale = append(v.Stale, name(p))
	}
	v.StaleCounted = c.GetConflictPolicy() == candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE
	for _, f := range r.GetFlagged() {
		v.Flagged = append(v.Flagged, flaggedRow{
			Name: name(f.GetParticipant()), Option: f.GetOption(), Level: enumLabel(f.GetConflictLevel()),
			Conflict: f.GetConflictLevel() > candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, Stale: f.GetStale(),
		})
	}
	v.Overall = overallChart(r)
	v.Groups = groupChart(r)
	return v
}

// barChart is a horizontal bar chart laid out for an <svg> whose width follows the page: bars are
// sized in percent and rows in pixels, so the labels stay readable from a phone to a projector.
type barChart struct {
	ID     string
	Title  string
	Height int
	Rows   []barRow
}

// barRow is one line of a chart: a group heading, or an option's label above its bar.
type barRow struct {
	Heading bool
	Label   string
	// TextY is the label's baseline; BarY the bar's top.
	TextY, BarY int
	// Width is the bar's width in percent of the chart; none for a zero, whose label says so.
	Width string
	Fill  string
}

// Layout of a chart row, in pixels.
const (
	chartHeadingH = 30
	chartLabelH   = 20
	chartBarH     = 16
	chartGap      = 10
)

// barFills are the bars' colours: dark enough for 3:1 against white (WCAG non-text contrast), and
// told apart by their labels, never by colour alone.
var barFills = []string{"#1d4ed8", "#0f766e", "#b45309", "#7e22ce", "#be123c", "#4d7c0f"}

// overallChart draws the counted ballots (or positions) per option.
func overallChart(r *candorv1.Result) *barChart {
	ch := &barChart{ID: "chart-overall", Title: "Counted ballots per option"}
	max := int32(0)
	for _, oc := range r.GetCounts() {
		max = maxInt32(max, oc.GetCount())
	}
	y := 0
	for i, oc := range r.GetCounts() {
		y = ch.addBar(y, fmt.Sprintf("%s: %d", optionLabel(oc.GetOption()), oc.GetCount()), oc.GetCount(), max, i)
	}
	ch.Height = y
	return ch
}

// groupChart draws the result's stakeholder-group breakdown: per group, a heading with its
// declarations, conflicts and recusals, then a bar per option.
func groupChart(r *candorv1.Result) *barChart {
	if len(r.GetGroups()) == 0 {
		return nil
	}
	ch := &barChart{ID: "chart-groups", Title: "Counted ballots per stakeholder group"}
	max := int32(0)
	for _, g := range r.GetGroups() {
		for _, oc := range g.GetCounts() {
			max = maxInt32(max, oc.GetCount())
		}
	}
	y := 0
	for _, g := range r.GetGroups() {
		y += chartHeadingH
		// Only the name: the group's other figures are in the table, and a long line would not fit a phone.
		ch.Rows = append(ch.Rows, barRow{Heading: true, TextY: y - 8, Label: GroupName(g.GetStakeholderGroup())})
		for i, oc := range g.GetCounts() {
			y = ch.addBar(y, fmt.Sprintf("%s: %d", optionLabel(oc.GetOption()), oc.GetCount()), oc.GetCount(), max, i)
		}
	}
	ch.Height = y + chartGap
	return ch
}

// addBar appends a labelled bar starting at y and returns the next row's y.
func (ch *barChart) addBar(y int, label string, n, max int32, i int) int {
	width := 0.0 // a zero draws no bar: its label says 0, and a sliver would read as a vote
	if max > 0 && n > 0 {
		width = 96 * float64(n) / float64(max)
	}
	ch.Rows = append(ch.Rows, barRow{
		Label: label, TextY: y + chartLabelH - 5, BarY: y + chartLabelH,
		Width: fmt.Sprintf("%.2f%%", width), Fill: barFills[i%len(barFills)],
	})
	return y + chartLabelH + chartBarH + chartGap
}

func maxInt32(a, b int32) int32 {
	if a > b {
		return a
	}
	return b
}

// optionLabel shows a ballot option or a position the way people say it.
func optionLabel(o string) string {
	if strings.HasPrefix(o, "POSITION_") || strings.ToUpper(o) == o && strings.Contains(o, "_") {
		return capitalise(strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(o, "POSITION_"), "_", " ")))
	}
	return o
}

// GroupName shows a stakeholder group; members added without one are "(no group)".
func GroupName(g string) string {
	if strings.TrimSpace(g) == "" {
		return "(no group)"
	}
	return g
}

// consensusView is a consensus call's designation workflow, as the page shows and offers it.
type consensusView struct {
	Rec        *candorv1.ConsensusRecord
	Current    *candorv1.Designation
	Final      *candorv1.Designation
	WindowOpen bool
	Statements []minorityView
}

type minorityView struct {
	S       *candorv1.MinorityStatement
	ID      string
	CanSign bool
}

func newConsensusView(c *candorv1.Call, me string, now time.Time) *consensusView {
	rec := c.GetConsensus()
	v := &consensusView{Rec: rec, Final: rec.GetFinal()}
	if ps := rec.GetProposals(); len(ps) > 0 {
		v.Current = ps[len(ps)-1]
		v.WindowOpen = v.Final == nil && now.Before(v.Current.GetObjectionDeadline().AsTime())
	}
	for _, ms := range rec.GetMinorityStatements() {
		v.Statements = append(v.Statements, minorityView{
			S: ms, ID: lastSegment(ms.GetName()),
			CanSign: contains(ms.GetCosigners(), me) && !contains(ms.GetSignedBy(), me),
		})
	}
	return v
}
