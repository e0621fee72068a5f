package rpc_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestEmailsShownOnlyToSelfAdminsAndAuditors lists and gets participants as each role: an email is
// contact data, not part of the record, and only the participant, admins and auditors see it.
func TestEmailsShownOnlyToSelfAdminsAndAuditors(t *testing.T) {
	w := ts.NewWorld(t, ts.Start(t, ts.Bufconn()))
	for _, tt := range []struct {
		role    string
		c       *ts.Client
		seesAll bool
	}{
		{"admin", w.Admin, true}, {"auditor", w.Auditor, true}, {"alice", w.Alice, false}, {"chair", w.Chair, false},
	} {
		t.Run(tt.role, func(t *testing.T) {
			list, err := tt.c.Participants.ListParticipants(tt.c.Ctx(t), &candorv1.ListParticipantsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range list.Participants {
				own := p.Name == w.Names[tt.role]
				if got, want := p.Email != "", tt.seesAll || own; got != want {
					t.Errorf("%s listing %s: email shown %v, want %v", tt.role, p.DisplayName, got, want)
				}
			}
			got, err := tt.c.Participants.GetParticipant(tt.c.Ctx(t), &candorv1.GetParticipantRequest{Name: w.Names["bob"]})
			if err != nil {
				t.Fatal(err)
			}
			if (got.Participant.Email != "") != tt.seesAll {
				t.Errorf("%s getting bob: email %q, want shown %v", tt.role, got.Participant.Email, tt.seesAll)
			}
		})
	}
	// The log, which auditors (or anyone, with --public-audit) read whole, never carries emails.
	resp, err := w.Auditor.Audit.ListEntries(w.Auditor.Ctx(t), &candorv1.ListEntriesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	participants := 0
	for _, e := range resp.Entries {
		var le candorv1.LogEntry
		if err := proto.Unmarshal(e.Data, &le); err != nil {
			t.Fatal(err)
		}
		if p := le.GetParticipant(); p != nil {
			participants++
			if p.Email != "" {
				t.Errorf("log entry %d carries %s's email", e.Index, p.DisplayName)
			}
		}
	}
	if participants == 0 {
		t.Fatal("no participant entries in the log: the check above checked nothing")
	}
}
