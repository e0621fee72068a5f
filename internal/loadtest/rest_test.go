package loadtest

import (
	"context"
	"strings"
	"testing"
	"time"

	ts "github.com/candorhq/candor/internal/testserver"
)

// TestRESTPhaseAgainstServer runs all three phases against an in-process server with its HTTP
// listener: the REST phase's declarations and ballots must all succeed, over few connections.
func TestRESTPhaseAgainstServer(t *testing.T) {
	srv := ts.Start(t, ts.HTTP())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := Run(ctx, Config{
		Addr: srv.Addr, HTTPAddr: "http://" + srv.HTTPAddr + "/", AdminToken: srv.AdminToken,
		Participants: 6, Concurrency: 8, Calls: 2,
		Duration: 300 * time.Millisecond, Warmup: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !r.REST || r.RESTDeclarations.Count == 0 || r.RESTBallots.Count == 0 {
		t.Fatalf("REST phase: ran %v, declarations %d, ballots %d; want both > 0", r.REST, r.RESTDeclarations.Count, r.RESTBallots.Count)
	}
	if r.Declarations.Count == 0 {
		t.Errorf("the gRPC write phase did not run beside the REST one")
	}
	if r.Errors() != 0 {
		t.Errorf("errors: ceiling %v, write %v, rest %v", r.CeilingErrors, r.WriteErrors, r.RESTErrors)
	}
	if r.RESTCommits == 0 {
		t.Errorf("no checkpoint read from the REST receipts")
	}
	if r.RESTRatio() <= 0 {
		t.Errorf("rest/grpc ratio = %v", r.RESTRatio())
	}
	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rest write rps:", "ratio rest/grpc writes:", "rest write p50:", "rest write p99:", "target ratio rest/grpc writes >= 0.60:"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	t.Logf("report:\n%s", b.String())
}

// TestRESTRefusalsNamed checks that a refused REST write is counted under the same name as the
// gRPC refusal: a ballot without a declaration is FailedPrecondition DECLARATION_REQUIRED.
func TestRESTRefusalsNamed(t *testing.T) {
	srv := ts.Start(t, ts.HTTP())
	w := ts.NewWorld(t, srv)
	call := w.OpenVote(t, nil).Name
	rc, err := newRESTClient(srv.HTTPAddr, nil, 2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.close()
	_, err = rc.post(context.Background(), "/v1/"+call+"/ballots", w.Alice.Token, ballotBody)
	if got, want := errorKey(err), "FailedPrecondition DECLARATION_REQUIRED"; got != want {
		t.Errorf("undeclared ballot over REST: %q (%v), want %q", got, err, want)
	}
	_, err = rc.post(context.Background(), "/v1/"+call+"/ballots", "not-a-token", ballotBody)
	if got := errorKey(err); !strings.HasPrefix(got, "Unauthenticated") {
		t.Errorf("bad token over REST: %q, want Unauthenticated", got)
	}
}

func TestStatusKey(t *testing.T) {
	for _, tt := range []struct {
		status int
		body   string
		want   string
	}{
		{429, `{"code":8,"message":"busy","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"OVERLOADED"}]}`, "ResourceExhausted OVERLOADED"},
		{400, `{"code":9,"message":"x","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest"},{"reason":"DECLARATION_REQUIRED"}]}`, "FailedPrecondition DECLARATION_REQUIRED"},
		{503, `{"code":14}`, "Unavailable"},
		{502, `<html>bad gateway</html>`, "HTTP 502"},
		{404, `{}`, "HTTP 404"},
	} {
		if got := statusKey(tt.status, []byte(tt.body)); got != tt.want {
			t.Errorf("statusKey(%d, %s) = %q, want %q", tt.status, tt.body, got, tt.want)
		}
	}
}

func TestReportWithREST(t *testing.T) {
	r := sampleReport()
	r.REST = true
	r.RESTDeclarations.Count, r.RESTBallots.Count = 18_000, 18_000
	r.RESTCommits = 360
	for range 100 {
		r.RESTDeclarations.Latency.Record(20 * time.Millisecond)
		r.RESTBallots.Latency.Record(30 * time.Millisecond)
	}
	r.RESTErrors = map[string]int64{"HTTP transport reset": 2}
	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"rest write rps:                             3600\n",
		"ratio rest/grpc writes:                     0.60\n",
		"rest writes per commit:                     100.00\n",
		"rest write p50:                             20.05 ms\n",
		"rest ballot p99:                            30.00 ms\n",
		"errors:                                     6\n",
		"errors rest HTTP transport reset:           2\n",
		"target ratio rest/grpc writes >= 0.60:      met (0.60)\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}
