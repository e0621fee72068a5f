package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestRosterStatus checks the roster's STATUS column: whether each eligible participant can still
// act in the call, or why not.
func TestRosterStatus(t *testing.T) {
	entries := []*candorv1.RosterEntry{
		{Participant: alice, DisplayName: "Alice Adeyemi"},
		{Participant: bob, DisplayName: "Bob Brandt", Deactivated: true},
		{Participant: carol, DisplayName: "Carol Chen", Removed: true},
		{Participant: dave, DisplayName: "Dave Duarte", Deactivated: true, Removed: true},
	}
	want := map[string]string{alice: "active", bob: "deactivated", carol: "removed", dave: "deactivated, removed"}
	a := &app{loc: time.UTC}
	var out bytes.Buffer
	if err := writeRoster(a, &out, &candorv1.Call{}, entries); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if !strings.HasSuffix(lines[0], "STATUS") {
		t.Errorf("header = %q, want it to end with STATUS", lines[0])
	}
	for _, e := range entries {
		var line string
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, e.GetParticipant()) {
				line = l
			}
		}
		if got := strings.TrimSpace(line[strings.LastIndex(line, "  "):]); got != want[e.GetParticipant()] {
			t.Errorf("%s: STATUS = %q, want %q", e.GetDisplayName(), got, want[e.GetParticipant()])
		}
	}
}
