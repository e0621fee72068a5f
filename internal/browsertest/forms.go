package browsertest

import (
	"fmt"
	"strings"

	"github.com/chromedp/chromedp"
)

// Scope finds controls the way a person does, by the text they read: fields by their visible
// label, buttons and links by their text, inside the first element matching a CSS selector (or
// the whole page). A label or text must match exactly one control, compared with whitespace
// collapsed; when none matches exactly, a unique prefix match is accepted ("Token for Ana" finds
// "Token for Ana (participants/...)").
type Scope struct {
	p   *Person
	css string
}

// In returns the controls inside the first element matching css: use it where a label repeats on
// the page (the call page has two "Description" fields).
func (p *Person) In(css string) Scope { return Scope{p: p, css: css} }

// Fill types value into the field labelled label (see [Scope.Fill]).
func (p *Person) Fill(label, value string) { p.b.t.Helper(); Scope{p: p}.Fill(label, value) }

// Choose ticks the radio button or checkbox labelled label (see [Scope.Choose]).
func (p *Person) Choose(label string) { p.b.t.Helper(); Scope{p: p}.Choose(label) }

// Select picks option in the list labelled label (see [Scope.Select]).
func (p *Person) Select(label, option string) { p.b.t.Helper(); Scope{p: p}.Select(label, option) }

// Press presses the button reading text and waits for the page it leads to (see [Scope.Press]).
func (p *Person) Press(text string) { p.b.t.Helper(); Scope{p: p}.Press(text) }

// Follow follows the link reading text (see [Scope.Follow]).
func (p *Person) Follow(text string) { p.b.t.Helper(); Scope{p: p}.Follow(text) }

// find is a JavaScript expression giving the one element among the candidates (a CSS selector
// inside the scope) whose text (by textOf, a JS function of the element) matches want, or null.
func (s Scope) find(candidates, textOf, want string) string {
	return fmt.Sprintf(`(() => {
  const norm = s => (s || '').replace(/\s+/g, ' ').trim();
  const root = %[1]s ? document.querySelector(%[1]s) : document;
  if (!root) return null;
  const want = norm(%[2]s), textOf = %[3]s;
  const all = [...root.querySelectorAll(%[4]s)];
  let hits = all.filter(e => norm(textOf(e)) === want);
  if (hits.length === 0) hits = all.filter(e => norm(textOf(e)).startsWith(want));
  return hits.length === 1 ? hits[0] : null;
})()`, jsString(s.css), jsString(want), textOf, jsString(candidates))
}

// labelled is the expression for the control of the label reading label.
func (s Scope) labelled(label string) string {
	return "(" + s.find("label", "e => e.textContent", label) + "||{}).control || null"
}

// locate waits until expr gives an element and fails the test, listing what there is, if it never
// does.
func (s Scope) locate(kind, want, expr, candidates, textOf string) chromedp.JSPath {
	s.p.b.t.Helper()
	if _, err := s.p.waitUntil(expr, ActionTimeout); err != nil {
		list := Eval[[]string](s.p, fmt.Sprintf(`(() => {
  const root = %[1]s ? document.querySelector(%[1]s) : document;
  if (!root) return ['(nothing matches %[1]s)'];
  const textOf = %[2]s;
  return [...root.querySelectorAll(%[3]s)].map(e => (textOf(e) || '').replace(/\s+/g, ' ').trim());
})()`, jsString(s.css), textOf, jsString(candidates)))
		in := ""
		if s.css != "" {
			in = " in " + s.css
		}
		s.p.fatalf("no single %s %q%s; there are: %q", kind, want, in, list)
	}
	return chromedp.JSPath(expr)
}

// Fill clears the field labelled label and types value into it, key by key.
func (s Scope) Fill(label, value string) {
	s.p.b.t.Helper()
	expr := s.labelled(label)
	sel := s.locate("field labelled", label, expr, "label", "e => e.textContent")
	Eval[bool](s.p, "(("+expr+").value = '', true)")
	s.p.do(fmt.Sprintf("fill %q", label), chromedp.SendKeys(sel, value))
}

// Choose clicks the label of the radio button or checkbox labelled label, unless the control is
// already checked, and checks that the click checked it.
func (s Scope) Choose(label string) {
	s.p.b.t.Helper()
	expr := s.labelled(label)
	s.locate("choice labelled", label, expr, "label", "e => e.textContent")
	if Eval[bool](s.p, "("+expr+").checked") {
		return
	}
	// Click the label, as a person does: it is the larger target, and styled choices may draw
	// over the native control.
	s.p.do(fmt.Sprintf("choose %q", label), chromedp.Click(chromedp.JSPath(s.find("label", "e => e.textContent", label))))
	if !Eval[bool](s.p, "("+expr+").checked") {
		s.p.fatalf("%q is not checked after a click on it", label)
	}
}

// Select picks, in the list labelled label, the option whose text is option (or begins with it).
func (s Scope) Select(label, option string) {
	s.p.b.t.Helper()
	expr := s.labelled(label)
	s.locate("list labelled", label, expr, "label", "e => e.textContent")
	value := Eval[*string](s.p, fmt.Sprintf(`(() => {
  const norm = s => (s || '').replace(/\s+/g, ' ').trim();
  const opts = [...(%s).options], want = %s;
  const o = opts.find(o => norm(o.text) === want) || opts.find(o => norm(o.text).startsWith(want));
  return o ? o.value : null;
})()`, expr, jsString(option)))
	if value == nil {
		s.p.fatalf("the list %q has no option %q", label, option)
	}
	s.p.do(fmt.Sprintf("select %q in %q", option, label), chromedp.SetValue(chromedp.JSPath(expr), *value))
}

// buttons are the elements Press looks among.
const buttons = `button, input[type=submit], input[type=button]`

// Press clicks the button whose text (its accessible text, visually hidden parts included) is
// text, and waits for the page the form leads to. It fails the test unless that page came with
// HTTP 200 (after the form's redirect).
func (s Scope) Press(text string) {
	s.p.b.t.Helper()
	textOf := "e => e.value && e.tagName === 'INPUT' ? e.value : e.textContent"
	sel := s.locate("button", text, s.find(buttons, textOf, text), buttons, textOf)
	s.navigate(fmt.Sprintf("press %q", text), sel)
}

// Follow clicks the link whose text is text and waits for the page.
func (s Scope) Follow(text string) {
	s.p.b.t.Helper()
	sel := s.locate("link", text, s.find("a[href]", "e => e.textContent", text), "a[href]", "e => e.textContent")
	s.navigate(fmt.Sprintf("follow %q", text), sel)
}

func (s Scope) navigate(what string, sel chromedp.JSPath) {
	s.p.b.t.Helper()
	ctx, cancel := s.p.step()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(sel))
	if err != nil {
		s.p.fatalf("%s: %v", what, err)
	}
	if resp.Status != 200 {
		s.p.fatalf("%s: HTTP %d from %s", what, resp.Status, strings.TrimPrefix(resp.URL, s.p.base))
	}
}
