package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/internal/readall"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

func newCallCmd(a *app) *cobra.Command {
	return newGroup("call", "Open, watch, clear and close calls; propose, object to, finalise and appeal designations",
		newCallOpenCmd(a),
		newCallShowCmd(a),
		newCallWatchCmd(a),
		newCallListCmd(a),
		newCallCloseCmd(a),
		newCallClearCmd(a),
		newCallProposeCmd(a),
		newCallObjectCmd(a),
		newCallFinalizeCmd(a),
		newCallAppealCmd(a),
	)
}

// Flag values for enums, as the contract spells them.
var (
	conflictPolicies = map[string]candorv1.ConflictPolicy{
		"disclose": candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE,
		"recuse":   candorv1.ConflictPolicy_CONFLICT_POLICY_RECUSE,
		"review":   candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW,
	}
	callKinds = map[string]candorv1.CallKind{
		"vote":      candorv1.CallKind_CALL_KIND_VOTE,
		"consensus": candorv1.CallKind_CALL_KIND_CONSENSUS,
	}
	thresholds = map[string]candorv1.Threshold{
		"simple":          candorv1.Threshold_THRESHOLD_SIMPLE_MAJORITY,
		"simple-majority": candorv1.Threshold_THRESHOLD_SIMPLE_MAJORITY,
		"two-thirds":      candorv1.Threshold_THRESHOLD_TWO_THIRDS,
	}
)

// openFlags are the flags of `candor call open`.
type openFlags struct {
	kind                      string
	title, matter, matterFile string
	options, affected         []string
	policy, threshold         string
	closesIn                  time.Duration
	quorum                    int32
	eligible                  []string
	justification             string
}

func (f *openFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.kind, "kind", "vote", "vote (ballots on options) or consensus (positions, then the chair's designation)")
	fs.StringVar(&f.title, "title", "", "title of the call (required)")
	fs.StringVar(&f.matter, "matter", "", "the matter put to the body")
	fs.StringVar(&f.matterFile, "matter-file", "", "read the matter from `FILE` (- for standard input)")
	fs.StringArrayVar(&f.options, "option", nil, "an option a ballot may choose; repeat for each (default yes, no, abstain)")
	fs.StringArrayVar(&f.affected, "affected-party", nil, "a party the matter affects; repeat for each")
	fs.StringVar(&f.policy, "conflict-policy", "", "disclose, recuse or review (default disclose)")
	fs.DurationVar(&f.closesIn, "closes-in", 0, "close the call by itself after this long, e.g. 72h")
	fs.Int32Var(&f.quorum, "quorum", 0, "the result stands only with at least `N` ballots (abstentions count, recusals do not); 0 for no quorum")
	fs.StringVar(&f.threshold, "threshold", "", "simple or two-thirds of the votes cast (default simple)")
	fs.StringArrayVar(&f.eligible, "eligible", nil, "narrow eligibility to this participant; repeat for each; needs --justification")
	fs.StringVar(&f.justification, "justification", "", "why eligibility is narrower than the whole body (kept on the record)")
}

// openFields maps OpenCallRequest field paths to the flags that set them.
var openFields = map[string]string{
	"body": "BODY", "kind": "--kind", "title": "--title", "matter": "--matter", "options": "--option",
	"affected_parties": "--affected-party", "conflict_policy": "--conflict-policy", "deadline": "--closes-in",
	"quorum": "--quorum", "threshold": "--threshold", "eligible_participants": "--eligible",
	"eligibility_justification": "--justification",
}

// openCallRequest checks the flags of `candor call open BODY` and builds the request. readFile reads
// --matter-file; now is the time --closes-in counts from.
func openCallRequest(body string, f *openFlags, changed func(string) bool, now time.Time, readFile func(string) ([]byte, error)) (*candorv1.OpenCallRequest, error) {
	if err := checkName("body", "BODY", body); err != nil {
		return nil, err
	}
	if strings.TrimSpace(f.title) == "" {
		return nil, usageErrorf("--title is required")
	}
	kind := candorv1.CallKind_CALL_KIND_VOTE
	if changed("kind") {
		k, ok := callKinds[f.kind]
		if !ok {
			return nil, usageErrorf("--kind must be vote or consensus, not %q", f.kind)
		}
		kind = k
	}
	if kind == candorv1.CallKind_CALL_KIND_CONSENSUS {
		for _, flag := range []string{"option", "quorum", "threshold"} {
			if changed(flag) {
				return nil, usageErrorf("--%s applies to votes only: a consensus call counts the positions support, support-with-concerns, oppose and abstain, and the chair designates the level", flag)
			}
		}
	}
	c := &candorv1.Call{
		Title:           f.title,
		Matter:          f.matter,
		Kind:            kind,
		Options:         f.options,
		AffectedParties: f.affected,
		Quorum:          f.quorum,
	}
	if changed("matter-file") {
		if changed("matter") {
			return nil, usageErrorf("give either --matter or --matter-file, not both")
		}
		b, err := readFile(f.matterFile)
		if err != nil {
			return nil, usageErrorf("cannot read --matter-file: %v", err)
		}
		c.Matter = string(b)
	}
	if changed("conflict-policy") {
		p, ok := conflictPolicies[f.policy]
		if !ok {
			return nil, usageErrorf("--conflict-policy must be disclose, recuse or review, not %q", f.policy)
		}
		c.ConflictPolicy = p
	}
	if changed("threshold") {
		t, ok := thresholds[f.threshold]
		if !ok {
			return nil, usageErrorf("--threshold must be simple or two-thirds, not %q", f.threshold)
		}
		c.Threshold = t
	}
	if changed("closes-in") {
		if f.closesIn <= 0 {
			return nil, usageErrorf("--closes-in must be a positive duration such as 30m or 72h, not %s", f.closesIn)
		}
		c.Deadline = timestamppb.New(now.Add(f.closesIn))
	}
	if f.quorum < 0 {
		return nil, usageErrorf("--quorum must be 0 or more, not %d", f.quorum)
	}
	if len(f.eligible) > 0 {
		for _, p := range f.eligible {
			if err := checkName("participant", "--eligible", p); err != nil {
				return nil, err
			}
		}
		if strings.TrimSpace(f.justification) == "" {
			return nil, usageErrorf("--eligible narrows who may vote, so --justification is required: say why, it is kept on the record")
		}
		c.EligibleParticipants = f.eligible
		c.EligibilityJustification = f.justification
	} else if changed("justification") {
		return nil, usageErrorf("--justification goes with --eligible: without --eligible every member of the body is eligible")
	}
	return &candorv1.OpenCallRequest{Body: body, Call: c}, nil
}

func newCallOpenCmd(a *app) *cobra.Command {
	var f openFlags
	c := &cobra.Command{
		Use:   "open BODY --title T [--kind vote|consensus] [flags]",
		Short: "Open a vote or a consensus call in a body (chair)",
		Long: `Open a call in a body: a vote (the default), on which members cast ballots for options, or with
--kind consensus a consensus call, on which members state positions (support, support-with-concerns,
oppose, abstain) and the chair then designates the level of consensus ("candor call propose").
--option, --quorum and --threshold apply to votes only.

Every member of the body is eligible unless --eligible narrows the list, which needs a --justification
that is kept on the record. Each participant must declare before their ballot or position is accepted;
--conflict-policy says what a declared conflict means:
  disclose  conflicted members take part; their ballots and positions are flagged in the result (default)
  recuse    a member who declares an ACTUAL conflict cannot take part
  review    the chair must clear a POTENTIAL or ACTUAL conflict first ("candor call clear")`,
		Args: exactArgs("BODY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := openCallRequest(args[0], &f, cmd.Flags().Changed, a.now(), a.readFile)
			if err != nil {
				return err
			}
			a.subject.body = req.GetBody()
			a.subject.fields = openFields
			cl, err := a.client()
			if err != nil {
				return err
			}
			resp, err := cl.calls.OpenCall(cmd.Context(), req)
			if err != nil {
				return err
			}
			return a.written(resp, resp.GetReceipt(), func(w io.Writer) error {
				return writeCall(a, w, resp.GetCall(), nil)
			})
		},
	}
	f.register(c.Flags())
	return c
}

// readFile reads a file named on the command line; "-" is standard input.
func (a *app) readFile(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(a.stdin)
	}
	return os.ReadFile(name)
}

// callArg checks a CALL argument and remembers it for error sentences.
func (a *app) callArg(name string) error {
	if err := checkName("call", "CALL", name); err != nil {
		return err
	}
	a.subject.call = name
	return nil
}

func newCallShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "show CALL",
		Short: "Show a call, its result once closed, its designation record, and who has declared and voted",
		Args:  exactArgs("CALL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.callArg(args[0]); err != nil {
				return err
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			call, err := cl.calls.GetCall(cmd.Context(), &candorv1.GetCallRequest{Name: args[0]})
			if err != nil {
				return err
			}
			if err := readall.ConsensusLists(cmd.Context(), cl.calls, call.GetCall()); err != nil {
				return err
			}
			entries, err := readall.Roster(cmd.Context(), cl.calls, args[0], "", 0)
			if err != nil {
				return err
			}
			roster := &candorv1.GetCallRosterResponse{Entries: entries} // every page: no token
			if a.jsonOutput() {
				return a.printJSONObject(jsonField{"call", call.GetCall()}, jsonField{"roster", roster})
			}
			names := map[string]string{}
			for _, e := range roster.GetEntries() {
				names[e.GetParticipant()] = e.GetDisplayName()
			}
			if err := writeCall(a, a.stdout, call.GetCall(), names); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout)
			fmt.Fprintln(a.stdout, "Roster:")
			return writeRoster(a, &indented{w: a.stdout, prefix: "  "}, call.GetCall(), roster.GetEntries())
		},
	}
}

func newCallListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list BODY",
		Short: "List a body's calls, newest last",
		Args:  exactArgs("BODY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkName("body", "BODY", args[0]); err != nil {
				return err
			}
			a.subject.body = args[0]
			cl, err := a.client()
			if err != nil {
				return err
			}
			all, err := listAll(func(tok string) ([]*candorv1.Call, string, error) {
				resp, err := cl.calls.ListCalls(cmd.Context(), &candorv1.ListCallsRequest{Body: args[0], PageToken: tok})
				return resp.GetCalls(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printJSON(&candorv1.ListCallsResponse{Calls: all})
			}
			tw := newTable(a.stdout)
			row(tw, "NAME", "TITLE", "KIND", "STATE", "POLICY", "OPENED", "DEADLINE", "OUTCOME")
			for _, c := range all {
				row(tw, c.GetName(), short(c.GetTitle(), 40), enumString(c.GetKind()), enumString(c.GetState()), enumString(c.GetConflictPolicy()),
					a.timeString(c.GetOpenTime()), a.timeString(c.GetDeadline()), callOutcome(c))
			}
			return tw.Flush()
		},
	}
}

func newCallCloseCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "close CALL",
		Short: "Close a call and print its result (chair)",
		Args:  exactArgs("CALL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.callArg(args[0]); err != nil {
				return err
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			resp, err := cl.calls.CloseCall(cmd.Context(), &candorv1.CloseCallRequest{Name: args[0]})
			if err != nil {
				return err
			}
			return a.written(resp, resp.GetReceipt(), func(w io.Writer) error {
				return writeCall(a, w, resp.GetCall(), nil)
			})
		},
	}
}

func newCallClearCmd(a *app) *cobra.Command {
	var requireRecusal bool
	var note string
	c := &cobra.Command{
		Use:   "clear CALL PARTICIPANT [--require-recusal] [--note N]",
		Short: "Rule on a participant's declared conflict under the review policy (chair)",
		Long: `Rule on a participant's current declaration in a call whose conflict policy is review: clear them to
vote, or with --require-recusal, require them to recuse. The ruling and its note are kept on the record.`,
		Args: exactArgs("CALL", "PARTICIPANT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.callArg(args[0]); err != nil {
				return err
			}
			if err := checkName("participant", "PARTICIPANT", args[1]); err != nil {
				return err
			}
			a.subject.participant = args[1]
			a.subject.fields = map[string]string{"call": "CALL", "participant": "PARTICIPANT", "note": "--note"}
			decision := candorv1.ClearanceDecision_CLEARANCE_DECISION_CLEARED
			if requireRecusal {
				decision = candorv1.ClearanceDecision_CLEARANCE_DECISION_RECUSAL_REQUIRED
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			resp, err := cl.calls.ClearDeclaration(cmd.Context(), &candorv1.ClearDeclarationRequest{
				Call: args[0], Participant: args[1], Decision: decision, Note: note,
			})
			if err != nil {
				return err
			}
			return a.written(resp, resp.GetReceipt(), func(w io.Writer) error {
				cl := resp.GetClearance()
				var d details
				d.add("Declaration", cl.GetDeclaration())
				d.add("Participant", cl.GetParticipant())
				d.add("Decision", enumString(cl.GetDecision()))
				d.add("Note", cell(cl.GetNote()))
				d.add("Chair", orDash(cl.GetChair()))
				d.add("Ruled", a.timeString(cl.GetCreateTime()))
				return d.write(w)
			})
		},
	}
	c.Flags().BoolVar(&requireRecusal, "require-recusal", false, "require the participant to recuse instead of clearing them")
	c.Flags().StringVar(&note, "note", "", "why (kept on the record)")
	return c
}

// isConsensus reports whether c is a consensus call.
func isConsensus(c *candorv1.Call) bool { return c.GetKind() == candorv1.CallKind_CALL_KIND_CONSENSUS }

// writeCall prints a call and, once closed, its result; for a consensus call also its designation
// record and minority statements. names maps participant names to display names where known.
func writeCall(a *app, w io.Writer, c *candorv1.Call, names map[string]string) error {
	consensus := isConsensus(c)
	var d details
	d.add("Call", c.GetName())
	d.add("Title", cell(c.GetTitle()))
	d.add("State", enumString(c.GetState()))
	d.add("Kind", enumString(c.GetKind()))
	if consensus {
		d.add("Positions", cell(strings.Join(c.GetOptions(), ", ")))
	} else {
		d.add("Options", cell(strings.Join(c.GetOptions(), ", ")))
		d.add("Threshold", enumString(c.GetThreshold()))
		quorum := "none"
		if c.GetQuorum() > 0 {
			quorum = strconv.Itoa(int(c.GetQuorum()))
		}
		d.add("Quorum", quorum)
	}
	d.add("Conflict policy", enumString(c.GetConflictPolicy()))
	d.add("Deadline", a.timeString(c.GetDeadline()))
	d.addList("Affected parties", c.GetAffectedParties())
	if c.GetEligibilityRestricted() {
		d.add("Eligibility", fmt.Sprintf("restricted to %d participants", len(c.GetEligibleParticipants())))
		d.addList("Eligible", labelled(c.GetEligibleParticipants(), names))
	} else {
		d.add("Eligibility", fmt.Sprintf("all members (%d)", len(c.GetEligibleParticipants())))
	}
	d.add("Opened", byWhom(a.timeString(c.GetOpenTime()), c.GetOpenedBy()))
	if c.GetState() == candorv1.CallState_CALL_STATE_CLOSED || c.GetCloseTime() != nil {
		d.add("Closed", byWhom(a.timeString(c.GetCloseTime()), c.GetClosedBy()))
	}
	if consensus {
		d.add("Designation", designationString(c))
	}
	if err := d.write(w); err != nil {
		return err
	}
	if c.GetEligibilityRestricted() {
		writeText(w, "Justification", c.GetEligibilityJustification())
	}
	writeText(w, "Matter", c.GetMatter())
	if r := c.GetResult(); r != nil {
		fmt.Fprintln(w)
		if err := writeResult(w, c, r, names); err != nil {
			return err
		}
		if len(r.GetGroups()) > 0 {
			fmt.Fprintln(w)
			if err := writeGroups(w, c, r.GetGroups()); err != nil {
				return err
			}
		}
	}
	if consensus {
		return writeConsensusRecord(a, w, c.GetConsensus(), names)
	}
	return nil
}

func byWhom(when, who string) string {
	if who == "" {
		return when
	}
	return when + " by " + who
}

// writeResult prints a closed call's tally: a vote's ballots against its quorum and threshold, or a
// consensus call's positions.
func writeResult(out io.Writer, c *candorv1.Call, r *candorv1.Result, names map[string]string) error {
	consensus := isConsensus(c)
	fmt.Fprintln(out, "Result:")
	w := &indented{w: out, prefix: "  "}
	var d details
	if consensus {
		d.add("Eligible", strconv.Itoa(int(r.GetEligible())))
		d.add("Positions counted", strconv.Itoa(int(r.GetBallotsCounted())))
		d.add("Abstentions", strconv.Itoa(int(r.GetAbstentions())))
	} else {
		d.add("Outcome", outcomeString(r))
		quorum := "none"
		if r.GetQuorum() > 0 {
			met := "not met"
			if r.GetQuorumMet() {
				met = "met"
			}
			quorum = fmt.Sprintf("%d (%s)", r.GetQuorum(), met)
		}
		d.add("Quorum", quorum)
		d.add("Eligible", strconv.Itoa(int(r.GetEligible())))
		d.add("Ballots counted", strconv.Itoa(int(r.GetBallotsCounted())))
		d.add("Votes cast", strconv.Itoa(int(r.GetVotesCast())))
		d.add("Abstentions", strconv.Itoa(int(r.GetAbstentions())))
	}
	d.add("Turnout", fmt.Sprintf("%.1f%%", r.GetTurnout()*100))
	d.addList("Recused", labelled(r.GetRecused(), names))
	d.addList("Undeclared", labelled(r.GetUndeclared(), names))
	d.addList("Uncleared", labelled(r.GetUncleared(), names))
	d.addList(staleLabel(c, r), labelled(r.GetStale(), names))
	if err := d.write(w); err != nil {
		return err
	}
	what, count := "OPTION", "BALLOTS"
	if consensus {
		what, count = "POSITION", "COUNT"
	}
	fmt.Fprintln(w)
	tw := newTable(w)
	row(tw, what, count)
	for _, oc := range r.GetCounts() {
		row(tw, cell(oc.GetOption()), strconv.Itoa(int(oc.GetCount())))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.GetFlagged()) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	if consensus {
		fmt.Fprintln(w, "Positions counted under a declared conflict or a stale declaration:")
	} else {
		fmt.Fprintln(w, "Ballots counted under a declared conflict or a stale declaration:")
	}
	tw = newTable(w)
	row(tw, "PARTICIPANT", what, "CONFLICT", "STALE")
	for _, f := range r.GetFlagged() {
		row(tw, label(f.GetParticipant(), names), cell(f.GetOption()), enumString(f.GetConflictLevel()), yesNo(f.GetStale()))
	}
	return tw.Flush()
}

// staleLabel names the result's list of stale declarations with what the call's policy did with
// their ballots or positions: counted (and flagged) under DISCLOSE, set aside under RECUSE and REVIEW.
func staleLabel(c *candorv1.Call, r *candorv1.Result) string {
	switch {
	case len(r.GetStale()) == 0:
		return "Stale"
	case c.GetConflictPolicy() == candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE:
		return "Stale (counted)"
	default:
		return "Stale (set aside)"
	}
}

// writeGroups prints a result's breakdown by stakeholder group: declarations, conflicts, recusals,
// ballots or positions resting on a stale declaration, and the counted ballots or positions per option.
func writeGroups(out io.Writer, c *candorv1.Call, groups []*candorv1.GroupTally) error {
	fmt.Fprintln(out, "By stakeholder group:")
	w := &indented{w: out, prefix: "  "}
	counted := "BALLOTS"
	if isConsensus(c) {
		counted = "POSITIONS"
	}
	tw := newTable(w)
	row(tw, "GROUP", "ELIGIBLE", "DECLARED", "CONFLICTS", "RECUSALS", "STALE", counted)
	for _, g := range groups {
		counts := make([]string, len(g.GetCounts()))
		for i, oc := range g.GetCounts() {
			counts[i] = fmt.Sprintf("%s %d", cell(oc.GetOption()), oc.GetCount())
		}
		row(tw, groupName(g.GetStakeholderGroup()), strconv.Itoa(int(g.GetEligible())), strconv.Itoa(int(g.GetDeclared())),
			strconv.Itoa(int(g.GetConflicts())), strconv.Itoa(int(g.GetRecusals())), strconv.Itoa(int(g.GetStale())),
			orDash(strings.Join(counts, ", ")))
	}
	return tw.Flush()
}

// groupName prints a stakeholder group; members added without one are grouped as "(none)".
func groupName(g string) string {
	if strings.TrimSpace(g) == "" {
		return "(none)"
	}
	return cell(g)
}

// outcomeString says how a call ended: a vote's outcome, a consensus call's designation.
func outcomeString(r *candorv1.Result) string {
	if r == nil {
		return "-"
	}
	s := enumString(r.GetOutcome())
	if r.GetOutcome() == candorv1.Outcome_OUTCOME_DECIDED && r.GetWinningOption() != "" {
		s += ": " + r.GetWinningOption()
	}
	return s
}

// callOutcome is the OUTCOME column of `call list`.
func callOutcome(c *candorv1.Call) string {
	if isConsensus(c) {
		if c.GetState() != candorv1.CallState_CALL_STATE_CLOSED {
			return "-"
		}
		return designationString(c)
	}
	return outcomeString(c.GetResult())
}

// label prints a participant name with their display name when known.
func label(name string, names map[string]string) string {
	if dn := names[name]; dn != "" {
		return name + " (" + cell(dn) + ")"
	}
	return name
}

func labelled(ps []string, names map[string]string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = label(p, names)
	}
	return out
}

// writeRoster prints who is eligible in a call and how far each has come: declared, cleared, voted
// (or stated a position), and which of the call's affected parties their SOI names. While the call
// is open a stale declaration reads "must declare again": until they do, their ballot or position is
// set aside at close under RECUSE and REVIEW, and flagged under DISCLOSE.
func writeRoster(a *app, w io.Writer, c *candorv1.Call, entries []*candorv1.RosterEntry) error {
	took := "VOTED"
	if isConsensus(c) {
		took = "STATED"
	}
	tw := newTable(w)
	row(tw, "PARTICIPANT", "DISPLAY NAME", "GROUP", "DECLARED", "SOI", "CONFLICT", "INTENT", "STALE", "CLEARANCE", took, "AFFECTED-PARTY MATCHES", "STATUS")
	for _, e := range entries {
		d := e.GetDeclaration()
		declared, soi, stale := "no", "-", "-"
		if d != nil {
			declared = a.timeString(d.GetCreateTime())
			soi = soiVersion(d.GetSoiVersion())
			stale = yesNo(e.GetStale())
			if e.GetStale() && c.GetState() == candorv1.CallState_CALL_STATE_OPEN {
				stale = "must declare again"
			}
		}
		matches := make([]string, len(e.GetAffectedPartyMatches()))
		for i, m := range e.GetAffectedPartyMatches() {
			matches[i] = cell(m)
		}
		row(tw, e.GetParticipant(), cell(e.GetDisplayName()), cell(e.GetStakeholderGroup()), declared, soi,
			enumString(d.GetConflictLevel()), enumString(d.GetIntent()), stale, enumString(e.GetClearance().GetDecision()), yesNo(e.GetVoted()),
			orDash(strings.Join(matches, "; ")), rosterStatus(e))
	}
	return tw.Flush()
}

// rosterStatus says whether an eligible participant can still act in the call: "active", or why
// not ("deactivated", "removed" from the body, or both). Either way they stay on the roster.
func rosterStatus(e *candorv1.RosterEntry) string {
	var why []string
	if e.GetDeactivated() {
		why = append(why, "deactivated")
	}
	if e.GetRemoved() {
		why = append(why, "removed")
	}
	if len(why) == 0 {
		return "active"
	}
	return strings.Join(why, ", ")
}
