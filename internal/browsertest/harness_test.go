package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// harnessCSP is the web app's policy: no inline script.
const harnessCSP = "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'"

// harnessSite is a tiny site under the app's CSP: a sign-in-like form that posts and redirects, a
// page with a known accessibility defect and an inline script the CSP must refuse, and a cookie.
func harnessSite(t *testing.T) *httptest.Server {
	page := func(body string) string {
		return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
			`<title>Harness</title></head><body><main><h1>Harness</h1>` + body + `</main></body></html>`
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Cookie("who")
		who := "nobody"
		if c != nil {
			who = c.Value
		}
		fmt.Fprint(w, page(`<p id="who">`+who+`</p><form method="post" action="/form">
<label for="name">Your name</label> <input id="name" name="name" required>
<fieldset><legend>Colour</legend><input type="radio" id="c-red" name="colour" value="red"><label for="c-red">Red</label>
<input type="radio" id="c-blue" name="colour" value="blue"><label for="c-blue">Blue</label></fieldset>
<button type="submit">Save <span class="sr">my name</span></button></form>`))
	})
	mux.HandleFunc("POST /form", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "who", Value: r.PostFormValue("name") + "-" + r.PostFormValue("colour"), Path: "/"})
		http.Redirect(w, r, "/form", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /bad", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, page(`<input id="unlabelled"><script>document.title = "inline ran"</script>`))
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", harnessCSP)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestHarness checks the harness against a known site: separate cookies per person, forms found
// by label and text, screenshots at both widths, and that axe and the CSP watch do report a
// defect (a harness that cannot see a defect would pass every page).
func TestHarness(t *testing.T) {
	srv := harnessSite(t)
	b := New(t)
	ann := b.Person("ann", srv.URL, Phone)
	bob := b.Person("bob", srv.URL, Desktop)

	ann.Open("/form")
	ann.Fill("Your name", "ann")
	ann.Choose("Blue")
	ann.Press("Save my name")
	if got := ann.Text("#who"); got != "ann-blue" {
		t.Errorf("after saving, ann's page says %q, want ann-blue", got)
	}
	bob.Open("/form")
	if got := bob.Text("#who"); got != "nobody" {
		t.Errorf("bob's page says %q, want nobody: the two people share cookies", got)
	}
	if got := Eval[float64](ann, `innerWidth`); got != float64(Phone.Width) {
		t.Errorf("ann's window is %v px wide, want %d", got, Phone.Width)
	}

	if found := ann.Snapshot("form"); len(found) != 0 {
		t.Errorf("the harness's good page has axe findings: %v", found)
	}
	for _, w := range []string{"390", "1920"} {
		name := filepath.Join(b.dir, "01-form-"+w+".png")
		data, err := os.ReadFile(name)
		if err != nil || !strings.HasPrefix(string(data), "\x89PNG") {
			t.Errorf("screenshot %s: %v (%d bytes)", name, err, len(data))
		}
	}
	if got := Eval[float64](ann, `innerWidth`); got != float64(Phone.Width) {
		t.Errorf("after a snapshot ann's window is %v px wide, want %d again", got, Phone.Width)
	}

	bob.Open("/bad")
	vs := bob.axe("bad")
	if !slices.ContainsFunc(vs, func(v axeViolation) bool { return v.ID == "label" && v.Impact == "critical" }) {
		t.Errorf("axe did not report the unlabelled input as critical: %+v", vs)
	}
	if title := Eval[string](bob, `document.title`); title == "inline ran" {
		t.Errorf("the inline script ran despite the CSP")
	}
	// The CSP refusal reaches the listener asynchronously.
	deadline := time.Now().Add(5 * time.Second)
	for {
		bob.mu.Lock()
		problems := slices.Clone(bob.problems)
		bob.problems = nil // reported here, not as a failure at the end
		bob.mu.Unlock()
		if slices.ContainsFunc(problems, func(s string) bool { return strings.HasPrefix(s, "CSP: ") }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the refused inline script was not reported; problems: %q", problems)
		}
		time.Sleep(pollInterval)
	}
}
