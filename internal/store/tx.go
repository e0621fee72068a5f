package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// ReadTx reads the store inside one transaction of its backend. Everything it returns is a copy,
// valid after the transaction ends.
type ReadTx struct {
	kv kvReader
}

// Tx is a write transaction. Writes mark it dirty: a closure that returns an error after a write
// breaks its whole group (see [Store.Update]), so closures check their rules before they write.
type Tx struct {
	ReadTx
	w        kvWriter
	state    *batchState
	dirty    bool
	appended []int64
}

// batchState is what the writers of one group share: the log size as it grows.
type batchState struct {
	size int64
}

// --- encoding helpers

var marshal = proto.MarshalOptions{Deterministic: true}

func (tx *ReadTx) get(bucket, key []byte, m proto.Message) (bool, error) {
	v := tx.kv.get(bucket, key)
	if v == nil {
		return false, nil
	}
	// proto.Unmarshal copies what it keeps, so m outlives the transaction.
	if err := proto.Unmarshal(v, m); err != nil {
		return false, fmt.Errorf("store: decode %s/%x: %w", bucket, key, err)
	}
	return true, nil
}

func (tx *Tx) put(bucket, key []byte, m proto.Message) error {
	b, err := marshal.Marshal(m)
	if err != nil {
		return fmt.Errorf("store: encode %s: %w", bucket, err)
	}
	return tx.putRaw(bucket, key, b)
}

func (tx *Tx) putRaw(bucket, key, value []byte) error {
	tx.dirty = true
	return tx.w.put(bucket, key, value)
}

func (tx *Tx) delete(bucket, key []byte) error {
	tx.dirty = true
	return tx.w.delete(bucket, key)
}

// key joins fixed-size key parts.
func key(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

func id(u uuid.UUID) []byte { return u[:] }

// scan calls fn for each key under prefix, after the key `after` (exclusive; nil for the start),
// until fn returns false or limit keys were visited (limit <= 0: no limit).
func (tx *ReadTx) scan(bucket, prefix, after []byte, limit int, fn func(k, v []byte) (bool, error)) error {
	c := tx.kv.cursor(bucket)
	var k, v []byte
	if after != nil {
		k, v = c.seek(after)
		if k != nil && bytes.Equal(k, after) {
			k, v = c.next()
		}
	} else {
		k, v = c.seek(prefix)
	}
	for n := 0; k != nil && bytes.HasPrefix(k, prefix); k, v = c.next() {
		if limit > 0 && n == limit {
			return nil
		}
		n++
		more, err := fn(k, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// --- admin and tokens

// AdminTokenHash returns the SHA-256 of the admin token, or nil before the first start finished.
func (tx *ReadTx) AdminTokenHash() []byte {
	return clone(tx.kv.get(bucketMeta, metaKeyAdminTokenHash))
}

// SetAdminTokenHash records the SHA-256 of the admin token.
func (tx *Tx) SetAdminTokenHash(h []byte) error {
	return tx.putRaw(bucketMeta, metaKeyAdminTokenHash, h)
}

// LogOrigin returns the log's origin line, or "" before it was chosen.
func (tx *ReadTx) LogOrigin() string { return string(tx.kv.get(bucketMeta, metaKeyOrigin)) }

// SetLogOrigin records the log's origin line, chosen once on first start.
func (tx *Tx) SetLogOrigin(origin string) error {
	return tx.putRaw(bucketMeta, metaKeyOrigin, []byte(origin))
}

// ParticipantByToken returns the participant whose token hashes to h.
func (tx *ReadTx) ParticipantByToken(h []byte) (uuid.UUID, error) {
	v := tx.kv.get(bucketTokens, h)
	if len(v) != 16 {
		return uuid.Nil, ErrTokenNotFound
	}
	return uuid.UUID(v), nil
}

// PutToken maps a token hash to a participant.
func (tx *Tx) PutToken(h []byte, p uuid.UUID) error { return tx.putRaw(bucketTokens, clone(h), id(p)) }

// DeleteTokens removes every token of participant p, so none of them authenticates any more. It
// scans the token index: tokens change rarely, and the index has one key per participant.
func (tx *Tx) DeleteTokens(p uuid.UUID) error {
	var hashes [][]byte
	err := tx.scan(bucketTokens, nil, nil, 0, func(k, v []byte) (bool, error) {
		if bytes.Equal(v, id(p)) {
			hashes = append(hashes, clone(k))
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, h := range hashes {
		if err := tx.delete(bucketTokens, h); err != nil {
			return err
		}
	}
	return nil
}

// --- participants and statements of interest

// Participant returns a participant.
func (tx *ReadTx) Participant(p uuid.UUID) (*candorv1.Participant, error) {
	m := new(candorv1.Participant)
	ok, err := tx.get(bucketParticipants, id(p), m)
	if err == nil && !ok {
		err = fmt.Errorf("%w: %s", ErrParticipantNotFound, p)
	}
	return m, err
}

// PutParticipant stores a participant.
func (tx *Tx) PutParticipant(p uuid.UUID, m *candorv1.Participant) error {
	return tx.put(bucketParticipants, id(p), m)
}

// ListParticipants returns up to limit participants after the given one (uuid.Nil: from the start).
func (tx *ReadTx) ListParticipants(after uuid.UUID, limit int) ([]*candorv1.Participant, error) {
	return list[*candorv1.Participant](tx, bucketParticipants, nil, afterKey(nil, after), limit)
}

// SOI returns version v of a participant's statement of interest.
func (tx *ReadTx) SOI(p uuid.UUID, v int64) (*candorv1.StatementOfInterest, error) {
	m := new(candorv1.StatementOfInterest)
	ok, err := tx.get(bucketSOIs, key(id(p), u64(uint64(v))), m)
	if err == nil && !ok {
		err = fmt.Errorf("%w: %s version %d", ErrSOINotFound, p, v)
	}
	return m, err
}

// PutSOI stores a version of a participant's statement of interest.
func (tx *Tx) PutSOI(p uuid.UUID, m *candorv1.StatementOfInterest) error {
	return tx.put(bucketSOIs, key(id(p), u64(uint64(m.GetVersion()))), m)
}

// ListSOIs returns up to limit versions of a participant's SOI after version `after`.
func (tx *ReadTx) ListSOIs(p uuid.UUID, after int64, limit int) ([]*candorv1.StatementOfInterest, error) {
	var from []byte
	if after > 0 {
		from = key(id(p), u64(uint64(after)))
	}
	return list[*candorv1.StatementOfInterest](tx, bucketSOIs, id(p), from, limit)
}

// --- bodies and members

// Body returns a body.
func (tx *ReadTx) Body(b uuid.UUID) (*candorv1.Body, error) {
	m := new(candorv1.Body)
	ok, err := tx.get(bucketBodies, id(b), m)
	if err == nil && !ok {
		err = fmt.Errorf("%w: %s", ErrBodyNotFound, b)
	}
	return m, err
}

// PutBody stores a body.
func (tx *Tx) PutBody(b uuid.UUID, m *candorv1.Body) error { return tx.put(bucketBodies, id(b), m) }

// ListBodies returns up to limit bodies after the given one.
func (tx *ReadTx) ListBodies(after uuid.UUID, limit int) ([]*candorv1.Body, error) {
	return list[*candorv1.Body](tx, bucketBodies, nil, afterKey(nil, after), limit)
}

// Membership returns a participant's membership of a body, or nil when they are not a member.
func (tx *ReadTx) Membership(b, p uuid.UUID) (*candorv1.Membership, error) {
	m := new(candorv1.Membership)
	ok, err := tx.get(bucketMembers, key(id(b), id(p)), m)
	if !ok || err != nil {
		return nil, err
	}
	return m, nil
}

// PutMembership stores a membership.
func (tx *Tx) PutMembership(b, p uuid.UUID, m *candorv1.Membership) error {
	return tx.put(bucketMembers, key(id(b), id(p)), m)
}

// RemoveMembership takes participant p out of body b, keeping the membership as it was under the
// body's former members (see [ReadTx.FormerMembership]).
func (tx *Tx) RemoveMembership(b, p uuid.UUID, m *candorv1.Membership) error {
	if err := tx.put(bucketFormer, key(id(b), id(p)), m); err != nil {
		return err
	}
	return tx.delete(bucketMembers, key(id(b), id(p)))
}

// FormerMembership returns the membership participant p had in body b when they were last removed,
// or nil: the stakeholder group their ballots in calls open at the time are counted under.
func (tx *ReadTx) FormerMembership(b, p uuid.UUID) (*candorv1.Membership, error) {
	m := new(candorv1.Membership)
	ok, err := tx.get(bucketFormer, key(id(b), id(p)), m)
	if !ok || err != nil {
		return nil, err
	}
	return m, nil
}

// ListMembers returns up to limit members of a body after the given participant.
func (tx *ReadTx) ListMembers(b, after uuid.UUID, limit int) ([]*candorv1.Membership, error) {
	return list[*candorv1.Membership](tx, bucketMembers, id(b), afterKey(id(b), after), limit)
}

// --- calls

// Call returns a call.
func (tx *ReadTx) Call(b, c uuid.UUID) (*candorv1.Call, error) {
	m := new(candorv1.Call)
	ok, err := tx.get(bucketCalls, key(id(b), id(c)), m)
	if err == nil && !ok {
		err = fmt.Errorf("%w: %s", ErrCallNotFound, c)
	}
	return m, err
}

// PutCall stores a call, its head, and (when the call is new) its eligibility index.
func (tx *Tx) PutCall(b, c uuid.UUID, m *candorv1.Call) error {
	k := key(id(b), id(c))
	if tx.kv.get(bucketCallHeads, k) == nil {
		// Eligibility is fixed when a call opens: index it once.
		for _, name := range m.GetEligibleParticipants() {
			p, err := uuid.Parse(strings.TrimPrefix(name, "participants/"))
			if err != nil {
				return fmt.Errorf("store: eligible participant %q: %w", name, err)
			}
			// A non-empty value: bbolt reads back an empty value put in the same transaction as
			// nil, which would read as "not eligible" until the commit.
			if err := tx.putRaw(bucketEligible, key(id(c), id(p)), eligibleMark); err != nil {
				return err
			}
		}
	}
	head := proto.Clone(m).(*candorv1.Call)
	head.EligibleParticipants, head.Consensus, head.Result = nil, nil, nil
	if err := tx.put(bucketCallHeads, k, head); err != nil {
		return err
	}
	return tx.put(bucketCalls, k, m)
}

// CallHead returns a call without its list of eligible participants, its result and its consensus
// record: what a declaration, a ballot or a position needs, read on every write, without decoding
// lists that grow with the body or the debate (see [ReadTx.IsEligible]).
func (tx *ReadTx) CallHead(b, c uuid.UUID) (*candorv1.Call, error) {
	m := new(candorv1.Call)
	ok, err := tx.get(bucketCallHeads, key(id(b), id(c)), m)
	if err == nil && !ok {
		err = fmt.Errorf("%w: %s", ErrCallNotFound, c)
	}
	return m, err
}

// eligibleMark is the value of an eligibility index key (files written before it hold empty values,
// which read as present once committed).
var eligibleMark = []byte{1}

// IsEligible reports whether participant p was eligible in call c when it opened.
func (tx *ReadTx) IsEligible(c, p uuid.UUID) bool {
	return tx.kv.get(bucketEligible, key(id(c), id(p))) != nil
}

// ListCalls returns up to limit calls of a body after the given call.
func (tx *ReadTx) ListCalls(b, after uuid.UUID, limit int) ([]*candorv1.Call, error) {
	return list[*candorv1.Call](tx, bucketCalls, id(b), afterKey(id(b), after), limit)
}

// CallDeadline names an open call with a deadline.
type CallDeadline struct {
	Deadline   time.Time
	Body, Call uuid.UUID
}

// SetDeadline indexes an open call's deadline so the server can close it.
func (tx *Tx) SetDeadline(d CallDeadline) error {
	return tx.putRaw(bucketDeadlines, deadlineKey(d), nil)
}

// ClearDeadline removes a call from the deadline index when it closes.
func (tx *Tx) ClearDeadline(d CallDeadline) error { return tx.delete(bucketDeadlines, deadlineKey(d)) }

// DueCalls returns up to limit open calls whose deadline is at or before now, earliest first.
func (tx *ReadTx) DueCalls(now time.Time, limit int) ([]CallDeadline, error) {
	var due []CallDeadline
	err := tx.scan(bucketDeadlines, nil, nil, limit, func(k, _ []byte) (bool, error) {
		d := parseDeadlineKey(k)
		if d.Deadline.After(now) {
			return false, nil
		}
		due = append(due, d)
		return true, nil
	})
	return due, err
}

// NextDeadline returns the earliest deadline of an open call, if any.
func (tx *ReadTx) NextDeadline() (time.Time, bool) {
	k, _ := tx.kv.cursor(bucketDeadlines).first()
	if k == nil {
		return time.Time{}, false
	}
	return parseDeadlineKey(k).Deadline, true
}

func deadlineKey(d CallDeadline) []byte {
	return key(u64(uint64(d.Deadline.UnixNano())), id(d.Body), id(d.Call))
}

func parseDeadlineKey(k []byte) CallDeadline {
	return CallDeadline{
		Deadline: time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))).UTC(),
		Body:     uuid.UUID(k[8:24]),
		Call:     uuid.UUID(k[24:40]),
	}
}

// --- declarations, clearances and ballots (current state; history is in the log)

// Declaration returns a participant's current declaration for a call, or nil.
func (tx *ReadTx) Declaration(c, p uuid.UUID) (*candorv1.Declaration, error) {
	m := new(candorv1.Declaration)
	ok, err := tx.get(bucketDeclarations, key(id(c), id(p)), m)
	if !ok || err != nil {
		return nil, err
	}
	return m, nil
}

// PutDeclaration makes d the participant's current declaration for the call and forgets the chair's
// ruling on the one it supersedes (the ruling stays in the log).
func (tx *Tx) PutDeclaration(c, p uuid.UUID, d *candorv1.Declaration) error {
	if err := tx.put(bucketDeclarations, key(id(c), id(p)), d); err != nil {
		return err
	}
	return tx.delete(bucketClearances, key(id(c), id(p)))
}

// Declarations returns every current declaration for a call, in participant order.
func (tx *ReadTx) Declarations(c uuid.UUID) ([]*candorv1.Declaration, error) {
	return list[*candorv1.Declaration](tx, bucketDeclarations, id(c), nil, 0)
}

// Clearance returns the chair's ruling on a participant's current declaration, or nil.
func (tx *ReadTx) Clearance(c, p uuid.UUID) (*candorv1.Clearance, error) {
	m := new(candorv1.Clearance)
	ok, err := tx.get(bucketClearances, key(id(c), id(p)), m)
	if !ok || err != nil {
		return nil, err
	}
	return m, nil
}

// PutClearance records the chair's ruling on a participant's current declaration.
func (tx *Tx) PutClearance(c, p uuid.UUID, m *candorv1.Clearance) error {
	return tx.put(bucketClearances, key(id(c), id(p)), m)
}

// Clearances returns every current ruling for a call, in participant order.
func (tx *ReadTx) Clearances(c uuid.UUID) ([]*candorv1.Clearance, error) {
	return list[*candorv1.Clearance](tx, bucketClearances, id(c), nil, 0)
}

// Ballot returns a participant's current ballot in a call, or nil.
func (tx *ReadTx) Ballot(c, p uuid.UUID) (*candorv1.Ballot, error) {
	m := new(candorv1.Ballot)
	ok, err := tx.get(bucketBallots, key(id(c), id(p)), m)
	if !ok || err != nil {
		return nil, err
	}
	return m, nil
}

// PutBallot makes b the participant's current ballot in the call.
func (tx *Tx) PutBallot(c, p uuid.UUID, b *candorv1.Ballot) error {
	return tx.put(bucketBallots, key(id(c), id(p)), b)
}

// Ballots returns every current ballot in a call, in participant order.
func (tx *ReadTx) Ballots(c uuid.UUID) ([]*candorv1.Ballot, error) {
	return list[*candorv1.Ballot](tx, bucketBallots, id(c), nil, 0)
}

// FiledKind is a kind of record one member files again and again in a call, superseding the last.
type FiledKind byte

// The records a member's cap counts (see domain.MaxDeclarationsPerMember, domain.MaxBallotsPerMember).
const (
	FiledDeclarations FiledKind = 1
	FiledBallots      FiledKind = 2 // ballots in votes, positions in consensus calls
)

// Filed returns how many records of kind participant p has filed in call c, superseded ones
// included. Calls opened before this count was kept start from the records filed since.
func (tx *ReadTx) Filed(c, p uuid.UUID, kind FiledKind) int {
	v := tx.kv.get(bucketFiled, key(id(c), id(p), []byte{byte(kind)}))
	if len(v) != 4 {
		return 0
	}
	return int(binary.BigEndian.Uint32(v))
}

// CountFiled adds one to how many records of kind participant p has filed in call c.
func (tx *Tx) CountFiled(c, p uuid.UUID, kind FiledKind) error {
	v := binary.BigEndian.AppendUint32(nil, uint32(tx.Filed(c, p, kind)+1))
	return tx.putRaw(bucketFiled, key(id(c), id(p), []byte{byte(kind)}), v)
}

// --- indexes into the log

// IndexDeclaration records that log entry index is a declaration by p in call c.
func (tx *Tx) IndexDeclaration(p, c uuid.UUID, index int64) error {
	return tx.putRaw(bucketHistory, key(id(p), u64(uint64(index))), id(c))
}

// DeclarationHistory returns up to limit log indexes of p's declarations after log index `after`
// (-1: from the start).
func (tx *ReadTx) DeclarationHistory(p uuid.UUID, after int64, limit int) ([]int64, error) {
	return tx.indexes(bucketHistory, id(p), after, limit)
}

// IndexCallRecord records that log entry index is about call c.
func (tx *Tx) IndexCallRecord(c uuid.UUID, index int64) error {
	return tx.putRaw(bucketCallRecord, key(id(c), u64(uint64(index))), nil)
}

// CallRecord returns up to limit log indexes about call c after log index `after` (-1: from the start).
func (tx *ReadTx) CallRecord(c uuid.UUID, after int64, limit int) ([]int64, error) {
	return tx.indexes(bucketCallRecord, id(c), after, limit)
}

func (tx *ReadTx) indexes(bucket, prefix []byte, after int64, limit int) ([]int64, error) {
	var from []byte
	if after >= 0 {
		from = key(prefix, u64(uint64(after)))
	}
	var out []int64
	err := tx.scan(bucket, prefix, from, limit, func(k, _ []byte) (bool, error) {
		out = append(out, int64(binary.BigEndian.Uint64(k[len(prefix):])))
		return true, nil
	})
	return out, err
}

// --- generic listing

// afterKey is the scan start for listing after the item with the given id (uuid.Nil: the start).
func afterKey(prefix []byte, after uuid.UUID) []byte {
	if after == uuid.Nil {
		return nil
	}
	return key(prefix, id(after))
}

// list decodes up to limit values under prefix, after the key `after`.
func list[M interface {
	proto.Message
	*T
}, T any](tx *ReadTx, bucket, prefix, after []byte, limit int) ([]M, error) {
	var out []M
	err := tx.scan(bucket, prefix, after, limit, func(_, v []byte) (bool, error) {
		m := M(new(T))
		if err := proto.Unmarshal(v, m); err != nil {
			return false, fmt.Errorf("store: decode %s: %w", bucket, err)
		}
		out = append(out, m)
		return true, nil
	})
	return out, err
}

// Position returns a participant's current position in a consensus call, or nil.
func (tx *ReadTx) Position(c, p uuid.UUID) (*candorv1.PositionStatement, error) {
	m := new(candorv1.PositionStatement)
	ok, err := tx.get(bucketPositions, key(id(c), id(p)), m)
	if !ok || err != nil {
		return nil, err
	}
	return m, nil
}

// PutPosition makes s the participant's current position in the call.
func (tx *Tx) PutPosition(c, p uuid.UUID, s *candorv1.PositionStatement) error {
	return tx.put(bucketPositions, key(id(c), id(p)), s)
}

// Positions returns every current position in a call, in participant order.
func (tx *ReadTx) Positions(c uuid.UUID) ([]*candorv1.PositionStatement, error) {
	return list[*candorv1.PositionStatement](tx, bucketPositions, id(c), nil, 0)
}

// Request returns the log index of the entry a request id already produced (AIP-155) and the
// fingerprint of the request that produced it, if any.
func (tx *ReadTx) Request(key []byte) (index int64, fingerprint []byte, ok bool) {
	v := tx.kv.get(bucketRequests, key)
	if len(v) < 8 {
		return 0, nil, false
	}
	return int64(binary.BigEndian.Uint64(v[:8])), clone(v[8:]), true
}

// PutRequest records that a request id, for a request with this fingerprint, produced entry index.
func (tx *Tx) PutRequest(key []byte, index int64, fingerprint []byte) error {
	return tx.putRaw(bucketRequests, clone(key), append(u64(uint64(index)), fingerprint...))
}

// LastAppended returns the index of the last entry this write appended, if any.
func (tx *Tx) LastAppended() (int64, bool) {
	if len(tx.appended) == 0 {
		return 0, false
	}
	return tx.appended[len(tx.appended)-1], true
}
