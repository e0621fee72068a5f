package web

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/internal/domain"
	"github.com/candorhq/candor/internal/translog"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// This file is the auditor's side of the web app: the current signed checkpoint and the command to
// verify the log offline, a participant's declaration history, and a call's full record. Who may
// read what is the server's to decide (AuditService: auditors and admins; a participant their own
// history); the pages show the server's sentence when it refuses.

// Page sizes of the record pages. The server may return fewer; the page offers the next page.
const (
	historyPageSize = 50
	recordPageSize  = 100
)

// auditData is the audit page.
type auditData struct {
	// Note is the signed checkpoint as the server sent it: a C2SP signed note.
	Note     string
	Origin   string
	TreeSize int64
	RootHash string
	// Problem says why the checkpoint could not be read for display, if it could not.
	Problem      string
	VerifyCmd    string
	Participants []*candorv1.Participant
	Bodies       []auditBody
}

// RecordURL is the address of call's full record.
func (auditData) RecordURL(call string) string { return recordURL(call) }

// recordURL is the address of call's full record ("bodies/b/calls/c" -> /audit/calls/b/c).
func recordURL(call string) string {
	parts := strings.Split(call, "/")
	if len(parts) != 4 || parts[0] != "bodies" || parts[2] != "calls" {
		return "/audit"
	}
	return "/audit/calls/" + url.PathEscape(parts[1]) + "/" + url.PathEscape(parts[3])
}

// auditBody is a body and its calls, for the links to every call's record.
type auditBody struct {
	Body  *candorv1.Body
	Calls []*candorv1.Call
}

// staffOnly reports whether sess may see the audit pages' index: auditors and the admin, those who
// oversee ([domain.Viewer.Oversees]). It only chooses what to offer; every record is still read as
// the user, and the server decides.
func staffOnly(sess *session) bool { return sess.who.viewer().Oversees() }

// auditPage implements GET /audit.
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, sess *session) {
	if !staffOnly(sess) {
		s.renderError(w, r, sess, http.StatusForbidden, "The audit pages are for auditors and the administrator. Your own declarations are under My declarations.")
		return
	}
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	cp, err := s.audit.GetCheckpoint(ctx, &candorv1.GetCheckpointRequest{})
	if err != nil {
		s.rpcFailed(w, r, sess, "audit", err)
		return
	}
	data := auditData{Note: string(cp.GetCheckpoint()), VerifyCmd: s.auditVerifyCommand()}
	if c, err := parseSignedCheckpoint(cp.GetCheckpoint()); err != nil {
		data.Problem = "The server's checkpoint could not be read: " + err.Error() + ". The verify command below will say what is wrong with it."
	} else {
		data.Origin, data.TreeSize, data.RootHash = c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Hash[:])
	}
	people, err := listAll(ctx, func(ctx ctxT, tok string) ([]*candorv1.Participant, string, error) {
		resp, err := s.participants.ListParticipants(ctx, &candorv1.ListParticipantsRequest{PageSize: 1000, PageToken: tok})
		return resp.GetParticipants(), resp.GetNextPageToken(), err
	})
	if err != nil {
		s.rpcFailed(w, r, sess, "audit", err)
		return
	}
	sortParticipants(people)
	data.Participants = people
	bodies, err := s.listBodies(ctx)
	if err != nil {
		s.rpcFailed(w, r, sess, "audit", err)
		return
	}
	for _, b := range bodies {
		calls, err := s.listCalls(ctx, b.GetName())
		if err != nil {
			s.rpcFailed(w, r, sess, "audit", err)
			return
		}
		// Newest first, as on a body's page.
		rev := make([]*candorv1.Call, len(calls))
		for i, c := range calls {
			rev[len(calls)-1-i] = c
		}
		data.Bodies = append(data.Bodies, auditBody{Body: b, Calls: rev})
	}
	s.render(w, r, sess, http.StatusOK, "audit", "Audit", data)
}

// parseSignedCheckpoint reads the checkpoint body of a signed note (the text before the blank line
// that starts the signatures), for display only: `candor audit verify` checks the signature.
func parseSignedCheckpoint(signed []byte) (translog.Checkpoint, error) {
	body, _, ok := strings.Cut(string(signed), "\n\n")
	if !ok {
		return translog.Checkpoint{}, fmt.Errorf("it has no signature lines")
	}
	return translog.ParseCheckpoint([]byte(body + "\n"))
}

// auditVerifyCommand is the exact command that verifies the whole log offline against the pinned key.
func (s *Server) auditVerifyCommand() string {
	parts := []string{"candor", "audit", "verify"}
	if s.cfg.GRPCAddr != "" {
		parts = append(parts, "--addr", shellQuote(s.cfg.GRPCAddr))
	}
	parts = append(parts, "--key", shellQuote(s.logPub()))
	return strings.Join(parts, " ")
}

// pickParticipant implements GET /audit/participants?participant=...: the picker form on the audit
// page, which cannot put its choice in the path without script.
func (s *Server) pickParticipant(w http.ResponseWriter, r *http.Request, sess *session) {
	id := lastSegment(strings.TrimSpace(r.URL.Query().Get("participant")))
	if id == "" {
		http.Redirect(w, r, "/audit#history-h", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/audit/participants/"+url.PathEscape(id), http.StatusSeeOther)
}

// myDeclarations implements GET /audit/me: the signed-in participant's own history.
func (s *Server) myDeclarations(w http.ResponseWriter, r *http.Request, sess *session) {
	if sess.who.Name == "" {
		s.renderError(w, r, sess, http.StatusNotFound, "The administrator files no declarations: only participants do.")
		return
	}
	http.Redirect(w, r, "/audit/participants/"+url.PathEscape(lastSegment(sess.who.Name)), http.StatusSeeOther)
}

// historyData is a participant's declaration history page.
type historyData struct {
	Participant *candorv1.Participant
	Self        bool
	// Staff is true for auditors and the admin, who may follow the links to call records.
	Staff   bool
	Entries []*candorv1.HistoryEntry
	// First is 1-based position of the page's first entry (for the caption); Next is the next page's token.
	First int
	Next  string
	Paged bool
}

// RecordURL is the address of call's full record.
func (historyData) RecordURL(call string) string { return recordURL(call) }

// historyPage implements GET /audit/participants/{participant}[?page=TOKEN].
func (s *Server) historyPage(w http.ResponseWriter, r *http.Request, sess *session) {
	name := "participants/" + r.PathValue("participant")
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	tok := r.URL.Query().Get("page")
	resp, err := s.audit.ListDeclarationHistory(ctx, &candorv1.ListDeclarationHistoryRequest{
		Participant: name, PageSize: historyPageSize, PageToken: tok,
	})
	if err != nil {
		s.rpcFailed(w, r, sess, "history", err)
		return
	}
	p, err := s.participants.GetParticipant(ctx, &candorv1.GetParticipantRequest{Name: name})
	if err != nil {
		s.rpcFailed(w, r, sess, "history", err)
		return
	}
	data := historyData{
		Participant: p.GetParticipant(), Self: name == sess.who.Name, Staff: staffOnly(sess),
		Entries: resp.GetEntries(), Next: resp.GetNextPageToken(), Paged: tok != "",
	}
	title := "Declarations of " + p.GetParticipant().GetDisplayName()
	if data.Self {
		title = "My declarations"
	}
	s.render(w, r, sess, http.StatusOK, "history", title, data)
}

// recordData is a call's full record page.
type recordData struct {
	Call    *candorv1.Call
	Entries []recordRow
	Next    string
	Paged   bool
}

// recordRow is one decoded log entry about the call.
type recordRow struct {
	Index int64
	Time  *timestamppb.Timestamp
	Kind  string
	Actor string
	Facts []recordFact
}

// recordFact is one labelled value of an entry.
type recordFact struct {
	Label, Value string
}

// recordPage implements GET /audit/calls/{body}/{call}[?page=TOKEN]: every log entry about the call,
// decoded, oldest first.
func (s *Server) recordPage(w http.ResponseWriter, r *http.Request, sess *session) {
	call := callName(r)
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	tok := r.URL.Query().Get("page")
	resp, err := s.audit.ListCallRecord(ctx, &candorv1.ListCallRecordRequest{Call: call, PageSize: recordPageSize, PageToken: tok})
	if err != nil {
		s.rpcFailed(w, r, sess, "record", err)
		return
	}
	c, err := s.calls.GetCall(ctx, &candorv1.GetCallRequest{Name: call})
	if err != nil {
		s.rpcFailed(w, r, sess, "record", err)
		return
	}
	names, err := s.displayNames(ctx)
	if err != nil {
		s.rpcFailed(w, r, sess, "record", err)
		return
	}
	who := func(p string) string {
		switch {
		case p == domain.AdminActor:
			return "the administrator"
		case p == domain.ServerActor:
			return "the server (deadline)"
		case names[p] != "":
			return names[p]
		}
		return p
	}
	data := recordData{Call: c.GetCall(), Next: resp.GetNextPageToken(), Paged: tok != ""}
	for _, e := range resp.GetEntries() {
		le := e.GetEntry()
		data.Entries = append(data.Entries, recordRow{
			Index: e.GetLogIndex(), Time: le.GetTime(), Kind: enumLabel(le.GetKind()),
			Actor: who(le.GetActor()), Facts: entryFacts(le, who),
		})
	}
	s.render(w, r, sess, http.StatusOK, "record", "Record of "+c.GetCall().GetTitle(), data)
}

// entryFacts decodes what a log entry about a call records, every field a reader needs, in full.
func entryFacts(e *candorv1.LogEntry, who func(string) string) []recordFact {
	var fs []recordFact
	add := func(label, value string) {
		if value != "" {
			fs = append(fs, recordFact{label, value})
		}
	}
	soi := func(version int64, changed bool) string {
		s := fmt.Sprintf("Version %d", version)
		if changed {
			return s + ", updated with this declaration"
		}
		return s + ", restated unchanged"
	}
	switch p := e.GetPayload().(type) {
	case *candorv1.LogEntry_Call:
		c := p.Call
		if r := c.GetResult(); r != nil {
			if c.GetKind() == candorv1.CallKind_CALL_KIND_CONSENSUS {
				add("Positions counted", fmt.Sprint(r.GetBallotsCounted()))
			} else {
				out := enumLabel(r.GetOutcome())
				if r.GetOutcome() == candorv1.Outcome_OUTCOME_DECIDED {
					out = "Decided: " + r.GetWinningOption()
				}
				add("Outcome", out)
				add("Votes cast", fmt.Sprint(r.GetVotesCast()))
			}
			counts := make([]string, len(r.GetCounts()))
			for i, oc := range r.GetCounts() {
				counts[i] = fmt.Sprintf("%s %d", optionLabel(oc.GetOption()), oc.GetCount())
			}
			add("Counts", strings.Join(counts, ", "))
			add("Eligible", fmt.Sprint(r.GetEligible()))
			add("Abstentions", fmt.Sprint(r.GetAbstentions()))
			add("Recused", displayList(r.GetRecused(), who))
			add("Never declared", displayList(r.GetUndeclared(), who))
			add("Uncleared", displayList(r.GetUncleared(), who))
			add("Stale declaration", displayList(r.GetStale(), who))
			var flagged []string
			for _, f := range r.GetFlagged() {
				stale := ""
				if f.GetStale() {
					stale = ", stale declaration"
				}
				flagged = append(flagged, fmt.Sprintf("%s: %s (%s conflict%s)", who(f.GetParticipant()), optionLabel(f.GetOption()), strings.ToLower(enumLabel(f.GetConflictLevel())), stale))
			}
			add("Counted under a conflict", strings.Join(flagged, "; "))
			break
		}
		add("Title", c.GetTitle())
		add("Kind", enumLabel(c.GetKind()))
		add("Matter", c.GetMatter())
		add("Conflict policy", enumLabel(c.GetConflictPolicy()))
		if c.GetKind() != candorv1.CallKind_CALL_KIND_CONSENSUS {
			add("Options", strings.Join(c.GetOptions(), ", "))
			add("Threshold", enumLabel(c.GetThreshold()))
			add("Quorum", fmt.Sprint(c.GetQuorum()))
		}
		add("Affected parties", strings.Join(c.GetAffectedParties(), ", "))
		add("Eligible", displayList(c.GetEligibleParticipants(), who))
		if c.GetEligibilityRestricted() {
			add("Eligibility narrowed because", c.GetEligibilityJustification())
		}
		if d := c.GetDeadline(); d != nil {
			add("Deadline", when(d))
		}
	case *candorv1.LogEntry_Declaration:
		d := p.Declaration
		add("Participant", who(d.GetParticipant()))
		add("Conflict level", enumLabel(d.GetConflictLevel()))
		add("Intent", enumLabel(d.GetIntent()))
		add("Description", d.GetDescription())
		add("Statement of Interest", soi(d.GetSoiVersion(), d.GetSoiChanged()))
		if d.GetSupersedes() != "" {
			add("Supersedes", "An earlier declaration by the same participant")
		}
	case *candorv1.LogEntry_Clearance:
		add("Participant", who(p.Clearance.GetParticipant()))
		add("Decision", enumLabel(p.Clearance.GetDecision()))
		add("Note", p.Clearance.GetNote())
	case *candorv1.LogEntry_Ballot:
		add("Participant", who(p.Ballot.GetParticipant()))
		add("Ballot", hiddenIfEmpty(p.Ballot.GetOption()))
		add("Conflict level declared", enumLabel(p.Ballot.GetConflictLevel()))
		if p.Ballot.GetSupersedes() != "" {
			add("Supersedes", "An earlier ballot by the same participant")
		}
	case *candorv1.LogEntry_PositionStatement:
		ps := p.PositionStatement
		add("Participant", who(ps.GetParticipant()))
		if ps.GetPosition() == candorv1.Position_POSITION_UNSPECIFIED {
			add("Position", hiddenIfEmpty(""))
		} else {
			add("Position", enumLabel(ps.GetPosition()))
		}
		add("Conflict level declared", enumLabel(ps.GetConflictLevel()))
		add("Comment", ps.GetComment())
	case *candorv1.LogEntry_Designation:
		d := p.Designation
		add("Level", enumLabel(d.GetLevel()))
		add("Revision", fmt.Sprint(d.GetRevision()))
		add("Rationale", d.GetRationale())
		if e.GetKind() == candorv1.EntryKind_ENTRY_KIND_DESIGNATION_PROPOSED {
			add("Objections until", when(d.GetObjectionDeadline()))
		}
	case *candorv1.LogEntry_Objection:
		add("Participant", who(p.Objection.GetParticipant()))
		add("Revision", fmt.Sprint(p.Objection.GetRevision()))
		add("Reason", p.Objection.GetReason())
	case *candorv1.LogEntry_Appeal:
		add("Participant", who(p.Appeal.GetParticipant()))
		add("Reason", p.Appeal.GetReason())
	case *candorv1.LogEntry_MinorityStatement:
		ms := p.MinorityStatement
		add("Statement", ms.GetText())
		add("Co-signers named", displayList(ms.GetCosigners(), who))
		add("Signed by", displayList(ms.GetSignedBy(), who))
	default:
		add("Subject", e.GetSubject())
	}
	return fs
}

// displayList joins the display names of participants.
func displayList(ps []string, who func(string) string) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = who(p)
	}
	return strings.Join(out, ", ")
}

// hiddenIfEmpty shows a ballot's option, or says it is hidden: the server leaves out the choices of
// others while a call is open (docs/permissions.md).
func hiddenIfEmpty(choice string) string {
	if choice == "" {
		return "(hidden until the call closes)"
	}
	return choice
}
