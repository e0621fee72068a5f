package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/internal/domain"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// signinCookie holds the sign-in form's pre-session CSRF token (double-submit: the form carries the
// same value). It is signed with a per-process key and expires, so another site cannot mint one.
const signinCookie = "candor_signin"

// signinFormTTL is how long a sign-in form stays usable.
const signinFormTTL = time.Hour

// maxFormBytes bounds a form's body: the longest field (a minority statement) is 20,000 characters.
const maxFormBytes = 1 << 20

// rpcTimeout bounds every unary RPC a page makes.
const rpcTimeout = 15 * time.Second

// pageHandler serves a request for a signed-in session.
type pageHandler func(w http.ResponseWriter, r *http.Request, sess *session)

// page wraps a GET handler: it needs a session, else the browser goes to the sign-in page. Pages
// are never cached: they hold a person's record and a CSRF token.
func (s *Server) page(h pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		sess := s.session(r)
		if sess == nil {
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		h(w, r, sess)
	})
}

// form wraps a POST handler: it needs a session and the session's CSRF token in the form, compared
// in constant time. Without a session the browser goes to the sign-in page; with a wrong or missing
// token the request is refused (403) before anything reaches the server.
func (s *Server) form(h pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		sess := s.session(r)
		if sess == nil {
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			s.renderError(w, r, sess, http.StatusBadRequest, "This form could not be read. Go back, reload the page and try again.")
			return
		}
		crlfToLF(r.PostForm)
		crlfToLF(r.Form)
		if !sameToken(r.PostFormValue("csrf"), sess.csrf) {
			s.renderError(w, r, sess, http.StatusForbidden, "This form has expired or did not come from this page. Go back, reload the page and try again.")
			return
		}
		h(w, r, sess)
	})
}

// session returns the request's live session, or nil.
func (s *Server) session(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	return s.sessions.get(c.Value)
}

// rpcCtx is the context for an RPC made as sess's principal: the request's context (so a browser
// that goes away cancels the call), a bound, and the bearer token as outgoing metadata.
func (s *Server) rpcCtx(r *http.Request, sess *session) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(r.Context(), rpcTimeout)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+sess.token), cancel
}

// streamCtx is rpcCtx without the bound, for WatchCall.
func (s *Server) streamCtx(r *http.Request, sess *session) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+sess.token), cancel
}

// signinData is the sign-in page.
type signinData struct {
	Error string
	// Notice says why the browser is here, after a token rotation ended its session.
	Notice string
}

// signinPage implements GET /signin.
func (s *Server) signinPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if s.session(r) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.renderSignin(w, r, http.StatusOK, "")
}

// rotatedNotice is the sign-in page's message after a participant replaced their own token.
const rotatedNotice = "Your token was replaced, so this browser was signed out. Sign in with your new token."

// renderSignin renders the sign-in form with a fresh pre-session CSRF token in a cookie and a field.
func (s *Server) renderSignin(w http.ResponseWriter, r *http.Request, code int, msg string) {
	tok := s.newSigninToken()
	http.SetCookie(w, &http.Cookie{
		Name: signinCookie, Value: tok, Path: "/signin", MaxAge: int(signinFormTTL / time.Second),
		HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteStrictMode,
	})
	data := signinData{Error: msg}
	if msg == "" && r.URL.Query().Get("after") == "rotate" {
		data.Notice = rotatedNotice
	}
	s.renderPage(w, r, code, "signin", &view{Title: "Sign in", CSRF: tok, Data: data})
}

// newSigninToken returns expiry || random || HMAC(key, expiry || random), base64url.
func (s *Server) newSigninToken() string {
	b := make([]byte, 8, 8+16+sha256.Size)
	binary.BigEndian.PutUint64(b, uint64(s.now().Add(signinFormTTL).Unix()))
	raw, _ := base64.RawURLEncoding.DecodeString(randomToken(16))
	b = append(b, raw...)
	mac := hmac.New(sha256.New, s.signinKey)
	mac.Write(b)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(b))
}

// checkSigninToken reports whether the form's token equals the cookie's, is ours and is unexpired.
func (s *Server) checkSigninToken(r *http.Request) bool {
	c, err := r.Cookie(signinCookie)
	if err != nil {
		return false
	}
	return s.checkSigninTokenValues(c.Value, r.PostFormValue("csrf"))
}

func (s *Server) checkSigninTokenValues(cookie, field string) bool {
	if !sameToken(field, cookie) {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(cookie)
	if err != nil || len(b) != 8+16+sha256.Size {
		return false
	}
	mac := hmac.New(sha256.New, s.signinKey)
	mac.Write(b[:8+16])
	if !hmac.Equal(mac.Sum(nil), b[8+16:]) {
		return false
	}
	return s.now().Unix() < int64(binary.BigEndian.Uint64(b[:8]))
}

// signin implements POST /signin: it checks the pasted token with the server, then starts a session.
//
// Who the token belongs to is asked of the server, never guessed: GetParticipant with an empty name
// answers the caller for a participant. The admin is not a participant, so the server refuses that
// with PermissionDenied (PARTICIPANT_REQUIRED) after authenticating the token: a token that
// authenticates but is not a participant's is the admin's. A token that does not authenticate gets
// Unauthenticated.
func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil || !s.checkSigninToken(r) {
		s.renderSignin(w, r, http.StatusForbidden, "This sign-in form has expired. Please paste your token again.")
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	token = strings.TrimPrefix(token, "Bearer ")
	if token == "" {
		s.renderSignin(w, r, http.StatusUnprocessableEntity, "Paste your API token to sign in.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), rpcTimeout)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	var who principal
	resp, err := s.participants.GetParticipant(ctx, &candorv1.GetParticipantRequest{})
	switch st := status.Convert(err); {
	case err == nil:
		p := resp.GetParticipant()
		who = principal{Name: p.GetName(), DisplayName: p.GetDisplayName(), Auditor: p.GetAuditor()}
	case st.Code() == codes.PermissionDenied && domain.ParseReason(reasonOf(st)) == candorv1.ErrorReason_ERROR_REASON_PARTICIPANT_REQUIRED:
		who = principal{Admin: true, DisplayName: "Administrator"}
	case st.Code() == codes.Unauthenticated:
		s.renderSignin(w, r, http.StatusUnauthorized, "The server did not accept this token. Check that you pasted the whole token.")
		return
	default:
		msg, _ := s.sentence(err, "sign in")
		s.renderSignin(w, r, http.StatusBadGateway, msg)
		return
	}
	// A fresh id on every sign-in: an id planted before sign-in is never promoted to a session.
	if old, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.delete(old.Value)
	}
	id, _ := s.sessions.create(token, who)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: "/", MaxAge: int(s.cfg.SessionTTL / time.Second),
		HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteStrictMode,
	})
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Path: "/signin", MaxAge: -1, HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteStrictMode})
	s.log.Info("web sign-in", "participant", who.Name, "admin", who.Admin)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// signout implements POST /signout: the session ends on the server, and the cookie is cleared.
func (s *Server) signout(w http.ResponseWriter, r *http.Request, sess *session) {
	s.endSession(w, r)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// endSession ends the request's session on the server and clears its cookie.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.delete(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteStrictMode})
}

// endIfUnauthenticated ends the session when the server no longer accepts its token (the
// participant was removed or the token replaced) and reports whether it did.
func (s *Server) endIfUnauthenticated(w http.ResponseWriter, r *http.Request, err error) bool {
	if status.Code(err) != codes.Unauthenticated {
		return false
	}
	if c, cerr := r.Cookie(sessionCookie); cerr == nil {
		s.sessions.delete(c.Value)
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return true
}

// crlfToLF turns the CRLF line breaks browsers send for a textarea (HTML's form submission) into
// the line feeds the server keeps: it refuses carriage returns in free text.
func crlfToLF(form url.Values) {
	for _, vs := range form {
		for i, v := range vs {
			vs[i] = strings.ReplaceAll(v, "\r\n", "\n")
		}
	}
}
