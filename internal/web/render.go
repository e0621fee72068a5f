package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ctxT shortens context.Context in callback signatures.
type ctxT = context.Context

//go:embed assets
var assets embed.FS

// templates holds one template set per page (layout + partials + the page's file) and the partials
// alone, which the SSE relay renders with the very templates the page uses.
type templates struct {
	pages    map[string]*template.Template
	partials *template.Template
}

// staticVersion is a hash of the static files, added to their URLs so a new build is fetched
// while an unchanged one is cached.
var staticVersion = func() string {
	h := sha256.New()
	fs.WalkDir(assets, "assets/static", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := assets.ReadFile(p)
			h.Write([]byte(p))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}()

// funcs are the template helpers. None of them returns template.HTML built from data: everything
// a user or the server wrote goes through html/template's escaping.
var funcs = template.FuncMap{
	"static": func(name string) string { return "/static/" + name + "?v=" + staticVersion },
	"when":   when,
	"iso": func(ts *timestamppb.Timestamp) string {
		if ts == nil {
			return ""
		}
		return ts.AsTime().UTC().Format(time.RFC3339)
	},
	"enum":   enumLabel,
	"id":     lastSegment,
	"hexstr": func(b []byte) string { return hex.EncodeToString(b) },
	"short": func(b []byte) string {
		s := hex.EncodeToString(b)
		if len(s) > 12 {
			s = s[:12]
		}
		return s
	},
	"join": strings.Join,
	"lines": func(s string) []string {
		return strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	},
	"pct":   func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	"add":   func(a, b int) int { return a + b },
	"group": GroupName,
	"newid": uuid.NewString,
	// args builds a map for passing several values to a partial: (args "k1" v1 "k2" v2).
	"args": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("args: odd number of arguments")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("args: key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
}

// loadTemplates parses the embedded templates: every file under templates/pages is a page, rendered
// inside templates/layout.html with every partial under templates/partials available.
func loadTemplates() (*templates, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "assets/templates/layout.html", "assets/templates/partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: parsing templates: %w", err)
	}
	t := &templates{pages: map[string]*template.Template{}, partials: base}
	files, err := fs.Glob(assets, "assets/templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		clone, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := clone.ParseFS(assets, f); err != nil {
			return nil, fmt.Errorf("web: parsing %s: %w", f, err)
		}
		t.pages[strings.TrimSuffix(path.Base(f), ".html")] = clone
	}
	return t, nil
}

// view is what every page template gets as dot: the page's own data is in Data.
type view struct {
	Title string
	Me    *principal
	CSRF  string
	Nav   []navItem
	Flash *flash
	// Path is the request path, for aria-current in the header.
	Path string
	// ReceiptCmd is the command that checks the flash's receipt, when there is one.
	ReceiptCmd string
	Data       any
}

// ErrorFor returns the refusal to show beside form, or "".
func (v *view) ErrorFor(form string) string {
	if v.Flash == nil || v.Flash.Form != form {
		return ""
	}
	return v.Flash.Error
}

// Refusal returns the flash when it is a refusal of form, for the "refusal" partial; else nil.
func (v *view) Refusal(form string) *flash {
	if v.Flash == nil || v.Flash.Form != form || v.Flash.Error == "" {
		return nil
	}
	return v.Flash
}

// ReasonFor returns the refusal's reason for form, or "".
func (v *view) ReasonFor(form string) string {
	if v.Flash == nil || v.Flash.Form != form {
		return ""
	}
	return v.Flash.Reason
}

// Old returns the value a refused form sent for key, or def when the form was not refused.
func (v *view) Old(form, key, def string) string {
	if v.Flash == nil || v.Flash.Form != form || v.Flash.Values == nil {
		return def
	}
	if vals, ok := v.Flash.Values[key]; ok && len(vals) > 0 {
		return vals[0]
	}
	return ""
}

// OldAll returns every value a refused form sent for key, or def.
func (v *view) OldAll(form, key string, def []string) []string {
	if v.Flash == nil || v.Flash.Form != form || v.Flash.Values == nil {
		return def
	}
	return v.Flash.Values[key]
}

// Checked reports whether a refused form had value among key's values, or def when not refused.
func (v *view) Checked(form, key, value string, def bool) bool {
	if v.Flash == nil || v.Flash.Form != form || v.Flash.Values == nil {
		return def
	}
	for _, x := range v.Flash.Values[key] {
		if x == value {
			return true
		}
	}
	return false
}

// render renders page name for sess with data: the one way every signed-in page is drawn. It
// takes the session's flash, so a refusal or a receipt is shown exactly once.
func (s *Server) render(w http.ResponseWriter, r *http.Request, sess *session, code int, name, title string, data any) {
	s.renderWith(w, r, sess, code, name, title, func(*view) any { return data })
}

// renderWith is render for pages whose data depends on the flash (a refused form filled in again).
func (s *Server) renderWith(w http.ResponseWriter, r *http.Request, sess *session, code int, name, title string, build func(v *view) any) {
	v := &view{Title: title}
	if sess != nil {
		me := sess.who
		v.Me, v.CSRF, v.Nav = &me, sess.csrf, s.navFor(&me)
		v.Flash = s.sessions.takeFlash(sess)
		if v.Flash != nil && v.Flash.Receipt != nil {
			v.ReceiptCmd = s.receiptCommand(v.Flash.Receipt)
		}
	}
	v.Data = build(v)
	s.renderPage(w, r, code, name, v)
}

// renderPage executes a page template into a buffer first, so a template error becomes a clean 500
// instead of half a page.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, code int, name string, v *view) {
	v.Path = r.URL.Path
	t := s.tmpl.pages[name]
	if t == nil {
		s.log.Error("web: no such page template", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		s.log.Error("web: rendering a page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// renderError renders a page that says msg.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, sess *session, code int, msg string) {
	s.render(w, r, sess, code, "error", http.StatusText(code), msg)
}

// rpcFailed renders the page for a failed read: the sign-in page if the token no longer works,
// else the server's sentence.
func (s *Server) rpcFailed(w http.ResponseWriter, r *http.Request, sess *session, what string, err error) {
	if s.endIfUnauthenticated(w, r, err) {
		return
	}
	msg, _ := s.sentence(err, what)
	code := http.StatusBadGateway
	switch statusHTTP(err) {
	case http.StatusNotFound:
		code = http.StatusNotFound
	case http.StatusForbidden:
		code = http.StatusForbidden
	}
	s.renderError(w, r, sess, code, msg)
}

// static serves the embedded static files. Their URLs carry a content hash, so they may be cached.
func (s *Server) static() http.Handler {
	sub, _ := fs.Sub(assets, "assets")
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})
}

// when formats a timestamp for people, in UTC (the server cannot know the reader's zone without
// script, and a record is best read in one zone).
func when(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return "-"
	}
	return ts.AsTime().UTC().Format("2 Jan 2006 15:04 UTC")
}

// enumLabel turns an enum value into words: CONFLICT_LEVEL_POTENTIAL -> "Potential".
func enumLabel(e protoreflect.Enum) string {
	d := e.Descriptor().Values().ByNumber(e.Number())
	if d == nil || e.Number() == 0 {
		return "-"
	}
	name := string(d.Name())
	prefix := string(e.Descriptor().Values().ByNumber(0).Name())
	prefix = strings.TrimSuffix(prefix, "UNSPECIFIED")
	name = strings.TrimPrefix(name, prefix)
	return capitalise(strings.ToLower(strings.ReplaceAll(name, "_", " ")))
}

// lastSegment returns the id at the end of a resource name.
func lastSegment(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}
