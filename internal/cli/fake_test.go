package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// This file holds a fake Candor server with fixed answers, for tests of candor's output and of the
// requests it sends. It checks nothing the real server checks: end-to-end behaviour is tested against
// the real server elsewhere.

const (
	alice      = "participants/a11ce000-0000-4000-8000-000000000001"
	bob        = "participants/b0b00000-0000-4000-8000-000000000002"
	carol      = "participants/ca201000-0000-4000-8000-000000000003"
	dave       = "participants/da7e0000-0000-4000-8000-000000000004"
	council    = "bodies/c0c00000-0000-4000-8000-000000000001"
	openCall   = council + "/calls/0be10000-0000-4000-8000-000000000001"
	closedCall = council + "/calls/0be10000-0000-4000-8000-000000000002"
	// consCall is a closed consensus call with a full designation record.
	consCall = council + "/calls/0be10000-0000-4000-8000-000000000003"
)

// fixedNow is the time the CLI believes it is in tests.
var fixedNow = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// at is a fixture time: minutes after 2026-03-01 10:00 UTC.
func at(min int) *timestamppb.Timestamp {
	return timestamppb.New(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(min) * time.Minute))
}

func hash(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func receipt(index int64) *candorv1.Receipt {
	entry, _ := proto.Marshal(&candorv1.LogEntry{Format: 1, Kind: candorv1.EntryKind_ENTRY_KIND_BALLOT, Time: at(60), Actor: alice, Subject: openCall})
	return &candorv1.Receipt{
		LogIndex:       index,
		Entry:          entry,
		InclusionProof: [][]byte{hash(0x11), hash(0x22)},
		Checkpoint:     []byte("candor.example/log\n44\nq83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vng=\n\n— candor.example/log AAAA\n"),
	}
}

var (
	participants = []*candorv1.Participant{
		{Name: alice, DisplayName: "Alice Adeyemi", Email: "alice@example.org", SoiVersion: 2, CreateTime: at(0)},
		{Name: bob, DisplayName: "Bob Brandt", SoiVersion: 1, CreateTime: at(1)},
		{Name: carol, DisplayName: "Carol Chen", Email: "carol@example.org", Auditor: true, CreateTime: at(2)},
		{Name: dave, DisplayName: "Dave\tDuarte", SoiVersion: 3, CreateTime: at(3)},
	}
	soiV1 = &candorv1.StatementOfInterest{
		Name: alice + "/statementsOfInterest/1", Version: 1, Employer: "Example Registry Inc.", JobTitle: "Counsel",
		Represents: "self", ContentHash: hash(0xa1), CreateTime: at(5),
	}
	soiV2 = &candorv1.StatementOfInterest{
		Name: alice + "/statementsOfInterest/2", Version: 2, Employer: "Independent", JobTitle: "Consultant",
		Represents: "At-Large Structure of Lagos", StakeholderGroups: []string{"At-Large", "Non-Commercial"},
		Interests: []*candorv1.Interest{
			{Organization: "Example Registry Inc.", Nature: "shareholder"},
			{Organization: "DNS Forum", Nature: "board member"},
		},
		OtherInterests: "Advises a registrar on policy.\nPaid per engagement.",
		ContentHash:    hash(0xa2), CreateTime: at(30),
	}
	memberships = []*candorv1.Membership{
		{Name: council + "/members/a11ce000-0000-4000-8000-000000000001", Participant: alice, Role: candorv1.Role_ROLE_CHAIR, StakeholderGroup: "At-Large", CreateTime: at(10)},
		{Name: council + "/members/b0b00000-0000-4000-8000-000000000002", Participant: bob, Role: candorv1.Role_ROLE_MEMBER, StakeholderGroup: "Registries", CreateTime: at(11)},
		{Name: council + "/members/da7e0000-0000-4000-8000-000000000004", Participant: dave, Role: candorv1.Role_ROLE_MEMBER, CreateTime: at(12)},
	}
	body = &candorv1.Body{Name: council, Title: "At-Large Advisory Committee", CreateTime: at(8)}

	aliceDecl = &candorv1.Declaration{
		Name: openCall + "/declarations/de000000-0000-4000-8000-000000000001", Participant: alice, SoiVersion: 2,
		SoiContentHash: hash(0xa2), ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL,
		Description: "Shareholder of Example Registry Inc., an affected party.", Intent: candorv1.Intent_INTENT_PARTICIPATE,
		CreateTime: at(50), Supersedes: openCall + "/declarations/de000000-0000-4000-8000-000000000000",
	}
	bobDecl = &candorv1.Declaration{
		Name: openCall + "/declarations/de000000-0000-4000-8000-000000000002", Participant: bob, SoiVersion: 1,
		SoiContentHash: hash(0xb1), ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_ACTUAL,
		Description: "Employed by the applicant.", Intent: candorv1.Intent_INTENT_RECUSE, CreateTime: at(52),
	}

	callOpen = &candorv1.Call{
		Name: openCall, Title: "Budget FY27", Matter: "Approve the FY27 budget as proposed.\n\nSee the annex.",
		Kind: candorv1.CallKind_CALL_KIND_VOTE, Options: []string{"yes", "no", "abstain"},
		AffectedParties: []string{"Example Registry Inc."}, ConflictPolicy: candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW,
		Deadline: at(24 * 60), Quorum: 2, Threshold: candorv1.Threshold_THRESHOLD_SIMPLE_MAJORITY,
		EligibleParticipants: []string{alice, bob, dave}, State: candorv1.CallState_CALL_STATE_OPEN,
		OpenedBy: alice, OpenTime: at(40),
	}
	callClosed = &candorv1.Call{
		Name: closedCall, Title: "Appoint the liaison", Kind: candorv1.CallKind_CALL_KIND_VOTE,
		Options: []string{"yes", "no", "abstain"}, ConflictPolicy: candorv1.ConflictPolicy_CONFLICT_POLICY_RECUSE,
		Threshold: candorv1.Threshold_THRESHOLD_TWO_THIRDS, EligibleParticipants: []string{alice, dave},
		EligibilityRestricted: true, EligibilityJustification: "Only members outside the registries group may appoint the liaison.",
		State: candorv1.CallState_CALL_STATE_CLOSED, OpenedBy: alice, OpenTime: at(20), ClosedBy: "server", CloseTime: at(35),
		Result: &candorv1.Result{
			Counts:   []*candorv1.OptionCount{{Option: "yes", Count: 1}, {Option: "no", Count: 0}, {Option: "abstain", Count: 0}},
			Eligible: 2, BallotsCounted: 1, VotesCast: 1, Recused: []string{dave},
			Flagged: []*candorv1.FlaggedBallot{{Participant: alice, Option: "yes", ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL}},
			Outcome: candorv1.Outcome_OUTCOME_DECIDED, WinningOption: "yes", Turnout: 1,
			Groups: []*candorv1.GroupTally{
				{StakeholderGroup: "At-Large", Eligible: 1, Declared: 1, Conflicts: 1,
					Counts: []*candorv1.OptionCount{{Option: "yes", Count: 1}, {Option: "no"}, {Option: "abstain"}}},
				{StakeholderGroup: "", Eligible: 1, Declared: 1, Conflicts: 1, Recusals: 1,
					Counts: []*candorv1.OptionCount{{Option: "yes"}, {Option: "no"}, {Option: "abstain"}}},
			},
		},
	}
	roster = []*candorv1.RosterEntry{
		{Participant: alice, DisplayName: "Alice Adeyemi", StakeholderGroup: "At-Large", Declaration: aliceDecl,
			Clearance: &candorv1.Clearance{Declaration: aliceDecl.GetName(), Participant: alice, Decision: candorv1.ClearanceDecision_CLEARANCE_DECISION_CLEARED},
			Voted:     true, AffectedPartyMatches: []string{"Example Registry Inc."}},
		{Participant: bob, DisplayName: "Bob Brandt", StakeholderGroup: "Registries", Declaration: bobDecl, Stale: true},
		{Participant: dave, DisplayName: "Dave Duarte"},
	}
	ballot = &candorv1.Ballot{
		Name: openCall + "/ballots/ba000000-0000-4000-8000-000000000001", Participant: alice, Option: "yes",
		Declaration: aliceDecl.GetName(), ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL, CreateTime: at(61),
	}
	clearance = &candorv1.Clearance{
		Declaration: aliceDecl.GetName(), Participant: alice, Decision: candorv1.ClearanceDecision_CLEARANCE_DECISION_CLEARED,
		Note: "Holding is below the 1% threshold.", Chair: carol, CreateTime: at(55),
	}
	history = []*candorv1.HistoryEntry{
		{LogIndex: 17, Call: closedCall, CallTitle: "Appoint the liaison", Declaration: &candorv1.Declaration{
			Name: closedCall + "/declarations/de000000-0000-4000-8000-000000000009", Participant: alice, SoiVersion: 1,
			SoiContentHash: hash(0xa1), ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, Intent: candorv1.Intent_INTENT_PARTICIPATE, CreateTime: at(25)}},
		{LogIndex: 30, Call: openCall, CallTitle: "Budget FY27", Declaration: &candorv1.Declaration{
			Name: openCall + "/declarations/de000000-0000-4000-8000-000000000000", Participant: alice, SoiVersion: 2, SoiChanged: true,
			SoiContentHash: hash(0xa2), ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_ACTUAL, Intent: candorv1.Intent_INTENT_RECUSE,
			Description: "I hold shares in Example Registry Inc., which the budget funds directly through the new programme.", CreateTime: at(45)}},
		{LogIndex: 33, Call: openCall, CallTitle: "Budget FY27", Declaration: aliceDecl},
	}
	record = []*candorv1.RecordEntry{
		{LogIndex: 20, Entry: &candorv1.LogEntry{Format: 1, Kind: candorv1.EntryKind_ENTRY_KIND_CALL_OPENED, Time: at(20), Actor: alice, Subject: closedCall,
			Payload: &candorv1.LogEntry_Call{Call: &candorv1.Call{Name: closedCall, Title: "Appoint the liaison", Options: []string{"yes", "no", "abstain"},
				ConflictPolicy: candorv1.ConflictPolicy_CONFLICT_POLICY_RECUSE, EligibleParticipants: []string{alice, dave}}}}},
		{LogIndex: 21, Entry: &candorv1.LogEntry{Format: 1, Kind: candorv1.EntryKind_ENTRY_KIND_DECLARATION, Time: at(25), Actor: alice, Subject: closedCall,
			Payload: &candorv1.LogEntry_Declaration{Declaration: history[0].GetDeclaration()}}},
		{LogIndex: 22, Entry: &candorv1.LogEntry{Format: 1, Kind: candorv1.EntryKind_ENTRY_KIND_DECLARATION, Time: at(26), Actor: dave, Subject: closedCall,
			Payload: &candorv1.LogEntry_Declaration{Declaration: &candorv1.Declaration{Participant: dave, SoiVersion: 3,
				ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_ACTUAL, Intent: candorv1.Intent_INTENT_PARTICIPATE}}}},
		{LogIndex: 23, Entry: &candorv1.LogEntry{Format: 1, Kind: candorv1.EntryKind_ENTRY_KIND_BALLOT, Time: at(27), Actor: alice, Subject: closedCall,
			Payload: &candorv1.LogEntry_Ballot{Ballot: &candorv1.Ballot{Participant: alice, Option: "yes", ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_NONE}}}},
		{LogIndex: 24, Entry: &candorv1.LogEntry{Format: 1, Kind: candorv1.EntryKind_ENTRY_KIND_CALL_CLOSED, Time: at(35), Actor: "server", Subject: closedCall,
			Payload: &candorv1.LogEntry_Call{Call: callClosed}}},
	}
)

// fakeServer answers every candor.v1 RPC with the fixtures above, pages list answers two items at a
// time, and records each request with its authorization header.
type fakeServer struct {
	candorv1.UnimplementedParticipantServiceServer
	candorv1.UnimplementedBodyServiceServer
	candorv1.UnimplementedCallServiceServer
	candorv1.UnimplementedAuditServiceServer

	mu    sync.Mutex
	calls []fakeCall       // guarded by mu
	fail  map[string]error // method name to the error it returns; set before use
	// failTimes limits a method's failures to this many, when set; guarded by mu.
	failTimes map[string]int
}

var (
	_ candorv1.ParticipantServiceServer = (*fakeServer)(nil)
	_ candorv1.BodyServiceServer        = (*fakeServer)(nil)
	_ candorv1.CallServiceServer        = (*fakeServer)(nil)
	_ candorv1.AuditServiceServer       = (*fakeServer)(nil)
)

// fakeCall is one request the fake received.
type fakeCall struct {
	method string
	auth   string
	req    proto.Message
}

// startFake serves a fakeServer on a loopback port, with TLS when cert is not nil.
func startFake(t testing.TB, cert *tls.Certificate) (addr string, f *fakeServer) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var opts []grpc.ServerOption
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewServerTLSFromCert(cert)))
	}
	s := grpc.NewServer(opts...)
	f = &fakeServer{fail: map[string]error{}, failTimes: map[string]int{}}
	candorv1.RegisterParticipantServiceServer(s, f)
	candorv1.RegisterBodyServiceServer(s, f)
	candorv1.RegisterCallServiceServer(s, f)
	candorv1.RegisterAuditServiceServer(s, f)
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	return lis.Addr().String(), f
}

// record notes a request and returns the error configured for the method, if any.
func (f *fakeServer) record(ctx context.Context, method string, req proto.Message) error {
	auth := ""
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		auth = strings.Join(md.Get("authorization"), ",")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fakeCall{method: method, auth: auth, req: proto.Clone(req)})
	if n, limited := f.failTimes[method]; limited {
		if n == 0 {
			return nil
		}
		f.failTimes[method] = n - 1
	}
	return f.fail[method]
}

func (f *fakeServer) received() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.calls...)
}

// lastRequest returns the last request to method, or nil.
func (f *fakeServer) lastRequest(method string) proto.Message {
	calls := f.received()
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].method == method {
			return calls[i].req
		}
	}
	return nil
}

// page serves items two at a time; tokens are the offset.
func page[T any](items []T, token string) ([]T, string) {
	start := 0
	if token != "" {
		start = int(token[0] - '0')
	}
	end := min(start+2, len(items))
	next := ""
	if end < len(items) {
		next = string(rune('0' + end))
	}
	return items[start:end], next
}

func (f *fakeServer) CreateParticipant(ctx context.Context, req *candorv1.CreateParticipantRequest) (*candorv1.CreateParticipantResponse, error) {
	if err := f.record(ctx, "CreateParticipant", req); err != nil {
		return nil, err
	}
	return &candorv1.CreateParticipantResponse{Participant: participants[0], Token: "cnd_tok_example", Receipt: receipt(1)}, nil
}

func (f *fakeServer) GetParticipant(ctx context.Context, req *candorv1.GetParticipantRequest) (*candorv1.GetParticipantResponse, error) {
	if err := f.record(ctx, "GetParticipant", req); err != nil {
		return nil, err
	}
	return &candorv1.GetParticipantResponse{Participant: participants[2]}, nil
}

func (f *fakeServer) ListParticipants(ctx context.Context, req *candorv1.ListParticipantsRequest) (*candorv1.ListParticipantsResponse, error) {
	if err := f.record(ctx, "ListParticipants", req); err != nil {
		return nil, err
	}
	items, next := page(participants, req.GetPageToken())
	return &candorv1.ListParticipantsResponse{Participants: items, NextPageToken: next}, nil
}

func (f *fakeServer) GrantAuditor(ctx context.Context, req *candorv1.GrantAuditorRequest) (*candorv1.GrantAuditorResponse, error) {
	if err := f.record(ctx, "GrantAuditor", req); err != nil {
		return nil, err
	}
	return &candorv1.GrantAuditorResponse{Participant: participants[2], Receipt: receipt(2)}, nil
}

func (f *fakeServer) GetStatementOfInterest(ctx context.Context, req *candorv1.GetStatementOfInterestRequest) (*candorv1.GetStatementOfInterestResponse, error) {
	if err := f.record(ctx, "GetStatementOfInterest", req); err != nil {
		return nil, err
	}
	soi := soiV2
	if req.GetVersion() == 1 {
		soi = soiV1
	}
	return &candorv1.GetStatementOfInterestResponse{StatementOfInterest: soi}, nil
}

func (f *fakeServer) ListStatementOfInterestVersions(ctx context.Context, req *candorv1.ListStatementOfInterestVersionsRequest) (*candorv1.ListStatementOfInterestVersionsResponse, error) {
	if err := f.record(ctx, "ListStatementOfInterestVersions", req); err != nil {
		return nil, err
	}
	return &candorv1.ListStatementOfInterestVersionsResponse{StatementsOfInterest: []*candorv1.StatementOfInterest{soiV1, soiV2}}, nil
}

func (f *fakeServer) UpdateStatementOfInterest(ctx context.Context, req *candorv1.UpdateStatementOfInterestRequest) (*candorv1.UpdateStatementOfInterestResponse, error) {
	if err := f.record(ctx, "UpdateStatementOfInterest", req); err != nil {
		return nil, err
	}
	soi := proto.CloneOf(req.GetStatementOfInterest())
	soi.Name, soi.Version, soi.ContentHash, soi.CreateTime = alice+"/statementsOfInterest/3", 3, hash(0xa3), at(70)
	return &candorv1.UpdateStatementOfInterestResponse{StatementOfInterest: soi, Receipt: receipt(3)}, nil
}

func (f *fakeServer) CreateBody(ctx context.Context, req *candorv1.CreateBodyRequest) (*candorv1.CreateBodyResponse, error) {
	if err := f.record(ctx, "CreateBody", req); err != nil {
		return nil, err
	}
	return &candorv1.CreateBodyResponse{Body: body, Receipt: receipt(4)}, nil
}

func (f *fakeServer) ListBodies(ctx context.Context, req *candorv1.ListBodiesRequest) (*candorv1.ListBodiesResponse, error) {
	if err := f.record(ctx, "ListBodies", req); err != nil {
		return nil, err
	}
	return &candorv1.ListBodiesResponse{Bodies: []*candorv1.Body{body}}, nil
}

func (f *fakeServer) AddMember(ctx context.Context, req *candorv1.AddMemberRequest) (*candorv1.AddMemberResponse, error) {
	if err := f.record(ctx, "AddMember", req); err != nil {
		return nil, err
	}
	return &candorv1.AddMemberResponse{Membership: memberships[1], Receipt: receipt(5)}, nil
}

func (f *fakeServer) ListMembers(ctx context.Context, req *candorv1.ListMembersRequest) (*candorv1.ListMembersResponse, error) {
	if err := f.record(ctx, "ListMembers", req); err != nil {
		return nil, err
	}
	items, next := page(memberships, req.GetPageToken())
	return &candorv1.ListMembersResponse{Memberships: items, NextPageToken: next}, nil
}

func (f *fakeServer) OpenCall(ctx context.Context, req *candorv1.OpenCallRequest) (*candorv1.OpenCallResponse, error) {
	if err := f.record(ctx, "OpenCall", req); err != nil {
		return nil, err
	}
	return &candorv1.OpenCallResponse{Call: callOpen, Receipt: receipt(6)}, nil
}

func (f *fakeServer) callByName(name string) *candorv1.Call {
	switch name {
	case closedCall:
		return callClosed
	case consCall:
		return callConsensus
	}
	return callOpen
}

func (f *fakeServer) GetCall(ctx context.Context, req *candorv1.GetCallRequest) (*candorv1.GetCallResponse, error) {
	if err := f.record(ctx, "GetCall", req); err != nil {
		return nil, err
	}
	return &candorv1.GetCallResponse{Call: f.callByName(req.GetName())}, nil
}

func (f *fakeServer) ListCalls(ctx context.Context, req *candorv1.ListCallsRequest) (*candorv1.ListCallsResponse, error) {
	if err := f.record(ctx, "ListCalls", req); err != nil {
		return nil, err
	}
	return &candorv1.ListCallsResponse{Calls: []*candorv1.Call{callClosed, callOpen, callConsensus}}, nil
}

func (f *fakeServer) CloseCall(ctx context.Context, req *candorv1.CloseCallRequest) (*candorv1.CloseCallResponse, error) {
	if err := f.record(ctx, "CloseCall", req); err != nil {
		return nil, err
	}
	return &candorv1.CloseCallResponse{Call: callClosed, Receipt: receipt(7)}, nil
}

func (f *fakeServer) GetCallRoster(ctx context.Context, req *candorv1.GetCallRosterRequest) (*candorv1.GetCallRosterResponse, error) {
	if err := f.record(ctx, "GetCallRoster", req); err != nil {
		return nil, err
	}
	return &candorv1.GetCallRosterResponse{Entries: roster}, nil
}

func (f *fakeServer) FileDeclaration(ctx context.Context, req *candorv1.FileDeclarationRequest) (*candorv1.FileDeclarationResponse, error) {
	if err := f.record(ctx, "FileDeclaration", req); err != nil {
		return nil, err
	}
	return &candorv1.FileDeclarationResponse{Declaration: aliceDecl, Receipt: receipt(42)}, nil
}

func (f *fakeServer) ClearDeclaration(ctx context.Context, req *candorv1.ClearDeclarationRequest) (*candorv1.ClearDeclarationResponse, error) {
	if err := f.record(ctx, "ClearDeclaration", req); err != nil {
		return nil, err
	}
	return &candorv1.ClearDeclarationResponse{Clearance: clearance, Receipt: receipt(8)}, nil
}

func (f *fakeServer) CastBallot(ctx context.Context, req *candorv1.CastBallotRequest) (*candorv1.CastBallotResponse, error) {
	if err := f.record(ctx, "CastBallot", req); err != nil {
		return nil, err
	}
	return &candorv1.CastBallotResponse{Ballot: ballot, Receipt: receipt(43)}, nil
}

func (f *fakeServer) ListDeclarationHistory(ctx context.Context, req *candorv1.ListDeclarationHistoryRequest) (*candorv1.ListDeclarationHistoryResponse, error) {
	if err := f.record(ctx, "ListDeclarationHistory", req); err != nil {
		return nil, err
	}
	items, next := page(history, req.GetPageToken())
	return &candorv1.ListDeclarationHistoryResponse{Entries: items, NextPageToken: next}, nil
}

func (f *fakeServer) ListCallRecord(ctx context.Context, req *candorv1.ListCallRecordRequest) (*candorv1.ListCallRecordResponse, error) {
	if err := f.record(ctx, "ListCallRecord", req); err != nil {
		return nil, err
	}
	rec := record
	if req.GetCall() == consCall {
		rec = consensusRecord
	}
	items, next := page(rec, req.GetPageToken())
	return &candorv1.ListCallRecordResponse{Entries: items, NextPageToken: next}, nil
}

// result is what one run of candor produced.
type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs candor in-process with a fixed clock and zone, the given environment (nothing from the
// real one) and stdin, and returns what it printed.
func runCLI(t testing.TB, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	a := &app{
		stdout: &stdout,
		stderr: &stderr,
		stdin:  strings.NewReader(stdin),
		getenv: func(k string) string { return env[k] },
		now:    func() time.Time { return fixedNow },
		loc:    time.UTC,
		userConfigDir: func() (string, error) {
			return "", io.ErrUnexpectedEOF // tests must give a config folder
		},
	}
	code := a.run(context.Background(), args)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}
