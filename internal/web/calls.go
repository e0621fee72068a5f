package web

import (
	"context"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/candorhq/candor/internal/domain"
	"github.com/candorhq/candor/internal/readall"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// callView is a call as its page shows it. The roster and result partials render from it too, on
// the page and in the SSE relay, so the live roster is drawn by the same templates.
type callView struct {
	Body      *candorv1.Body
	Call      *candorv1.Call
	URL       string
	Rows      []rosterRow
	Summary   rosterSummary
	Mine      *rosterRow
	Eligible  bool
	Chair     bool
	Open      bool
	Consensus bool
	Review    bool
	Result    *resultView
	Consensi  *consensusView
	// Record says whether the caller may read the call's full record ([domain.CanSeeBody]); page only.
	Record bool
	// names maps participant names to display names (from the roster).
	names map[string]string

	// For the forms (page only).
	SOI        *candorv1.StatementOfInterest
	SOIForm    soiForm
	Choices    []choice
	Cosigners  []rosterRow
	Levels     []choice
	PolicyNote string
}

// rosterRow is one eligible participant's standing. The cells are computed here rather than in
// the template: a chair's roster has a row per member (a thousand in a large assembly), and each
// template action costs reflection and an escaper call.
type rosterRow struct {
	E *candorv1.RosterEntry
	// P is the participant's resource name.
	P        string
	ID       string
	Name     string
	Group    string
	Declared bool
	Stale    bool
	// DeclaredAt says which SOI version was restated, and when.
	DeclaredAt  string
	Level       string
	Conflict    bool
	Recused     bool
	Matches     string
	Clearance   string
	Voted       bool
	NeedsRuling bool
	Me          bool
	// Gone says why the participant can no longer act in the call ("Deactivated", "Removed from
	// the body"), or is "" while they can.
	Gone string
}

// rosterSummary counts the roster for the line above the table.
type rosterSummary struct {
	Eligible, Declared, Stale, Undeclared, Conflicts, Recused, Voted int
}

// choice is one radio button.
type choice struct {
	Value, Label, Hint string
}

// positions are the consensus positions as the form offers them.
var positions = []choice{
	{"SUPPORT", "Support", ""},
	{"SUPPORT_WITH_CONCERNS", "Support with concerns", ""},
	{"OPPOSE", "Oppose", "A comment saying why is required."},
	{"ABSTAIN", "Abstain", ""},
}

// consensusLevels are the GNSO levels a chair may designate.
var consensusLevels = []choice{
	{"FULL_CONSENSUS", "Full consensus", "No minority disagrees."},
	{"CONSENSUS", "Consensus", "A small minority disagrees, but most agree."},
	{"STRONG_SUPPORT_SIGNIFICANT_OPPOSITION", "Strong support but significant opposition", ""},
	{"DIVERGENCE", "Divergence", "No strong support for any position."},
}

var policyNotes = map[candorv1.ConflictPolicy]string{
	candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE: "Members with a declared conflict may take part; their ballots are flagged in the result.",
	candorv1.ConflictPolicy_CONFLICT_POLICY_RECUSE:   "A member who declares an actual conflict is recused and cannot take part.",
	candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW:   "The chair must clear a declared conflict (or require recusal) before that member's ballot counts.",
}

// Name returns a participant's display name, or their resource name when unknown.
func (v *callView) Name(p string) string {
	if n := v.names[p]; n != "" {
		return n
	}
	if p == domain.ServerActor {
		return "the server (deadline)"
	}
	return p
}

// newCallView builds the view shared by the page and the relay.
func newCallView(body *candorv1.Body, c *candorv1.Call, roster []*candorv1.RosterEntry, me string, chair bool, now time.Time) *callView {
	v := &callView{
		Body: body, Call: c, URL: callURL(c.GetName()), Chair: chair,
		Open:      c.GetState() == candorv1.CallState_CALL_STATE_OPEN,
		Consensus: c.GetKind() == candorv1.CallKind_CALL_KIND_CONSENSUS,
		Review:    c.GetConflictPolicy() == candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW,
		Eligible:  contains(c.GetEligibleParticipants(), me),
		names:     make(map[string]string, len(roster)),
		Rows:      make([]rosterRow, 0, len(roster)),
	}
	v.Summary.Eligible = len(roster)
	for _, e := range roster {
		v.names[e.GetParticipant()] = e.GetDisplayName()
		d := e.GetDeclaration()
		row := rosterRow{
			E: e, P: e.GetParticipant(), ID: lastSegment(e.GetParticipant()), Name: e.GetDisplayName(), Group: GroupName(e.GetStakeholderGroup()),
			Declared: d != nil, Stale: e.GetStale(), Voted: e.GetVoted(), Me: e.GetParticipant() == me,
			Conflict: d.GetConflictLevel() > candorv1.ConflictLevel_CONFLICT_LEVEL_NONE,
			Recused: d.GetIntent() == candorv1.Intent_INTENT_RECUSE ||
				e.GetClearance().GetDecision() == candorv1.ClearanceDecision_CLEARANCE_DECISION_RECUSAL_REQUIRED,
			Matches: strings.Join(e.GetAffectedPartyMatches(), ", "),
		}
		switch {
		case e.GetDeactivated():
			row.Gone = "Deactivated"
		case e.GetRemoved():
			row.Gone = "Removed from the body"
		}
		if d != nil {
			row.DeclaredAt = "SOI v" + strconv.FormatInt(d.GetSoiVersion(), 10) + ", " + when(d.GetCreateTime())
			row.Level = enumLabel(d.GetConflictLevel())
		}
		switch {
		case e.GetClearance() != nil:
			row.Clearance = enumLabel(e.GetClearance().GetDecision())
		case row.Conflict && !row.Recused && !row.Stale:
			row.Clearance = "Awaiting ruling"
		default:
			row.Clearance = "-"
		}
		row.NeedsRuling = chair && v.Open && v.Review && row.Declared && row.Conflict && !e.GetStale() &&
			d.GetIntent() != candorv1.Intent_INTENT_RECUSE && !row.Me
		switch {
		case d == nil:
			v.Summary.Undeclared++
		case e.GetStale():
			v.Summary.Stale++
		default:
			v.Summary.Declared++
		}
		if row.Conflict {
			v.Summary.Conflicts++
		}
		if row.Recused {
			v.Summary.Recused++
		}
		if e.GetVoted() {
			v.Summary.Voted++
		}
		v.Rows = append(v.Rows, row)
		if row.Me {
			v.Mine = &v.Rows[len(v.Rows)-1]
		}
	}
	if r := c.GetResult(); r != nil {
		v.Result = newResultView(c, r, v.Name)
	}
	if v.Consensus {
		v.Consensi = newConsensusView(c, me, now)
	}
	return v
}

// callPage implements GET /bodies/{body}/calls/{call}.
func (s *Server) callPage(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	v, err := s.loadCallView(ctx, r, sess)
	if err != nil {
		s.rpcFailed(w, r, sess, "call", err)
		return
	}
	if v.Consensus {
		v.Choices = positions
		for _, row := range v.Rows {
			if row.E.GetVoted() && !row.Me {
				v.Cosigners = append(v.Cosigners, row)
			}
		}
	} else {
		for _, o := range v.Call.GetOptions() {
			v.Choices = append(v.Choices, choice{Value: o, Label: o})
		}
	}
	v.Levels = consensusLevels
	v.PolicyNote = policyNotes[v.Call.GetConflictPolicy()]
	s.renderWith(w, r, sess, http.StatusOK, "call", v.Call.GetTitle(), func(pv *view) any {
		v.SOIForm = soiFormFor(pv, "declare", "decl-", v.SOI)
		return v
	})
}

// loadCallView reads a call, its roster, its body and the caller's membership of it, and the
// caller's current SOI (for the declaration form), in parallel: a page waits for the slowest
// read, not for their sum.
func (s *Server) loadCallView(ctx context.Context, r *http.Request, sess *session) (*callView, error) {
	var (
		wg     sync.WaitGroup
		call   *candorv1.GetCallResponse
		roster []*candorv1.RosterEntry
		body   *candorv1.Body
		mine   *candorv1.Membership
		soi    *candorv1.StatementOfInterest
		errs   [4]error
	)
	wg.Go(func() { call, errs[0] = s.calls.GetCall(ctx, &candorv1.GetCallRequest{Name: callName(r)}) })
	wg.Go(func() {
		roster, errs[1] = readall.Roster(ctx, s.calls, callName(r), "", rpcTimeout)
	})
	wg.Go(func() { body, mine, errs[2] = s.bodyAndMembership(ctx, sess, bodyName(r)) })
	if !sess.who.Admin {
		wg.Go(func() { soi, errs[3] = s.currentSOI(ctx) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	// The call carries its latest objections, appeals and minority statements; the page shows all.
	if err := readall.ConsensusLists(ctx, s.calls, call.GetCall()); err != nil {
		return nil, err
	}
	v := newCallView(body, call.GetCall(), roster, sess.who.Name, domain.IsChair(mine), s.now())
	if v.Eligible {
		v.SOI = soi
	}
	v.Record = domain.CanSeeBody(sess.who.viewer(), mine) == nil
	return v, nil
}

// membershipMemoTTL is how long a session remembers its participant's membership of a body.
// Reading the membership list of a large body for every page view and every live stream would cost
// more than the page; a role change shows in the offered controls within this time, and the server
// enforces roles on every write regardless.
const membershipMemoTTL = 30 * time.Second

// bodyAndMembership reads a body and the caller's membership of it (nil: none, and always for the
// admin). Chair controls are offered to chairs ([domain.IsChair]) and the call record's link to
// those the server lets read it ([domain.CanSeeBody]); the server refuses anyone else anyway.
func (s *Server) bodyAndMembership(ctx context.Context, sess *session, name string) (*candorv1.Body, *candorv1.Membership, error) {
	body, err := s.bodies.GetBody(ctx, &candorv1.GetBodyRequest{Name: name})
	if err != nil {
		return nil, nil, err
	}
	if sess.who.Admin {
		return body.GetBody(), nil, nil
	}
	if m, ok := s.sessions.membershipOf(sess, name); ok {
		return body.GetBody(), m, nil
	}
	members, err := s.listMembers(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	var mine *candorv1.Membership
	for _, m := range members {
		if m.GetParticipant() == sess.who.Name {
			mine = m
		}
	}
	s.sessions.setMembership(sess, name, mine)
	return body.GetBody(), mine, nil
}

// callAction is one write on a call page: it sends the request and says what was recorded.
type callAction struct {
	// form names the form, for the refusal and its anchor on the page.
	form string
	do   func(s *Server, ctx context.Context, r *http.Request, call string) (*candorv1.Receipt, string, error)
}

// callActions are the writes POST /bodies/{body}/calls/{call}/{action} accepts.
var callActions = map[string]callAction{
	"declare":  {"declare", (*Server).declare},
	"vote":     {"vote", (*Server).vote},
	"position": {"position", (*Server).position},
	"close":    {"close", (*Server).closeCall},
	"clear":    {"clear", (*Server).clear},
	"propose":  {"propose", (*Server).propose},
	"object":   {"object", (*Server).object},
	"finalize": {"finalize", (*Server).finalize},
	"appeal":   {"appeal", (*Server).appeal},
	"minority": {"minority", (*Server).fileMinority},
}

// callAction implements POST /bodies/{body}/calls/{call}/{action}: thin, like every write: read
// the form, call the server as the user, redirect to the call page with the receipt or the refusal.
func (s *Server) callAction(w http.ResponseWriter, r *http.Request, sess *session) {
	a, ok := callActions[r.PathValue("action")]
	if !ok {
		s.renderError(w, r, sess, http.StatusNotFound, "There is no such action on a call.")
		return
	}
	call := callName(r)
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	rcpt, notice, err := a.do(s, ctx, r, call)
	if err != nil {
		form := a.form
		if form == "declare" && r.PostFormValue("restate") == "updated" {
			form = "declare-soi" // the declaration form that carries an updated SOI
		}
		s.refused(w, r, sess, callURL(call)+"#"+form, form, err)
		return
	}
	s.accepted(w, r, sess, callURL(call), notice, rcpt)
}

var conflictLevels = map[string]candorv1.ConflictLevel{
	"NONE":      candorv1.ConflictLevel_CONFLICT_LEVEL_NONE,
	"POTENTIAL": candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL,
	"ACTUAL":    candorv1.ConflictLevel_CONFLICT_LEVEL_ACTUAL,
}

// declare files a declaration: the SOI restated unchanged (pinned by the hash the page showed) or
// updated from the inline fields, the conflict level, the description, and the intent.
func (s *Server) declare(ctx context.Context, r *http.Request, call string) (*candorv1.Receipt, string, error) {
	req := &candorv1.FileDeclarationRequest{
		Call:          call,
		ConflictLevel: conflictLevels[r.PostFormValue("conflict_level")],
		Description:   strings.TrimSpace(r.PostFormValue("description")),
		Intent:        candorv1.Intent_INTENT_PARTICIPATE,
		RequestId:     requestID(r),
	}
	if r.PostFormValue("recuse") != "" {
		req.Intent = candorv1.Intent_INTENT_RECUSE
	}
	if r.PostFormValue("restate") == "updated" {
		req.Restatement = &candorv1.FileDeclarationRequest_UpdatedSoi{UpdatedSoi: soiFromForm(r)}
	} else if h, err := hex.DecodeString(r.PostFormValue("soi_hash")); err == nil && len(h) > 0 {
		req.Restatement = &candorv1.FileDeclarationRequest_UnchangedSoiHash{UnchangedSoiHash: h}
	}
	resp, err := s.calls.FileDeclaration(ctx, req)
	if err != nil {
		return nil, "", err
	}
	notice := "Your declaration is on the record."
	if resp.GetDeclaration().GetIntent() == candorv1.Intent_INTENT_RECUSE {
		notice = "Your declaration and recusal are on the record."
	}
	return resp.GetReceipt(), notice, nil
}

func (s *Server) vote(ctx context.Context, r *http.Request, call string) (*candorv1.Receipt, string, error) {
	resp, err := s.calls.CastBallot(ctx, &candorv1.CastBallotRequest{Call: call, Option: r.PostFormValue("option"), RequestId: requestID(r)})
	if err != nil {
		return nil, "", err
	}
	return resp.GetReceipt(), "Your ballot (" + resp.GetBallot().GetOption() + ") is on the record.", nil
}

func (s *Server) position(ctx context.Context, r *http.Request, call string) (*candorv1.Receipt, string, error) {
	p := candorv1.Position(candorv1.Position_value["POSITION_"+r.PostFormValue("position")])
	resp, err := s.calls.StatePosition(ctx, &candorv1.StatePositionRequest{
		Call: call, Position: p, Comment: strings.TrimSpace(r.PostFormValue("comment")), RequestId: requestID(r),
	})
	if err != nil {
		return nil, "", err
	}
	return resp.GetReceipt(), "Your position (" + enumLabel(resp.GetPositionStatement().GetPosition()) + ") is on the record.", nil
}

func (s *Server) closeCall(ctx context.Context, r *http.Request, call string) (*candorv1.Receipt, string, error) {
	resp, err := s.calls.CloseCall(ctx, &candorv1.CloseCallRequest{Name: call})
	if err != nil {
		return nil, "", err
	}
	return resp.GetReceipt(), "The call is closed and its result is on the record.", nil
}

func (s *Server) clear(ctx context.Context, r *http.Request, call string) (*candorv1.Receipt, string, error) {
	d := candorv1.ClearanceDecision_CLEARANCE_DECISION_CLEARED
	if r.PostFormValue("decision") == "recusal" {
		d = candorv1.ClearanceDecision_CLEARANCE_DECISION_RECUSAL_REQUIRED
	}
	resp, err := s.calls.ClearDeclaration(ctx, &candorv1.ClearDeclarationRequest{
		Call: call, Participant: r.PostFormValue("participant"), Decision: d, Note: strings.TrimSpace(r.PostFormValue("note")),
	})
	if err != nil {
		return nil, "", err
	}
	return resp.GetReceipt(), "Your ruling (" + enumLabel(resp.GetClearance().GetDecision()) + ") is on the record.", nil
}

func (s *Server) propose(ctx context.Context, r *http.Request, call string) (*candorv1.Receipt, string, error) {
	var window int64
	if d := strings.TrimSpace(r.PostFormValue("window_days")); d != "" {
		days, err := strconv.ParseFloat(d, 64)
		if err != nil || days < 0 || days > 90 {
			days = -1 // the server refuses it with its own sentence
		}
		window = int64(days * 24 * 3600)
	}
	resp, err := s.calls.ProposeDesignation(ctx, &candorv1.ProposeDesignationRequest{
		Call: call, Level: candorv1.ConsensusLevel(candorv1.ConsensusLevel_value["CONSENSUS_LEVEL_"+r.PostFormValue("level")]),
		Rationale: strings.TrimSpace(r.PostFormValue("rationale")), ObjectionWindowSeconds: window,
	})
	if err != nil {
		return nil, "", err
	}
	return resp.GetReceipt(), "Your proposed designation is on the record; members may object until its window closes.", nil
}

func (s *Server) object(ctx context.Context, r *http.Request, call string) (*candorv1.Receipt, string, error) {
	resp, err := s.calls.ObjectToDesignation(ctx, &candorv1.ObjectToDesignationRequest{Call: call, Reason: strings.TrimSpace(r.PostFormValue("reason"))})
	if err != nil {
		return nil, "", err
	}
	return resp.GetReceipt(), "Your objection is on the record.", nil
}

func (s *Server) finalize(ctx context.Context, r *http.Request, call string) (*candorv1.Receipt, string, error) {
	resp, err := s.calls.FinalizeDesignation(ctx, &candorv1.FinalizeDesignationRequest{Call: call})
	if err != nil {
		return nil, "", err
	}
	return resp.GetReceipt(), "The designation is final and on the record.", nil
}

func (s *Server) appeal(ctx context.Context, r *http.Request, call string) (*candorv1.Receipt, string, error) {
	resp, err := s.calls.AppealDesignation(ctx, &candorv1.AppealDesignationRequest{Call: call, Reason: strings.TrimSpace(r.PostFormValue("reason"))})
	if err != nil {
		return nil, "", err
	}
	return resp.GetReceipt(), "Your appeal is on the record.", nil
}

func (s *Server) fileMinority(ctx context.Context, r *http.Request, call string) (*candorv1.Receipt, string, error) {
	resp, err := s.calls.FileMinorityStatement(ctx, &candorv1.FileMinorityStatementRequest{
		Call: call, Text: strings.TrimSpace(r.PostFormValue("text")), Cosigners: r.PostForm["cosigner"], RequestId: requestID(r),
	})
	if err != nil {
		return nil, "", err
	}
	return resp.GetReceipt(), "Your minority statement is on the record; each co-signer must now sign it.", nil
}

// signMinority implements POST /bodies/{body}/calls/{call}/minority/{statement}/sign.
func (s *Server) signMinority(w http.ResponseWriter, r *http.Request, sess *session) {
	call := callName(r)
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	resp, err := s.calls.SignMinorityStatement(ctx, &candorv1.SignMinorityStatementRequest{Name: call + "/minorityStatements/" + r.PathValue("statement")})
	if err != nil {
		s.refused(w, r, sess, callURL(call)+"#minority-statements", "sign", err)
		return
	}
	s.accepted(w, r, sess, callURL(call), "Your signature on the minority statement is on the record.", resp.GetReceipt())
}
