// Package browsertest plays Candor's web app in a real browser, as people use it: Debian's headless
// chromium driven from Go by chromedp, one browser with a separate browser context (cookies,
// storage, cache) per person, so an admin, a chair and participants are signed in side by side.
//
// A [Browser] is started once per test with [New]. [Browser.Person] opens a person's own browser
// context; a [Person] navigates, fills fields found by their visible labels, presses buttons found
// by their text, and waits for the page by polling the DOM against a deadline. [Person.Snapshot]
// saves a full-page screenshot at phone (390 px) and projector (1920 px) width under the test's
// artifact folder (go test -artifacts -outputdir DIR keeps them) and runs axe-core on the page at
// both widths: a serious or critical violation fails the test, moderate and minor ones are logged,
// and so is a page that scrolls sideways. To keep the screenshots:
//
//	mkdir -p /tmp/shots && go test -count=1 -run TestMeetingInBrowser -v -artifacts -outputdir /tmp/shots ./internal/browsertest/
//
// (the folder is printed in the log as "screenshots in ..."; without -artifacts it is removed at
// the end of the test).
//
// The tests here need /usr/bin/chromium (apt-get install chromium) and axe-core's axe.min.js (make
// test-tools, or CANDOR_AXE_JS). Without them they fail and say how to install them; they skip
// only when CANDOR_SKIP_BROWSER_TESTS=1, which CI never sets.
//
// What it must never do: sleep as an assertion (every wait polls a condition with a deadline),
// wait without a bound, weaken the page's Content-Security-Policy for anything but axe's own
// injection (which runs as a DevTools evaluation, not a page script), or be imported by
// production code.
package browsertest
