package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

const (
	// SkipEnv, set to 1, makes [New] skip the test instead of failing when chromium or axe-core
	// is missing. CI never sets it.
	SkipEnv = "CANDOR_SKIP_BROWSER_TESTS"
	// AxeEnv names axe-core's axe.min.js when it is not at the repository's bin/npm.
	AxeEnv = "CANDOR_AXE_JS"
	// AxeVersion is the axe-core release the Makefile installs (make test-tools); [New] refuses
	// another, so findings do not change with whatever happens to be installed.
	AxeVersion = "4.14.1"
	// defaultAxePath is where `make test-tools` puts axe.min.js, relative to this package's
	// folder (go test runs a package's tests in its folder).
	defaultAxePath = "../../bin/npm/node_modules/axe-core/axe.min.js"

	// ActionTimeout bounds every single step: a navigation, a form submission, a query, a
	// screenshot, an axe run. Generous, because CI machines and -race are slow; a healthy step
	// takes milliseconds.
	ActionTimeout = 30 * time.Second
	// startTimeout bounds starting the browser and opening a person's browser context.
	startTimeout = 60 * time.Second
)

const installHelp = "install it with `apt-get install chromium` (Debian's package; .ci/run does this), " +
	"or set " + SkipEnv + "=1 to skip the browser tests on this machine"

// Browser is one headless chromium for one test. Each [Person] gets their own browser context in
// it. It stops when the test ends.
type Browser struct {
	t      testing.TB
	ctx    context.Context // the browser's first chromedp context: never used for a page
	axeJS  string
	dir    string
	stderr *tailBuffer

	mu sync.Mutex
	// shots numbers the snapshots in the order they were taken; guarded by mu.
	shots int
	// findings are every axe finding so far, for the summary at the end; guarded by mu.
	findings []Finding
}

// New finds chromium and axe-core, starts the browser and stops it when the test ends. Without
// either it fails the test with a sentence saying how to install it, unless CANDOR_SKIP_BROWSER_TESTS=1
// asks for a skip.
func New(t testing.TB) *Browser {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv(SkipEnv) == "1" {
			t.Skipf("%s (skipped: %s=1)", msg, SkipEnv)
		}
		t.Fatal(msg)
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		missing("the browser tests need Debian's chromium, which is not on PATH: %s", installHelp)
	}
	axePath := os.Getenv(AxeEnv)
	if axePath == "" {
		axePath = defaultAxePath
	}
	axeJS, err := os.ReadFile(axePath)
	if err != nil {
		missing("the browser tests need axe-core %s's axe.min.js, not found at %s (%v): run `make test-tools` "+
			"(npm install --no-save --prefix bin/npm axe-core@%s) or point %s at it, or set %s=1 to skip",
			AxeVersion, axePath, err, AxeVersion, AxeEnv, SkipEnv)
	}
	if !bytes.Contains(axeJS[:min(len(axeJS), 200)], []byte("axe v"+AxeVersion+"\n")) {
		t.Fatalf("%s is not axe-core %s: remove bin/npm and run `make test-tools` again", axePath, AxeVersion)
	}

	b := &Browser{t: t, axeJS: string(axeJS), dir: t.ArtifactDir(), stderr: &tailBuffer{max: 8 << 10}}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		// CI runs as root, where chromium's sandbox cannot start. The pages are our own.
		chromedp.NoSandbox,
		chromedp.WindowSize(int(Desktop.Width), int(Desktop.Height)),
		chromedp.Flag("lang", "en-GB"),
		chromedp.Flag("font-render-hinting", "none"),
		chromedp.CombinedOutput(b.stderr),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b.ctx = ctx
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		if t.Failed() {
			// Without a D-Bus (containers, CI) chromium complains on every start: leave that out.
			var keep []string
			for _, line := range strings.Split(b.stderr.String(), "\n") {
				if line != "" && !strings.Contains(line, "dbus/") && !strings.Contains(line, "unexpected operator") {
					keep = append(keep, line)
				}
			}
			if len(keep) > 0 {
				t.Logf("chromium's output (the end of it, D-Bus complaints left out):\n%s", strings.Join(keep, "\n"))
			}
		}
	})
	if err := startBounded(ctx, cancel, startTimeout); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	vctx, vcancel := context.WithTimeout(ctx, ActionTimeout)
	defer vcancel()
	if v, err := chromedp.CallBrowser(vctx, browser.GetVersion, cdp.Empty{}); err == nil {
		t.Logf("browser: %s (%s); axe-core %s; screenshots in %s", v.Product, chromium, AxeVersion, b.dir)
	}
	t.Cleanup(b.summary)
	return b
}

// startBounded runs ctx's first action, which starts its browser or tab. That first Run binds the
// browser's (or tab's) life to ctx, so it cannot carry a timeout of its own: a timer cancels ctx
// instead if starting takes longer than d.
func startBounded(ctx context.Context, cancel context.CancelFunc, d time.Duration) error {
	timer := time.AfterFunc(d, cancel)
	err := chromedp.Do(ctx)
	if !timer.Stop() {
		return fmt.Errorf("did not start within %v: %w", d, errors.Join(err, context.DeadlineExceeded))
	}
	return err
}

// nextShot returns the next snapshot's number, from 1.
func (b *Browser) nextShot() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.shots++
	return b.shots
}

// summary logs every axe finding of the test, one line each, so a run's log is its report.
func (b *Browser) summary() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.findings) == 0 {
		if b.shots > 0 {
			b.t.Logf("axe-core %s: no violations on %d snapshots", AxeVersion, b.shots)
		}
		return
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "findings (axe-core %s, sideways scrolling) on %d snapshots:", AxeVersion, b.shots)
	for _, f := range b.findings {
		fmt.Fprintf(&sb, "\n  %s", f)
	}
	b.t.Log(sb.String())
}

// save writes an artifact file.
func (b *Browser) save(name string, data []byte) {
	if err := os.WriteFile(filepath.Join(b.dir, name), data, 0o644); err != nil {
		b.t.Errorf("save %s: %v", name, err)
	}
}

// tailBuffer keeps the last max bytes written to it (chromium's output). Safe for concurrent use.
type tailBuffer struct {
	max int
	mu  sync.Mutex
	buf []byte // guarded by mu
}

func (w *tailBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if over := len(w.buf) - w.max; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	return len(p), nil
}

func (w *tailBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}
