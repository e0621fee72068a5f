package cli

import (
	"strings"
	"testing"
)

// TestIdempotentMethods checks which writes the CLI retries after UNAVAILABLE: those whose request
// carries a request id, and never CreateParticipant, whose retry could create a second participant.
func TestIdempotentMethods(t *testing.T) {
	got := idempotentMethods()
	for _, want := range []string{"CastBallot", "FileDeclaration", "StatePosition", "OpenCall", "CreateBody", "FileMinorityStatement", "UpdateStatementOfInterest"} {
		if !strings.Contains(got, `"`+want+`"`) {
			t.Errorf("%s is not retried on UNAVAILABLE: %s", want, got)
		}
	}
	for _, never := range []string{"CreateParticipant", "CloseCall", "AddMember"} {
		if strings.Contains(got, `"`+never+`"`) {
			t.Errorf("%s is retried on UNAVAILABLE but carries no request id", never)
		}
	}
}
