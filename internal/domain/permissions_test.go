package domain_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/candorhq/candor/internal/domain"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

var update = flag.Bool("update", false, "rewrite docs/permissions.md's table from domain.ReadTable")

const (
	docPath   = "../../docs/permissions.md"
	beginMark = "<!-- BEGIN TABLE: generated from domain.ReadTable; go test ./internal/domain -run TestReadTableDoc -update -->\n"
	endMark   = "<!-- END TABLE -->\n"
)

// TestReadTableDoc fails when docs/permissions.md's table is not domain.ReadTable rendered, so the
// document, the code and internal/rpc's TestReadTable (which checks every cell on a server) cannot
// drift apart.
func TestReadTableDoc(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	before, rest, ok := strings.Cut(doc, beginMark)
	if !ok {
		t.Fatalf("%s has no line %q", docPath, beginMark)
	}
	table, after, ok := strings.Cut(rest, endMark)
	if !ok {
		t.Fatalf("%s has no line %q", docPath, endMark)
	}
	want := domain.ReadTableMarkdown()
	if table == want {
		return
	}
	if *update {
		if err := os.WriteFile(docPath, []byte(before+beginMark+want+endMark+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is stale: run go test ./internal/domain -run TestReadTableDoc -update\ngot:\n%s\nwant:\n%s", docPath, table, want)
}

func TestReadTableRowsAreWhole(t *testing.T) {
	keys := map[string]bool{}
	for _, row := range domain.ReadTable {
		if keys[row.Key] {
			t.Errorf("row %q twice", row.Key)
		}
		keys[row.Key] = true
		if row.Why == "" || row.What == "" {
			t.Errorf("row %q lacks what is read or why", row.Key)
		}
		for i, c := range row.Cells {
			switch {
			case c.Access == domain.Refused && c.Reason == "":
				t.Errorf("row %q, %s: refused without a reason", row.Key, domain.Readers[i])
			case c.Access == domain.Redacted && c.Note == "":
				t.Errorf("row %q, %s: redacted without saying what", row.Key, domain.Readers[i])
			case c.Access == 0:
				t.Errorf("row %q, %s: no decision", row.Key, domain.Readers[i])
			}
		}
	}
}

func TestWhoIsWho(t *testing.T) {
	const alice = "participants/0190a8a4-0000-7000-8000-000000000001"
	chair := &candorv1.Membership{Role: candorv1.Role_ROLE_CHAIR}
	member := &candorv1.Membership{Role: candorv1.Role_ROLE_MEMBER}
	admin := domain.Viewer{Admin: true}
	participant := domain.Viewer{Participant: alice}
	auditor := domain.Viewer{Participant: alice, Auditor: true}
	anonymous := domain.Viewer{}
	tests := []struct {
		name string
		got  error
		want error
	}{
		{"admin is admin", domain.RequireAdmin(admin), nil},
		{"participant is not admin", domain.RequireAdmin(auditor), domain.ErrAdminOnly},
		{"admin is no participant", domain.RequireParticipant(admin), domain.ErrParticipantOnly},
		{"anonymous is no participant", domain.RequireParticipant(anonymous), domain.ErrParticipantOnly},
		{"chair chairs", domain.RequireChair(participant, chair), nil},
		{"member does not chair", domain.RequireChair(participant, member), domain.ErrChairOnly},
		{"non-member does not chair", domain.RequireChair(participant, nil), domain.ErrChairOnly},
		{"admin does not chair", domain.RequireChair(admin, chair), domain.ErrChairOnly},
		{"auditor audits", domain.RequireAuditor(auditor), nil},
		{"admin audits", domain.RequireAuditor(admin), nil},
		{"participant does not audit", domain.RequireAuditor(participant), domain.ErrAuditorOnly},
		{"anonymous does not audit, even flagged", domain.RequireAuditor(domain.Viewer{Auditor: true}), domain.ErrAuditorOnly},
		{"member sees body", domain.CanSeeBody(participant, member), nil},
		{"non-member does not", domain.CanSeeBody(participant, nil), domain.ErrMemberOnly},
		{"auditor sees any body", domain.CanSeeBody(auditor, nil), nil},
		{"public log", domain.CanReadLog(anonymous, true), nil},
		{"private log", domain.CanReadLog(participant, false), domain.ErrAuditorOnly},
		{"own entry", domain.CanReadEntry(participant, false, alice), nil},
		{"another's entry", domain.CanReadEntry(participant, false, "participants/other"), domain.ErrAuditorOnly},
		{"the admin's entry", domain.CanReadEntry(participant, false, domain.AdminActor), domain.ErrAuditorOnly},
		{"no entry", domain.CanReadEntry(participant, false, ""), domain.ErrAuditorOnly},
		{"anonymous, an actor-less entry", domain.CanReadEntry(anonymous, false, ""), domain.ErrAuditorOnly},
		{"auditor, another's entry", domain.CanReadEntry(auditor, false, "participants/other"), nil},
		{"public, another's entry", domain.CanReadEntry(anonymous, true, "participants/other"), nil},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	for _, tt := range []struct {
		v    domain.Viewer
		want string
	}{{admin, domain.AdminActor}, {participant, alice}} {
		if got := tt.v.Actor(); got != tt.want {
			t.Errorf("Actor() = %q, want %q", got, tt.want)
		}
	}
	for actor, want := range map[string]bool{domain.AdminActor: false, domain.ServerActor: false, alice: true} {
		if got := domain.IsParticipantActor(actor); got != want {
			t.Errorf("IsParticipantActor(%q) = %v, want %v", actor, got, want)
		}
	}
	if !domain.ShowsChoice(participant, alice, true) || domain.ShowsChoice(participant, "participants/other", true) ||
		!domain.ShowsChoice(participant, "participants/other", false) || !domain.ShowsChoice(auditor, "participants/other", true) {
		t.Error("ShowsChoice: an open call's choices are for their author and those who oversee; a closed call's for every reader")
	}
	e := &candorv1.LogEntry{Payload: &candorv1.LogEntry_Ballot{Ballot: &candorv1.Ballot{Participant: alice, Option: "yes"}}}
	domain.RedactChoice(e)
	if e.GetBallot().Option != "" || domain.ChoiceAuthor(e) != alice {
		t.Errorf("RedactChoice left %v", e)
	}
}
