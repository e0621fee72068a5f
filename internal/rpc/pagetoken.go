package rpc

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/candorhq/candor/internal/service"
)

// Page tokens are opaque to clients (AIP-158): base64url of a kind byte and the last key returned,
// decoded canonically (the token must be exactly the encoding of its bytes) so that each cursor has
// exactly one token: base64 decoders otherwise skip newlines and ignore trailing bits.
// The kind byte stops a token from one list being replayed against another kind of list.
const (
	tokenUUID  byte = 1
	tokenIndex byte = 2
	// tokenOffset: a position in a list kept in order inside one record (a call's objections,
	// appeals, minority statements), which only ever grows at its end.
	tokenOffset byte = 3
	// tokenRoster: a position in one call's eligibility list (fixed when the call opens), with the
	// call's UUID, so that a token read from one call's roster cannot page another's.
	tokenRoster byte = 4
)

var errBadPageToken = errors.New("rpc: malformed page token")

func encodeUUIDToken(id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte{tokenUUID}, id[:]...))
}

func decodeUUIDToken(s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.Nil, nil
	}
	b, err := decodeToken(s)
	if err != nil || len(b) != 17 || b[0] != tokenUUID {
		return uuid.Nil, errBadPageToken
	}
	return uuid.UUID(b[1:]), nil
}

// decodeToken decodes a token, refusing any spelling but the canonical one.
func decodeToken(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || base64.RawURLEncoding.EncodeToString(b) != s {
		return nil, errBadPageToken
	}
	return b, nil
}

func encodeIndexToken(i int64) string {
	b := make([]byte, 9)
	b[0] = tokenIndex
	binary.BigEndian.PutUint64(b[1:], uint64(i))
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeIndexToken returns -1 for the first page.
func decodeIndexToken(s string) (int64, error) {
	if s == "" {
		return -1, nil
	}
	b, err := decodeToken(s)
	if err != nil || len(b) != 9 || b[0] != tokenIndex {
		return 0, errBadPageToken
	}
	i := int64(binary.BigEndian.Uint64(b[1:]))
	if i < 0 {
		return 0, errBadPageToken
	}
	return i, nil
}

func (v *violations) uuidToken(field, s string) uuid.UUID {
	id, err := decodeUUIDToken(s)
	if err != nil {
		v.add(field, "is not a page token from this list")
	}
	return id
}

func (v *violations) indexToken(field, s string) int64 {
	i, err := decodeIndexToken(s)
	if err != nil {
		v.add(field, "is not a page token from this list")
	}
	return i
}

// page trims a list fetched with limit+1 items and returns the next page token (or "").
func page[T any](items []T, limit int, key func(T) string) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, key(items[limit-1])
}

// nameToken is the page token after the resource with this name (its last segment is its UUID).
func nameToken(name string) string {
	id, err := uuid.Parse(name[strings.LastIndexByte(name, '/')+1:])
	if err != nil {
		panic("rpc: resource name without a UUID: " + name) // names are built by package resource
	}
	return encodeUUIDToken(id)
}

func encodeOffsetToken(n int) string {
	b := make([]byte, 9)
	b[0] = tokenOffset
	binary.BigEndian.PutUint64(b[1:], uint64(n))
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeOffsetToken returns 0 for the first page.
func decodeOffsetToken(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	b, err := decodeToken(s)
	if err != nil || len(b) != 9 || b[0] != tokenOffset {
		return 0, errBadPageToken
	}
	n := binary.BigEndian.Uint64(b[1:])
	if n > 1<<31 {
		return 0, errBadPageToken
	}
	return int(n), nil
}

func (v *violations) offsetToken(field, s string) int {
	n, err := decodeOffsetToken(s)
	if err != nil {
		v.add(field, "is not a page token from this list")
	}
	return n
}

// pageAt returns the page of items starting at offset, at most limit long, and the next page token
// (or "").
func pageAt[T any](items []T, offset, limit int) ([]T, string) {
	if offset >= len(items) {
		return nil, ""
	}
	end := offset + limit
	if end >= len(items) {
		return items[offset:], ""
	}
	return items[offset:end], encodeOffsetToken(end)
}

func encodeRosterToken(call uuid.UUID, n int) string {
	b := make([]byte, 25)
	b[0] = tokenRoster
	copy(b[1:17], call[:])
	binary.BigEndian.PutUint64(b[17:], uint64(n))
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeRosterToken returns the position a token of call's roster names: 0 for the first page.
func decodeRosterToken(call uuid.UUID, s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	b, err := decodeToken(s)
	if err != nil || len(b) != 25 || b[0] != tokenRoster || uuid.UUID(b[1:17]) != call {
		return 0, errBadPageToken
	}
	n := binary.BigEndian.Uint64(b[17:])
	if n == 0 || n > 1<<31 {
		return 0, errBadPageToken // the first page has no token
	}
	return int(n), nil
}

func (v *violations) rosterToken(field string, call uuid.UUID, s string) int {
	n, err := decodeRosterToken(call, s)
	if err != nil {
		v.add(field, "is not a page token from this list")
	}
	return n
}

// rosterNext is the token for the page after p, or "".
func rosterNext(call uuid.UUID, p service.RosterPage) string {
	if p.Next == 0 {
		return ""
	}
	return encodeRosterToken(call, p.Next)
}
