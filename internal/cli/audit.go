package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// newAuditCmd is the audit command group: the record queries, and the checks of the log (verify.go).
func newAuditCmd(a *app) *cobra.Command {
	return newGroup("audit", "Read the record and verify the log: histories, call records, receipts, checkpoints",
		newAuditHistoryCmd(a),
		newAuditCallCmd(a),
		newAuditVerifyCmd(a),
		newAuditReceiptCmd(a),
		newAuditCheckpointCmd(a),
	)
}

func newAuditHistoryCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "history PARTICIPANT",
		Short: "List a participant's declarations across all calls, oldest first",
		Args:  exactArgs("PARTICIPANT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkName("participant", "PARTICIPANT", args[0]); err != nil {
				return err
			}
			a.subject.participant = args[0]
			cl, err := a.client()
			if err != nil {
				return err
			}
			all, err := listAll(func(tok string) ([]*candorv1.HistoryEntry, string, error) {
				resp, err := cl.audit.ListDeclarationHistory(cmd.Context(), &candorv1.ListDeclarationHistoryRequest{Participant: args[0], PageToken: tok})
				return resp.GetEntries(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printJSON(&candorv1.ListDeclarationHistoryResponse{Entries: all})
			}
			return writeHistory(a, a.stdout, all)
		},
	}
}

func writeHistory(a *app, w io.Writer, entries []*candorv1.HistoryEntry) error {
	tw := newTable(w)
	row(tw, "LOG INDEX", "FILED", "CALL", "CALL TITLE", "SOI", "CONFLICT", "INTENT", "DESCRIPTION")
	for _, e := range entries {
		d := e.GetDeclaration()
		soi := soiVersion(d.GetSoiVersion())
		if d.GetSoiChanged() {
			soi += " (changed)"
		}
		row(tw, fmt.Sprint(e.GetLogIndex()), a.timeString(d.GetCreateTime()), e.GetCall(), short(e.GetCallTitle(), 30),
			soi, enumString(d.GetConflictLevel()), enumString(d.GetIntent()), short(d.GetDescription(), 40))
	}
	return tw.Flush()
}

func newAuditCallCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "call CALL",
		Short: "List a call's full record: opening, declarations, clearances, ballots, result",
		Args:  exactArgs("CALL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.callArg(args[0]); err != nil {
				return err
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			all, err := listAll(func(tok string) ([]*candorv1.RecordEntry, string, error) {
				resp, err := cl.audit.ListCallRecord(cmd.Context(), &candorv1.ListCallRecordRequest{Call: args[0], PageToken: tok})
				return resp.GetEntries(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printJSON(&candorv1.ListCallRecordResponse{Entries: all})
			}
			tw := newTable(a.stdout)
			row(tw, "LOG INDEX", "TIME", "KIND", "ACTOR", "DETAIL")
			for _, e := range all {
				le := e.GetEntry()
				row(tw, fmt.Sprint(e.GetLogIndex()), a.timeString(le.GetTime()), enumString(le.GetKind()), orDash(le.GetActor()), entrySummary(a, le))
			}
			return tw.Flush()
		},
	}
}

// entrySummary says in one cell what a log entry records; -o json has every field.
func entrySummary(a *app, e *candorv1.LogEntry) string {
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	switch p := e.GetPayload().(type) {
	case *candorv1.LogEntry_Participant:
		add("%s (%s)", p.Participant.GetName(), cell(p.Participant.GetDisplayName()))
		if p.Participant.GetAuditor() {
			add("auditor")
		}
	case *candorv1.LogEntry_StatementOfInterest:
		add("SOI version %d", p.StatementOfInterest.GetVersion())
		add("hash %s", shortHash(p.StatementOfInterest.GetContentHash()))
	case *candorv1.LogEntry_Body:
		add("%s", short(p.Body.GetTitle(), 40))
	case *candorv1.LogEntry_Membership:
		add("%s", p.Membership.GetParticipant())
		add("role %s", enumString(p.Membership.GetRole()))
		if g := p.Membership.GetStakeholderGroup(); g != "" {
			add("group %s", cell(g))
		}
	case *candorv1.LogEntry_Call:
		c := p.Call
		if r := c.GetResult(); r != nil {
			if isConsensus(c) {
				add("positions counted %d", r.GetBallotsCounted())
			} else {
				add("outcome %s", outcomeString(r))
			}
			counts := make([]string, len(r.GetCounts()))
			for i, oc := range r.GetCounts() {
				counts[i] = fmt.Sprintf("%s %d", cell(oc.GetOption()), oc.GetCount())
			}
			add("%s", strings.Join(counts, ", "))
			add("recused %d", len(r.GetRecused()))
			add("flagged %d", len(r.GetFlagged()))
		} else {
			add("%s", short(c.GetTitle(), 40))
			if isConsensus(c) {
				add("consensus call")
			}
			add("policy %s", enumString(c.GetConflictPolicy()))
			if !isConsensus(c) {
				add("options %s", strings.Join(c.GetOptions(), "/"))
			}
			add("eligible %d", len(c.GetEligibleParticipants()))
		}
	case *candorv1.LogEntry_Declaration:
		d := p.Declaration
		add("%s", d.GetParticipant())
		add("conflict %s", enumString(d.GetConflictLevel()))
		add("intent %s", enumString(d.GetIntent()))
		soi := fmt.Sprintf("SOI version %d", d.GetSoiVersion())
		if d.GetSoiChanged() {
			soi += " (changed)"
		}
		add("%s", soi)
	case *candorv1.LogEntry_Clearance:
		add("%s", p.Clearance.GetParticipant())
		add("%s", enumString(p.Clearance.GetDecision()))
		if n := p.Clearance.GetNote(); n != "" {
			add("%s", short(n, 40))
		}
	case *candorv1.LogEntry_Ballot:
		add("%s", p.Ballot.GetParticipant())
		add("%s", hiddenChoice(cell(p.Ballot.GetOption()), p.Ballot.GetOption() == ""))
		add("conflict %s", enumString(p.Ballot.GetConflictLevel()))
	case *candorv1.LogEntry_PositionStatement:
		ps := p.PositionStatement
		add("%s", ps.GetParticipant())
		add("%s", hiddenChoice(enumString(ps.GetPosition()), ps.GetPosition() == candorv1.Position_POSITION_UNSPECIFIED))
		add("conflict %s", enumString(ps.GetConflictLevel()))
		if c := ps.GetComment(); c != "" {
			add("%s", short(c, 40))
		}
	case *candorv1.LogEntry_Designation:
		d := p.Designation
		add("%s", enumString(d.GetLevel()))
		add("revision %d", d.GetRevision())
		if e.GetKind() == candorv1.EntryKind_ENTRY_KIND_DESIGNATION_PROPOSED {
			add("objections until %s", a.timeString(d.GetObjectionDeadline()))
		}
	case *candorv1.LogEntry_Objection:
		add("%s", p.Objection.GetParticipant())
		add("revision %d", p.Objection.GetRevision())
		add("%s", short(p.Objection.GetReason(), 40))
	case *candorv1.LogEntry_Appeal:
		add("%s", p.Appeal.GetParticipant())
		add("%s", short(p.Appeal.GetReason(), 40))
	case *candorv1.LogEntry_MinorityStatement:
		ms := p.MinorityStatement
		add("%s", ms.GetName())
		if e.GetKind() == candorv1.EntryKind_ENTRY_KIND_MINORITY_STATEMENT_SIGNED {
			add("signed by %d of %d co-signers", len(ms.GetSignedBy()), len(ms.GetCosigners()))
		} else {
			add("%d co-signers named", len(ms.GetCosigners()))
		}
	default:
		add("%s", orDash(e.GetSubject()))
	}
	return strings.Join(parts, "; ")
}

// hiddenChoice is a ballot's option or a position as printed, or says it is hidden: while a call is
// open the server shows a member others' ballots and positions without their choice
// (docs/permissions.md).
func hiddenChoice(choice string, hidden bool) string {
	if hidden {
		return "(hidden until the call closes)"
	}
	return choice
}
