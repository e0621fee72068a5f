package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/reflect/protoreflect"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// Flag values for the consensus enums, spelt as enumString prints them.
var (
	positions       = enumValues(candorv1.Position_POSITION_UNSPECIFIED.Descriptor())
	consensusLevels = enumValues(candorv1.ConsensusLevel_CONSENSUS_LEVEL_UNSPECIFIED.Descriptor())
)

// enumValues maps the flag spelling of every value of an enum but the zero one to its number, e.g.
// "support-with-concerns" to POSITION_SUPPORT_WITH_CONCERNS.
func enumValues(ed protoreflect.EnumDescriptor) map[string]protoreflect.EnumNumber {
	out := map[string]protoreflect.EnumNumber{}
	prefix := upperSnake(string(ed.Name())) + "_"
	for i := 0; i < ed.Values().Len(); i++ {
		v := ed.Values().Get(i)
		if v.Number() == 0 {
			continue
		}
		name := strings.TrimPrefix(string(v.Name()), prefix)
		out[strings.ReplaceAll(strings.ToLower(name), "_", "-")] = v.Number()
	}
	return out
}

// Spelt out in help and messages, in the enums' order.
const (
	positionChoices = "support, support-with-concerns, oppose or abstain"
	levelChoices    = "full-consensus, consensus, strong-support-significant-opposition or divergence"
)

// positionRequest checks the arguments of `candor position CALL POSITION` and builds the request.
func positionRequest(call, position, comment string) (*candorv1.StatePositionRequest, error) {
	if err := checkName("call", "CALL", call); err != nil {
		return nil, err
	}
	n, ok := positions[position]
	if !ok {
		return nil, usageErrorf("POSITION must be %s, not %q", positionChoices, position)
	}
	p := candorv1.Position(n)
	if p == candorv1.Position_POSITION_OPPOSE && strings.TrimSpace(comment) == "" {
		return nil, usageErrorf("oppose needs --comment: dissent goes on the record with its reasons")
	}
	return &candorv1.StatePositionRequest{Call: call, Position: p, Comment: comment}, nil
}

func newPositionCmd(a *app) *cobra.Command {
	var comment string
	c := &cobra.Command{
		Use:   "position CALL support|support-with-concerns|oppose|abstain [--comment C]",
		Short: "State your position in a consensus call (after declaring)",
		Long: `State your position in an open consensus call: support, support-with-concerns, oppose (which needs
--comment saying why) or abstain. As for a ballot, the server accepts it only if you have a current
declaration for the call that its conflict policy allows. You may state a position again until the
call closes: the last one counts and every one stays on the record. The receipt is saved.`,
		Args: exactArgs("CALL", "POSITION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := positionRequest(args[0], args[1], comment)
			if err != nil {
				return err
			}
			a.subject.call, a.subject.action = args[0], "position"
			a.subject.fields = map[string]string{"call": "CALL", "position": "POSITION", "comment": "--comment"}
			cl, err := a.client()
			if err != nil {
				return err
			}
			resp, err := cl.calls.StatePosition(cmd.Context(), req)
			if err != nil {
				return err
			}
			return a.written(resp, resp.GetReceipt(), func(w io.Writer) error {
				p := resp.GetPositionStatement()
				var d details
				d.add("Position statement", p.GetName())
				d.add("Participant", p.GetParticipant())
				d.add("Position", enumString(p.GetPosition()))
				d.add("Comment", cell(p.GetComment()))
				d.add("Declaration", orDash(p.GetDeclaration()))
				d.add("Conflict", enumString(p.GetConflictLevel()))
				d.add("Supersedes", orDash(p.GetSupersedes()))
				d.add("Stated", a.timeString(p.GetCreateTime()))
				return d.write(w)
			})
		},
	}
	c.Flags().StringVar(&comment, "comment", "", "why; required to oppose (kept on the record)")
	return c
}

// proposeFlags are the flags of `candor call propose`.
type proposeFlags struct {
	designation string
	rationale   string
	window      time.Duration
}

// proposeRequest checks the flags of `candor call propose CALL` and builds the request.
func proposeRequest(call string, f *proposeFlags, changed func(string) bool) (*candorv1.ProposeDesignationRequest, error) {
	if err := checkName("call", "CALL", call); err != nil {
		return nil, err
	}
	if f.designation == "" {
		return nil, usageErrorf("--designation is required: %s", levelChoices)
	}
	n, ok := consensusLevels[f.designation]
	if !ok {
		return nil, usageErrorf("--designation must be %s, not %q", levelChoices, f.designation)
	}
	if strings.TrimSpace(f.rationale) == "" {
		return nil, usageErrorf("--rationale is required: say why the positions support this level (it is kept on the record)")
	}
	req := &candorv1.ProposeDesignationRequest{Call: call, Level: candorv1.ConsensusLevel(n), Rationale: f.rationale}
	if changed("objection-window") {
		if f.window < time.Second {
			return nil, usageErrorf("--objection-window must be at least 1s, such as 48h, not %s", f.window)
		}
		if f.window%time.Second != 0 {
			return nil, usageErrorf("--objection-window must be whole seconds, not %s", f.window)
		}
		req.ObjectionWindowSeconds = int64(f.window / time.Second)
	}
	return req, nil
}

func newCallProposeCmd(a *app) *cobra.Command {
	var f proposeFlags
	c := &cobra.Command{
		Use:   "propose CALL --designation LEVEL --rationale R [--objection-window DURATION]",
		Short: "Propose or revise the consensus level of a closed consensus call (chair)",
		Long: `Propose the level of consensus a closed consensus call reached, on the GNSO Working Group Guidelines
(3.6) scale, with a rationale; proposing again revises it. Members may object ("candor call object")
until the objection window closes (default 7 days, at most 90); then the chair finalises ("candor call
finalize"). --designation is one of:
  full-consensus                          no one in the group speaks against the recommendation
  consensus                               a small minority disagrees, but most agree
  strong-support-significant-opposition   most support it, but a significant number do not
  divergence                              no strong support for any position`,
		Args: exactArgs("CALL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := proposeRequest(args[0], &f, cmd.Flags().Changed)
			if err != nil {
				return err
			}
			a.subject.call, a.subject.action = args[0], "designation"
			a.subject.fields = map[string]string{"call": "CALL", "level": "--designation", "rationale": "--rationale", "objection_window_seconds": "--objection-window"}
			cl, err := a.client()
			if err != nil {
				return err
			}
			resp, err := cl.calls.ProposeDesignation(cmd.Context(), req)
			if err != nil {
				return err
			}
			return a.written(resp, resp.GetReceipt(), func(w io.Writer) error {
				return writeDesignationSummary(a, w, resp.GetCall())
			})
		},
	}
	c.Flags().StringVar(&f.designation, "designation", "", "the level: "+levelChoices+" (required)")
	c.Flags().StringVar(&f.rationale, "rationale", "", "why the positions support this level (required; kept on the record)")
	c.Flags().DurationVar(&f.window, "objection-window", 0, "how long members may object, e.g. 48h (default 7 days, at most 90 days)")
	return c
}

// reasonCmd builds `candor call object` and `candor call appeal`: a call and a --reason.
func reasonCmd(a *app, use, short, long string, send func(cl *clients, cmd *cobra.Command, call, reason string) error) *cobra.Command {
	var reason string
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		Args:  exactArgs("CALL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.callArg(args[0]); err != nil {
				return err
			}
			if strings.TrimSpace(reason) == "" {
				return usageErrorf("--reason is required: it is kept on the record")
			}
			a.subject.action = "designation"
			a.subject.fields = map[string]string{"call": "CALL", "reason": "--reason"}
			cl, err := a.client()
			if err != nil {
				return err
			}
			return send(cl, cmd, args[0], reason)
		},
	}
	c.Flags().StringVar(&reason, "reason", "", "why (required; kept on the record)")
	return c
}

func newCallObjectCmd(a *app) *cobra.Command {
	return reasonCmd(a, "object CALL --reason R", "Object to the chair's proposed designation, within its window",
		`Object to the chair's current proposed designation of a consensus call, with a reason, before its
objection window closes (see "candor call show"). Any eligible participant may object; the chair may
then revise the proposal. The objection stays on the record. The receipt is saved.`,
		func(cl *clients, cmd *cobra.Command, call, reason string) error {
			resp, err := cl.calls.ObjectToDesignation(cmd.Context(), &candorv1.ObjectToDesignationRequest{Call: call, Reason: reason})
			if err != nil {
				return err
			}
			return a.written(resp, resp.GetReceipt(), func(w io.Writer) error {
				o := resp.GetObjection()
				var d details
				d.add("Objection to", fmt.Sprintf("%s, revision %d", call, o.GetRevision()))
				d.add("Participant", o.GetParticipant())
				d.add("Reason", cell(o.GetReason()))
				d.add("Filed", a.timeString(o.GetCreateTime()))
				return d.write(w)
			})
		})
}

func newCallAppealCmd(a *app) *cobra.Command {
	return reasonCmd(a, "appeal CALL --reason R", "Appeal the final designation of a consensus call",
		`Appeal the chair's final designation of a consensus call, with a reason. Any eligible participant may
appeal; the appeal is on the record and shown with the result. The receipt is saved.`,
		func(cl *clients, cmd *cobra.Command, call, reason string) error {
			resp, err := cl.calls.AppealDesignation(cmd.Context(), &candorv1.AppealDesignationRequest{Call: call, Reason: reason})
			if err != nil {
				return err
			}
			return a.written(resp, resp.GetReceipt(), func(w io.Writer) error {
				ap := resp.GetAppeal()
				var d details
				d.add("Appeal of", call)
				d.add("Participant", ap.GetParticipant())
				d.add("Reason", cell(ap.GetReason()))
				d.add("Filed", a.timeString(ap.GetCreateTime()))
				return d.write(w)
			})
		})
}

func newCallFinalizeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "finalize CALL",
		Short: "Make the proposed designation final once its objection window has passed (chair)",
		Args:  exactArgs("CALL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.callArg(args[0]); err != nil {
				return err
			}
			a.subject.action = "designation"
			cl, err := a.client()
			if err != nil {
				return err
			}
			resp, err := cl.calls.FinalizeDesignation(cmd.Context(), &candorv1.FinalizeDesignationRequest{Call: args[0]})
			if err != nil {
				return err
			}
			return a.written(resp, resp.GetReceipt(), func(w io.Writer) error {
				return writeDesignationSummary(a, w, resp.GetCall())
			})
		},
	}
}

// writeDesignationSummary prints a call's name and designation line, then its designation record:
// the answer to propose and finalize.
func writeDesignationSummary(a *app, w io.Writer, c *candorv1.Call) error {
	var d details
	d.add("Call", c.GetName())
	d.add("Title", cell(c.GetTitle()))
	d.add("Designation", designationString(c))
	if err := d.write(w); err != nil {
		return err
	}
	return writeDesignationRecord(a, w, c.GetConsensus(), nil)
}

// designationString says where a consensus call's designation stands, in one line.
func designationString(c *candorv1.Call) string {
	cr := c.GetConsensus()
	var s string
	switch {
	case cr.GetFinal() != nil:
		s = fmt.Sprintf("%s (final, revision %d)", enumString(cr.GetFinal().GetLevel()), cr.GetFinal().GetRevision())
	case len(cr.GetProposals()) > 0:
		cur := cr.GetProposals()[len(cr.GetProposals())-1]
		s = fmt.Sprintf("%s (proposed, revision %d)", enumString(cur.GetLevel()), cur.GetRevision())
	case c.GetState() == candorv1.CallState_CALL_STATE_CLOSED:
		return "none proposed yet"
	default:
		return "after the call closes"
	}
	if n := max(len(cr.GetAppeals()), int(cr.GetAppealCount())); n > 0 {
		s += fmt.Sprintf(", appealed (%d)", n)
	}
	return s
}

// writeConsensusRecord prints the designation workflow and the minority statements.
func writeConsensusRecord(a *app, out io.Writer, cr *candorv1.ConsensusRecord, names map[string]string) error {
	if err := writeDesignationRecord(a, out, cr, names); err != nil {
		return err
	}
	return writeMinorityStatements(a, out, cr, names)
}

// writeDesignationRecord prints the designation workflow: proposals, objections, the final
// designation and appeals; nothing before the first proposal.
func writeDesignationRecord(a *app, out io.Writer, cr *candorv1.ConsensusRecord, names map[string]string) error {
	if len(cr.GetProposals()) > 0 {
		fmt.Fprintln(out)
		fmt.Fprintln(out, "Designation record:")
		w := &indented{w: out, prefix: "  "}
		tw := newTable(w)
		row(tw, "REVISION", "LEVEL", "PROPOSED", "OBJECTIONS UNTIL", "BY", "RATIONALE")
		for _, p := range cr.GetProposals() {
			row(tw, strconv.Itoa(int(p.GetRevision())), enumString(p.GetLevel()), a.timeString(p.GetCreateTime()),
				a.timeString(p.GetObjectionDeadline()), label(p.GetChair(), names), cell(p.GetRationale()))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(cr.GetObjections()) > 0 {
			fmt.Fprintln(w)
			fmt.Fprintln(w, "Objections:")
			tw = newTable(w)
			row(tw, "REVISION", "PARTICIPANT", "FILED", "REASON")
			for _, o := range cr.GetObjections() {
				row(tw, strconv.Itoa(int(o.GetRevision())), label(o.GetParticipant(), names), a.timeString(o.GetCreateTime()), cell(o.GetReason()))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
		fmt.Fprintln(w)
		var d details
		if f := cr.GetFinal(); f != nil {
			d.add("Final", fmt.Sprintf("%s (revision %d), %s", enumString(f.GetLevel()), f.GetRevision(), byWhom(a.timeString(f.GetCreateTime()), label(f.GetChair(), names))))
		} else {
			d.add("Final", "not yet")
		}
		if err := d.write(w); err != nil {
			return err
		}
		if len(cr.GetAppeals()) > 0 {
			fmt.Fprintln(w)
			fmt.Fprintln(w, "Appeals:")
			tw = newTable(w)
			row(tw, "PARTICIPANT", "FILED", "REASON")
			for _, ap := range cr.GetAppeals() {
				row(tw, label(ap.GetParticipant(), names), a.timeString(ap.GetCreateTime()), cell(ap.GetReason()))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeMinorityStatements prints a consensus call's minority statements, if any.
func writeMinorityStatements(a *app, out io.Writer, cr *candorv1.ConsensusRecord, names map[string]string) error {
	if len(cr.GetMinorityStatements()) > 0 {
		fmt.Fprintln(out)
		fmt.Fprintln(out, "Minority statements:")
		w := &indented{w: out, prefix: "  "}
		for i, ms := range cr.GetMinorityStatements() {
			if i > 0 {
				fmt.Fprintln(w)
			}
			if err := writeMinorityStatement(a, w, ms, names); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeMinorityStatement prints a minority statement: who wrote it, who was named as co-signer and
// which of them signed, and its text.
func writeMinorityStatement(a *app, w io.Writer, ms *candorv1.MinorityStatement, names map[string]string) error {
	signed := map[string]bool{}
	for _, p := range ms.GetSignedBy() {
		signed[p] = true
	}
	cosigners := make([]string, len(ms.GetCosigners()))
	for i, p := range ms.GetCosigners() {
		state := "not signed yet"
		if signed[p] {
			state = "signed"
		}
		cosigners[i] = label(p, names) + ": " + state
	}
	var d details
	d.add("Statement", ms.GetName())
	d.add("Author", label(ms.GetAuthor(), names))
	d.addList("Co-signers", cosigners)
	d.add("Filed", a.timeString(ms.GetCreateTime()))
	if err := d.write(w); err != nil {
		return err
	}
	writeText(w, "Text", ms.GetText())
	return nil
}

func newMinorityCmd(a *app) *cobra.Command {
	return newGroup("minority", "File and co-sign minority statements on consensus calls",
		newMinorityFileCmd(a),
		newMinoritySignCmd(a),
	)
}

// minorityRequest checks the flags of `candor minority file CALL` and builds the request; readFile
// reads --text-file.
func minorityRequest(call, textFile string, cosigners []string, readFile func(string) ([]byte, error)) (*candorv1.FileMinorityStatementRequest, error) {
	if err := checkName("call", "CALL", call); err != nil {
		return nil, err
	}
	if textFile == "" {
		return nil, usageErrorf("--text-file is required: the statement's text (- for standard input)")
	}
	for _, p := range cosigners {
		if err := checkName("participant", "--cosigner", p); err != nil {
			return nil, err
		}
	}
	b, err := readFile(textFile)
	if err != nil {
		return nil, usageErrorf("cannot read --text-file: %v", err)
	}
	text := strings.TrimSpace(string(b))
	if text == "" {
		return nil, usageErrorf("--text-file %s is empty", textFile)
	}
	return &candorv1.FileMinorityStatementRequest{Call: call, Text: text, Cosigners: cosigners}, nil
}

func newMinorityFileCmd(a *app) *cobra.Command {
	var textFile string
	var cosigners []string
	c := &cobra.Command{
		Use:   "file CALL --text-file F [--cosigner PARTICIPANT]...",
		Short: "File a minority statement on a consensus call",
		Long: `File a minority statement on a consensus call, with the text in a file (- for standard input). You,
and every co-signer you name, must have stated a position in the call. Each co-signer confirms with
"candor minority sign STATEMENT". The statement is attached to the call's result and never dropped.
The receipt is saved.`,
		Args: exactArgs("CALL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := minorityRequest(args[0], textFile, cosigners, a.readFile)
			if err != nil {
				return err
			}
			a.subject.call, a.subject.action = args[0], "minority"
			a.subject.fields = map[string]string{"call": "CALL", "text": "--text-file", "cosigners": "--cosigner"}
			cl, err := a.client()
			if err != nil {
				return err
			}
			resp, err := cl.calls.FileMinorityStatement(cmd.Context(), req)
			if err != nil {
				return err
			}
			return a.written(resp, resp.GetReceipt(), func(w io.Writer) error {
				return writeMinorityStatement(a, w, resp.GetMinorityStatement(), nil)
			})
		},
	}
	c.Flags().StringVar(&textFile, "text-file", "", "read the statement from `FILE` (- for standard input; required)")
	c.Flags().StringArrayVar(&cosigners, "cosigner", nil, "a participant named as co-signer; repeat for each")
	return c
}

func newMinoritySignCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "sign STATEMENT",
		Short: "Sign a minority statement that names you as a co-signer",
		Args:  exactArgs("STATEMENT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkName("minority statement", "STATEMENT", args[0]); err != nil {
				return err
			}
			a.subject.statement, a.subject.action = args[0], "minority"
			a.subject.call = args[0][:strings.LastIndex(args[0], "/minorityStatements/")]
			a.subject.fields = map[string]string{"name": "STATEMENT"}
			cl, err := a.client()
			if err != nil {
				return err
			}
			resp, err := cl.calls.SignMinorityStatement(cmd.Context(), &candorv1.SignMinorityStatementRequest{Name: args[0]})
			if err != nil {
				return err
			}
			return a.written(resp, resp.GetReceipt(), func(w io.Writer) error {
				return writeMinorityStatement(a, w, resp.GetMinorityStatement(), nil)
			})
		},
	}
}
