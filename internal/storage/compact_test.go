package storage

import (
	"fmt"
	"testing"

	"github.com/samsa-broker/samsa/internal/record"
	"github.com/samsa-broker/samsa/internal/storage/vfs"
)

// keyedBatch builds a batch of records key=value pairs; a value "" is a
// tombstone.
func keyedBatch(ts int64, kv ...string) []byte {
	var recs []record.RecordSpec
	for i := 0; i < len(kv); i += 2 {
		r := record.RecordSpec{Key: []byte(kv[i])}
		if kv[i+1] != "" {
			r.Value = []byte(kv[i+1])
		}
		recs = append(recs, r)
	}
	return record.Build(record.BatchSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, Timestamp: ts, Records: recs})
}

// logRecords reads every record of the log: offset → key=value.
func logRecords(t *testing.T, l *Log) map[int64]string {
	t.Helper()
	out := map[int64]string{}
	for _, b := range readAllBatches(t, l) {
		err := record.EachRecord(b, func(r record.RecordView) {
			v := "<tombstone>"
			if !r.Tombstone {
				v = "set"
			}
			out[r.Offset] = string(r.Key) + ":" + v
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestCompactKeepsLatestPerKey(t *testing.T) {
	fs := vfs.NewMem()
	clock := &fakeClock{ms: 1_000_000}
	opts := Options{SegmentBytes: 600, Now: clock.now, IndexIntervalBytes: 100}
	l := openLog(t, fs, opts)
	// 60 batches of two records each over keys k0..k9; the last write of
	// k3 is a recent tombstone, k4's an old one.
	latest := map[string]int64{}
	for i := 0; i < 60; i++ {
		a, b := fmt.Sprintf("k%d", i%10), fmt.Sprintf("k%d", (i+5)%10)
		ts := int64(1000 + i)
		va, vb := fmt.Sprintf("v%d", i), fmt.Sprintf("w%d", i)
		if i == 53 { // k3: the last write of k3, a tombstone
			va = ""
		}
		if i == 44 { // k4's last write happens at i == 54; make it old below
			vb = "x"
		}
		batch := keyedBatch(ts, a, va, b, vb)
		if i == 54 {
			batch = keyedBatch(10, a, "", b, vb) // k4 tombstone with an old timestamp
		}
		base := mustAppend(t, l, batch, 0).base
		latest[a], latest[b] = base, base+1
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	before := logRecords(t, l)
	end, start := l.EndOffset(), l.StartOffset()
	dirty, total := l.CleanableBytes(end)
	if dirty == 0 || dirty != total {
		t.Fatalf("before compaction: dirty %d of %d", dirty, total)
	}

	stats, err := l.Compact(CompactOptions{UpTo: end, TombstonesBefore: 500})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Segments == 0 || stats.RecordsRemoved == 0 || stats.BytesAfter >= stats.BytesBefore {
		t.Fatalf("stats %+v", stats)
	}
	if dirty, _ := l.CleanableBytes(end); dirty != 0 {
		t.Fatalf("dirty bytes after a pass: %d", dirty)
	}
	check := func(l *Log) {
		t.Helper()
		after := logRecords(t, l)
		if l.EndOffset() != end || l.StartOffset() != start {
			t.Fatalf("offsets moved: [%d, %d) → [%d, %d)", start, end, l.StartOffset(), l.EndOffset())
		}
		for off, rec := range after {
			if before[off] != rec {
				t.Fatalf("offset %d holds %q, was %q", off, rec, before[off])
			}
		}
		for key, off := range latest {
			_, kept := after[off]
			switch {
			case key == "k4" && kept && off < l.segments[len(l.segments)-1].base:
				t.Fatalf("old tombstone of k4 at %d kept", off)
			case key == "k4":
				// Deleted: none of its records may stay in the closed
				// segments, or a reader would see it come back.
				for o, rec := range after {
					if keyOf(rec) == "k4" && o < l.segments[len(l.segments)-1].base {
						t.Fatalf("record %s of the deleted k4 at %d kept", rec, o)
					}
				}
			case key != "k4" && !kept:
				t.Fatalf("latest record of %s at %d removed", key, off)
			}
		}
		if len(after) >= len(before) {
			t.Fatalf("nothing removed: %d records of %d", len(after), len(before))
		}
		// Every record superseded within the closed segments (the active
		// one is neither cleaned nor supersedes) is gone.
		activeBase := l.segments[len(l.segments)-1].base
		latestClosed := map[string]int64{}
		for off, rec := range before {
			if key := keyOf(rec); off < activeBase && off > latestClosed[key] {
				latestClosed[key] = off
			}
		}
		for off, rec := range after {
			if key := keyOf(rec); off < activeBase && latestClosed[key] != off {
				t.Fatalf("superseded %s at %d kept", key, off)
			}
		}
	}
	check(l)

	// The rewritten segments and their rebuilt indexes survive a crash
	// right after the pass (each swap is synced) and a clean reopen.
	check(openLog(t, fs.Crash(), opts))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	check(openLog(t, fs, opts))
}

func keyOf(rec string) string {
	for i := range rec {
		if rec[i] == ':' {
			return rec[:i]
		}
	}
	return rec
}

func TestCompactLeavesKeptBatchesAndStopsAtUpTo(t *testing.T) {
	fs := vfs.NewMem()
	clock := &fakeClock{ms: 1_000_000}
	l := openLog(t, fs, Options{SegmentBytes: 300, Now: clock.now})
	for i := 0; i < 30; i++ {
		mustAppend(t, l, keyedBatch(int64(1000+i), "k", fmt.Sprint(i)), 0)
	}
	before := logRecords(t, l)
	// Nothing below UpTo = 0 is cleanable.
	if stats, err := l.Compact(CompactOptions{UpTo: 0}); err != nil || stats.Segments != 0 {
		t.Fatalf("UpTo 0: %+v %v", stats, err)
	}
	// Batches Keep names stay whole and supersede nothing: keeping every
	// batch with an even base offset leaves those, and the odd ones are
	// superseded by the last odd one only.
	keepEven := func(h record.Header) bool { return h.BaseOffset%2 == 0 }
	if _, err := l.Compact(CompactOptions{UpTo: l.EndOffset(), Keep: keepEven}); err != nil {
		t.Fatal(err)
	}
	after := logRecords(t, l)
	for off := range before {
		if off%2 == 0 {
			if _, ok := after[off]; !ok {
				t.Fatalf("kept batch at %d removed", off)
			}
		}
	}
	if len(after) == len(before) {
		t.Fatal("nothing removed")
	}
}

// A crash while the cleaner wrote a segment's copy leaves a .log.cleaned
// file: recovery removes it and the segment is as it was.
func TestRecoveryRemovesCleanerLeftovers(t *testing.T) {
	fs := vfs.NewMem()
	l := openLog(t, fs, Options{})
	want := []appended{mustAppend(t, l, keyedBatch(1, "k", "v"), 0)}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, fs, seg(0, cleanedExt), []byte("half a cleaned segment"))
	l = openLog(t, fs, Options{})
	checkContents(t, l, want)
	if got := segmentFiles(t, fs, cleanedExt); len(got) != 0 {
		t.Fatalf("leftover cleaned files: %v", got)
	}
}

// Batches that lose every record go, at a segment's edges too, so one
// record per key is left, whatever the segment size (kafka-go's
// TestReaderReadCompactedMessage writes one batch per segment). Offsets do
// not move: a segment left with nothing is deleted, but for the first, and
// after a restart, with the active segment's data lost, appends go on at the
// old end rather than reuse offsets consumers may be past.
func TestCompactRemovesEdgeBatches(t *testing.T) {
	fs := vfs.NewMem()
	clock := &fakeClock{ms: 1_000_000}
	opts := Options{SegmentBytes: 100, Now: clock.now}
	l := openLog(t, fs, opts)
	var bases []int64
	for i := range 60 {
		key := fmt.Sprintf("k%d", i%5)
		bases = append(bases, mustAppend(t, l, keyedBatch(int64(1000+i), key, fmt.Sprint(i)), 0).base)
	}
	// k0 is deleted by an old tombstone, the last closed batch: the segment
	// before the active one then ends below the active base.
	mustAppend(t, l, keyedBatch(10, "k0", ""), 0)
	mustAppend(t, l, keyedBatch(2000, "k1", "last"), 0)
	if len(l.segments) < 30 {
		t.Fatalf("%d segments, want one batch per segment", len(l.segments))
	}
	start, end := l.StartOffset(), l.EndOffset()
	activeBase := l.segments[len(l.segments)-1].base
	// The latest record of each key below the active segment (which is
	// neither cleaned nor supersedes anything).
	latest := map[string]int64{}
	for i, base := range bases {
		if key := fmt.Sprintf("k%d", i%5); key != "k0" {
			latest[key] = base
		}
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Compact(CompactOptions{UpTo: end, TombstonesBefore: 500}); err != nil {
		t.Fatal(err)
	}
	check := func(l *Log) {
		t.Helper()
		if l.StartOffset() != start || l.EndOffset() != end {
			t.Fatalf("offsets moved: [%d, %d) → [%d, %d)", start, end, l.StartOffset(), l.EndOffset())
		}
		if l.segments[0].base != 0 {
			t.Fatalf("first segment %d deleted", l.segments[0].base)
		}
		got := logRecords(t, l)
		for off, rec := range got {
			if off < activeBase && (latest[keyOf(rec)] != off || keyOf(rec) == "k0") {
				t.Fatalf("superseded %s at %d kept", rec, off)
			}
		}
		for key, off := range latest {
			if _, ok := got[off]; !ok {
				t.Fatalf("latest record of %s at %d removed", key, off)
			}
		}
		// A read from the start, or from inside any gap, returns the next
		// batch that stayed.
		for off := start; off < end; off++ {
			data, err := l.Read(off, 1, end)
			if err != nil || len(data) == 0 {
				t.Fatalf("Read(%d): %d bytes, %v", off, len(data), err)
			}
			if h := mustHeader(t, data); h.LastOffset() < off {
				t.Fatalf("Read(%d) returned the batch at %d", off, h.BaseOffset)
			}
		}
	}
	check(l)
	if n := len(segmentFiles(t, fs, logExt)); n > len(latest)+2 {
		t.Fatalf("%d segment files left for %d keys", n, len(latest))
	}
	check(openLog(t, fs.Crash(), opts))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, fs, opts)
	check(l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// The active segment's batch lost (an empty file left): the segment
	// before it ends where its data does, below the active base, yet
	// appending resumes at that base.
	writeFile(t, fs, seg(activeBase, logExt), nil)
	removeFile(t, fs, seg(activeBase, indexExt))
	l = openLog(t, fs, opts)
	if l.EndOffset() != activeBase {
		t.Fatalf("EndOffset %d after losing the active segment's data, want %d", l.EndOffset(), activeBase)
	}
	if next := mustAppend(t, l, keyedBatch(2000, "k9", "x"), 0); next.base != activeBase {
		t.Fatalf("appended at %d, want %d", next.base, activeBase)
	}
}

// The first segment stays when the cleaner empties it: its base is the log
// start offset, which a restart keeps.
func TestCompactKeepsAnEmptiedFirstSegment(t *testing.T) {
	fs := vfs.NewMem()
	opts := Options{SegmentBytes: 100}
	l := openLog(t, fs, opts)
	for i := range 6 {
		mustAppend(t, l, keyedBatch(int64(1000+i), "k", fmt.Sprint(i)), 0)
	}
	if _, err := l.Compact(CompactOptions{UpTo: l.EndOffset()}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, fs, opts)
	if l.StartOffset() != 0 || l.segments[0].base != 0 || l.segments[0].size.Load() != 0 {
		t.Fatalf("start %d, first segment %d of %d bytes", l.StartOffset(), l.segments[0].base, l.segments[0].size.Load())
	}
	// 4 is the latest below the active segment, 5 is in it.
	if recs := logRecords(t, l); len(recs) != 2 || recs[4] == "" || recs[5] == "" {
		t.Fatalf("records %v, want those at 4 and 5", recs)
	}
	if _, _, found, err := l.MaxTimestamp(); !found || err != nil {
		t.Fatal("MaxTimestamp found nothing")
	}
}

// A deleted key's record that is all of a segment's first batch goes (the
// batch left with no records) even when it is the only thing the segment
// loses: were that segment left as it was while the tombstone went from a
// later one, the key would come back.
func TestCompactDeletedKeyInAnEdgeBatchStaysDeleted(t *testing.T) {
	fs := vfs.NewMem()
	clock := &fakeClock{ms: 1_000_000}
	l := openLog(t, fs, Options{SegmentBytes: 250, Now: clock.now})
	unique := 0
	fillSegment := func() {
		for base := l.segments[len(l.segments)-1].base; l.segments[len(l.segments)-1].base == base; unique++ {
			mustAppend(t, l, keyedBatch(1000, fmt.Sprintf("u%d", unique), "1"), 0)
		}
	}
	mustAppend(t, l, keyedBatch(1000, "a", "1"), 0) // segment 0's first batch
	fillSegment()
	mustAppend(t, l, keyedBatch(10, "a", ""), 0) // an old tombstone, in segment 1
	fillSegment()
	if _, err := l.Compact(CompactOptions{UpTo: l.EndOffset(), TombstonesBefore: 500}); err != nil {
		t.Fatal(err)
	}
	activeBase := l.segments[len(l.segments)-1].base
	for off, rec := range logRecords(t, l) {
		if keyOf(rec) == "a" && off < activeBase {
			t.Fatalf("record %s of the deleted key a at %d kept", rec, off)
		}
	}
}

func mustHeader(t *testing.T, b []byte) record.Header {
	t.Helper()
	h, err := record.ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Truncating into a gap the cleaner left keeps the offsets below the cut
// taken: the log ends at the cut.
func TestTruncateIntoACleanedGap(t *testing.T) {
	fs := vfs.NewMem()
	l := openLog(t, fs, Options{SegmentBytes: 300})
	for i := range 12 {
		mustAppend(t, l, keyedBatch(int64(1000+i), fmt.Sprintf("k%d", i%2), fmt.Sprint(i)), 0)
	}
	if _, err := l.Compact(CompactOptions{UpTo: l.EndOffset()}); err != nil {
		t.Fatal(err)
	}
	// The first segment's data now starts and ends inside it; pick an
	// offset of it that is in no batch.
	s := l.segments[0]
	recs := logRecords(t, l)
	gap := int64(-1)
	for off := s.base; off < s.next; off++ {
		if _, ok := recs[off]; !ok {
			gap = off
		}
	}
	if gap < 0 {
		t.Fatalf("no gap in segment [%d, %d): %v", s.base, s.next, recs)
	}
	if err := l.TruncateTo(gap); err != nil {
		t.Fatal(err)
	}
	if l.EndOffset() != gap {
		t.Fatalf("EndOffset %d after truncating to %d", l.EndOffset(), gap)
	}
	if a := mustAppend(t, l, keyedBatch(2000, "k", "x"), 0); a.base != gap {
		t.Fatalf("appended at %d, want %d", a.base, gap)
	}
}
