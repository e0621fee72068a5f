package web

import (
	"context"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// readConsensusLists replaces the latest few objections, appeals and minority statements a call's
// answer carries with every one on the record, read page by page through their own RPCs, when the
// answer's counts say some were left out. (A server from before the counts answers whole lists and
// no counts, and is not asked.)
func readConsensusLists(ctx context.Context, calls candorv1.CallServiceClient, c *candorv1.Call) error {
	cr := c.GetConsensus()
	if cr == nil {
		return nil
	}
	if int(cr.GetObjectionCount()) > len(cr.GetObjections()) {
		var all []*candorv1.Objection
		for tok := ""; ; {
			resp, err := calls.ListObjections(ctx, &candorv1.ListObjectionsRequest{Call: c.GetName(), PageToken: tok})
			if err != nil {
				return err
			}
			all = append(all, resp.GetObjections()...)
			if tok = resp.GetNextPageToken(); tok == "" {
				break
			}
		}
		cr.Objections = all
	}
	if int(cr.GetAppealCount()) > len(cr.GetAppeals()) {
		var all []*candorv1.Appeal
		for tok := ""; ; {
			resp, err := calls.ListAppeals(ctx, &candorv1.ListAppealsRequest{Call: c.GetName(), PageToken: tok})
			if err != nil {
				return err
			}
			all = append(all, resp.GetAppeals()...)
			if tok = resp.GetNextPageToken(); tok == "" {
				break
			}
		}
		cr.Appeals = all
	}
	if int(cr.GetMinorityStatementCount()) > len(cr.GetMinorityStatements()) {
		var all []*candorv1.MinorityStatement
		for tok := ""; ; {
			resp, err := calls.ListMinorityStatements(ctx, &candorv1.ListMinorityStatementsRequest{Call: c.GetName(), PageToken: tok})
			if err != nil {
				return err
			}
			all = append(all, resp.GetMinorityStatements()...)
			if tok = resp.GetNextPageToken(); tok == "" {
				break
			}
		}
		cr.MinorityStatements = all
	}
	return nil
}
