package rpc_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// logBuffer collects a server's log output; the server writes from many goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer // guarded by mu
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// rpcLines returns the request log's lines for method, decoded.
func (b *logBuffer) rpcLines(t *testing.T, method string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, sc.Text())
		}
		if m["msg"] == "rpc" && m["method"] == method {
			lines = append(lines, m)
		}
	}
	return lines
}

// startLogged starts a test server whose logs, at level, are JSON in the returned buffer.
func startLogged(t *testing.T, level slog.Level, opts ...ts.Option) (*ts.Server, *logBuffer) {
	t.Helper()
	buf := new(logBuffer)
	logger := slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: level}))
	return ts.Start(t, append(opts, ts.Logger(logger))...), buf
}

// TestRequestLog checks each field of the request log's line for an accepted write, a refusal and
// an anonymous call, from a real server's JSON output.
func TestRequestLog(t *testing.T) {
	srv, logs := startLogged(t, slog.LevelInfo, ts.PublicAudit())
	w := ts.NewWorld(t, srv)
	call := w.OpenVote(t, nil).Name
	w.Declare(t, w.Alice, call, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.Intent_INTENT_UNSPECIFIED)
	id := uuid.NewString()
	if _, err := w.Alice.Calls.CastBallot(w.Alice.Ctx(t), &candorv1.CastBallotRequest{Call: call, Option: "yes", RequestId: id}); err != nil {
		t.Fatalf("CastBallot: %v", err)
	}
	// Bob has not declared: refused with DECLARATION_REQUIRED.
	if _, err := ts.Vote(t, w.Bob, call, "yes"); err == nil {
		t.Fatal("Bob's ballot without a declaration was accepted")
	}
	if _, err := w.Anonymous.Audit.GetCheckpoint(w.Anonymous.Ctx(t), &candorv1.GetCheckpointRequest{}); err != nil {
		t.Fatalf("anonymous GetCheckpoint: %v", err)
	}
	// A read by a participant that succeeds is at Debug: absent from an Info log.
	if _, err := w.Alice.Calls.GetCall(w.Alice.Ctx(t), &candorv1.GetCallRequest{Name: call}); err != nil {
		t.Fatalf("GetCall: %v", err)
	}

	tests := []struct {
		name   string
		method string
		match  func(map[string]any) bool // picks the line among the method's
		want   map[string]any            // fields and values; nil value: must be absent
	}{
		{
			name:   "accepted write",
			method: candorv1.CallService_CastBallot_FullMethodName,
			match:  func(m map[string]any) bool { return m["caller"] == w.Names["alice"] },
			want: map[string]any{
				"level": "INFO", "caller": w.Names["alice"], "request_id": id, "code": "OK", "reason": nil,
			},
		},
		{
			name:   "refusal",
			method: candorv1.CallService_CastBallot_FullMethodName,
			match:  func(m map[string]any) bool { return m["caller"] == w.Names["bob"] },
			want: map[string]any{
				"level": "INFO", "caller": w.Names["bob"], "request_id": nil, "code": "FailedPrecondition",
				"reason": "DECLARATION_REQUIRED",
			},
		},
		{
			name:   "anonymous read",
			method: candorv1.AuditService_GetCheckpoint_FullMethodName,
			match:  func(m map[string]any) bool { return m["caller"] == "anonymous" },
			want:   nil, // a read that succeeds is at Debug
		},
		{
			name:   "chair's write",
			method: candorv1.CallService_OpenCall_FullMethodName,
			match:  func(m map[string]any) bool { return true },
			want:   map[string]any{"level": "INFO", "caller": w.Names["chair"], "code": "OK"},
		},
		{
			name:   "read at Debug",
			method: candorv1.CallService_GetCall_FullMethodName,
			match:  func(m map[string]any) bool { return true },
			want:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []map[string]any
			for _, m := range logs.rpcLines(t, tt.method) {
				if tt.match(m) {
					got = append(got, m)
				}
			}
			if tt.want == nil {
				if len(got) != 0 {
					t.Fatalf("lines for %s at Info = %v, want none", tt.method, got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d lines for %s, want 1: %v", len(got), tt.method, got)
			}
			checkLine(t, got[0], tt.want)
		})
	}

	t.Run("anonymous read at Debug", func(t *testing.T) {
		srv, logs := startLogged(t, slog.LevelDebug, ts.PublicAudit())
		anon := ts.NewClient(srv.Conn(), "")
		if _, err := anon.Audit.GetCheckpoint(anon.Ctx(t), &candorv1.GetCheckpointRequest{}); err != nil {
			t.Fatalf("anonymous GetCheckpoint: %v", err)
		}
		lines := logs.rpcLines(t, candorv1.AuditService_GetCheckpoint_FullMethodName)
		if len(lines) != 1 {
			t.Fatalf("got %d lines, want 1: %v", len(lines), lines)
		}
		checkLine(t, lines[0], map[string]any{"level": "DEBUG", "caller": "anonymous", "code": "OK", "reason": nil, "request_id": nil})
	})

	t.Run("unauthenticated", func(t *testing.T) {
		srv, logs := startLogged(t, slog.LevelInfo)
		anon := ts.NewClient(srv.Conn(), "")
		if _, err := anon.Audit.GetCheckpoint(anon.Ctx(t), &candorv1.GetCheckpointRequest{}); err == nil {
			t.Fatal("GetCheckpoint without a token on a private server succeeded")
		}
		lines := logs.rpcLines(t, candorv1.AuditService_GetCheckpoint_FullMethodName)
		if len(lines) != 1 {
			t.Fatalf("got %d lines, want 1: %v", len(lines), lines)
		}
		checkLine(t, lines[0], map[string]any{"level": "INFO", "caller": "anonymous", "code": "Unauthenticated", "reason": "UNAUTHENTICATED"})
	})
}

// checkLine compares a log line's fields with want (a nil value: the field must be absent) and
// checks the duration is present and sane.
func checkLine(t *testing.T, got, want map[string]any) {
	t.Helper()
	for k, v := range want {
		g, ok := got[k]
		switch {
		case v == nil && ok:
			t.Errorf("%s = %v, want absent (line %v)", k, g, got)
		case v != nil && g != v:
			t.Errorf("%s = %v, want %v (line %v)", k, g, v, got)
		}
	}
	d, ok := got["duration"].(float64) // slog's JSON handler writes a Duration in nanoseconds
	if !ok || d <= 0 || time.Duration(d) > time.Minute {
		t.Errorf("duration = %v, want a positive number of nanoseconds under a minute", got["duration"])
	}
}

// TestRequestLogNeverHoldsAToken makes calls that carry, create, rotate and fail with tokens, at
// Debug so every line is written, and looks for each token anywhere in the output.
func TestRequestLogNeverHoldsAToken(t *testing.T) {
	srv, logs := startLogged(t, slog.LevelDebug)
	w := ts.NewWorld(t, srv) // the admin creates participants: their tokens are in the answers
	tokens := map[string]string{"admin": srv.AdminToken, "alice": w.Alice.Token, "bob": w.Bob.Token}

	// A wrong token: Unauthenticated.
	const wrong = "wrong-token-5f0c7d1e9a2b4c6d8e0f"
	tokens["wrong"] = wrong
	bad := ts.NewClient(srv.Conn(), wrong)
	if _, err := bad.Calls.GetCall(bad.Ctx(t), &candorv1.GetCallRequest{Name: w.Body + "/calls/" + uuid.NewString()}); err == nil {
		t.Fatal("a wrong token was accepted")
	}
	// Bob rotates his token: the old one fails afterwards, the new one is in an answer.
	resp, err := w.Bob.Participants.RotateToken(w.Bob.Ctx(t), &candorv1.RotateTokenRequest{})
	if err != nil {
		t.Fatalf("RotateToken: %v", err)
	}
	tokens["bob rotated"] = resp.GetToken()
	if _, err := w.Bob.Participants.GetStatementOfInterest(w.Bob.Ctx(t), &candorv1.GetStatementOfInterestRequest{}); err == nil {
		t.Fatal("Bob's old token still works")
	}
	// Refusals and reads of participants and the admin.
	call := w.OpenVote(t, nil).Name
	ts.Vote(t, w.Alice, call, "yes")
	w.Declare(t, w.Alice, call, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.Intent_INTENT_UNSPECIFIED)
	ts.Vote(t, w.Alice, call, "yes")
	w.Admin.Calls.GetCall(w.Admin.Ctx(t), &candorv1.GetCallRequest{Name: call})

	out := logs.String()
	if n := strings.Count(out, `"msg":"rpc"`); n < 10 {
		t.Fatalf("only %d request lines were logged; the test would prove nothing", n)
	}
	if !strings.Contains(out, `"code":"Unauthenticated"`) {
		t.Fatal("no Unauthenticated line was logged")
	}
	for who, tok := range tokens {
		if tok == "" {
			t.Fatalf("%s's token is empty", who)
		}
		if strings.Contains(out, tok) {
			t.Errorf("the log holds %s's token", who)
		}
	}
}
