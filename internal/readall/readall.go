// Package readall reads every page of candor.v1's paged answers for the clients of the contract
// (internal/cli and internal/web): a call's roster, and the objections, appeals and minority
// statements a call's answer carries only the latest of. Both clients print or render the whole
// record, so both follow the page tokens the same way, here.
//
// It is a client of the gRPC contract only: it must never import the server's packages.
package readall

import (
	"context"
	"errors"
	"time"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// ErrEmptyPage is returned when the server sends an empty page with a next page token: following it
// could loop for ever.
var ErrEmptyPage = errors.New("readall: the server sent an empty roster page with a next page")

// Roster reads a call's roster with GetCallRoster from the page token on ("": the whole roster),
// page after page, each bounded by pageTimeout when it is positive. A roster passes one page only
// in a body with very large declarations (the server bounds a page at about 2 MiB).
func Roster(ctx context.Context, calls candorv1.CallServiceClient, name, token string, pageTimeout time.Duration) ([]*candorv1.RosterEntry, error) {
	var all []*candorv1.RosterEntry
	for first := true; first || token != ""; first = false {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if pageTimeout > 0 {
			pctx, cancel = context.WithTimeout(ctx, pageTimeout)
		}
		resp, err := calls.GetCallRoster(pctx, &candorv1.GetCallRosterRequest{Name: name, PageToken: token})
		cancel()
		if err != nil {
			return nil, err
		}
		if len(resp.GetEntries()) == 0 && resp.GetNextPageToken() != "" {
			return nil, ErrEmptyPage
		}
		all = append(all, resp.GetEntries()...)
		token = resp.GetNextPageToken()
	}
	return all, nil
}

// ConsensusLists replaces the latest few objections, appeals and minority statements a call's
// answer carries with every one on the record, read page by page through their own RPCs, when the
// answer's counts say some were left out. (A server from before the counts answers whole lists and
// no counts, and is not asked.)
func ConsensusLists(ctx context.Context, calls candorv1.CallServiceClient, c *candorv1.Call) error {
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
