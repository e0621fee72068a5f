package web

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
)

// nilConn is a connection that is never used: these tests do not reach a server.
type nilConn struct{}

func (nilConn) Invoke(context.Context, string, any, any, ...grpc.CallOption) error { panic("unused") }
func (nilConn) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	panic("unused")
}

// TestSessionStore checks expiry, sweeping, deletion and the cap on kept receipts.
func TestSessionStore(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	st := newSessionStore(time.Hour, func() time.Time { return now })
	id, s := st.create("tok", principal{Name: "participants/a"})
	if got := st.get(id); got != s {
		t.Fatalf("get(new id) = %v, want the session", got)
	}
	if st.get("other") != nil || st.get("") != nil {
		t.Errorf("an unknown id found a session")
	}
	for i := range maxReceipts + 7 {
		st.addReceipt(s, &receiptRecord{LogIndex: int64(i)})
	}
	if n := len(st.receiptList(s)); n != maxReceipts {
		t.Errorf("kept %d receipts, want %d", n, maxReceipts)
	}
	if st.receipt(s, 0) != nil || st.receipt(s, maxReceipts+6) == nil {
		t.Errorf("the oldest receipts should drop off, the newest stay")
	}
	st.delete(id)
	if st.get(id) != nil {
		t.Errorf("a deleted session was found")
	}

	id2, _ := st.create("tok2", principal{})
	now = now.Add(time.Hour)
	if st.get(id2) != nil {
		t.Errorf("a session was found at its expiry")
	}
	st.create("tok3", principal{})
	now = now.Add(2 * time.Hour)
	st.create("tok4", principal{}) // sweeps
	st.mu.Lock()
	n := len(st.byHash)
	st.mu.Unlock()
	if n != 1 {
		t.Errorf("after the sweep %d sessions remain, want 1", n)
	}
}

// TestSigninToken checks the pre-session token: ours and unexpired only.
func TestSigninToken(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s, err := New(Config{Conn: nilConn{}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := New(Config{Conn: nilConn{}, Now: func() time.Time { return now }})
	tok := s.newSigninToken()
	check := func(srv *Server, cookie, field string) bool {
		return srv.checkSigninTokenValues(cookie, field)
	}
	if !check(s, tok, tok) {
		t.Errorf("a fresh token was refused")
	}
	if check(s, tok, tok+"x") || check(s, tok, "") {
		t.Errorf("a field that differs from the cookie was accepted")
	}
	if check(other, tok, tok) {
		t.Errorf("another server's token was accepted")
	}
	now = now.Add(signinFormTTL)
	if check(s, tok, tok) {
		t.Errorf("an expired token was accepted")
	}
}
