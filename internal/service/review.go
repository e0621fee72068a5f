package service

import (
	"context"
	"sort"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/internal/domain"
	"github.com/candorhq/candor/internal/resource"
	"github.com/candorhq/candor/internal/store"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// ReviewReport summarises a body's calls opened in [from, to) for its periodic review of the model:
// per stakeholder group, how many were eligible, declared, declared a conflict, recused and took
// part; calls by kind and outcome; designations objected to or appealed; and members who never
// declared. Open calls are counted from their live state. Members of the body, auditors and admins
// (docs/permissions.md).
func (s *Service) ReviewReport(ctx context.Context, pr Principal, body uuid.UUID, from, to time.Time) (*candorv1.ReviewReport, error) {
	if to.IsZero() {
		to = s.now()
	}
	rep := &candorv1.ReviewReport{Body: resource.Body(body), EndTime: timestamppb.New(to)}
	if !from.IsZero() {
		rep.StartTime = timestamppb.New(from)
	}
	err := s.store.View(func(tx *store.ReadTx) error {
		if _, err := tx.Body(body); err != nil {
			return err
		}
		if err := canSeeBody(tx, pr, body); err != nil {
			return err
		}
		members, err := tx.ListMembers(body, uuid.Nil, 0)
		if err != nil {
			return err
		}
		groups := map[string]*candorv1.GroupReview{}
		group := func(name string) *candorv1.GroupReview {
			g := groups[name]
			if g == nil {
				g = &candorv1.GroupReview{StakeholderGroup: name}
				groups[name] = g
			}
			return g
		}
		for _, m := range members {
			group(m.StakeholderGroup).Members++
		}
		calls, err := tx.ListCalls(body, uuid.Nil, 0)
		if err != nil {
			return err
		}
		eligibleSomewhere, declaredSomewhere := map[string]bool{}, map[string]bool{}
		outcomes := map[[2]string]*candorv1.OutcomeCount{}
		for _, c := range calls {
			opened := c.OpenTime.AsTime()
			if opened.Before(from) || !opened.Before(to) {
				continue
			}
			rep.Calls++
			key := [2]string{c.Kind.String(), outcomeLabel(c)}
			if outcomes[key] == nil {
				outcomes[key] = &candorv1.OutcomeCount{Kind: c.Kind, Outcome: key[1]}
			}
			outcomes[key].Count++
			if len(c.GetConsensus().GetObjections()) > 0 {
				rep.ObjectedCalls = append(rep.ObjectedCalls, c.Name)
			}
			if len(c.GetConsensus().GetAppeals()) > 0 {
				rep.AppealedCalls = append(rep.AppealedCalls, c.Name)
			}
			result := c.Result
			if result == nil { // still open: count its live state
				_, callID, _ := resource.ParseCall(c.Name)
				standings, ballots, err := callState(tx, body, callID, c)
				if err != nil {
					return err
				}
				result = domain.Tally(c, standings, ballots)
			}
			for _, g := range result.Groups {
				r := group(g.StakeholderGroup)
				r.Eligible += g.Eligible
				r.Declared += g.Declared
				r.Conflicts += g.Conflicts
				r.Recusals += g.Recusals
				for _, oc := range g.Counts {
					r.Participated += oc.Count
				}
			}
			undeclared := map[string]bool{}
			for _, p := range result.Undeclared {
				undeclared[p] = true
			}
			for _, p := range c.EligibleParticipants {
				eligibleSomewhere[p] = true
				if !undeclared[p] {
					declaredSomewhere[p] = true
				}
			}
		}
		for _, m := range members {
			if eligibleSomewhere[m.Participant] && !declaredSomewhere[m.Participant] {
				rep.NeverDeclared = append(rep.NeverDeclared, m.Participant)
			}
		}
		for _, g := range groups {
			if g.Eligible > 0 {
				g.DeclarationRate = float64(g.Declared) / float64(g.Eligible)
				g.ParticipationRate = float64(g.Participated) / float64(g.Eligible)
			}
			if g.Declared > 0 {
				g.ConflictRate = float64(g.Conflicts) / float64(g.Declared)
			}
			rep.Groups = append(rep.Groups, g)
		}
		sort.Slice(rep.Groups, func(i, j int) bool { return rep.Groups[i].StakeholderGroup < rep.Groups[j].StakeholderGroup })
		for _, o := range outcomes {
			rep.Outcomes = append(rep.Outcomes, o)
		}
		sort.Slice(rep.Outcomes, func(i, j int) bool {
			a, b := rep.Outcomes[i], rep.Outcomes[j]
			return a.Kind < b.Kind || (a.Kind == b.Kind && a.Outcome < b.Outcome)
		})
		return nil
	})
	return rep, err
}

// outcomeLabel names how a call ended, for the review report.
func outcomeLabel(c *candorv1.Call) string {
	switch {
	case c.State == candorv1.CallState_CALL_STATE_OPEN:
		return "open"
	case c.Kind == candorv1.CallKind_CALL_KIND_CONSENSUS && c.GetConsensus().GetFinal() != nil:
		return c.Consensus.Final.Level.String()
	case c.Kind == candorv1.CallKind_CALL_KIND_CONSENSUS:
		return "undesignated"
	}
	return c.GetResult().GetOutcome().String()
}
