package rpc

import (
	"testing"

	"github.com/google/uuid"
)

// fuzzCall is the call a fuzzed roster token is decoded for.
var fuzzCall = uuid.MustParse("01930000-0000-7000-8000-000000000001")

func FuzzRosterToken(f *testing.F) {
	f.Add(encodeRosterToken(fuzzCall, 7))
	f.Add(encodeRosterToken(uuid.New(), 7))
	f.Add(encodeOffsetToken(7))
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := decodeRosterToken(fuzzCall, s)
		if err != nil || s == "" {
			return
		}
		if n <= 0 || encodeRosterToken(fuzzCall, n) != s {
			t.Fatalf("roster token %q does not round-trip (%d)", s, n)
		}
	})
}

// TestRosterTokensDoNotCross checks that a roster token pages only its own call's roster, and no
// other kind of token passes for one.
func TestRosterTokensDoNotCross(t *testing.T) {
	tests := []struct {
		name  string
		token string
	}{
		{"another call's roster token", encodeRosterToken(uuid.New(), 3)},
		{"an offset token", encodeOffsetToken(3)},
		{"an index token", encodeIndexToken(3)},
		{"a uuid token", encodeUUIDToken(fuzzCall)},
		{"a token for the first page", encodeRosterToken(fuzzCall, 0)},
	}
	for _, tc := range tests {
		if _, err := decodeRosterToken(fuzzCall, tc.token); err == nil {
			t.Errorf("%s was accepted", tc.name)
		}
	}
	if n, err := decodeRosterToken(fuzzCall, encodeRosterToken(fuzzCall, 3)); err != nil || n != 3 {
		t.Errorf("the call's own token: %d, %v; want 3", n, err)
	}
	if _, err := decodeOffsetToken(encodeRosterToken(fuzzCall, 3)); err == nil {
		t.Error("a roster token was accepted by a consensus list")
	}
}
