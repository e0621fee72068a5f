package verify_test

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/internal/domain"
	"github.com/candorhq/candor/internal/verify"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// tokenChange writes a TOKEN_ROTATED (actor p) or TOKEN_REISSUED (actor admin) entry for p.
func (g *gen) tokenChange(kind candorv1.EntryKind, actor, p string, muts ...mutation) {
	now := g.tick()
	g.add(now, kind, actor, p, &candorv1.LogEntry{
		Payload: &candorv1.LogEntry_Participant{Participant: &candorv1.Participant{Name: p}},
	}, muts)
}

func (g *gen) deactivate(p string, muts ...mutation) {
	now := g.tick()
	g.add(now, candorv1.EntryKind_ENTRY_KIND_PARTICIPANT_DEACTIVATED, "admin", p, &candorv1.LogEntry{
		Payload: &candorv1.LogEntry_Participant{Participant: &candorv1.Participant{
			Name: p, Deactivated: true, DeactivateTime: timestamppb.New(now),
		}},
	}, muts)
}

// removeMember writes a MEMBER_REMOVED entry carrying the membership as memberOf wrote it (its
// create time is not tracked, so a mutation supplies it when the test needs an exact match). It
// leaves g.members alone: close then counts the removed member under the group they had, as the
// server does, and tests open no call after a removal.
func (g *gen) removeMember(body, p string, role candorv1.Role, created *timestamppb.Timestamp, muts ...mutation) {
	now := g.tick()
	g.add(now, candorv1.EntryKind_ENTRY_KIND_MEMBER_REMOVED, "admin", body, &candorv1.LogEntry{
		Payload: &candorv1.LogEntry_Membership{Membership: &candorv1.Membership{
			Name: body + "/members/" + p[len("participants/"):], Participant: p, Role: role,
			StakeholderGroup: g.members[body][p], CreateTime: created,
		}},
	}, muts)
}

// membershipTime returns the create time of p's MEMBER_ADDED entry in body (the latest).
func membershipTime(t *testing.T, g *gen, body, p string) *timestamppb.Timestamp {
	t.Helper()
	var out *timestamppb.Timestamp
	for i, k := range g.kinds {
		if k != candorv1.EntryKind_ENTRY_KIND_MEMBER_ADDED {
			continue
		}
		e := new(candorv1.LogEntry)
		if err := proto.Unmarshal(g.entries[i], e); err != nil {
			t.Fatal(err)
		}
		if e.GetSubject() == body && e.GetMembership().GetParticipant() == p {
			out = e.GetMembership().GetCreateTime()
		}
	}
	return out
}

func TestReplayCredentialsAndStanding(t *testing.T) {
	rotated := candorv1.EntryKind_ENTRY_KIND_TOKEN_ROTATED
	reissued := candorv1.EntryKind_ENTRY_KIND_TOKEN_REISSUED
	tests := []struct {
		name    string
		build   func(t *testing.T, g *gen, c council) int64 // index of the bad entry (-1: none)
		wantErr error
	}{
		{"honest: rotate, reissue, deactivate and remove with a call open", func(t *testing.T, g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.alice, none, join)
			g.vote(call, c.alice, "yes")
			g.declare(call, c.bob, none, join)
			g.vote(call, c.bob, "no")
			g.tokenChange(rotated, c.alice, c.alice)
			g.tokenChange(reissued, "admin", c.bob)
			g.deactivate(c.alice)
			g.tokenChange(reissued, "admin", c.alice) // the admin may still cut off a deactivated participant's reads
			g.removeMember(c.body, c.bob, member, membershipTime(t, g, c.body, c.bob))
			g.declare(call, c.carol, none, join)
			g.vote(call, c.carol, "yes")
			// Both earlier ballots still count, bob's under the group he had.
			if r := g.close(call, c.chair); r.GetBallotsCounted() != 3 {
				t.Fatalf("ballots counted %d, want 3", r.GetBallotsCounted())
			}
			return -1
		}, nil},
		{"ballot by a deactivated participant", func(t *testing.T, g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.alice, none, join)
			g.deactivate(c.alice)
			g.vote(call, c.alice, "yes")
			return g.last()
		}, domain.ErrDeactivated},
		{"SOI version by a deactivated participant", func(t *testing.T, g *gen, c council) int64 {
			g.deactivate(c.alice)
			g.soi(c.alice, "New Employer Ltd")
			return g.last()
		}, domain.ErrDeactivated},
		{"token rotated by a deactivated participant", func(t *testing.T, g *gen, c council) int64 {
			g.deactivate(c.alice)
			g.tokenChange(rotated, c.alice, c.alice)
			return g.last()
		}, domain.ErrDeactivated},
		{"deactivated twice", func(t *testing.T, g *gen, c council) int64 {
			g.deactivate(c.alice)
			g.deactivate(c.alice)
			return g.last()
		}, domain.ErrAlreadyDeactivated},
		{"deactivated by a participant", func(t *testing.T, g *gen, c council) int64 {
			g.deactivate(c.alice, func(e *candorv1.LogEntry) { e.Actor = c.chair })
			return g.last()
		}, domain.ErrAdminOnly},
		{"deactivation not marked", func(t *testing.T, g *gen, c council) int64 {
			g.deactivate(c.alice, func(e *candorv1.LogEntry) { e.GetParticipant().Deactivated = false })
			return g.last()
		}, verify.ErrMalformedEntry},
		{"token rotated for someone else", func(t *testing.T, g *gen, c council) int64 {
			g.tokenChange(rotated, c.bob, c.alice)
			return g.last()
		}, verify.ErrInconsistent},
		{"token reissued by a participant", func(t *testing.T, g *gen, c council) int64 {
			g.tokenChange(reissued, c.chair, c.alice)
			return g.last()
		}, domain.ErrAdminOnly},
		{"declaration after removal from the body", func(t *testing.T, g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.removeMember(c.body, c.alice, member, membershipTime(t, g, c.body, c.alice))
			g.declare(call, c.alice, none, join)
			return g.last()
		}, domain.ErrMemberRemoved},
		{"ballot after removal from the body", func(t *testing.T, g *gen, c council) int64 {
			call := g.open(c.body, c.chair, nil)
			g.declare(call, c.alice, none, join)
			g.removeMember(c.body, c.alice, member, membershipTime(t, g, c.body, c.alice))
			g.vote(call, c.alice, "yes")
			return g.last()
		}, domain.ErrMemberRemoved},
		{"removing a participant who is not a member", func(t *testing.T, g *gen, c council) int64 {
			g.removeMember(c.body, c.outsider, member, nil)
			return g.last()
		}, domain.ErrNotAMember},
		{"removed membership altered", func(t *testing.T, g *gen, c council) int64 {
			g.removeMember(c.body, c.alice, chairRole, membershipTime(t, g, c.body, c.alice))
			return g.last()
		}, verify.ErrInconsistent},
		{"removal by a participant", func(t *testing.T, g *gen, c council) int64 {
			g.removeMember(c.body, c.alice, member, membershipTime(t, g, c.body, c.alice), func(e *candorv1.LogEntry) { e.Actor = c.chair })
			return g.last()
		}, domain.ErrAdminOnly},
		{"call opened after a deactivation lists the deactivated member", func(t *testing.T, g *gen, c council) int64 {
			g.deactivate(c.alice)
			g.open(c.body, c.chair, nil) // gen makes every member eligible: the server leaves alice out
			return g.last()
		}, verify.ErrInconsistent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGen(t)
			c := newCouncil(g)
			want := tt.build(t, g, c)
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
			if ee.Index != want {
				t.Errorf("Replay failed at entry %d (%v), want entry %d (%v): %v", ee.Index, ee.Kind, want, g.kinds[want], err)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Replay: %v, want an error wrapping %v", err, tt.wantErr)
			}
		})
	}
}
