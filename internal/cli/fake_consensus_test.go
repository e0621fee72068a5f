package cli

import (
	"context"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// Fixtures and fake RPCs for consensus calls, minority statements and the review report.

const minority = consCall + "/minorityStatements/5a000000-0000-4000-8000-000000000001"

var (
	proposal1 = &candorv1.Designation{
		Revision: 1, Level: candorv1.ConsensusLevel_CONSENSUS_LEVEL_FULL_CONSENSUS,
		Rationale: "Every position but one supports the recommendation.", Chair: alice, CreateTime: at(130), ObjectionDeadline: at(190),
	}
	proposal2 = &candorv1.Designation{
		Revision: 2, Level: candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS,
		Rationale: "One registry member opposes: a small minority.", Chair: alice, CreateTime: at(150), ObjectionDeadline: at(152),
	}
	finalDesignation = &candorv1.Designation{
		Revision: 2, Level: candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS,
		Rationale: proposal2.GetRationale(), Chair: alice, CreateTime: at(160), ObjectionDeadline: at(152),
	}
	objection = &candorv1.Objection{Revision: 1, Participant: bob, Reason: "I opposed, so it is not full consensus.", CreateTime: at(140)}
	appeal    = &candorv1.Appeal{Participant: bob, Reason: "The registries' cost was not weighed.", CreateTime: at(170)}
	statement = &candorv1.MinorityStatement{
		Name: minority, Author: bob, Text: "We dissent: the cost falls on registries.\n\nWe ask for a phased start.",
		Cosigners: []string{dave, alice}, SignedBy: []string{dave}, CreateTime: at(115),
	}
	position = &candorv1.PositionStatement{
		Name: consCall + "/positions/90000000-0000-4000-8000-000000000001", Participant: bob,
		Position: candorv1.Position_POSITION_OPPOSE, Comment: "The cost falls on registries.",
		Declaration: consCall + "/declarations/de000000-0000-4000-8000-000000000007", ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL,
		CreateTime: at(110),
	}

	callConsensus = &candorv1.Call{
		Name: consCall, Title: "Recommendation 7: registry fees", Matter: "Adopt recommendation 7 of the final report.",
		Kind: candorv1.CallKind_CALL_KIND_CONSENSUS, Options: []string{"support", "support-with-concerns", "oppose", "abstain"},
		AffectedParties: []string{"Example Registry Inc.", "DNS Forum"}, ConflictPolicy: candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE,
		EligibleParticipants: []string{alice, bob, dave}, State: candorv1.CallState_CALL_STATE_CLOSED,
		OpenedBy: alice, OpenTime: at(100), ClosedBy: alice, CloseTime: at(120),
		Result: &candorv1.Result{
			Counts: []*candorv1.OptionCount{
				{Option: "support", Count: 1}, {Option: "support-with-concerns", Count: 1}, {Option: "oppose", Count: 1}, {Option: "abstain"},
			},
			Eligible: 3, BallotsCounted: 3, VotesCast: 3, Turnout: 1,
			// Dave's SOI changed after he stated his position: under DISCLOSE it counts, flagged as stale.
			Stale: []string{dave},
			Flagged: []*candorv1.FlaggedBallot{
				{Participant: bob, Option: "oppose", ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL},
				{Participant: dave, Option: "support-with-concerns", ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, Stale: true},
			},
			Groups: []*candorv1.GroupTally{
				{StakeholderGroup: "At-Large", Eligible: 1, Declared: 1, Counts: []*candorv1.OptionCount{
					{Option: "support", Count: 1}, {Option: "support-with-concerns"}, {Option: "oppose"}, {Option: "abstain"}}},
				{StakeholderGroup: "Registries", Eligible: 1, Declared: 1, Conflicts: 1, Counts: []*candorv1.OptionCount{
					{Option: "support"}, {Option: "support-with-concerns"}, {Option: "oppose", Count: 1}, {Option: "abstain"}}},
				{StakeholderGroup: "", Eligible: 1, Declared: 1, Stale: 1, Counts: []*candorv1.OptionCount{
					{Option: "support"}, {Option: "support-with-concerns", Count: 1}, {Option: "oppose"}, {Option: "abstain"}}},
			},
		},
		Consensus: &candorv1.ConsensusRecord{
			Proposals: []*candorv1.Designation{proposal1, proposal2}, Objections: []*candorv1.Objection{objection},
			Final: finalDesignation, Appeals: []*candorv1.Appeal{appeal}, MinorityStatements: []*candorv1.MinorityStatement{statement},
		},
	}

	// callProposed is the consensus call just after the chair's first proposal.
	callProposed = &candorv1.Call{
		Name: consCall, Title: callConsensus.GetTitle(), Kind: candorv1.CallKind_CALL_KIND_CONSENSUS,
		State: candorv1.CallState_CALL_STATE_CLOSED, Consensus: &candorv1.ConsensusRecord{Proposals: []*candorv1.Designation{proposal1}},
	}

	consensusRecord = []*candorv1.RecordEntry{
		{LogIndex: 50, Entry: &candorv1.LogEntry{Format: 1, Kind: candorv1.EntryKind_ENTRY_KIND_CALL_OPENED, Time: at(100), Actor: alice, Subject: consCall,
			Payload: &candorv1.LogEntry_Call{Call: &candorv1.Call{Name: consCall, Title: callConsensus.GetTitle(), Kind: candorv1.CallKind_CALL_KIND_CONSENSUS,
				Options: callConsensus.GetOptions(), ConflictPolicy: candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE, EligibleParticipants: []string{alice, bob, dave}}}}},
		{LogIndex: 53, Entry: &candorv1.LogEntry{Format: 1, Kind: candorv1.EntryKind_ENTRY_KIND_POSITION, Time: at(110), Actor: bob, Subject: consCall,
			Payload: &candorv1.LogEntry_PositionStatement{PositionStatement: position}}},
		{LogIndex: 55, Entry: &candorv1.LogEntry{Format: 1, Kind: candorv1.EntryKind_ENTRY_KIND_MINORITY_STATEMENT_FILED, Time: at(115), Actor: bob, Subject: consCall,
			Payload: &candorv1.LogEntry_MinorityStatement{MinorityStatement: &candorv1.MinorityStatement{Name: minority, Author: bob, Cosigners: []string{dave, alice}}}}},
		{LogIndex: 56, Entry: &candorv1.LogEntry{Format: 1, Kind: candorv1.EntryKind_ENTRY_KIND_MINORITY_STATEMENT_SIGNED, Time: at(116), Actor: dave, Subject: consCall,
			Payload: &candorv1.LogEntry_MinorityStatement{MinorityStatement: statement}}},
		{LogIndex: 57, Entry: &candorv1.LogEntry{Format: 1, Kind: candorv1.EntryKind_ENTRY_KIND_CALL_CLOSED, Time: at(120), Actor: alice, Subject: consCall,
			Payload: &candorv1.LogEntry_Call{Call: callConsensus}}},
		{LogIndex: 58, Entry: &candorv1.LogEntry{Format: 1, Kind: candorv1.EntryKind_ENTRY_KIND_DESIGNATION_PROPOSED, Time: at(130), Actor: alice, Subject: consCall,
			Payload: &candorv1.LogEntry_Designation{Designation: proposal1}}},
		{LogIndex: 59, Entry: &candorv1.LogEntry{Format: 1, Kind: candorv1.EntryKind_ENTRY_KIND_OBJECTION, Time: at(140), Actor: bob, Subject: consCall,
			Payload: &candorv1.LogEntry_Objection{Objection: objection}}},
		{LogIndex: 61, Entry: &candorv1.LogEntry{Format: 1, Kind: candorv1.EntryKind_ENTRY_KIND_DESIGNATION_FINALIZED, Time: at(160), Actor: alice, Subject: consCall,
			Payload: &candorv1.LogEntry_Designation{Designation: finalDesignation}}},
		{LogIndex: 62, Entry: &candorv1.LogEntry{Format: 1, Kind: candorv1.EntryKind_ENTRY_KIND_APPEAL, Time: at(170), Actor: bob, Subject: consCall,
			Payload: &candorv1.LogEntry_Appeal{Appeal: appeal}}},
	}

	review = &candorv1.ReviewReport{
		Body: council, StartTime: at(0), EndTime: at(24 * 60), Calls: 3,
		Outcomes: []*candorv1.OutcomeCount{
			{Kind: candorv1.CallKind_CALL_KIND_VOTE, Outcome: "OUTCOME_DECIDED", Count: 1},
			{Kind: candorv1.CallKind_CALL_KIND_VOTE, Outcome: "open", Count: 1},
			{Kind: candorv1.CallKind_CALL_KIND_CONSENSUS, Outcome: "CONSENSUS_LEVEL_CONSENSUS", Count: 1},
		},
		Groups: []*candorv1.GroupReview{
			{StakeholderGroup: "", Members: 1, Eligible: 3, Declared: 2, Conflicts: 1, Recusals: 1, Participated: 1,
				DeclarationRate: 2.0 / 3, ConflictRate: 0.5, ParticipationRate: 1.0 / 3},
			{StakeholderGroup: "At-Large", Members: 1, Eligible: 3, Declared: 3, Conflicts: 1, Participated: 3,
				DeclarationRate: 1, ConflictRate: 1.0 / 3, ParticipationRate: 1},
			{StakeholderGroup: "Registries", Members: 1, Eligible: 2, Declared: 2, Conflicts: 2, Recusals: 1, Participated: 1,
				DeclarationRate: 1, ConflictRate: 1, ParticipationRate: 0.5},
		},
		ObjectedCalls: []string{consCall}, AppealedCalls: []string{consCall}, NeverDeclared: []string{dave},
	}
)

func (f *fakeServer) StatePosition(ctx context.Context, req *candorv1.StatePositionRequest) (*candorv1.StatePositionResponse, error) {
	if err := f.record(ctx, "StatePosition", req); err != nil {
		return nil, err
	}
	return &candorv1.StatePositionResponse{PositionStatement: position, Receipt: receipt(53)}, nil
}

func (f *fakeServer) ProposeDesignation(ctx context.Context, req *candorv1.ProposeDesignationRequest) (*candorv1.ProposeDesignationResponse, error) {
	if err := f.record(ctx, "ProposeDesignation", req); err != nil {
		return nil, err
	}
	return &candorv1.ProposeDesignationResponse{Call: callProposed, Receipt: receipt(58)}, nil
}

func (f *fakeServer) ObjectToDesignation(ctx context.Context, req *candorv1.ObjectToDesignationRequest) (*candorv1.ObjectToDesignationResponse, error) {
	if err := f.record(ctx, "ObjectToDesignation", req); err != nil {
		return nil, err
	}
	return &candorv1.ObjectToDesignationResponse{Objection: objection, Receipt: receipt(59)}, nil
}

func (f *fakeServer) FinalizeDesignation(ctx context.Context, req *candorv1.FinalizeDesignationRequest) (*candorv1.FinalizeDesignationResponse, error) {
	if err := f.record(ctx, "FinalizeDesignation", req); err != nil {
		return nil, err
	}
	return &candorv1.FinalizeDesignationResponse{Call: callConsensus, Receipt: receipt(61)}, nil
}

func (f *fakeServer) AppealDesignation(ctx context.Context, req *candorv1.AppealDesignationRequest) (*candorv1.AppealDesignationResponse, error) {
	if err := f.record(ctx, "AppealDesignation", req); err != nil {
		return nil, err
	}
	return &candorv1.AppealDesignationResponse{Appeal: appeal, Receipt: receipt(62)}, nil
}

func (f *fakeServer) FileMinorityStatement(ctx context.Context, req *candorv1.FileMinorityStatementRequest) (*candorv1.FileMinorityStatementResponse, error) {
	if err := f.record(ctx, "FileMinorityStatement", req); err != nil {
		return nil, err
	}
	filed := &candorv1.MinorityStatement{Name: minority, Author: bob, Text: statement.GetText(), Cosigners: statement.GetCosigners(), CreateTime: at(115)}
	return &candorv1.FileMinorityStatementResponse{MinorityStatement: filed, Receipt: receipt(55)}, nil
}

func (f *fakeServer) SignMinorityStatement(ctx context.Context, req *candorv1.SignMinorityStatementRequest) (*candorv1.SignMinorityStatementResponse, error) {
	if err := f.record(ctx, "SignMinorityStatement", req); err != nil {
		return nil, err
	}
	return &candorv1.SignMinorityStatementResponse{MinorityStatement: statement, Receipt: receipt(56)}, nil
}

func (f *fakeServer) GetReviewReport(ctx context.Context, req *candorv1.GetReviewReportRequest) (*candorv1.GetReviewReportResponse, error) {
	if err := f.record(ctx, "GetReviewReport", req); err != nil {
		return nil, err
	}
	return &candorv1.GetReviewReportResponse{Report: review}, nil
}
