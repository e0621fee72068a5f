package store

import "time"

// The store keeps its records and its log in buckets of sorted byte keys, the level etcd's own
// backend works at (its ReadTx and BatchTx). Everything above this file, the typed records in tx.go
// and the log in log.go, is written once against these interfaces; a backend only moves bytes:
// bbolt in one file (boltkv.go, the default) or an etcd cluster (etcdkv.go).

// kvReader reads one consistent snapshot of every bucket.
type kvReader interface {
	// get returns key's value in bucket, or nil. The value is valid only during the transaction.
	get(bucket, key []byte) []byte
	// cursor walks bucket's keys in byte order.
	cursor(bucket []byte) kvCursor
}

// kvCursor is bbolt's cursor: each move returns the key it lands on, or nil past the end.
type kvCursor interface {
	first() (k, v []byte)
	last() (k, v []byte)
	seek(k []byte) (key, v []byte)
	next() (k, v []byte)
}

// kvWriter is a write transaction: it reads its own writes.
type kvWriter interface {
	kvReader
	put(bucket, key, value []byte) error
	delete(bucket, key []byte) error
}

// savepointer is a write transaction that can take back the writes made since a savepoint, and
// that holds a bounded number of operations (etcd's --max-txn-ops and request size). bbolt has
// neither limit nor savepoints; the commit loop uses them when a backend offers them.
type savepointer interface {
	savepoint() int
	rollbackTo(savepoint int)
	// full reports that the transaction holds more than one commit may carry.
	full() bool
}

// backend runs transactions over the buckets.
type backend interface {
	// view runs fn in a read-only snapshot. A backend whose reads can fail (a network) returns the
	// first read error instead of fn's result, since fn decided on a snapshot it did not see whole.
	view(fn func(kvReader) error) error
	// update runs fn in one write transaction and commits it atomically, or not at all. It returns
	// how long the commit spent making the transaction durable (for the fsync metric; 0 unknown).
	update(fn func(kvWriter) error) (durable time.Duration, err error)
	close() error
}
