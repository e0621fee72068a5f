package service

import (
	"context"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/candorhq/candor/internal/store"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// SummaryItems is how many of a call's latest objections, appeals and minority statements a call
// answered alone (GetCall, WatchCall, the calls a write returns) carries; ListCalls carries none.
// Every item is read through ListObjections, ListAppeals and ListMinorityStatements.
//
// Why the answer then fits under grpc's 4 MiB default message limit whatever members do: members add
// to a call only through its consensus record, and the summary bounds that part at (UTF-8 worst
// case, four bytes a character) 5 objections and 5 appeals of 4000 characters (about 16 KB each) and
// 5 minority statements of 20000 characters with 100 co-signers, each named twice once signed (about
// 91 KB each), plus at most domain.MaxProposals (20) proposals and a final designation of 4000
// characters (about 16 KB each): under 1 MB in all. The rest of a call is written by its chair and
// the body (a matter of 10000 characters, 50 parties, 20 options, at most 10000 eligible
// participants and a result that names each of them at most twice): about 1.8 MB at worst. Rosters
// and lists of calls, which grow with the body, are paged by encoded size ([DefaultPageBytes]).
const SummaryItems = 5

// summarize returns a copy of c whose consensus record keeps the latest keep objections, appeals
// and minority statements, with the count of each on the record.
func summarize(c *candorv1.Call, keep int) *candorv1.Call {
	if c == nil || c.GetConsensus() == nil {
		return c
	}
	out := proto.Clone(c).(*candorv1.Call)
	cr := out.Consensus
	cr.ObjectionCount = int32(len(cr.Objections))
	cr.AppealCount = int32(len(cr.Appeals))
	cr.MinorityStatementCount = int32(len(cr.MinorityStatements))
	cr.Objections = latest(cr.Objections, keep)
	cr.Appeals = latest(cr.Appeals, keep)
	cr.MinorityStatements = latest(cr.MinorityStatements, keep)
	return out
}

// latest returns the last n items of s (none when n is 0), oldest first.
func latest[T any](s []T, n int) []T {
	if len(s) <= n {
		return s
	}
	if n == 0 {
		return nil
	}
	return s[len(s)-n:]
}

// ConsensusRecord returns a call's whole consensus record (nil for a vote), for the paged lists of
// its objections, appeals and minority statements. Members of the body, admins and auditors.
func (s *Service) ConsensusRecord(ctx context.Context, pr Principal, body, call uuid.UUID) (*candorv1.ConsensusRecord, error) {
	var cr *candorv1.ConsensusRecord
	err := s.store.View(func(tx *store.ReadTx) error {
		if err := canSeeBody(tx, pr, body); err != nil {
			return err
		}
		c, err := tx.Call(body, call)
		cr = c.GetConsensus()
		return err
	})
	return cr, err
}
