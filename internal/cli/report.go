package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

func newReportCmd(a *app) *cobra.Command {
	return newGroup("report", "Reports for a body's periodic review (members of the body, auditors and admins)",
		newReportReviewCmd(a),
	)
}

// dateLayout is the day form --from and --to accept besides RFC 3339.
const dateLayout = "2006-01-02"

// parseWhen reads --from or --to: an RFC 3339 time, or a day in loc. A day given to --to means the end
// of that day (the report's range ends before the next day begins), so "--to 2026-03-31" includes
// March 31.
func parseWhen(flag, value string, endOfDay bool, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, value); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation(dateLayout, value, loc)
	if err != nil {
		return time.Time{}, usageErrorf("--%s must be a date (2026-03-31) or an RFC 3339 time (2026-03-31T17:00:00Z), not %q", flag, value)
	}
	if endOfDay {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}

// reviewRequest checks the arguments of `candor report review BODY` and builds the request.
func reviewRequest(body, from, to string, loc *time.Location) (*candorv1.GetReviewReportRequest, error) {
	if err := checkName("body", "BODY", body); err != nil {
		return nil, err
	}
	start, end, err := parsePeriod(from, to, loc)
	if err != nil {
		return nil, err
	}
	return &candorv1.GetReviewReportRequest{Body: body, StartTime: start, EndTime: end}, nil
}

// parsePeriod reads --from and --to ([parseWhen]; "" leaves that end unset) and checks that --from
// comes before --to.
func parsePeriod(from, to string, loc *time.Location) (start, end *timestamppb.Timestamp, err error) {
	var s, e time.Time
	if from != "" {
		if s, err = parseWhen("from", from, false, loc); err != nil {
			return nil, nil, err
		}
		start = timestamppb.New(s)
	}
	if to != "" {
		if e, err = parseWhen("to", to, true, loc); err != nil {
			return nil, nil, err
		}
		end = timestamppb.New(e)
	}
	if from != "" && to != "" && !s.Before(e) {
		return nil, nil, usageErrorf("--from must be before --to")
	}
	return start, end, nil
}

func newReportReviewCmd(a *app) *cobra.Command {
	var from, to string
	c := &cobra.Command{
		Use:   "review BODY [--from DATE|TIME] [--to DATE|TIME]",
		Short: "A body's record for its periodic review: participation, declarations, conflicts, outcomes",
		Long: `Summarise the calls a body opened in a period, for the periodic review of its model: participation,
declaration, conflict and recusal figures per stakeholder group; calls by kind and outcome; consensus
designations that drew objections or appeals; and members who never declared in a call they were
eligible for. Open calls count with their state so far.

--from and --to take a date (2026-03-31, in the local zone) or an RFC 3339 time. The period covers
calls opened from --from (default: the beginning) up to --to (default: now); a date given to --to
includes that whole day. Members of the body, auditors and admins.`,
		Args: exactArgs("BODY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := reviewRequest(args[0], from, to, a.loc)
			if err != nil {
				return err
			}
			a.subject.body = args[0]
			a.subject.fields = map[string]string{"body": "BODY", "start_time": "--from", "end_time": "--to"}
			cl, err := a.client()
			if err != nil {
				return err
			}
			resp, err := cl.audit.GetReviewReport(cmd.Context(), req)
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printJSON(resp)
			}
			return writeReview(a, a.stdout, resp.GetReport())
		},
	}
	c.Flags().StringVar(&from, "from", "", "start of the period: a date or an RFC 3339 time (default the beginning)")
	c.Flags().StringVar(&to, "to", "", "end of the period: a date (included) or an RFC 3339 time (default now)")
	return c
}

// writeReview prints a review report as tables.
func writeReview(a *app, w io.Writer, r *candorv1.ReviewReport) error {
	start := "the beginning"
	if r.GetStartTime() != nil {
		start = a.timeString(r.GetStartTime())
	}
	var d details
	d.add("Body", r.GetBody())
	d.add("Period", fmt.Sprintf("calls opened from %s until %s", start, a.timeString(r.GetEndTime())))
	d.add("Calls", strconv.Itoa(int(r.GetCalls())))
	if err := d.write(w); err != nil {
		return err
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "Calls by kind and outcome:")
	iw := &indented{w: w, prefix: "  "}
	tw := newTable(iw)
	row(tw, "KIND", "OUTCOME", "CALLS")
	for _, o := range r.GetOutcomes() {
		row(tw, enumString(o.GetKind()), outcomeLabel(o.GetOutcome()), strconv.Itoa(int(o.GetCount())))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "By stakeholder group (eligible, declared, etc. are summed over the calls):")
	tw = newTable(iw)
	row(tw, "GROUP", "MEMBERS", "ELIGIBLE", "DECLARED", "CONFLICTS", "RECUSALS", "PARTICIPATED", "DECLARATION RATE", "CONFLICT RATE", "PARTICIPATION RATE")
	for _, g := range r.GetGroups() {
		row(tw, groupName(g.GetStakeholderGroup()), strconv.Itoa(int(g.GetMembers())), strconv.Itoa(int(g.GetEligible())),
			strconv.Itoa(int(g.GetDeclared())), strconv.Itoa(int(g.GetConflicts())), strconv.Itoa(int(g.GetRecusals())),
			strconv.Itoa(int(g.GetParticipated())), percent(g.GetDeclarationRate()), percent(g.GetConflictRate()), percent(g.GetParticipationRate()))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w)
	var l details
	l.addList("Designations objected to", r.GetObjectedCalls())
	l.addList("Designations appealed", r.GetAppealedCalls())
	l.addList("Never declared", r.GetNeverDeclared())
	return l.write(w)
}

// outcomeLabel prints an OutcomeCount's outcome the way flags spell enum values: "OUTCOME_NO_QUORUM"
// is "no-quorum", "CONSENSUS_LEVEL_FULL_CONSENSUS" is "full-consensus"; "open" and "undesignated"
// stay as they are.
func outcomeLabel(s string) string {
	for _, prefix := range []string{"OUTCOME_", "CONSENSUS_LEVEL_"} {
		if rest, ok := strings.CutPrefix(s, prefix); ok {
			return strings.ReplaceAll(strings.ToLower(rest), "_", "-")
		}
	}
	return orDash(s)
}

func percent(f float64) string {
	return fmt.Sprintf("%.1f%%", f*100)
}
