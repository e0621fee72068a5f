package web

import (
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"google.golang.org/grpc"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// DefaultSessionTTL is how long a session lasts when Config.SessionTTL is zero: a long meeting day.
const DefaultSessionTTL = 12 * time.Hour

// contentSecurityPolicy allows only this origin's scripts, styles and connections: no inline script
// or style, no framing, forms posting only here.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// Config configures a [Server].
type Config struct {
	// Conn reaches candord's gRPC server (in-process or loopback), without per-RPC credentials: the
	// web app attaches the signed-in user's token to each call itself.
	Conn grpc.ClientConnInterface
	// Secure is true when the app is served over HTTPS: cookies then carry the Secure flag.
	Secure bool
	// Logger receives request and error logs; nil discards them.
	Logger *slog.Logger
	// GRPCAddr is the address the CLI reaches candord at: written into downloaded receipts and the
	// `candor audit` commands shown on pages.
	GRPCAddr string
	// LogPubPath is the path of the log's verifier key (log.pub) as an auditor would pass it to --key.
	LogPubPath string
	// SessionTTL is how long a session lasts from sign-in; 0 means [DefaultSessionTTL].
	SessionTTL time.Duration
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Server is the web app. It implements http.Handler.
type Server struct {
	cfg Config
	log *slog.Logger
	now func() time.Time

	participants candorv1.ParticipantServiceClient
	bodies       candorv1.BodyServiceClient
	calls        candorv1.CallServiceClient
	audit        candorv1.AuditServiceClient

	sessions *sessionStore
	tmpl     *templates
	mux      *http.ServeMux
	// nav is the header's links, in order; routes() fills it beside the routes they lead to.
	nav []navItem
	// signinKey signs the sign-in form's pre-session CSRF cookie. Random per process: a restart
	// only makes an open sign-in form ask to be reloaded.
	signinKey []byte
}

// navItem is one link in the header, shown to the principals show accepts.
type navItem struct {
	Label, Path string
	show        func(p *principal) bool
}

// New builds the web app.
func New(cfg Config) (*Server, error) {
	if cfg.Conn == nil {
		return nil, errors.New("web: Config.Conn is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	tmpl, err := loadTemplates()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:          cfg,
		log:          cfg.Logger,
		now:          cfg.Now,
		participants: candorv1.NewParticipantServiceClient(cfg.Conn),
		bodies:       candorv1.NewBodyServiceClient(cfg.Conn),
		calls:        candorv1.NewCallServiceClient(cfg.Conn),
		audit:        candorv1.NewAuditServiceClient(cfg.Conn),
		sessions:     newSessionStore(cfg.SessionTTL, cfg.Now),
		tmpl:         tmpl,
		mux:          http.NewServeMux(),
		signinKey:    make([]byte, 32),
	}
	if _, err := rand.Read(s.signinKey); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// routes registers every page and form. A new page set (admin, audit, reports) is a few lines here:
// its routes, wrapped in s.page (GET, signed in) or s.form (POST, signed in, CSRF checked), and its
// header link if it has one.
func (s *Server) routes() {
	m := s.mux
	anyone := func(*principal) bool { return true }
	participant := func(p *principal) bool { return !p.Admin }

	m.Handle("GET /static/", s.static())

	m.HandleFunc("GET /signin", s.signinPage)
	m.HandleFunc("POST /signin", s.signin)
	m.Handle("POST /signout", s.form(s.signout))

	m.Handle("GET /{$}", s.page(s.home))
	m.Handle("GET /receipts/{index}", s.page(s.receiptDownload))
	s.nav = append(s.nav, navItem{Label: "Home", Path: "/", show: anyone})

	m.Handle("GET /soi", s.page(s.soiPage))
	m.Handle("POST /soi", s.form(s.soiUpdate))
	s.nav = append(s.nav, navItem{Label: "My Statement of Interest", Path: "/soi", show: participant})

	m.Handle("GET /account", s.page(s.accountPage))
	m.Handle("POST /account/token", s.form(s.rotateToken))

	m.Handle("GET /bodies/{body}", s.page(s.bodyPage))
	m.Handle("GET /bodies/{body}/calls/new", s.page(s.newCallPage))
	m.Handle("POST /bodies/{body}/calls", s.form(s.openCall))
	m.Handle("GET /bodies/{body}/calls/{call}", s.page(s.callPage))
	m.Handle("GET /bodies/{body}/calls/{call}/events", s.page(s.callEvents))
	m.Handle("POST /bodies/{body}/calls/{call}/{action}", s.form(s.callAction))
	m.Handle("POST /bodies/{body}/calls/{call}/minority/{statement}/sign", s.form(s.signMinority))

	// Review report, export, audit and admin pages (report.go, export.go, audit.go, admin.go).
	m.Handle("GET /bodies/{body}/report", s.page(s.reportPage))
	m.Handle("GET /bodies/{body}/export", s.page(s.exportDownload))
	m.Handle("GET /audit", s.page(s.auditPage))
	m.Handle("GET /audit/me", s.page(s.myDeclarations))
	m.Handle("GET /audit/participants", s.page(s.pickParticipant))
	m.Handle("GET /audit/participants/{participant}", s.page(s.historyPage))
	m.Handle("GET /audit/calls/{body}/{call}", s.page(s.recordPage))
	s.nav = append(s.nav, navItem{Label: "My declarations", Path: "/audit/me", show: participant})
	s.nav = append(s.nav, navItem{Label: "Audit", Path: "/audit", show: func(p *principal) bool { return p.Admin || p.Auditor }})
	m.Handle("GET /admin", s.page(s.adminPage))
	m.Handle("POST /admin/participants", s.form(s.createParticipant))
	m.Handle("POST /admin/bodies", s.form(s.createBody))
	m.Handle("POST /admin/members", s.form(s.addMember))
	m.Handle("POST /admin/auditors", s.form(s.grantAuditor))
	m.Handle("POST /admin/participants/{participant}/token", s.form(s.reissueToken))
	m.Handle("GET /admin/participants/{participant}/deactivate", s.page(s.deactivateConfirm))
	m.Handle("POST /admin/participants/{participant}/deactivate", s.form(s.deactivate))
	m.Handle("GET /admin/bodies/{body}/members/{participant}/remove", s.page(s.removeConfirm))
	m.Handle("POST /admin/bodies/{body}/members/{participant}/remove", s.form(s.removeMember))
	s.nav = append(s.nav, navItem{Label: "Admin", Path: "/admin", show: func(p *principal) bool { return p.Admin }})
	// Last in the header: a participant's own account, with their token.
	s.nav = append(s.nav, navItem{Label: "My account", Path: "/account", show: participant})
}

// ServeHTTP sets the security headers every response carries, then routes the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if s.cfg.Secure {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	start := s.now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(sw, r)
	// The path holds only resource ids; query strings and forms are never logged.
	s.log.Debug("web request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
		"duration", s.now().Sub(start))
}

// statusWriter remembers the status for the request log. Unwrap lets http.ResponseController reach
// the real writer's Flush and deadlines (the SSE relay needs them).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// navFor returns the header links p may follow.
func (s *Server) navFor(p *principal) []navItem {
	var out []navItem
	for _, n := range s.nav {
		if p != nil && n.show(p) {
			out = append(out, n)
		}
	}
	return out
}
