package web

import (
	"net/http"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// This file is a participant's own account page: who they are on the record, and their token,
// which they may replace. Replacing it ends this browser's session, since the session holds the old
// token; the new one is shown once, on the page after the form, through the same one-time holder
// the admin's new tokens use (admin.go), and never in a URL, a flash or a log.

// rotatedSignin is where the page that shows a rotated token sends the browser: the sign-in page,
// saying to sign in with the new token. It carries no secret.
const rotatedSignin = "/signin?after=rotate"

// accountData is the account page.
type accountData struct {
	Participant *candorv1.Participant
	// NewToken is the participant's own new token, after a rotation: shown on this page only.
	NewToken *newToken
	// SignIn is where to go next once the new token is copied.
	SignIn string
}

// accountPage implements GET /account. After a rotation it shows the new token once and ends the
// session: its token no longer works, so the browser must sign in again with the new one.
func (s *Server) accountPage(w http.ResponseWriter, r *http.Request, sess *session) {
	if sess.who.Admin {
		s.renderError(w, r, sess, http.StatusNotFound, "The administrator's token is replaced on the server: delete admin.token and restart candord, which writes a new one.")
		return
	}
	if t := takeNewToken(sess, s.now()); t != nil {
		s.endSession(w, r)
		s.renderWith(w, r, sess, http.StatusOK, "account", "Your new token", func(v *view) any {
			// The session is over: the page is drawn signed out, with no form and no header links.
			v.Me, v.Nav, v.CSRF = nil, nil, ""
			return accountData{Participant: t.Participant, NewToken: t, SignIn: rotatedSignin}
		})
		return
	}
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	resp, err := s.participants.GetParticipant(ctx, &candorv1.GetParticipantRequest{})
	if err != nil {
		s.rpcFailed(w, r, sess, "account", err)
		return
	}
	s.render(w, r, sess, http.StatusOK, "account", "My account", accountData{Participant: resp.GetParticipant()})
}

// rotateToken implements POST /account/token: the participant's own token is replaced. The new one
// waits, in memory, for the next page, which shows it once and ends the session.
func (s *Server) rotateToken(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	resp, err := s.participants.RotateToken(ctx, &candorv1.RotateTokenRequest{})
	if err != nil {
		s.refused(w, r, sess, "/account#token", "token", err)
		return
	}
	putNewToken(sess, &newToken{Participant: resp.GetParticipant(), Token: resp.GetToken(), Reissued: true, created: s.now()}, s.now())
	s.accepted(w, r, sess, "/account#new-token", "Your token is replaced, on the record. Your previous token no longer works.", resp.GetReceipt())
}
