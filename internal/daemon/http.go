package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/candorhq/candor/internal/domain"
	"github.com/candorhq/candor/internal/export"
	"github.com/candorhq/candor/internal/rpc"
	"github.com/candorhq/candor/internal/web"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// maxRESTBody bounds a REST request body. The largest request the API takes (a minority statement
// of 20,000 characters, or a call with its lists) is far below it.
const maxRESTBody = 4 << 20

// inprocess is the gRPC server the HTTP side talks to: the same rpc.Server, interceptors and write
// slots as the network listener, served on grpc-go's in-memory listener (bufconn), so REST and web
// requests are authenticated, shed, validated and mapped exactly as gRPC ones, without a second
// network listener and without TLS to itself.
type inprocess struct {
	server *grpc.Server
	lis    *bufconn.Listener
	conn   *grpc.ClientConn
}

func newInprocess(rpcServer *rpc.Server) (*inprocess, error) {
	p := &inprocess{server: grpc.NewServer(rpcServer.ServerOptions()...), lis: bufconn.Listen(1 << 20)}
	rpcServer.Register(p.server)
	conn, err := grpc.NewClient("passthrough:///candor-inprocess",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return p.lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUserAgent("candord-http"),
		// Text that is not UTF-8 (from a path, a query or a form) is refused naming its field, as
		// the server refuses it from a gRPC client, instead of failing to marshal as Internal.
		grpc.WithChainUnaryInterceptor(rpc.RefuseInvalidUTF8),
		grpc.WithChainStreamInterceptor(rpc.RefuseInvalidUTF8Stream),
	)
	if err != nil {
		return nil, err
	}
	p.conn = conn
	return p, nil
}

// listenHTTP opens the HTTP listener (the web app at /, REST under /v1/, /openapi.json, /healthz,
// /readyz and /metrics) under the same rules as the gRPC one: plaintext only on loopback unless
// --insecure.
func (d *Daemon) listenHTTP(rpcServer *rpc.Server, tlsConf *tls.Config) error {
	if d.cfg.HTTPListen == "" && d.cfg.HTTPListener == nil {
		return nil
	}
	lis := d.cfg.HTTPListener
	if lis == nil {
		host, _, err := net.SplitHostPort(d.cfg.HTTPListen)
		if err != nil {
			return fmt.Errorf("--http-listen %q: %w", d.cfg.HTTPListen, err)
		}
		if tlsConf == nil && !d.cfg.Insecure && !isLoopback(host) {
			return fmt.Errorf("refusing to serve HTTP on %s without TLS: give --tls-cert and --tls-key, or --insecure", d.cfg.HTTPListen)
		}
		if lis, err = net.Listen("tcp", d.cfg.HTTPListen); err != nil {
			return err
		}
	}
	if tlsConf != nil {
		lis = tls.NewListener(lis, tlsConf)
	}
	inproc, err := newInprocess(rpcServer)
	if err != nil {
		lis.Close()
		return err
	}
	gateway, err := newGateway(inproc.conn)
	if err != nil {
		lis.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", http.MaxBytesHandler(exportFiles(inproc.conn, gateway), maxRESTBody))
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(candorv1.OpenAPI)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", d.readyz)
	mux.Handle("GET /metrics", d.metricsHandler())
	app, err := web.New(web.Config{
		Conn: inproc.conn, Secure: tlsConf != nil, Logger: d.log,
		GRPCAddr: d.Addr(), LogPubPath: d.logPubPath(),
	})
	if err != nil {
		lis.Close()
		return fmt.Errorf("web app: %w", err)
	}
	mux.Handle("/", app)
	d.inproc = inproc
	d.httpLis = lis
	d.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: live rosters are long-lived streams. They end when the daemon stops
		// (see Serve), or when the client goes away.
		ErrorLog: slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
	return nil
}

// readyz answers 200 while the daemon serves (the store is open and its log was checked against
// the newest checkpoint when it opened), 503 before and while shutting down.
func (d *Daemon) readyz(w http.ResponseWriter, r *http.Request) {
	if !d.ready.Load() {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintf(w, "ok: log size %d\n", d.store.Latest().Size)
}

// HTTPAddr is the address the HTTP listener listens on, or "" when it is off.
func (d *Daemon) HTTPAddr() string {
	if d.httpLis == nil {
		return ""
	}
	return d.httpLis.Addr().String()
}

// newGateway returns grpc-gateway's REST handlers for the four services, calling them over conn.
func newGateway(conn *grpc.ClientConn) (*runtime.ServeMux, error) {
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			// Every field appears in answers, so REST clients see a stable shape; a misspelt field in
			// a request is an error rather than silently dropped (a lost requestId would make a
			// retry write twice).
			MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}),
		runtime.WithErrorHandler(gatewayError),
		runtime.WithIncomingHeaderMatcher(gatewayHeader),
	)
	ctx := context.Background()
	for _, register := range []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
		candorv1.RegisterParticipantServiceHandler, candorv1.RegisterBodyServiceHandler,
		candorv1.RegisterCallServiceHandler, candorv1.RegisterAuditServiceHandler,
	} {
		if err := register(ctx, mux, conn); err != nil {
			return nil, err
		}
	}
	return mux, nil
}

// gatewayHeader passes a REST caller's W3C trace context on to the RPC, so its trace continues
// into candord's spans as a gRPC caller's does; other headers as the gateway's default does.
func gatewayHeader(key string) (string, bool) {
	switch k := strings.ToLower(key); k {
	case "traceparent", "tracestate":
		return k, true
	}
	return runtime.DefaultHeaderMatcher(key)
}

// gatewayError writes a google.rpc.Status as the gateway does, after giving an ErrorInfo reason to
// the errors the gateway raises itself before any RPC (an unparsable body, an unknown path), so every
// HTTP error carries a reason as every gRPC one does.
func gatewayError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	st, ok := status.FromError(err)
	if ok && !hasErrorInfo(st) {
		reason := gatewayReasons[st.Code()]
		if reason == candorv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
			reason = candorv1.ErrorReason_ERROR_REASON_UNKNOWN
		}
		// The gateway keeps only the text of the body reader's error (*http.MaxBytesError).
		if strings.Contains(st.Message(), "request body too large") {
			reason = candorv1.ErrorReason_ERROR_REASON_REQUEST_TOO_LARGE
		}
		if withInfo, e := st.WithDetails(&errdetails.ErrorInfo{Reason: domain.Reason(reason), Domain: rpc.ErrorDomain}); e == nil {
			err = withInfo.Err()
		}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

func hasErrorInfo(st *status.Status) bool {
	for _, d := range st.Details() {
		if _, ok := d.(*errdetails.ErrorInfo); ok {
			return true
		}
	}
	return false
}

// gatewayReasons gives the errors the gateway raises itself a reason: an unparsable body is
// MALFORMED_REQUEST, an unknown path or verb NO_SUCH_METHOD, and any other is named after its code.
var gatewayReasons = map[codes.Code]candorv1.ErrorReason{
	codes.Canceled:           candorv1.ErrorReason_ERROR_REASON_CANCELLED,
	codes.Unknown:            candorv1.ErrorReason_ERROR_REASON_UNKNOWN,
	codes.InvalidArgument:    candorv1.ErrorReason_ERROR_REASON_MALFORMED_REQUEST,
	codes.DeadlineExceeded:   candorv1.ErrorReason_ERROR_REASON_DEADLINE_EXCEEDED,
	codes.NotFound:           candorv1.ErrorReason_ERROR_REASON_NO_SUCH_METHOD,
	codes.AlreadyExists:      candorv1.ErrorReason_ERROR_REASON_ALREADY_EXISTS,
	codes.PermissionDenied:   candorv1.ErrorReason_ERROR_REASON_PERMISSION_DENIED,
	codes.ResourceExhausted:  candorv1.ErrorReason_ERROR_REASON_RESOURCE_EXHAUSTED,
	codes.FailedPrecondition: candorv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION,
	codes.Aborted:            candorv1.ErrorReason_ERROR_REASON_ABORTED,
	codes.OutOfRange:         candorv1.ErrorReason_ERROR_REASON_OUT_OF_RANGE,
	codes.Unimplemented:      candorv1.ErrorReason_ERROR_REASON_NO_SUCH_METHOD,
	codes.Internal:           candorv1.ErrorReason_ERROR_REASON_INTERNAL,
	codes.Unavailable:        candorv1.ErrorReason_ERROR_REASON_UNAVAILABLE,
	codes.DataLoss:           candorv1.ErrorReason_ERROR_REASON_DATA_LOSS,
	codes.Unauthenticated:    candorv1.ErrorReason_ERROR_REASON_UNAUTHENTICATED,
}

// exportFiles serves a body's export as a file to download, for GET /v1/bodies/{body}:export with
// ?format=jsonl (JSON Lines, byte for byte as `candor export` writes them) or ?format=csv (a zip of
// the CSV files, as `candor export --format csv --out FILE.zip` writes it), start_time and end_time
// as the gateway reads them. Every other request, and that path without format, goes to gw, whose
// ExportBody binding answers one {"result": record} object a line.
//
// It is a client of ExportBody over conn, authenticated as the gateway's requests are, so the
// export answers exactly as over gRPC. A refusal comes before the first record and is answered as
// the gateway answers errors; a zip is assembled before any of it is sent, so a failure while
// reading is answered the same way; JSON Lines stream as they come, and a failure after the first
// line aborts the response, so a client sees a broken transfer rather than a short file.
func exportFiles(conn *grpc.ClientConn, gw *runtime.ServeMux) http.Handler {
	audit := candorv1.NewAuditServiceClient(conn)
	const method = candorv1.AuditService_ExportBody_FullMethodName
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, isExport := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/v1/"), ":export")
		if r.Method != http.MethodGet || !isExport || !strings.HasPrefix(name, "bodies/") || !r.URL.Query().Has("format") {
			gw.ServeHTTP(w, r)
			return
		}
		_, out := runtime.MarshalerForRequest(gw, r)
		fail := func(ctx context.Context, err error) { gatewayError(ctx, gw, out, w, r, err) }
		ctx, err := runtime.AnnotateContext(r.Context(), gw, r, method, runtime.WithHTTPPathPattern("/v1/{body=bodies/*}:export"))
		if err != nil {
			fail(r.Context(), err)
			return
		}
		format, err := export.ParseFormat(r.URL.Query().Get("format"))
		if err != nil {
			fail(ctx, badQuery("format", "must be jsonl or csv"))
			return
		}
		req := &candorv1.ExportBodyRequest{}
		if err := runtime.PopulateQueryParameters(req, r.URL.Query(), &utilities.DoubleArray{}); err != nil {
			fail(ctx, status.Error(codes.InvalidArgument, err.Error()))
			return
		}
		req.Body = name
		stream, err := audit.ExportBody(ctx, req)
		if err != nil {
			fail(ctx, err)
			return
		}
		header, err := stream.Recv() // refusals come with the first message
		if err != nil {
			fail(ctx, err)
			return
		}
		file := "candor-export-" + path.Base(name)
		if format == export.CSV {
			tmp, err := export.ZipTemp(header, stream.Recv)
			if _, isStatus := status.FromError(err); err != nil && !isStatus {
				err = status.Error(codes.Internal, "the zip could not be assembled on the server") // a local file's error: not the client's business
			}
			if err != nil {
				fail(ctx, err)
				return
			}
			defer tmp.Close()
			setDownload(w, "application/zip", file+".zip")
			io.Copy(w, tmp)
			return
		}
		sent := &sentWriter{w: w, start: func() { setDownload(w, "application/jsonl; charset=utf-8", file+".jsonl") }}
		jw := export.NewJSONL(sent)
		for rec := header; ; {
			if err := jw.Write(rec); err != nil {
				return // the client went away
			}
			if rec, err = stream.Recv(); errors.Is(err, io.EOF) {
				break
			} else if err != nil && !sent.started {
				fail(ctx, err) // nothing sent yet: a proper error
				return
			} else if err != nil {
				panic(http.ErrAbortHandler) // part of the file is sent: break the transfer, quietly
			}
		}
		jw.Close()
	})
}

// setDownload sets the headers of a file to download.
func setDownload(w http.ResponseWriter, contentType, name string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
}

// sentWriter is a download written as it comes: it calls start (to set the headers) before its
// first byte goes out, and notes that the answer has started.
type sentWriter struct {
	w       io.Writer
	start   func()
	started bool
}

func (s *sentWriter) Write(p []byte) (int, error) {
	if !s.started {
		s.started = true
		s.start()
	}
	return s.w.Write(p)
}

// badQuery is InvalidArgument for a query parameter, with the reason and the field violation the
// gRPC server gives a bad field.
func badQuery(field, description string) error {
	st := status.New(codes.InvalidArgument, field+": "+description)
	reason := domain.Reason(candorv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT)
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: rpc.ErrorDomain},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: description}}}); err == nil {
		st = d
	}
	return st.Err()
}
