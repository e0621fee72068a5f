package cli

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
)

// TestParsePrefix checks which arguments are looked up as prefixes and which are used as they are.
func TestParsePrefix(t *testing.T) {
	tests := []struct {
		kind, arg     string
		lookup        bool
		scope, prefix string
	}{
		{"participant", alice, false, "", ""},
		{"participant", "a11ce000-0000-4000-8000-000000000001", true, "", "a11ce000-0000-4000-8000-000000000001"}, // a bare id: where is it?
		{"participant", "a11c", true, "", "a11c"},
		{"participant", "A11C", true, "", "A11C"},
		{"participant", "participants/a11c", true, "", "a11c"},
		{"participant", "a1", true, "", "a1"}, // looked up, then refused as too short
		{"participant", "Alice", false, "", ""},
		{"participant", "participants/", false, "", ""},
		{"participant", "participants/x", false, "", ""},
		{"participant", council, false, "", ""},
		{"call", openCall, false, "", ""},
		{"call", "0be1", true, "", "0be1"},
		{"call", council + "/calls/0be1", true, council, "0be1"},
		{"call", council + "/calls/0be10000000040008000000000000001", true, council, "0be10000000040008000000000000001"}, // no hyphens: looked up
		{"call", council + "/calls/Budget", false, "", ""},
		{"call", council, false, "", ""},
		{"call", "calls/0be1", false, "", ""},
	}
	for _, tt := range tests {
		ref, ok := parsePrefix(tt.kind, "ARG", tt.arg)
		if ok != tt.lookup || ok && (ref.scope != tt.scope || ref.prefix != tt.prefix) {
			t.Errorf("parsePrefix(%q, %q) = %+v, %v; want lookup %v, scope %q, prefix %q", tt.kind, tt.arg, ref, ok, tt.lookup, tt.scope, tt.prefix)
		}
	}
}

// TestPick checks the choice among candidates: one match, none, several (named, at most five),
// with hyphens and case ignored.
func TestPick(t *testing.T) {
	cands := []candidate{
		{"participants/01a2b3c4-0000-4000-8000-000000000001", "Ann"},
		{"participants/01a2b3c4-0000-4000-8000-000000000002", "Ben"},
		{"participants/01a2ffff-0000-4000-8000-000000000003", "Cy"},
		{"participants/9e000000-0000-4000-8000-000000000004", "Di"},
	}
	ref := func(prefix string) prefixRef {
		return prefixRef{kind: "participant", what: "PARTICIPANT", arg: prefix, prefix: prefix}
	}
	for prefix, want := range map[string]string{
		"9e00":                                cands[3].name,
		"01a2F":                               cands[2].name,
		"01a2b3c4000040008000000000000002":    cands[1].name,
		"01a2b3c4-0000-4000-8000-00000000000": "", // ambiguous
	} {
		got, err := ref(prefix).pick(cands)
		if want == "" {
			if _, ok := err.(*usageError); !ok {
				t.Errorf("pick(%q) = %q, %v; want a usage error", prefix, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("pick(%q) = %q, %v; want %q", prefix, got, err, want)
		}
	}

	_, err := ref("01a2").pick(cands)
	if _, ok := err.(*usageError); !ok || !strings.Contains(err.Error(), `"01a2" is ambiguous: it starts the ids of 3 participants: `+cands[0].name+" (Ann), ") {
		t.Errorf("ambiguous: %v", err)
	}
	var many []candidate
	for i := range 7 {
		many = append(many, candidate{"participants/01a2000" + string(rune('0'+i)), "P"})
	}
	if _, err := ref("01a2").pick(many); err == nil || !strings.Contains(err.Error(), "(P), and 2 more") {
		t.Errorf("seven matches: %v, want five named and 2 more", err)
	}
	if _, err := ref("abcd").pick(cands); err == nil || !strings.Contains(err.Error(), `PARTICIPANT "abcd" starts no participant's id`) {
		t.Errorf("unknown: %v", err)
	} else if _, ok := err.(*failure); !ok {
		t.Errorf("unknown: %T, want a failure (exit 1)", err)
	}
}

// TestPositionalKinds checks which arguments of a Use line are resolved.
func TestPositionalKinds(t *testing.T) {
	tests := []struct {
		use  string
		want string
	}{
		{"vote CALL OPTION", "CALL,"},
		{"clear CALL PARTICIPANT [--require-recusal] [--note N]", "CALL,PARTICIPANT"},
		{"show [PARTICIPANT]", "PARTICIPANT"},
		{"file CALL --text-file F [--cosigner PARTICIPANT]...", "CALL"},
		{"add-member BODY PARTICIPANT --role chair|member [--group G]", ",PARTICIPANT"},
		{"list BODY", ""},
		{"sign STATEMENT", ""},
	}
	for _, tt := range tests {
		if got := strings.Join(positionalKinds(tt.use), ","); got != tt.want {
			t.Errorf("positionalKinds(%q) = %q, want %q", tt.use, got, tt.want)
		}
	}
}

// TestPrefixArguments runs commands with prefixes against the fake server: what is sent, what is
// asked first, and the exit codes.
func TestPrefixArguments(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		asked    []string // the RPCs, in order
		sent     string   // the names the command's own request carried, space-separated
		inStderr string
	}{
		{"whole participant name: no lookup", []string{"auditor", "grant", carol}, ExitOK, []string{"GrantAuditor"}, carol, ""},
		{"participant prefix", []string{"auditor", "grant", "ca20"}, ExitOK, []string{"ListParticipants", "ListParticipants", "GrantAuditor"}, carol, ""},
		{"participant prefix with its collection", []string{"auditor", "grant", "participants/CA201"}, ExitOK, []string{"ListParticipants", "ListParticipants", "GrantAuditor"}, carol, ""},
		{"participant prefix too short", []string{"auditor", "grant", "ca2"}, ExitUsage, nil, "", `PARTICIPANT "ca2" is too short to look up: give at least 4 hex digits`},
		{"participant prefix unknown", []string{"auditor", "grant", "ffff"}, ExitFailure, []string{"ListParticipants", "ListParticipants"}, "", `PARTICIPANT "ffff" starts no participant's id`},
		{"participant word", []string{"auditor", "grant", "Carol"}, ExitUsage, nil, "", `PARTICIPANT must be a participant name like participants/ID, or a unique prefix of its id`},
		{"whole call name: no lookup", []string{"vote", closedCall, "yes"}, ExitOK, []string{"CastBallot"}, closedCall, ""},
		{"call prefix in every body", []string{"vote", "0be10000000040008000000000000002", "yes"}, ExitOK, []string{"ListBodies", "ListCalls", "CastBallot"}, closedCall, ""},
		{"call prefix in one body", []string{"vote", council + "/calls/0be10000000040008000000000000003", "yes"}, ExitOK, []string{"ListCalls", "CastBallot"}, consCall, ""},
		{"call prefix ambiguous", []string{"vote", "0be1", "yes"}, ExitUsage, []string{"ListBodies", "ListCalls"}, "",
			`CALL "0be1" is ambiguous: it starts the ids of 3 calls: ` + closedCall + ` (Appoint the liaison), ` + openCall + ` (Budget FY27), `},
		{"call prefix ambiguous in one body", []string{"call", "show", council + "/calls/0be1"}, ExitUsage, []string{"ListCalls"}, "", "is ambiguous: it starts the ids of 3 calls"},
		{"call prefix unknown in one body", []string{"call", "close", council + "/calls/abcd"}, ExitFailure, []string{"ListCalls"}, "", `CALL "` + council + `/calls/abcd" starts no call's id in ` + council},
		{"call prefix unknown", []string{"declare", "abcd", "--conflict", "none"}, ExitFailure, []string{"ListBodies", "ListCalls"}, "", `CALL "abcd" starts no call's id in the bodies you can see`},
		{"call prefix too short", []string{"call", "show", "0be"}, ExitUsage, nil, "", `CALL "0be" is too short`},
		{"both arguments", []string{"call", "clear", "0be10000000040008000000000000001", "b0b0"}, ExitOK, []string{"ListBodies", "ListCalls", "ListParticipants", "ListParticipants", "ClearDeclaration"}, openCall + " " + bob, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, fake := startFake(t, nil)
			r := runCLI(t, nil, "", append([]string{"--addr", addr, "--token", "tok", "--config-dir", t.TempDir()}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit code %d, want %d; stderr: %s", r.code, tt.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.inStderr) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tt.inStderr)
			}
			if tt.code != ExitOK {
				checkOneSentence(t, r.stderr)
			}
			var asked []string
			for _, c := range fake.received() {
				asked = append(asked, c.method)
			}
			if got, want := strings.Join(asked, ","), strings.Join(tt.asked, ","); got != want {
				t.Errorf("RPCs %s, want %s", got, want)
			}
			if tt.sent != "" {
				last := prototext.Format(fake.received()[len(fake.received())-1].req)
				for _, name := range strings.Fields(tt.sent) {
					if !strings.Contains(last, `"`+name+`"`) {
						t.Errorf("the request does not carry %s:\n%s", name, last)
					}
				}
			}
		})
	}
}

// TestPrefixesAgainstRealServer resolves prefixes against a real server: a call in the one body,
// of two, that the member can see, and a participant.
func TestPrefixesAgainstRealServer(t *testing.T) {
	s := newSession(t)
	p := s.setUp()
	other := s.jsonName("body", p.admin, "body", "create", "Other committee")
	s.ok(p.admin, "body", "add-member", other, p.chair, "--role", "chair")
	s.jsonName("call", p.chairT, "call", "open", other, "--title", "Elsewhere")
	call := s.jsonName("call", p.chairT, "call", "open", p.body, "--title", "Adopt the budget")
	id := call[strings.LastIndex(call, "/")+1:]

	// Alice is no member of the other body: the server refuses her its calls, and the lookup
	// passes over it.
	wantLines(t, "declare by prefix", s.ok(p.aliceT, "declare", id[:8], "--conflict", "none"), call)
	wantLines(t, "vote by prefix", s.ok(p.aliceT, "vote", p.body+"/calls/"+id[:6], "yes"), call)

	flipped := string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", id[0])+1)%16]) + id[1:8]
	r := s.run(p.aliceT, "vote", flipped, "yes")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "starts no call's id in the bodies you can see") {
		t.Errorf("unknown prefix: exit %d, stderr %q", r.code, r.stderr)
	}

	// Ids are UUIDv7: their first 12 digits are the time they were made, shared by everyone set up
	// in the same moment, so a short prefix is ambiguous and names them all; the next digits (the
	// sub-millisecond order) tell them apart.
	carol := p.carol[strings.LastIndex(p.carol, "/")+1:]
	r = s.run(p.admin, "auditor", "grant", carol[:4])
	if r.code != ExitUsage || !strings.Contains(r.stderr, "is ambiguous") || !strings.Contains(r.stderr, p.carol+" (Carol Chen)") {
		t.Errorf("ambiguous prefix: exit %d, stderr %q", r.code, r.stderr)
	}
	wantLines(t, "grant by prefix", s.ok(p.admin, "auditor", "grant", carol[:18]), p.carol, "Auditor:", "yes")
}
