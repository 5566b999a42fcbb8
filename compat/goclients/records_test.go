package goclients

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
)

// record is one message as a client saw it, reduced to what both clients
// report: where it is, its key, value, one header and its timestamp.
type record struct {
	partition int32
	offset    int64
	key       string
	value     string
	seq       string // the "seq" header: the message's index in the produce order
	timeMs    int64  // CreateTime in milliseconds
}

func (r record) String() string {
	return fmt.Sprintf("p%d@%d key=%q seq=%q time=%d value=%.30q", r.partition, r.offset, r.key, r.seq, r.timeMs, r.value)
}

// recordLog collects records from concurrent consumer goroutines, keeping
// the order in which each partition's records arrived.
type recordLog struct {
	mu      sync.Mutex
	records []record
}

// add appends r and returns how many records the log now holds.
func (l *recordLog) add(r record) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r)
	return len(l.records)
}

func (l *recordLog) snapshot() []record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.records)
}

// byPartition groups records by partition, keeping their order.
func byPartition(records []record) map[int32][]record {
	out := map[int32][]record{}
	for _, r := range records {
		out[r.partition] = append(out[r.partition], r)
	}
	return out
}

// checkAcked checks the producer's acknowledgements, given in the order the
// messages were sent: every message is acknowledged once, each partition's
// offsets are dense from 0 and follow the send order, and messages with the
// same key went to the same partition. It returns the records per partition
// in offset order, which is what consumers must read.
func checkAcked(t *testing.T, acked []record, total int, partitions int32) map[int32][]record {
	t.Helper()
	if len(acked) != total {
		t.Fatalf("%d messages acknowledged, want %d", len(acked), total)
	}
	keyPartition := map[string]int32{}
	for _, r := range acked {
		if r.partition < 0 || r.partition >= partitions {
			t.Fatalf("acknowledged in partition %d, topic has %d: %v", r.partition, partitions, r)
		}
		if p, ok := keyPartition[r.key]; ok && p != r.partition {
			t.Errorf("key %q in partitions %d and %d", r.key, p, r.partition)
		}
		keyPartition[r.key] = r.partition
	}
	want := byPartition(acked)
	for p, records := range want {
		for i, r := range records {
			if r.offset != int64(i) {
				t.Fatalf("partition %d: message %d in send order acknowledged at offset %d, want %d (offsets must be dense and follow the send order): %v",
					p, i, r.offset, i, r)
			}
		}
	}
	return want
}

// checkConsumed compares what a consumer read with what was produced: each
// record exactly once, with its key, value, header and timestamp, and each
// partition in offset order. Only the partitions in want are expected.
func checkConsumed(t *testing.T, want map[int32][]record, got []record) {
	t.Helper()
	seen := map[[2]int64]int{}
	var duplicates []string
	for _, r := range got {
		at := [2]int64{int64(r.partition), r.offset}
		seen[at]++
		if seen[at] == 2 && len(duplicates) < 5 {
			duplicates = append(duplicates, r.String())
		}
	}
	if len(duplicates) > 0 {
		t.Errorf("records consumed more than once (first %d shown): %s", len(duplicates), strings.Join(duplicates, "; "))
	}
	gotBy := byPartition(got)
	for _, p := range slices.Sorted(maps.Keys(gotBy)) {
		if _, ok := want[p]; !ok {
			t.Errorf("consumed %d records from partition %d, which was not expected", len(gotBy[p]), p)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(want)) {
		wantRecords, gotRecords := want[p], gotBy[p]
		for i := range min(len(wantRecords), len(gotRecords)) {
			if gotRecords[i] != wantRecords[i] {
				t.Errorf("partition %d: record %d consumed is\n  %v\nwant\n  %v", p, i, gotRecords[i], wantRecords[i])
				break
			}
		}
		if len(gotRecords) != len(wantRecords) {
			t.Errorf("partition %d: consumed %d records, want %d", p, len(gotRecords), len(wantRecords))
		}
	}
}

// counts shows records per partition, for failure messages.
func counts(byPartition map[int32][]record) string {
	var parts []string
	for _, p := range slices.Sorted(maps.Keys(byPartition)) {
		parts = append(parts, fmt.Sprintf("p%d:%d", p, len(byPartition[p])))
	}
	return strings.Join(parts, " ")
}
