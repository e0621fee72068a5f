package web

import (
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/internal/domain"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// bodyData is a body's page.
type bodyData struct {
	Body    *candorv1.Body
	Members []memberRow
	Calls   []*candorv1.Call
	Chair   bool
}

type memberRow struct {
	Membership  *candorv1.Membership
	DisplayName string
}

// bodyPage implements GET /bodies/{body}.
func (s *Server) bodyPage(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	body, err := s.bodies.GetBody(ctx, &candorv1.GetBodyRequest{Name: bodyName(r)})
	if err != nil {
		s.rpcFailed(w, r, sess, "body", err)
		return
	}
	members, err := s.listMembers(ctx, bodyName(r))
	if err != nil {
		s.rpcFailed(w, r, sess, "body", err)
		return
	}
	names, err := s.displayNames(ctx)
	if err != nil {
		s.rpcFailed(w, r, sess, "body", err)
		return
	}
	data := bodyData{Body: body.GetBody()}
	for _, m := range members {
		data.Members = append(data.Members, memberRow{Membership: m, DisplayName: names[m.GetParticipant()]})
		if m.GetParticipant() == sess.who.Name && domain.IsChair(m) {
			data.Chair = true
		}
	}
	sort.SliceStable(data.Members, func(i, j int) bool {
		return strings.ToLower(data.Members[i].DisplayName) < strings.ToLower(data.Members[j].DisplayName)
	})
	// Calls are listed by the server newest last; a body's page reads newest first.
	calls, err := s.listCalls(ctx, bodyName(r))
	if err != nil && statusHTTP(err) != http.StatusForbidden {
		s.rpcFailed(w, r, sess, "body", err)
		return
	}
	for i := len(calls) - 1; i >= 0; i-- {
		data.Calls = append(data.Calls, calls[i])
	}
	s.render(w, r, sess, http.StatusOK, "body", body.GetBody().GetTitle(), data)
}

// newCallData is the form to open a call.
type newCallData struct {
	Body    *candorv1.Body
	Members []memberRow
}

// newCallPage implements GET /bodies/{body}/calls/new. Anyone may see the form; the server decides
// who may open a call (the body's chairs) and says so if not.
func (s *Server) newCallPage(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	body, err := s.bodies.GetBody(ctx, &candorv1.GetBodyRequest{Name: bodyName(r)})
	if err != nil {
		s.rpcFailed(w, r, sess, "new call", err)
		return
	}
	members, err := s.listMembers(ctx, bodyName(r))
	if err != nil {
		s.rpcFailed(w, r, sess, "new call", err)
		return
	}
	names, err := s.displayNames(ctx)
	if err != nil {
		s.rpcFailed(w, r, sess, "new call", err)
		return
	}
	data := newCallData{Body: body.GetBody()}
	for _, m := range members {
		data.Members = append(data.Members, memberRow{Membership: m, DisplayName: names[m.GetParticipant()]})
	}
	sort.SliceStable(data.Members, func(i, j int) bool {
		return strings.ToLower(data.Members[i].DisplayName) < strings.ToLower(data.Members[j].DisplayName)
	})
	s.render(w, r, sess, http.StatusOK, "newcall", "Open a call in "+body.GetBody().GetTitle(), data)
}

// openCall implements POST /bodies/{body}/calls with every option of `candor call open`.
func (s *Server) openCall(w http.ResponseWriter, r *http.Request, sess *session) {
	back := "/" + bodyName(r) + "/calls/new#open-call"
	c, problem := callFromForm(r, s.now())
	if problem != "" {
		s.refusedLocally(w, r, sess, back, "open", problem)
		return
	}
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	resp, err := s.calls.OpenCall(ctx, &candorv1.OpenCallRequest{Body: bodyName(r), Call: c, RequestId: requestID(r)})
	if err != nil {
		s.refused(w, r, sess, back, "open", err)
		return
	}
	s.accepted(w, r, sess, callURL(resp.GetCall().GetName()), "The call is open and on the record.", resp.GetReceipt())
}

// callFromForm builds the call to open. It only converts what a form cannot carry as the API's
// types (numbers, the deadline); the rules are the server's. problem is a sentence when a field
// cannot be read at all.
func callFromForm(r *http.Request, now time.Time) (c *candorv1.Call, problem string) {
	c = &candorv1.Call{
		Title:           strings.TrimSpace(r.PostFormValue("title")),
		Matter:          strings.TrimSpace(r.PostFormValue("matter")),
		Kind:            candorv1.CallKind_CALL_KIND_VOTE,
		AffectedParties: splitLines(r.PostFormValue("affected_parties")),
	}
	if r.PostFormValue("kind") == "consensus" {
		c.Kind = candorv1.CallKind_CALL_KIND_CONSENSUS
	} else {
		c.Options = splitLines(r.PostFormValue("options"))
		switch r.PostFormValue("threshold") {
		case "two-thirds":
			c.Threshold = candorv1.Threshold_THRESHOLD_TWO_THIRDS
		default:
			c.Threshold = candorv1.Threshold_THRESHOLD_SIMPLE_MAJORITY
		}
		if q := strings.TrimSpace(r.PostFormValue("quorum")); q != "" {
			n, err := strconv.ParseInt(q, 10, 32)
			if err != nil || n < 0 {
				return nil, "Quorum: must be a whole number, 0 or more."
			}
			c.Quorum = int32(n)
		}
	}
	switch r.PostFormValue("conflict_policy") {
	case "recuse":
		c.ConflictPolicy = candorv1.ConflictPolicy_CONFLICT_POLICY_RECUSE
	case "review":
		c.ConflictPolicy = candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW
	default:
		c.ConflictPolicy = candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE
	}
	if h := strings.TrimSpace(r.PostFormValue("closes_in_hours")); h != "" {
		hours, err := strconv.ParseFloat(h, 64)
		if err != nil || hours <= 0 || math.IsInf(hours, 0) || hours > 24*366*10 {
			return nil, "Closes after: must be a number of hours greater than 0, such as 72 or 0.5."
		}
		c.Deadline = timestamppb.New(now.Add(time.Duration(hours * float64(time.Hour))))
	}
	for _, p := range r.PostForm["eligible"] {
		if strings.HasPrefix(p, "participants/") {
			c.EligibleParticipants = append(c.EligibleParticipants, p)
		}
	}
	c.EligibilityJustification = strings.TrimSpace(r.PostFormValue("justification"))
	return c, ""
}

// refusedLocally is refused for a form the web app could not even turn into a request.
func (s *Server) refusedLocally(w http.ResponseWriter, r *http.Request, sess *session, to, form, msg string) {
	vals := map[string][]string{}
	for k, v := range r.PostForm {
		if k != "csrf" {
			vals[k] = v
		}
	}
	s.sessions.setFlash(sess, &flash{Form: form, Error: msg, Values: vals})
	http.Redirect(w, r, to, http.StatusSeeOther)
}
