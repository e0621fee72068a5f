package verify_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/internal/domain"
	"github.com/candorhq/candor/internal/verify"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// session writes a realistic log on council c: calls under each policy, conflicts, recusals, a
// clearance and a required recusal, a changed SOI, a stale declaration renewed, re-votes, a
// narrowed call closed by the server at its deadline, and a call left open.
func session(g *gen, c council) {
	// DISCLOSE: a flagged ballot, a recusal, a re-vote.
	call := g.open(c.body, c.chair, &candorv1.Call{ConflictPolicy: disclose, Quorum: 2})
	g.declare(call, c.alice, none, join)
	g.vote(call, c.alice, "yes")
	g.declare(call, c.bob, potential, join)
	g.vote(call, c.bob, "no")
	g.declare(call, c.carol, actual, recuse)
	g.declare(call, c.chair, none, join)
	g.vote(call, c.chair, "yes")
	g.vote(call, c.chair, "no")
	g.close(call, c.chair)

	// RECUSE: an actual conflict recused by policy; a changed SOI restated in the declaration.
	call = g.open(c.body, c.chair, &candorv1.Call{ConflictPolicy: recusePol, Threshold: candorv1.Threshold_THRESHOLD_TWO_THIRDS})
	g.declare(call, c.alice, actual, join)
	g.declare(call, c.bob, none, join)
	g.vote(call, c.bob, "yes")
	g.declareChanged(call, c.carol, "Registrar Ltd", potential, join)
	g.vote(call, c.carol, "yes")
	g.close(call, c.chair)

	// REVIEW: a clearance, a required recusal, a stale declaration renewed before a re-vote, and a
	// ballot withdrawn by a later recusal.
	call = g.open(c.body, c.chair, &candorv1.Call{ConflictPolicy: review, Options: []string{"Adopt", "Reject", "abstain"}})
	g.declare(call, c.alice, potential, join)
	g.clear(call, c.chair, c.alice, cleared)
	g.vote(call, c.alice, "Adopt")
	g.declare(call, c.bob, actual, join)
	g.clear(call, c.chair, c.bob, mustRecuse)
	g.declare(call, c.carol, none, join)
	g.vote(call, c.carol, "Adopt")
	g.soi(c.carol, "Registry Services")
	g.declare(call, c.carol, none, join)
	g.vote(call, c.carol, "Reject")
	g.declare(call, c.chair, none, join)
	g.vote(call, c.chair, "abstain")
	g.declare(call, c.chair, actual, recuse)
	g.close(call, c.chair)

	// Narrowed eligibility, closed by the server at its deadline.
	deadline := g.now.Add(time.Hour)
	call = g.open(c.body, c.chair, &candorv1.Call{
		EligibleParticipants: []string{c.alice, c.bob}, Deadline: timestamppb.New(deadline),
		EligibilityJustification: "Only the liaisons vote on liaison matters",
	})
	g.declare(call, c.alice, none, join)
	g.vote(call, c.alice, "no")
	g.now = deadline
	g.close(call, "server")

	// CONSENSUS on a matter affecting a party everyone's SOI names: explained declarations of no
	// conflict, positions restated, a recusal, a minority statement filed while open and co-signed
	// after close, a designation revised after an objection, finalised and appealed.
	call = g.open(c.body, c.chair, &candorv1.Call{Kind: consensus, AffectedParties: []string{"Example Registry, Inc."}})
	g.declare(call, c.alice, potential, join)
	g.state(call, c.alice, support)
	g.declare(call, c.bob, none, join, explaining("I sold my shares last year"))
	g.state(call, c.bob, oppose)
	g.declare(call, c.carol, potential, join)
	g.state(call, c.carol, concerns)
	g.state(call, c.carol, oppose)
	g.declare(call, c.chair, actual, recuse)
	statement := g.fileStatement(call, c.bob, []string{c.carol})
	g.close(call, c.chair)
	g.sign(call, statement, c.carol)
	g.propose(call, c.chair, candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS, time.Hour)
	g.object(call, c.bob)
	g.propose(call, c.chair, candorv1.ConsensusLevel_CONSENSUS_LEVEL_STRONG_SUPPORT_SIGNIFICANT_OPPOSITION, time.Hour)
	g.now = g.now.Add(2 * time.Hour)
	g.finalize(call, c.chair)
	g.appeal(call, c.bob)

	// Left open.
	call = g.open(c.body, c.chair, nil)
	g.declare(call, c.bob, none, join)
	g.vote(call, c.bob, "yes")
}

// consensusCall opens a consensus call in which alice supports and bob opposes.
func consensusCall(g *gen, c council) string {
	call := g.open(c.body, c.chair, &candorv1.Call{Kind: consensus})
	g.declare(call, c.alice, none, join)
	g.state(call, c.alice, support)
	g.declare(call, c.bob, none, join)
	g.state(call, c.bob, oppose)
	return call
}

// staleBallot opens a call from template tmpl in which alice declares no conflict and votes yes (or
// supports), then files a new SOI version naming an affected party without declaring again; bob
// votes the same way on a current declaration.
func staleBallot(g *gen, c council, tmpl *candorv1.Call) string {
	tmpl.AffectedParties = []string{"Registry Services"}
	call := g.open(c.body, c.chair, tmpl)
	for _, p := range []string{c.alice, c.bob} {
		g.declare(call, p, none, join)
		if tmpl.Kind == consensus {
			g.state(call, p, support)
		} else {
			g.vote(call, p, "yes")
		}
	}
	g.soi(c.alice, "Registry Services")
	return call
}

// ignoringStale replaces a closing entry's result with the tally of a server that never asks
// whether a declaration went stale: every standing as if the SOI had not changed since.
func ignoringStale(g *gen, call string) mutation {
	gc := g.calls[call]
	return func(e *candorv1.LogEntry) {
		standings := map[string]domain.Standing{}
		for _, p := range gc.c.EligibleParticipants {
			d := gc.decls[p]
			soi := g.sois[p].GetVersion()
			if d != nil {
				soi = d.GetSoiVersion()
			}
			standings[p] = domain.Standing{Declaration: d, Clearance: gc.clears[p], SOIVersion: soi, Group: g.members[gc.body][p]}
		}
		ballots := gc.ballots
		if gc.c.Kind == consensus {
			var ps []*candorv1.PositionStatement
			for _, p := range gc.positions {
				ps = append(ps, p)
			}
			ballots = domain.PositionBallots(ps)
		}
		e.GetCall().Result = domain.Tally(gc.c, standings, ballots)
	}
}

func replayAll(entries [][]byte) (*verify.Replayer, error) {
	r := verify.NewReplayer()
	for i, data := range entries {
		if err := r.Apply(int64(i), data); err != nil {
			return r, err
		}
	}
	return r, nil
}

// countKinds counts g's entries of each kind.
func countKinds(g *gen) map[candorv1.EntryKind]int {
	n := map[candorv1.EntryKind]int{}
	for _, k := range g.kinds {
		n[k]++
	}
	return n
}

func TestReplayAcceptsAnHonestLog(t *testing.T) {
	g := newGen(t)
	session(g, newCouncil(g))
	r, err := replayAll(g.entries)
	if err != nil {
		t.Fatalf("Replay of an honest log: %v", err)
	}
	n := countKinds(g)
	want := verify.Counts{
		Participants:       n[candorv1.EntryKind_ENTRY_KIND_PARTICIPANT_ADDED],
		SOIVersions:        n[candorv1.EntryKind_ENTRY_KIND_SOI_VERSION],
		Bodies:             n[candorv1.EntryKind_ENTRY_KIND_BODY_CREATED],
		Memberships:        n[candorv1.EntryKind_ENTRY_KIND_MEMBER_ADDED],
		Calls:              6,
		OpenCalls:          1,
		Declarations:       n[candorv1.EntryKind_ENTRY_KIND_DECLARATION],
		Clearances:         n[candorv1.EntryKind_ENTRY_KIND_CLEARANCE],
		Ballots:            n[candorv1.EntryKind_ENTRY_KIND_BALLOT],
		Positions:          4,
		Results:            5,
		Proposals:          2,
		Objections:         1,
		Designations:       1,
		Appeals:            1,
		MinorityStatements: 1,
		Signatures:         1,
	}
	if diff := cmp.Diff(want, r.Summary()); diff != "" {
		t.Errorf("Summary() mismatch (-want +got):\n%s", diff)
	}
}

// TestReplayNamesTheFirstBadEntry writes an honest council, then entries that break one rule each,
// and checks that the replay names the bad entry and the rule.
func TestReplayNamesTheFirstBadEntry(t *testing.T) {
	inPast := func(d time.Duration) mutation {
		return func(e *candorv1.LogEntry) { e.Time = timestamppb.New(e.Time.AsTime().Add(-d)) }
	}
	tests := []struct {
		name string
		// build writes entries after the council and returns the index of the bad one (-1: none).
		build   func(g *gen, c council) int64
		wantErr error
	}{
		// The invariant.
		{"ballot without a declaration", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.vote(call, c.alice, "yes")
			return g.last()
		}, domain.ErrDeclarationRequired},
		{"ballot on a declaration in another call", func(g *gen, c council) int64 {
			call, other := g.open(c.body, c.chair, nil), g.open(c.body, c.chair, nil)
			g.declare(other, c.alice, none, join)
			g.vote(call, c.alice, "yes")
			return g.last()
		}, domain.ErrDeclarationRequired},
		{"ballot after the SOI changed", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.alice, none, join)
			g.soi(c.alice, "New Employer Ltd")
			g.vote(call, c.alice, "yes")
			return g.last()
		}, domain.ErrDeclarationStale},
		{"ballot after a declared recusal", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.alice, none, join)
			g.declare(call, c.alice, actual, recuse)
			g.vote(call, c.alice, "yes")
			return g.last()
		}, domain.ErrRecused},
		{"ballot with an actual conflict under RECUSE", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, &candorv1.Call{ConflictPolicy: recusePol})
			g.declare(call, c.alice, actual, join)
			g.vote(call, c.alice, "yes")
			return g.last()
		}, domain.ErrRecused},
		{"ballot with an uncleared conflict under REVIEW", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, &candorv1.Call{ConflictPolicy: review})
			g.declare(call, c.alice, potential, join)
			g.vote(call, c.alice, "yes")
			return g.last()
		}, domain.ErrDeclarationNotClear},
		{"clearance does not carry to a new declaration", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, &candorv1.Call{ConflictPolicy: review})
			g.declare(call, c.alice, potential, join)
			g.clear(call, c.chair, c.alice, cleared)
			g.declare(call, c.alice, actual, join)
			g.vote(call, c.alice, "yes")
			return g.last()
		}, domain.ErrDeclarationNotClear},
		{"ballot after the chair required recusal", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, &candorv1.Call{ConflictPolicy: review})
			g.declare(call, c.alice, actual, join)
			g.clear(call, c.chair, c.alice, mustRecuse)
			g.vote(call, c.alice, "yes")
			return g.last()
		}, domain.ErrRecused},
		{"ballot after CALL_CLOSED", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.alice, none, join)
			g.close(call, c.chair)
			g.vote(call, c.alice, "yes")
			return g.last()
		}, domain.ErrCallClosed},
		{"ballot after the deadline", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, &candorv1.Call{Deadline: timestamppb.New(g.now.Add(time.Minute))})
			g.declare(call, c.alice, none, join)
			g.now = g.now.Add(2 * time.Minute)
			g.vote(call, c.alice, "yes")
			return g.last()
		}, domain.ErrCallClosed},
		{"ballot cast by someone else", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.alice, none, join)
			g.vote(call, c.alice, "yes", func(e *candorv1.LogEntry) { e.Actor = c.bob })
			return g.last()
		}, verify.ErrInconsistent},
		{"ballot for an option not offered", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.alice, none, join)
			g.vote(call, c.alice, "maybe")
			return g.last()
		}, domain.ErrUnknownOption},
		{"ballot that hides its conflict from the flags", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.alice, actual, join)
			g.vote(call, c.alice, "yes", func(e *candorv1.LogEntry) { e.GetBallot().ConflictLevel = none })
			return g.last()
		}, verify.ErrInconsistent},
		{"ballot that supersedes the wrong ballot", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.alice, none, join)
			g.vote(call, c.alice, "yes")
			g.vote(call, c.alice, "no", func(e *candorv1.LogEntry) { e.GetBallot().Supersedes = "" })
			return g.last()
		}, verify.ErrInconsistent},

		// Declarations.
		{"declaration by a participant not eligible", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.outsider, none, join)
			return g.last()
		}, domain.ErrNotEligible},
		{"declaration in a call never opened", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			other := c.body + "/calls/" + uuid.NewString()
			g.declare(call, c.alice, none, join, func(e *candorv1.LogEntry) {
				e.Subject = other
				e.GetDeclaration().Name = other + "/declarations/" + uuid.NewString()
			})
			return g.last()
		}, verify.ErrInconsistent},
		{"declaration logged before its call opened", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.alice, none, join)
			i := g.last() - 1
			g.entries[i], g.entries[i+1] = g.entries[i+1], g.entries[i]
			g.kinds[i], g.kinds[i+1] = g.kinds[i+1], g.kinds[i]
			return i
		}, verify.ErrInconsistent},
		{"declaration backdated before its entry", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.alice, none, join, func(e *candorv1.LogEntry) {
				e.GetDeclaration().CreateTime = timestamppb.New(e.Time.AsTime().Add(-time.Hour))
			})
			return g.last()
		}, verify.ErrInconsistent},
		{"declaration restating an old SOI version", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			old := g.sois[c.alice]
			g.soi(c.alice, "New Employer Ltd")
			g.declare(call, c.alice, none, join, func(e *candorv1.LogEntry) {
				e.GetDeclaration().SoiVersion, e.GetDeclaration().SoiContentHash = old.Version, old.ContentHash
			})
			return g.last()
		}, domain.ErrSOIPinNotCurrent},
		{"declaration pinning another content hash", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.alice, none, join, func(e *candorv1.LogEntry) {
				h := append([]byte(nil), e.GetDeclaration().SoiContentHash...)
				h[0] ^= 1
				e.GetDeclaration().SoiContentHash = h
			})
			return g.last()
		}, verify.ErrInconsistent},
		{"declaration claiming a changed SOI it did not file", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.alice, none, join, func(e *candorv1.LogEntry) { e.GetDeclaration().SoiChanged = true })
			return g.last()
		}, verify.ErrInconsistent},
		{"declaration superseding nothing when one is current", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.alice, none, join)
			g.declare(call, c.alice, actual, recuse, func(e *candorv1.LogEntry) { e.GetDeclaration().Supersedes = "" })
			return g.last()
		}, verify.ErrInconsistent},

		// SOI versions.
		{"SOI whose hash is not its content's", func(g *gen, c council) int64 {
			g.soi(c.alice, "Example Org", func(e *candorv1.LogEntry) { e.GetStatementOfInterest().Employer = "Someone Else" })
			return g.last()
		}, verify.ErrInconsistent},
		{"SOI filed by someone else", func(g *gen, c council) int64 {
			g.soi(c.alice, "Example Org", func(e *candorv1.LogEntry) { e.Actor = c.bob })
			return g.last()
		}, verify.ErrInconsistent},

		// Clearances.
		{"clearance by a member who is not a chair", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, &candorv1.Call{ConflictPolicy: review})
			g.declare(call, c.bob, potential, join)
			g.clear(call, c.alice, c.bob, cleared)
			return g.last()
		}, domain.ErrChairOnly},
		{"chair clears their own conflict", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, &candorv1.Call{ConflictPolicy: review})
			g.declare(call, c.chair, actual, join)
			g.clear(call, c.chair, c.chair, cleared)
			return g.last()
		}, domain.ErrSelfClearance},
		{"clearance of a superseded declaration", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, &candorv1.Call{ConflictPolicy: review})
			old := g.declare(call, c.bob, potential, join)
			g.declare(call, c.bob, actual, join)
			g.clear(call, c.chair, c.bob, cleared, func(e *candorv1.LogEntry) { e.GetClearance().Declaration = old.Name })
			return g.last()
		}, verify.ErrInconsistent},

		// Calls.
		{"call opened by a member who is not a chair", func(g *gen, c council) int64 {
			g.open(c.body, c.alice, nil)
			return g.last()
		}, domain.ErrChairOnly},
		{"call narrowed without saying so", func(g *gen, c council) int64 {
			g.open(c.body, c.chair, &candorv1.Call{EligibleParticipants: []string{c.alice}},
				func(e *candorv1.LogEntry) { e.GetCall().EligibilityRestricted = false })
			return g.last()
		}, verify.ErrInconsistent},
		{"call narrowed without a justification", func(g *gen, c council) int64 {
			g.open(c.body, c.chair, &candorv1.Call{EligibleParticipants: []string{c.alice}},
				func(e *candorv1.LogEntry) { e.GetCall().EligibilityJustification = "" })
			return g.last()
		}, domain.ErrJustificationRequired},
		{"call admitting a non-member", func(g *gen, c council) int64 {
			g.open(c.body, c.chair, &candorv1.Call{EligibleParticipants: []string{c.alice}}, func(e *candorv1.LogEntry) {
				e.GetCall().EligibleParticipants = append(e.GetCall().EligibleParticipants, c.outsider)
			})
			return g.last()
		}, domain.ErrEligibleNotMember},
		{"recorded result altered", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.alice, none, join)
			g.vote(call, c.alice, "yes")
			g.close(call, c.chair, func(e *candorv1.LogEntry) { e.GetCall().Result.Counts[1].Count++ })
			return g.last()
		}, verify.ErrResultMismatch},
		{"result counting a ballot withdrawn by recusal", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.alice, none, join)
			g.vote(call, c.alice, "yes")
			// The result as it stood before alice recused.
			g.tick()
			standings := map[string]domain.Standing{}
			for _, p := range g.calls[call].c.EligibleParticipants {
				standings[p] = domain.Standing{Declaration: g.calls[call].decls[p]}
			}
			before := domain.Tally(g.calls[call].c, standings, g.calls[call].ballots)
			g.declare(call, c.alice, actual, recuse)
			g.close(call, c.chair, func(e *candorv1.LogEntry) { e.GetCall().Result = before })
			return g.last()
		}, verify.ErrResultMismatch},
		// A declaration that went stale before close (the SOI changed after it): a result that
		// ignores the rule, as the server did before, counts the ballot unflagged.
		{"result counting a stale ballot under RECUSE", func(g *gen, c council) int64 {
			call := staleBallot(g, c, &candorv1.Call{ConflictPolicy: recusePol})
			g.close(call, c.chair, ignoringStale(g, call))
			return g.last()
		}, verify.ErrResultMismatch},
		{"result counting a stale ballot under REVIEW", func(g *gen, c council) int64 {
			call := staleBallot(g, c, &candorv1.Call{ConflictPolicy: review})
			g.close(call, c.chair, ignoringStale(g, call))
			return g.last()
		}, verify.ErrResultMismatch},
		{"result not flagging a stale ballot under DISCLOSE", func(g *gen, c council) int64 {
			call := staleBallot(g, c, &candorv1.Call{ConflictPolicy: disclose})
			g.close(call, c.chair, ignoringStale(g, call))
			return g.last()
		}, verify.ErrResultMismatch},
		{"result counting a stale position under RECUSE", func(g *gen, c council) int64 {
			call := staleBallot(g, c, &candorv1.Call{Kind: consensus, ConflictPolicy: recusePol})
			g.close(call, c.chair, ignoringStale(g, call))
			return g.last()
		}, verify.ErrResultMismatch},
		{"result dropping the stale figure of a group", func(g *gen, c council) int64 {
			call := staleBallot(g, c, &candorv1.Call{ConflictPolicy: disclose})
			g.close(call, c.chair, func(e *candorv1.LogEntry) {
				for _, gt := range e.GetCall().Result.Groups {
					gt.Stale = 0
				}
			})
			return g.last()
		}, verify.ErrResultMismatch},
		{"call changed at its closing", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.close(call, c.chair, func(e *candorv1.LogEntry) { e.GetCall().Quorum = 0; e.GetCall().Title = "Something else" })
			return g.last()
		}, verify.ErrInconsistent},
		{"call closed twice", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.close(call, c.chair)
			g.close(call, c.chair)
			return g.last()
		}, domain.ErrCallClosed},
		{"call closed by the server with no deadline", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.close(call, "server")
			return g.last()
		}, verify.ErrInconsistent},

		// Screening and consensus calls.
		{"declaration of no conflict, unexplained, by an SOI naming an affected party", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, &candorv1.Call{AffectedParties: []string{"example registry inc"}})
			g.declare(call, c.alice, none, join)
			return g.last()
		}, domain.ErrExplanationRequired},
		{"position in a vote", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.alice, none, join)
			g.state(call, c.alice, support)
			return g.last()
		}, domain.ErrWrongKind},
		{"ballot in a consensus call", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.declare(call, c.carol, none, join)
			g.vote(call, c.carol, "support")
			return g.last()
		}, domain.ErrWrongKind},
		{"position without a declaration", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.state(call, c.carol, support)
			return g.last()
		}, domain.ErrDeclarationRequired},
		{"opposition without its reasons", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.declare(call, c.carol, none, join)
			g.state(call, c.carol, oppose, func(e *candorv1.LogEntry) { e.GetPositionStatement().Comment = " " })
			return g.last()
		}, domain.ErrCommentRequired},
		{"position after a recusal", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.declare(call, c.alice, actual, recuse)
			g.state(call, c.alice, support)
			return g.last()
		}, domain.ErrRecused},
		{"position after a consensus call closed", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.close(call, c.chair)
			g.state(call, c.alice, oppose)
			return g.last()
		}, domain.ErrCallClosed},
		{"clearance after a consensus call closed", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.close(call, c.chair)
			g.clear(call, c.chair, c.alice, cleared)
			return g.last()
		}, domain.ErrCallClosed},
		{"declaration after a consensus call closed", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.close(call, c.chair)
			g.declare(call, c.carol, none, join)
			return g.last()
		}, domain.ErrCallClosed},
		{"designation while positions are open", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.propose(call, c.chair, candorv1.ConsensusLevel_CONSENSUS_LEVEL_DIVERGENCE, time.Hour)
			return g.last()
		}, domain.ErrCallStillOpen},
		{"designation by a member", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.close(call, c.chair)
			g.propose(call, c.alice, candorv1.ConsensusLevel_CONSENSUS_LEVEL_FULL_CONSENSUS, time.Hour)
			return g.last()
		}, domain.ErrChairOnly},
		{"objection after its window", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.close(call, c.chair)
			g.propose(call, c.chair, candorv1.ConsensusLevel_CONSENSUS_LEVEL_DIVERGENCE, time.Hour)
			g.now = g.now.Add(time.Hour)
			g.object(call, c.bob)
			return g.last()
		}, domain.ErrObjectionWindowClosed},
		{"objection by the admin", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.close(call, c.chair)
			g.propose(call, c.chair, candorv1.ConsensusLevel_CONSENSUS_LEVEL_DIVERGENCE, time.Hour)
			g.object(call, "admin")
			return g.last()
		}, domain.ErrParticipantOnly},
		{"final designation while members may object", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.close(call, c.chair)
			g.propose(call, c.chair, candorv1.ConsensusLevel_CONSENSUS_LEVEL_DIVERGENCE, time.Hour)
			g.finalize(call, c.chair)
			return g.last()
		}, domain.ErrObjectionWindowOpen},
		{"final designation other than the proposal", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.close(call, c.chair)
			g.propose(call, c.chair, candorv1.ConsensusLevel_CONSENSUS_LEVEL_DIVERGENCE, time.Hour)
			g.now = g.now.Add(time.Hour)
			g.finalize(call, c.chair, func(e *candorv1.LogEntry) {
				e.GetDesignation().Level = candorv1.ConsensusLevel_CONSENSUS_LEVEL_FULL_CONSENSUS
			})
			return g.last()
		}, verify.ErrInconsistent},
		{"appeal before the designation is final", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.close(call, c.chair)
			g.propose(call, c.chair, candorv1.ConsensusLevel_CONSENSUS_LEVEL_DIVERGENCE, time.Hour)
			g.appeal(call, c.bob)
			return g.last()
		}, domain.ErrDesignationNotFinal},
		{"minority statement by someone without a position", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.fileStatement(call, c.carol, nil)
			return g.last()
		}, domain.ErrPositionRequired},
		{"signature by someone not named", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			s := g.fileStatement(call, c.bob, []string{c.alice})
			g.declare(call, c.carol, none, join)
			g.state(call, c.carol, oppose)
			g.sign(call, s, c.carol)
			return g.last()
		}, domain.ErrNotCosigner},
		{"signature twice", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			s := g.fileStatement(call, c.bob, []string{c.alice})
			g.sign(call, s, c.alice)
			g.sign(call, s, c.alice)
			return g.last()
		}, domain.ErrAlreadySigned},
		{"minority statement dropped at close", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.fileStatement(call, c.bob, nil)
			g.close(call, c.chair, func(e *candorv1.LogEntry) { e.GetCall().Consensus.MinorityStatements = nil })
			return g.last()
		}, verify.ErrInconsistent},
		{"result with another group breakdown", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.close(call, c.chair, func(e *candorv1.LogEntry) {
				e.GetCall().Result.Groups[0].StakeholderGroup = "No such group"
			})
			return g.last()
		}, verify.ErrResultMismatch},

		// Participants and the envelope.
		{"participant added by a participant", func(g *gen, c council) int64 {
			g.participant(func(e *candorv1.LogEntry) { e.Actor = c.chair })
			return g.last()
		}, domain.ErrAdminOnly},
		{"participant's email in the log", func(g *gen, c council) int64 {
			g.participant(func(e *candorv1.LogEntry) { e.GetParticipant().Email = "a@example.org" })
			return g.last()
		}, verify.ErrMalformedEntry},
		{"envelope format 2", func(g *gen, c council) int64 {
			g.body(func(e *candorv1.LogEntry) { e.Format = 2 })
			return g.last()
		}, verify.ErrMalformedEntry},
		{"kind that does not match the payload", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.alice, none, join, func(e *candorv1.LogEntry) { e.Kind = candorv1.EntryKind_ENTRY_KIND_BALLOT })
			return g.last()
		}, verify.ErrMalformedEntry},
		{"unknown kind", func(g *gen, c council) int64 {
			g.body(func(e *candorv1.LogEntry) { e.Kind = 99 })
			return g.last()
		}, verify.ErrMalformedEntry},
		{"bytes that do not decode", func(g *gen, c council) int64 {
			g.entries = append(g.entries, []byte{0xff, 0xff, 0xff})
			g.kinds = append(g.kinds, candorv1.EntryKind_ENTRY_KIND_UNSPECIFIED)
			return g.last()
		}, verify.ErrMalformedEntry},
		{"time an hour before the entry before", func(g *gen, c council) int64 {
			g.body(inPast(time.Hour))
			return g.last()
		}, verify.ErrInconsistent},
		{"time a little before the entry before is allowed", func(g *gen, c council) int64 {
			g.body(inPast(verify.TimeTolerance / 2))
			return -1
		}, nil},
		// Caps on what one member may add to a call (domain/limits.go).
		{"declaration past the cap", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			for range domain.MaxDeclarationsPerMember {
				g.declare(call, c.alice, none, join)
			}
			g.declare(call, c.bob, none, join) // another member's count is their own
			g.declare(call, c.alice, none, join)
			return g.last()
		}, domain.ErrTooManyDeclarations},
		{"ballot past the cap", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.alice, none, join)
			for range domain.MaxBallotsPerMember {
				g.vote(call, c.alice, "yes")
			}
			g.vote(call, c.alice, "no")
			return g.last()
		}, domain.ErrTooManyBallots},
		{"position past the cap", func(g *gen, c council) int64 {
			call := consensusCall(g, c) // alice has stated one position
			for range domain.MaxBallotsPerMember - 1 {
				g.state(call, c.alice, support)
			}
			g.state(call, c.alice, support)
			return g.last()
		}, domain.ErrTooManyBallots},
		{"appeal past the cap", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.close(call, c.chair)
			g.propose(call, c.chair, candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS, time.Hour)
			g.now = g.now.Add(2 * time.Hour)
			g.finalize(call, c.chair)
			for range domain.MaxAppealsPerMember {
				g.appeal(call, c.bob)
			}
			g.appeal(call, c.alice) // another member's appeals are their own
			g.appeal(call, c.bob)
			return g.last()
		}, domain.ErrTooManyAppeals},
		{"proposal past the cap", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.close(call, c.chair)
			for range domain.MaxProposals {
				g.propose(call, c.chair, candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS, time.Hour)
			}
			g.propose(call, c.chair, candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS, time.Hour)
			return g.last()
		}, domain.ErrTooManyProposals},
		{"minority statement past the cap", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			for range domain.MaxStatementsPerAuthor {
				g.fileStatement(call, c.bob, nil)
			}
			g.fileStatement(call, c.bob, nil)
			return g.last()
		}, domain.ErrTooManyStatements},
		// Rules once checked only by the transport, now in domain and replayed.
		{"conflict declared without a description", func(g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.alice, potential, join, explaining(" "))
			return g.last()
		}, domain.ErrDescriptionRequired},
		{"objection window beyond 90 days", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.close(call, c.chair)
			g.propose(call, c.chair, candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS, domain.MaxObjectionWindow)
			g.propose(call, c.chair, candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS, domain.MaxObjectionWindow+time.Second)
			return g.last()
		}, domain.ErrObjectionWindowRange},
		{"objection window of a fraction of a second", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.close(call, c.chair)
			g.propose(call, c.chair, candorv1.ConsensusLevel_CONSENSUS_LEVEL_CONSENSUS, time.Hour+time.Millisecond)
			return g.last()
		}, verify.ErrInconsistent},
		{"co-signer named twice", func(g *gen, c council) int64 {
			call := consensusCall(g, c)
			g.fileStatement(call, c.bob, []string{c.alice})
			g.fileStatement(call, c.bob, []string{c.alice, c.alice})
			return g.last()
		}, domain.ErrDuplicateCosigner},
		{"vote with one option", func(g *gen, c council) int64 {
			g.open(c.body, c.chair, nil, func(e *candorv1.LogEntry) { e.GetCall().Options = []string{"yes"} })
			return g.last()
		}, domain.ErrTooFewOptions},
		{"vote naming an option twice", func(g *gen, c council) int64 {
			g.open(c.body, c.chair, nil, func(e *candorv1.LogEntry) { e.GetCall().Options = []string{"Yes", "no", "yes "} })
			return g.last()
		}, domain.ErrDuplicateOption},
		{"narrowed call naming a participant twice", func(g *gen, c council) int64 {
			g.open(c.body, c.chair, &candorv1.Call{EligibleParticipants: []string{c.alice, c.bob}}, func(e *candorv1.LogEntry) {
				e.GetCall().EligibleParticipants = append(e.GetCall().EligibleParticipants, c.alice)
			})
			return g.last()
		}, domain.ErrDuplicateEligible},
		{"whole honest session", func(g *gen, c council) int64 {
			session(g, c)
			return -1
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGen(t)
			c := newCouncil(g)
			want := tt.build(g, c)
			_, err := replayAll(g.entries)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Replay: %v, want success", err)
				}
				return
			}
			var ee *verify.EntryError
			if !errors.As(err, &ee) {
				t.Fatalf("Replay: %v, want an *EntryError", err)
			}
			if ee.Index != want || ee.Kind != g.kinds[want] {
				t.Errorf("Replay failed at entry %d (%v), want entry %d (%v): %v", ee.Index, ee.Kind, want, g.kinds[want], err)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Replay: %v, want an error wrapping %v", err, tt.wantErr)
			}
			// A broken rule is named by the reason the server refuses it with; a broken log by none.
			if want := domain.ReasonOf(tt.wantErr); ee.Reason != want {
				t.Errorf("Replay names reason %v, want %v", ee.Reason, want)
			}
			if want := domain.Reason(ee.Reason); ee.Reason != candorv1.ErrorReason_ERROR_REASON_UNSPECIFIED && !strings.HasSuffix(err.Error(), " ["+want+"]") {
				t.Errorf("Replay: %q does not end naming %s", err, want)
			}
		})
	}
}

func TestEntryErrorMessage(t *testing.T) {
	g := newGen(t)
	c := newCouncil(g)
	call := g.open(c.body, c.chair, nil)
	g.vote(call, c.alice, "yes")
	_, err := replayAll(g.entries)
	want := fmt.Sprintf("entry %d (BALLOT): ballot by %s: ", g.last(), c.alice)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Replay: %v, want a message starting %q", err, want)
	}
}

func TestReplayerStopsAtTheFirstFailure(t *testing.T) {
	g := newGen(t)
	c := newCouncil(g)
	call := g.open(c.body, c.chair, nil)
	g.vote(call, c.alice, "yes")
	bad := g.last()
	g.declare(call, c.bob, none, join)

	r := verify.NewReplayer()
	var first error
	for i, data := range g.entries {
		err := r.Apply(int64(i), data)
		if int64(i) < bad && err != nil {
			t.Fatalf("Apply(%d): %v", i, err)
		}
		if int64(i) == bad {
			first = err
		}
		if int64(i) > bad && err != first {
			t.Errorf("Apply(%d) after a failure = %v, want the first failure %v again", i, err, first)
		}
	}
	if first == nil {
		t.Fatalf("Apply(%d) accepted a ballot without a declaration", bad)
	}
}

func TestReplayerRefusesAGap(t *testing.T) {
	g := newGen(t)
	newCouncil(g)
	r := verify.NewReplayer()
	if err := r.Apply(0, g.entries[0]); err != nil {
		t.Fatal(err)
	}
	err := r.Apply(2, g.entries[2])
	var ee *verify.EntryError
	if !errors.As(err, &ee) || ee.Index != 1 || !errors.Is(err, verify.ErrMissingEntries) {
		t.Errorf("Apply(2) after entry 0 = %v, want entry 1 missing", err)
	}
}

// TestReplayStaleDeclarationAtClose writes honest logs in which a participant's declaration goes
// stale after their ballot or position, under each policy and kind of call, with and without a
// new declaration (and, under REVIEW, a ruling) before close. The replay knows SOI versions only
// from the log's SOI entries (filed alone, or by a declaration in another call) and must reproduce
// every recorded result.
func TestReplayStaleDeclarationAtClose(t *testing.T) {
	type want struct {
		counted int32
		stale   bool // alice is listed as stale, and counted in her group's stale figure
		flagged bool // alice's ballot is counted and flagged as stale
	}
	for _, tt := range []struct {
		name   string
		policy candorv1.ConflictPolicy
		kind   candorv1.CallKind
		// after runs after alice's SOI changed, before close.
		after func(g *gen, c council, call string)
		want  want
	}{
		{"disclose", disclose, 0, nil, want{counted: 2, stale: true, flagged: true}},
		{"recuse", recusePol, 0, nil, want{counted: 1, stale: true}},
		{"review", review, 0, nil, want{counted: 1, stale: true}},
		{"consensus disclose", disclose, consensus, nil, want{counted: 2, stale: true, flagged: true}},
		{"consensus recuse", recusePol, consensus, nil, want{counted: 1, stale: true}},
		{"consensus review", review, consensus, nil, want{counted: 1, stale: true}},
		{"recuse, declared again", recusePol, 0, func(g *gen, c council, call string) {
			g.declare(call, c.alice, none, join, explaining("My new employer is not a party"))
		}, want{counted: 2}},
		{"review, declared a conflict again and cleared", review, 0, func(g *gen, c council, call string) {
			g.declare(call, c.alice, potential, join)
			g.clear(call, c.chair, c.alice, cleared)
		}, want{counted: 2}},
		{"review, declared a conflict again, not cleared", review, 0, func(g *gen, c council, call string) {
			g.declare(call, c.alice, potential, join)
		}, want{counted: 1}},
		{"consensus review, declared again", review, consensus, func(g *gen, c council, call string) {
			g.declare(call, c.alice, none, join, explaining("My new employer is not a party"))
		}, want{counted: 2}},
		{"recuse, stale by a declaration in another call", recusePol, 0, func(g *gen, c council, call string) {
			// A second change, filed with a declaration elsewhere: the replay must see it too.
			other := g.open(c.body, c.chair, nil)
			g.declareChanged(other, c.alice, "Another Registry", none, join)
		}, want{counted: 1, stale: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := newGen(t)
			c := newCouncil(g)
			call := staleBallot(g, c, &candorv1.Call{Kind: tt.kind, ConflictPolicy: tt.policy})
			if tt.after != nil {
				tt.after(g, c, call)
			}
			res := g.close(call, c.chair)
			r, err := replayAll(g.entries)
			if err != nil {
				t.Fatalf("Replay: %v", err)
			}
			if got := r.Summary().Results; got != 1 {
				t.Errorf("replay checked %d results, want 1", got)
			}
			if res.BallotsCounted != tt.want.counted {
				t.Errorf("counted %d, want %d", res.BallotsCounted, tt.want.counted)
			}
			var wantStale []string
			if tt.want.stale {
				wantStale = []string{c.alice}
			}
			if diff := cmp.Diff(wantStale, res.Stale); diff != "" {
				t.Errorf("stale (-want +got):\n%s", diff)
			}
			groupStale := int32(0)
			for _, gt := range res.Groups {
				groupStale += gt.Stale
				if gt.StakeholderGroup == "At-Large" && gt.Stale != int32(len(wantStale)) { // alice's group
					t.Errorf("At-Large stale %d, want %d", gt.Stale, len(wantStale))
				}
			}
			if groupStale != int32(len(wantStale)) {
				t.Errorf("groups' stale figures add up to %d, want %d", groupStale, len(wantStale))
			}
			flagged := false
			for _, f := range res.Flagged {
				flagged = flagged || (f.Participant == c.alice && f.Stale)
			}
			if flagged != tt.want.flagged {
				t.Errorf("alice flagged as stale: %v, want %v (flagged %v)", flagged, tt.want.flagged, res.Flagged)
			}
		})
	}
}
