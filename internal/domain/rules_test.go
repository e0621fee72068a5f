package domain

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

var (
	t0   = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	call = "bodies/b/calls/c"
)

func vote(policy candorv1.ConflictPolicy, eligible ...string) *candorv1.Call {
	c := &candorv1.Call{Name: call, Title: "t", ConflictPolicy: policy, Quorum: 0}
	if err := PrepareCall(c, eligible, "participants/chair", t0); err != nil {
		panic(err)
	}
	c.OpenTime = timestamppb.New(t0)
	return c
}

func decl(p string, level candorv1.ConflictLevel, intent candorv1.Intent, soi int64) *candorv1.Declaration {
	return &candorv1.Declaration{
		Name: call + "/declarations/" + p, Participant: p, ConflictLevel: level, Intent: intent,
		SoiVersion: soi, CreateTime: timestamppb.New(t0.Add(time.Minute)),
	}
}

func TestCheckBallot(t *testing.T) {
	const p = "participants/p"
	none, potential, actual := candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL, candorv1.ConflictLevel_CONFLICT_LEVEL_ACTUAL
	join, recuse := candorv1.Intent_INTENT_PARTICIPATE, candorv1.Intent_INTENT_RECUSE
	disclose, recusePolicy, review := candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE, candorv1.ConflictPolicy_CONFLICT_POLICY_RECUSE, candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW
	now := t0.Add(time.Hour)
	early := decl(p, none, join, 1)
	early.CreateTime = timestamppb.New(t0.Add(-time.Second))
	other := decl(p, none, join, 1)
	other.Name = "bodies/b/calls/other/declarations/x"
	cleared := func(d *candorv1.Declaration, dec candorv1.ClearanceDecision) *candorv1.Clearance {
		return &candorv1.Clearance{Declaration: d.Name, Participant: p, Decision: dec}
	}
	potentialDecl := decl(p, potential, join, 1)
	tests := []struct {
		name   string
		policy candorv1.ConflictPolicy
		s      Standing
		who    string
		now    time.Time
		want   error
	}{
		{"current declaration", disclose, Standing{Declaration: decl(p, none, join, 1), SOIVersion: 1}, p, now, nil},
		{"none", disclose, Standing{SOIVersion: 1}, p, now, ErrDeclarationRequired},
		{"filed before the call opened", disclose, Standing{Declaration: early, SOIVersion: 1}, p, now, ErrDeclarationRequired},
		{"for another call", disclose, Standing{Declaration: other, SOIVersion: 1}, p, now, ErrDeclarationRequired},
		{"someone else's", disclose, Standing{Declaration: decl("participants/q", none, join, 1), SOIVersion: 1}, p, now, ErrDeclarationRequired},
		{"stale", disclose, Standing{Declaration: decl(p, none, join, 1), SOIVersion: 2}, p, now, ErrDeclarationStale},
		{"recusal", disclose, Standing{Declaration: decl(p, actual, recuse, 1), SOIVersion: 1}, p, now, ErrRecused},
		{"disclose actual", disclose, Standing{Declaration: decl(p, actual, join, 1), SOIVersion: 1}, p, now, nil},
		{"recuse policy actual", recusePolicy, Standing{Declaration: decl(p, actual, join, 1), SOIVersion: 1}, p, now, ErrRecused},
		{"recuse policy potential", recusePolicy, Standing{Declaration: decl(p, potential, join, 1), SOIVersion: 1}, p, now, nil},
		{"review uncleared", review, Standing{Declaration: potentialDecl, SOIVersion: 1}, p, now, ErrDeclarationNotClear},
		{"review cleared", review, Standing{Declaration: potentialDecl, Clearance: cleared(potentialDecl, candorv1.ClearanceDecision_CLEARANCE_DECISION_CLEARED), SOIVersion: 1}, p, now, nil},
		{"review cleared another declaration", review, Standing{Declaration: decl(p, potential, join, 1), Clearance: &candorv1.Clearance{Declaration: "old", Decision: candorv1.ClearanceDecision_CLEARANCE_DECISION_CLEARED}, SOIVersion: 1}, p, now, ErrDeclarationNotClear},
		{"review recusal required", review, Standing{Declaration: potentialDecl, Clearance: cleared(potentialDecl, candorv1.ClearanceDecision_CLEARANCE_DECISION_RECUSAL_REQUIRED), SOIVersion: 1}, p, now, ErrRecused},
		{"review no conflict", review, Standing{Declaration: decl(p, none, join, 1), SOIVersion: 1}, p, now, nil},
		{"not eligible", disclose, Standing{Declaration: decl("participants/x", none, join, 1), SOIVersion: 1}, "participants/x", now, ErrNotEligible},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := vote(tt.policy, p, "participants/q")
			if err := CheckBallot(c, tt.who, IsEligible(c, tt.who), tt.s, tt.now); !errors.Is(err, tt.want) {
				t.Errorf("CheckBallot = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("past the deadline", func(t *testing.T) {
		c := vote(disclose, p)
		c.Deadline = timestamppb.New(t0.Add(30 * time.Minute))
		if err := CheckBallot(c, p, true, Standing{Declaration: decl(p, none, join, 1), SOIVersion: 1}, now); !errors.Is(err, ErrCallClosed) {
			t.Errorf("CheckBallot after the deadline = %v, want ErrCallClosed", err)
		}
	})
	t.Run("consensus call", func(t *testing.T) {
		c := vote(disclose, p)
		c.Kind = candorv1.CallKind_CALL_KIND_CONSENSUS
		if err := CheckBallot(c, p, true, Standing{Declaration: decl(p, none, join, 1), SOIVersion: 1}, now); !errors.Is(err, ErrWrongKind) {
			t.Errorf("CheckBallot on a consensus call = %v, want ErrWrongKind", err)
		}
	})
}

// TestChecksTakeEligibilityAsGiven: the write path never decodes a call's list of eligible
// participants, so the checks must decide by the eligibility they are given, never by the list.
func TestChecksTakeEligibilityAsGiven(t *testing.T) {
	const p = "participants/p"
	none, join := candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.Intent_INTENT_PARTICIPATE
	now := t0.Add(time.Hour)
	listed := vote(candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE, p)
	head := vote(candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE, p)
	head.EligibleParticipants = nil // a call head, as the write path reads it
	s := Standing{Declaration: decl(p, none, join, 1), SOIVersion: 1}
	if err := CheckBallot(head, p, true, s, now); err != nil {
		t.Errorf("CheckBallot(eligible, head without list) = %v, want nil", err)
	}
	if err := CheckBallot(listed, p, false, s, now); !errors.Is(err, ErrNotEligible) {
		t.Errorf("CheckBallot(not eligible, listed) = %v, want ErrNotEligible", err)
	}
	consensus := vote(candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE, p)
	consensus.EligibleParticipants = nil
	consensus.Kind = candorv1.CallKind_CALL_KIND_CONSENSUS
	if err := CheckPosition(consensus, p, true, s, now); err != nil {
		t.Errorf("CheckPosition(eligible, head without list) = %v, want nil", err)
	}
	if err := CheckDeclaration(head, true, 1, false, now); err != nil {
		t.Errorf("CheckDeclaration(eligible, head without list) = %v, want nil", err)
	}
	if err := CheckDeclaration(listed, false, 1, false, now); !errors.Is(err, ErrNotEligible) {
		t.Errorf("CheckDeclaration(not eligible, listed) = %v, want ErrNotEligible", err)
	}
}

func TestTallyThresholds(t *testing.T) {
	tests := []struct {
		threshold candorv1.Threshold
		quorum    int32
		yes, no   int
		abstain   int
		want      candorv1.Outcome
		winner    string
	}{
		{candorv1.Threshold_THRESHOLD_SIMPLE_MAJORITY, 0, 3, 2, 0, candorv1.Outcome_OUTCOME_DECIDED, "yes"},
		{candorv1.Threshold_THRESHOLD_SIMPLE_MAJORITY, 0, 2, 2, 0, candorv1.Outcome_OUTCOME_NO_DECISION, ""},
		// Abstentions are not votes cast: 2 yes of 3 cast carries two thirds despite 5 abstentions.
		{candorv1.Threshold_THRESHOLD_TWO_THIRDS, 0, 2, 1, 5, candorv1.Outcome_OUTCOME_DECIDED, "yes"},
		{candorv1.Threshold_THRESHOLD_TWO_THIRDS, 0, 3, 2, 0, candorv1.Outcome_OUTCOME_NO_DECISION, ""},
		{candorv1.Threshold_THRESHOLD_SIMPLE_MAJORITY, 0, 1, 3, 0, candorv1.Outcome_OUTCOME_DECIDED, "no"},
		// Abstentions count towards quorum.
		{candorv1.Threshold_THRESHOLD_SIMPLE_MAJORITY, 4, 1, 0, 3, candorv1.Outcome_OUTCOME_DECIDED, "yes"},
		{candorv1.Threshold_THRESHOLD_SIMPLE_MAJORITY, 5, 1, 0, 3, candorv1.Outcome_OUTCOME_NO_QUORUM, ""},
		{candorv1.Threshold_THRESHOLD_SIMPLE_MAJORITY, 0, 0, 0, 2, candorv1.Outcome_OUTCOME_NO_DECISION, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v q%d %d-%d-%d", tt.threshold, tt.quorum, tt.yes, tt.no, tt.abstain), func(t *testing.T) {
			var names []string
			ballots := map[string]*candorv1.Ballot{}
			standings := map[string]Standing{}
			add := func(n int, option string) {
				for range n {
					p := fmt.Sprintf("participants/%d", len(names))
					names = append(names, p)
					ballots[p] = &candorv1.Ballot{Participant: p, Option: option}
					standings[p] = Standing{Declaration: decl(p, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.Intent_INTENT_PARTICIPATE, 1), SOIVersion: 1}
				}
			}
			add(tt.yes, "yes")
			add(tt.no, "no")
			add(tt.abstain, "abstain")
			names = append(names, "participants/absent")
			c := vote(candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE, names...)
			c.Threshold, c.Quorum = tt.threshold, tt.quorum
			r := Tally(c, standings, ballots)
			if r.Outcome != tt.want || r.WinningOption != tt.winner {
				t.Errorf("outcome %v %q, want %v %q", r.Outcome, r.WinningOption, tt.want, tt.winner)
			}
			if r.VotesCast != int32(tt.yes+tt.no) || r.Abstentions != int32(tt.abstain) {
				t.Errorf("cast %d abstentions %d", r.VotesCast, r.Abstentions)
			}
			if len(r.Undeclared) != 1 {
				t.Errorf("undeclared = %v, want the absent participant", r.Undeclared)
			}
		})
	}
}

func TestTallyLeavesRecusalsOut(t *testing.T) {
	p, q := "participants/p", "participants/q"
	c := vote(candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE, p, q)
	// p voted, then re-declared as recused: the ballot is withdrawn; q voted under a conflict: flagged.
	standings := map[string]Standing{
		p: {Declaration: decl(p, candorv1.ConflictLevel_CONFLICT_LEVEL_ACTUAL, candorv1.Intent_INTENT_RECUSE, 1), SOIVersion: 1, Group: "A"},
		q: {Declaration: decl(q, candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL, candorv1.Intent_INTENT_PARTICIPATE, 1), SOIVersion: 1, Group: "B"},
	}
	ballots := map[string]*candorv1.Ballot{
		p: {Participant: p, Option: "yes"},
		q: {Participant: q, Option: "no", ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL},
	}
	r := Tally(c, standings, ballots)
	if r.BallotsCounted != 1 || len(r.Recused) != 1 || r.Recused[0] != p || r.Turnout != 1 {
		t.Errorf("counted %d recused %v turnout %v; want 1 [p] 1", r.BallotsCounted, r.Recused, r.Turnout)
	}
	if len(r.Flagged) != 1 || r.Flagged[0].Participant != q {
		t.Errorf("flagged = %v, want [q]", r.Flagged)
	}
	if len(r.Groups) != 2 || r.Groups[0].Recusals != 1 || r.Groups[1].Conflicts != 1 {
		t.Errorf("groups = %v", r.Groups)
	}
}

func TestAffectedMatches(t *testing.T) {
	c := &candorv1.Call{AffectedParties: []string{"Example Registry, Inc.", "Other Corp"}}
	tests := []struct {
		soi  *candorv1.StatementOfInterest
		want int
	}{
		{&candorv1.StatementOfInterest{Employer: "example registry inc"}, 1},
		{&candorv1.StatementOfInterest{Represents: "EXAMPLE-REGISTRY INC"}, 1},
		{&candorv1.StatementOfInterest{Interests: []*candorv1.Interest{{Organization: "Other  Corp."}}}, 1},
		{&candorv1.StatementOfInterest{Employer: "Example Registrar"}, 0},
		{&candorv1.StatementOfInterest{Employer: "..."}, 0},
		{nil, 0},
	}
	for _, tt := range tests {
		if got := AffectedMatches(c, tt.soi); len(got) != tt.want {
			t.Errorf("AffectedMatches(%v) = %v, want %d matches", tt.soi, got, tt.want)
		}
	}
	if err := CheckScreening(c, tests[0].soi, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, ""); !errors.Is(err, ErrExplanationRequired) {
		t.Errorf("CheckScreening without explanation = %v", err)
	}
	if err := CheckScreening(c, tests[0].soi, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, "left that job"); err != nil {
		t.Errorf("CheckScreening with explanation = %v", err)
	}
}

func TestSOIContentHashIgnoresOutputFields(t *testing.T) {
	a := &candorv1.StatementOfInterest{Employer: "E", Interests: []*candorv1.Interest{{Organization: "O", Nature: "n"}}}
	b := &candorv1.StatementOfInterest{Employer: "E", Interests: []*candorv1.Interest{{Organization: "O", Nature: "n"}},
		Name: "x", Version: 9, ContentHash: []byte{1}, CreateTime: timestamppb.Now()}
	if string(SOIContentHash(a)) != string(SOIContentHash(b)) {
		t.Error("content hash depends on output-only fields")
	}
	b.Employer = "F"
	if string(SOIContentHash(a)) == string(SOIContentHash(b)) {
		t.Error("content hash ignores the employer")
	}
}

func TestDesignationWindow(t *testing.T) {
	c := vote(candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE, "participants/p")
	c.Kind = candorv1.CallKind_CALL_KIND_CONSENSUS
	c.Consensus = &candorv1.ConsensusRecord{}
	if err := CheckPropose(c, 0); !errors.Is(err, ErrCallStillOpen) {
		t.Errorf("propose while open = %v", err)
	}
	c.State = candorv1.CallState_CALL_STATE_CLOSED
	c.Consensus.Proposals = append(c.Consensus.Proposals, &candorv1.Designation{Revision: 1, ObjectionDeadline: timestamppb.New(t0)})
	if err := CheckObjection(c, "participants/p", t0.Add(-time.Second)); err != nil {
		t.Errorf("objection in the window = %v", err)
	}
	if err := CheckObjection(c, "participants/p", t0); !errors.Is(err, ErrObjectionWindowClosed) {
		t.Errorf("objection at the deadline = %v", err)
	}
	if err := CheckFinalize(c, t0.Add(-time.Second)); !errors.Is(err, ErrObjectionWindowOpen) {
		t.Errorf("finalise in the window = %v", err)
	}
	if err := CheckFinalize(c, t0); err != nil {
		t.Errorf("finalise after the window = %v", err)
	}
}

func TestNarrowedEligibilityNeedsJustification(t *testing.T) {
	c := &candorv1.Call{Title: "t", EligibleParticipants: []string{"participants/p"}}
	if err := PrepareCall(c, []string{"participants/p", "participants/q"}, "participants/chair", t0); !errors.Is(err, ErrJustificationRequired) {
		t.Errorf("PrepareCall narrowed without a reason = %v, want ErrJustificationRequired", err)
	}
	c.EligibilityJustification = "liaison matter"
	if err := PrepareCall(c, []string{"participants/p", "participants/q"}, "participants/chair", t0); err != nil || !c.EligibilityRestricted {
		t.Errorf("PrepareCall with a reason = %v, restricted %v", err, c.EligibilityRestricted)
	}
}

// TestTallyWeighsConflictsDeclaredAfterVoting: a ballot cast under NONE, then a new declaration of a
// conflict: under REVIEW it waits for the chair; under DISCLOSE it is flagged.
func TestTallyWeighsConflictsDeclaredAfterVoting(t *testing.T) {
	const p = "participants/p"
	for _, tt := range []struct {
		policy    candorv1.ConflictPolicy
		clearance candorv1.ClearanceDecision
		counted   int32
		flagged   int
		uncleared int
	}{
		{candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE, 0, 1, 1, 0},
		{candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW, 0, 0, 0, 1},
		{candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW, candorv1.ClearanceDecision_CLEARANCE_DECISION_CLEARED, 1, 1, 0},
	} {
		t.Run(fmt.Sprint(tt.policy, tt.clearance), func(t *testing.T) {
			c := vote(tt.policy, p)
			d := decl(p, candorv1.ConflictLevel_CONFLICT_LEVEL_ACTUAL, candorv1.Intent_INTENT_PARTICIPATE, 1)
			s := Standing{Declaration: d, SOIVersion: 1}
			if tt.clearance != 0 {
				s.Clearance = &candorv1.Clearance{Declaration: d.Name, Decision: tt.clearance}
			}
			r := Tally(c, map[string]Standing{p: s}, map[string]*candorv1.Ballot{p: {Participant: p, Option: "yes", ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_NONE}})
			if r.BallotsCounted != tt.counted || len(r.Flagged) != tt.flagged || len(r.Uncleared) != tt.uncleared {
				t.Errorf("counted %d flagged %d uncleared %d; want %d %d %d", r.BallotsCounted, len(r.Flagged), len(r.Uncleared), tt.counted, tt.flagged, tt.uncleared)
			}
		})
	}
}

func TestChairCannotClearThemselves(t *testing.T) {
	const chair = "participants/chair"
	c := vote(candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW, chair, "participants/p")
	if err := CheckClearance(c, decl(chair, candorv1.ConflictLevel_CONFLICT_LEVEL_ACTUAL, candorv1.Intent_INTENT_PARTICIPATE, 1), chair, t0.Add(time.Hour)); !errors.Is(err, ErrSelfClearance) {
		t.Errorf("self-clearance = %v, want ErrSelfClearance", err)
	}
	if err := CheckClearance(c, decl("participants/p", candorv1.ConflictLevel_CONFLICT_LEVEL_ACTUAL, candorv1.Intent_INTENT_PARTICIPATE, 1), chair, t0.Add(time.Hour)); err != nil {
		t.Errorf("clearance of another = %v", err)
	}
}

func TestPrepareCallRefusesWhatIsNotTheChairs(t *testing.T) {
	far := &candorv1.Call{Title: "t", Deadline: timestamppb.New(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC))}
	if err := PrepareCall(far, []string{"participants/p"}, "participants/chair", t0); !errors.Is(err, ErrDeadlineTooFar) {
		t.Errorf("deadline in 2300 = %v, want ErrDeadlineTooFar", err)
	}
	planted := &candorv1.Call{Title: "t", Consensus: &candorv1.ConsensusRecord{
		MinorityStatements: []*candorv1.MinorityStatement{{Author: "participants/p", Text: "not mine"}},
	}}
	if err := PrepareCall(planted, []string{"participants/p"}, "participants/chair", t0); err != nil || planted.Consensus != nil {
		t.Errorf("vote opened with a consensus record: err %v, record %v; want it dropped", err, planted.Consensus)
	}
}

func TestPrepareCallOptionsAndEligibility(t *testing.T) {
	const p, q = "participants/p", "participants/q"
	members := []string{p, q}
	tests := []struct {
		name string
		call *candorv1.Call
		want error
	}{
		{"default options", &candorv1.Call{Title: "t"}, nil},
		{"two options", &candorv1.Call{Title: "t", Options: []string{"Adopt", "Reject"}}, nil},
		{"one option", &candorv1.Call{Title: "t", Options: []string{"yes"}}, ErrTooFewOptions},
		{"an option twice, ignoring case and spaces", &candorv1.Call{Title: "t", Options: []string{"Yes", "no", "yes "}}, ErrDuplicateOption},
		{"consensus positions are fixed", &candorv1.Call{Title: "t", Kind: candorv1.CallKind_CALL_KIND_CONSENSUS}, nil},
		{"narrowed", &candorv1.Call{Title: "t", EligibleParticipants: []string{p}, EligibilityJustification: "liaison"}, nil},
		{"narrowed naming one twice", &candorv1.Call{Title: "t", EligibleParticipants: []string{p, q, p}, EligibilityJustification: "liaison"}, ErrDuplicateEligible},
		{"narrowed without a reason", &candorv1.Call{Title: "t", EligibleParticipants: []string{p}}, ErrJustificationRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := PrepareCall(tt.call, members, "participants/chair", t0); !errors.Is(err, tt.want) {
				t.Errorf("PrepareCall = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestOneObjectionPerProposal(t *testing.T) {
	c := vote(candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE, "participants/p")
	c.Kind, c.State = candorv1.CallKind_CALL_KIND_CONSENSUS, candorv1.CallState_CALL_STATE_CLOSED
	c.Consensus = &candorv1.ConsensusRecord{
		Proposals:  []*candorv1.Designation{{Revision: 1, ObjectionDeadline: timestamppb.New(t0.Add(time.Hour))}},
		Objections: []*candorv1.Objection{{Revision: 1, Participant: "participants/p"}},
	}
	if err := CheckObjection(c, "participants/p", t0); !errors.Is(err, ErrAlreadyObjected) {
		t.Errorf("second objection = %v, want ErrAlreadyObjected", err)
	}
	c.Consensus.Proposals = append(c.Consensus.Proposals, &candorv1.Designation{Revision: 2, ObjectionDeadline: timestamppb.New(t0.Add(time.Hour))})
	if err := CheckObjection(c, "participants/p", t0); err != nil {
		t.Errorf("objection to a revision = %v", err)
	}
}

func TestOppositionNeedsReasons(t *testing.T) {
	if err := CheckStatement(candorv1.Position_POSITION_OPPOSE, " \n"); !errors.Is(err, ErrCommentRequired) {
		t.Errorf("blank opposition = %v, want ErrCommentRequired", err)
	}
	for _, p := range []candorv1.Position{candorv1.Position_POSITION_SUPPORT, candorv1.Position_POSITION_ABSTAIN} {
		if err := CheckStatement(p, ""); err != nil {
			t.Errorf("%v without comment = %v", p, err)
		}
	}
}

// TestTallyStaleDeclarations: a participant votes (or states a position), then files a new SOI
// version without declaring again. Under DISCLOSE the ballot counts and is flagged as stale; under
// RECUSE and REVIEW it is set aside. Declaring again before close supersedes the stale declaration,
// and the ballot is then weighed against the new one.
func TestTallyStaleDeclarations(t *testing.T) {
	const p, q = "participants/p", "participants/q"
	none, potential := candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL
	join := candorv1.Intent_INTENT_PARTICIPATE
	disclose, recusePolicy, review := candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE, candorv1.ConflictPolicy_CONFLICT_POLICY_RECUSE, candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW
	clearedTo := func(d *candorv1.Declaration) *candorv1.Clearance {
		return &candorv1.Clearance{Declaration: d.Name, Decision: candorv1.ClearanceDecision_CLEARANCE_DECISION_CLEARED}
	}
	type want struct {
		counted            int32
		stale, flagged     []string
		staleFlag          bool // the flagged ballot says it is stale
		uncleared, recused int
	}
	for _, tt := range []struct {
		name      string
		policy    candorv1.ConflictPolicy
		consensus bool
		standing  func() Standing // p's standing at close; p's ballot rests on SOI version 1
		want      want
	}{
		{"disclose stale", disclose, false, func() Standing { return Standing{Declaration: decl(p, none, join, 1), SOIVersion: 2} },
			want{counted: 2, stale: []string{p}, flagged: []string{p}, staleFlag: true}},
		{"recuse stale", recusePolicy, false, func() Standing { return Standing{Declaration: decl(p, none, join, 1), SOIVersion: 2} },
			want{counted: 1, stale: []string{p}}},
		{"review stale", review, false, func() Standing { return Standing{Declaration: decl(p, none, join, 1), SOIVersion: 2} },
			want{counted: 1, stale: []string{p}}},
		{"review stale though cleared", review, false, func() Standing {
			d := decl(p, potential, join, 1)
			return Standing{Declaration: d, Clearance: clearedTo(d), SOIVersion: 2}
		}, want{counted: 1, stale: []string{p}}},
		{"review stale and uncleared: stale only", review, false, func() Standing { return Standing{Declaration: decl(p, potential, join, 1), SOIVersion: 2} },
			want{counted: 1, stale: []string{p}}},
		{"recuse stale recusal stays a recusal", recusePolicy, false, func() Standing {
			return Standing{Declaration: decl(p, candorv1.ConflictLevel_CONFLICT_LEVEL_ACTUAL, join, 1), SOIVersion: 2}
		}, want{counted: 1, recused: 1}},
		{"recuse re-declared", recusePolicy, false, func() Standing { return Standing{Declaration: decl(p, none, join, 2), SOIVersion: 2} },
			want{counted: 2}},
		{"disclose re-declared", disclose, false, func() Standing { return Standing{Declaration: decl(p, none, join, 2), SOIVersion: 2} },
			want{counted: 2}},
		{"review re-declared a conflict, not cleared", review, false, func() Standing { return Standing{Declaration: decl(p, potential, join, 2), SOIVersion: 2} },
			want{counted: 1, uncleared: 1}},
		{"review re-declared a conflict and cleared", review, false, func() Standing {
			d := decl(p, potential, join, 2)
			return Standing{Declaration: d, Clearance: clearedTo(d), SOIVersion: 2}
		}, want{counted: 2, flagged: []string{p}}},
		{"consensus disclose stale", disclose, true, func() Standing { return Standing{Declaration: decl(p, none, join, 1), SOIVersion: 2} },
			want{counted: 2, stale: []string{p}, flagged: []string{p}, staleFlag: true}},
		{"consensus recuse stale", recusePolicy, true, func() Standing { return Standing{Declaration: decl(p, none, join, 1), SOIVersion: 2} },
			want{counted: 1, stale: []string{p}}},
		{"consensus review stale", review, true, func() Standing { return Standing{Declaration: decl(p, none, join, 1), SOIVersion: 2} },
			want{counted: 1, stale: []string{p}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := vote(tt.policy, p, q)
			option := "yes"
			ballots := map[string]*candorv1.Ballot{
				p: {Participant: p, Option: option},
				q: {Participant: q, Option: option},
			}
			if tt.consensus {
				c = &candorv1.Call{Name: call, Title: "t", Kind: candorv1.CallKind_CALL_KIND_CONSENSUS, ConflictPolicy: tt.policy}
				if err := PrepareCall(c, []string{p, q}, "participants/chair", t0); err != nil {
					t.Fatal(err)
				}
				option = "support"
				ballots = PositionBallots([]*candorv1.PositionStatement{
					{Participant: p, Position: candorv1.Position_POSITION_SUPPORT},
					{Participant: q, Position: candorv1.Position_POSITION_SUPPORT},
				})
			}
			ps := tt.standing()
			ps.Group = "A"
			standings := map[string]Standing{p: ps, q: {Declaration: decl(q, none, join, 1), SOIVersion: 1, Group: "B"}}
			r := Tally(c, standings, ballots)
			if r.BallotsCounted != tt.want.counted {
				t.Errorf("counted %d, want %d", r.BallotsCounted, tt.want.counted)
			}
			if got := r.Counts[0]; got.Option != option || got.Count != tt.want.counted {
				t.Errorf("first count %v, want %s %d", got, option, tt.want.counted)
			}
			if fmt.Sprint(r.Stale) != fmt.Sprint(tt.want.stale) {
				t.Errorf("stale %v, want %v", r.Stale, tt.want.stale)
			}
			var flagged []string
			for _, f := range r.Flagged {
				flagged = append(flagged, f.Participant)
				if f.Stale != tt.want.staleFlag {
					t.Errorf("flagged %s stale=%v, want %v", f.Participant, f.Stale, tt.want.staleFlag)
				}
			}
			if fmt.Sprint(flagged) != fmt.Sprint(tt.want.flagged) {
				t.Errorf("flagged %v, want %v", flagged, tt.want.flagged)
			}
			if len(r.Uncleared) != tt.want.uncleared || len(r.Recused) != tt.want.recused {
				t.Errorf("uncleared %v recused %v, want %d and %d", r.Uncleared, r.Recused, tt.want.uncleared, tt.want.recused)
			}
			// The group breakdown: p is in A, q in B; the stale figure follows p.
			if len(r.Groups) != 2 || r.Groups[0].StakeholderGroup != "A" {
				t.Fatalf("groups = %v", r.Groups)
			}
			if got, want := r.Groups[0].Stale, int32(len(tt.want.stale)); got != want || r.Groups[1].Stale != 0 {
				t.Errorf("group stale A=%d B=%d, want %d and 0", got, r.Groups[1].Stale, want)
			}
			pCounted := tt.want.counted - 1 // q always counts
			if got := r.Groups[0].Counts[0].Count; got != pCounted {
				t.Errorf("group A counted %d, want %d", got, pCounted)
			}
			// Quorum counts only what is counted.
			c.Quorum = 2
			if tt.consensus {
				return
			}
			if r := Tally(c, standings, ballots); r.QuorumMet != (tt.want.counted >= 2) {
				t.Errorf("quorum met %v with %d counted", r.QuorumMet, tt.want.counted)
			}
		})
	}
}

func TestIsStale(t *testing.T) {
	const p = "participants/p"
	d := decl(p, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.Intent_INTENT_PARTICIPATE, 3)
	for _, tt := range []struct {
		s    Standing
		want bool
	}{
		{Standing{Declaration: d, SOIVersion: 3}, false},
		{Standing{Declaration: d, SOIVersion: 4}, true},
		{Standing{SOIVersion: 4}, false},
	} {
		if got := IsStale(tt.s); got != tt.want {
			t.Errorf("IsStale(declared v%d, SOI v%d) = %v, want %v", tt.s.Declaration.GetSoiVersion(), tt.s.SOIVersion, got, tt.want)
		}
	}
}
