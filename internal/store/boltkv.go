package store

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// boltBackend is the embedded default: every bucket a bbolt bucket of one file.
type boltBackend struct {
	db *bolt.DB
	// timeWrites asks bbolt for each commit's write and sync time (the fsync metric).
	timeWrites bool
}

func (b *boltBackend) view(fn func(kvReader) error) error {
	return b.db.View(func(btx *bolt.Tx) error { return fn(boltTx{btx}) })
}

func (b *boltBackend) update(fn func(kvWriter) error) (time.Duration, error) {
	var durable time.Duration
	err := b.db.Update(func(btx *bolt.Tx) error {
		if b.timeWrites {
			btx.OnCommit(func() { st := btx.Stats(); durable = st.GetWriteTime() })
		}
		for _, name := range appendOnly {
			btx.Bucket(name).FillPercent = 1.0
		}
		return fn(boltTx{btx})
	})
	return durable, err
}

func (b *boltBackend) close() error { return b.db.Close() }

// boltTx adapts a bbolt transaction; writes on a read-only one fail in bbolt.
type boltTx struct{ btx *bolt.Tx }

func (t boltTx) get(bucket, key []byte) []byte {
	b := t.btx.Bucket(bucket)
	if b == nil {
		return nil // a data file older than the bucket, opened read-only
	}
	return b.Get(key)
}

func (t boltTx) cursor(bucket []byte) kvCursor { return boltCursor{t.btx.Bucket(bucket).Cursor()} }

func (t boltTx) put(bucket, key, value []byte) error { return t.btx.Bucket(bucket).Put(key, value) }

func (t boltTx) delete(bucket, key []byte) error { return t.btx.Bucket(bucket).Delete(key) }

type boltCursor struct{ c *bolt.Cursor }

func (c boltCursor) first() ([]byte, []byte)        { return c.c.First() }
func (c boltCursor) last() ([]byte, []byte)         { return c.c.Last() }
func (c boltCursor) seek(k []byte) ([]byte, []byte) { return c.c.Seek(k) }
func (c boltCursor) next() ([]byte, []byte)         { return c.c.Next() }
