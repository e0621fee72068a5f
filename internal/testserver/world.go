package testserver

import (
	"testing"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// World is a body with a chair, three members, an auditor and an outsider, each with a client and
// a Statement of Interest (the outsider has none).
type World struct {
	Server *Server
	Body   string

	Admin, Chair, Alice, Bob, Carol, Auditor, Outsider, Anonymous *Client
	// Names of the participants, by the same role names.
	Names map[string]string
}

// NewWorld builds a World on s.
func NewWorld(t testing.TB, s *Server) *World {
	t.Helper()
	conn := s.Conn()
	w := &World{Server: s, Names: map[string]string{}}
	w.Admin = NewClient(conn, s.AdminToken)
	w.Anonymous = NewClient(conn, "")
	add := func(role string) *Client {
		resp, err := w.Admin.Participants.CreateParticipant(w.Admin.Ctx(t), &candorv1.CreateParticipantRequest{
			DisplayName: role, Email: role + "@example.org",
		})
		if err != nil {
			t.Fatalf("CreateParticipant(%s): %v", role, err)
		}
		w.Names[role] = resp.Participant.Name
		return NewClient(conn, resp.Token)
	}
	w.Chair, w.Alice, w.Bob, w.Carol = add("chair"), add("alice"), add("bob"), add("carol")
	w.Auditor, w.Outsider = add("auditor"), add("outsider")
	if _, err := w.Admin.Participants.GrantAuditor(w.Admin.Ctx(t), &candorv1.GrantAuditorRequest{Name: w.Names["auditor"]}); err != nil {
		t.Fatalf("GrantAuditor: %v", err)
	}
	body, err := w.Admin.Bodies.CreateBody(w.Admin.Ctx(t), &candorv1.CreateBodyRequest{Title: "At-Large Advisory Committee"})
	if err != nil {
		t.Fatalf("CreateBody: %v", err)
	}
	w.Body = body.Body.Name
	for role, group := range map[string]string{"chair": "At-Large", "alice": "At-Large", "bob": "Registries", "carol": "Registrars"} {
		r := candorv1.Role_ROLE_MEMBER
		if role == "chair" {
			r = candorv1.Role_ROLE_CHAIR
		}
		if _, err := w.Admin.Bodies.AddMember(w.Admin.Ctx(t), &candorv1.AddMemberRequest{
			Body: w.Body, Participant: w.Names[role], Role: r, StakeholderGroup: group,
		}); err != nil {
			t.Fatalf("AddMember(%s): %v", role, err)
		}
	}
	for _, c := range []*Client{w.Chair, w.Alice, w.Bob, w.Carol, w.Auditor} {
		if _, err := c.Participants.UpdateStatementOfInterest(c.Ctx(t), &candorv1.UpdateStatementOfInterestRequest{
			StatementOfInterest: &candorv1.StatementOfInterest{
				Employer: "Example Org", JobTitle: "Analyst", Represents: "self",
				StakeholderGroups: []string{"At-Large"},
			},
		}); err != nil {
			t.Fatalf("UpdateStatementOfInterest: %v", err)
		}
	}
	return w
}

// OpenVote opens a vote in the world's body as the chair.
func (w *World) OpenVote(t testing.TB, call *candorv1.Call) *candorv1.Call {
	t.Helper()
	if call == nil {
		call = &candorv1.Call{}
	}
	if call.Title == "" {
		call.Title = "Adopt the statement"
	}
	resp, err := w.Chair.Calls.OpenCall(w.Chair.Ctx(t), &candorv1.OpenCallRequest{Body: w.Body, Call: call})
	if err != nil {
		t.Fatalf("OpenCall: %v", err)
	}
	return resp.Call
}

// Declare files an unchanged-SOI declaration for c.
func (w *World) Declare(t testing.TB, c *Client, call string, level candorv1.ConflictLevel, intent candorv1.Intent) *candorv1.FileDeclarationResponse {
	t.Helper()
	resp, err := DeclareErr(t, c, call, level, intent)
	if err != nil {
		t.Fatalf("FileDeclaration: %v", err)
	}
	return resp
}

// DeclareErr is Declare returning the error.
func DeclareErr(t testing.TB, c *Client, call string, level candorv1.ConflictLevel, intent candorv1.Intent) (*candorv1.FileDeclarationResponse, error) {
	t.Helper()
	soi, err := c.Participants.GetStatementOfInterest(c.Ctx(t), &candorv1.GetStatementOfInterestRequest{})
	if err != nil {
		t.Fatalf("GetStatementOfInterest: %v", err)
	}
	desc := ""
	if level > candorv1.ConflictLevel_CONFLICT_LEVEL_NONE {
		desc = "I advise a party named in the matter"
	}
	return c.Calls.FileDeclaration(c.Ctx(t), &candorv1.FileDeclarationRequest{
		Call:          call,
		Restatement:   &candorv1.FileDeclarationRequest_UnchangedSoiHash{UnchangedSoiHash: soi.StatementOfInterest.ContentHash},
		ConflictLevel: level, Description: desc, Intent: intent,
	})
}

// Vote casts a ballot.
func Vote(t testing.TB, c *Client, call, option string) (*candorv1.CastBallotResponse, error) {
	t.Helper()
	return c.Calls.CastBallot(c.Ctx(t), &candorv1.CastBallotRequest{Call: call, Option: option})
}
