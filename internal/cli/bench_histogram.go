package cli

import (
	"fmt"
	"io"
	"math"
	"math/bits"
	"strings"
	"sync"
	"time"
)

// The latency histogram is log-linear, in the manner of HdrHistogram: values
// (in nanoseconds) below 2^subBucketBits land in exact buckets, and every
// power-of-two range above is cut into 2^subBucketBits equal buckets. A
// bucket is therefore never wider than 1/128 of the values it holds, so a
// reported percentile is within 0.8 % of the true one, at any magnitude.
const (
	subBucketBits  = 7
	subBucketCount = 1 << subBucketBits
	// The linear range, then one range per shift a 64-bit value can need
	// (0 through 64-subBucketBits-1).
	histogramBuckets = (64 - subBucketBits + 1) * subBucketCount
)

// bucketIndex returns the bucket that holds v.
func bucketIndex(v uint64) int {
	if v < subBucketCount {
		return int(v)
	}
	// v has subBucketBits+1+shift significant bits; its top subBucketBits+1
	// bits pick the bucket within its power-of-two range.
	shift := bits.Len64(v) - subBucketBits - 1
	mantissa := v >> shift // in [subBucketCount, 2*subBucketCount)
	return (shift+1)*subBucketCount + int(mantissa-subBucketCount)
}

// bucketBounds returns the smallest and largest value that fall in bucket i.
func bucketBounds(i int) (low, high uint64) {
	if i < subBucketCount {
		return uint64(i), uint64(i)
	}
	shift := i/subBucketCount - 1
	mantissa := uint64(i%subBucketCount + subBucketCount)
	low = mantissa << shift
	return low, low + (1 << shift) - 1
}

// latencyHistogram counts durations. The zero value is empty and ready to
// use; it is not safe for concurrent use (see syncHistogram).
type latencyHistogram struct {
	counts   [histogramBuckets]uint64
	total    uint64
	min, max time.Duration
	sum      time.Duration
}

// record adds one observation; negative durations count as zero.
func (h *latencyHistogram) record(d time.Duration) {
	d = max(d, 0)
	h.counts[bucketIndex(uint64(d))]++
	if h.total == 0 || d < h.min {
		h.min = d
	}
	h.max = max(h.max, d)
	h.total++
	h.sum += d
}

// count returns the number of observations.
func (h *latencyHistogram) count() uint64 { return h.total }

// mean returns the average observation, or 0 when there is none.
func (h *latencyHistogram) mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return h.sum / time.Duration(h.total)
}

// percentile returns the value at or below which q percent (0..100) of the
// observations fall: the top of the bucket holding that rank, clamped to the
// observed minimum and maximum. It is 0 for an empty histogram; q = 100
// gives the exact maximum.
func (h *latencyHistogram) percentile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q / 100 * float64(h.total)))
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, high := bucketBounds(i)
			return min(max(time.Duration(high), h.min), h.max)
		}
	}
	return h.max
}

// writeBars draws the distribution as one bar per power-of-two range of
// latencies between the smallest and the largest observation, e.g.
//
//	1.02 ms -   2.05 ms  |##########                    |  41.2%  412003
func (h *latencyHistogram) writeBars(out io.Writer) {
	if h.total == 0 {
		return
	}
	const width = 30
	// Row r gathers the buckets of one power-of-two range; row 0 is the
	// linear range below subBucketCount ns.
	rows := make([]uint64, histogramBuckets/subBucketCount)
	first, last := -1, 0
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		row := i / subBucketCount
		rows[row] += c
		if first < 0 {
			first = row
		}
		last = row
	}
	var peak uint64
	for _, c := range rows[first : last+1] {
		peak = max(peak, c)
	}
	for row := first; row <= last; row++ {
		low, _ := bucketBounds(row * subBucketCount)
		_, high := bucketBounds(row*subBucketCount + subBucketCount - 1)
		filled := int(rows[row] * width / peak)
		if rows[row] > 0 && filled == 0 {
			filled = 1 // a non-empty row always shows
		}
		fmt.Fprintf(out, "  %10s - %10s  |%s%s| %5.1f%%  %d\n",
			formatLatency(time.Duration(low)), formatLatency(time.Duration(high)),
			strings.Repeat("#", filled), strings.Repeat(" ", width-filled),
			100*float64(rows[row])/float64(h.total), rows[row])
	}
}

// formatLatency prints a duration in milliseconds with three significant
// decimals at most, the unit every bench figure uses.
func formatLatency(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f ms", ms)
	case ms >= 1:
		return fmt.Sprintf("%.2f ms", ms)
	default:
		return fmt.Sprintf("%.3f ms", ms)
	}
}

// syncHistogram is a latencyHistogram shared by the goroutines of a run
// (kgo promises, producer loops, the consumer).
type syncHistogram struct {
	mu sync.Mutex
	h  latencyHistogram
}

func (s *syncHistogram) record(d time.Duration) {
	s.mu.Lock()
	s.h.record(d)
	s.mu.Unlock()
}

// snapshot returns a copy taken under the lock.
func (s *syncHistogram) snapshot() *latencyHistogram {
	s.mu.Lock()
	defer s.mu.Unlock()
	copied := s.h
	return &copied
}
