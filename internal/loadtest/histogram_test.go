package loadtest

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsAreContiguous(t *testing.T) {
	// Every value falls in the bucket whose bounds hold it, and the buckets tile the line.
	for i := range bucketOf(math.MaxInt64) {
		if got, want := lowerBound(i+1), upperBound(i)+1; got != want {
			t.Fatalf("bucket %d ends at %d but bucket %d starts at %d", i, want-1, i+1, got)
		}
		for _, v := range []uint64{lowerBound(i), upperBound(i)} {
			if got := bucketOf(v); got != i {
				t.Fatalf("bucketOf(%d) = %d, want %d", v, got, i)
			}
		}
	}
	if got := upperBound(bucketOf(math.MaxInt64)); got != math.MaxInt64 {
		t.Errorf("last bucket ends at %d, want MaxInt64", got)
	}
}

func TestBucketWidth(t *testing.T) {
	for _, v := range []uint64{127, 128, 1000, 123_456, 50_000_000, 9_000_000_000, math.MaxInt64} {
		i := bucketOf(v)
		width := upperBound(i) - lowerBound(i) + 1
		if v >= subBuckets && float64(width)/float64(lowerBound(i)) > 1.0/subBuckets {
			t.Errorf("bucket of %d is %d wide from %d: more than 1/%d", v, width, lowerBound(i), subBuckets)
		}
		if v < subBuckets && width != 1 {
			t.Errorf("bucket of %d is %d wide, want exact", v, width)
		}
	}
}

func TestQuantiles(t *testing.T) {
	tests := []struct {
		name   string
		values []time.Duration
		q      float64
		want   time.Duration
		tol    float64 // relative
	}{
		{"empty", nil, 0.5, 0, 0},
		{"one", []time.Duration{7 * time.Millisecond}, 0.99, 7 * time.Millisecond, 0},
		{"exact small", []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.5, 5, 0},
		{"p0 is min", []time.Duration{30, 10, 20}, 0, 10, 0},
		{"p100 is max", []time.Duration{30 * time.Second, 10, 20}, 1, 30 * time.Second, 0},
		{"negative counts as zero", []time.Duration{-5, -5, 3}, 0.5, 0, 0},
		{"p50 of 1..1000 ms", seq(1000, time.Millisecond), 0.50, 500 * time.Millisecond, 1.0 / subBuckets},
		{"p90 of 1..1000 ms", seq(1000, time.Millisecond), 0.90, 900 * time.Millisecond, 1.0 / subBuckets},
		{"p99 of 1..1000 ms", seq(1000, time.Millisecond), 0.99, 990 * time.Millisecond, 1.0 / subBuckets},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			for _, v := range tt.values {
				h.Record(v)
			}
			got := h.Quantile(tt.q)
			if got < tt.want || float64(got-tt.want) > tt.tol*float64(tt.want) {
				t.Errorf("Quantile(%v) = %v, want %v (never below, at most %.2f%% above)", tt.q, got, tt.want, 100*tt.tol)
			}
		})
	}
}

// TestQuantileAgainstSort compares random samples with the exact order statistic.
func TestQuantileAgainstSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	vals := make([]time.Duration, 20_000)
	for i := range vals {
		// Log-normal-ish: mostly around a millisecond, a long tail.
		vals[i] = time.Duration(math.Exp(r.NormFloat64()*1.5) * float64(time.Millisecond))
		h.Record(vals[i])
	}
	slices.Sort(vals)
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999} {
		want := vals[int(math.Ceil(q*float64(len(vals))))-1]
		got := h.Quantile(q)
		if got < want || float64(got-want) > float64(want)/subBuckets {
			t.Errorf("Quantile(%v) = %v, exact %v", q, got, want)
		}
	}
	if h.Min() != vals[0] || h.Max() != vals[len(vals)-1] {
		t.Errorf("min, max = %v, %v; want %v, %v", h.Min(), h.Max(), vals[0], vals[len(vals)-1])
	}
	if h.Count() != int64(len(vals)) {
		t.Errorf("Count = %d, want %d", h.Count(), len(vals))
	}
}

func TestMergeEqualsRecordingAll(t *testing.T) {
	var a, b, all Histogram
	for i := range 5000 {
		d := time.Duration(i*i) * time.Microsecond
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&b)
	m.Merge(&Histogram{})
	if m.Count() != all.Count() || m.Min() != all.Min() || m.Max() != all.Max() || m.Mean() != all.Mean() {
		t.Errorf("merged count/min/max/mean = %d/%v/%v/%v, want %d/%v/%v/%v",
			m.Count(), m.Min(), m.Max(), m.Mean(), all.Count(), all.Min(), all.Max(), all.Mean())
	}
	for _, q := range []float64{0.1, 0.5, 0.9, 0.99} {
		if got, want := m.Quantile(q), all.Quantile(q); got != want {
			t.Errorf("merged Quantile(%v) = %v, want %v", q, got, want)
		}
	}
}

func TestHistogramMemoryIsBounded(t *testing.T) {
	var h Histogram
	for i := range 100_000 {
		h.Record(time.Duration(i) * time.Microsecond) // up to 100 ms
	}
	if n := len(h.counts); n > bucketOf(uint64(time.Second)) {
		t.Errorf("%d buckets for durations up to 100 ms, want fewer than a second's %d", n, bucketOf(uint64(time.Second)))
	}
}

func seq(n int, unit time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * unit
	}
	return out
}
