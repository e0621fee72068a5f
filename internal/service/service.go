// Package service is Candor's use cases: add participants and bodies, open and close calls, file
// declarations, cast ballots, and read the record. Each write runs its permission checks and the
// domain rules inside the same store transaction that writes the change and its log entry, then
// returns a receipt proving the entry is in the signed tree.
//
// The service knows who is asking ([Principal]) but not how they proved it, and nothing of gRPC:
// it returns sentinel errors from domain and store for the transport to map.
package service

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/internal/domain"
	"github.com/candorhq/candor/internal/resource"
	"github.com/candorhq/candor/internal/store"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// ErrUnauthenticated is returned for a missing or unknown token.
var ErrUnauthenticated = errors.New("service: missing or unknown token")

// Principal is the authenticated caller. The zero value is an anonymous caller, admitted only to the
// public audit endpoints when the server runs with public audit.
type Principal struct {
	// Admin is the operator holding the admin token. The admin is not a participant: it cannot
	// declare or vote.
	Admin bool
	// Participant is the caller's id when the caller is a participant.
	Participant uuid.UUID
}

// Actor is how the log names the principal (see [domain.Actor]).
func (p Principal) Actor() string { return p.known().Actor() }

func (p Principal) isParticipant() bool { return p.known().IsParticipant() }

// known is the principal as the permission rules see it without reading the store: enough for every
// rule but those about auditors (see [viewer]).
func (p Principal) known() domain.Viewer {
	v := domain.Viewer{Admin: p.Admin}
	if p.Participant != uuid.Nil {
		v.Participant = resource.Participant(p.Participant)
	}
	return v
}

// Config configures a Service.
type Config struct {
	Store *store.Store
	// PublicAudit lets anyone read the log's entries, checkpoints and proofs.
	PublicAudit bool
	// Now returns the time; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service implements Candor's use cases. It is safe for concurrent use.
type Service struct {
	store       *store.Store
	publicAudit bool
	now         func() time.Time
	log         *slog.Logger

	clockMu sync.Mutex
	last    time.Time // guarded by clockMu: the time given to the newest log entry

	watchers      watchers      // WatchCall streams, woken after the writes that change their call
	stopWatch     chan struct{} // closed by StopWatching
	stopWatchOnce sync.Once
}

// New returns a Service.
func New(cfg Config) *Service {
	s := &Service{store: cfg.Store, publicAudit: cfg.PublicAudit, now: cfg.Now, log: cfg.Logger, stopWatch: make(chan struct{})}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.last = s.lastEntryTime()
	cfg.Store.OnRemoteCommit(s.remoteCommitted)
	return s
}

// clock returns the time for a log entry: the wall clock, but never before the previous entry's, so
// a clock stepped back (NTP, a resumed VM) cannot write a log whose times go backwards. Writes call it
// inside their transaction, where the committer runs them one at a time in log order.
func (s *Service) clock() time.Time {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	t := s.now().UTC()
	if t.Before(s.last) {
		t = s.last
	}
	s.last = t
	return t
}

// lastEntryTime reads the newest log entry's time, so the clock stays monotonic across restarts.
func (s *Service) lastEntryTime() time.Time {
	var t time.Time
	size := s.store.Latest().Size
	if size == 0 {
		return t
	}
	s.store.View(func(tx *store.ReadTx) error {
		data, err := tx.Entry(size - 1)
		if err != nil {
			return err
		}
		e := new(candorv1.LogEntry)
		if proto.Unmarshal(data, e) == nil {
			t = e.GetTime().AsTime()
		}
		return nil
	})
	return t
}

// NewToken returns a fresh bearer token: 32 random bytes, base64url, with a "cnd_" prefix so it is
// recognisable in a leaked file.
func NewToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand documents it)
	return "cnd_" + base64.RawURLEncoding.EncodeToString(b)
}

// TokenHash is what the store keeps of a token. Tokens are 256-bit random, so a plain SHA-256
// is enough: there is nothing to brute-force.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Authenticate returns the principal a bearer token stands for.
func (s *Service) Authenticate(token string) (Principal, error) {
	if token == "" {
		return Principal{}, ErrUnauthenticated
	}
	h := TokenHash(token)
	var pr Principal
	err := s.store.View(func(tx *store.ReadTx) error {
		if admin := tx.AdminTokenHash(); admin != nil && subtle.ConstantTimeCompare(admin, h) == 1 {
			pr.Admin = true
			return nil
		}
		id, err := tx.ParticipantByToken(h)
		pr.Participant = id
		return err
	})
	if errors.Is(err, store.ErrTokenNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	return pr, err
}

// SetAdminToken replaces the admin token (first start, or a lost token file).
func (s *Service) SetAdminToken(ctx context.Context, token string) error {
	h := TokenHash(token)
	var same bool
	if err := s.store.View(func(tx *store.ReadTx) error { same = bytes.Equal(tx.AdminTokenHash(), h); return nil }); err != nil {
		return err
	}
	if same {
		return nil // every replica of an etcd store starts with the same token: one writes it
	}
	return s.store.SetAdminTokenHash(ctx, h)
}

// write runs fn in a group-committed transaction and returns a receipt for the last entry fn
// appended. fn may run more than once; it must keep its results in variables it resets. The write
// is a span of the caller's trace named after its use case, the exported method writing
// ("CastBallot"; see [startWrite]).
func (s *Service) write(ctx context.Context, useCase string, fn func(tx *store.Tx, now time.Time) error) (rcpt *candorv1.Receipt, err error) {
	ctx, span := startWrite(ctx, useCase)
	defer func() { endWrite(span, rcpt, err, false) }()
	return s.commit(ctx, fn)
}

// commit is write without the span.
func (s *Service) commit(ctx context.Context, fn func(tx *store.Tx, now time.Time) error) (*candorv1.Receipt, error) {
	commit, err := s.store.Update(ctx, func(tx *store.Tx) error { return fn(tx, s.clock()) })
	if err != nil {
		return nil, err
	}
	if len(commit.Indexes) == 0 {
		return nil, nil
	}
	return s.receipt(commit.Indexes[len(commit.Indexes)-1], commit.Checkpoint)
}

// tracer makes the spans of the writes. It is the global provider's: a no-op until the daemon
// installs one (--otlp-endpoint); a write that no trace records makes no span at all (see startWrite).
var tracer = otel.Tracer(servicePackage)

const servicePackage = "github.com/candorhq/candor/internal/service"

// The attributes of a write's span.
const (
	methodKey   = attribute.Key("candor.method")           // the use case: "CastBallot"
	logIndexKey = attribute.Key("candor.log.index")        // the entry the receipt is for
	reasonKey   = attribute.Key("candor.error.reason")     // a rule's refusal, as rpc's ErrorInfo names it
	replayedKey = attribute.Key("candor.request.replayed") // a retry answered with the original entry
)

// startWrite starts the span of a write, named after its use case ("candor.service/CastBallot"): a
// child of the RPC's span, and the parent of the store's commit.
func startWrite(ctx context.Context, useCase string) (context.Context, trace.Span) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		// No trace is recording this write (tracing off, or not sampled): make nothing, as the
		// store does for its commit span; starting a no-op span costs four allocations a write.
		return ctx, noop.Span{}
	}
	ctx, span := tracer.Start(ctx, "candor.service/"+useCase)
	if span.IsRecording() {
		span.SetAttributes(methodKey.String(useCase))
	}
	return ctx, span
}

// endWrite ends a write's span with its outcome: the entry written, or the error; a refusal by one
// of the domain's rules carries its reason.
func endWrite(span trace.Span, rcpt *candorv1.Receipt, err error, replayed bool) {
	if span.IsRecording() {
		if rcpt != nil {
			span.SetAttributes(logIndexKey.Int64(rcpt.LogIndex))
		}
		if replayed {
			span.SetAttributes(replayedKey.Bool(true))
		}
		if err != nil {
			msg := err.Error()
			if r := domain.ReasonOf(err); r != candorv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
				msg = domain.Reason(r)
				span.SetAttributes(reasonKey.String(msg))
			}
			span.SetStatus(codes.Error, msg)
		}
	}
	span.End()
}

// errReplayed stops a write whose request id the same caller already used: it writes nothing.
var errReplayed = errors.New("service: request already served")

// ErrRequestIDReused is returned for a request id the caller already used for a different request.
var ErrRequestIDReused = errors.New("service: this request id was already used for a different request")

// Request identifies a write for idempotent retries (AIP-155). The zero value is a write without one.
type Request struct {
	// ID is the client's request id.
	ID string
	// Fingerprint is a hash of everything else the request asks, so a reused id is told apart from
	// a retry.
	Fingerprint []byte
}

// writeOnce is write for requests that carry an id (AIP-155). The id is looked up and recorded in the
// write's own transaction, so a retry, even one racing the original, never writes twice: it gets the
// original entry back, with a receipt against the newest checkpoint. Without an id it is write.
func (s *Service) writeOnce(ctx context.Context, pr Principal, method string, req Request, fn func(tx *store.Tx, now time.Time) error) (rcpt *candorv1.Receipt, replay *candorv1.LogEntry, err error) {
	ctx, span := startWrite(ctx, method)
	defer func() { endWrite(span, rcpt, err, replay != nil) }()
	fn = activeOnly(pr, fn)
	if req.ID == "" {
		rcpt, err = s.commit(ctx, fn)
		return rcpt, nil, err
	}
	h := sha256.Sum256([]byte(pr.Actor() + "\x00" + method + "\x00" + req.ID))
	key := h[:]
	var served int64
	rcpt, err = s.commit(ctx, func(tx *store.Tx, now time.Time) error {
		if index, fingerprint, ok := tx.Request(key); ok {
			if !bytes.Equal(fingerprint, req.Fingerprint) {
				return ErrRequestIDReused
			}
			served = index
			return errReplayed
		}
		if err := fn(tx, now); err != nil {
			return err
		}
		if index, ok := tx.LastAppended(); ok {
			return tx.PutRequest(key, index, req.Fingerprint)
		}
		return nil
	})
	if !errors.Is(err, errReplayed) {
		return rcpt, nil, err
	}
	if rcpt, err = s.receipt(served, s.store.Latest()); err != nil {
		return nil, nil, err
	}
	e := new(candorv1.LogEntry)
	if err := proto.Unmarshal(rcpt.Entry, e); err != nil {
		return nil, nil, fmt.Errorf("service: decode log entry %d: %w", served, err)
	}
	return rcpt, e, nil
}

// receipt proves entry index is in the tree of the given checkpoint.
func (s *Service) receipt(index int64, cp store.Checkpoint) (*candorv1.Receipt, error) {
	r := &candorv1.Receipt{LogIndex: index, Checkpoint: cp.Signed}
	err := s.store.View(func(tx *store.ReadTx) error {
		data, err := tx.Entry(index)
		if err != nil {
			return err
		}
		proof, err := tx.InclusionProof(index, cp.Size)
		if err != nil {
			return err
		}
		r.Entry = data
		for _, h := range proof {
			r.InclusionProof = append(r.InclusionProof, append([]byte(nil), h[:]...))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("service: receipt for entry %d: %w", index, err)
	}
	return r, nil
}

// record appends a log entry about subject (a call's entries are also indexed under the call).
func record(tx *store.Tx, now time.Time, actor string, kind candorv1.EntryKind, subject string, call uuid.UUID, e *candorv1.LogEntry) (int64, error) {
	e.Kind, e.Time, e.Actor, e.Subject = kind, timestamppb.New(now), actor, subject
	index, _, err := tx.Append(e)
	if err != nil {
		return 0, err
	}
	if call != uuid.Nil {
		err = tx.IndexCallRecord(call, index)
	}
	return index, err
}

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// viewer reads, in tx, what the permission rules need to know about the principal: whether a
// participant holds the auditor role.
func viewer(tx *store.ReadTx, pr Principal) (domain.Viewer, error) {
	v := pr.known()
	if !v.IsParticipant() {
		return v, nil
	}
	p, err := tx.Participant(pr.Participant)
	if err != nil {
		return v, err
	}
	v.Auditor = p.GetAuditor()
	return v, nil
}

// membership reads the principal's membership of a body (nil: none, or not a participant).
func membership(tx *store.ReadTx, pr Principal, body uuid.UUID) (*candorv1.Membership, error) {
	if !pr.isParticipant() {
		return nil, nil
	}
	return tx.Membership(body, pr.Participant)
}
