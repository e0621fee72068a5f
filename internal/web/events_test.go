package web_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	name, data string
}

// readEvents parses an event stream into ch until it ends.
func readEvents(r io.Reader, ch chan<- sseEvent) {
	defer close(ch)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var ev sseEvent
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.name != "" || data != nil {
				ev.data = strings.Join(data, "\n")
				ch <- ev
			}
			ev, data = sseEvent{}, nil
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		}
	}
}

// waitEvent returns the first event named name whose data satisfies ok, failing after a bound.
func waitEvent(t *testing.T, ch <-chan sseEvent, name string, ok func(string) bool) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, open := <-ch:
			if !open {
				t.Fatalf("the event stream ended before a %s event came", name)
			}
			if ev.name == name && ok(ev.data) {
				return ev.data
			}
		case <-timeout:
			t.Fatalf("no matching %s event within 10 s", name)
		}
	}
}

// rowIn returns participant's roster row in an HTML fragment, or "".
func rowIn(html, participant string) string {
	i := strings.Index(html, `data-participant="`+participant+`"`)
	if i < 0 {
		return ""
	}
	row := html[i:]
	if j := strings.Index(row, "</tr>"); j >= 0 {
		row = row[:j]
	}
	return row
}

// TestEventsRelayRoster opens the chair's live roster and checks that another participant's
// declaration, and then the close, reach it as rendered partials.
func TestEventsRelayRoster(t *testing.T) {
	h := newHarness(t)
	w := h.world
	call := w.OpenVote(t, nil)
	chair := h.signIn(w.Chair.Token)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", h.http.URL+path(call.Name)+"/events", nil)
	resp, err := chair.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		t.Fatalf("events: status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp.Header.Get("Content-Security-Policy") != wantCSP {
		t.Errorf("the event stream lacks the CSP header")
	}
	events := make(chan sseEvent, 16)
	go readEvents(resp.Body, events)

	bob := w.Names["bob"]
	waitEvent(t, events, "roster", func(d string) bool { return strings.Contains(rowIn(d, bob), "Not yet") })

	w.Declare(t, w.Bob, call.Name, candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL, candorv1.Intent_INTENT_PARTICIPATE)
	got := waitEvent(t, events, "roster", func(d string) bool { return strings.Contains(rowIn(d, bob), "Declared") })
	if row := rowIn(got, bob); !strings.Contains(row, "Potential") {
		t.Errorf("bob's live row lacks his conflict level:\n%s", row)
	}
	if !strings.Contains(got, "1 of 4 declared") {
		t.Errorf("the live roster's summary was not updated")
	}

	if _, err := w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: call.Name}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, "state", func(d string) bool { return d == "closed" })
	result := waitEvent(t, events, "result", func(d string) bool { return strings.Contains(d, `<svg role="img"`) })
	if !strings.Contains(result, "Never declared") {
		t.Errorf("the live result lacks the undeclared list")
	}
	h.checkNoTokenLeaked()
}

// TestEventsRefused checks that a watcher who may not read the call gets an HTTP error, not a
// stream that EventSource would retry for ever.
func TestEventsRefused(t *testing.T) {
	h := newHarness(t)
	call := h.world.OpenVote(t, nil)
	tests := []struct {
		who  string
		b    *browser
		path string
		want int
	}{
		{"an outsider", h.signIn(h.world.Outsider.Token), path(call.Name) + "/events", http.StatusForbidden},
		{"the chair", h.signIn(h.world.Chair.Token), path(h.world.Body) + "/calls/00000000-0000-7000-8000-000000000000/events", http.StatusNotFound},
	}
	for _, tc := range tests {
		if p := tc.b.get(tc.path); p.status != tc.want {
			t.Errorf("GET %s as %s: %d, want %d", tc.path, tc.who, p.status, tc.want)
		}
	}
}

// TestEventsRelayPagedRoster checks the live roster of a call whose roster passes one WatchCall
// message: with a page budget of one byte, every state carries the call and one entry and a token,
// and the relay reads the other entries with GetCallRoster, so the browser sees every member, with
// each change, as the call page does.
func TestEventsRelayPagedRoster(t *testing.T) {
	h := newHarnessOn(t, testserver.Start(t, testserver.PageBytes(1)))
	w := h.world
	call := w.OpenVote(t, nil)
	chair := h.signIn(w.Chair.Token)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", h.http.URL+path(call.Name)+"/events", nil)
	resp, err := chair.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("events: status %d", resp.StatusCode)
	}
	events := make(chan sseEvent, 16)
	go readEvents(resp.Body, events)

	everyone := func(d string) bool {
		for _, p := range call.EligibleParticipants {
			if rowIn(d, p) == "" {
				return false
			}
		}
		return true
	}
	first := waitEvent(t, events, "roster", func(string) bool { return true })
	if !everyone(first) || !strings.Contains(first, "0 of 4 declared") {
		t.Fatalf("the first live roster does not show all 4 members:\n%s", first)
	}
	// The last member of the eligibility list is on the last page: a change to them shows.
	last := call.EligibleParticipants[len(call.EligibleParticipants)-1]
	var lastClient *testserver.Client
	for role, name := range w.Names {
		if name == last {
			lastClient = map[string]*testserver.Client{"chair": w.Chair, "alice": w.Alice, "bob": w.Bob, "carol": w.Carol}[role]
		}
	}
	w.Declare(t, lastClient, call.Name, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.Intent_INTENT_PARTICIPATE)
	got := waitEvent(t, events, "roster", func(d string) bool { return strings.Contains(rowIn(d, last), "Declared") })
	if !everyone(got) || !strings.Contains(got, "1 of 4 declared") {
		t.Errorf("the live roster after a declaration does not show all 4 members, 1 declared:\n%s", got)
	}

	// The call page reads every page too.
	if p := chair.get(path(call.Name)); p.status != http.StatusOK || !everyone(p.body) {
		t.Errorf("the call page (status %d) does not show all 4 members", p.status)
	}
}
