package daemon_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// scrape is one read of /metrics: the families its # TYPE lines declare, its samples by series
// (name{labels} as written), and the page itself.
type scrape struct {
	types   map[string]string  // family -> counter, gauge, histogram, ...
	samples map[string]float64 // `candor_refusals_total{reason="RECUSED"}` -> value
	text    string
}

func scrapeMetrics(t *testing.T, s *ts.Server) scrape {
	t.Helper()
	resp, err := http.Get("http://" + s.HTTPAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, b)
	}
	sc := scrape{types: map[string]string{}, samples: map[string]float64{}, text: string(b)}
	for _, line := range strings.Split(sc.text, "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			sc.types[f[2]] = f[3]
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("unparsable sample %q: %v", line, err)
		}
		sc.samples[line[:i]] = v
	}
	return sc
}

// has reports whether a PromQL metric name is exposed: a family, or a histogram's _bucket, _sum or
// _count series.
func (sc scrape) has(name string) bool {
	if _, ok := sc.types[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && sc.types[base] == "histogram" {
			return true
		}
	}
	return false
}

// metricWorld is a test server with the HTTP listener, a few writes and one refusal behind it.
func metricWorld(t *testing.T) (*ts.Server, *ts.World) {
	s := ts.Start(t, ts.HTTP())
	w := ts.NewWorld(t, s) // participants, a body, members and SOIs: a few dozen writes
	return s, w
}

// refuse has Alice vote without a declaration: DECLARATION_REQUIRED.
func refuse(t *testing.T, w *ts.World) {
	t.Helper()
	call := w.OpenVote(t, nil).Name
	_, err := ts.Vote(t, w.Alice, call, "yes")
	if got := status.Code(err); got != codes.FailedPrecondition {
		t.Fatalf("vote without a declaration: got %v (%v), want FailedPrecondition", got, err)
	}
}

var dashboardMetric = regexp.MustCompile(`\bcandor_[a-zA-Z0-9_]+`)

// TestDashboardQueriesExist fails when the Grafana dashboard queries a metric /metrics does not
// expose, after writes and a refusal, so a renamed instrument cannot leave a panel empty.
func TestDashboardQueriesExist(t *testing.T) {
	b, err := os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("docs/grafana-dashboard.json: %v", err)
	}
	queried := map[string][]string{} // metric -> panels querying it
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, name := range dashboardMetric.FindAllString(tg.Expr, -1) {
				if !slices.Contains(queried[name], p.Title) {
					queried[name] = append(queried[name], p.Title)
				}
			}
		}
	}
	if len(queried) < 10 {
		t.Fatalf("the dashboard queries %d candor_ metrics; the parser likely missed its expressions", len(queried))
	}

	s, w := metricWorld(t)
	refuse(t, w)
	sc := scrapeMetrics(t, s)
	for name, panels := range queried {
		if !sc.has(name) {
			t.Errorf("panels %q query %s, which /metrics does not expose", panels, name)
		}
	}
}

// TestRefusalCounted checks that a refusal increments the counter of its reason, over gRPC and
// over REST (which reaches the same server in-process), and no other reason's.
func TestRefusalCounted(t *testing.T) {
	s, w := metricWorld(t)
	const series = `candor_refusals_total{reason="DECLARATION_REQUIRED"}`
	before := scrapeMetrics(t, s)
	if _, ok := before.samples[series]; !ok {
		t.Fatalf("%s is not exposed before the first refusal; every reason should start at zero", series)
	}

	refuse(t, w)
	after := scrapeMetrics(t, s)
	if got, want := after.samples[series], before.samples[series]+1; got != want {
		t.Errorf("after one refusal over gRPC: %s = %v, want %v", series, got, want)
	}
	for k, v := range after.samples {
		if strings.HasPrefix(k, "candor_refusals_total{") && k != series && v != before.samples[k] {
			t.Errorf("%s changed from %v to %v; only DECLARATION_REQUIRED was refused", k, before.samples[k], v)
		}
	}

	// The same refusal over REST.
	call := w.OpenVote(t, nil).Name
	rest := restClient{t: t, base: "http://" + s.HTTPAddr, token: w.Alice.Token}
	var out map[string]any
	if code := rest.do("POST", "/v1/"+call+"/ballots", `{"option": "yes"}`, &out); code != http.StatusBadRequest {
		t.Fatalf("REST vote without a declaration: HTTP %d %v, want 400", code, out)
	}
	if got, want := scrapeMetrics(t, s).samples[series], after.samples[series]+1; got != want {
		t.Errorf("after one refusal over REST: %s = %v, want %v", series, got, want)
	}
}

// TestMetricsCarryNoToken checks that no token (the admin's, a participant's) appears on /metrics.
func TestMetricsCarryNoToken(t *testing.T) {
	s, w := metricWorld(t)
	refuse(t, w)
	// A request with a wrong token, so an authentication refusal is counted too.
	bad := ts.NewClient(s.Conn(), "not-a-token-"+w.Alice.Token)
	if _, err := bad.Participants.GetParticipant(bad.Ctx(t), &candorv1.GetParticipantRequest{Name: w.Names["alice"]}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("wrong token: got %v, want Unauthenticated", err)
	}
	sc := scrapeMetrics(t, s)
	if sc.samples[`candor_refusals_total{reason="UNAUTHENTICATED"}`] < 1 {
		t.Errorf("the wrong token's refusal was not counted:\n%s", sc.text)
	}
	for role, c := range map[string]*ts.Client{"admin": w.Admin, "alice": w.Alice, "chair": w.Chair, "auditor": w.Auditor} {
		if c.Token == "" {
			t.Fatalf("%s has no token", role)
		}
		if strings.Contains(sc.text, c.Token) {
			t.Errorf("/metrics contains %s's token", role)
		}
	}
}

// TestShedWritesCounted checks that every write shed for want of a slot is counted, both as shed
// and as an OVERLOADED refusal: with one slot, bursts of concurrent writes until some are shed.
func TestShedWritesCounted(t *testing.T) {
	s := ts.Start(t, ts.HTTP(), ts.MaxWritesInFlight(1))
	admin := ts.NewClient(s.Conn(), s.AdminToken)
	var shed atomic.Int64
	for round := 0; round < 50 && shed.Load() == 0; round++ {
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				_, err := admin.Participants.CreateParticipant(admin.Ctx(t), &candorv1.CreateParticipantRequest{
					DisplayName: "x", Email: "x@example.org",
				})
				switch status.Code(err) {
				case codes.OK:
				case codes.ResourceExhausted:
					shed.Add(1)
				default:
					t.Errorf("CreateParticipant: %v", err)
				}
			})
		}
		wg.Wait()
	}
	if shed.Load() == 0 {
		t.Skip("no write was shed in 50 bursts of 32 with one slot; nothing to count")
	}
	sc := scrapeMetrics(t, s)
	for _, series := range []string{"candor_writes_shed_total", `candor_refusals_total{reason="OVERLOADED"}`} {
		if got := sc.samples[series]; got != float64(shed.Load()) {
			t.Errorf("%s = %v, want %d (the writes refused with ResourceExhausted)", series, got, shed.Load())
		}
	}
	if got := sc.samples["candor_writes_in_flight_limit"]; got != 1 {
		t.Errorf("candor_writes_in_flight_limit = %v, want 1", got)
	}
}
