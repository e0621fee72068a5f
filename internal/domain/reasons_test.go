package domain

import (
	"errors"
	"fmt"
	"testing"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

func TestReasonSpelling(t *testing.T) {
	if got := Reason(candorv1.ErrorReason_ERROR_REASON_DECLARATION_REQUIRED); got != "DECLARATION_REQUIRED" {
		t.Errorf("Reason(DECLARATION_REQUIRED) = %q, want %q", got, "DECLARATION_REQUIRED")
	}
	for v := range candorv1.ErrorReason_name {
		r := candorv1.ErrorReason(v)
		if r == candorv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
			continue
		}
		if got := ParseReason(Reason(r)); got != r {
			t.Errorf("ParseReason(Reason(%v)) = %v", r, got)
		}
	}
	for _, s := range []string{"", "NO_SUCH_REASON", "ERROR_REASON_DECLARATION_REQUIRED", "UNSPECIFIED"} {
		if got := ParseReason(s); got != candorv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
			t.Errorf("ParseReason(%q) = %v, want UNSPECIFIED", s, got)
		}
	}
}

// TestEveryRuleHasItsOwnReason: each sentinel reaches its own reason through ReasonOf, so no entry
// earlier in the table shadows a later one, and no two rules share a reason.
func TestEveryRuleHasItsOwnReason(t *testing.T) {
	seen := map[candorv1.ErrorReason]error{}
	for _, r := range ruleReasons {
		if r.reason == candorv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
			t.Errorf("%v has no reason", r.err)
		}
		if other, ok := seen[r.reason]; ok {
			t.Errorf("%v and %v share reason %v", other, r.err, r.reason)
		}
		seen[r.reason] = r.err
		wrapped := fmt.Errorf("entry: %w", r.err)
		if got := ReasonOf(wrapped); got != r.reason {
			t.Errorf("ReasonOf(%v) = %v, want %v", r.err, got, r.reason)
		}
	}
	if got := ReasonOf(ErrTooManyBallots); got != candorv1.ErrorReason_ERROR_REASON_LIMIT_REACHED {
		t.Errorf("ReasonOf(a cap) = %v, want LIMIT_REACHED", got)
	}
	if got := ReasonOf(errors.New("store: something else")); got != candorv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
		t.Errorf("ReasonOf(not a rule) = %v, want UNSPECIFIED", got)
	}
}
