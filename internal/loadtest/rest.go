package loadtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
)

// restClient speaks candord's REST/JSON gateway: the same declarations and ballots as the write
// phase, as POSTs over keep-alive HTTP/1.1 connections.
type restClient struct {
	base   string // "http://host:port", no trailing slash
	client *http.Client
}

// newRESTClient returns a client for the HTTP listener at addr ("host:port" or a URL) that keeps up
// to conns idle connections, so that each of the phase's clients reuses its own connection.
func newRESTClient(addr string, tlsConfig *tls.Config, conns int, timeout time.Duration) (*restClient, error) {
	base := strings.TrimRight(addr, "/")
	if !strings.Contains(base, "://") {
		scheme := "http"
		if tlsConfig != nil {
			scheme = "https"
		}
		base = scheme + "://" + base
	}
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, fmt.Errorf("loadtest: HTTP address %q is not http:// or https://", addr)
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsConfig,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true, // loopback: gzip would only spend CPU on both sides
	}
	return &restClient{base: base, client: &http.Client{Transport: tr, Timeout: timeout}}, nil
}

func (c *restClient) close() { c.client.CloseIdleConnections() }

// restDeclaration is the JSON body of FileDeclaration: the caller restates their SOI unchanged.
type restDeclaration struct {
	UnchangedSoiHash string `json:"unchangedSoiHash"`
	ConflictLevel    string `json:"conflictLevel"`
	Intent           string `json:"intent"`
}

// declarationBody is the JSON body of a voter's declaration, made once per voter.
func declarationBody(soiHash []byte) []byte {
	b, _ := json.Marshal(restDeclaration{
		UnchangedSoiHash: base64.StdEncoding.EncodeToString(soiHash),
		ConflictLevel:    "CONFLICT_LEVEL_NONE",
		Intent:           "INTENT_PARTICIPATE",
	})
	return b
}

// ballotBody is the JSON body of every ballot of the phase.
var ballotBody = []byte(`{"option":"yes"}`)

// post sends body to path as token and returns the signed checkpoint of the write's receipt. A
// refusal becomes a [restError] named like a gRPC one ("ResourceExhausted OVERLOADED") from the
// google.rpc.Status the gateway sends.
func (c *restClient) post(ctx context.Context, path, token string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, &restError{key: "HTTP transport " + transportClass(err)}
	}
	defer resp.Body.Close()
	// Reading the body to its end lets the connection be reused.
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, &restError{key: "HTTP transport " + transportClass(err)}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &restError{key: statusKey(resp.StatusCode, data)}
	}
	var ok struct {
		Receipt struct {
			Checkpoint []byte `json:"checkpoint"`
		} `json:"receipt"`
	}
	if err := json.Unmarshal(data, &ok); err != nil {
		return nil, &restError{key: "HTTP 200 undecodable"}
	}
	return ok.Receipt.Checkpoint, nil
}

// restError is a failed REST write, named for the report.
type restError struct{ key string }

func (e *restError) Error() string { return "loadtest: REST: " + e.key }

// statusKey names a refusal by the gRPC code and ErrorInfo reason of its google.rpc.Status JSON, as
// [errorKey] names a gRPC refusal, or by its HTTP status when the body is not one.
func statusKey(httpStatus int, body []byte) string {
	var st struct {
		Code    *int `json:"code"`
		Details []struct {
			Reason string `json:"reason"`
		} `json:"details"`
	}
	if err := json.Unmarshal(body, &st); err != nil || st.Code == nil {
		return fmt.Sprintf("HTTP %d", httpStatus)
	}
	key := codes.Code(*st.Code).String()
	for _, d := range st.Details {
		if d.Reason != "" {
			return key + " " + d.Reason
		}
	}
	return key
}

// transportClass names a transport failure briefly: "timeout", "refused", "reset" or "error".
func transportClass(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case strings.Contains(err.Error(), "connection refused"):
		return "refused"
	case strings.Contains(err.Error(), "connection reset"), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "reset"
	}
	return "error"
}
