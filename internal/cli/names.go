package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// nameShapes are the resource names accepted on the command line: "*" is one id segment. Only the shape
// is checked here, so that a display name or a title passed by mistake fails before a round trip; the
// server checks the ids.
var nameShapes = map[string]string{
	"participant":        "participants/*",
	"body":               "bodies/*",
	"call":               "bodies/*/calls/*",
	"minority statement": "bodies/*/calls/*/minorityStatements/*",
}

// checkName returns a usage error unless value has the shape of a kind resource name. what names the
// argument or flag in the message ("CALL", "--eligible").
func checkName(kind, what, value string) error {
	shape := strings.Split(nameShapes[kind], "/")
	parts := strings.Split(value, "/")
	ok := len(parts) == len(shape)
	for i := 0; ok && i < len(parts); i++ {
		if shape[i] == "*" {
			ok = parts[i] != "" && strings.TrimSpace(parts[i]) == parts[i]
		} else {
			ok = parts[i] == shape[i]
		}
	}
	if ok {
		return nil
	}
	example := strings.ReplaceAll(nameShapes[kind], "*", "ID")
	return usageErrorf("%s must be a %s name like %s, not %q", what, kind, example, value)
}

// Unique prefixes. A CALL or PARTICIPANT argument may be a unique prefix of the id instead of the
// whole name, as git accepts a short hash:
//
//	candor vote 01a2 yes                        a call in any body the caller can see
//	candor vote bodies/BODY/calls/01a2 yes      a call in that body
//	candor auditor grant 7f3e                   participants/7f3e...
//
// A whole name (its id a whole UUID) is used as it is, with no round trip; a prefix is resolved by
// listing. Hyphens in a prefix are ignored, so "0be100000000" and "0be10000-0000" are the same.

// minPrefixDigits is the fewest hex digits a prefix may have: fewer would match most of a large
// body, and listing everything to say so is waste.
const minPrefixDigits = 4

// maxCandidates is how many of an ambiguous prefix's matches the error names.
const maxCandidates = 5

// argKinds are the positional argument names, as commands spell them in Use, whose values may be
// prefixes, and the kind of resource each names.
var argKinds = map[string]string{"CALL": "call", "PARTICIPANT": "participant"}

// isIDPrefix reports whether s reads as (a prefix of) an id rather than a name or a word: hex digits
// and hyphens only, with at least one digit.
func isIDPrefix(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'f', r >= 'A' && r <= 'F':
			digits++
		case r == '-':
		default:
			return false
		}
	}
	return digits > 0
}

// isWholeID reports whether s is a whole id as the server prints it: ids are UUIDs, in the
// hyphenated form (the 32 digits without hyphens are looked up, which yields that form).
func isWholeID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

// hexDigits is s without hyphens, in lower case: the form prefixes are compared in.
func hexDigits(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "-", ""))
}

// prefixRef is a CALL or PARTICIPANT argument that must be looked up: prefix is the start of an id,
// scope the body to look for a call in ("" for every body the caller can see, and for participants).
type prefixRef struct {
	kind, what, arg string
	scope, prefix   string
}

// parsePrefix says whether arg, given for what (a kind argument), is a prefix to look up, or
// returns ok false when arg is to be used as it is (a whole name, or something checkName refuses).
func parsePrefix(kind, what, arg string) (ref prefixRef, ok bool) {
	ref = prefixRef{kind: kind, what: what, arg: arg}
	switch {
	case !strings.Contains(arg, "/"):
		ref.prefix = arg
		return ref, isIDPrefix(arg)
	case kind == "participant" && strings.HasPrefix(arg, "participants/"):
		ref.prefix = strings.TrimPrefix(arg, "participants/")
	case kind == "call" && checkName("call", what, arg) == nil:
		i := strings.LastIndex(arg, "/calls/")
		ref.scope, ref.prefix = arg[:i], arg[i+len("/calls/"):]
	default:
		return ref, false
	}
	return ref, isIDPrefix(ref.prefix) && !isWholeID(ref.prefix)
}

// candidate is one resource a prefix may stand for.
type candidate struct{ name, label string }

// resolveArg returns the resource name arg (the value of what, a kind argument) stands for: arg
// itself unless it is a prefix, else the one name whose id starts with it. A prefix too short to look
// up, or starting more than one id, is a usage error naming the candidates; one that starts none is a
// failure (exit 1), as a whole name the server does not know is.
func (a *app) resolveArg(ctx context.Context, kind, what, arg string) (string, error) {
	ref, ok := parsePrefix(kind, what, arg)
	if !ok {
		if !strings.Contains(arg, "/") {
			example := strings.ReplaceAll(nameShapes[kind], "*", "ID")
			return "", usageErrorf("%s must be a %s name like %s, or a unique prefix of its id (at least %d hex digits), not %q", what, kind, example, minPrefixDigits, arg)
		}
		return arg, nil
	}
	if n := len(hexDigits(ref.prefix)); n < minPrefixDigits {
		return "", usageErrorf("%s %q is too short to look up: give at least %d hex digits of the %s's id, or its whole name", what, arg, minPrefixDigits, kind)
	}
	cl, err := a.client()
	if err != nil {
		return "", err
	}
	var all []candidate
	if kind == "participant" {
		all, err = participantCandidates(ctx, cl)
	} else {
		all, err = callCandidates(ctx, cl, ref.scope)
	}
	if err != nil {
		return "", err
	}
	return ref.pick(all)
}

// pick returns the one candidate whose id starts with the prefix.
func (r prefixRef) pick(all []candidate) (string, error) {
	want := hexDigits(r.prefix)
	var matches []candidate
	for _, c := range all {
		if strings.HasPrefix(hexDigits(c.name[strings.LastIndex(c.name, "/")+1:]), want) {
			matches = append(matches, c)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0].name, nil
	case 0:
		where := ""
		if r.kind == "call" {
			where = " in the bodies you can see"
			if r.scope != "" {
				where = " in " + r.scope
			}
		}
		return "", &failure{msg: fmt.Sprintf("%s %q starts no %s's id%s", r.what, r.arg, r.kind, where)}
	}
	names := make([]string, 0, maxCandidates)
	for i, c := range matches {
		if i == maxCandidates {
			names = append(names, fmt.Sprintf("and %d more", len(matches)-maxCandidates))
			break
		}
		names = append(names, fmt.Sprintf("%s (%s)", cell(c.name), cell(c.label)))
	}
	return "", usageErrorf("%s %q is ambiguous: it starts the ids of %d %ss: %s; give more of the id", r.what, r.arg, len(matches), r.kind, strings.Join(names, ", "))
}

// participantCandidates lists every participant.
func participantCandidates(ctx context.Context, cl *clients) ([]candidate, error) {
	ps, err := listAll(func(tok string) ([]*candorv1.Participant, string, error) {
		resp, err := cl.participants.ListParticipants(ctx, &candorv1.ListParticipantsRequest{PageToken: tok})
		return resp.GetParticipants(), resp.GetNextPageToken(), err
	})
	out := make([]candidate, len(ps))
	for i, p := range ps {
		out[i] = candidate{p.GetName(), p.GetDisplayName()}
	}
	return out, err
}

// callCandidates lists the calls of body, or with body "" of every body the caller may see (bodies
// the server refuses to show the caller are skipped).
func callCandidates(ctx context.Context, cl *clients, body string) ([]candidate, error) {
	bodies := []string{body}
	if body == "" {
		bs, err := listAll(func(tok string) ([]*candorv1.Body, string, error) {
			resp, err := cl.bodies.ListBodies(ctx, &candorv1.ListBodiesRequest{PageToken: tok})
			return resp.GetBodies(), resp.GetNextPageToken(), err
		})
		if err != nil {
			return nil, err
		}
		bodies = bodies[:0]
		for _, b := range bs {
			bodies = append(bodies, b.GetName())
		}
	}
	var out []candidate
	for _, b := range bodies {
		cs, err := listAll(func(tok string) ([]*candorv1.Call, string, error) {
			resp, err := cl.calls.ListCalls(ctx, &candorv1.ListCallsRequest{Body: b, PageToken: tok})
			return resp.GetCalls(), resp.GetNextPageToken(), err
		})
		if c := status.Code(err); body == "" && (c == codes.PermissionDenied || c == codes.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			out = append(out, candidate{c.GetName(), c.GetTitle()})
		}
	}
	return out, nil
}

// resolvePrefixes makes every CALL and PARTICIPANT positional argument of the commands under root
// accept a unique prefix: the argument names are read from each command's Use, the synopsis its help
// shows, and the command's RunE then sees whole names only.
func (a *app) resolvePrefixes(root *cobra.Command) {
	for _, c := range root.Commands() {
		a.resolvePrefixes(c)
		kinds := positionalKinds(c.Use)
		if len(kinds) == 0 || c.RunE == nil {
			continue
		}
		run := c.RunE
		c.RunE = func(cmd *cobra.Command, args []string) error {
			for i, what := range kinds {
				if i >= len(args) || what == "" {
					continue
				}
				name, err := a.resolveArg(cmd.Context(), argKinds[what], what, args[i])
				if err != nil {
					return err
				}
				args[i] = name
			}
			return run(cmd, args)
		}
	}
}

// positionalKinds returns, for each positional argument in a command's Use ("clear CALL PARTICIPANT
// [--note N]"), its name if it is one of [argKinds], else "", or nil when none is.
func positionalKinds(use string) []string {
	var kinds []string
	found := false
	for _, f := range strings.Fields(use)[1:] {
		if strings.HasPrefix(f, "-") || strings.HasPrefix(f, "[-") || f == "[flags]" {
			break
		}
		name := strings.Trim(f, "[].")
		if _, ok := argKinds[name]; ok {
			kinds, found = append(kinds, name), true
		} else {
			kinds = append(kinds, "")
		}
	}
	if !found {
		return nil
	}
	return kinds
}
