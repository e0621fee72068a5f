package daemon_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/candorhq/candor/internal/daemon"
	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// restClient speaks the REST API as one caller.
type restClient struct {
	t     *testing.T
	base  string
	token string
}

// do sends a JSON request and decodes the JSON answer; it returns the HTTP status.
func (c restClient) do(method, path, body string, out any) int {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

// must is do, failing unless the answer is 200.
func (c restClient) must(method, path, body string) map[string]any {
	c.t.Helper()
	var out map[string]any
	if code := c.do(method, path, body, &out); code != http.StatusOK {
		c.t.Fatalf("%s %s: HTTP %d %v", method, path, code, out)
	}
	return out
}

// restError is google.rpc.Status as the gateway writes it.
type restError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []struct {
		Type            string `json:"@type"`
		Reason          string `json:"reason"`
		FieldViolations []struct {
			Field string `json:"field"`
		} `json:"fieldViolations"`
	} `json:"details"`
}

func (e restError) reason() string {
	for _, d := range e.Details {
		if d.Reason != "" {
			return d.Reason
		}
	}
	return ""
}

func (e restError) fields() []string {
	var fs []string
	for _, d := range e.Details {
		for _, v := range d.FieldViolations {
			fs = append(fs, v.Field)
		}
	}
	return fs
}

func str(m map[string]any, path ...string) string {
	var v any = m
	for _, k := range path {
		v = v.(map[string]any)[k]
	}
	s, _ := v.(string)
	return s
}

// TestRESTMeeting runs a meeting over HTTP/JSON only: the paths of issue 8, the bearer token passing
// through, and the same refusals with the same reasons as over gRPC.
func TestRESTMeeting(t *testing.T) {
	srv := ts.Start(t, ts.HTTP())
	base := "http://" + srv.HTTPAddr
	admin := restClient{t, base, srv.AdminToken}

	person := func(name string) (string, restClient) {
		out := admin.must("POST", "/v1/participants", fmt.Sprintf(`{"displayName": %q}`, name))
		return str(out, "participant", "name"), restClient{t, base, str(out, "token")}
	}
	chairName, chair := person("Chidi")
	aliceName, alice := person("Alice")
	body := str(admin.must("POST", "/v1/bodies", `{"title": "ALAC"}`), "body", "name")
	admin.must("POST", "/v1/"+body+"/members", fmt.Sprintf(`{"participant": %q, "role": "ROLE_CHAIR", "stakeholderGroup": "At-Large"}`, chairName))
	admin.must("POST", "/v1/"+body+"/members", fmt.Sprintf(`{"participant": %q, "role": "ROLE_MEMBER", "stakeholderGroup": "At-Large"}`, aliceName))
	for _, c := range []restClient{chair, alice} {
		c.must("PUT", "/v1/me/statementOfInterest", `{"employer": "Example Org", "represents": "self"}`)
	}
	soi := alice.must("GET", "/v1/me/statementOfInterest", "")
	if got := str(soi, "statementOfInterest", "name"); got != aliceName+"/statementsOfInterest/1" {
		t.Errorf("GET /v1/me/statementOfInterest named %q", got)
	}

	call := str(chair.must("POST", "/v1/"+body+"/calls", `{"title": "Cap registry fees", "conflictPolicy": "CONFLICT_POLICY_RECUSE"}`), "call", "name")

	// A ballot without a declaration is refused with the reason gRPC gives.
	var refused restError
	if code := alice.do("POST", "/v1/"+call+"/ballots", `{"option": "yes"}`, &refused); code != http.StatusBadRequest || refused.reason() != "DECLARATION_REQUIRED" {
		t.Fatalf("ballot before declaring: HTTP %d %+v, want 400 DECLARATION_REQUIRED", code, refused)
	}
	hash := str(soi, "statementOfInterest", "contentHash")
	alice.must("POST", "/v1/"+call+"/declarations", fmt.Sprintf(`{"unchangedSoiHash": %q, "conflictLevel": "CONFLICT_LEVEL_NONE"}`, hash))
	ballot := alice.must("POST", "/v1/"+call+"/ballots", `{"option": "yes"}`)
	if str(ballot, "ballot", "participant") != aliceName || str(ballot, "receipt", "checkpoint") == "" {
		t.Errorf("ballot answer %v: want alice's ballot with a receipt", ballot)
	}

	roster := chair.must("GET", "/v1/"+call+"/roster", "")
	if n := len(roster["entries"].([]any)); n != 2 {
		t.Errorf("roster has %d entries, want 2", n)
	}
	closed := chair.must("POST", "/v1/"+call+":close", `{}`)
	if got := str(closed, "call", "result", "outcome"); got != "OUTCOME_DECIDED" {
		t.Errorf("closed call outcome %q, want OUTCOME_DECIDED", got)
	}
	if got := str(alice.must("GET", "/v1/"+call, ""), "call", "state"); got != "CALL_STATE_CLOSED" {
		t.Errorf("GET call state %q", got)
	}
	if cp := str(alice.must("GET", "/v1/checkpoint", ""), "checkpoint"); cp == "" {
		t.Error("GET /v1/checkpoint: no checkpoint")
	}
	if n := len(admin.must("GET", "/v1/"+call+"/record", "")["entries"].([]any)); n < 4 {
		t.Errorf("call record has %d entries, want open, declaration, ballot, close", n)
	}
}

func TestRESTErrors(t *testing.T) {
	srv := ts.Start(t, ts.HTTP())
	base := "http://" + srv.HTTPAddr
	admin := restClient{t, base, srv.AdminToken}
	for _, tc := range []struct {
		name       string
		c          restClient
		method     string
		path, body string
		httpCode   int
		reason     string
		field      string
	}{
		{"no token", restClient{t, base, ""}, "GET", "/v1/bodies", "", 401, "UNAUTHENTICATED", ""},
		{"wrong token", restClient{t, base, "cnd_nope"}, "GET", "/v1/bodies", "", 401, "UNAUTHENTICATED", ""},
		{"invalid field", admin, "POST", "/v1/participants", `{"displayName": ""}`, 400, "INVALID_ARGUMENT", "display_name"},
		{"unknown JSON field", admin, "POST", "/v1/participants", `{"displayNam": "x"}`, 400, "MALFORMED_REQUEST", ""},
		{"not JSON", admin, "POST", "/v1/bodies", `{title`, 400, "MALFORMED_REQUEST", ""},
		{"bad resource name", admin, "GET", "/v1/bodies/not-a-uuid", "", 400, "INVALID_ARGUMENT", "name"},
		{"no such body", admin, "GET", "/v1/bodies/0194a1b2-0000-7000-8000-000000000000", "", 404, "BODY_NOT_FOUND", ""},
		{"no such path", admin, "GET", "/v1/nothing/here", "", 404, "NO_SUCH_METHOD", ""},
		{"too large", admin, "POST", "/v1/bodies", `{"title": "` + strings.Repeat("x", 5<<20) + `"}`, 400, "REQUEST_TOO_LARGE", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e restError
			code := tc.c.do(tc.method, tc.path, tc.body, &e)
			if code != tc.httpCode || e.reason() != tc.reason {
				t.Fatalf("HTTP %d reason %q (%s), want %d %s", code, e.reason(), e.Message, tc.httpCode, tc.reason)
			}
			if tc.field != "" && !strings.Contains(strings.Join(e.fields(), ","), tc.field) {
				t.Errorf("field violations %v, want %s", e.fields(), tc.field)
			}
		})
	}
	var bodies map[string]any
	if admin.do("GET", "/v1/bodies", "", &bodies); len(bodies["bodies"].([]any)) != 0 {
		t.Errorf("refused requests stored something: %v", bodies)
	}
}

// TestOpenAPIListsEveryOperation fails when an RPC has no HTTP binding.
func TestOpenAPIListsEveryOperation(t *testing.T) {
	srv := ts.Start(t, ts.HTTP())
	resp, err := http.Get("http://" + srv.HTTPAddr + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	ops := map[string]bool{}
	for _, methods := range doc.Paths {
		for _, op := range methods {
			ops[op.OperationID] = true
		}
	}
	for _, fd := range []protoreflect.FileDescriptor{
		candorv1.File_candor_v1_participant_service_proto, candorv1.File_candor_v1_body_service_proto,
		candorv1.File_candor_v1_call_service_proto, candorv1.File_candor_v1_audit_service_proto,
	} {
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				id := fmt.Sprintf("%s_%s", sd.Name(), sd.Methods().Get(j).Name())
				if !ops[id] {
					t.Errorf("/openapi.json has no operation %s", id)
				}
			}
		}
	}
}

func TestHealthzAndReadyz(t *testing.T) {
	srv := ts.Start(t, ts.HTTP())
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + srv.HTTPAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
	}
}

func TestRefusesOpenHTTPListenerWithoutTLS(t *testing.T) {
	_, err := daemon.New(daemon.Config{DataDir: filepath.Join(t.TempDir(), "data"), Listen: "127.0.0.1:0", HTTPListen: "0.0.0.0:0", Logger: quiet()})
	if err == nil || !strings.Contains(err.Error(), "without TLS") {
		t.Errorf("HTTP on 0.0.0.0 without TLS: got %v, want a refusal", err)
	}
}

func TestHTTPSUnderTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCA(t)
	writeCert(t, dir, "server", ca, caKey, []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	d, err := daemon.New(daemon.Config{
		DataDir: filepath.Join(dir, "data"), Listen: "127.0.0.1:0", HTTPListen: "127.0.0.1:0", Logger: quiet(),
		TLSCert: filepath.Join(dir, "server.pem"), TLSKey: filepath.Join(dir, "server-key.pem"),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx) }()
	defer func() { cancel(); <-done }()

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}
	resp, err := client.Get("https://" + d.HTTPAddr() + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS: %v", err)
	}
	resp.Body.Close()
	if resp, err := http.Get("http://" + d.HTTPAddr() + "/healthz"); err == nil && resp.StatusCode == http.StatusOK {
		t.Error("plain HTTP answered on a TLS listener")
	}
}
