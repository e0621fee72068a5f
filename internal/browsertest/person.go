package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Viewport is a window size; Mobile emulates a phone (the page's meta viewport applies).
type Viewport struct {
	Width, Height int64
	Mobile        bool
}

// The widths the issue asks every page to work at, and an ordinary laptop.
var (
	Phone     = Viewport{Width: 390, Height: 844, Mobile: true}
	Desktop   = Viewport{Width: 1280, Height: 800}
	Projector = Viewport{Width: 1920, Height: 1080}
)

// pollInterval is how often a wait re-checks the page.
const pollInterval = 20 * time.Millisecond

// Person is one person at their own browser: a separate browser context (cookies, storage) in
// the test's browser, with one tab. A Person is used from one goroutine at a time.
type Person struct {
	Name string

	b    *Browser
	base string
	ctx  context.Context
	home Viewport

	mu sync.Mutex
	// problems are script exceptions and Content-Security-Policy refusals seen in this person's
	// tab and not yet reported; guarded by mu.
	problems []string
}

// Person opens a new browser context for name, on the app at baseURL (http://host:port), seen
// through a window of size vp. It closes when the test ends.
func (b *Browser) Person(name, baseURL string, vp Viewport) *Person {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	p := &Person{Name: name, b: b, base: strings.TrimRight(baseURL, "/"), ctx: ctx, home: vp}
	b.t.Cleanup(func() {
		cancel()
		p.reportProblems("at the end")
	})
	if err := startBounded(ctx, cancel, startTimeout); err != nil {
		b.t.Fatalf("%s: open a browser context: %v", name, err)
	}
	if err := chromedp.Listen(ctx, p.listen); err != nil {
		b.t.Fatalf("%s: listen to the tab: %v", name, err)
	}
	p.do("set the window size", p.viewport(vp))
	return p
}

// listen runs in the tab's event loop: it only records.
func (p *Person) listen(ev any) {
	var problem string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		problem = "uncaught exception: " + d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			problem += " " + d.Exception.Description
		}
		if d.URL != "" {
			problem += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber+1)
		}
	case *log.EventEntryAdded:
		e := ev.Entry
		if strings.Contains(e.Text, "Content Security Policy") || strings.Contains(e.Text, "Content-Security-Policy") {
			problem = "CSP: " + e.Text
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range ev.Args {
				if a.Description != "" {
					parts = append(parts, a.Description)
				} else {
					parts = append(parts, strings.Trim(string(a.Value), `"`))
				}
			}
			problem = "console.error: " + strings.Join(parts, " ")
		}
	}
	if problem != "" {
		p.mu.Lock()
		p.problems = append(p.problems, problem)
		p.mu.Unlock()
	}
}

// reportProblems fails the test with the script exceptions and CSP refusals seen since the last
// report: a page whose script breaks, or that the browser's CSP blocks, is broken.
func (p *Person) reportProblems(where string) {
	p.mu.Lock()
	problems := p.problems
	p.problems = nil
	p.mu.Unlock()
	if len(problems) > 0 {
		p.b.t.Errorf("%s: the browser reported %d problem(s) %s:\n  %s", p.Name, len(problems), where,
			strings.Join(problems, "\n  "))
	}
}

// step returns a context bounded by ActionTimeout for one step.
func (p *Person) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(p.ctx, ActionTimeout)
}

// do runs actions as one bounded step and fails the test if they fail.
func (p *Person) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.b.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fatalf("%s: %v", what, err)
	}
}

// fatalf stops the test with msg and where the person is.
func (p *Person) fatalf(format string, args ...any) {
	p.b.t.Helper()
	p.b.t.Fatalf("%s on %s: %s", p.Name, p.where(), fmt.Sprintf(format, args...))
}

// where describes the page for an error message: its path and heading.
func (p *Person) where() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`location.pathname + location.search + location.hash + ' ("' + ((document.querySelector('h1')||{}).textContent||'').trim() + '")'`))
	if err != nil {
		return "an unknown page"
	}
	return s
}

func (p *Person) viewport(vp Viewport) chromedp.Action[chromedp.Void] {
	var opts []chromedp.EmulateViewportOption
	if vp.Mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
	}
	return chromedp.EmulateViewport(vp.Width, vp.Height, opts...)
}

// Eval evaluates a JavaScript expression in p's page, as a DevTools evaluation (not a page script:
// the page's CSP does not apply), and decodes its value into T.
func Eval[T any](p *Person, expr string) T {
	p.b.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// URL is the page's address.
func (p *Person) URL() string { return Eval[string](p, `location.href`) }

// Path is the page's path (no query or fragment).
func (p *Person) Path() string { return Eval[string](p, `location.pathname`) }

// Open loads path (or a full URL) and fails the test unless the server answered 200.
func (p *Person) Open(path string) {
	p.b.t.Helper()
	url := path
	if strings.HasPrefix(path, "/") {
		url = p.base + path
	}
	ctx, cancel := p.step()
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		p.fatalf("open %s: %v", url, err)
	}
	if resp.Status != 200 {
		p.fatalf("open %s: HTTP %d", url, resp.Status)
	}
}

// WaitUntil polls the JavaScript predicate in p's page until it is true, for at most timeout, and
// returns how long that took. It fails the test, saying what it waited for, if the time runs out.
// The predicate may be evaluated across a navigation: errors while the page changes count as
// "not yet".
func (p *Person) WaitUntil(what, predicate string, timeout time.Duration) time.Duration {
	p.b.t.Helper()
	d, err := p.waitUntil(predicate, timeout)
	if err != nil {
		p.fatalf("waited %v for %s: %v", timeout, what, err)
	}
	return d
}

func (p *Person) waitUntil(predicate string, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	expr := "!!(" + predicate + ")"
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var lastErr error
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return time.Since(start), nil
		}
		if err != nil && ctx.Err() == nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return time.Since(start), fmt.Errorf("still false (last error: %v)", lastErr)
			}
			return time.Since(start), fmt.Errorf("still false")
		case <-tick.C:
		}
	}
}

// Text returns the normalised text of the first element matching css, waiting for it to appear.
func (p *Person) Text(css string) string {
	p.b.t.Helper()
	q := jsString(css)
	p.WaitUntil("an element "+css, `document.querySelector(`+q+`)`, ActionTimeout)
	return Eval[string](p, `(document.querySelector(`+q+`)||{textContent:''}).textContent.replace(/\s+/g,' ').trim()`)
}

// Has reports whether an element matches css now, without waiting.
func (p *Person) Has(css string) bool {
	return Eval[bool](p, `!!document.querySelector(`+jsString(css)+`)`)
}

// Attr returns attribute name of the first element matching css, waiting for it to appear.
func (p *Person) Attr(css, name string) string {
	p.b.t.Helper()
	q := jsString(css)
	p.WaitUntil("an element "+css, `document.querySelector(`+q+`)`, ActionTimeout)
	return Eval[string](p, `document.querySelector(`+q+`).getAttribute(`+jsString(name)+`) || ''`)
}

// SignIn signs p in with token on the sign-in page, as a person does: open /signin, paste the
// token into the field labelled "API token", press "Sign in".
func (p *Person) SignIn(token string) {
	p.b.t.Helper()
	p.Open("/signin")
	p.Fill("API token", token)
	p.Press("Sign in")
	if strings.HasPrefix(p.Path(), "/signin") {
		p.fatalf("still on the sign-in page after signing in: %q", p.Text("main"))
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
