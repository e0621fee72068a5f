package rpc_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/candorhq/candor/internal/domain"
	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestFloodEveryList has one member (bob) add to every list of a call up to its cap and past it:
// the write past the cap is refused with LIMIT_REACHED (or TOO_MANY_STATEMENTS), every reader still
// gets GetCall, ListCalls and GetCallRoster, and the paged lists return every item.
func TestFloodEveryList(t *testing.T) {
	w := ts.NewWorld(t, ts.Start(t, ts.Bufconn()))

	// Declarations and ballots in a vote: superseded ones count.
	vote := w.OpenVote(t, nil).Name
	for range domain.MaxDeclarationsPerMember {
		w.Declare(t, w.Bob, vote, none, join)
	}
	_, err := ts.DeclareErr(t, w.Bob, vote, none, join)
	wantStatus(t, err, codes.FailedPrecondition, "LIMIT_REACHED")
	w.Declare(t, w.Alice, vote, none, join) // another member's cap is their own
	for range domain.MaxBallotsPerMember {
		if _, err := ts.Vote(t, w.Bob, vote, "yes"); err != nil {
			t.Fatalf("CastBallot: %v", err)
		}
	}
	_, err = ts.Vote(t, w.Bob, vote, "no")
	wantStatus(t, err, codes.FailedPrecondition, "LIMIT_REACHED")

	// A consensus call: positions, minority statements, objections and appeals, each as large as
	// the request limits allow.
	call := openConsensus(t, w)
	for _, c := range []*ts.Client{w.Chair, w.Alice, w.Bob, w.Carol} {
		w.Declare(t, c, call, none, join)
	}
	for range domain.MaxBallotsPerMember {
		if err := position(t, w.Bob, call, candorv1.Position_POSITION_OPPOSE, "no"); err != nil {
			t.Fatalf("StatePosition: %v", err)
		}
	}
	wantStatus(t, position(t, w.Bob, call, support, ""), codes.FailedPrecondition, "LIMIT_REACHED")
	for _, c := range []*ts.Client{w.Chair, w.Alice, w.Carol} {
		if err := position(t, c, call, support, ""); err != nil {
			t.Fatalf("StatePosition: %v", err)
		}
	}
	text := strings.Repeat("é", 20000)
	fileStatement := func(cosigners ...string) error {
		_, err := w.Bob.Calls.FileMinorityStatement(w.Bob.Ctx(t), &candorv1.FileMinorityStatementRequest{Call: call, Text: text, Cosigners: cosigners})
		return err
	}
	for range domain.MaxStatementsPerAuthor {
		if err := fileStatement(w.Names["alice"]); err != nil {
			t.Fatalf("FileMinorityStatement: %v", err)
		}
	}
	wantStatus(t, fileStatement(), codes.FailedPrecondition, "TOO_MANY_STATEMENTS")

	if _, err := w.Chair.Calls.CloseCall(w.Chair.Ctx(t), &candorv1.CloseCallRequest{Name: call}); err != nil {
		t.Fatalf("CloseCall: %v", err)
	}
	reason := strings.Repeat("é", 4000)
	object := func() error {
		_, err := w.Bob.Calls.ObjectToDesignation(w.Bob.Ctx(t), &candorv1.ObjectToDesignationRequest{Call: call, Reason: reason})
		return err
	}
	for i := range domain.MaxProposals {
		window := time.Hour
		if i == domain.MaxProposals-1 {
			window = time.Second // the last one is finalised below
		}
		if err := propose(t, w.Chair, call, candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS, window); err != nil {
			t.Fatalf("ProposeDesignation %d: %v", i+1, err)
		}
		if err := object(); err != nil {
			t.Fatalf("ObjectToDesignation %d: %v", i+1, err)
		}
		wantStatus(t, object(), codes.FailedPrecondition, "ALREADY_OBJECTED")
	}
	wantStatus(t, propose(t, w.Chair, call, candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS, time.Second),
		codes.FailedPrecondition, "LIMIT_REACHED")
	time.Sleep(1100 * time.Millisecond)
	if _, err := w.Chair.Calls.FinalizeDesignation(w.Chair.Ctx(t), &candorv1.FinalizeDesignationRequest{Call: call}); err != nil {
		t.Fatalf("FinalizeDesignation: %v", err)
	}
	appeal := func(c *ts.Client) error {
		_, err := c.Calls.AppealDesignation(c.Ctx(t), &candorv1.AppealDesignationRequest{Call: call, Reason: reason})
		return err
	}
	for range domain.MaxAppealsPerMember {
		if err := appeal(w.Bob); err != nil {
			t.Fatalf("AppealDesignation: %v", err)
		}
	}
	wantStatus(t, appeal(w.Bob), codes.FailedPrecondition, "LIMIT_REACHED")
	if err := appeal(w.Alice); err != nil {
		t.Fatalf("AppealDesignation by another member: %v", err)
	}

	// Everyone still reads the call, and its answer is a bounded summary.
	for _, c := range []*ts.Client{w.Admin, w.Chair, w.Alice, w.Carol, w.Auditor} {
		got, err := c.Calls.GetCall(c.Ctx(t), &candorv1.GetCallRequest{Name: call})
		if err != nil {
			t.Fatalf("GetCall: %v", err)
		}
		cr := got.Call.Consensus
		if cr.ObjectionCount != domain.MaxProposals || cr.AppealCount != domain.MaxAppealsPerMember+1 ||
			cr.MinorityStatementCount != domain.MaxStatementsPerAuthor {
			t.Errorf("GetCall counts: %d objections, %d appeals, %d statements; want %d, %d, %d", cr.ObjectionCount, cr.AppealCount,
				cr.MinorityStatementCount, domain.MaxProposals, domain.MaxAppealsPerMember+1, domain.MaxStatementsPerAuthor)
		}
		if len(cr.Objections) > 5 || len(cr.Appeals) > 5 || len(cr.MinorityStatements) > 5 {
			t.Errorf("GetCall carries %d objections, %d appeals, %d statements; want at most 5 of each",
				len(cr.Objections), len(cr.Appeals), len(cr.MinorityStatements))
		}
		if last := cr.Appeals[len(cr.Appeals)-1]; last.Participant != w.Names["alice"] {
			t.Errorf("GetCall's latest appeal is by %s, want alice's", last.Participant)
		}
		list, err := c.Calls.ListCalls(c.Ctx(t), &candorv1.ListCallsRequest{Body: w.Body})
		if err != nil {
			t.Fatalf("ListCalls: %v", err)
		}
		for _, lc := range list.Calls {
			if n := len(lc.GetConsensus().GetObjections()) + len(lc.GetConsensus().GetAppeals()) + len(lc.GetConsensus().GetMinorityStatements()); n != 0 {
				t.Errorf("ListCalls carries %d objections, appeals and statements of %s, want only counts", n, lc.Name)
			}
		}
		if _, err := c.Calls.GetCallRoster(c.Ctx(t), &candorv1.GetCallRosterRequest{Name: call}); err != nil {
			t.Fatalf("GetCallRoster: %v", err)
		}
	}

	// The paged lists return every item, in order, one page at a time.
	var objections []*candorv1.Objection
	for tok := ""; ; {
		resp, err := w.Alice.Calls.ListObjections(w.Alice.Ctx(t), &candorv1.ListObjectionsRequest{Call: call, PageSize: 3, PageToken: tok})
		if err != nil {
			t.Fatalf("ListObjections: %v", err)
		}
		objections = append(objections, resp.Objections...)
		if tok = resp.NextPageToken; tok == "" {
			break
		}
	}
	if len(objections) != domain.MaxProposals {
		t.Fatalf("ListObjections returned %d, want %d", len(objections), domain.MaxProposals)
	}
	for i, o := range objections {
		if o.Revision != int32(i+1) || o.Reason != reason {
			t.Errorf("objection %d: revision %d, want %d", i, o.Revision, i+1)
		}
	}
	var appeals []*candorv1.Appeal
	for tok := ""; ; {
		resp, err := w.Carol.Calls.ListAppeals(w.Carol.Ctx(t), &candorv1.ListAppealsRequest{Call: call, PageSize: 2, PageToken: tok})
		if err != nil {
			t.Fatalf("ListAppeals: %v", err)
		}
		appeals = append(appeals, resp.Appeals...)
		if tok = resp.NextPageToken; tok == "" {
			break
		}
	}
	if len(appeals) != domain.MaxAppealsPerMember+1 {
		t.Fatalf("ListAppeals returned %d, want %d", len(appeals), domain.MaxAppealsPerMember+1)
	}
	var statements []*candorv1.MinorityStatement
	for tok := ""; ; {
		resp, err := w.Auditor.Calls.ListMinorityStatements(w.Auditor.Ctx(t), &candorv1.ListMinorityStatementsRequest{Call: call, PageSize: 2, PageToken: tok})
		if err != nil {
			t.Fatalf("ListMinorityStatements: %v", err)
		}
		for _, ms := range resp.MinorityStatements {
			if proto.Size(ms) < len(text) {
				t.Errorf("statement %s came back trimmed", ms.Name)
			}
		}
		statements = append(statements, resp.MinorityStatements...)
		if tok = resp.NextPageToken; tok == "" {
			break
		}
	}
	if len(statements) != domain.MaxStatementsPerAuthor {
		t.Fatalf("ListMinorityStatements returned %d, want %d", len(statements), domain.MaxStatementsPerAuthor)
	}

	// A page token from another kind of list is refused; so is an outsider.
	rec, err := w.Auditor.Audit.ListCallRecord(w.Auditor.Ctx(t), &candorv1.ListCallRecordRequest{Call: call, PageSize: 1})
	if err != nil {
		t.Fatalf("ListCallRecord: %v", err)
	}
	_, err = w.Alice.Calls.ListAppeals(w.Alice.Ctx(t), &candorv1.ListAppealsRequest{Call: call, PageToken: rec.NextPageToken})
	wantStatus(t, err, codes.InvalidArgument, "INVALID_ARGUMENT")
	_, err = w.Outsider.Calls.ListAppeals(w.Outsider.Ctx(t), &candorv1.ListAppealsRequest{Call: call})
	wantStatus(t, err, codes.PermissionDenied, "NOT_MEMBER")
}
