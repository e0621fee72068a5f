package loadtest

import (
	"math"
	"math/bits"
	"time"
)

// subBits sets a [Histogram]'s precision: each power of two is split into 2^subBits buckets, so a
// bucket is at most 1/128 (0.8%) of its values wide.
const subBits = 7

const subBuckets = 1 << subBits

// Histogram counts durations in log-linear buckets (HdrHistogram's layout): exact below 128 ns,
// then 128 buckets per power of two. Its memory depends on the largest duration recorded, not on
// how many were: at most 58 KiB, about 24 KiB for durations up to a second. The zero value is an
// empty histogram. A Histogram is not safe for concurrent use.
type Histogram struct {
	counts   []uint64 // counts[bucketOf(ns)], grown on demand
	n        uint64
	sum      float64 // nanoseconds, for the mean
	min, max time.Duration
}

// bucketOf returns the bucket of a value in nanoseconds.
func bucketOf(v uint64) int {
	if v < subBuckets {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	return shift<<subBits + int(v>>shift)
}

// lowerBound returns the smallest value in bucket i.
func lowerBound(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	shift := i>>subBits - 1
	return uint64(i-shift<<subBits) << shift
}

// upperBound returns the largest value in bucket i.
func upperBound(i int) uint64 {
	if i == bucketOf(math.MaxInt64) {
		return math.MaxInt64
	}
	return lowerBound(i+1) - 1
}

// Record adds one duration. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	d = max(d, 0)
	i := bucketOf(uint64(d))
	if i >= len(h.counts) {
		grown := make([]uint64, i+1, max(i+1, 2*len(h.counts)))
		copy(grown, h.counts)
		h.counts = grown
	}
	h.counts[i]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	h.max = max(h.max, d)
	h.n++
	h.sum += float64(d)
}

// Merge adds every duration recorded in o.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	if len(o.counts) > len(h.counts) {
		grown := make([]uint64, len(o.counts))
		copy(grown, h.counts)
		h.counts = grown
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Count returns how many durations were recorded.
func (h *Histogram) Count() int64 { return int64(h.n) }

// Min returns the smallest duration recorded, or 0.
func (h *Histogram) Min() time.Duration { return h.min }

// Max returns the largest duration recorded, or 0.
func (h *Histogram) Max() time.Duration { return h.max }

// Mean returns the mean duration, or 0.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Quantile returns the q-quantile (0 <= q <= 1) of the recorded durations: the upper bound of the
// bucket holding the ceil(q*n)-th smallest, so it overstates by at most 0.8% and never understates;
// it is never more than [Histogram.Max] nor less than [Histogram.Min]. An empty histogram returns 0.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			d := time.Duration(upperBound(i))
			return min(max(d, h.min), h.max)
		}
	}
	return h.max
}
