package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// etcdBackend keeps every bucket under one key prefix of an etcd cluster: bucket b's key k is
// prefix + b + "/" + k. A read transaction reads at one etcd revision, so it sees one snapshot; a
// write transaction buffers its writes and commits them in one etcd Txn that holds only if nothing
// it read has changed since (etcd's STM, serializable) and this replica still holds the sequencer's
// lease (see sequencer.go), so a deposed sequencer's batch fails whole.
type etcdBackend struct {
	cli    *clientv3.Client
	prefix string
	limits EtcdLimits
	// fence returns the compare that holds only while this replica is the sequencer, or an error
	// when it is not: writes are refused before they reach etcd.
	fence func() (cmp clientv3.Cmp, term int64, err error)
	// lostRace runs after a batch failed its compares, to learn whether the fence was the reason.
	lostRace func()
	hashes   hashCache
	records  recordCache // the committer's alone
}

// recordCache is what the sequencer's batches read and wrote, with the revision each key last
// changed at. Only the sequencer writes records, so what it last read or wrote is current, and a
// batch reads it without a round trip to etcd. A hit is still compared at commit like any read: if
// anything else changed a key, the batch fails whole and the cache starts over. It also starts
// over with every term of leadership and after every failed batch.
type recordCache struct {
	term int64
	m    map[string]cachedRecord
}

type cachedRecord struct {
	value  []byte // nil: the key is absent
	modRev int64
}

// maxCachedRecords bounds the cache; when full it starts over.
const maxCachedRecords = 1 << 18

func (c *recordCache) reset(term int64) { c.term, c.m = term, make(map[string]cachedRecord) }

func (c *recordCache) put(k string, value []byte, modRev int64) {
	if len(c.m) >= maxCachedRecords {
		c.reset(c.term)
	}
	c.m[k] = cachedRecord{value: value, modRev: modRev}
}

// hashCache keeps tree hashes read from etcd. A stored hash never changes once committed, and the
// same few (the tree's right edge) are read by every append and every seal: without the cache each
// is a round trip to etcd inside the committer. Only values read from etcd go in, never a batch's
// own uncommitted writes.
type hashCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

// maxCachedHashes bounds the cache (about 100 bytes an entry); when full it starts over.
const maxCachedHashes = 1 << 17

func (c *hashCache) get(k string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

func (c *hashCache) put(k string, v []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedHashes {
		c.m = make(map[string][]byte)
	}
	c.m[k] = v
}

// EtcdLimits are what one etcd transaction may carry: the cluster's --max-txn-ops and
// --max-request-bytes. A batch of writes ends before the write that would overfill it.
type EtcdLimits struct {
	MaxTxnOps       int // default 128, etcd's default
	MaxRequestBytes int // default 1.5 MiB, etcd's default
	// Timeout bounds each request to the cluster. Default 2 s.
	Timeout time.Duration
}

func (l *EtcdLimits) setDefaults() {
	if l.MaxTxnOps <= 0 {
		l.MaxTxnOps = 128
	}
	if l.MaxRequestBytes <= 0 {
		l.MaxRequestBytes = 1536 * 1024
	}
	if l.Timeout <= 0 {
		l.Timeout = 2 * time.Second
	}
}

// ErrConflict is returned when a batch's etcd transaction failed its compares: something it read
// changed before it committed, or this replica lost the sequencer's lease. Nothing of it was written.
var ErrConflict = errors.New("store: the etcd transaction lost a race (data it read changed, or this replica is no longer the sequencer)")

// ErrUnavailable wraps a failure to reach the etcd cluster. A write that failed with it may or may
// not have committed: its retry, with the same request id, is answered from the log if it did.
var ErrUnavailable = errors.New("store: etcd unavailable")

// immutable buckets never change a key once written: reads of them need no compare at commit.
func immutable(bucket []byte) bool {
	return bytes.Equal(bucket, bucketLog) || bytes.Equal(bucket, bucketHashes) || bytes.Equal(bucket, bucketCheckpoints)
}

func (b *etcdBackend) key(bucket, key []byte) string {
	k := make([]byte, 0, len(b.prefix)+len(bucket)+1+len(key))
	k = append(append(append(append(k, b.prefix...), bucket...), '/'), key...)
	return string(k)
}

// bucketRange is the etcd range holding every key of bucket.
func (b *etcdBackend) bucketRange(bucket []byte) (start, end string) {
	return b.key(bucket, nil), b.prefix + string(bucket) + "0" // '0' follows '/'
}

func (b *etcdBackend) view(fn func(kvReader) error) error {
	r := &etcdRead{be: b}
	err := fn(r)
	if r.err != nil {
		return r.err
	}
	return err
}

func (b *etcdBackend) update(fn func(kvWriter) error) (time.Duration, error) {
	if b.fence == nil {
		return 0, errors.New("store: etcd writes need a sequencer")
	}
	fence, term, err := b.fence()
	if err != nil {
		return 0, err
	}
	if b.records.m == nil || b.records.term != term {
		b.records.reset(term)
	}
	w := &etcdWrite{etcdRead: etcdRead{be: b, cache: &b.records}, writes: map[string]*etcdOp{}}
	err = fn(w)
	if w.err != nil {
		b.records.reset(term)
		return 0, w.err // fn decided on a read that failed: its answer means nothing
	}
	if err != nil {
		b.records.reset(term) // a poisoned batch is retried; its reads are not worth the doubt
		return 0, err
	}
	if len(w.writes) == 0 {
		return 0, nil
	}
	cmps := append(w.compares(), fence)
	ops := make([]clientv3.Op, 0, len(w.writes))
	for _, k := range w.sortedKeys() {
		op := w.writes[k]
		if op.deleted {
			ops = append(ops, clientv3.OpDelete(k))
		} else {
			ops = append(ops, clientv3.OpPut(k, string(op.value)))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.limits.Timeout)
	defer cancel()
	began := time.Now()
	resp, err := b.cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		b.records.reset(term)
		return 0, fmt.Errorf("%w: commit: %w", ErrUnavailable, err)
	}
	if !resp.Succeeded {
		b.records.reset(term)
		if b.lostRace != nil {
			b.lostRace()
		}
		return 0, ErrConflict
	}
	for k, op := range w.writes {
		if bytes.HasPrefix([]byte(k), []byte(b.prefix+string(bucketLog)+"/")) || bytes.HasPrefix([]byte(k), []byte(b.prefix+string(bucketHashes)+"/")) {
			continue // never read again by a batch (hashes have their own cache)
		}
		if op.deleted {
			b.records.put(k, nil, 0)
		} else {
			b.records.put(k, op.value, resp.Header.Revision)
		}
	}
	return time.Since(began), nil
}

func (b *etcdBackend) close() error { return nil } // the client belongs to whoever opened the store

// etcdRead is a read transaction: every read is at the revision of its first read. A read that
// fails is remembered; the transaction then returns that error, whatever fn decided.
type etcdRead struct {
	be    *etcdBackend
	cache *recordCache // a batch's: the sequencer's record cache; nil in a read transaction
	rev   int64        // 0 until the first read fixes it
	err   error
	seen  map[string]int64 // mod revision of each key read (0: absent), for a write's compares
}

func (r *etcdRead) get1(key string, opts ...clientv3.OpOption) *clientv3.GetResponse {
	if r.err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.be.limits.Timeout)
	defer cancel()
	var resp *clientv3.GetResponse
	var err error
	if r.rev != 0 {
		// The transaction's first read was linearizable and fixed its revision; later reads at that
		// revision need no round trip through etcd's leader: any member that has applied it answers
		// alone. One that has not (ErrFutureRev) is asked again, linearizably.
		resp, err = r.be.cli.Get(ctx, key, append(opts, clientv3.WithRev(r.rev), clientv3.WithSerializable())...)
		if errors.Is(err, rpctypes.ErrFutureRev) {
			resp, err = r.be.cli.Get(ctx, key, append(opts, clientv3.WithRev(r.rev))...)
		}
	} else {
		resp, err = r.be.cli.Get(ctx, key, opts...)
	}
	if err != nil {
		r.err = fmt.Errorf("%w: read: %w", ErrUnavailable, err)
		return nil
	}
	if r.rev == 0 {
		r.rev = resp.Header.Revision
	}
	return resp
}

func (r *etcdRead) note(key string, modRev int64) {
	if r.seen == nil {
		r.seen = make(map[string]int64)
	}
	r.seen[key] = modRev
}

func (r *etcdRead) get(bucket, key []byte) []byte {
	k := r.be.key(bucket, key)
	hash := bytes.Equal(bucket, bucketHashes)
	if hash {
		if v := r.be.hashes.get(k); v != nil {
			return v
		}
	}
	cached := r.cache != nil && !immutable(bucket)
	if cached {
		if c, ok := r.cache.m[k]; ok {
			r.note(k, c.modRev)
			return c.value
		}
	}
	resp := r.get1(k)
	if resp == nil {
		return nil
	}
	if len(resp.Kvs) == 0 {
		if !immutable(bucket) {
			r.note(k, 0)
		}
		if cached {
			r.cache.put(k, nil, 0)
		}
		return nil
	}
	if !immutable(bucket) {
		r.note(k, resp.Kvs[0].ModRevision)
	}
	if cached {
		r.cache.put(k, present(resp.Kvs[0].Value), resp.Kvs[0].ModRevision)
	}
	if hash {
		r.be.hashes.put(k, resp.Kvs[0].Value)
	}
	return present(resp.Kvs[0].Value)
}

// present keeps an empty value apart from an absent key, as bbolt does: etcd's client decodes an
// empty value as nil.
func present(v []byte) []byte {
	if v == nil {
		return []byte{}
	}
	return v
}

func (r *etcdRead) cursor(bucket []byte) kvCursor {
	start, end := r.be.bucketRange(bucket)
	return &etcdCursor{r: r, bucket: bucket, start: start, end: end}
}

// etcdCursor reads a bucket a page at a time, at the transaction's revision. Unlike a get, a scan
// adds no compares to a batch: a scan can cover a whole bucket (every token, when one is revoked),
// more keys than one etcd transaction may compare. What a scan in a batch reads cannot change under
// it all the same: only the sequencer writes records, every batch compares its election key, and
// every batch compares the log size it read, which any other batch that appended would have moved.
type etcdCursor struct {
	r          *etcdRead
	bucket     []byte
	start, end string
	page       [][2][]byte // keys (without the bucket's prefix) and values
	at         int
	more       bool   // the range continues past the page
	from       string // where the next page starts
}

const cursorPage = 256

func (c *etcdCursor) load(from string, limit int64) {
	c.page, c.at, c.more = c.page[:0], 0, false
	resp := c.r.get1(from, clientv3.WithRange(c.end), clientv3.WithLimit(limit))
	if resp == nil {
		return
	}
	for _, kv := range resp.Kvs {
		c.page = append(c.page, [2][]byte{kv.Key[len(c.start):], present(kv.Value)})
	}
	c.more = resp.More
	if n := len(resp.Kvs); n > 0 {
		c.from = string(resp.Kvs[n-1].Key) + "\x00"
	}
}

func (c *etcdCursor) current() ([]byte, []byte) {
	if c.at < len(c.page) {
		return c.page[c.at][0], c.page[c.at][1]
	}
	return nil, nil
}

func (c *etcdCursor) first() ([]byte, []byte) { return c.seek(nil) }

func (c *etcdCursor) seek(k []byte) ([]byte, []byte) {
	c.load(c.start+string(k), cursorPage)
	return c.current()
}

func (c *etcdCursor) next() ([]byte, []byte) {
	c.at++
	if c.at >= len(c.page) && c.more {
		c.load(c.from, cursorPage)
	}
	return c.current()
}

func (c *etcdCursor) last() ([]byte, []byte) {
	c.page, c.at, c.more = c.page[:0], 0, false
	resp := c.r.get1(c.start, clientv3.WithRange(c.end), clientv3.WithLimit(1),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend))
	if resp == nil || len(resp.Kvs) == 0 {
		return nil, nil
	}
	kv := resp.Kvs[0]
	c.page = append(c.page, [2][]byte{kv.Key[len(c.start):], present(kv.Value)})
	return c.current()
}

// etcdWrite is a write transaction: its writes wait in memory, where its own reads find them, until
// the commit sends them in one Txn.
type etcdWrite struct {
	etcdRead
	writes  map[string]*etcdOp
	journal []undo // for savepoints: each write's previous state
	bytes   int    // request size so far, roughly
}

type etcdOp struct {
	value   []byte
	deleted bool
}

type undo struct {
	key   string
	prev  *etcdOp // nil: the key had no write before
	bytes int
}

func (w *etcdWrite) set(key string, op *etcdOp) {
	n := len(key) + len(op.value) + 16
	w.journal = append(w.journal, undo{key: key, prev: w.writes[key], bytes: n})
	w.writes[key] = op
	w.bytes += n
}

func (w *etcdWrite) put(bucket, key, value []byte) error {
	w.set(w.be.key(bucket, key), &etcdOp{value: append([]byte{}, value...)})
	return nil
}

func (w *etcdWrite) delete(bucket, key []byte) error {
	w.set(w.be.key(bucket, key), &etcdOp{deleted: true})
	return nil
}

func (w *etcdWrite) get(bucket, key []byte) []byte {
	if op, ok := w.writes[w.be.key(bucket, key)]; ok {
		if op.deleted {
			return nil
		}
		return op.value
	}
	return w.etcdRead.get(bucket, key)
}

func (w *etcdWrite) cursor(bucket []byte) kvCursor {
	remote := w.etcdRead.cursor(bucket).(*etcdCursor)
	var local []string
	for k := range w.writes {
		if k >= remote.start && k < remote.end {
			local = append(local, k)
		}
	}
	sort.Strings(local)
	return &mergedCursor{w: w, remote: remote, local: local}
}

func (w *etcdWrite) savepoint() int { return len(w.journal) }

func (w *etcdWrite) rollbackTo(sp int) {
	for i := len(w.journal) - 1; i >= sp; i-- {
		u := w.journal[i]
		if u.prev == nil {
			delete(w.writes, u.key)
		} else {
			w.writes[u.key] = u.prev
		}
		w.bytes -= u.bytes
	}
	w.journal = w.journal[:sp]
}

// sealOps is what the commit adds after the last write: the log size and the checkpoint.
const sealOps = 2

func (w *etcdWrite) full() bool {
	return len(w.writes)+sealOps > w.be.limits.MaxTxnOps ||
		len(w.seen)+1 > w.be.limits.MaxTxnOps || // the compares, and the sequencer's fence
		w.bytes+len(w.seen)*64+4096 > w.be.limits.MaxRequestBytes
}

// compares asks etcd to commit only if every key read is as it was read.
func (w *etcdWrite) compares() []clientv3.Cmp {
	cmps := make([]clientv3.Cmp, 0, len(w.seen)+1)
	for k, rev := range w.seen {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", rev))
	}
	return cmps
}

func (w *etcdWrite) sortedKeys() []string {
	keys := make([]string, 0, len(w.writes))
	for k := range w.writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// mergedCursor walks a bucket as the write transaction sees it: etcd's keys, overridden and
// extended by the transaction's own writes (local, the full etcd keys written, sorted).
type mergedCursor struct {
	w      *etcdWrite
	remote *etcdCursor
	local  []string
	li     int    // next local key
	rk, rv []byte // remote position
	k, v   []byte // current position
}

func (m *mergedCursor) first() ([]byte, []byte) { return m.seek(nil) }

func (m *mergedCursor) seek(k []byte) ([]byte, []byte) {
	m.rk, m.rv = m.remote.seek(k)
	from := m.remote.start + string(k)
	m.li = sort.SearchStrings(m.local, from)
	return m.step()
}

func (m *mergedCursor) next() ([]byte, []byte) {
	if m.k == nil {
		return nil, nil
	}
	// Move past the current key in both streams.
	cur := m.remote.start + string(m.k)
	for m.li < len(m.local) && m.local[m.li] <= cur {
		m.li++
	}
	for m.rk != nil && bytes.Compare(m.rk, m.k) <= 0 {
		m.rk, m.rv = m.remote.next()
	}
	return m.step()
}

func (m *mergedCursor) last() ([]byte, []byte) {
	// Walk to the end: last is used only on the small checkpoint and deadline scans of read
	// transactions; a write transaction that needs it pays a full scan.
	var lk, lv []byte
	for k, v := m.first(); k != nil; k, v = m.next() {
		lk, lv = k, v
	}
	m.k, m.v = lk, lv
	return lk, lv
}

// step settles on the smaller of the two streams' keys, skipping keys this transaction deleted.
func (m *mergedCursor) step() ([]byte, []byte) {
	for {
		var lk []byte
		if m.li < len(m.local) {
			lk = []byte(m.local[m.li][len(m.remote.start):])
		}
		switch {
		case lk == nil && m.rk == nil:
			m.k, m.v = nil, nil
			return nil, nil
		case lk != nil && (m.rk == nil || bytes.Compare(lk, m.rk) <= 0):
			op := m.w.writes[m.local[m.li]]
			if bytes.Equal(lk, m.rk) {
				m.rk, m.rv = m.remote.next() // overridden by this transaction
			}
			if op.deleted {
				m.li++
				continue
			}
			m.k, m.v = lk, op.value
			return m.k, m.v
		default:
			m.k, m.v = m.rk, m.rv
			return m.k, m.v
		}
	}
}
