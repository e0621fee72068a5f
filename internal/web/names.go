package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/internal/domain"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// Resource names from path ids. The ids go to the server unchecked: it validates names and answers
// NotFound or InvalidArgument, which the page shows.

func bodyName(r *http.Request) string { return "bodies/" + r.PathValue("body") }

func callName(r *http.Request) string {
	return "bodies/" + r.PathValue("body") + "/calls/" + r.PathValue("call")
}

func bodyURL(body string) string { return "/" + body }

func callURL(call string) string { return "/" + call }

// listAll collects every page of a List RPC.
func listAll[T any](ctx context.Context, list func(ctx context.Context, token string) ([]T, string, error)) ([]T, error) {
	var all []T
	tok := ""
	for {
		items, next, err := list(ctx, tok)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		tok = next
	}
}

func (s *Server) listMembers(ctx context.Context, body string) ([]*candorv1.Membership, error) {
	return listAll(ctx, func(ctx context.Context, tok string) ([]*candorv1.Membership, string, error) {
		resp, err := s.bodies.ListMembers(ctx, &candorv1.ListMembersRequest{Body: body, PageSize: 1000, PageToken: tok})
		return resp.GetMemberships(), resp.GetNextPageToken(), err
	})
}

func (s *Server) listCalls(ctx context.Context, body string) ([]*candorv1.Call, error) {
	return listAll(ctx, func(ctx context.Context, tok string) ([]*candorv1.Call, string, error) {
		resp, err := s.calls.ListCalls(ctx, &candorv1.ListCallsRequest{Body: body, PageSize: 1000, PageToken: tok})
		return resp.GetCalls(), resp.GetNextPageToken(), err
	})
}

func (s *Server) listBodies(ctx context.Context) ([]*candorv1.Body, error) {
	return listAll(ctx, func(ctx context.Context, tok string) ([]*candorv1.Body, string, error) {
		resp, err := s.bodies.ListBodies(ctx, &candorv1.ListBodiesRequest{PageSize: 1000, PageToken: tok})
		return resp.GetBodies(), resp.GetNextPageToken(), err
	})
}

// displayNames maps every participant's name to their display name.
func (s *Server) displayNames(ctx context.Context) (map[string]string, error) {
	ps, err := listAll(ctx, func(ctx context.Context, tok string) ([]*candorv1.Participant, string, error) {
		resp, err := s.participants.ListParticipants(ctx, &candorv1.ListParticipantsRequest{PageSize: 1000, PageToken: tok})
		return resp.GetParticipants(), resp.GetNextPageToken(), err
	})
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(ps))
	for _, p := range ps {
		names[p.GetName()] = p.GetDisplayName()
	}
	return names, nil
}

// currentSOI returns the caller's current SOI, or nil when they have none yet.
func (s *Server) currentSOI(ctx context.Context) (*candorv1.StatementOfInterest, error) {
	resp, err := s.participants.GetStatementOfInterest(ctx, &candorv1.GetStatementOfInterestRequest{})
	if err != nil {
		if st := status.Convert(err); st.Code() == codes.NotFound || domain.ParseReason(reasonOf(st)) == candorv1.ErrorReason_ERROR_REASON_SOI_REQUIRED {
			return nil, nil
		}
		return nil, err
	}
	return resp.GetStatementOfInterest(), nil
}

// statusHTTP maps an RPC error's code to the HTTP status of the page that reports it.
func statusHTTP(err error) int {
	switch status.Code(err) {
	case codes.NotFound:
		return http.StatusNotFound
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.InvalidArgument:
		return http.StatusBadRequest
	}
	return http.StatusBadGateway
}

// requestID returns the form's request_id (AIP-155) when it is a UUID: a form rendered once and
// sent twice (a double click, a resend after a lost answer) is then recorded once.
func requestID(r *http.Request) string {
	id := r.PostFormValue("request_id")
	if _, err := uuid.Parse(id); err != nil {
		return ""
	}
	return id
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
