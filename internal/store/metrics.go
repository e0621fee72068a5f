package store

import (
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the write path's instruments, beside the commit loop they measure. A store opened
// without a Registerer has none (every method is a no-op on a nil *metrics), so tests and benchmarks
// can compare a store with metrics against one without.
type metrics struct {
	writesPerCommit prometheus.Histogram
	commitSeconds   prometheus.Histogram
	fsyncSeconds    prometheus.Histogram
}

// commitBuckets span a commit on a fast NVMe disk (a few hundred microseconds) to a stalled one.
var commitBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// newMetrics registers the store's instruments with reg: the write path's histograms, and gauges
// read at scrape time for the log's size, the age of its newest checkpoint, and the file.
func newMetrics(reg prometheus.Registerer, s *Store) *metrics {
	m := &metrics{
		writesPerCommit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "candor_store_writes_per_commit",
			Help:    "Writes that shared one bbolt transaction (the group commit's batch size).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10), // 1 .. 512; MaxBatch defaults to 256
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "candor_store_commit_duration_seconds",
			Help:    "Time to apply a batch of writes, sign its checkpoint and commit the bbolt transaction to disk.",
			Buckets: commitBuckets,
		}),
		fsyncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "candor_store_fsync_duration_seconds",
			Help: "Time a commit spent writing its pages to the file and syncing them (bbolt's TxStats.WriteTime: " +
				"both fdatasyncs with the writes they flush; bbolt does not time fdatasync alone).",
			Buckets: commitBuckets,
		}),
	}
	reg.MustRegister(m.writesPerCommit, m.commitSeconds, m.fsyncSeconds,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "candor_log_size_entries",
			Help: "Entries in the verifiable log, as of its newest checkpoint.",
		}, func() float64 { return float64(s.Latest().Size) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "candor_log_checkpoint_age_seconds",
			Help: "Seconds since the newest checkpoint was committed (before the first commit since start, since the data file was last written).",
		}, func() float64 { return time.Since(s.latestTime()).Seconds() }),
	)
	if s.db != nil {
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "candor_store_file_size_bytes",
				Help: "Size of the bbolt data file.",
			}, func() float64 {
				fi, err := os.Stat(s.db.Path())
				if err != nil {
					return 0
				}
				return float64(fi.Size())
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "candor_store_free_pages",
				Help: "Pages on bbolt's freelist, free for reuse (db.Stats().FreePageN).",
			}, func() float64 { return float64(s.db.Stats().FreePageN) }),
		)
	}
	return m
}

// observeCommit records one committed transaction of n writes that took d, of which write was
// spent writing and syncing.
func (m *metrics) observeCommit(n int, d, write time.Duration) {
	if m == nil {
		return
	}
	m.writesPerCommit.Observe(float64(n))
	m.commitSeconds.Observe(d.Seconds())
	if write > 0 {
		m.fsyncSeconds.Observe(write.Seconds())
	}
}
