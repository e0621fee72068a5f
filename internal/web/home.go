package web

import (
	"net/http"

	"github.com/candorhq/candor/internal/domain"
	"github.com/candorhq/candor/internal/readall"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// homeData is the home page: first what needs the participant now, then where they sit, then their SOI.
type homeData struct {
	// Waiting are open calls where the participant is eligible and has no current declaration (none,
	// or a stale one).
	Waiting []callItem
	// Bodies the participant belongs to, with their open calls.
	Bodies []bodyItem
	// AllBodies is every body, for the admin and auditors (who may read any).
	AllBodies []*candorv1.Body
	SOI       *candorv1.StatementOfInterest
	Receipts  []*receiptRecord
}

type bodyItem struct {
	Body       *candorv1.Body
	Membership *candorv1.Membership
	Chair      bool
	OpenCalls  []callItem
}

// callItem is an open call and where the participant stands in it.
type callItem struct {
	Call     *candorv1.Call
	Body     *candorv1.Body
	Eligible bool
	Entry    *candorv1.RosterEntry
}

// Waiting reports whether the participant must still declare (or declare again).
func (c callItem) Waiting() bool {
	return c.Eligible && (c.Entry.GetDeclaration() == nil || c.Entry.GetStale())
}

// home implements GET /.
func (s *Server) home(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	data := homeData{Receipts: s.sessions.receiptList(sess)}
	bodies, err := s.listBodies(ctx)
	if err != nil {
		s.rpcFailed(w, r, sess, "home", err)
		return
	}
	if sess.who.viewer().Oversees() {
		data.AllBodies = bodies
	}
	if !sess.who.Admin {
		if data.SOI, err = s.currentSOI(ctx); err != nil {
			s.rpcFailed(w, r, sess, "home", err)
			return
		}
		for _, b := range bodies {
			item, err := s.bodyItem(ctx, sess, b)
			if err != nil {
				s.rpcFailed(w, r, sess, "home", err)
				return
			}
			if item == nil {
				continue
			}
			for _, c := range item.OpenCalls {
				if c.Waiting() {
					data.Waiting = append(data.Waiting, c)
				}
			}
			data.Bodies = append(data.Bodies, *item)
		}
	}
	s.render(w, r, sess, http.StatusOK, "home", "Home", data)
}

// bodyItem returns the participant's place in body b and its open calls, or nil when they are not
// a member. The roster says whether they have declared; it is read only for calls they may vote in.
func (s *Server) bodyItem(ctx ctxT, sess *session, b *candorv1.Body) (*bodyItem, error) {
	members, err := s.listMembers(ctx, b.GetName())
	if err != nil {
		return nil, err
	}
	var mine *candorv1.Membership
	for _, m := range members {
		if m.GetParticipant() == sess.who.Name {
			mine = m
		}
	}
	if mine == nil {
		return nil, nil
	}
	item := &bodyItem{Body: b, Membership: mine, Chair: domain.IsChair(mine)}
	calls, err := s.listCalls(ctx, b.GetName())
	if err != nil {
		return nil, err
	}
	for _, c := range calls {
		if c.GetState() != candorv1.CallState_CALL_STATE_OPEN {
			continue
		}
		ci := callItem{Call: c, Body: b, Eligible: contains(c.GetEligibleParticipants(), sess.who.Name)}
		if ci.Eligible {
			roster, err := readall.Roster(ctx, s.calls, c.GetName(), "", rpcTimeout)
			if err != nil {
				return nil, err
			}
			for _, e := range roster {
				if e.GetParticipant() == sess.who.Name {
					ci.Entry = e
				}
			}
		}
		item.OpenCalls = append(item.OpenCalls, ci)
	}
	return item, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
