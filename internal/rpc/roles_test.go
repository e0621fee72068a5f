package rpc_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"

	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// roles are the callers every RPC is tried as. "member" is alice, a member of the body.
var roles = []string{"admin", "chair", "member", "outsider", "auditor", "none"}

func (r roleWorld) client(role string) *ts.Client {
	switch role {
	case "admin":
		return r.Admin
	case "chair":
		return r.Chair
	case "member":
		return r.Alice
	case "outsider":
		return r.Outsider
	case "auditor":
		return r.Auditor
	}
	return r.Anonymous
}

type roleWorld struct{ *ts.World }

// freshVote opens a new vote so that destructive RPCs (close, vote) start from the same state.
func (r roleWorld) freshVote(t *testing.T, policy candorv1.ConflictPolicy) string {
	return r.OpenVote(t, &candorv1.Call{ConflictPolicy: policy}).Name
}

// declareAny files a declaration as c, pinning c's current SOI if c has one.
func declareAny(t *testing.T, c *ts.Client, call string, level candorv1.ConflictLevel) error {
	hash := make([]byte, 32)
	if soi, err := c.Participants.GetStatementOfInterest(c.Ctx(t), &candorv1.GetStatementOfInterestRequest{}); err == nil {
		hash = soi.StatementOfInterest.ContentHash
	}
	_, err := c.Calls.FileDeclaration(c.Ctx(t), &candorv1.FileDeclarationRequest{
		Call: call, Restatement: &candorv1.FileDeclarationRequest_UnchangedSoiHash{UnchangedSoiHash: hash},
		ConflictLevel: level, Description: "a description",
	})
	return err
}

func TestEveryRPCAgainstEveryRole(t *testing.T) {
	w := roleWorld{ts.NewWorld(t, ts.Start(t, ts.Bufconn()))}
	call := w.freshVote(t, 0)
	w.Declare(t, w.Alice, call, none, join)

	const (
		ok     = codes.OK
		denied = codes.PermissionDenied
		unauth = codes.Unauthenticated
	)
	all := map[string]codes.Code{"admin": ok, "chair": ok, "member": ok, "outsider": ok, "auditor": ok, "none": unauth}
	adminOnly := map[string]codes.Code{"admin": ok, "chair": denied, "member": denied, "outsider": denied, "auditor": denied, "none": unauth}
	participants := map[string]codes.Code{"admin": denied, "chair": ok, "member": ok, "outsider": ok, "auditor": ok, "none": unauth}
	bodyReaders := map[string]codes.Code{"admin": ok, "chair": ok, "member": ok, "outsider": denied, "auditor": ok, "none": unauth}
	chairOnly := map[string]codes.Code{"admin": denied, "chair": ok, "member": denied, "outsider": denied, "auditor": denied, "none": unauth}
	voters := map[string]codes.Code{"admin": denied, "chair": ok, "member": ok, "outsider": denied, "auditor": denied, "none": unauth}
	auditors := map[string]codes.Code{"admin": ok, "chair": denied, "member": denied, "outsider": denied, "auditor": ok, "none": unauth}

	// Consensus fixtures, prepared once: a closed call per role whose 1 s objection window has passed
	// (to finalise), a finalised call (to appeal), and a call with positions and a statement naming
	// alice as co-signer.
	finalizable := map[string]string{}
	for _, role := range roles {
		c := openConsensus(t, w.World)
		if _, err := w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: c}); err != nil {
			t.Fatal(err)
		}
		if err := propose(t, w.Chair, c, candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS, time.Second); err != nil {
			t.Fatal(err)
		}
		finalizable[role] = c
	}
	final := openConsensus(t, w.World)
	w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: final})
	propose(t, w.Chair, final, candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS, time.Second)
	withPositions := openConsensus(t, w.World)
	for _, c := range []*ts.Client{w.Chair, w.Alice} {
		w.Declare(t, c, withPositions, none, join)
		if err := position(t, c, withPositions, support, ""); err != nil {
			t.Fatal(err)
		}
	}
	statement, err := w.Chair.Calls.FileMinorityStatement(w.Chair.Ctx(t), &candorv1.FileMinorityStatementRequest{
		Call: withPositions, Text: "dissent", Cosigners: []string{w.Names["alice"]},
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, err := w.Chair.Calls.FinalizeDesignation(w.Chair.Ctx(t), &candorv1.FinalizeDesignationRequest{Call: final}); err != nil {
		t.Fatal(err)
	}
	stated := map[string]codes.Code{"admin": denied, "chair": ok, "member": ok, "outsider": codes.FailedPrecondition, "auditor": codes.FailedPrecondition, "none": unauth}
	cosigner := map[string]codes.Code{"admin": denied, "chair": denied, "member": ok, "outsider": denied, "auditor": denied, "none": unauth}

	tests := []struct {
		rpc  string
		call func(t *testing.T, c *ts.Client) error
		want map[string]codes.Code
	}{
		{"CreateParticipant", func(t *testing.T, c *ts.Client) error {
			_, err := c.Participants.CreateParticipant(c.Ctx(t), &candorv1.CreateParticipantRequest{DisplayName: "new"})
			return err
		}, adminOnly},
		{"GetParticipant", func(t *testing.T, c *ts.Client) error {
			_, err := c.Participants.GetParticipant(c.Ctx(t), &candorv1.GetParticipantRequest{Name: w.Names["bob"]})
			return err
		}, all},
		{"ListParticipants", func(t *testing.T, c *ts.Client) error {
			_, err := c.Participants.ListParticipants(c.Ctx(t), &candorv1.ListParticipantsRequest{})
			return err
		}, all},
		{"GrantAuditor", func(t *testing.T, c *ts.Client) error {
			_, err := c.Participants.GrantAuditor(c.Ctx(t), &candorv1.GrantAuditorRequest{Name: w.Names["carol"]})
			return err
		}, adminOnly},
		{"GetStatementOfInterest", func(t *testing.T, c *ts.Client) error {
			_, err := c.Participants.GetStatementOfInterest(c.Ctx(t), &candorv1.GetStatementOfInterestRequest{Participant: w.Names["bob"]})
			return err
		}, all},
		{"ListStatementOfInterestVersions", func(t *testing.T, c *ts.Client) error {
			_, err := c.Participants.ListStatementOfInterestVersions(c.Ctx(t), &candorv1.ListStatementOfInterestVersionsRequest{Participant: w.Names["bob"]})
			return err
		}, all},
		{"UpdateStatementOfInterest", func(t *testing.T, c *ts.Client) error {
			_, err := c.Participants.UpdateStatementOfInterest(c.Ctx(t), &candorv1.UpdateStatementOfInterestRequest{
				StatementOfInterest: &candorv1.StatementOfInterest{Employer: "Example Org", JobTitle: "Analyst", Represents: "self", StakeholderGroups: []string{"At-Large"}},
			})
			return err
		}, participants},
		{"CreateBody", func(t *testing.T, c *ts.Client) error {
			_, err := c.Bodies.CreateBody(c.Ctx(t), &candorv1.CreateBodyRequest{Title: "GNSO Council"})
			return err
		}, adminOnly},
		{"GetBody", func(t *testing.T, c *ts.Client) error {
			_, err := c.Bodies.GetBody(c.Ctx(t), &candorv1.GetBodyRequest{Name: w.Body})
			return err
		}, all},
		{"ListBodies", func(t *testing.T, c *ts.Client) error {
			_, err := c.Bodies.ListBodies(c.Ctx(t), &candorv1.ListBodiesRequest{})
			return err
		}, all},
		{"AddMember", func(t *testing.T, c *ts.Client) error {
			_, err := c.Bodies.AddMember(c.Ctx(t), &candorv1.AddMemberRequest{Body: w.Body, Participant: w.Names["carol"], Role: candorv1.Role_ROLE_MEMBER, StakeholderGroup: "Registrars"})
			return err
		}, adminOnly},
		{"ListMembers", func(t *testing.T, c *ts.Client) error {
			_, err := c.Bodies.ListMembers(c.Ctx(t), &candorv1.ListMembersRequest{Body: w.Body})
			return err
		}, all},
		{"OpenCall", func(t *testing.T, c *ts.Client) error {
			_, err := c.Calls.OpenCall(c.Ctx(t), &candorv1.OpenCallRequest{Body: w.Body, Call: &candorv1.Call{Title: "t"}})
			return err
		}, chairOnly},
		{"GetCall", func(t *testing.T, c *ts.Client) error {
			_, err := c.Calls.GetCall(c.Ctx(t), &candorv1.GetCallRequest{Name: call})
			return err
		}, bodyReaders},
		{"ListCalls", func(t *testing.T, c *ts.Client) error {
			_, err := c.Calls.ListCalls(c.Ctx(t), &candorv1.ListCallsRequest{Body: w.Body})
			return err
		}, bodyReaders},
		{"CloseCall", func(t *testing.T, c *ts.Client) error {
			_, err := c.Calls.CloseCall(c.Ctx(t), &candorv1.CloseCallRequest{Name: w.freshVote(t, 0)})
			return err
		}, chairOnly},
		{"GetCallRoster", func(t *testing.T, c *ts.Client) error {
			_, err := c.Calls.GetCallRoster(c.Ctx(t), &candorv1.GetCallRosterRequest{Name: call})
			return err
		}, bodyReaders},
		{"WatchCall", func(t *testing.T, c *ts.Client) error {
			// The first message, or the refusal, comes at once; then the watch is dropped.
			ctx, cancel := context.WithCancel(c.Ctx(t))
			defer cancel()
			stream, err := c.Calls.WatchCall(ctx, &candorv1.WatchCallRequest{Name: call})
			if err != nil {
				return err
			}
			_, err = stream.Recv()
			return err
		}, bodyReaders},
		{"FileDeclaration", func(t *testing.T, c *ts.Client) error {
			return declareAny(t, c, w.freshVote(t, 0), none)
		}, voters},
		{"ClearDeclaration", func(t *testing.T, c *ts.Client) error {
			v := w.freshVote(t, candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW)
			w.Declare(t, w.Bob, v, potential, join)
			_, err := c.Calls.ClearDeclaration(c.Ctx(t), &candorv1.ClearDeclarationRequest{
				Call: v, Participant: w.Names["bob"], Decision: candorv1.ClearanceDecision_CLEARANCE_DECISION_CLEARED,
			})
			return err
		}, chairOnly},
		{"CastBallot", func(t *testing.T, c *ts.Client) error {
			v := w.freshVote(t, 0)
			declareAny(t, c, v, none) // refused for those who may not vote; the ballot is what is tested
			_, err := ts.Vote(t, c, v, "yes")
			return err
		}, voters},
		{"StatePosition", func(t *testing.T, c *ts.Client) error {
			v := openConsensus(t, w.World)
			declareAny(t, c, v, none)
			return position(t, c, v, support, "")
		}, voters},
		{"ProposeDesignation", func(t *testing.T, c *ts.Client) error {
			v := openConsensus(t, w.World)
			w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: v})
			return propose(t, c, v, candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS, time.Hour)
		}, chairOnly},
		{"ObjectToDesignation", func(t *testing.T, c *ts.Client) error {
			v := openConsensus(t, w.World)
			w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: v})
			propose(t, w.Chair, v, candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS, time.Hour)
			_, err := c.Calls.ObjectToDesignation(c.Ctx(t), &candorv1.ObjectToDesignationRequest{Call: v, Reason: "r"})
			return err
		}, voters},
		{"FinalizeDesignation", func(t *testing.T, c *ts.Client) error {
			role := ""
			for r := range finalizable {
				if w.client(r) == c {
					role = r
				}
			}
			_, err := c.Calls.FinalizeDesignation(c.Ctx(t), &candorv1.FinalizeDesignationRequest{Call: finalizable[role]})
			return err
		}, chairOnly},
		{"AppealDesignation", func(t *testing.T, c *ts.Client) error {
			_, err := c.Calls.AppealDesignation(c.Ctx(t), &candorv1.AppealDesignationRequest{Call: final, Reason: "r"})
			return err
		}, voters},
		{"FileMinorityStatement", func(t *testing.T, c *ts.Client) error {
			_, err := c.Calls.FileMinorityStatement(c.Ctx(t), &candorv1.FileMinorityStatementRequest{Call: withPositions, Text: "dissent"})
			return err
		}, stated},
		{"SignMinorityStatement", func(t *testing.T, c *ts.Client) error {
			_, err := c.Calls.SignMinorityStatement(c.Ctx(t), &candorv1.SignMinorityStatementRequest{Name: statement.MinorityStatement.Name})
			return err
		}, cosigner},
		{"ListObjections", func(t *testing.T, c *ts.Client) error {
			_, err := c.Calls.ListObjections(c.Ctx(t), &candorv1.ListObjectionsRequest{Call: final})
			return err
		}, bodyReaders},
		{"ListAppeals", func(t *testing.T, c *ts.Client) error {
			_, err := c.Calls.ListAppeals(c.Ctx(t), &candorv1.ListAppealsRequest{Call: final})
			return err
		}, bodyReaders},
		{"ListMinorityStatements", func(t *testing.T, c *ts.Client) error {
			_, err := c.Calls.ListMinorityStatements(c.Ctx(t), &candorv1.ListMinorityStatementsRequest{Call: withPositions})
			return err
		}, bodyReaders},
		{"GetReviewReport", func(t *testing.T, c *ts.Client) error {
			_, err := c.Audit.GetReviewReport(c.Ctx(t), &candorv1.GetReviewReportRequest{Body: w.Body})
			return err
		}, bodyReaders}, // docs/permissions.md: what the review report sums, members already read
		{"StreamBackup", func(t *testing.T, c *ts.Client) error {
			// The whole copy, to its last message: a refusal may come with the first Recv.
			stream, err := c.Audit.StreamBackup(c.Ctx(t), &candorv1.StreamBackupRequest{})
			if err != nil {
				return err
			}
			for {
				resp, err := stream.Recv()
				if err != nil {
					return err
				}
				if len(resp.Data) == 0 {
					return nil
				}
			}
		}, adminOnly}, // the copy holds every token hash and record
		{"ExportBody", func(t *testing.T, c *ts.Client) error {
			return exportErr(t, c, &candorv1.ExportBodyRequest{Body: w.Body}) // a refusal comes with the first Recv
		}, bodyReaders}, // what the API shows each reader (TestReadTable, row export)
		{"GetCheckpoint", func(t *testing.T, c *ts.Client) error {
			_, err := c.Audit.GetCheckpoint(c.Ctx(t), &candorv1.GetCheckpointRequest{})
			return err
		}, all},
		{"ListEntries", func(t *testing.T, c *ts.Client) error {
			_, err := c.Audit.ListEntries(c.Ctx(t), &candorv1.ListEntriesRequest{})
			return err
		}, auditors},
		{"GetInclusionProof", func(t *testing.T, c *ts.Client) error {
			_, err := c.Audit.GetInclusionProof(c.Ctx(t), &candorv1.GetInclusionProofRequest{Index: 1})
			return err
		}, all},
		{"GetConsistencyProof", func(t *testing.T, c *ts.Client) error {
			_, err := c.Audit.GetConsistencyProof(c.Ctx(t), &candorv1.GetConsistencyProofRequest{FirstSize: 1})
			return err
		}, all},
		{"ListDeclarationHistory", func(t *testing.T, c *ts.Client) error {
			_, err := c.Audit.ListDeclarationHistory(c.Ctx(t), &candorv1.ListDeclarationHistoryRequest{Participant: w.Names["alice"]})
			return err
		}, all}, // others see only the calls of bodies they belong to (TestReadTable)
		{"ListCallRecord", func(t *testing.T, c *ts.Client) error {
			_, err := c.Audit.ListCallRecord(c.Ctx(t), &candorv1.ListCallRecordRequest{Call: call})
			return err
		}, bodyReaders}, // ballots of an open call redacted for members (TestReadTable)
		{"RotateToken", func(t *testing.T, c *ts.Client) error {
			resp, err := c.Participants.RotateToken(c.Ctx(t), &candorv1.RotateTokenRequest{})
			if err == nil {
				c.Token = resp.Token // the old one no longer works; later rows need this client
			}
			return err
		}, participants},
		{"ReissueToken", func(t *testing.T, c *ts.Client) error {
			_, err := c.Participants.ReissueToken(c.Ctx(t), &candorv1.ReissueTokenRequest{Name: newParticipant(t, w.World)})
			return err
		}, adminOnly},
		{"DeactivateParticipant", func(t *testing.T, c *ts.Client) error {
			_, err := c.Participants.DeactivateParticipant(c.Ctx(t), &candorv1.DeactivateParticipantRequest{Name: newParticipant(t, w.World)})
			return err
		}, adminOnly},
		{"RemoveMember", func(t *testing.T, c *ts.Client) error {
			p := newParticipant(t, w.World)
			if _, err := w.Admin.Bodies.AddMember(w.Admin.Ctx(t), &candorv1.AddMemberRequest{Body: w.Body, Participant: p, Role: candorv1.Role_ROLE_MEMBER}); err != nil {
				t.Fatal(err)
			}
			_, err := c.Bodies.RemoveMember(c.Ctx(t), &candorv1.RemoveMemberRequest{Body: w.Body, Participant: p})
			return err
		}, adminOnly},
	}
	for _, tt := range tests {
		for _, role := range roles {
			t.Run(tt.rpc+"/"+role, func(t *testing.T) {
				want, ok := tt.want[role]
				if !ok {
					t.Fatalf("table has no expectation for %s", role)
				}
				err := tt.call(t, w.client(role))
				if got := status.Code(err); got != want {
					t.Errorf("%s as %s: got %v (%v), want %v", tt.rpc, role, got, err, want)
				}
			})
		}
	}
	// Every RPC of the four services is in the table, so a new RPC cannot skip it.
	inTable := map[string]bool{}
	for _, tt := range tests {
		inTable[tt.rpc] = true
	}
	for _, f := range []protoreflect.FileDescriptor{
		candorv1.File_candor_v1_participant_service_proto, candorv1.File_candor_v1_body_service_proto,
		candorv1.File_candor_v1_call_service_proto, candorv1.File_candor_v1_audit_service_proto,
	} {
		for i := 0; i < f.Services().Len(); i++ {
			ms := f.Services().Get(i).Methods()
			for j := 0; j < ms.Len(); j++ {
				if name := string(ms.Get(j).Name()); !inTable[name] {
					t.Errorf("RPC %s is missing from the role table", name)
				}
			}
		}
	}
}

// newParticipant creates a participant nobody else in the test uses and returns their name.
func newParticipant(t *testing.T, w *ts.World) string {
	t.Helper()
	resp, err := w.Admin.Participants.CreateParticipant(w.Admin.Ctx(t), &candorv1.CreateParticipantRequest{DisplayName: "spare"})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Participant.Name
}
