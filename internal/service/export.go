package service

import (
	"container/heap"
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/internal/domain"
	"github.com/candorhq/candor/internal/resource"
	"github.com/candorhq/candor/internal/store"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// The sizes of an export's reads (see [Service.ExportBody]).
const (
	// exportCallsPage is how many calls one transaction lists while the export is planned.
	exportCallsPage = 100
	// exportPage is how many records one transaction reads.
	exportPage = 256
)

// ExportRange is the period an export keeps: records whose time is in [From, To). A zero From is the
// beginning, a zero To the end of the log. Entry times never go back (the server's clock is
// monotonic, and the verifier refuses a log whose times do), so the period is an interval of log
// indexes, found by bisection.
type ExportRange struct {
	From, To time.Time
}

// ExportBody sends a body's record to send: its header ([candorv1.ExportHeader]), then one record
// per log entry of the body's calls in the range, in log order. Members of the body, auditors and
// admins ([domain.CanSeeBody]); while a call is open a member sees the choice of no ballot or
// position but their own ([domain.ShowsChoice]), as in [Service.CallRecord].
//
// It reads in pages, each in its own read transaction, so that an export of any size holds no
// transaction (and no remap of a growing file) for longer than a page takes to read, and none while
// a slow reader is sent what was read. Every page reads the log as it stood when the export began:
// entries appended since lie past its size and are left out, and entries never change, so the
// pages add up to one consistent record whose size and checkpoint the header names. What a page
// shows is decided afresh in its own transaction, as for any paged read: a reader removed from the
// body mid-export is refused from the next page on, and a call closed mid-export shows its choices
// from then on.
func (s *Service) ExportBody(ctx context.Context, pr Principal, body uuid.UUID, r ExportRange, send func(*candorv1.ExportBodyResponse) error) error {
	x := &exporter{s: s, pr: pr, body: body, r: r}
	header, err := x.plan(ctx)
	if err != nil {
		return err
	}
	if err := send(header); err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		page, err := x.next()
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		for _, rec := range page {
			if err := send(rec); err != nil {
				return err
			}
		}
	}
}

// exporter is one export in progress.
type exporter struct {
	s    *Service
	pr   Principal
	body uuid.UUID
	r    ExportRange
	// lo and hi bound the log indexes of the records: [lo, hi). hi is the log's size when the export
	// began, or the first entry at or after r.To.
	lo, hi  int64
	cursors cursorHeap // the calls with records left to read, by their next index
}

// callCursor walks one call's record: the log indexes indexed under it ([store.ReadTx.CallRecord]).
type callCursor struct {
	body, call uuid.UUID
	name       string
	next       []int64 // read ahead, ascending, all below hi
	after      int64   // the last index read into next
	done       bool    // no indexes below hi are left after `after`
}

// plan checks the reader, fixes the log's size and the index range, lists the body's calls and
// counts the records the export will hold; it returns the header.
func (x *exporter) plan(ctx context.Context) (*candorv1.ExportBodyResponse, error) {
	h := &candorv1.ExportHeader{Body: resource.Body(x.body), Reader: x.pr.Actor(), ExportTime: timestamppb.New(x.s.now())}
	if !x.r.From.IsZero() {
		h.StartTime = timestamppb.New(x.r.From)
	}
	if !x.r.To.IsZero() {
		h.EndTime = timestamppb.New(x.r.To)
	}
	err := x.s.store.View(func(tx *store.ReadTx) error {
		b, err := tx.Body(x.body)
		if err != nil {
			return err
		}
		if err := canSeeBody(tx, x.pr, x.body); err != nil {
			return err
		}
		h.Title = b.GetTitle()
		h.LogSize = tx.PublishedSize()
		h.Checkpoint = tx.Checkpoint(h.LogSize)
		if x.lo, err = firstAtOrAfter(tx, h.LogSize, x.r.From); err != nil {
			return err
		}
		x.hi = h.LogSize
		if !x.r.To.IsZero() {
			x.hi, err = firstAtOrAfter(tx, h.LogSize, x.r.To)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	for after := uuid.Nil; ; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var calls []*candorv1.Call
		err := x.s.store.View(func(tx *store.ReadTx) error {
			var err error
			if calls, err = tx.ListCalls(x.body, after, exportCallsPage); err != nil {
				return err
			}
			for _, c := range calls {
				_, id, err := resource.ParseCall(c.GetName())
				if err != nil {
					return fmt.Errorf("service: call %q of body %s: %w", c.GetName(), x.body, err)
				}
				after = id
				cur := &callCursor{body: x.body, call: id, name: c.GetName(), after: x.lo - 1}
				n, err := cur.count(tx, x.hi)
				if err != nil {
					return err
				}
				if n > 0 {
					h.Records += n
					x.cursors = append(x.cursors, cur)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(calls) < exportCallsPage {
			break
		}
	}
	return &candorv1.ExportBodyResponse{
		Kind:   candorv1.ExportRecordKind_EXPORT_RECORD_KIND_HEADER,
		Record: &candorv1.ExportBodyResponse_Header{Header: h},
	}, nil
}

// count returns how many indexes of the call's record lie in (c.after, hi).
func (c *callCursor) count(tx *store.ReadTx, hi int64) (int64, error) {
	var n int64
	for after := c.after; ; {
		indexes, err := tx.CallRecord(c.call, after, exportPage)
		if err != nil {
			return 0, err
		}
		for _, i := range indexes {
			if i >= hi {
				return n, nil
			}
			n++
		}
		if len(indexes) < exportPage {
			return n, nil
		}
		after = indexes[len(indexes)-1]
	}
}

// fill reads the call's next indexes below hi, if none are read ahead.
func (c *callCursor) fill(tx *store.ReadTx, hi int64) error {
	if len(c.next) > 0 || c.done {
		return nil
	}
	indexes, err := tx.CallRecord(c.call, c.after, exportPage)
	if err != nil {
		return err
	}
	c.done = len(indexes) < exportPage
	for _, i := range indexes {
		if i >= hi {
			c.done = true
			break
		}
		c.next = append(c.next, i)
	}
	if len(c.next) > 0 {
		c.after = c.next[len(c.next)-1]
	}
	return nil
}

// next reads the next page of records, in log order; none when the export is complete.
func (x *exporter) next() ([]*candorv1.ExportBodyResponse, error) {
	var page []*candorv1.ExportBodyResponse
	err := x.s.store.View(func(tx *store.ReadTx) error {
		v, err := viewer(tx, x.pr)
		if err != nil {
			return err
		}
		if err := canSeeBody(tx, x.pr, x.body); err != nil {
			return err
		}
		// Cursors come back into order here: the first page, and every page after one whose cursors
		// ran dry, starts by reading ahead.
		for _, c := range x.cursors {
			if err := c.fill(tx, x.hi); err != nil {
				return err
			}
		}
		x.cursors = live(x.cursors)
		heap.Init(&x.cursors)
		open := map[uuid.UUID]bool{} // calls' state as of this page
		sois := map[soiKey]*candorv1.StatementOfInterest{}
		for len(page) < exportPage && len(x.cursors) > 0 {
			c := x.cursors[0]
			index := c.next[0]
			c.next = c.next[1:]
			if err := c.fill(tx, x.hi); err != nil {
				return err
			}
			if len(c.next) == 0 {
				heap.Pop(&x.cursors)
			} else {
				heap.Fix(&x.cursors, 0)
			}
			isOpen, seen := open[c.call]
			if !seen {
				head, err := tx.CallHead(c.body, c.call)
				if err != nil {
					return err
				}
				isOpen = head.GetState() == candorv1.CallState_CALL_STATE_OPEN
				open[c.call] = isOpen
			}
			rec, err := exportRecord(tx, v, index, c.name, isOpen, sois)
			if err != nil {
				return err
			}
			page = append(page, rec)
		}
		return nil
	})
	return page, err
}

// live returns the cursors with indexes left.
func live(cs cursorHeap) cursorHeap {
	out := cs[:0]
	for _, c := range cs {
		if len(c.next) > 0 {
			out = append(out, c)
		}
	}
	return out
}

type soiKey struct {
	participant uuid.UUID
	version     int64
}

// exportRecord reads log entry index of call name and makes it a record as v may read it.
func exportRecord(tx *store.ReadTx, v domain.Viewer, index int64, name string, callOpen bool, sois map[soiKey]*candorv1.StatementOfInterest) (*candorv1.ExportBodyResponse, error) {
	e, err := entry(tx, index)
	if err != nil {
		return nil, err
	}
	rec := &candorv1.ExportBodyResponse{LogIndex: index, EntryKind: e.GetKind(), Time: e.GetTime(), Actor: e.GetActor(), Call: name}
	if author := domain.ChoiceAuthor(e); author != "" && !domain.ShowsChoice(v, author, callOpen) {
		domain.RedactChoice(e)
		rec.ChoiceWithheld = true
	}
	k := candorv1.ExportRecordKind_EXPORT_RECORD_KIND_UNSPECIFIED
	switch e.GetKind() {
	case candorv1.EntryKind_ENTRY_KIND_CALL_OPENED:
		k, rec.Record = candorv1.ExportRecordKind_EXPORT_RECORD_KIND_CALL, &candorv1.ExportBodyResponse_OpenedCall{OpenedCall: e.GetCall()}
	case candorv1.EntryKind_ENTRY_KIND_CALL_CLOSED:
		c := e.GetCall()
		k, rec.Record = candorv1.ExportRecordKind_EXPORT_RECORD_KIND_RESULT, &candorv1.ExportBodyResponse_Result{Result: &candorv1.ExportResult{
			Title: c.GetTitle(), CallKind: c.GetKind(), ClosedBy: c.GetClosedBy(), CloseTime: c.GetCloseTime(), Result: c.GetResult(),
		}}
	case candorv1.EntryKind_ENTRY_KIND_DECLARATION:
		d := e.GetDeclaration()
		k, rec.Record = candorv1.ExportRecordKind_EXPORT_RECORD_KIND_DECLARATION, &candorv1.ExportBodyResponse_Declaration{Declaration: d}
		if rec.StatementOfInterest, err = restated(tx, d, sois); err != nil {
			return nil, err
		}
	case candorv1.EntryKind_ENTRY_KIND_CLEARANCE:
		k, rec.Record = candorv1.ExportRecordKind_EXPORT_RECORD_KIND_CLEARANCE, &candorv1.ExportBodyResponse_Clearance{Clearance: e.GetClearance()}
	case candorv1.EntryKind_ENTRY_KIND_BALLOT:
		k, rec.Record = candorv1.ExportRecordKind_EXPORT_RECORD_KIND_BALLOT, &candorv1.ExportBodyResponse_Ballot{Ballot: e.GetBallot()}
	case candorv1.EntryKind_ENTRY_KIND_POSITION:
		k, rec.Record = candorv1.ExportRecordKind_EXPORT_RECORD_KIND_POSITION, &candorv1.ExportBodyResponse_Position{Position: e.GetPositionStatement()}
	case candorv1.EntryKind_ENTRY_KIND_DESIGNATION_PROPOSED, candorv1.EntryKind_ENTRY_KIND_DESIGNATION_FINALIZED:
		k, rec.Record = candorv1.ExportRecordKind_EXPORT_RECORD_KIND_DESIGNATION, &candorv1.ExportBodyResponse_Designation{Designation: e.GetDesignation()}
	case candorv1.EntryKind_ENTRY_KIND_OBJECTION:
		k, rec.Record = candorv1.ExportRecordKind_EXPORT_RECORD_KIND_OBJECTION, &candorv1.ExportBodyResponse_Objection{Objection: e.GetObjection()}
	case candorv1.EntryKind_ENTRY_KIND_APPEAL:
		k, rec.Record = candorv1.ExportRecordKind_EXPORT_RECORD_KIND_APPEAL, &candorv1.ExportBodyResponse_Appeal{Appeal: e.GetAppeal()}
	case candorv1.EntryKind_ENTRY_KIND_MINORITY_STATEMENT_FILED, candorv1.EntryKind_ENTRY_KIND_MINORITY_STATEMENT_SIGNED:
		k, rec.Record = candorv1.ExportRecordKind_EXPORT_RECORD_KIND_MINORITY_STATEMENT, &candorv1.ExportBodyResponse_MinorityStatement{MinorityStatement: e.GetMinorityStatement()}
	default:
		// No other entry is indexed under a call today. One a later server adds is still sent, its
		// envelope alone, so that the header's count holds.
	}
	rec.Kind = k
	return rec, nil
}

// restated returns the SOI version a declaration restated (read once per page and version).
func restated(tx *store.ReadTx, d *candorv1.Declaration, sois map[soiKey]*candorv1.StatementOfInterest) (*candorv1.StatementOfInterest, error) {
	p, err := resource.ParseParticipant(d.GetParticipant())
	if err != nil || d.GetSoiVersion() <= 0 {
		return nil, nil // nothing to look up: the declaration itself is exported as it is
	}
	k := soiKey{p, d.GetSoiVersion()}
	if soi, ok := sois[k]; ok {
		return soi, nil
	}
	soi, err := tx.SOI(p, d.GetSoiVersion())
	if err != nil {
		return nil, err
	}
	sois[k] = soi
	return soi, nil
}

// firstAtOrAfter returns the index of the first of the log's first size entries whose time is at
// or after t (size when there is none; 0 for a zero t).
func firstAtOrAfter(tx *store.ReadTx, size int64, t time.Time) (int64, error) {
	if t.IsZero() {
		return 0, nil
	}
	var err error
	i := sort.Search(int(size), func(i int) bool {
		if err != nil {
			return true
		}
		var e *candorv1.LogEntry
		if e, err = entry(tx, int64(i)); err != nil {
			return true
		}
		return !e.GetTime().AsTime().Before(t)
	})
	return int64(i), err
}

// cursorHeap orders call cursors by their next index ([container/heap]).
type cursorHeap []*callCursor

func (h cursorHeap) Len() int           { return len(h) }
func (h cursorHeap) Less(i, j int) bool { return h[i].next[0] < h[j].next[0] }
func (h cursorHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)        { *h = append(*h, x.(*callCursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}
