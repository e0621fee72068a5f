package cli

import (
	"bytes"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// watchFake answers WatchCall with fixed states, then holds the stream open until the client goes.
type watchFake struct {
	candorv1.UnimplementedCallServiceServer
	states []*candorv1.WatchCallResponse
}

func (f *watchFake) WatchCall(_ *candorv1.WatchCallRequest, stream candorv1.CallService_WatchCallServer) error {
	for _, s := range f.states {
		if err := stream.Send(s); err != nil {
			return err
		}
	}
	<-stream.Context().Done()
	return nil
}

// startWatchFake serves a watchFake on a loopback port.
func startWatchFake(t *testing.T, states ...*candorv1.WatchCallResponse) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	candorv1.RegisterCallServiceServer(s, &watchFake{states: states})
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

// watchStates are three states of the open call from fake_test.go: nobody declared; Alice declared
// and voted, with a display name carrying terminal escapes (which the real server refuses, and a
// hostile one might send); and closed with its result.
func watchStates() []*candorv1.WatchCallResponse {
	undeclared := make([]*candorv1.RosterEntry, len(roster))
	for i, e := range roster {
		e = proto.CloneOf(e)
		e.Declaration, e.Clearance, e.Voted, e.Stale = nil, nil, false, false
		undeclared[i] = e
	}
	progress := []*candorv1.RosterEntry{proto.CloneOf(roster[0]), undeclared[1], proto.CloneOf(roster[2])}
	progress[2].DisplayName = "Dave\x1b]0;pwned\x07\x1b[2J\u202eDuarte"
	closed := proto.CloneOf(callOpen)
	closed.State, closed.ClosedBy, closed.CloseTime = candorv1.CallState_CALL_STATE_CLOSED, alice, at(90)
	closed.Result = proto.CloneOf(callClosed.GetResult())
	return []*candorv1.WatchCallResponse{
		{Call: callOpen, Roster: undeclared},
		{Call: callOpen, Roster: progress},
		{Call: closed, Roster: roster},
	}
}

// TestWatchGolden checks what `call watch` prints when its output is not a terminal (each state
// after a blank line, under a time line, then the result) and with -o json (one object a line).
func TestWatchGolden(t *testing.T) {
	addr := startWatchFake(t, watchStates()...)
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"call-watch", []string{"call", "watch", openCall}},
		{"call-watch-json", []string{"call", "watch", openCall, "-o", "json"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, "", append([]string{"--addr", addr, "--token", "tok", "--config-dir", t.TempDir()}, tt.args...)...)
			if r.code != ExitOK || r.stderr != "" {
				t.Fatalf("exit code %d, stderr: %s", r.code, r.stderr)
			}
			if strings.ContainsAny(r.stdout, "\x1b\x07\u202e") {
				t.Errorf("control characters from the server reached the output:\n%q", r.stdout)
			}
			checkGolden(t, tt.name, r.stdout)
		})
	}
}

// TestWatchJSONLines checks that -o json prints one parseable WatchCallResponse a line, with the
// server's strings intact.
func TestWatchJSONLines(t *testing.T) {
	states := watchStates()
	addr := startWatchFake(t, states...)
	r := runCLI(t, nil, "", "--addr", addr, "--token", "tok", "--config-dir", t.TempDir(), "call", "watch", openCall, "-o", "json")
	if r.code != ExitOK {
		t.Fatalf("exit code %d, stderr: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != len(states) {
		t.Fatalf("got %d lines, want one per state (%d):\n%s", len(lines), len(states), r.stdout)
	}
	for i, l := range lines {
		var got candorv1.WatchCallResponse
		if err := protojson.Unmarshal([]byte(l), &got); err != nil {
			t.Fatalf("line %d: %v\n%s", i+1, err, l)
		}
		if !proto.Equal(&got, states[i]) {
			t.Errorf("line %d decodes to %v, want %v", i+1, &got, states[i])
		}
	}
}

// TestWatchTerminal checks the redraw on a terminal: every state starts by homing the cursor and
// clearing the screen, and those are the only escapes written.
func TestWatchTerminal(t *testing.T) {
	var out bytes.Buffer
	a := &app{now: func() time.Time { return fixedNow }, loc: time.UTC}
	p := &watchPrinter{a: a, w: &out, tty: true}
	states := watchStates()
	for _, s := range states {
		if err := p.print(s); err != nil {
			t.Fatal(err)
		}
	}
	frames := strings.Split(out.String(), clearScreen)
	if frames[0] != "" || len(frames) != len(states)+1 {
		t.Fatalf("want %d frames each after %q, got %d:\n%q", len(states), clearScreen, len(frames)-1, out.String())
	}
	for i, f := range frames[1:] {
		if strings.ContainsAny(f, "\x1b\x07") {
			t.Errorf("frame %d holds a raw escape:\n%q", i+1, f)
		}
		if !strings.Contains(f, "PARTICIPANT") {
			t.Errorf("frame %d has no roster:\n%s", i+1, f)
		}
	}
	if last := frames[len(frames)-1]; !strings.Contains(last, "Result:") {
		t.Errorf("the closed call's frame has no result:\n%s", last)
	}
}

func TestEscapeControls(t *testing.T) {
	for in, want := range map[string]string{
		"Alice Adeyemi":      "Alice Adeyemi",
		"two\nlines":         "two\nlines",
		"bell\a":             `bell\x07`,
		"\x1b[2Jclear":       `\x1b[2Jclear`,
		"c1 \u009b31m":       `c1 \u009b31m`,
		"rtl \u202edcba":     `rtl \u202edcba`,
		"bad \xff utf8":      `bad \xff utf8`,
		"Zoë, 李, emoji 👩‍⚕️": "Zoë, 李, emoji 👩‍⚕️",
	} {
		if got := escapeControls(in); got != want {
			t.Errorf("escapeControls(%q) = %q, want %q", in, got, want)
		}
	}
	line := `{"displayName":"a` + "\u009b\u202e" + `b"}`
	got := escapeJSONLine(line)
	if got != `{"displayName":"a\u009b\u202eb"}` {
		t.Errorf("escapeJSONLine(%q) = %q", line, got)
	}
	var v struct{ DisplayName string }
	if err := json.Unmarshal([]byte(got), &v); err != nil || v.DisplayName != "a\u009b\u202eb" {
		t.Errorf("escaped JSON decodes to %q, %v; want the same string", v.DisplayName, err)
	}
}

// syncBuffer is a bytes.Buffer safe to read while a command writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer // guarded by mu
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// running is a candor command running in the background.
type running struct {
	stdout, stderr syncBuffer
	done           chan int // receives the exit code
}

// start runs candor in the background against the session's server.
func (s *session) start(token string, args ...string) *running {
	s.t.Helper()
	global := []string{"--addr", s.srv.Addr, "--config-dir", s.cfg, "--token", token}
	r := &running{done: make(chan int, 1)}
	go func() { r.done <- Execute(append(global, args...), &r.stdout, &r.stderr) }()
	return r
}

// waitFor waits up to 10 s for the command's standard output to contain sub.
func (r *running) waitFor(t *testing.T, sub string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(r.stdout.String(), sub) {
		select {
		case code := <-r.done:
			t.Fatalf("the command exited (%d) before printing %q:\n%s\nstderr: %s", code, sub, r.stdout.String(), r.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q within 10 s in:\n%s\nstderr: %s", sub, r.stdout.String(), r.stderr.String())
		}
	}
}

// exit waits up to 10 s for the command to end and returns its exit code.
func (r *running) exit(t *testing.T) int {
	t.Helper()
	select {
	case code := <-r.done:
		return code
	case <-time.After(10 * time.Second):
		t.Fatalf("the command did not end within 10 s:\n%s\nstderr: %s", r.stdout.String(), r.stderr.String())
		return -1
	}
}

// TestWatchAgainstRealServer watches a real server's call: the watch shows a declaration made after
// it started and ends, exit 0, with the result when the chair closes the call. Someone outside the
// body is refused in one sentence.
func TestWatchAgainstRealServer(t *testing.T) {
	s := newSession(t)
	p := s.setUp()
	vote := s.jsonName("call", p.chairT, "call", "open", p.body, "--title", "Budget FY27")

	w := s.start(p.chairT, "call", "watch", vote)
	w.waitFor(t, "Budget FY27 (open): 0 of 4 declared, 0 voted")
	s.ok(p.aliceT, "declare", vote, "--conflict", "none")
	w.waitFor(t, "Budget FY27 (open): 1 of 4 declared, 0 voted")
	s.ok(p.aliceT, "vote", vote, "yes")
	w.waitFor(t, "1 of 4 declared, 1 voted")
	s.ok(p.chairT, "call", "close", vote)
	if code := w.exit(t); code != ExitOK {
		t.Fatalf("watch exit %d, want 0; stderr: %s", code, w.stderr.String())
	}
	out := w.stdout.String()
	last := out[strings.LastIndex(out, "Budget FY27 ("):]
	wantLines(t, "the last state", last, "Budget FY27 (closed): 1 of 4 declared, 1 voted", "PARTICIPANT",
		"Result:", "Outcome:", "Ballots counted:", "1", "OPTION", "BALLOTS", "yes", "1", "By stakeholder group:")
	// The line ends VOTED, AFFECTED-PARTY MATCHES, STATUS.
	if l := lineWith(last, p.alice); !strings.Contains(l, "Alice Adeyemi") || !strings.HasSuffix(strings.Fields(l)[len(strings.Fields(l))-3], "yes") {
		t.Errorf("alice's last roster line does not show her ballot: %q", l)
	}
	if w.stderr.String() != "" {
		t.Errorf("stderr: %q", w.stderr.String())
	}

	_, outsiderT := s.participant("Olga Outsider")
	s.refused("NOT_MEMBER", outsiderT, "call", "watch", vote)
}

// TestWatchInterrupt checks that Ctrl-C ends a watch quietly with exit 0.
func TestWatchInterrupt(t *testing.T) {
	s := newSession(t)
	p := s.setUp()
	vote := s.jsonName("call", p.chairT, "call", "open", p.body, "--title", "Budget FY27")
	w := s.start(p.chairT, "call", "watch", vote)
	// The handler is installed before the stream opens, so once a state is printed SIGINT reaches
	// the command, not the default action that would end this test binary.
	w.waitFor(t, "0 of 4 declared")
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := w.exit(t); code != ExitOK {
		t.Errorf("exit %d after Ctrl-C, want 0", code)
	}
	if got := w.stderr.String(); got != "" {
		t.Errorf("Ctrl-C printed on stderr: %q", got)
	}
}
