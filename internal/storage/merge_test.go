package storage

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/samsa-broker/samsa/internal/record"
	"github.com/samsa-broker/samsa/internal/storage/vfs"
)

// keyValues reads every record of the log: offset → key@timestamp (each
// batch of fillKeyed has its own timestamp).
func keyValues(t *testing.T, l *Log) map[int64]string {
	t.Helper()
	out := map[int64]string{}
	for _, b := range readAllBatches(t, l) {
		if err := record.EachRecord(b, func(r record.RecordView) {
			out[r.Offset] = fmt.Sprintf("%s@%d", r.Key, r.Timestamp)
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// countLogFiles counts the .log files in the log's directory.
func countLogFiles(t *testing.T, fs vfs.FS) int { return len(segmentFiles(t, fs, logExt)) }

// checkReadsAt reads each of want's offsets on its own, so every lookup
// goes through the (rebuilt) offset index of the segment holding it.
func checkReadsAt(t *testing.T, l *Log, want map[int64]string) {
	t.Helper()
	for off, kv := range want {
		data, err := l.Read(off, 1, l.EndOffset())
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		found := false
		batches, err := record.Split(data)
		if err != nil || len(batches) == 0 {
			t.Fatalf("Read(%d): %d batches, %v", off, len(batches), err)
		}
		if err := record.EachRecord(batches[0], func(r record.RecordView) {
			if r.Offset == off {
				found = fmt.Sprintf("%s@%d", r.Key, r.Timestamp) == kv
			}
		}); err != nil {
			t.Fatal(err)
		}
		if !found {
			t.Fatalf("Read(%d) did not return %s first", off, kv)
		}
	}
}

// offsetsByTime lists what OffsetForTimestamp answers for each timestamp
// in [from, to).
func offsetsByTime(t *testing.T, l *Log, from, to int64) string {
	t.Helper()
	var b strings.Builder
	for ts := from; ts < to; ts++ {
		off, recTs, found, err := l.OffsetForTimestamp(ts)
		if err != nil {
			t.Fatalf("OffsetForTimestamp(%d): %v", ts, err)
		}
		fmt.Fprintf(&b, "%d:%d@%d/%v ", ts, off, recTs, found)
	}
	return b.String()
}

// fillKeyed appends n batches of two records, each batch with its own
// timestamp: a large one over ten keys (superseded ten batches later) and one with
// a key of its own (never superseded), so cleaned segments keep about half
// their bytes.
func fillKeyed(t *testing.T, l *Log, n int, epoch int32) {
	t.Helper()
	for i := 0; i < n; i++ {
		mustAppend(t, l, keyedBatch(int64(1000+i), fmt.Sprintf("k%d", i%10), strings.Repeat("v", 100),
			fmt.Sprintf("u%d-%d", epoch, i), fmt.Sprintf("w%d", i)), epoch)
	}
}

// TestCompactMergesSegments: the cleaner writes consecutive small segments
// of one epoch as one, no larger than SegmentBytes, with every kept record
// at its offset and reachable through the merged segment's index, after a
// crash and a reopen too; a second pass with nothing to remove leaves the
// merged segments alone.
func TestCompactMergesSegments(t *testing.T) {
	fs := vfs.NewMem()
	opts := Options{SegmentBytes: 2000, IndexIntervalBytes: 100}
	l := openLog(t, fs, opts)
	fillKeyed(t, l, 200, 0)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	before, end := keyValues(t, l), l.EndOffset()
	files := countLogFiles(t, fs)

	// A first pass empties most segments of superseded records but merges
	// none: the cleaner groups segments by their size before the pass, as
	// Kafka's does, and each is full. The next pass (here at once, with
	// nothing new to remove) merges what the first left.
	first, err := l.Compact(CompactOptions{UpTo: end, TombstonesBefore: -1})
	if err != nil {
		t.Fatal(err)
	}
	if first.RecordsRemoved == 0 || first.Merged != 0 {
		t.Fatalf("first pass: %+v", first)
	}
	files = countLogFiles(t, fs)
	byTime := offsetsByTime(t, l, 990, 1210)
	stats, err := l.Compact(CompactOptions{UpTo: end, TombstonesBefore: -1})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Merged == 0 || stats.RecordsRemoved != 0 {
		t.Fatalf("second pass: %+v", stats)
	}
	after := keyValues(t, l)
	if got := countLogFiles(t, fs); got != files-stats.Merged {
		t.Fatalf("%d segment files after merging %d of %d", got, stats.Merged, files)
	}
	for off, kv := range after {
		if before[off] != kv {
			t.Fatalf("offset %d holds %s, was written %s", off, kv, before[off])
		}
	}
	if len(after) >= len(before) || l.EndOffset() != end {
		t.Fatalf("%d of %d records, end %d (was %d)", len(after), len(before), l.EndOffset(), end)
	}
	l.mu.RLock()
	for _, s := range l.segments {
		if s.size.Load() > opts.SegmentBytes {
			t.Errorf("segment %d holds %d bytes, more than segment bytes %d", s.base, s.size.Load(), opts.SegmentBytes)
		}
	}
	l.mu.RUnlock()
	checkReadsAt(t, l, after)
	// Lookups by time go through the merged segments' rebuilt time indexes
	// and find what they found before the merge.
	if got := offsetsByTime(t, l, 990, 1210); got != byTime {
		t.Fatalf("offsets by timestamp changed by the merge:\n%s\nwas\n%s", got, byTime)
	}

	// A third pass finds segments that cannot merge further and nothing
	// to remove, so it rewrites none.
	again, err := l.Compact(CompactOptions{UpTo: end, TombstonesBefore: -1})
	if err != nil {
		t.Fatal(err)
	}
	if again.Segments != 0 {
		t.Fatalf("third pass: %+v", again)
	}

	for _, reopened := range []*Log{openLog(t, fs.Crash(), opts), func() *Log {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		return openLog(t, fs, opts)
	}()} {
		got := keyValues(t, reopened)
		if len(got) != len(after) || reopened.EndOffset() != end {
			t.Fatalf("reopened: %d records, end %d; want %d, %d", len(got), reopened.EndOffset(), len(after), end)
		}
		checkReadsAt(t, reopened, after)
	}
}

// TestCompactDoesNotMergeAcrossEpochs: segments of different leader epochs
// stay apart, so the epoch history (the list of segments) and what
// OffsetForLeaderEpoch answers do not change.
func TestCompactDoesNotMergeAcrossEpochs(t *testing.T) {
	fs := vfs.NewMem()
	l := openLog(t, fs, Options{SegmentBytes: 2000, IndexIntervalBytes: 100})
	fillKeyed(t, l, 30, 3)
	fillKeyed(t, l, 30, 5)
	fillKeyed(t, l, 30, 7)
	type answer struct {
		epoch int32
		end   int64
	}
	epochs := map[int32]answer{}
	for _, e := range []int32{3, 4, 5, 6, 7} {
		got, endOff := l.EndOffsetForEpoch(e)
		epochs[e] = answer{got, endOff}
	}
	var stats CompactStats
	for pass := 0; pass < 2; pass++ { // the second merges what the first cleaned
		s, err := l.Compact(CompactOptions{UpTo: l.EndOffset(), TombstonesBefore: -1})
		if err != nil {
			t.Fatal(err)
		}
		stats.Merged += s.Merged
	}
	if stats.Merged == 0 {
		t.Fatalf("nothing merged: %+v", stats)
	}
	for e, want := range epochs {
		if got, endOff := l.EndOffsetForEpoch(e); got != want.epoch || endOff != want.end {
			t.Errorf("EndOffsetForEpoch(%d) = %d, %d after compaction; was %d, %d", e, got, endOff, want.epoch, want.end)
		}
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	for i := 1; i < len(l.segments); i++ {
		if a, b := l.segments[i-1], l.segments[i]; a.epoch == b.epoch && a.size.Load()+b.size.Load() <= 2000 && b != l.segments[len(l.segments)-1] {
			t.Errorf("segments %d and %d (epoch %d, %d+%d bytes) left unmerged", a.base, b.base, a.epoch, a.size.Load(), b.size.Load())
		}
	}
}

// TestRecoveryCompletesInterruptedMerge: a crash after the merged file was
// committed (.log.swap) and before the old segments were all gone leaves a
// log that opens with every record once, at its offset, whatever step the
// crash interrupted; an uncommitted .log.cleaned is dropped instead.
func TestRecoveryCompletesInterruptedMerge(t *testing.T) {
	for _, step := range []string{"swap written", "second segment removed", "indexes removed", "not committed"} {
		t.Run(step, func(t *testing.T) {
			fs := vfs.NewMem()
			opts := Options{SegmentBytes: 2000, IndexIntervalBytes: 100}
			l := openLog(t, fs, opts)
			fillKeyed(t, l, 60, 0)
			want := keyValues(t, l)
			l.mu.RLock()
			first, second := l.segments[0], l.segments[1]
			l.mu.RUnlock()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			// The merged data of the first two segments, as the cleaner
			// writes it when it removes nothing.
			var merged []byte
			for _, s := range []*segment{first, second} {
				f, err := fs.Open(s.path + logExt)
				if err != nil {
					t.Fatal(err)
				}
				data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<30))
				if err != nil {
					t.Fatal(err)
				}
				f.Close()
				merged = append(merged, data...)
			}
			ext := swapExt
			if step == "not committed" {
				ext = cleanedExt
			}
			f, err := fs.Create(first.path + ext)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write(merged); err != nil {
				t.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			f.Close()
			remove := map[string][]string{
				"second segment removed": {second.path + logExt, second.path + indexExt},
				"indexes removed":        {second.path + logExt, second.path + indexExt, second.path + timeIndexExt, first.path + indexExt},
			}[step]
			for _, name := range remove {
				if err := fs.Remove(name); err != nil {
					t.Fatal(err)
				}
			}
			if err := fs.SyncDir(testDir); err != nil {
				t.Fatal(err)
			}
			crashed := fs.Crash()
			reopened := openLog(t, crashed, opts)
			got := keyValues(t, reopened)
			if len(got) != len(want) {
				t.Fatalf("%d records after recovery, want %d", len(got), len(want))
			}
			for off, kv := range want {
				if got[off] != kv {
					t.Fatalf("offset %d holds %q after recovery, want %q", off, got[off], kv)
				}
			}
			checkReadsAt(t, reopened, want)
			names, _ := crashed.ReadDir(testDir)
			for _, name := range names {
				if filepath.Ext(name) == ".swap" || filepath.Ext(name) == ".cleaned" {
					t.Errorf("%s left after recovery", name)
				}
			}
		})
	}
}

// FuzzRecoverSwap puts arbitrary bytes in a committed merge (.log.swap)
// beside the segments it would replace. Open must not panic or fail, and
// the log must read back as valid batches with increasing offsets.
func FuzzRecoverSwap(f *testing.F) {
	good := fuzzSeedBatches()
	f.Add(good)
	f.Add(good[:len(good)-5])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		fs := vfs.NewMem()
		l := openLog(t, fs, Options{SegmentBytes: 200, IndexIntervalBytes: 64})
		for range 6 {
			mustAppend(t, l, testBatch(2, 40, 1), 0)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		writeFile(t, fs, seg(0, swapExt), data)
		l, err := Open(testDir, Options{FS: fs, IndexIntervalBytes: 64})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer l.Close()
		next := l.StartOffset()
		for _, b := range readAllBatches(t, l) {
			h, _ := record.ParseHeader(b)
			if h.BaseOffset < next {
				t.Fatalf("batch offset %d below %d", h.BaseOffset, next)
			}
			next = h.NextOffset()
		}
		if _, err := l.Append(testBatch(1, 1, 1), 0); err != nil {
			t.Fatalf("Append after recovery: %v", err)
		}
	})
}
