package cli

import (
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// exportRecords is what the fake's ExportBody sends: a header, then the closed call's record as a
// member reads it, with one ballot whose choice is withheld.
func exportRecords() []*candorv1.ExportBodyResponse {
	soi := proto.Clone(soiV1).(*candorv1.StatementOfInterest)
	opened := proto.Clone(callClosed).(*candorv1.Call)
	opened.State, opened.Result, opened.ClosedBy, opened.CloseTime = candorv1.CallState_CALL_STATE_OPEN, nil, "", nil
	decl := history[0].GetDeclaration()
	return []*candorv1.ExportBodyResponse{
		{Kind: candorv1.ExportRecordKind_EXPORT_RECORD_KIND_HEADER, Record: &candorv1.ExportBodyResponse_Header{Header: &candorv1.ExportHeader{
			Body: council, Title: body.GetTitle(), LogSize: 44, Records: 5, Reader: alice, ExportTime: at(24 * 60),
			Checkpoint: receipt(44).GetCheckpoint(),
		}}},
		{Kind: candorv1.ExportRecordKind_EXPORT_RECORD_KIND_CALL, LogIndex: 20, EntryKind: candorv1.EntryKind_ENTRY_KIND_CALL_OPENED,
			Time: at(20), Actor: alice, Call: closedCall, Record: &candorv1.ExportBodyResponse_OpenedCall{OpenedCall: opened}},
		{Kind: candorv1.ExportRecordKind_EXPORT_RECORD_KIND_DECLARATION, LogIndex: 21, EntryKind: candorv1.EntryKind_ENTRY_KIND_DECLARATION,
			Time: at(25), Actor: alice, Call: closedCall, StatementOfInterest: soi, Record: &candorv1.ExportBodyResponse_Declaration{Declaration: decl}},
		{Kind: candorv1.ExportRecordKind_EXPORT_RECORD_KIND_BALLOT, LogIndex: 23, EntryKind: candorv1.EntryKind_ENTRY_KIND_BALLOT,
			Time: at(27), Actor: alice, Call: closedCall, Record: &candorv1.ExportBodyResponse_Ballot{Ballot: &candorv1.Ballot{
				Name: closedCall + "/ballots/ba000000-0000-4000-8000-000000000009", Participant: alice, Option: "yes", Declaration: decl.GetName(), CreateTime: at(27)}}},
		{Kind: candorv1.ExportRecordKind_EXPORT_RECORD_KIND_BALLOT, LogIndex: 24, EntryKind: candorv1.EntryKind_ENTRY_KIND_BALLOT,
			Time: at(28), Actor: dave, Call: closedCall, ChoiceWithheld: true, Record: &candorv1.ExportBodyResponse_Ballot{Ballot: &candorv1.Ballot{
				Name: closedCall + "/ballots/ba000000-0000-4000-8000-000000000010", Participant: dave, CreateTime: at(28)}}},
		{Kind: candorv1.ExportRecordKind_EXPORT_RECORD_KIND_RESULT, LogIndex: 25, EntryKind: candorv1.EntryKind_ENTRY_KIND_CALL_CLOSED,
			Time: at(35), Actor: "server", Call: closedCall, Record: &candorv1.ExportBodyResponse_Result{Result: &candorv1.ExportResult{
				Title: callClosed.GetTitle(), CallKind: callClosed.GetKind(), ClosedBy: "server", CloseTime: at(35), Result: callClosed.GetResult()}}},
	}
}

func (f *fakeServer) ExportBody(req *candorv1.ExportBodyRequest, stream grpc.ServerStreamingServer[candorv1.ExportBodyResponse]) error {
	if err := f.record(stream.Context(), "ExportBody", req); err != nil {
		return err
	}
	for i, rec := range exportRecords() {
		if i == 0 { // the header says what was asked
			rec.GetHeader().StartTime, rec.GetHeader().EndTime = req.GetStartTime(), req.GetEndTime()
		}
		if err := stream.Send(rec); err != nil {
			return err
		}
	}
	return nil
}
