package rpc_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestBadInputIsRefusedAndChangesNothing sends malformed requests and checks each is refused with
// InvalidArgument naming the field, and that the log did not grow.
func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	w := ts.NewWorld(t, ts.Start(t, ts.Bufconn()))
	call := w.OpenVote(t, nil).Name
	tests := []struct {
		name  string
		field string
		send  func() error
	}{
		{"participant without name", "display_name", func() error {
			_, err := w.Admin.Participants.CreateParticipant(w.Admin.Ctx(t), &candorv1.CreateParticipantRequest{})
			return err
		}},
		{"participant name too long", "display_name", func() error {
			_, err := w.Admin.Participants.CreateParticipant(w.Admin.Ctx(t), &candorv1.CreateParticipantRequest{DisplayName: strings.Repeat("x", 201)})
			return err
		}},
		{"bad email", "email", func() error {
			_, err := w.Admin.Participants.CreateParticipant(w.Admin.Ctx(t), &candorv1.CreateParticipantRequest{DisplayName: "x", Email: "nope"})
			return err
		}},
		{"malformed body name", "body", func() error {
			_, err := w.Admin.Bodies.AddMember(w.Admin.Ctx(t), &candorv1.AddMemberRequest{Body: "bodies/1", Participant: w.Names["bob"], Role: candorv1.Role_ROLE_MEMBER})
			return err
		}},
		{"member without role", "role", func() error {
			_, err := w.Admin.Bodies.AddMember(w.Admin.Ctx(t), &candorv1.AddMemberRequest{Body: w.Body, Participant: w.Names["bob"]})
			return err
		}},
		{"role out of range", "role", func() error {
			_, err := w.Admin.Bodies.AddMember(w.Admin.Ctx(t), &candorv1.AddMemberRequest{Body: w.Body, Participant: w.Names["bob"], Role: 99})
			return err
		}},
		{"call without title", "call.title", func() error {
			_, err := w.Chair.Calls.OpenCall(w.Chair.Ctx(t), &candorv1.OpenCallRequest{Body: w.Body, Call: &candorv1.Call{}})
			return err
		}},
		{"one option", "call.options", func() error {
			_, err := w.Chair.Calls.OpenCall(w.Chair.Ctx(t), &candorv1.OpenCallRequest{Body: w.Body, Call: &candorv1.Call{Title: "t", Options: []string{"yes"}}})
			return err
		}},
		{"repeated option", "call.options", func() error {
			_, err := w.Chair.Calls.OpenCall(w.Chair.Ctx(t), &candorv1.OpenCallRequest{Body: w.Body, Call: &candorv1.Call{Title: "t", Options: []string{"Yes", "yes "}}})
			return err
		}},
		{"negative quorum", "call.quorum", func() error {
			_, err := w.Chair.Calls.OpenCall(w.Chair.Ctx(t), &candorv1.OpenCallRequest{Body: w.Body, Call: &candorv1.Call{Title: "t", Quorum: -1}})
			return err
		}},
		{"declaration without restatement", "restatement", func() error {
			_, err := w.Alice.Calls.FileDeclaration(w.Alice.Ctx(t), &candorv1.FileDeclarationRequest{Call: call, ConflictLevel: none})
			return err
		}},
		{"declaration without conflict level", "conflict_level", func() error {
			_, err := w.Alice.Calls.FileDeclaration(w.Alice.Ctx(t), &candorv1.FileDeclarationRequest{Call: call,
				Restatement: &candorv1.FileDeclarationRequest_UnchangedSoiHash{UnchangedSoiHash: make([]byte, 32)}})
			return err
		}},
		{"conflict without description", "description", func() error {
			_, err := w.Alice.Calls.FileDeclaration(w.Alice.Ctx(t), &candorv1.FileDeclarationRequest{Call: call,
				Restatement: &candorv1.FileDeclarationRequest_UnchangedSoiHash{UnchangedSoiHash: make([]byte, 32)}, ConflictLevel: actual})
			return err
		}},
		{"short pin", "unchanged_soi_hash", func() error {
			_, err := w.Alice.Calls.FileDeclaration(w.Alice.Ctx(t), &candorv1.FileDeclarationRequest{Call: call,
				Restatement: &candorv1.FileDeclarationRequest_UnchangedSoiHash{UnchangedSoiHash: []byte{1}}, ConflictLevel: none})
			return err
		}},
		{"SOI with too many interests", "statement_of_interest.interests", func() error {
			soi := &candorv1.StatementOfInterest{}
			for range 51 {
				soi.Interests = append(soi.Interests, &candorv1.Interest{Organization: "o"})
			}
			_, err := w.Alice.Participants.UpdateStatementOfInterest(w.Alice.Ctx(t), &candorv1.UpdateStatementOfInterestRequest{StatementOfInterest: soi})
			return err
		}},
		{"display name of invisible characters", "display_name", func() error {
			_, err := w.Admin.Participants.CreateParticipant(w.Admin.Ctx(t), &candorv1.CreateParticipantRequest{DisplayName: "\u200b\u3164\u200b"})
			return err
		}},
		{"title with a right-to-left override", "call.title", func() error {
			_, err := w.Chair.Calls.OpenCall(w.Chair.Ctx(t), &candorv1.OpenCallRequest{Body: w.Body, Call: &candorv1.Call{Title: "Budget \u202eFY27"}})
			return err
		}},
		{"organisation with a zero-width space", "statement_of_interest.interests[0].organization", func() error {
			_, err := w.Alice.Participants.UpdateStatementOfInterest(w.Alice.Ctx(t), &candorv1.UpdateStatementOfInterestRequest{
				StatementOfInterest: &candorv1.StatementOfInterest{Interests: []*candorv1.Interest{{Organization: "Exam\u200bple Inc."}}}})
			return err
		}},
		{"carriage return in a matter", "call.matter", func() error {
			_, err := w.Chair.Calls.OpenCall(w.Chair.Ctx(t), &candorv1.OpenCallRequest{Body: w.Body, Call: &candorv1.Call{Title: "t", Matter: "one\r\ntwo"}})
			return err
		}},
		{"empty ballot option", "option", func() error {
			_, err := ts.Vote(t, w.Alice, call, "")
			return err
		}},
		{"bad page token", "page_token", func() error {
			_, err := w.Admin.Participants.ListParticipants(w.Admin.Ctx(t), &candorv1.ListParticipantsRequest{PageToken: "garbage"})
			return err
		}},
		{"page size too large", "page_size", func() error {
			_, err := w.Admin.Participants.ListParticipants(w.Admin.Ctx(t), &candorv1.ListParticipantsRequest{PageSize: 1001})
			return err
		}},
		{"export period ending before it starts", "end_time", func() error {
			return exportErr(t, w.Chair, &candorv1.ExportBodyRequest{Body: w.Body,
				StartTime: timestamppb.New(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)), EndTime: timestamppb.New(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))})
		}},
		{"export from an impossible time", "start_time", func() error {
			return exportErr(t, w.Chair, &candorv1.ExportBodyRequest{Body: w.Body, StartTime: &timestamppb.Timestamp{Nanos: 2e9}})
		}},
		{"export of a malformed body name", "body", func() error {
			return exportErr(t, w.Chair, &candorv1.ExportBodyRequest{Body: "bodies/1"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := logSize(t, w)
			err := tt.send()
			wantStatus(t, err, codes.InvalidArgument, "")
			st, _ := status.FromError(err)
			var fields []string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.FieldViolations {
						fields = append(fields, v.Field)
					}
				}
			}
			found := false
			for _, f := range fields {
				found = found || f == tt.field
			}
			if !found {
				t.Errorf("field violations %v do not name %q", fields, tt.field)
			}
			if after := logSize(t, w); after != before {
				t.Errorf("log grew from %d to %d on refused input", before, after)
			}
		})
	}
}

// exportErr runs ExportBody as c to its end and returns its error (nil if it completed).
func exportErr(t *testing.T, c *ts.Client, req *candorv1.ExportBodyRequest) error {
	stream, err := c.Audit.ExportBody(c.Ctx(t), req)
	if err != nil {
		return err
	}
	for {
		if _, err := stream.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}
