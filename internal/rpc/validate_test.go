package rpc

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

func TestTextLimits(t *testing.T) {
	tests := []struct {
		name string
		in   string
		min  int
		max  int
		ok   bool
	}{
		{"empty optional", "", 0, 10, true},
		{"empty required", "", 1, 10, false},
		{"blank required", "   ", 1, 10, false},
		{"at max in runes", strings.Repeat("é", 10), 1, 10, true},
		{"over max", strings.Repeat("a", 11), 1, 10, false},
		{"invalid utf-8", "\xff", 0, 10, false},
		{"control character", "a\x00b", 0, 10, false},
		{"newline in text", "a\nb", 0, 10, true},
		{"tab in text", "a\tb", 0, 10, true},
		{"carriage return", "a\r\nb", 0, 10, false},
		{"escape", "a\x1b[2Jb", 0, 10, false},
		{"C1 control", "a\u009bb", 0, 10, false},
		{"right-to-left prose", "שלום \u200fעולם", 0, 20, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v violations
			v.text("f", tt.in, tt.min, tt.max)
			if got := len(v) == 0; got != tt.ok {
				t.Errorf("text(%q, %d, %d) ok = %v, want %v (%v)", tt.in, tt.min, tt.max, got, tt.ok, v)
			}
		})
	}
}

// TestLineNames checks names and titles against the PRECIS Nickname profile: visible text in any
// script passes; bidirectional controls, invisible characters and names made only of them do not.
func TestLineNames(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"plain", "Alice Adeyemi", true},
		{"accents and scripts", "Zoë Ünal, 李, Acme شركة", true},
		{"combining accent", "Jose\u0301", true},
		{"emoji", "Alice 👍", true},
		{"empty optional", "", true},
		{"right-to-left override", "Alice\u202e evil", false},
		{"left-to-right isolate", "a\u2066b\u2069", false},
		{"right-to-left mark", "a\u200fb", false},
		{"zero-width space only", "\u200b\u200b", false},
		{"zero-width space inside", "Ali\u200bce", false},
		{"Hangul filler only", "\u3164", false},
		{"no-break spaces only", "\u00a0\u00a0", false},
		{"soft hyphen", "Al\u00adice", false},
		{"tab", "a\tb", false},
		{"carriage return", "a\rb", false},
		{"newline", "a\nb", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v violations
			v.line("f", tt.in, 0, maxTitle)
			if got := len(v) == 0; got != tt.ok {
				t.Errorf("line(%q) ok = %v, want %v (%v)", tt.in, got, tt.ok, v)
			}
			if len(v) > 1 {
				t.Errorf("line(%q) gave %d violations for one field: %v", tt.in, len(v), v)
			}
		})
	}
}

func TestRequestIDIsCanonical(t *testing.T) {
	id := uuid.New()
	var v violations
	a := v.requestID("request_id", id.String(), &candorv1.CreateBodyRequest{Title: "t", RequestId: id.String()})
	b := v.requestID("request_id", strings.ToUpper(id.String()), &candorv1.CreateBodyRequest{Title: "t", RequestId: strings.ToUpper(id.String())})
	if len(v) > 0 {
		t.Fatal(v)
	}
	if a.ID != b.ID || string(a.Fingerprint) != string(b.Fingerprint) {
		t.Errorf("%q and %q are two requests: %+v, %+v", id.String(), strings.ToUpper(id.String()), a, b)
	}
}

func FuzzText(f *testing.F) {
	f.Add("hello", 1, 10)
	f.Add("\xffx", 0, 3)
	f.Fuzz(func(t *testing.T, s string, min, max int) {
		if min < 0 || max < min || max > 1<<20 {
			return
		}
		var v violations
		v.text("f", s, min, max)
		if len(v) == 0 {
			if !utf8.ValidString(s) {
				t.Fatalf("accepted invalid UTF-8 %q", s)
			}
			if n := utf8.RuneCountInString(s); n < min || n > max {
				t.Fatalf("accepted %d characters outside [%d, %d]", n, min, max)
			}
		}
	})
}

func FuzzNewCall(f *testing.F) {
	seed, _ := proto.Marshal(&candorv1.Call{Title: "t", Options: []string{"a", "b"}, Quorum: 3,
		EligibleParticipants: []string{"participants/" + uuid.NewString()}, EligibilityJustification: "why"})
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		var c candorv1.Call
		if proto.Unmarshal(b, &c) != nil {
			return
		}
		var v violations
		v.newCall(&c) // must never panic
		if len(v) > 0 {
			return
		}
		if len(c.EligibleParticipants) > 0 && strings.TrimSpace(c.EligibilityJustification) == "" {
			t.Fatal("accepted a narrowed call without justification")
		}
		if c.Quorum < 0 || len(c.Options) == 1 {
			t.Fatalf("accepted quorum %d with %d options", c.Quorum, len(c.Options))
		}
	})
}

func FuzzSOI(f *testing.F) {
	seed, _ := proto.Marshal(&candorv1.StatementOfInterest{Employer: "e", Interests: []*candorv1.Interest{{Organization: "o"}}})
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		var s candorv1.StatementOfInterest
		if proto.Unmarshal(b, &s) != nil {
			return
		}
		var v violations
		v.soi("soi", &s)
		if len(v) == 0 && (len(s.Interests) > maxInterests || utf8.RuneCountInString(s.OtherInterests) > maxText) {
			t.Fatal("accepted an SOI over its limits")
		}
	})
}

func FuzzPageToken(f *testing.F) {
	f.Add(encodeUUIDToken(uuid.New()))
	f.Add(encodeIndexToken(42))
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, s string) {
		if id, err := decodeUUIDToken(s); err == nil && s != "" {
			if encodeUUIDToken(id) != s {
				t.Fatalf("uuid token %q does not round-trip", s)
			}
		}
		if i, err := decodeIndexToken(s); err == nil && s != "" {
			if i < 0 || encodeIndexToken(i) != s {
				t.Fatalf("index token %q does not round-trip (%d)", s, i)
			}
		}
	})
}

func TestPageTokensDoNotCross(t *testing.T) {
	if _, err := decodeIndexToken(encodeUUIDToken(uuid.New())); err == nil {
		t.Error("a participant-list token was accepted by a log-index list")
	}
	if _, err := decodeUUIDToken(encodeIndexToken(7)); err == nil {
		t.Error("a log-index token was accepted by a participant list")
	}
}

func TestWriteMethodsAreTheReceiptedOnes(t *testing.T) {
	for _, m := range []string{
		candorv1.CallService_CastBallot_FullMethodName, candorv1.CallService_FileDeclaration_FullMethodName,
		candorv1.CallService_StatePosition_FullMethodName, candorv1.ParticipantService_CreateParticipant_FullMethodName,
		candorv1.CallService_SignMinorityStatement_FullMethodName, candorv1.BodyService_AddMember_FullMethodName,
	} {
		if !writeMethods[m] {
			t.Errorf("%s is not bounded as a write", m)
		}
	}
	for _, m := range []string{candorv1.CallService_GetCall_FullMethodName, candorv1.AuditService_ListEntries_FullMethodName} {
		if writeMethods[m] {
			t.Errorf("read %s is bounded as a write", m)
		}
	}
	if len(writeMethods) != 21 { // 17, plus the four credential and membership changes
		t.Errorf("%d write methods, want 21", len(writeMethods))
	}
}
