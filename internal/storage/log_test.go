package storage

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/samsa-broker/samsa/internal/record"
	"github.com/samsa-broker/samsa/internal/storage/vfs"
)

func TestAppendAssignsOffsetsAndReopens(t *testing.T) {
	fs := vfs.NewMem()
	l := openLog(t, fs, Options{})
	var want []appended
	for i := range 10 {
		want = append(want, mustAppend(t, l, testBatch(i+1, 10, 1000+int64(i)), 1))
	}
	checkContents(t, l, want)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := l.Append(testBatch(1, 1, 0), 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if _, err := l.Read(0, 100, 100); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	l = openLog(t, fs, Options{})
	checkContents(t, l, want)
	want = append(want, mustAppend(t, l, testBatch(2, 10, 5000), 1))
	checkContents(t, l, want)
}

func TestRead(t *testing.T) {
	fs := vfs.NewMem()
	// Small segments and index interval so reads cross segments and index entries.
	l := openLog(t, fs, Options{SegmentBytes: 1000, IndexIntervalBytes: 200})
	var batches []appended
	for i := range 30 {
		batches = append(batches, mustAppend(t, l, testBatch(3, 20+i, int64(i)), 0))
	}
	size := len(batches[0].bytes) // batch sizes grow by 3 bytes per batch
	if n := len(segmentFiles(t, fs, logExt)); n < 5 {
		t.Fatalf("only %d segments; the test wants several", n)
	}
	// concat returns batches [i, j).
	concat := func(i, j int) []byte {
		var b []byte
		for _, a := range batches[i:j] {
			b = append(b, a.bytes...)
		}
		return b
	}
	end := l.EndOffset()
	for _, tc := range []struct {
		name      string
		offset    int64
		maxBytes  int
		maxOffset int64
		want      []byte
		wantErr   error
	}{
		{"first batch", 0, size, end, concat(0, 1), nil},
		{"inside a batch returns it whole", 4, len(batches[1].bytes), end, concat(1, 2), nil},
		{"last record of a batch", 5, len(batches[1].bytes), end, concat(1, 2), nil},
		{"first batch over maxBytes", 0, 1, end, concat(0, 1), nil},
		{"zero maxBytes still one batch", 30, 0, end, concat(10, 11), nil},
		{"exact fit of two", 0, len(concat(0, 2)), end, concat(0, 2), nil},
		{"one byte short of two", 0, len(concat(0, 2)) - 1, end, concat(0, 1), nil},
		{"across segments", 0, 1 << 20, end, concat(0, 30), nil},
		{"from a later segment", 45, 1 << 20, end, concat(15, 30), nil},
		{"maxOffset stops before a batch", 0, 1 << 20, 9, concat(0, 3), nil},
		{"maxOffset inside a batch includes it", 0, 1 << 20, 10, concat(0, 4), nil},
		{"maxOffset at offset", 6, 1 << 20, 6, nil, nil},
		{"at the end", end, 100, end + 10, nil, nil},
		{"past the end", end + 1, 100, end + 10, nil, ErrOffsetOutOfRange},
		{"negative", -1, 100, end, nil, ErrOffsetOutOfRange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := l.Read(tc.offset, tc.maxBytes, tc.maxOffset)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Read error %v, want %v", err, tc.wantErr)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("Read(%d, %d, %d) returned %d bytes, want %d", tc.offset, tc.maxBytes, tc.maxOffset, len(got), len(tc.want))
			}
		})
	}
}

// rollAppend is one append of TestRoll: a batch timestamp and an epoch.
type rollAppend struct {
	ts    int64
	epoch int32
}

func TestRoll(t *testing.T) {
	clock := &fakeClock{ms: 1_000_000}
	for _, tc := range []struct {
		name     string
		opts     Options
		appends  []rollAppend
		advance  int64 // clock step before each append
		segments int
	}{
		{
			name:     "size",
			opts:     Options{SegmentBytes: 300},
			appends:  []rollAppend{{1, 0}, {1, 0}, {1, 0}, {1, 0}},
			segments: 4, // each batch is over 150 bytes
		},
		{
			name:     "epoch change",
			appends:  []rollAppend{{1, 0}, {1, 0}, {1, 1}, {1, 1}, {1, 3}},
			segments: 3,
		},
		{
			name:     "batch timestamps past SegmentMs",
			opts:     Options{SegmentMs: 100},
			appends:  []rollAppend{{1000, 0}, {1100, 0}, {1101, 0}, {1150, 0}, {1300, 0}},
			segments: 3,
		},
		{
			name:     "clock past SegmentMs without timestamps",
			opts:     Options{SegmentMs: 100},
			appends:  []rollAppend{{-1, 0}, {-1, 0}, {-1, 0}},
			advance:  60,
			segments: 2,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := vfs.NewMem()
			tc.opts.Now = clock.now
			l := openLog(t, fs, tc.opts)
			var want []appended
			for _, a := range tc.appends {
				clock.ms += tc.advance
				want = append(want, mustAppend(t, l, testBatch(2, 50, a.ts), a.epoch))
			}
			if got := len(segmentFiles(t, fs, logExt)); got != tc.segments {
				t.Fatalf("%d segments, want %d", got, tc.segments)
			}
			checkContents(t, l, want)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			checkContents(t, openLog(t, fs, tc.opts), want)
		})
	}
}

func TestEmptySegmentTakesEpochInsteadOfRolling(t *testing.T) {
	fs := vfs.NewMem()
	l := openLog(t, fs, Options{})
	if got := l.LatestEpoch(); got != -1 {
		t.Fatalf("LatestEpoch of an empty log = %d", got)
	}
	mustAppend(t, l, testBatch(1, 1, 1), 5)
	if got := len(segmentFiles(t, fs, logExt)); got != 1 {
		t.Fatalf("%d segments, want 1", got)
	}
	if got := l.LatestEpoch(); got != 5 {
		t.Fatalf("LatestEpoch = %d, want 5", got)
	}
}

func TestEndOffsetForEpoch(t *testing.T) {
	l := openLog(t, vfs.NewMem(), Options{SegmentBytes: 300})
	if e, off := l.EndOffsetForEpoch(3); e != -1 || off != -1 {
		t.Fatalf("empty log: (%d, %d), want (-1, -1)", e, off)
	}
	// Epoch 2: offsets 0-5 (three segments by size), epoch 4: 6-9, epoch 7: 10-11.
	for _, epoch := range []int32{2, 2, 2, 4, 4, 7} {
		mustAppend(t, l, testBatch(2, 50, 1), epoch)
	}
	for _, tc := range []struct {
		epoch, wantEpoch int32
		wantEnd          int64
	}{
		{1, 1, 0},   // below the first epoch: Kafka answers (requested, first start)
		{2, 2, 6},   // start of epoch 4
		{3, 2, 6},   // largest epoch <= 3 is 2
		{4, 4, 10},  // start of epoch 7
		{6, 4, 10},  // largest epoch <= 6 is 4
		{7, 7, 12},  // latest epoch: the end offset
		{99, 7, 12}, // above the latest: the end offset
	} {
		e, off := l.EndOffsetForEpoch(tc.epoch)
		if e != tc.wantEpoch || off != tc.wantEnd {
			t.Errorf("EndOffsetForEpoch(%d) = (%d, %d), want (%d, %d)", tc.epoch, e, off, tc.wantEpoch, tc.wantEnd)
		}
	}
	if got := l.LatestEpoch(); got != 7 {
		t.Fatalf("LatestEpoch = %d, want 7", got)
	}
}

// TestOffsetForTimestamp compares the time-index lookup with a linear scan
// over the records appended, for random timestamps: batches and the
// records inside them are out of time order on purpose.
func TestOffsetForTimestamp(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fs := vfs.NewMem()
	l := openLog(t, fs, Options{SegmentBytes: 2000, IndexIntervalBytes: 150})
	type rec struct{ offset, ts int64 }
	var recs []rec
	for range 120 {
		base := 1000 + rng.Int64N(500)
		specs := make([]record.RecordSpec, 1+rng.IntN(3))
		for i := range specs {
			specs[i] = record.RecordSpec{Value: bytes.Repeat([]byte{'v'}, 10), TimestampDelta: rng.Int64N(40)}
		}
		a := mustAppend(t, l, record.Build(record.BatchSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, Timestamp: base, Records: specs}), 0)
		for i, sp := range specs {
			recs = append(recs, rec{a.base + int64(i), base + sp.TimestampDelta})
		}
	}
	if err := l.DeleteRecordsBefore(recs[7].offset); err != nil {
		t.Fatal(err)
	}
	start := l.StartOffset()
	oracle := func(ts int64) (int64, int64, bool) {
		for _, r := range recs {
			if r.offset >= start && r.ts >= ts {
				return r.offset, r.ts, true
			}
		}
		return 0, 0, false
	}
	check := func(l *Log) {
		for ts := int64(990); ts <= 1550; ts++ {
			off, rts, found, err := l.OffsetForTimestamp(ts)
			if err != nil {
				t.Fatal(err)
			}
			wantOff, wantTs, wantFound := oracle(ts)
			if off != wantOff || rts != wantTs || found != wantFound {
				t.Fatalf("OffsetForTimestamp(%d) = (%d, %d, %v), want (%d, %d, %v)", ts, off, rts, found, wantOff, wantTs, wantFound)
			}
		}
		ts, off, found, err := l.MaxTimestamp()
		want := rec{ts: -1}
		for _, r := range recs {
			if r.ts > want.ts {
				want = r
			}
		}
		if err != nil || !found || ts != want.ts || off != want.offset {
			t.Fatalf("MaxTimestamp = (%d, %d, %v, %v), want (%d, %d)", ts, off, found, err, want.ts, want.offset)
		}
	}
	check(l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	check(openLog(t, fs, Options{SegmentBytes: 2000, IndexIntervalBytes: 150}))
}

// TestScanHeadersGivesMarkers: a control batch reaches the scan callback
// with its bytes, so recovery can tell a commit from an abort.
func TestScanHeadersGivesMarkers(t *testing.T) {
	l := openLog(t, vfs.NewMem(), Options{SegmentBytes: 500, IndexIntervalBytes: 100})
	mustAppend(t, l, testBatch(2, 30, 1), 0)
	mustAppend(t, l, record.BuildControl(9, 0, false, 0, 2), 0)
	mustAppend(t, l, record.BuildControl(9, 0, true, 0, 3), 0)
	var kinds []string
	err := l.ScanHeaders(0, func(h record.Header, control []byte) bool {
		switch commit, err := record.MarkerType(control); {
		case !h.IsControl():
			kinds = append(kinds, "data")
		case err != nil:
			t.Errorf("marker at %d: %v", h.BaseOffset, err)
		case commit:
			kinds = append(kinds, "commit")
		default:
			kinds = append(kinds, "abort")
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(kinds, ","); got != "data,abort,commit" {
		t.Fatalf("scanned %s", got)
	}
}

func TestScanHeaders(t *testing.T) {
	l := openLog(t, vfs.NewMem(), Options{SegmentBytes: 500, IndexIntervalBytes: 100})
	var batches []appended
	for i := range 20 {
		batches = append(batches, mustAppend(t, l, testBatch(2, 30, int64(i)), 0))
	}
	for _, tc := range []struct {
		name  string
		from  int64
		stop  int // fn returns false after this many calls; 0 = never
		first int // index of the first batch expected
		count int
	}{
		{"all", 0, 0, 0, 20},
		{"from inside a batch", 7, 0, 3, 17},
		{"from a batch start", 8, 0, 4, 16},
		{"stop early", 0, 5, 0, 5},
		{"past the end", 100, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []int64
			err := l.ScanHeaders(tc.from, func(h record.Header, control []byte) bool {
				if control != nil {
					t.Errorf("data batch at %d came with control bytes", h.BaseOffset)
				}
				got = append(got, h.BaseOffset)
				return tc.stop == 0 || len(got) < tc.stop
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.count {
				t.Fatalf("scanned %d batches, want %d", len(got), tc.count)
			}
			for i, off := range got {
				if off != batches[tc.first+i].base {
					t.Fatalf("batch %d has base %d, want %d", i, off, batches[tc.first+i].base)
				}
			}
		})
	}
}

func TestDeleteRecordsBefore(t *testing.T) {
	fs := vfs.NewMem()
	opts := Options{SegmentBytes: 300}
	l := openLog(t, fs, opts)
	var batches []appended
	for range 6 {
		batches = append(batches, mustAppend(t, l, testBatch(2, 50, 1), 0))
	}
	if err := l.DeleteRecordsBefore(5); err != nil {
		t.Fatal(err)
	}
	if l.StartOffset() != 5 {
		t.Fatalf("StartOffset = %d, want 5", l.StartOffset())
	}
	// Segments [0,2) and [2,4) are gone; [4,6) holds offset 5 and stays.
	if got := segmentFiles(t, fs, logExt); len(got) != 4 || got[0] != segmentName(4, logExt) {
		t.Fatalf("segments %v", got)
	}
	if _, err := l.Read(4, 100, 100); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("Read below the start: %v", err)
	}
	b, err := l.Read(5, 1, 100)
	if err != nil || !bytes.Equal(b, batches[2].bytes) {
		t.Fatalf("Read(5) = %d bytes, %v; want the batch holding 5", len(b), err)
	}
	if err := l.DeleteRecordsBefore(3); err != nil {
		t.Fatalf("lower offset: %v", err)
	}
	if err := l.DeleteRecordsBefore(l.EndOffset() + 1); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("beyond the end: %v", err)
	}
	// Survives a crash.
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	l2 := openLog(t, fs.Crash(), opts)
	if l2.StartOffset() != 5 || l2.EndOffset() != 12 {
		t.Fatalf("after crash start %d end %d, want 5 and 12", l2.StartOffset(), l2.EndOffset())
	}
	// Deleting everything leaves the active segment but an empty range.
	if err := l2.DeleteRecordsBefore(12); err != nil {
		t.Fatal(err)
	}
	if b, err := l2.Read(12, 100, 100); err != nil || b != nil {
		t.Fatalf("Read at the end after deleting all: %d bytes, %v", len(b), err)
	}
}

func TestRetention(t *testing.T) {
	clock := &fakeClock{ms: 10_000}
	for _, tc := range []struct {
		name        string
		opts        Options
		wantDeleted int
		wantStart   int64
	}{
		{"unlimited", Options{RetentionBytes: -1, RetentionMs: -1}, 0, 0},
		// Five segments of one 175-byte batch each. Like Kafka, a segment goes
		// only when what remains is still at least RetentionBytes.
		{"by size", Options{RetentionBytes: 350, RetentionMs: -1}, 3, 6},
		{"by size, one byte more", Options{RetentionBytes: 351, RetentionMs: -1}, 2, 4},
		// Segments have max timestamps 1000..5000; older than 10000-6500=3500 go.
		{"by time", Options{RetentionMs: 6500, RetentionBytes: -1}, 3, 6},
		{"everything old, active stays", Options{RetentionMs: 1, RetentionBytes: -1}, 4, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := vfs.NewMem()
			tc.opts.SegmentBytes = 250
			tc.opts.Now = clock.now
			l := openLog(t, fs, tc.opts)
			for i := range 5 {
				mustAppend(t, l, testBatch(2, 50, int64(1000*(i+1))), 0)
			}
			n, err := l.ApplyRetention()
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.wantDeleted || l.StartOffset() != tc.wantStart {
				t.Fatalf("deleted %d, start %d; want %d, %d", n, l.StartOffset(), tc.wantDeleted, tc.wantStart)
			}
			if got := len(segmentFiles(t, fs, logExt)); got != 5-tc.wantDeleted {
				t.Fatalf("%d segments left, want %d", got, 5-tc.wantDeleted)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if l2 := openLog(t, fs, tc.opts); l2.StartOffset() != tc.wantStart {
				t.Fatalf("after reopen start %d, want %d", l2.StartOffset(), tc.wantStart)
			}
		})
	}
}

func TestSetOptionsChangesRetention(t *testing.T) {
	l := openLog(t, vfs.NewMem(), Options{SegmentBytes: 250, RetentionBytes: -1, RetentionMs: -1})
	for range 4 {
		mustAppend(t, l, testBatch(2, 50, 1), 0)
	}
	if n, _ := l.ApplyRetention(); n != 0 {
		t.Fatalf("deleted %d with unlimited retention", n)
	}
	l.SetOptions(Options{SegmentBytes: 250, RetentionBytes: 1, RetentionMs: -1})
	if n, err := l.ApplyRetention(); n != 3 || err != nil {
		t.Fatalf("deleted %d (%v), want 3", n, err)
	}
}

func TestTruncateTo(t *testing.T) {
	for _, tc := range []struct {
		name    string
		offset  int64
		keep    int   // batches kept
		wantEnd int64 // EndOffset after
	}{
		{"at the end is a no-op", 40, 20, 40},
		{"inside the last batch", 39, 19, 38},
		{"at a batch start", 20, 10, 20},
		{"inside a batch drops it whole", 21, 10, 20},
		{"at a segment start", 8, 4, 8},
		{"to the first offset", 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := vfs.NewMem()
			opts := Options{SegmentBytes: 600, IndexIntervalBytes: 100}
			l := openLog(t, fs, opts)
			var batches []appended
			for i := range 20 {
				batches = append(batches, mustAppend(t, l, testBatch(2, 40, int64(100+i)), int32(i/8)))
			}
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			if err := l.TruncateTo(tc.offset); err != nil {
				t.Fatal(err)
			}
			if l.EndOffset() != tc.wantEnd || l.SyncedOffset() > tc.wantEnd {
				t.Fatalf("EndOffset %d SyncedOffset %d, want end %d", l.EndOffset(), l.SyncedOffset(), tc.wantEnd)
			}
			want := batches[:tc.keep]
			checkContents(t, l, want)
			if ts, _, found, _ := l.MaxTimestamp(); tc.keep > 0 && (!found || ts != want[len(want)-1].maxTs) {
				t.Fatalf("MaxTimestamp %d after truncation, want %d", ts, want[len(want)-1].maxTs)
			}
			// Appending continues at the new end, and all of it survives a crash
			// once synced.
			want = append(want, mustAppend(t, l, testBatch(1, 40, 999), 9))
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			l2 := openLog(t, fs.Crash(), opts)
			checkContents(t, l2, want)
			if e := l2.LatestEpoch(); e != 9 {
				t.Fatalf("LatestEpoch %d, want 9", e)
			}
		})
	}
}

func TestTruncateBelowStartRestarts(t *testing.T) {
	fs := vfs.NewMem()
	l := openLog(t, fs, Options{})
	for range 3 {
		mustAppend(t, l, testBatch(2, 10, 1), 0)
	}
	if err := l.DeleteRecordsBefore(4); err != nil {
		t.Fatal(err)
	}
	if err := l.TruncateTo(2); err != nil {
		t.Fatal(err)
	}
	if l.StartOffset() != 2 || l.EndOffset() != 2 {
		t.Fatalf("start %d end %d, want 2 2", l.StartOffset(), l.EndOffset())
	}
	a := mustAppend(t, l, testBatch(1, 10, 1), 3)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openLog(t, fs, Options{})
	if l2.StartOffset() != 2 {
		t.Fatalf("start after reopen %d", l2.StartOffset())
	}
	checkContents(t, l2, []appended{a})
}

func TestDiskFull(t *testing.T) {
	fs := vfs.NewMem()
	l := openLog(t, fs, Options{})
	want := []appended{mustAppend(t, l, testBatch(2, 10, 1), 0)}
	fs.SetFull(true)
	if _, err := l.Append(testBatch(2, 10, 1), 0); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append on a full disk: %v", err)
	}
	fs.SetFull(false)
	want = append(want, mustAppend(t, l, testBatch(2, 10, 1), 0))
	checkContents(t, l, want)
}

func TestAppendRejectsMalformed(t *testing.T) {
	l := openLog(t, vfs.NewMem(), Options{})
	b := testBatch(1, 10, 1)
	for _, bad := range [][]byte{b[:30], b[:len(b)-1], append(bytes.Clone(b), 0)} {
		if _, err := l.Append(bad, 0); !errors.Is(err, record.ErrCorrupt) {
			t.Fatalf("Append of %d bytes: %v", len(bad), err)
		}
	}
	if l.EndOffset() != 0 {
		t.Fatalf("EndOffset moved to %d", l.EndOffset())
	}
}

// TestConcurrentReadersAndSyncers runs reads, syncs and appends together
// (meant for -race): readers must only ever see whole valid batches.
func TestConcurrentReadersAndSyncers(t *testing.T) {
	l := openLog(t, vfs.NewMem(), Options{SegmentBytes: 4000, IndexIntervalBytes: 300})
	const appends = 300
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 8)
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				end := l.EndOffset()
				if end == 0 {
					continue
				}
				off := rand.Int64N(end)
				b, err := l.Read(off, 2000, end)
				if err != nil {
					errs <- err
					return
				}
				batches, err := record.Split(b)
				if err != nil || len(batches) == 0 {
					errs <- errors.New("Read returned no whole batches")
					return
				}
				for _, batch := range batches {
					if _, err := record.Validate(batch); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := l.Sync(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range appends {
		if _, err := l.Append(testBatch(1+i%4, 30, int64(i)), 0); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if l.SyncedOffset() != l.EndOffset() {
		t.Fatalf("SyncedOffset %d after Sync, EndOffset %d", l.SyncedOffset(), l.EndOffset())
	}
}
