package service

import (
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// DefaultPageBytes is the encoded size a page of a roster or of a body's calls stays within, and a
// WatchCall state too (its call and its roster's first page together), well under grpc's 4 MiB
// default message limit. A page stops before the item that would take it past the budget, but
// always holds one item, so a page of one item may be larger: a roster entry reaches about 74 KB
// (a 4000-character description and clearance note, 50 matched parties, four bytes a character), a
// call in ListCalls about 2.2 MB (see [SummaryItems]: what its chair and body wrote, its proposals
// and designation), and a WatchCall state of a call answered alone (about 2.8 MB) with one entry
// stays under 3 MB.
//
// Realistic rosters are far smaller: a thousand members with a one-paragraph declaration each make
// about half a megabyte, so a client that never pages still reads the whole roster in one answer.
const DefaultPageBytes = 2 << 20

// PageLimit bounds one page of a list.
type PageLimit struct {
	// Count is the most items a page holds; 0 means no limit but Bytes.
	Count int
	// Bytes is the encoded size a page stays within, counting each item as a repeated field of
	// the answer; the first item is always taken, however large. 0 means DefaultPageBytes.
	Bytes int
}

// budget returns the page's byte budget.
func (l PageLimit) budget() int {
	if l.Bytes <= 0 {
		return DefaultPageBytes
	}
	return l.Bytes
}

// ItemSize is the encoded size of m as one element of a repeated message field of the answer
// (field numbers below 16 take one byte of tag).
func ItemSize(m proto.Message) int {
	return protowire.SizeTag(1) + protowire.SizeBytes(proto.Size(m))
}

// RosterPage is one page of a call's roster.
type RosterPage struct {
	Entries []*candorv1.RosterEntry
	// Next is the position in the call's eligibility list of the first entry left out, or 0
	// when this page ends the roster.
	Next int
	// Total is the number of eligible participants: the entries on all pages.
	Total int
}
