package clustertest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/candorhq/candor/internal/crashtest"
	"github.com/candorhq/candor/internal/domain"
	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// world is the test's body: a chair, voters who declare and vote through both replicas, and the
// record of every write a replica acknowledged.
type world struct {
	adminToken string
	reps       []*replica
	conns      []*grpc.ClientConn // one per replica, kept across its restarts
	calls      []candorv1.CallServiceClient
	parts      []candorv1.ParticipantServiceClient
	audits     []candorv1.AuditServiceClient
	ledger     *crashtest.Ledger
	book       *book

	chair            *voter
	voters           []*voter
	body             string
	mu               sync.Mutex // guards callNames
	callNames        []string   // opened as the voters need them (see call)
	retries          atomic.Int64
	retried          atomic.Int64 // writes acknowledged after more than one attempt
	replayed         atomic.Int64 // of those, writes whose retry was provably answered from the log
	retryableByCodes sync.Map     // gRPC code and reason -> *atomic.Int64, for the report
}

// voter is one participant who writes: through its home replica first.
type voter struct {
	name   string // participants/...
	token  string
	home   int
	hash   []byte // content hash of the current SOI, as acknowledged
	round  int
	writes int
}

// dial connects to each replica. The connections outlive the replicas' restarts: they reconnect
// within a second of a replica coming back.
func dial(t *testing.T, reps []*replica) ([]*grpc.ClientConn, error) {
	t.Helper()
	var conns []*grpc.ClientConn
	for _, r := range reps {
		conn, err := grpc.NewClient(r.addr,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithConnectParams(grpc.ConnectParams{
				Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
				MinConnectTimeout: time.Second,
			}))
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { conn.Close() })
		conns = append(conns, conn)
	}
	return conns, nil
}

func newWorld(t *testing.T, reps []*replica, adminToken, verifierKey string) *world {
	t.Helper()
	conns, err := dial(t, reps)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{adminToken: adminToken, reps: reps, conns: conns, ledger: crashtest.NewLedger(verifierKey), book: newBook()}
	for _, c := range conns {
		w.calls = append(w.calls, candorv1.NewCallServiceClient(c))
		w.parts = append(w.parts, candorv1.NewParticipantServiceClient(c))
		w.audits = append(w.audits, candorv1.NewAuditServiceClient(c))
	}
	return w
}

// setup creates the body, its chair and voters, each voter's first SOI, and the first calls,
// through replica 0 (the admin's writes: CreateParticipant has no request id, so it runs before
// any fault) and, for the participants' own writes, through their home replicas.
func (w *world) setup(ctx context.Context, voters int) error {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	admin := ts.WithToken(ctx, w.adminToken)
	bodies := candorv1.NewBodyServiceClient(w.conns[0])
	body, err := bodies.CreateBody(admin, &candorv1.CreateBodyRequest{Title: "Cluster test council", RequestId: uuid.NewString()})
	if err != nil {
		return fmt.Errorf("CreateBody: %w", err)
	}
	w.body = body.GetBody().GetName()
	add := func(i int, name string, role candorv1.Role) (*voter, error) {
		p, err := w.parts[0].CreateParticipant(admin, &candorv1.CreateParticipantRequest{DisplayName: name})
		if err != nil {
			return nil, fmt.Errorf("CreateParticipant: %w", err)
		}
		if _, err := bodies.AddMember(admin, &candorv1.AddMemberRequest{
			Body: w.body, Participant: p.GetParticipant().GetName(), Role: role, StakeholderGroup: "At-Large",
		}); err != nil {
			return nil, fmt.Errorf("AddMember: %w", err)
		}
		return &voter{name: p.GetParticipant().GetName(), token: p.GetToken(), home: i % len(w.reps)}, nil
	}
	if w.chair, err = add(0, "chair", candorv1.Role_ROLE_CHAIR); err != nil {
		return err
	}
	for i := range voters {
		v, err := add(i, fmt.Sprint("voter-", i), candorv1.Role_ROLE_MEMBER)
		if err != nil {
			return err
		}
		if err := w.updateSOI(ctx, v); err != nil {
			return err
		}
		w.voters = append(w.voters, v)
	}
	_, err = w.call(ctx, 0)
	return err
}

// roundsPerCall is how many of a voter's rounds go to one call before the voters move on to fresh
// calls: each round files a declaration and a ballot, and one member may file only
// domain.MaxDeclarationsPerMember and domain.MaxBallotsPerMember in one call.
const roundsPerCall = min(domain.MaxDeclarationsPerMember, domain.MaxBallotsPerMember) / 2

// call returns the call for a voter's round, opening the next callsAtOnce calls (as the chair, with
// request ids, retried like every write) when the voters have filed roundsPerCall rounds in the
// current ones.
func (w *world) call(ctx context.Context, round int) (string, error) {
	k := round/(callsAtOnce*roundsPerCall)*callsAtOnce + round%callsAtOnce
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.callNames) <= k {
		id := uuid.NewString()
		title := fmt.Sprintf("Motion %d (%s)", len(w.callNames)+1, id)
		var opened *candorv1.OpenCallResponse
		err := w.send(ctx, w.chair, candorv1.EntryKind_ENTRY_KIND_CALL_OPENED, id, func(ctx context.Context, r int) (rcpt *candorv1.Receipt, err error) {
			opened, err = w.calls[r].OpenCall(ctx, &candorv1.OpenCallRequest{
				Body: w.body, Call: &candorv1.Call{Title: title}, RequestId: id,
			})
			return opened.GetReceipt(), err
		})
		if err != nil {
			return "", err
		}
		w.callNames = append(w.callNames, opened.GetCall().GetName())
	}
	return w.callNames[k], nil
}

// updateSOI files a new SOI version for v, its other interests naming the request id.
func (w *world) updateSOI(ctx context.Context, v *voter) error {
	id := uuid.NewString()
	var resp *candorv1.UpdateStatementOfInterestResponse
	err := w.send(ctx, v, candorv1.EntryKind_ENTRY_KIND_SOI_VERSION, id, func(ctx context.Context, r int) (rcpt *candorv1.Receipt, err error) {
		resp, err = w.parts[r].UpdateStatementOfInterest(ctx, &candorv1.UpdateStatementOfInterestRequest{
			StatementOfInterest: &candorv1.StatementOfInterest{Employer: "Example Org", Represents: "self", OtherInterests: id},
			RequestId:           id,
		})
		return resp.GetReceipt(), err
	})
	if err != nil {
		return err
	}
	v.hash = resp.GetStatementOfInterest().GetContentHash()
	return nil
}

// round is one voter's turn: now and then an SOI update, then a declaration restating the current
// SOI (its description is its request id) and a ballot.
func (w *world) round(ctx context.Context, v *voter) error {
	v.round++
	if v.round%soiEvery == 0 {
		if err := w.updateSOI(ctx, v); err != nil {
			return err
		}
	}
	call, err := w.call(ctx, v.round)
	if err != nil {
		return err
	}
	id := uuid.NewString()
	err = w.send(ctx, v, candorv1.EntryKind_ENTRY_KIND_DECLARATION, id, func(ctx context.Context, r int) (*candorv1.Receipt, error) {
		d, err := w.calls[r].FileDeclaration(ctx, &candorv1.FileDeclarationRequest{
			Call:          call,
			Restatement:   &candorv1.FileDeclarationRequest_UnchangedSoiHash{UnchangedSoiHash: v.hash},
			ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, Intent: candorv1.Intent_INTENT_PARTICIPATE,
			Description: id, RequestId: id,
		})
		return d.GetReceipt(), err
	})
	if err != nil {
		return err
	}
	id = uuid.NewString()
	return w.send(ctx, v, candorv1.EntryKind_ENTRY_KIND_BALLOT, id, func(ctx context.Context, r int) (*candorv1.Receipt, error) {
		b, err := w.calls[r].CastBallot(ctx, &candorv1.CastBallotRequest{
			Call: call, Option: []string{"yes", "no", "abstain"}[v.round%3], RequestId: id,
		})
		return b.GetReceipt(), err
	})
}

// send makes one write, as v, until a replica acknowledges it: first through v's home replica;
// after a failure that leaves the outcome open (the replica died, lost etcd, was deposed or has no
// sequencer yet, or the client stopped waiting), again with the same request id, through the next
// replica, until writeBound has passed. The acknowledgement's receipt goes to the ledger and the
// book.
//
// One write in hurryEvery is first sent with a deadline of hurriedTimeout, about one commit of
// the cluster, as an impatient client would: it often expires while the write is in a batch that
// commits, and the retry must then be answered from the log.
func (w *world) send(ctx context.Context, v *voter, kind candorv1.EntryKind, id string, write func(ctx context.Context, replica int) (*candorv1.Receipt, error)) error {
	deadline := time.Now().Add(writeBound)
	r, pause := v.home, retryPause
	v.writes++
	timeout := attemptTimeout
	if v.writes%hurryEvery == 0 {
		timeout = hurriedTimeout
	}
	committed := int64(-1) // entries up to this index were acknowledged before the last retry was sent
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			committed = w.book.maxIndex()
			timeout = attemptTimeout
		}
		actx, cancel := context.WithTimeout(ts.WithToken(ctx, v.token), timeout)
		rcpt, err := write(actx, r)
		cancel()
		if err == nil {
			if attempt > 1 {
				w.retried.Add(1)
			}
			if rcpt.GetLogIndex() < committed {
				// The entry was in the log before this retry was sent: a failed attempt had
				// committed it, and the retry was answered from the log.
				w.replayed.Add(1)
			}
			return w.acknowledged(v, kind, id, r, rcpt)
		}
		key, ok := retryable(err)
		if !ok || ctx.Err() != nil {
			return fmt.Errorf("%s %s (request %s) through %s, attempt %d: %w", v.name, kind, id, w.reps[r].name, attempt, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s %s (request %s): not acknowledged within %v (%d attempts, last through %s: %w)", v.name, kind, id, writeBound, attempt, w.reps[r].name, err)
		}
		n, _ := w.retryableByCodes.LoadOrStore(key, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		w.retries.Add(1)
		r = (r + 1) % len(w.reps)
		time.Sleep(pause)
		pause = min(2*pause, maxRetryPause)
	}
}

// retryable says whether a failed write may be sent again with the same request id, and names the
// failure by code and reason. Anything else (a refusal by the rules, a bad request, an internal
// error) fails the test.
func retryable(err error) (string, bool) {
	st, ok := status.FromError(err)
	if !ok {
		return "", false
	}
	key := st.Code().String()
	for _, d := range st.Details() {
		if info, ok := d.(interface{ GetReason() string }); ok {
			key += " " + info.GetReason()
		}
	}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted:
		return key, true
	case codes.ResourceExhausted:
		return key, key == "ResourceExhausted OVERLOADED"
	}
	return key, false
}

// acknowledged checks an acknowledged write's receipt and records it.
func (w *world) acknowledged(v *voter, kind candorv1.EntryKind, id string, replica int, rcpt *candorv1.Receipt) error {
	if err := w.ledger.Keep(rcpt); err != nil {
		return fmt.Errorf("%s %s (request %s): %w", v.name, kind, id, err)
	}
	var e candorv1.LogEntry
	if err := proto.Unmarshal(rcpt.GetEntry(), &e); err != nil {
		return fmt.Errorf("%s %s (request %s): receipt entry: %w", v.name, kind, id, err)
	}
	if e.GetKind() != kind || e.GetActor() != v.name {
		return fmt.Errorf("%s %s (request %s): acknowledged with entry %d, a %s by %s", v.name, kind, id, rcpt.GetLogIndex(), e.GetKind(), e.GetActor())
	}
	return w.book.add(ack{id: id, kind: kind, actor: v.name, subject: e.GetSubject(), index: rcpt.GetLogIndex(), replica: replica, at: time.Now()})
}

// ack is one acknowledged write.
type ack struct {
	id      string // its request id
	kind    candorv1.EntryKind
	actor   string
	subject string
	index   int64
	replica int // the replica whose answer acknowledged it
	at      time.Time
}

// book keeps every acknowledged write by request id and by log index, and when each was
// acknowledged. It is safe for concurrent use.
type book struct {
	mu      sync.Mutex
	byID    map[string]ack
	byIndex map[int64]ack
	times   []time.Time // acknowledgement times, in order of arrival
	through []int       // through[i]: how many were acknowledged by replica i
	max     int64       // the largest index acknowledged, -1 before any
}

func newBook() *book { return &book{byID: map[string]ack{}, byIndex: map[int64]ack{}, max: -1} }

// add records a; two request ids answered with one entry are a write applied once but
// acknowledged twice, which is as wrong as twice applied.
func (b *book) add(a ack) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if old, ok := b.byID[a.id]; ok {
		return fmt.Errorf("request %s acknowledged twice (entries %d and %d)", a.id, old.index, a.index)
	}
	if old, ok := b.byIndex[a.index]; ok {
		return fmt.Errorf("entry %d acknowledged for two requests, %s and %s", a.index, old.id, a.id)
	}
	b.byID[a.id], b.byIndex[a.index] = a, a
	b.times = append(b.times, a.at)
	for len(b.through) <= a.replica {
		b.through = append(b.through, 0)
	}
	b.through[a.replica]++
	b.max = max(b.max, a.index)
	return nil
}

func (b *book) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.byID)
}

// maxIndex returns the largest log index acknowledged so far, -1 before any.
func (b *book) maxIndex() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.max
}

// byReplica returns how many writes each replica acknowledged.
func (b *book) byReplica() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.through)
}

// since returns how many writes were acknowledged after t.
func (b *book) since(t time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	i, _ := slices.BinarySearchFunc(b.times, t, func(a, t time.Time) int { return a.Compare(t) })
	return len(b.times) - i
}

// longestPause returns the longest time between consecutive acknowledgements from the last one at
// or before from until the last one at or before to (to itself, if nothing was acknowledged since),
// and when it began.
func (b *book) longestPause(from, to time.Time) (time.Duration, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i, _ := slices.BinarySearchFunc(b.times, from, func(a, t time.Time) int { return a.Compare(t) })
	prev := from
	if i > 0 {
		prev = b.times[i-1]
	}
	var longest time.Duration
	var began time.Time
	for _, at := range b.times[i:] {
		if at.After(to) {
			break
		}
		if d := at.Sub(prev); d > longest {
			longest, began = d, prev
		}
		prev = at
	}
	if d := to.Sub(prev); d > longest {
		longest, began = d, prev
	}
	return longest, began
}

// load runs every voter's rounds until stop is called; stop waits for each voter to finish the
// write it is making (each bounded by writeBound), so that every write sent is acknowledged.
type load struct {
	stopping atomic.Bool
	wg       sync.WaitGroup
	mu       sync.Mutex
	errs     []error
}

func (w *world) start(ctx context.Context) *load {
	l := &load{}
	for _, v := range w.voters {
		l.wg.Go(func() {
			for n := 0; n < maxRounds && !l.stopping.Load(); n++ {
				if err := w.round(ctx, v); err != nil {
					l.mu.Lock()
					l.errs = append(l.errs, err)
					l.mu.Unlock()
					return
				}
			}
		})
	}
	return l
}

// failed returns the first error a voter stopped on, if any did.
func (l *load) failed() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) > 0 {
		return l.errs[0]
	}
	return nil
}

func (l *load) stop() error {
	l.stopping.Store(true)
	l.wg.Wait()
	return errors.Join(l.errs...)
}
