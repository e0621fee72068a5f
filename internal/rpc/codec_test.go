package rpc

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/candorhq/candor/internal/rpc/utf8check"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// FuzzRefusingCodec parses arbitrary bytes as a request the way the server does. Whatever the
// bytes, the codec either parses them as protobuf-go does, or keeps nothing of them and notes an
// InvalidArgument refusal; a refusal for invalid UTF-8 names the field that holds it.
func FuzzRefusingCodec(f *testing.F) {
	for _, m := range []proto.Message{
		&candorv1.OpenCallRequest{Body: "bodies/x", Call: &candorv1.Call{Title: "BAD!", Options: []string{"a", "BAD!"}}},
		&candorv1.UpdateStatementOfInterestRequest{StatementOfInterest: &candorv1.StatementOfInterest{
			Interests: []*candorv1.Interest{{Organization: "o", Nature: "BAD!"}}}},
		&candorv1.FileDeclarationRequest{Restatement: &candorv1.FileDeclarationRequest_UpdatedSoi{
			UpdatedSoi: &candorv1.StatementOfInterest{StakeholderGroups: []string{"g", "BAD!"}}}},
	} {
		b, _ := proto.Marshal(m)
		f.Add(b)
		f.Add([]byte(strings.ReplaceAll(string(b), "BAD!", "B\xffD!")))
	}
	c := newRefusingCodec()
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range []proto.Message{
			&candorv1.OpenCallRequest{}, &candorv1.UpdateStatementOfInterestRequest{}, &candorv1.FileDeclarationRequest{},
		} {
			if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, m); err != nil {
				t.Fatalf("Unmarshal returned %v; refusals are noted, not returned", err)
			}
			refused := c.take(m)
			parseErr := proto.Unmarshal(b, m.ProtoReflect().Type().New().Interface())
			if (refused == nil) != (parseErr == nil) {
				t.Fatalf("refusal %v, but protobuf-go says %v", refused, parseErr)
			}
			field := utf8check.Wire(b, m.ProtoReflect().Descriptor())
			if parseErr == nil {
				if field != "" {
					t.Fatalf("a parsable message has invalid UTF-8 at %s", field)
				}
				continue
			}
			if !proto.Equal(m, m.ProtoReflect().Type().New().Interface()) {
				t.Fatalf("a refused message kept %v", m)
			}
			st, _ := status.FromError(refused)
			if st.Code() != codes.InvalidArgument {
				t.Fatalf("refusal %v, want InvalidArgument", refused)
			}
			if strings.Contains(parseErr.Error(), "invalid UTF-8") && field == "" {
				t.Fatalf("protobuf-go refused invalid UTF-8 (%v) the walk did not find", parseErr)
			}
			if field != "" && !strings.HasPrefix(st.Message(), field+": ") {
				t.Fatalf("refusal %q does not name %s", st.Message(), field)
			}
		}
	})
}
