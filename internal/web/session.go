package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"sync"
	"time"

	"github.com/candorhq/candor/internal/domain"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// sessionCookie names the cookie that holds a session id (never the token).
const sessionCookie = "candor_session"

// maxReceipts is how many receipts a session keeps for download; older ones drop off.
const maxReceipts = 50

// sweepEvery bounds how often expired sessions are swept (lazily, on access).
const sweepEvery = time.Minute

// principal is who a session acts as.
type principal struct {
	// Name is "participants/{id}", or "" for the admin.
	Name        string
	DisplayName string
	Admin       bool
	Auditor     bool
}

// session is one signed-in browser. The token is kept here and only here: it is attached to each
// RPC made for this session and never rendered, logged or set in a cookie.
type session struct {
	token   string
	who     principal
	csrf    string
	expires time.Time

	// Guarded by sessionStore.mu.
	flash    *flash
	receipts []*receiptRecord
	members  map[string]membershipMemo
}

// viewer is the session's user as the permission rules of internal/domain see them: the page offers
// what those rules, which the server applies, would allow.
func (p principal) viewer() domain.Viewer {
	return domain.Viewer{Admin: p.Admin, Participant: p.Name, Auditor: p.Auditor}
}

// membershipMemo remembers the session's participant's membership of a body (nil: none), and
// since when.
type membershipMemo struct {
	m  *candorv1.Membership
	at time.Time
}

// flash is what the page after a redirect shows once: a refusal beside the form that caused it
// (with the values to fill the form again), or a confirmation and the write's receipt.
type flash struct {
	// Form names the form a refusal belongs to ("vote", "declare", ...); "" means the page.
	Form string
	// Error is the refusal as one sentence; Reason is the server's ErrorInfo reason, if any.
	Error, Reason string
	// Values are the refused form's fields, to fill it in again. Never a token.
	Values url.Values
	// Notice confirms an accepted write.
	Notice  string
	Receipt *receiptRecord
}

// sessionStore keeps sessions in memory. Sessions end on sign-out, on expiry, or when the process
// restarts (then everyone signs in again: a token is never written to disk by this package).
type sessionStore struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	// byHash maps SHA-256 of a session id to the session; guarded by mu. Keying by a hash keeps the
	// bearer values out of the map itself.
	byHash    map[[32]byte]*session
	lastSweep time.Time // guarded by mu
}

func newSessionStore(ttl time.Duration, now func() time.Time) *sessionStore {
	return &sessionStore{ttl: ttl, now: now, byHash: map[[32]byte]*session{}}
}

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("web: crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for who with token and returns its id (the cookie value).
func (st *sessionStore) create(token string, who principal) (id string, s *session) {
	id = randomToken(32)
	s = &session{token: token, who: who, csrf: randomToken(32), expires: st.now().Add(st.ttl)}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sweepLocked()
	st.byHash[sha256.Sum256([]byte(id))] = s
	return id, s
}

// get returns the live session with id, or nil.
func (st *sessionStore) get(id string) *session {
	if id == "" {
		return nil
	}
	key := sha256.Sum256([]byte(id))
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sweepLocked()
	s := st.byHash[key]
	if s == nil || !st.now().Before(s.expires) {
		delete(st.byHash, key)
		return nil
	}
	return s
}

// delete ends the session with id.
func (st *sessionStore) delete(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.byHash, sha256.Sum256([]byte(id)))
}

// sweepLocked drops expired sessions, at most once per sweepEvery.
func (st *sessionStore) sweepLocked() {
	now := st.now()
	if now.Sub(st.lastSweep) < sweepEvery {
		return
	}
	st.lastSweep = now
	for k, s := range st.byHash {
		if !now.Before(s.expires) {
			delete(st.byHash, k)
		}
	}
}

// setFlash replaces s's flash.
func (st *sessionStore) setFlash(s *session, f *flash) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s.flash = f
}

// takeFlash returns s's flash and clears it: it is shown once.
func (st *sessionStore) takeFlash(s *session) *flash {
	st.mu.Lock()
	defer st.mu.Unlock()
	f := s.flash
	s.flash = nil
	return f
}

// addReceipt keeps r for download, dropping the oldest beyond maxReceipts.
func (st *sessionStore) addReceipt(s *session, r *receiptRecord) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s.receipts = append(s.receipts, r)
	if n := len(s.receipts); n > maxReceipts {
		s.receipts = append([]*receiptRecord(nil), s.receipts[n-maxReceipts:]...)
	}
}

// receipt returns s's kept receipt for logIndex (the newest, should a log be replaced), or nil.
func (st *sessionStore) receipt(s *session, logIndex int64) *receiptRecord {
	st.mu.Lock()
	defer st.mu.Unlock()
	for i := len(s.receipts) - 1; i >= 0; i-- {
		if s.receipts[i].LogIndex == logIndex {
			return s.receipts[i]
		}
	}
	return nil
}

// receiptList returns s's kept receipts, newest first.
func (st *sessionStore) receiptList(s *session) []*receiptRecord {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]*receiptRecord, len(s.receipts))
	for i, r := range s.receipts {
		out[len(out)-1-i] = r
	}
	return out
}

// sameToken compares two secrets in constant time.
func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// membershipOf returns s's participant's membership of body (nil: none), if remembered within
// membershipMemoTTL.
func (st *sessionStore) membershipOf(s *session, body string) (m *candorv1.Membership, ok bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	memo, ok := s.members[body]
	if !ok || st.now().Sub(memo.at) > membershipMemoTTL {
		return nil, false
	}
	return memo.m, true
}

// setMembership remembers s's participant's membership of body (nil: none).
func (st *sessionStore) setMembership(s *session, body string, m *candorv1.Membership) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if s.members == nil {
		s.members = map[string]membershipMemo{}
	}
	s.members[body] = membershipMemo{m: m, at: st.now()}
}
