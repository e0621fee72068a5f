package utf8check_test

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/candorhq/candor/internal/rpc/utf8check"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestMessageAndWireAgree builds messages with invalid UTF-8 in one field and checks both walks name
// it, in memory and on the wire.
func TestMessageAndWireAgree(t *testing.T) {
	tests := []struct {
		name string
		msg  proto.Message
		want string
	}{
		{"valid", &candorv1.OpenCallRequest{Body: "b", Call: &candorv1.Call{Title: "t", Options: []string{"a", "b"}}}, ""},
		{"top level", &candorv1.CreateBodyRequest{Title: "BAD!"}, "title"},
		{"nested", &candorv1.OpenCallRequest{Call: &candorv1.Call{Title: "ok", Matter: "BAD!"}}, "call.matter"},
		{"list", &candorv1.OpenCallRequest{Call: &candorv1.Call{Options: []string{"a", "b", "BAD!"}}}, "call.options[2]"},
		{"list of messages", &candorv1.UpdateStatementOfInterestRequest{StatementOfInterest: &candorv1.StatementOfInterest{
			Interests: []*candorv1.Interest{{Organization: "a"}, {Organization: "BAD!"}}}}, "statement_of_interest.interests[1].organization"},
		{"map value", &structpb.Struct{Fields: map[string]*structpb.Value{"k": structpb.NewStringValue("BAD!")}}, "fields[k].string_value"},
		{"map key", &structpb.Struct{Fields: map[string]*structpb.Value{"BAD!": structpb.NewNullValue()}}, "fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := proto.Marshal(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			b = bytes.ReplaceAll(b, []byte("BAD!"), []byte("B\xffD!"))
			if got := utf8check.Wire(b, tt.msg.ProtoReflect().Descriptor()); got != tt.want {
				t.Errorf("Wire = %q, want %q", got, tt.want)
			}
			// The same bytes in memory: parsed without the check protobuf-go refuses them with.
			m := tt.msg.ProtoReflect().Type().New().Interface()
			if err := (proto.UnmarshalOptions{}).Unmarshal(b, m); (err == nil) != (tt.want == "") {
				t.Fatalf("protobuf-go parse error %v, want one iff %q is bad", err, tt.want)
			}
			if tt.want == "" {
				if got := utf8check.Message(m); got != "" {
					t.Errorf("Message = %q on a valid message", got)
				}
				return
			}
			in := proto.Clone(tt.msg)
			setBad(in)
			if got := utf8check.Message(in); got != tt.want {
				t.Errorf("Message = %q, want %q", got, tt.want)
			}
		})
	}
}

// setBad turns "BAD!" in m's strings into invalid UTF-8 in memory, where Go strings may hold it.
func setBad(m proto.Message) {
	switch m := m.(type) {
	case *candorv1.CreateBodyRequest:
		m.Title = "B\xffD!"
	case *candorv1.OpenCallRequest:
		if m.Call.Matter == "BAD!" {
			m.Call.Matter = "B\xffD!"
		}
		for i, o := range m.Call.Options {
			if o == "BAD!" {
				m.Call.Options[i] = "B\xffD!"
			}
		}
	case *candorv1.UpdateStatementOfInterestRequest:
		for _, in := range m.StatementOfInterest.Interests {
			if in.Organization == "BAD!" {
				in.Organization = "B\xffD!"
			}
		}
	case *structpb.Struct:
		for k, v := range m.Fields {
			if k == "BAD!" {
				delete(m.Fields, k)
				m.Fields["B\xffD!"] = v
			} else if v.GetStringValue() == "BAD!" {
				m.Fields[k] = structpb.NewStringValue("B\xffD!")
			}
		}
	}
}

func FuzzWire(f *testing.F) {
	seed, _ := proto.Marshal(&candorv1.OpenCallRequest{Body: "b", Call: &candorv1.Call{Title: "B\xffD!"}})
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		field := utf8check.Wire(b, (&candorv1.OpenCallRequest{}).ProtoReflect().Descriptor()) // must never panic
		if field != "" && proto.Unmarshal(b, &candorv1.OpenCallRequest{}) == nil {
			t.Fatalf("Wire found invalid UTF-8 at %s in a message protobuf-go accepts", field)
		}
	})
}
