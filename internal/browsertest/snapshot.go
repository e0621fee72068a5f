package browsertest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/chromedp/chromedp"
)

// AxeTags are the axe-core rule tags every page is checked against.
var AxeTags = []string{"wcag2a", "wcag2aa", "best-practice"}

// snapshotWidths are the widths every page is photographed and checked at: a phone and the room's
// projector.
var snapshotWidths = []Viewport{Phone, Projector}

// Finding is one axe-core rule that a page breaks.
type Finding struct {
	Page    string   // the snapshot's name, e.g. "07-call-chair-live"
	Path    string   // the page's path
	Rule    string   // axe's rule id, e.g. "color-contrast"
	Impact  string   // axe's "minor", "moderate", "serious" or "critical"; "layout" for an overflow
	Help    string   // axe's one-line description
	HelpURL string   // axe's page on the rule
	Targets []string // CSS selectors of the offending elements
	Widths  []int64  // the widths it was found at
}

// Fails reports whether the finding fails the test: an axe violation that is serious or critical,
// or a page that scrolls sideways (Impact "layout"): on a phone that hides half of every line.
func (f Finding) Fails() bool {
	return f.Impact == "serious" || f.Impact == "critical" || f.Impact == "layout"
}

func (f Finding) String() string {
	return fmt.Sprintf("%s %s [%s] %s: %s (at %v px) on %s: %s", f.Page, f.Path, f.Impact, f.Rule, f.Help,
		f.Widths, strings.Join(f.Targets, ", "), f.HelpURL)
}

// axeViolation is what the page hands back from axe.run, trimmed to what a report needs.
type axeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target  string `json:"target"`
		HTML    string `json:"html"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

// Snapshot records the page p is on as it is now: a full-page PNG at 390 px (a phone) and at
// 1920 px (a projector), saved as NN-label-390.png and NN-label-1920.png under the test's artifact
// folder, and axe-core's findings at both widths (NN-label-axe.json). A serious or critical
// violation fails the test (after the rest of the page's checks, so one run lists them all);
// moderate and minor ones are logged. Script exceptions and CSP refusals seen since the last
// snapshot fail it too. The window is back at p's own size afterwards; the page is not reloaded.
func (p *Person) Snapshot(label string) []Finding {
	p.b.t.Helper()
	name := fmt.Sprintf("%02d-%s", p.b.nextShot(), label)
	path := Eval[string](p, `location.pathname + location.search`)
	var found, layout []Finding
	raw := map[int64][]axeViolation{}
	for _, vp := range snapshotWidths {
		p.do("resize to "+fmt.Sprint(vp.Width), p.viewport(vp))
		p.settle()
		ctx, cancel := p.step()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			p.fatalf("screenshot %s at %d px: %v", name, vp.Width, err)
		}
		p.b.save(fmt.Sprintf("%s-%d.png", name, vp.Width), png)
		if wide := p.overflow(vp.Width); len(wide) > 0 {
			f := Finding{Page: name, Path: path, Rule: "horizontal-overflow", Impact: "layout",
				Help: "the page is wider than the window and scrolls sideways", Targets: wide, Widths: []int64{vp.Width}}
			layout = append(layout, f)
		}
		vs := p.axe(name)
		raw[vp.Width] = vs
		for _, v := range vs {
			f := Finding{Page: name, Path: path, Rule: v.ID, Impact: v.Impact, Help: v.Help, HelpURL: v.HelpURL}
			for _, n := range v.Nodes {
				f.Targets = append(f.Targets, n.Target)
			}
			i := slices.IndexFunc(found, func(g Finding) bool { return g.Rule == f.Rule && slices.Equal(g.Targets, f.Targets) })
			if i < 0 {
				found = append(found, f)
				i = len(found) - 1
			}
			found[i].Widths = append(found[i].Widths, vp.Width)
		}
	}
	p.do("restore the window size", p.viewport(p.home))
	if data, err := json.MarshalIndent(map[string]any{"page": path, "axe": AxeVersion, "tags": AxeTags, "violations": raw}, "", "  "); err == nil {
		p.b.save(name+"-axe.json", data)
	}
	found = append(found, layout...)
	p.b.mu.Lock()
	p.b.findings = append(p.b.findings, found...)
	p.b.mu.Unlock()
	for _, f := range found {
		kind := "axe"
		if f.Impact == "layout" {
			kind = "layout"
		}
		if f.Fails() {
			p.b.t.Errorf("%s: %s", kind, f)
		} else {
			p.b.t.Logf("%s (not failing): %s", kind, f)
		}
	}
	p.reportProblems("up to snapshot " + name)
	return found
}

// settle waits until the page has laid out and painted at its new size, and its fonts are in.
func (p *Person) settle() {
	p.b.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`document.fonts.ready.then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true)))))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		p.fatalf("wait for the page to settle: %v", err)
	}
}

// axe runs axe-core on the page and returns its violations. axe.min.js goes in as a DevTools
// evaluation, once per document: the page's Content-Security-Policy (no inline script) stays on.
func (p *Person) axe(name string) []axeViolation {
	p.b.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === 'object' && axe.version === `+jsString(AxeVersion)))
	if err == nil && !loaded {
		_, err = chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](p.b.axeJS+"\n;undefined"))
	}
	if err != nil {
		p.fatalf("inject axe-core into %s: %v", name, err)
	}
	tags, _ := json.Marshal(AxeTags)
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {
  runOnly: {type: 'tag', values: `+string(tags)+`},
  resultTypes: ['violations'],
}).then(r => JSON.stringify(r.violations.map(v => ({
  id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
  nodes: v.nodes.map(n => ({
    target: n.target.map(t => Array.isArray(t) ? t.join(' >>> ') : t).join(' '),
    html: n.html, summary: n.failureSummary,
  })),
}))))`, chromedp.EvalAwaitPromise))
	if err != nil {
		p.fatalf("run axe-core on %s: %v", name, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		p.fatalf("axe-core's answer on %s: %v", name, err)
	}
	return vs
}

// overflow lists the outermost elements that stick out past the right edge of a window width px
// wide and make the page scroll sideways; elements a scrolling box clips (a wide table in its
// scroll region) are fine and left out. Empty when the page fits.
func (p *Person) overflow(width int64) []string {
	return Eval[[]string](p, fmt.Sprintf(`(() => {
  const w = %d;
  if (document.documentElement.scrollWidth <= w) return [];
  // Whether a box up e's containing-block chain clips it: an absolutely positioned element
  // escapes a scrolling box that is not positioned (a visually hidden label in a wide table, say).
  const clipped = e => {
    let pos = getComputedStyle(e).position;
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
      const cs = getComputedStyle(a);
      if (pos === 'fixed' || (pos === 'absolute' && cs.position === 'static')) continue;
      if (cs.overflowX !== 'visible') return true;
      pos = cs.position;
    }
    return false;
  };
  const wide = [...document.body.querySelectorAll('*')].filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.right > w + 1 && !clipped(e);
  });
  const outer = wide.filter(e => !wide.includes(e.parentElement));
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
    (e.classList.length ? '.' + [...e.classList].join('.') : '');
  return outer.map(e => name(e) + ' (' + Math.round(e.getBoundingClientRect().right) + ' px: "' +
    e.textContent.replace(/\s+/g, ' ').trim().slice(0, 60) + '")');
})()`, width))
}
