package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// ErrNotSequencer is returned by writes on a replica that does not hold the sequencer's lease:
// the caller forwards the write to the sequencer ([Store.Sequencer] names it) or retries.
var ErrNotSequencer = errors.New("store: this replica is not the sequencer")

// EtcdOptions tune a store kept in etcd.
type EtcdOptions struct {
	Options
	// Prefix is the key prefix every key of this store lives under. Default "/candor/".
	Prefix string
	Limits EtcdLimits
	// Advertise is what this replica publishes while it sequences: the address other replicas
	// forward writes to.
	Advertise string
	// LeaseTTL bounds how long a dead sequencer holds the lease. Default 5 s (etcd's minimum
	// granularity is a second).
	LeaseTTL time.Duration
	Logger   *slog.Logger
}

// OpenEtcd opens the store kept in an etcd cluster, creating it on first use. Every replica opened
// on the same cluster and prefix serves reads, proofs and checkpoints; the one that wins etcd's
// election sequences the log, and the others' writes fail with [ErrNotSequencer] until they win it.
// cli stays the caller's: Close does not close it.
func OpenEtcd(cli *clientv3.Client, notary Notary, opts EtcdOptions) (*Store, error) {
	if opts.Prefix == "" {
		opts.Prefix = "/candor/"
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.Limits.setDefaults()
	be := &etcdBackend{cli: cli, prefix: opts.Prefix, limits: opts.Limits}
	// The schema version is written once, by whichever replica comes first: a put if absent,
	// outside the sequencer, since no replica may have won the election yet.
	schema := be.key(bucketMeta, metaKeySchema)
	ctx, cancel := context.WithTimeout(context.Background(), opts.Limits.Timeout)
	_, err := cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(schema), "=", 0)).
		Then(clientv3.OpPut(schema, string(u64(schemaVersion)))).
		Commit()
	cancel()
	if err != nil {
		return nil, fmt.Errorf("store: etcd init: %w", err)
	}
	seq := &sequencer{cli: cli, key: opts.Prefix + "sequencer", advertise: opts.Advertise, ttl: opts.LeaseTTL, log: opts.Logger}
	be.fence = seq.fence
	be.lostRace = func() { seq.lostRace(cli, opts.Limits.Timeout) }
	s, err := open(be, notary, opts.Options, time.Now())
	if err != nil {
		return nil, err
	}
	s.seq = seq
	ctx, stop := context.WithCancel(context.Background())
	s.stopRemote = stop
	seq.onLead = s.refreshLatest
	s.remoteDone = make(chan struct{}, 2)
	go func() { seq.run(ctx); s.remoteDone <- struct{}{} }()
	go func() { s.watchRemote(ctx, be); s.remoteDone <- struct{}{} }()
	if opts.Registerer != nil {
		s.metrics = newMetrics(opts.Registerer, s)
	}
	return s, nil
}

// Sequencer says whether this replica sequences the log now, and the address the current
// sequencer advertises ("" when unknown, or on the bbolt backend, where every store sequences).
func (s *Store) Sequencer() (leading bool, addr string) {
	if s.seq == nil {
		return true, ""
	}
	return s.seq.state()
}

// WaitSequencer waits until some replica sequences the log (this one or another), or ctx ends.
func (s *Store) WaitSequencer(ctx context.Context) error {
	for {
		if leading, addr := s.Sequencer(); leading || addr != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// OnRemoteCommit registers fn to run after another replica commits (etcd only), so watchers of
// calls on this replica see writes made through the sequencer.
func (s *Store) OnRemoteCommit(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remote = append(s.remote, fn)
}

// watchRemote follows the log size in etcd: another replica's commit moves this replica's newest
// checkpoint and wakes its watchers.
func (s *Store) watchRemote(ctx context.Context, be *etcdBackend) {
	key := be.key(bucketMeta, metaKeyLogSize)
	for ctx.Err() == nil {
		for resp := range be.cli.Watch(clientv3.WithRequireLeader(ctx), key) {
			if resp.Err() != nil {
				break
			}
			// The event carries the new log size: the sequencer sees its own commits here too, and
			// reads nothing for a size it already has.
			if n := len(resp.Events); n > 0 {
				if v := resp.Events[n-1].Kv.Value; len(v) == 8 && int64(binary.BigEndian.Uint64(v)) <= s.Latest().Size {
					continue
				}
			}
			s.refreshLatest()
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
			s.refreshLatest() // the watch broke (a lost etcd leader): catch up, then watch again
		}
	}
}

// refreshLatest reads the newest checkpoint from the backend and adopts it if it is newer.
func (s *Store) refreshLatest() {
	var cp Checkpoint
	err := s.be.view(func(kv kvReader) error {
		size := logSize(kv)
		if size == 0 {
			return nil
		}
		signed := kv.get(bucketCheckpoints, u64(uint64(size)))
		if signed == nil {
			return fmt.Errorf("%w: no checkpoint stored for the log's size %d", ErrLogCorrupt, size)
		}
		n, root, err := s.notary.Open(signed)
		if err != nil || n != size {
			return fmt.Errorf("%w: checkpoint for size %d: %v", ErrLogCorrupt, size, err)
		}
		cp = Checkpoint{Size: size, Root: root, Signed: clone(signed)}
		return nil
	})
	if err != nil || cp.Size == 0 {
		return
	}
	s.mu.Lock()
	var hooks []func()
	if cp.Size > s.latest.Size {
		s.latest, s.latestAt = cp, time.Now()
		hooks = s.remote
	}
	s.mu.Unlock()
	for _, fn := range hooks {
		fn()
	}
}

// sequencer campaigns in etcd's election for the right to sequence the log. The winner's election
// key lives on its session's lease: when the replica dies or loses etcd, the lease expires, the key
// goes, and every batch it still tries fails its fence.
type sequencer struct {
	cli       *clientv3.Client
	key       string
	advertise string
	ttl       time.Duration
	log       *slog.Logger
	onLead    func()

	mu      sync.Mutex
	leading bool
	leadKey string
	leadRev int64
	leader  string             // the current sequencer's advertised address
	endTerm context.CancelFunc // ends the current campaign or leadership
}

func (q *sequencer) state() (bool, string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.leading, q.leader
}

// fence is the compare every batch carries: this replica's election key, as it created it.
// term names the leadership it guards (the key's creation revision).
func (q *sequencer) fence() (cmp clientv3.Cmp, term int64, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.leading {
		return clientv3.Cmp{}, 0, ErrNotSequencer
	}
	return clientv3.Compare(clientv3.CreateRevision(q.leadKey), "=", q.leadRev), q.leadRev, nil
}

func (q *sequencer) set(leading bool, key string, rev int64) {
	q.mu.Lock()
	q.leading, q.leadKey, q.leadRev = leading, key, rev
	switch {
	case leading:
		q.leader = q.advertise
	case q.leader == q.advertise:
		q.leader = "" // not this replica any more; the election will name the next
	}
	q.mu.Unlock()
}

// run campaigns until ctx ends: a session, a campaign, leadership until the session ends, again.
func (q *sequencer) run(ctx context.Context) {
	for ctx.Err() == nil {
		sess, err := concurrency.NewSession(q.cli, concurrency.WithTTL(int(q.ttl.Seconds())), concurrency.WithContext(ctx))
		if err != nil {
			q.log.Warn("sequencer: no etcd session", "err", err)
			sleep(ctx, 500*time.Millisecond)
			continue
		}
		q.term(ctx, sess)
		sess.Close()
	}
}

// term is one session's campaign: it watches who leads, and leads once it wins, until the session
// (its lease) ends.
func (q *sequencer) term(ctx context.Context, sess *concurrency.Session) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	q.mu.Lock()
	q.endTerm = cancel
	q.mu.Unlock()
	go func() {
		select {
		case <-sess.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	e := concurrency.NewElection(sess, q.key)
	go q.observe(ctx, e)
	if err := e.Campaign(ctx, q.advertise); err != nil {
		if ctx.Err() == nil {
			q.log.Warn("sequencer: campaign failed", "err", err)
		}
		return
	}
	q.set(true, e.Key(), e.Rev())
	q.log.Info("sequencer: this replica now sequences the log", "advertise", q.advertise, "lease", fmt.Sprintf("%x", sess.Lease()))
	if q.onLead != nil {
		q.onLead()
	}
	<-ctx.Done()
	q.set(false, "", 0)
	q.log.Warn("sequencer: this replica stopped sequencing the log (its etcd session ended)")
	resign, stop := context.WithTimeout(context.Background(), time.Second)
	defer stop()
	_ = e.Resign(resign)
}

// lostRace checks, after a batch failed its compares, whether this replica still holds its election
// key. A key gone or replaced means another replica may sequence now: this one stops at once and
// campaigns again, instead of failing every write until its own lease runs out.
func (q *sequencer) lostRace(cli *clientv3.Client, timeout time.Duration) {
	q.mu.Lock()
	key, rev, end := q.leadKey, q.leadRev, q.endTerm
	q.mu.Unlock()
	if key == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	resp, err := cli.Get(ctx, key)
	if err != nil {
		return // unknown; the lease decides
	}
	if len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision != rev {
		q.log.Warn("sequencer: this replica's election key is gone; it stops sequencing")
		q.set(false, "", 0)
		end()
	}
}

// observe follows the elected leader's advertised address.
func (q *sequencer) observe(ctx context.Context, e *concurrency.Election) {
	for resp := range e.Observe(ctx) {
		if len(resp.Kvs) == 0 {
			continue
		}
		q.mu.Lock()
		q.leader = string(resp.Kvs[0].Value)
		q.mu.Unlock()
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// SetAdminTokenHash records the SHA-256 of the admin token. It is configuration, not a log entry:
// on etcd any replica may write it, sequencer or not, so replicas can start in any order.
func (s *Store) SetAdminTokenHash(ctx context.Context, h []byte) error {
	if eb, ok := s.be.(*etcdBackend); ok {
		ctx, cancel := context.WithTimeout(ctx, eb.limits.Timeout)
		defer cancel()
		_, err := eb.cli.Put(ctx, eb.key(bucketMeta, metaKeyAdminTokenHash), string(h))
		return err
	}
	_, err := s.Update(ctx, func(tx *Tx) error { return tx.SetAdminTokenHash(h) })
	return err
}
