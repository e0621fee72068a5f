package rpc_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/candorhq/candor/internal/rpc"
	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// wire is a request already in wire form, sent as it is by rawCodec.
type wire []byte

// rawCodec sends wire messages untouched, as a client in another language (or a hostile one) may:
// grpc-go's own codec would refuse to marshal invalid UTF-8 before it left the client.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.(wire))}, nil
}

func (rawCodec) Unmarshal(d mem.BufferSlice, v any) error {
	return proto.Unmarshal(d.Materialize(), v.(proto.Message))
}

// withBadUTF8 marshals m and turns every "BAD!" in it into invalid UTF-8 of the same length.
func withBadUTF8(t *testing.T, m proto.Message) wire {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("BAD!")) {
		t.Fatal("no BAD! placeholder in the request")
	}
	return bytes.ReplaceAll(b, []byte("BAD!"), []byte("B\xffD!"))
}

// violatedFields returns the fields named by st's BadRequest detail.
func violatedFields(st *status.Status) []string {
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.FieldViolations {
				fields = append(fields, v.Field)
			}
		}
	}
	return fields
}

// TestInvalidUTF8IsInvalidArgumentNamingTheField sends requests whose strings are not UTF-8 and
// checks each is refused with InvalidArgument naming the field (grpc-go alone answers Internal,
// naming nothing), and that nothing is written.
func TestInvalidUTF8IsInvalidArgumentNamingTheField(t *testing.T) {
	w := ts.NewWorld(t, ts.Start(t, ts.Bufconn()))
	conn := w.Server.Conn()
	call := w.OpenVote(t, nil).Name
	tests := []struct {
		name   string
		method string
		client *ts.Client
		req    proto.Message
		reply  proto.Message
		field  string
	}{
		{"body title", candorv1.BodyService_CreateBody_FullMethodName, w.Admin,
			&candorv1.CreateBodyRequest{Title: "BAD!"}, &candorv1.CreateBodyResponse{}, "title"},
		{"display name", candorv1.ParticipantService_CreateParticipant_FullMethodName, w.Admin,
			&candorv1.CreateParticipantRequest{DisplayName: "BAD!"}, &candorv1.CreateParticipantResponse{}, "display_name"},
		{"nested call title", candorv1.CallService_OpenCall_FullMethodName, w.Chair,
			&candorv1.OpenCallRequest{Body: w.Body, Call: &candorv1.Call{Title: "BAD!"}}, &candorv1.OpenCallResponse{}, "call.title"},
		{"repeated option", candorv1.CallService_OpenCall_FullMethodName, w.Chair,
			&candorv1.OpenCallRequest{Body: w.Body, Call: &candorv1.Call{Title: "t", Options: []string{"yes", "BAD!"}}}, &candorv1.OpenCallResponse{}, "call.options[1]"},
		{"interest in an SOI", candorv1.ParticipantService_UpdateStatementOfInterest_FullMethodName, w.Alice,
			&candorv1.UpdateStatementOfInterestRequest{StatementOfInterest: &candorv1.StatementOfInterest{Interests: []*candorv1.Interest{
				{Organization: "fine"}, {Organization: "ok", Nature: "BAD!"},
			}}}, &candorv1.UpdateStatementOfInterestResponse{}, "statement_of_interest.interests[1].nature"},
		{"oneof restatement", candorv1.CallService_FileDeclaration_FullMethodName, w.Alice,
			&candorv1.FileDeclarationRequest{Call: call, ConflictLevel: none,
				Restatement: &candorv1.FileDeclarationRequest_UpdatedSoi{UpdatedSoi: &candorv1.StatementOfInterest{Employer: "BAD!"}}},
			&candorv1.FileDeclarationResponse{}, "updated_soi.employer"},
		{"resource name of a read", candorv1.CallService_GetCall_FullMethodName, w.Alice,
			&candorv1.GetCallRequest{Name: call + "BAD!"}, &candorv1.GetCallResponse{}, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := logSize(t, w)
			err := conn.Invoke(tt.client.Ctx(t), tt.method, withBadUTF8(t, tt.req), tt.reply, grpc.ForceCodecV2(rawCodec{}))
			wantStatus(t, err, codes.InvalidArgument, "INVALID_ARGUMENT")
			st, _ := status.FromError(err)
			if got := violatedFields(st); len(got) != 1 || got[0] != tt.field {
				t.Errorf("field violations %v, want [%s]", got, tt.field)
			}
			if after := logSize(t, w); after != before {
				t.Errorf("log grew from %d to %d on refused input", before, after)
			}
		})
	}

	t.Run("stream", func(t *testing.T) {
		ctx, cancel := context.WithCancel(w.Alice.Ctx(t))
		defer cancel()
		s, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, candorv1.CallService_WatchCall_FullMethodName, grpc.ForceCodecV2(rawCodec{}))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SendMsg(withBadUTF8(t, &candorv1.WatchCallRequest{Name: call + "BAD!"})); err != nil {
			t.Fatal(err)
		}
		s.CloseSend()
		err = s.RecvMsg(&candorv1.WatchCallResponse{})
		wantStatus(t, err, codes.InvalidArgument, "INVALID_ARGUMENT")
		st, _ := status.FromError(err)
		if got := violatedFields(st); len(got) != 1 || got[0] != "name" {
			t.Errorf("field violations %v, want [name]", got)
		}
	})

	t.Run("unauthenticated first", func(t *testing.T) {
		err := conn.Invoke(w.Anonymous.Ctx(t), candorv1.BodyService_CreateBody_FullMethodName,
			withBadUTF8(t, &candorv1.CreateBodyRequest{Title: "BAD!"}), &candorv1.CreateBodyResponse{}, grpc.ForceCodecV2(rawCodec{}))
		wantStatus(t, err, codes.Unauthenticated, "UNAUTHENTICATED")
	})

	t.Run("not a message", func(t *testing.T) {
		err := conn.Invoke(w.Admin.Ctx(t), candorv1.BodyService_CreateBody_FullMethodName,
			wire{0x0a, 0x05, 'a'}, &candorv1.CreateBodyResponse{}, grpc.ForceCodecV2(rawCodec{}))
		wantStatus(t, err, codes.InvalidArgument, "MALFORMED_REQUEST")
	})

	t.Run("valid requests still pass", func(t *testing.T) {
		err := conn.Invoke(w.Admin.Ctx(t), candorv1.BodyService_CreateBody_FullMethodName,
			withBadUTF8(t, &candorv1.CreateBodyRequest{Title: "BAD!"})[:0:0], &candorv1.CreateBodyResponse{}, grpc.ForceCodecV2(rawCodec{}))
		wantStatus(t, err, codes.InvalidArgument, "INVALID_ARGUMENT") // empty title: refused by validation, as before
		good, _ := proto.Marshal(&candorv1.CreateBodyRequest{Title: "Fine title"})
		err = conn.Invoke(w.Admin.Ctx(t), candorv1.BodyService_CreateBody_FullMethodName, wire(good), &candorv1.CreateBodyResponse{}, grpc.ForceCodecV2(rawCodec{}))
		wantStatus(t, err, codes.OK, "")
	})
}

// TestRefuseInvalidUTF8BeforeSending checks the client interceptors refuse, naming the field,
// without calling the server.
func TestRefuseInvalidUTF8BeforeSending(t *testing.T) {
	called := false
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
		called = true
		return nil
	}
	req := &candorv1.OpenCallRequest{Call: &candorv1.Call{Title: "ok", AffectedParties: []string{"a", "b\xff"}}}
	err := rpc.RefuseInvalidUTF8(context.Background(), "/m", req, nil, nil, invoker)
	wantStatus(t, err, codes.InvalidArgument, "INVALID_ARGUMENT")
	st, _ := status.FromError(err)
	if got := violatedFields(st); len(got) != 1 || got[0] != "call.affected_parties[1]" {
		t.Errorf("field violations %v, want [call.affected_parties[1]]", got)
	}
	if called {
		t.Error("the request was sent")
	}
	req.Call.AffectedParties[1] = "b"
	if err := rpc.RefuseInvalidUTF8(context.Background(), "/m", req, nil, nil, invoker); err != nil || !called {
		t.Errorf("a valid request: err %v, sent %v", err, called)
	}

	sent := false
	streamer := func(context.Context, *grpc.StreamDesc, *grpc.ClientConn, string, ...grpc.CallOption) (grpc.ClientStream, error) {
		return &fakeClientStream{sent: &sent}, nil
	}
	cs, err := rpc.RefuseInvalidUTF8Stream(context.Background(), &grpc.StreamDesc{ServerStreams: true}, nil, "/m", streamer)
	if err != nil {
		t.Fatal(err)
	}
	err = cs.SendMsg(&candorv1.WatchCallRequest{Name: "\xff"})
	wantStatus(t, err, codes.InvalidArgument, "INVALID_ARGUMENT")
	if sent {
		t.Error("the stream's request was sent")
	}
}

type fakeClientStream struct {
	grpc.ClientStream
	sent *bool
}

func (f *fakeClientStream) SendMsg(any) error { *f.sent = true; return nil }

// TestRESTInvalidUTF8 checks the HTTP side answers invalid UTF-8 with 400 and a reason, whether it
// comes in a JSON body (protojson refuses it) or in the path (the in-process connection refuses it,
// naming the field, as the server would).
func TestRESTInvalidUTF8(t *testing.T) {
	s := ts.Start(t, ts.Bufconn(), ts.HTTP())
	w := ts.NewWorld(t, s)
	tests := []struct {
		name, method, path, body string
		reason, field            string
	}{
		{"JSON body", "POST", "/v1/bodies", "{\"title\": \"a\xffb\"}", "MALFORMED_REQUEST", ""},
		{"path", "GET", "/v1/" + w.Body + "%FF", "", "INVALID_ARGUMENT", "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, "http://"+s.HTTPAddr+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+s.AdminToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("HTTP %d, want 400: %s", resp.StatusCode, b)
			}
			var sp spb.Status
			if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &sp); err != nil {
				t.Fatalf("answer %s: %v", b, err)
			}
			st := status.FromProto(&sp)
			if got := errorReason(st); got != tt.reason {
				t.Errorf("reason %q, want %q (%s)", got, tt.reason, b)
			}
			if got := violatedFields(st); tt.field != "" && (len(got) != 1 || got[0] != tt.field) {
				t.Errorf("field violations %v, want [%s]", got, tt.field)
			}
		})
	}
}

// TestRequestIDIsComparedAsAUUID retries a write with its request id in capitals: one write.
func TestRequestIDIsComparedAsAUUID(t *testing.T) {
	w := ts.NewWorld(t, ts.Start(t, ts.Bufconn()))
	id := uuid.NewString()
	before := logSize(t, w)
	var names []string
	for _, rid := range []string{id, strings.ToUpper(id)} {
		resp, err := w.Admin.Bodies.CreateBody(w.Admin.Ctx(t), &candorv1.CreateBodyRequest{Title: "Once", RequestId: rid})
		wantStatus(t, err, codes.OK, "")
		names = append(names, resp.Body.Name)
	}
	if names[0] != names[1] {
		t.Errorf("a retry with the id in capitals created %v", names)
	}
	if got := logSize(t, w); got != before+1 {
		t.Errorf("log grew by %d, want 1", got-before)
	}
}
