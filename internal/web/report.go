package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// This file is a body's review report: its calls over a period, their outcomes, declaration,
// conflict and participation rates per stakeholder group (a table, and a bar chart drawn here as
// SVG), contested designations, and members who never declared. The server decides who may read
// it (the body's chairs, auditors and the admin).

// reportDateLayout is the form <input type=date> sends.
const reportDateLayout = "2006-01-02"

// reportData is the review report page.
type reportData struct {
	Body *candorv1.Body
	// From and To are the form's dates, as sent (to fill the form again).
	From, To string
	// Problem is a sentence about the dates, shown beside the form; the report is not asked for.
	Problem string
	Report  *candorv1.ReviewReport
	// Start and End say the period in words.
	Start, End string
	Outcomes   []outcomeRow
	Chart      *barChart
	Objected   []callRef
	Appealed   []callRef
	Never      []string
	// Staff is true for auditors and the admin, who may follow the links to call records.
	Staff bool
}

// outcomeRow is one line of the outcomes table.
type outcomeRow struct {
	Kind, Outcome string
	Count         int32
}

// callRef is a call named by the report, with its title when it could be read.
type callRef struct {
	Name, Title string
}

// RecordURL is the address of call's full record.
func (reportData) RecordURL(call string) string { return recordURL(call) }

// reportPage implements GET /bodies/{body}/report[?from=DATE&to=DATE]. Dates are days in UTC; the
// period covers calls opened from the start of from up to the end of to.
func (s *Server) reportPage(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	body, err := s.bodies.GetBody(ctx, &candorv1.GetBodyRequest{Name: bodyName(r)})
	if err != nil {
		s.rpcFailed(w, r, sess, "report", err)
		return
	}
	q := r.URL.Query()
	data := reportData{Body: body.GetBody(), From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")), Staff: staffOnly(sess)}
	title := "Review report for " + body.GetBody().GetTitle()
	req, problem := reportRequest(bodyName(r), data.From, data.To)
	if problem != "" {
		data.Problem = problem
		s.render(w, r, sess, http.StatusBadRequest, "report", title, data)
		return
	}
	resp, err := s.audit.GetReviewReport(ctx, req)
	if err != nil {
		s.rpcFailed(w, r, sess, "report", err)
		return
	}
	rep := resp.GetReport()
	data.Report = rep
	data.Start = "the beginning"
	if rep.GetStartTime() != nil {
		data.Start = when(rep.GetStartTime())
	}
	data.End = when(rep.GetEndTime())
	for _, o := range rep.GetOutcomes() {
		data.Outcomes = append(data.Outcomes, outcomeRow{Kind: enumLabel(o.GetKind()), Outcome: reviewOutcome(o.GetOutcome()), Count: o.GetCount()})
	}
	data.Chart = groupRatesChart(rep.GetGroups())

	if len(rep.GetObjectedCalls())+len(rep.GetAppealedCalls()) > 0 {
		calls, err := s.listCalls(ctx, bodyName(r))
		if err != nil {
			s.rpcFailed(w, r, sess, "report", err)
			return
		}
		titles := make(map[string]string, len(calls))
		for _, c := range calls {
			titles[c.GetName()] = c.GetTitle()
		}
		for _, c := range rep.GetObjectedCalls() {
			data.Objected = append(data.Objected, callRef{Name: c, Title: orName(titles[c], c)})
		}
		for _, c := range rep.GetAppealedCalls() {
			data.Appealed = append(data.Appealed, callRef{Name: c, Title: orName(titles[c], c)})
		}
	}
	if len(rep.GetNeverDeclared()) > 0 {
		names, err := s.displayNames(ctx)
		if err != nil {
			s.rpcFailed(w, r, sess, "report", err)
			return
		}
		for _, p := range rep.GetNeverDeclared() {
			data.Never = append(data.Never, orName(names[p], p))
		}
	}
	s.render(w, r, sess, http.StatusOK, "report", title, data)
}

// reportRequest reads the period from the form. It converts only what the API cannot take as the
// form sends it (days to times); problem is a sentence when a date cannot be read.
func reportRequest(body, from, to string) (req *candorv1.GetReviewReportRequest, problem string) {
	req = &candorv1.GetReviewReportRequest{Body: body}
	var start, end time.Time
	if from != "" {
		t, err := time.Parse(reportDateLayout, from)
		if err != nil {
			return nil, "From: must be a date such as 2026-03-31."
		}
		start, req.StartTime = t, timestamppb.New(t)
	}
	if to != "" {
		t, err := time.Parse(reportDateLayout, to)
		if err != nil {
			return nil, "To: must be a date such as 2026-03-31."
		}
		// The day given is included: the period ends when the next day begins.
		end = t.AddDate(0, 0, 1)
		req.EndTime = timestamppb.New(end)
	}
	if from != "" && to != "" && !start.Before(end) {
		return nil, "From: must be on or before To."
	}
	return req, ""
}

// reviewOutcome names an outcome of the report the way people say it: "OUTCOME_NO_QUORUM" is
// "No quorum", "CONSENSUS_LEVEL_FULL_CONSENSUS" is "Full consensus"; "open" is "Still open".
func reviewOutcome(s string) string {
	switch s {
	case "open":
		return "Still open"
	case "undesignated":
		return "Not designated"
	case "":
		return "-"
	}
	for _, prefix := range []string{"OUTCOME_", "CONSENSUS_LEVEL_"} {
		if rest, ok := strings.CutPrefix(s, prefix); ok {
			return capitalise(strings.ToLower(strings.ReplaceAll(rest, "_", " ")))
		}
	}
	return s
}

// rateMeasures are the three rates the chart draws per group, each in its own colour (and named in
// its label, never told by colour alone).
var rateMeasures = []struct {
	label string
	rate  func(g *candorv1.GroupReview) float64
	of    func(g *candorv1.GroupReview) (n, d int32)
}{
	{"Declared", (*candorv1.GroupReview).GetDeclarationRate, func(g *candorv1.GroupReview) (int32, int32) { return g.GetDeclared(), g.GetEligible() }},
	{"Declared a conflict", (*candorv1.GroupReview).GetConflictRate, func(g *candorv1.GroupReview) (int32, int32) { return g.GetConflicts(), g.GetDeclared() }},
	{"Took part", (*candorv1.GroupReview).GetParticipationRate, func(g *candorv1.GroupReview) (int32, int32) { return g.GetParticipated(), g.GetEligible() }},
}

// groupRatesChart draws each group's declaration, conflict and participation rates as bars out of
// 100%, laid out like the result's charts so the "chart" partial draws it.
func groupRatesChart(groups []*candorv1.GroupReview) *barChart {
	if len(groups) == 0 {
		return nil
	}
	ch := &barChart{ID: "chart-rates", Title: "Declaration, conflict and participation rates per stakeholder group"}
	y := 0
	for _, g := range groups {
		y += chartHeadingH
		// Short enough for a phone's width: the table after the chart has every figure.
		ch.Rows = append(ch.Rows, barRow{Heading: true, TextY: y - 8, Label: GroupName(g.GetStakeholderGroup())})
		for i, m := range rateMeasures {
			rate := m.rate(g)
			n, d := m.of(g)
			width := 0.4 // a sliver, so a zero reads as "none" rather than missing
			if rate > 0 {
				width = 96 * min(rate, 1)
			}
			ch.Rows = append(ch.Rows, barRow{
				Label: fmt.Sprintf("%s: %.0f%% (%d of %d)", m.label, rate*100, n, d),
				TextY: y + chartLabelH - 5, BarY: y + chartLabelH,
				Width: fmt.Sprintf("%.2f%%", width), Fill: barFills[i%len(barFills)],
			})
			y += chartLabelH + chartBarH + chartGap
		}
	}
	ch.Height = y + chartGap
	return ch
}
