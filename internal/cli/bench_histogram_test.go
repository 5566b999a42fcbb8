package cli

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

func TestBucketIndexHoldsValue(t *testing.T) {
	values := []uint64{0, 1, 2, 127, 128, 129, 255, 256, 257, 1000, 4095, 4096,
		999_999, 1_000_000, 123_456_789, 1 << 40, math.MaxInt64, math.MaxUint64}
	for _, v := range values {
		i := bucketIndex(v)
		if i < 0 || i >= histogramBuckets {
			t.Fatalf("bucketIndex(%d) = %d, outside [0, %d)", v, i, histogramBuckets)
		}
		low, high := bucketBounds(i)
		if v < low || v > high {
			t.Errorf("value %d in bucket %d = [%d, %d]", v, i, low, high)
		}
		// The bucket is at most 1/subBucketCount of its values wide.
		if width := high - low + 1; v >= subBucketCount && float64(width)/float64(low) > 1.0/subBucketCount {
			t.Errorf("bucket %d = [%d, %d] is %d wide, more than 1/%d of %d", i, low, high, width, subBucketCount, low)
		}
	}
}

func TestBucketsAreContiguous(t *testing.T) {
	for i := range histogramBuckets - 1 {
		_, high := bucketBounds(i)
		next, _ := bucketBounds(i + 1)
		if next != high+1 {
			t.Fatalf("bucket %d ends at %d but bucket %d starts at %d", i, high, i+1, next)
		}
		if bucketIndex(high) != i || bucketIndex(next) != i+1 {
			t.Fatalf("bucketIndex disagrees with bucketBounds around bucket %d", i)
		}
	}
	if _, high := bucketBounds(histogramBuckets - 1); high != math.MaxUint64 {
		t.Errorf("last bucket ends at %d, want MaxUint64", high)
	}
}

func TestHistogramPercentiles(t *testing.T) {
	// uniform returns 1..n times unit.
	uniform := func(n int, unit time.Duration) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = time.Duration(i+1) * unit
		}
		return out
	}
	repeat := func(d time.Duration, n int) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = d
		}
		return out
	}
	tests := []struct {
		name   string
		values []time.Duration
		q      float64
		want   time.Duration
		exact  bool // else within the histogram's 1/128 precision
	}{
		{name: "empty", values: nil, q: 50, want: 0, exact: true},
		{name: "one value p50", values: []time.Duration{5 * time.Millisecond}, q: 50, want: 5 * time.Millisecond, exact: true},
		{name: "one value p0", values: []time.Duration{5 * time.Millisecond}, q: 0, want: 5 * time.Millisecond, exact: true},
		{name: "small values are exact", values: uniform(100, time.Nanosecond), q: 50, want: 50, exact: true},
		{name: "uniform ms p50", values: uniform(1000, time.Millisecond), q: 50, want: 500 * time.Millisecond},
		{name: "uniform ms p99", values: uniform(1000, time.Millisecond), q: 99, want: 990 * time.Millisecond},
		{name: "uniform ms p99.9", values: uniform(1000, time.Millisecond), q: 99.9, want: 999 * time.Millisecond},
		{name: "uniform ms max is exact", values: uniform(1000, time.Millisecond), q: 100, want: time.Second, exact: true},
		{name: "uniform µs p90", values: uniform(10_000, time.Microsecond), q: 90, want: 9 * time.Millisecond},
		{name: "bimodal p50", values: append(repeat(time.Millisecond, 990), repeat(100*time.Millisecond, 10)...), q: 50, want: time.Millisecond},
		{name: "bimodal p99 is the last fast one", values: append(repeat(time.Millisecond, 990), repeat(100*time.Millisecond, 10)...), q: 99, want: time.Millisecond},
		{name: "bimodal p99.9 is slow", values: append(repeat(time.Millisecond, 990), repeat(100*time.Millisecond, 10)...), q: 99.9, want: 100 * time.Millisecond},
		{name: "negative counts as zero", values: []time.Duration{-time.Second}, q: 100, want: 0, exact: true},
		{name: "huge value", values: []time.Duration{time.Hour}, q: 50, want: time.Hour, exact: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h latencyHistogram
			for _, v := range tc.values {
				h.record(v)
			}
			got := h.percentile(tc.q)
			if tc.exact {
				if got != tc.want {
					t.Errorf("percentile(%g) = %v, want exactly %v", tc.q, got, tc.want)
				}
				return
			}
			if diff := math.Abs(float64(got-tc.want)) / float64(tc.want); diff > 1.0/subBucketCount {
				t.Errorf("percentile(%g) = %v, want %v within %.2f%% (off by %.2f%%)", tc.q, got, tc.want, 100.0/subBucketCount, 100*diff)
			}
		})
	}
}

func TestHistogramCountMeanAndSnapshot(t *testing.T) {
	var s syncHistogram
	for _, d := range []time.Duration{time.Millisecond, 2 * time.Millisecond, 6 * time.Millisecond} {
		s.record(d)
	}
	snap := s.snapshot()
	s.record(time.Hour) // must not show in the earlier snapshot
	if snap.count() != 3 || snap.mean() != 3*time.Millisecond {
		t.Errorf("count %d mean %v, want 3 and 3ms", snap.count(), snap.mean())
	}
	if got := snap.percentile(100); got != 6*time.Millisecond {
		t.Errorf("max = %v, want 6ms", got)
	}
	var empty latencyHistogram
	if empty.mean() != 0 || empty.count() != 0 {
		t.Errorf("empty histogram: mean %v count %d", empty.mean(), empty.count())
	}
}

func TestHistogramBars(t *testing.T) {
	var h latencyHistogram
	for range 90 {
		h.record(time.Millisecond)
	}
	for range 10 {
		h.record(50 * time.Millisecond)
	}
	var out bytes.Buffer
	h.writeBars(&out)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	// 1 ms and 50 ms are 6 powers of two apart (2^19.9 and 2^25.6 ns).
	if len(lines) != 7 {
		t.Fatalf("got %d rows, want 7 (one per power of two from 1 ms to 50 ms):\n%s", len(lines), out.String())
	}
	if !strings.Contains(lines[0], "90.0%") || !strings.Contains(lines[6], "10.0%") {
		t.Errorf("first row should hold 90%% and last 10%%:\n%s", out.String())
	}
	if !strings.Contains(lines[3], "|                              |") {
		t.Errorf("an empty row between should have an empty bar:\n%s", out.String())
	}

	var empty latencyHistogram
	out.Reset()
	empty.writeBars(&out)
	if out.Len() != 0 {
		t.Errorf("empty histogram drew %q", out.String())
	}
}

func TestFormatLatency(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{250 * time.Microsecond, "0.250 ms"},
		{1500 * time.Microsecond, "1.50 ms"},
		{12345 * time.Microsecond, "12.3 ms"},
		{1234 * time.Millisecond, "1234 ms"},
	}
	for _, tc := range tests {
		if got := formatLatency(tc.d); got != tc.want {
			t.Errorf("formatLatency(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
