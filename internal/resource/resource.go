// Package resource formats and parses Candor's AIP-122 resource names: "participants/{participant}",
// "bodies/{body}", "bodies/{body}/calls/{call}" and the names under a call. IDs are UUIDs.
//
// It is vocabulary only: it must never look anything up.
package resource

import (
	"errors"
	"strings"

	"github.com/google/uuid"
)

// ErrBadName is returned for a name that is not of the expected pattern.
var ErrBadName = errors.New("resource: malformed name")

// Participant returns "participants/{p}".
func Participant(p uuid.UUID) string { return "participants/" + p.String() }

// Body returns "bodies/{b}".
func Body(b uuid.UUID) string { return "bodies/" + b.String() }

// Call returns "bodies/{b}/calls/{c}".
func Call(b, c uuid.UUID) string { return Body(b) + "/calls/" + c.String() }

// Member returns "bodies/{b}/members/{p}".
func Member(b, p uuid.UUID) string { return Body(b) + "/members/" + p.String() }

// Declaration returns "bodies/{b}/calls/{c}/declarations/{d}".
func Declaration(b, c, d uuid.UUID) string { return Call(b, c) + "/declarations/" + d.String() }

// Ballot returns "bodies/{b}/calls/{c}/ballots/{x}".
func Ballot(b, c, x uuid.UUID) string { return Call(b, c) + "/ballots/" + x.String() }

// Position returns "bodies/{b}/calls/{c}/positions/{x}".
func Position(b, c, x uuid.UUID) string { return Call(b, c) + "/positions/" + x.String() }

// MinorityStatement returns "bodies/{b}/calls/{c}/minorityStatements/{s}".
func MinorityStatement(b, c, s uuid.UUID) string {
	return Call(b, c) + "/minorityStatements/" + s.String()
}

// ParseMinorityStatement parses "bodies/{b}/calls/{c}/minorityStatements/{s}".
func ParseMinorityStatement(name string) (body, call, statement uuid.UUID, err error) {
	ids, err := parse(name, "bodies", "calls", "minorityStatements")
	if err != nil {
		return uuid.Nil, uuid.Nil, uuid.Nil, err
	}
	return ids[0], ids[1], ids[2], nil
}

// SOI returns "participants/{p}/statementsOfInterest/{version}".
func SOI(p uuid.UUID, version int64) string {
	return Participant(p) + "/statementsOfInterest/" + itoa(version)
}

// ParseParticipant parses "participants/{p}".
func ParseParticipant(name string) (uuid.UUID, error) {
	ids, err := parse(name, "participants")
	if err != nil {
		return uuid.Nil, err
	}
	return ids[0], nil
}

// ParseBody parses "bodies/{b}".
func ParseBody(name string) (uuid.UUID, error) {
	ids, err := parse(name, "bodies")
	if err != nil {
		return uuid.Nil, err
	}
	return ids[0], nil
}

// ParseCall parses "bodies/{b}/calls/{c}".
func ParseCall(name string) (body, call uuid.UUID, err error) {
	ids, err := parse(name, "bodies", "calls")
	if err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	return ids[0], ids[1], nil
}

// parse splits name into collection/id pairs matching collections and returns the ids. IDs must be
// canonical lower-case UUIDs so that one resource has one name.
func parse(name string, collections ...string) ([]uuid.UUID, error) {
	parts := strings.Split(name, "/")
	if len(parts) != 2*len(collections) {
		return nil, ErrBadName
	}
	ids := make([]uuid.UUID, len(collections))
	for i, col := range collections {
		if parts[2*i] != col {
			return nil, ErrBadName
		}
		s := parts[2*i+1]
		u, err := uuid.Parse(s)
		if err != nil || u.String() != s || u == uuid.Nil {
			return nil, ErrBadName
		}
		ids[i] = u
	}
	return ids, nil
}

func itoa(v int64) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}
