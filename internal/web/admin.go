package web

import (
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/candorhq/candor/internal/domain"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// This file is the administrator's page: participants (with a new participant's token shown once),
// bodies, members and their stakeholder groups, and auditor grants. Every write is a form sent to
// the server as the signed-in admin; the server decides, the page says what it decided.

// newTokenTTL bounds how long a new participant's token waits, in memory, for the admin's next page.
// The page after the redirect normally takes it within a second; this only stops a token that was
// never shown (the browser went away) from staying in memory.
const newTokenTTL = 10 * time.Minute

// newToken is a freshly created participant's token, waiting to be shown once on the admin's page.
type newToken struct {
	Participant *candorv1.Participant
	Token       string
	// Reissued is true for an existing participant's replacement token (ReissueToken, RotateToken).
	Reissued bool
	created  time.Time
}

// newTokens holds, per session, the one token waiting to be shown. It lives beside the session (a
// session's own flash carries no secret) and is deleted when taken, so a reload or the back button
// never shows it again. Keyed by the session itself: a session id is never kept in memory.
var newTokens = struct {
	mu sync.Mutex
	// m maps a session to its waiting token; guarded by mu.
	m map[*session]*newToken
}{m: map[*session]*newToken{}}

// putNewToken keeps t for sess's next admin page, replacing any token not yet shown, and drops
// tokens that waited longer than newTokenTTL.
func putNewToken(sess *session, t *newToken, now time.Time) {
	newTokens.mu.Lock()
	defer newTokens.mu.Unlock()
	for k, v := range newTokens.m {
		if now.Sub(v.created) > newTokenTTL {
			delete(newTokens.m, k)
		}
	}
	newTokens.m[sess] = t
}

// takeNewToken returns sess's waiting token and forgets it: it is shown once.
func takeNewToken(sess *session, now time.Time) *newToken {
	newTokens.mu.Lock()
	defer newTokens.mu.Unlock()
	t := newTokens.m[sess]
	delete(newTokens.m, sess)
	if t == nil || now.Sub(t.created) > newTokenTTL {
		return nil
	}
	return t
}

// adminData is the admin page.
type adminData struct {
	Participants []*candorv1.Participant
	// NonAuditors are the participants who may still be granted the auditor role.
	NonAuditors []*candorv1.Participant
	Bodies      []adminBody
	// NewToken is a participant's token, shown on this page and never again.
	NewToken *newToken
	// MemberBody is the body the add-member form is for ("" until one is chosen); Groups are the
	// stakeholder groups offered in its datalist.
	MemberBody string
	Groups     []groupOption
}

// adminBody is a body with its members, for the bodies table.
type adminBody struct {
	Body    *candorv1.Body
	Members int
	Chairs  []string
	Groups  []string
	// Current are the body's members now, by display name: a removed member is no longer one.
	Current []adminMember
	// Open is true when this body's member list is the one the page was asked about.
	Open bool
}

// adminMember is one current member of a body, for its member list.
type adminMember struct {
	Membership  *candorv1.Membership
	Participant *candorv1.Participant
}

// groupOption is one suggestion in the stakeholder-group datalist: a group, and where it is used.
type groupOption struct {
	Group, UsedIn string
}

// adminPage implements GET /admin. Only the administrator's sign-in has this page: the forms
// would be refused by the server for anyone else.
func (s *Server) adminPage(w http.ResponseWriter, r *http.Request, sess *session) {
	if !sess.who.Admin {
		s.renderError(w, r, sess, http.StatusForbidden, "The administration page is only for the administrator's sign-in.")
		return
	}
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	people, err := listAll(ctx, func(ctx ctxT, tok string) ([]*candorv1.Participant, string, error) {
		resp, err := s.participants.ListParticipants(ctx, &candorv1.ListParticipantsRequest{PageSize: 1000, PageToken: tok})
		return resp.GetParticipants(), resp.GetNextPageToken(), err
	})
	if err != nil {
		s.rpcFailed(w, r, sess, "admin", err)
		return
	}
	bodies, err := s.listBodies(ctx)
	if err != nil {
		s.rpcFailed(w, r, sess, "admin", err)
		return
	}
	names := make(map[string]string, len(people))
	byName := make(map[string]*candorv1.Participant, len(people))
	for _, p := range people {
		names[p.GetName()] = p.GetDisplayName()
		byName[p.GetName()] = p
	}
	sortParticipants(people)

	data := adminData{Participants: people}
	for _, p := range people {
		if !p.GetAuditor() {
			data.NonAuditors = append(data.NonAuditors, p)
		}
	}
	// groupBodies maps each stakeholder group to the titles of the bodies that use it.
	groupBodies := map[string][]string{}
	bodyGroups := map[string][]string{}
	for _, b := range bodies {
		members, err := s.listMembers(ctx, b.GetName())
		if err != nil {
			s.rpcFailed(w, r, sess, "admin", err)
			return
		}
		ab := adminBody{Body: b, Members: len(members)}
		seen := map[string]bool{}
		for _, m := range members {
			p := byName[m.GetParticipant()]
			if p == nil {
				p = &candorv1.Participant{Name: m.GetParticipant(), DisplayName: m.GetParticipant()}
			}
			ab.Current = append(ab.Current, adminMember{Membership: m, Participant: p})
			if domain.IsChair(m) {
				ab.Chairs = append(ab.Chairs, orName(names[m.GetParticipant()], m.GetParticipant()))
			}
			if g := m.GetStakeholderGroup(); g != "" && !seen[g] {
				seen[g] = true
				ab.Groups = append(ab.Groups, g)
				groupBodies[g] = append(groupBodies[g], b.GetTitle())
			}
		}
		sort.Strings(ab.Chairs)
		sort.Strings(ab.Groups)
		sort.SliceStable(ab.Current, func(i, j int) bool {
			return strings.ToLower(ab.Current[i].Participant.GetDisplayName()) < strings.ToLower(ab.Current[j].Participant.GetDisplayName())
		})
		bodyGroups[b.GetName()] = ab.Groups
		data.Bodies = append(data.Bodies, ab)
	}
	s.renderWith(w, r, sess, http.StatusOK, "admin", "Administration", func(v *view) any {
		// The new token is taken only now, as the page that shows it is drawn.
		data.NewToken = takeNewToken(sess, s.now())
		// The add-member form's body: a refused form's, else the one a body's link chose.
		data.MemberBody = v.Old("member", "body", r.URL.Query().Get("body"))
		if data.MemberBody != "" && !strings.HasPrefix(data.MemberBody, "bodies/") {
			data.MemberBody = "bodies/" + data.MemberBody
		}
		for i := range data.Bodies {
			data.Bodies[i].Open = data.Bodies[i].Body.GetName() == data.MemberBody
		}
		if gs, ok := bodyGroups[data.MemberBody]; ok {
			for _, g := range gs {
				data.Groups = append(data.Groups, groupOption{Group: g})
			}
		} else {
			for g, titles := range groupBodies {
				data.Groups = append(data.Groups, groupOption{Group: g, UsedIn: strings.Join(titles, ", ")})
			}
			sort.Slice(data.Groups, func(i, j int) bool { return data.Groups[i].Group < data.Groups[j].Group })
		}
		return data
	})
}

// sortParticipants orders people by display name, case-insensitively.
func sortParticipants(people []*candorv1.Participant) {
	sort.SliceStable(people, func(i, j int) bool {
		return strings.ToLower(people[i].GetDisplayName()) < strings.ToLower(people[j].GetDisplayName())
	})
}

// orName returns name, or fallback when name is empty.
func orName(name, fallback string) string {
	if name != "" {
		return name
	}
	return fallback
}

// adminRefused answers a refused admin write. The admin sees the server's sentence beside the
// form; anyone else (who has no admin page to go back to) gets the sentence on its own page, with
// the status it deserves (403 for a write only the admin may make).
func (s *Server) adminRefused(w http.ResponseWriter, r *http.Request, sess *session, form string, err error) {
	if !sess.who.Admin {
		s.rpcFailed(w, r, sess, form, err)
		return
	}
	s.refused(w, r, sess, "/admin#"+form, form, err)
}

// createParticipant implements POST /admin/participants. The answer holds the participant's token:
// it is kept for the next page only (never in a flash, a URL or a log), shown there once, and gone.
func (s *Server) createParticipant(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	resp, err := s.participants.CreateParticipant(ctx, &candorv1.CreateParticipantRequest{
		DisplayName: strings.TrimSpace(r.PostFormValue("display_name")),
		Email:       strings.TrimSpace(r.PostFormValue("email")),
	})
	if err != nil {
		s.adminRefused(w, r, sess, "participant", err)
		return
	}
	p := resp.GetParticipant()
	putNewToken(sess, &newToken{Participant: p, Token: resp.GetToken(), created: s.now()}, s.now())
	s.accepted(w, r, sess, "/admin#new-token", p.GetDisplayName()+" is now a participant, on the record.", resp.GetReceipt())
}

// createBody implements POST /admin/bodies.
func (s *Server) createBody(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	resp, err := s.bodies.CreateBody(ctx, &candorv1.CreateBodyRequest{
		Title: strings.TrimSpace(r.PostFormValue("title")), RequestId: requestID(r),
	})
	if err != nil {
		s.adminRefused(w, r, sess, "body", err)
		return
	}
	b := resp.GetBody()
	s.accepted(w, r, sess, "/admin?body="+lastSegment(b.GetName())+"#add-member",
		"The body "+b.GetTitle()+" is created and on the record. Add its members next.", resp.GetReceipt())
}

// memberRoles are the roles the add-member form offers.
var memberRoles = map[string]candorv1.Role{
	"chair":  candorv1.Role_ROLE_CHAIR,
	"member": candorv1.Role_ROLE_MEMBER,
}

// addMember implements POST /admin/members: adds a participant to a body, or changes their role or
// stakeholder group.
func (s *Server) addMember(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	body := r.PostFormValue("body")
	resp, err := s.bodies.AddMember(ctx, &candorv1.AddMemberRequest{
		Body:             body,
		Participant:      r.PostFormValue("participant"),
		Role:             memberRoles[r.PostFormValue("role")], // anything else is unspecified: the server says so
		StakeholderGroup: strings.TrimSpace(r.PostFormValue("stakeholder_group")),
	})
	if err != nil {
		s.adminRefused(w, r, sess, "member", err)
		return
	}
	m := resp.GetMembership()
	notice := "The membership (" + strings.ToLower(enumLabel(m.GetRole())) + ", " + GroupName(m.GetStakeholderGroup()) + ") is on the record."
	s.accepted(w, r, sess, "/admin?body="+lastSegment(body)+"#add-member", notice, resp.GetReceipt())
}

// grantAuditor implements POST /admin/auditors.
func (s *Server) grantAuditor(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	resp, err := s.participants.GrantAuditor(ctx, &candorv1.GrantAuditorRequest{Name: r.PostFormValue("participant")})
	if err != nil {
		s.adminRefused(w, r, sess, "auditor", err)
		return
	}
	s.accepted(w, r, sess, "/admin#participants-h", resp.GetParticipant().GetDisplayName()+" is now an auditor, on the record. The Audit link appears in their header from their next sign-in.", resp.GetReceipt())
}

// participantArg is the participant a per-participant admin form names in its path.
func participantArg(r *http.Request) string { return "participants/" + r.PathValue("participant") }

// participantForm names the refusal slot of a participant's row on the admin page.
func participantForm(name string) string { return "p-" + lastSegment(name) }

// reissueToken implements POST /admin/participants/{participant}/token: the participant gets a new
// token, shown once on the next page exactly as a new participant's is; their old one stops working.
func (s *Server) reissueToken(w http.ResponseWriter, r *http.Request, sess *session) {
	name := participantArg(r)
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	resp, err := s.participants.ReissueToken(ctx, &candorv1.ReissueTokenRequest{Name: name})
	if err != nil {
		s.adminRefused(w, r, sess, participantForm(name), err)
		return
	}
	p := resp.GetParticipant()
	putNewToken(sess, &newToken{Participant: p, Token: resp.GetToken(), Reissued: true, created: s.now()}, s.now())
	s.accepted(w, r, sess, "/admin#new-token", p.GetDisplayName()+" has a new token, on the record. Their previous token no longer works.", resp.GetReceipt())
}

// confirmData is a confirmation page for a final admin write.
type confirmData struct {
	// Heading and Consequences say what the write does; Action is where the form posts.
	Heading      string
	Consequences []string
	Action       string
	Button       string
	Back         string
}

// deactivateConfirm implements GET /admin/participants/{participant}/deactivate: the step that says
// what deactivation means before the admin makes it.
func (s *Server) deactivateConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	if !sess.who.Admin {
		s.renderError(w, r, sess, http.StatusForbidden, "Only the administrator may deactivate a participant.")
		return
	}
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	resp, err := s.participants.GetParticipant(ctx, &candorv1.GetParticipantRequest{Name: participantArg(r)})
	if err != nil {
		s.rpcFailed(w, r, sess, "deactivate", err)
		return
	}
	p := resp.GetParticipant()
	who := p.GetDisplayName()
	s.render(w, r, sess, http.StatusOK, "confirm", "Deactivate "+who, confirmData{
		Heading: "Deactivate " + who + "?",
		Consequences: []string{
			"This is final: a deactivated participant cannot be made active again.",
			who + " can make no more changes: no Statement of Interest, declaration, ballot, position, objection, appeal or minority statement, in any body.",
			"Everything " + who + " filed stays on the record and counts as before, and anyone who could read it still can. Ballots and positions already cast in open calls stay counted; the calls' eligibility lists do not change.",
			who + "'s token still works for reading their own receipts and history. To cut that off too, reissue their token and do not hand it over.",
		},
		Action: "/admin/participants/" + lastSegment(p.GetName()) + "/deactivate",
		Button: "Deactivate " + who,
		Back:   "/admin#" + participantForm(p.GetName()),
	})
}

// deactivate implements POST /admin/participants/{participant}/deactivate.
func (s *Server) deactivate(w http.ResponseWriter, r *http.Request, sess *session) {
	name := participantArg(r)
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	resp, err := s.participants.DeactivateParticipant(ctx, &candorv1.DeactivateParticipantRequest{Name: name})
	if err != nil {
		s.adminRefused(w, r, sess, participantForm(name), err)
		return
	}
	s.accepted(w, r, sess, "/admin#"+participantForm(name),
		resp.GetParticipant().GetDisplayName()+" is deactivated, on the record: they can make no more changes, and what they filed stays.", resp.GetReceipt())
}

// memberForm names the refusal slot of a body's member list on the admin page.
func memberForm(body string) string { return "members-" + lastSegment(body) }

// removeConfirm implements GET /admin/bodies/{body}/members/{participant}/remove: the step that
// says what a removal means before the admin makes it.
func (s *Server) removeConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	if !sess.who.Admin {
		s.renderError(w, r, sess, http.StatusForbidden, "Only the administrator may remove a member from a body.")
		return
	}
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	body, err := s.bodies.GetBody(ctx, &candorv1.GetBodyRequest{Name: bodyName(r)})
	if err != nil {
		s.rpcFailed(w, r, sess, "remove member", err)
		return
	}
	p, err := s.participants.GetParticipant(ctx, &candorv1.GetParticipantRequest{Name: participantArg(r)})
	if err != nil {
		s.rpcFailed(w, r, sess, "remove member", err)
		return
	}
	who, title := p.GetParticipant().GetDisplayName(), body.GetBody().GetTitle()
	s.render(w, r, sess, http.StatusOK, "confirm", "Remove "+who+" from "+title, confirmData{
		Heading: "Remove " + who + " from " + title + "?",
		Consequences: []string{
			who + " leaves " + title + " and stays on every record they made there.",
			"In calls already open, eligibility stays as it was fixed at opening: " + who + " stays on their rosters and what they filed before counts, but from now on they can no longer declare, vote or state a position there.",
			"Calls opened later leave " + who + " out. Adding them as a member again brings them back.",
		},
		Action: "/admin/bodies/" + lastSegment(body.GetBody().GetName()) + "/members/" + lastSegment(p.GetParticipant().GetName()) + "/remove",
		Button: "Remove " + who + " from " + title,
		Back:   "/admin?body=" + lastSegment(body.GetBody().GetName()) + "#" + memberForm(body.GetBody().GetName()),
	})
}

// removeMember implements POST /admin/bodies/{body}/members/{participant}/remove.
func (s *Server) removeMember(w http.ResponseWriter, r *http.Request, sess *session) {
	body := bodyName(r)
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	resp, err := s.bodies.RemoveMember(ctx, &candorv1.RemoveMemberRequest{Body: body, Participant: participantArg(r)})
	if err != nil {
		if !sess.who.Admin {
			s.rpcFailed(w, r, sess, "remove member", err)
			return
		}
		s.refused(w, r, sess, "/admin?body="+lastSegment(body)+"#"+memberForm(body), memberForm(body), err)
		return
	}
	s.accepted(w, r, sess, "/admin?body="+lastSegment(body)+"#"+memberForm(body),
		"The removal from the body is on the record. Open calls keep their eligibility; from now on the former member can no longer declare or vote in them.", resp.GetReceipt())
}
