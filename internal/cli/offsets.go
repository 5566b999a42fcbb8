package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// offsetKind says how an -o value picks the first offset to read.
type offsetKind int

const (
	offsetBeginning offsetKind = iota // the log start offset
	offsetEnd                         // the high watermark: only new records
	offsetExact                       // value is the offset
	offsetFromEnd                     // value is N: N records before the high watermark
	offsetTimestamp                   // value is Unix ms: the first record at or after it
)

// offsetSpec is a parsed `consume -o` value.
type offsetSpec struct {
	kind  offsetKind
	value int64
}

// parseOffsetSpec parses beginning, end, OFFSET, -N or @TIMESTAMP_MS
// (earliest/latest are accepted as synonyms of beginning/end).
func parseOffsetSpec(s string) (offsetSpec, error) {
	switch strings.ToLower(s) {
	case "beginning", "earliest":
		return offsetSpec{kind: offsetBeginning}, nil
	case "end", "latest":
		return offsetSpec{kind: offsetEnd}, nil
	}
	const want = "want beginning, end, OFFSET, -N or @TIMESTAMP_MS"
	parseCount := func(digits string) (int64, error) {
		// ParseInt would accept a sign; the sign is ours to interpret.
		if digits == "" || digits[0] == '+' || digits[0] == '-' {
			return 0, fmt.Errorf("%q: %s", s, want)
		}
		n, err := strconv.ParseInt(digits, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q: %s", s, want)
		}
		return n, nil
	}
	switch {
	case strings.HasPrefix(s, "@"):
		ms, err := parseCount(s[1:])
		return offsetSpec{kind: offsetTimestamp, value: ms}, err
	case strings.HasPrefix(s, "-"):
		n, err := parseCount(s[1:])
		return offsetSpec{kind: offsetFromEnd, value: n}, err
	default:
		offset, err := parseCount(s)
		return offsetSpec{kind: offsetExact, value: offset}, err
	}
}

// resetOffset is the kgo offset a group member starts from when its group
// has no committed offset for a partition.
func (s offsetSpec) resetOffset() kgo.Offset {
	switch s.kind {
	case offsetEnd:
		return kgo.NewOffset().AtEnd()
	case offsetExact:
		return kgo.NewOffset().At(s.value)
	case offsetFromEnd:
		return kgo.NewOffset().AtEnd().Relative(-s.value)
	case offsetTimestamp:
		return kgo.NewOffset().AfterMilli(s.value)
	default:
		return kgo.NewOffset().AtStart()
	}
}

// partitionLayout is what consume learns about a topic before it starts.
type partitionLayout struct {
	partitions []int32         // sorted partition numbers
	starts     map[int32]int64 // log start offset per partition
	ends       map[int32]int64 // high watermark per partition, as seen at start
	afterMilli map[int32]int64 // first offset at or after an -o @TIMESTAMP; nil otherwise
}

// loadPartitionLayout fetches the partitions of topic and their offsets.
func loadPartitionLayout(ctx context.Context, adm *kadm.Client, topic string, spec offsetSpec) (partitionLayout, error) {
	topics, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return partitionLayout{}, topicError(topic, err)
	}
	detail, ok := topics[topic]
	if !ok {
		detail.Err = kerr.UnknownTopicOrPartition
	}
	if detail.Err != nil {
		return partitionLayout{}, topicError(topic, detail.Err)
	}
	layout := partitionLayout{partitions: detail.Partitions.Numbers()}

	list := func(what string, lister func(context.Context, ...string) (kadm.ListedOffsets, error)) (map[int32]int64, error) {
		listed, err := lister(ctx, topic)
		if err != nil {
			return nil, topicError(topic, fmt.Errorf("list %s: %w", what, err))
		}
		return offsetsOf(topic, listed)
	}
	if layout.starts, err = list("log start offsets", adm.ListStartOffsets); err != nil {
		return partitionLayout{}, err
	}
	if layout.ends, err = list("high watermarks", adm.ListEndOffsets); err != nil {
		return partitionLayout{}, err
	}
	if spec.kind == offsetTimestamp {
		afterMilli := func(ctx context.Context, topics ...string) (kadm.ListedOffsets, error) {
			return adm.ListOffsetsAfterMilli(ctx, spec.value, topics...)
		}
		if layout.afterMilli, err = list("offsets by time", afterMilli); err != nil {
			return partitionLayout{}, err
		}
	}
	return layout, nil
}

// offsetsOf flattens one topic's listed offsets, failing on the first
// partition the broker could not answer for.
func offsetsOf(topic string, listed kadm.ListedOffsets) (map[int32]int64, error) {
	offsets := make(map[int32]int64, len(listed[topic]))
	for p, o := range listed[topic] {
		if o.Err != nil {
			return nil, topicError(topic, fmt.Errorf("partition %d: %w", p, o.Err))
		}
		offsets[p] = o.Offset
	}
	return offsets, nil
}

// resolveStart is the offset spec starts partition p at, kept inside
// [log start, high watermark] so an offset past either end does not
// trigger a reset to somewhere unexpected.
func (l partitionLayout) resolveStart(spec offsetSpec, p int32) int64 {
	start, end := l.starts[p], l.ends[p]
	var offset int64
	switch spec.kind {
	case offsetBeginning:
		offset = start
	case offsetEnd:
		offset = end
	case offsetExact:
		offset = spec.value
	case offsetFromEnd:
		offset = end - spec.value
	case offsetTimestamp:
		var ok bool
		if offset, ok = l.afterMilli[p]; !ok || offset < 0 {
			offset = end
		}
	}
	return min(max(offset, start), end)
}

// unknownPosition marks an assigned partition whose next offset is not known
// yet (a group member just received it).
const unknownPosition = -1

// endTracker decides when `consume -e` is finished: every assigned
// partition has been read up to the high watermark it had when consuming
// began. Holding no partition is never finished: a group member between
// revocation and assignment (or with nothing to do) waits. Group callbacks
// update the tracker from kgo's goroutines, hence the lock.
type endTracker struct {
	mu      sync.Mutex
	targets map[int32]int64 // high watermark per partition at start; missing means 0
	next    map[int32]int64 // next offset to read per assigned partition, or unknownPosition
}

func newEndTracker(targets map[int32]int64) *endTracker {
	return &endTracker{targets: targets, next: make(map[int32]int64)}
}

// assign adds partitions; their position is unknown until setPosition or a
// record says otherwise. Re-assigning a held partition keeps its position.
func (t *endTracker) assign(partitions []int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range partitions {
		if _, held := t.next[p]; !held {
			t.next[p] = unknownPosition
		}
	}
}

// revoke forgets partitions this consumer no longer reads.
func (t *endTracker) revoke(partitions []int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range partitions {
		delete(t.next, p)
	}
}

// setPosition records where reading of an assigned partition starts. It
// never moves a position backwards past records already seen.
func (t *endTracker) setPosition(p int32, next int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if current, held := t.next[p]; held {
		t.next[p] = max(current, next)
	}
}

// observe notes that the record at offset was read from partition p.
func (t *endTracker) observe(p int32, offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if current, held := t.next[p]; held {
		t.next[p] = max(current, offset+1)
	}
}

// unknownPositions lists assigned partitions without a known position.
func (t *endTracker) unknownPositions() []int32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var unknown []int32
	for p, next := range t.next {
		if next == unknownPosition {
			unknown = append(unknown, p)
		}
	}
	return unknown
}

// done reports whether every assigned partition reached its target.
func (t *endTracker) done() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.next) == 0 {
		return false
	}
	for p, next := range t.next {
		if next == unknownPosition || next < t.targets[p] {
			return false
		}
	}
	return true
}
