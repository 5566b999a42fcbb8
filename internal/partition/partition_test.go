package partition

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samsa-broker/samsa/internal/record"
	"github.com/samsa-broker/samsa/internal/storage"
	"github.com/samsa-broker/samsa/internal/storage/vfs"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func testConfig(fsync FsyncPolicy) Config {
	return Config{
		Storage:         storage.Options{SegmentBytes: 1 << 20, IndexIntervalBytes: 4096, RetentionBytes: -1, RetentionMs: -1},
		MaxMessageBytes: 1 << 20,
		Fsync:           fsync,
	}
}

func batch(pid int64, epoch int16, seq int32, values ...string) []byte {
	var recs []record.RecordSpec
	for _, v := range values {
		recs = append(recs, record.RecordSpec{Value: []byte(v)})
	}
	return record.Build(record.BatchSpec{ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq,
		Timestamp: time.Now().UnixMilli(), Records: recs})
}

func open(t *testing.T, fs vfs.FS, fsync FsyncPolicy) *Partition {
	t.Helper()
	p, err := Open(fs, "/data/t-0", "t", 0, testConfig(fsync), discard)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAppendIdempotence(t *testing.T) {
	p := open(t, vfs.NewMem(), FsyncNever)
	defer p.Close()
	steps := []struct {
		name     string
		batch    []byte
		wantBase int64
		wantErr  error
		wantDup  bool
	}{
		{"first", batch(7, 0, 0, "a", "b"), 0, nil, false},
		{"retry of first", batch(7, 0, 0, "a", "b"), 0, nil, true},
		{"next", batch(7, 0, 2, "c"), 2, nil, false},
		{"gap", batch(7, 0, 9, "x"), 0, ErrOutOfOrderSequence, false},
		{"stale epoch", batch(7, -1, 3, "x"), 0, ErrInvalidEpoch, false},
		{"new epoch must start at 0", batch(7, 1, 3, "x"), 0, ErrOutOfOrderSequence, false},
		{"new epoch", batch(7, 1, 0, "d"), 3, nil, false},
		{"old epoch now fenced", batch(7, 0, 3, "x"), 0, ErrInvalidEpoch, false},
		{"unknown producer at any sequence (KIP-360)", batch(8, 0, 5, "x"), 4, nil, false},
		{"its next sequence", batch(8, 0, 6, "y"), 5, nil, false},
		{"plain batch", batch(-1, -1, -1, "e", "f"), 6, nil, false},
	}
	for _, st := range steps {
		res, err := p.Append(st.batch)
		if !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: err %v, want %v", st.name, err, st.wantErr)
		}
		if err == nil && (res.BaseOffset != st.wantBase || res.Duplicate != st.wantDup) {
			t.Fatalf("%s: base %d dup %v, want %d %v", st.name, res.BaseOffset, res.Duplicate, st.wantBase, st.wantDup)
		}
	}
	if hwm := p.HighWatermark(); hwm != 8 {
		t.Fatalf("high watermark %d, want 8", hwm)
	}
}

// TestAppendRefusesImpossibleClientBatches: batches whose CRC matches but
// whose counts no client may send get INVALID_RECORD, as Kafka's
// LogValidator gives them, and leave the log as it was.
func TestAppendRefusesImpossibleClientBatches(t *testing.T) {
	p := open(t, vfs.NewMem(), FsyncNever)
	defer p.Close()
	// patch rewrites a header field of a good batch and fixes its CRC.
	patch := func(b []byte, at int, v int32) []byte {
		b = append([]byte(nil), b...)
		binary.BigEndian.PutUint32(b[at:], uint32(v))
		binary.BigEndian.PutUint32(b[17:], record.Checksum(b))
		return b
	}
	const lastOffsetDelta, recordCount, baseSequence = 23, 57, 53
	for _, tc := range []struct {
		name    string
		batch   []byte
		wantErr error
	}{
		{"negative last offset delta", patch(batch(-1, -1, -1, "a"), lastOffsetDelta, -5), ErrInvalidRecord},
		{"delta beyond the records", patch(batch(-1, -1, -1, "a"), lastOffsetDelta, 3), ErrInvalidRecord},
		{"no records", patch(batch(-1, -1, -1, "a"), recordCount, 0), ErrInvalidRecord},
		{"producer id without a sequence", patch(batch(9, 0, 0, "a"), baseSequence, -1), ErrInvalidRecord},
		{"damaged bytes", func() []byte { b := batch(-1, -1, -1, "a"); b[len(b)-1] ^= 1; return b }(), ErrCorruptBatch},
	} {
		if _, err := p.Append(tc.batch); !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.wantErr)
		}
	}
	res, err := p.Append(batch(-1, -1, -1, "ok"))
	if err != nil || res.BaseOffset != 0 {
		t.Fatalf("good batch after the refused ones: base %d err %v", res.BaseOffset, err)
	}
}

func TestAppendRejectsBadBatches(t *testing.T) {
	p := open(t, vfs.NewMem(), FsyncNever)
	defer p.Close()
	corrupt := batch(-1, -1, -1, "hello")
	corrupt[len(corrupt)-1] ^= 1
	old := batch(-1, -1, -1, "x")
	old[16] = 1 // magic 1
	big := record.Build(record.BatchSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
		Records: []record.RecordSpec{{Value: make([]byte, 2<<20)}}})
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"crc", corrupt, ErrCorruptBatch},
		{"truncated", batch(-1, -1, -1, "x")[:40], ErrCorruptBatch},
		{"empty", nil, ErrCorruptBatch},
		{"magic 1", old, ErrUnsupportedFormat},
		{"too large", big, ErrBatchTooLarge},
		{"transactional without producer", record.Build(record.BatchSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, Transactional: true,
			Records: []record.RecordSpec{{Value: []byte("t")}}}), ErrInvalidRecord},
		{"control batch from a producer", record.BuildControl(1, 0, true, 0, 0), ErrInvalidRecord},
	} {
		if _, err := p.Append(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
	if p.LogEndOffset() != 0 {
		t.Fatalf("rejected batches were stored: end offset %d", p.LogEndOffset())
	}
}

// A crash loses the clean-shutdown snapshot; producer state must be rebuilt
// from the synced log so a retried batch is still recognised.
func TestDedupSurvivesCrash(t *testing.T) {
	mem := vfs.NewMem()
	p := open(t, mem, FsyncAlways)
	for seq := int32(0); seq < 10; seq += 2 {
		if _, err := p.Append(batch(3, 0, seq, "a", "b")); err != nil {
			t.Fatal(err)
		}
		if err := p.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	crashed := mem.Crash()
	p.Close()
	for _, name := range []string{"after crash", "after clean restart"} {
		q := open(t, crashed, FsyncAlways)
		res, err := q.Append(batch(3, 0, 8, "a", "b"))
		if err != nil || !res.Duplicate || res.BaseOffset != 8 {
			t.Fatalf("%s: retry got base %d dup %v err %v, want base 8 dup", name, res.BaseOffset, res.Duplicate, err)
		}
		if _, err := q.Append(batch(3, 0, 11, "x")); !errors.Is(err, ErrOutOfOrderSequence) {
			t.Fatalf("%s: gap after restart: err %v", name, err)
		}
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// The cleaner may remove a producer's latest batches (superseded by another
// producer's records) while an older one stays: after a crash, the producer
// state must still be the latest, from the snapshot taken when the segment
// rolled, not go back to the older batch.
func TestProducerStateSurvivesCompactionAndCrash(t *testing.T) {
	mem := vfs.NewMem()
	cfg := testConfig(FsyncAlways)
	cfg.Storage.SegmentBytes = 1 // every batch starts a segment
	cfg.Compaction = Compaction{Enabled: true, Clean: true}
	p, err := Open(mem, "/data/t-0", "t", 0, cfg, discard)
	if err != nil {
		t.Fatal(err)
	}
	keyed := func(pid int64, seq int32, key string) []byte {
		return record.Build(record.BatchSpec{ProducerID: pid, ProducerEpoch: 0, BaseSequence: seq,
			Timestamp: time.Now().UnixMilli(), Records: []record.RecordSpec{{Key: []byte(key), Value: []byte("v")}}})
	}
	for _, b := range [][]byte{
		keyed(3, 0, "kept"),  // producer 3's batch that stays
		keyed(3, 1, "taken"), // producer 3's latest two, superseded below
		keyed(3, 2, "taken"),
		keyed(4, 0, "taken"),
		keyed(4, 1, "last"), // the active segment
	} {
		if _, err := p.Append(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Sync(); err != nil {
		t.Fatal(err)
	}
	stats, err := p.Compact(time.Now())
	if err != nil || stats.RecordsRemoved != 2 {
		t.Fatalf("compaction: %+v, %v; want producer 3's two records removed", stats, err)
	}
	crashed := mem.Crash()
	p.Close()
	q, err := Open(crashed, "/data/t-0", "t", 0, cfg, discard)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if res, err := q.Append(keyed(3, 2, "taken")); err != nil || !res.Duplicate || res.BaseOffset != 2 {
		t.Fatalf("retry of producer 3's removed latest batch: base %d dup %v err %v, want a duplicate at 2", res.BaseOffset, res.Duplicate, err)
	}
	if _, err := q.Append(keyed(3, 3, "next")); err != nil {
		t.Fatalf("producer 3's next batch after the crash: %v", err)
	}
}

func TestFsyncAlwaysHidesUnsyncedData(t *testing.T) {
	p := open(t, vfs.NewMem(), FsyncAlways)
	defer p.Close()
	res, err := p.Append(batch(-1, -1, -1, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if p.HighWatermark() != 0 {
		t.Fatalf("unsynced data visible: hwm %d", p.HighWatermark())
	}
	if r, err := p.Read(0, 1<<20, ReadUncommitted); err != nil || len(r.Records) != 0 {
		t.Fatalf("read of unsynced data: %d bytes, err %v", len(r.Records), err)
	}
	if err := p.WaitVisible(t.Context(), res.LastOffset+1); err != nil {
		t.Fatal(err)
	}
	if p.HighWatermark() != 1 {
		t.Fatalf("hwm %d after sync, want 1", p.HighWatermark())
	}
}

func TestWaiterNotifiedByAppend(t *testing.T) {
	p := open(t, vfs.NewMem(), FsyncNever)
	defer p.Close()
	notified := make(chan int, 4)
	w := NewWaiter(func(n int) { notified <- n })
	if p.Watch(w, 0) {
		t.Fatal("watch of an empty partition reports data")
	}
	defer p.Unwatch(w)
	select {
	case n := <-notified:
		t.Fatalf("notified (%d bytes) before any append", n)
	default:
	}
	b := batch(-1, -1, -1, "a")
	if _, err := p.Append(b); err != nil {
		t.Fatal(err)
	}
	// Notify runs on the appending goroutine, before Append returns.
	select {
	case n := <-notified:
		if n != len(b) {
			t.Fatalf("notified of %d bytes, want %d", n, len(b))
		}
	default:
		t.Fatal("not notified by the append")
	}
	// Registering at an offset already below the high watermark says so.
	if !p.Watch(NewWaiter(func(int) {}), 0) {
		t.Fatal("watch below the high watermark did not report data")
	}
	p.Unwatch(w)
	if _, err := p.Append(batch(-1, -1, -1, "b")); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-notified:
		t.Fatalf("notified (%d bytes) after Unwatch", n)
	default:
	}
}

// Under FsyncAlways data becomes readable at the sync, by an amount the
// waiter is not told; closing the partition notifies too.
func TestWaiterNotifiedBySyncAndClose(t *testing.T) {
	p := open(t, vfs.NewMem(), FsyncAlways)
	notified := make(chan int, 4)
	w := NewWaiter(func(n int) { notified <- n })
	p.Watch(w, 0)
	if _, err := p.Append(batch(-1, -1, -1, "a")); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-notified:
		t.Fatalf("notified (%d bytes) before the data is durable", n)
	default:
	}
	if err := p.Sync(); err != nil {
		t.Fatal(err)
	}
	// Notifications run on the goroutine that advanced the high
	// watermark, so they have arrived when Sync and Close return.
	if n := receiveNow(t, notified, "sync"); n >= 0 {
		t.Fatalf("sync notified %d bytes, want unknown (negative)", n)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if n := receiveNow(t, notified, "close"); n >= 0 {
		t.Fatalf("close notified %d bytes, want unknown (negative)", n)
	}
}

func receiveNow(t *testing.T, ch <-chan int, what string) int {
	t.Helper()
	select {
	case n := <-ch:
		return n
	default:
		t.Fatalf("%s did not notify the waiter", what)
		return 0
	}
}

// Concurrent appenders may advance the high watermark out of order (the
// later append first); the waiter must still be told of every byte, or a
// fetch waiting for MinBytes would sit out its whole MaxWait.
func TestWaiterCountsConcurrentAppends(t *testing.T) {
	p := open(t, vfs.NewMem(), FsyncNever)
	defer p.Close()
	var notified atomic.Int64
	w := NewWaiter(func(n int) {
		if n < 0 {
			t.Errorf("append notified unknown bytes")
		}
		notified.Add(int64(n))
	})
	p.Watch(w, 0)
	defer p.Unwatch(w) // before Close, which notifies unknown bytes
	const appenders, each = 8, 500
	var appended atomic.Int64
	var wg sync.WaitGroup
	for range appenders {
		wg.Go(func() {
			for range each {
				b := batch(-1, -1, -1, "value")
				if _, err := p.Append(b); err != nil {
					t.Error(err)
					return
				}
				appended.Add(int64(len(b)))
			}
		})
	}
	wg.Wait()
	if got, want := notified.Load(), appended.Load(); got != want {
		t.Fatalf("waiter notified of %d bytes, %d were appended", got, want)
	}
	if hwm := p.HighWatermark(); hwm != appenders*each {
		t.Fatalf("high watermark %d, want %d", hwm, appenders*each)
	}
}

// A full disk fails the append with a storage error (Kafka:
// KAFKA_STORAGE_ERROR), stores nothing visible, and does not panic.
func TestDiskFull(t *testing.T) {
	mem := vfs.NewMem()
	p := open(t, mem, FsyncNever)
	defer p.Close()
	if _, err := p.Append(batch(-1, -1, -1, "ok")); err != nil {
		t.Fatal(err)
	}
	mem.SetFull(true)
	if _, err := p.Append(batch(-1, -1, -1, "lost")); !errors.Is(err, ErrStorage) {
		t.Fatalf("append on a full disk: err %v, want ErrStorage", err)
	}
	if hwm := p.HighWatermark(); hwm != 1 {
		t.Fatalf("high watermark %d after a failed append, want 1", hwm)
	}
	r, err := p.Read(0, 1<<20, ReadUncommitted)
	if err != nil {
		t.Fatal(err)
	}
	batches, _ := record.Split(r.Records)
	if len(batches) != 1 {
		t.Fatalf("read %d batches, want only the one stored before the disk filled", len(batches))
	}
}

// AppendCollecting defers notifications to Flush, one per waiter, with the
// bytes of every append it saw.
func TestAppendCollectingDefersNotifications(t *testing.T) {
	mem := vfs.NewMem()
	a := open(t, mem, FsyncNever)
	defer a.Close()
	b, err := Open(mem, "/data/t-1", "t", 1, testConfig(FsyncNever), discard)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var got []int
	w := NewWaiter(func(n int) { got = append(got, n) })
	a.Watch(w, 0)
	b.Watch(w, 0)
	var notes Notifications
	b1, b2 := batch(-1, -1, -1, "one"), batch(-1, -1, -1, "two")
	if _, err := a.AppendCollecting(b1, &notes); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AppendCollecting(b2, &notes); err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("notified %v before Flush", got)
	}
	notes.Flush()
	if len(got) != 1 || got[0] != len(b1)+len(b2) {
		t.Fatalf("notified %v, want one notification of %d bytes", got, len(b1)+len(b2))
	}
	notes.Flush()
	if len(got) != 1 {
		t.Fatalf("a second Flush notified again: %v", got)
	}
}

func txnBatch(pid int64, seq int32, values ...string) []byte {
	recs := make([]record.RecordSpec, len(values))
	for i, v := range values {
		recs[i] = record.RecordSpec{Value: []byte(v)}
	}
	return record.Build(record.BatchSpec{ProducerID: pid, ProducerEpoch: 0, BaseSequence: seq, Transactional: true, Records: recs})
}

// TestTransactionsBoundReadCommitted: an open transaction holds the last
// stable offset; markers release it; aborted ranges are reported to
// read_committed reads and survive a crash (rebuilt from the log) and a
// clean restart (from the snapshot).
func TestTransactionsBoundReadCommitted(t *testing.T) {
	mem := vfs.NewMem()
	p := open(t, mem, FsyncAlways)
	mustAppend := func(b []byte) {
		t.Helper()
		res, err := p.Append(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.WaitVisible(context.Background(), res.LastOffset+1); err != nil {
			t.Fatal(err)
		}
	}
	mustMarker := func(pid int64, commit bool) {
		t.Helper()
		off, err := p.WriteTxnMarker(pid, 0, commit, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.WaitVisible(context.Background(), off+1); err != nil {
			t.Fatal(err)
		}
	}
	mustAppend(batch(-1, -1, -1, "plain")) // 0
	mustAppend(txnBatch(5, 0, "a1", "a2")) // 1-2, producer 5 opens at 1
	mustAppend(txnBatch(6, 0, "b1"))       // 3, producer 6 opens at 3
	if hwm, lso, _ := p.Offsets(); hwm != 4 || lso != 1 {
		t.Fatalf("hwm %d lso %d, want 4 and 1", hwm, lso)
	}
	res, err := p.Read(0, 1<<20, ReadCommitted)
	if err != nil || countRecords(t, res.Records) != 1 {
		t.Fatalf("read_committed with open transactions: %d records, err %v", countRecords(t, res.Records), err)
	}
	mustMarker(5, false) // 4: abort
	if _, lso, _ := p.Offsets(); lso != 3 {
		t.Fatalf("lso after abort = %d, want 3", lso)
	}
	mustMarker(6, true) // 5: commit
	check := func(p *Partition, when string) {
		t.Helper()
		hwm, lso, _ := p.Offsets()
		if hwm != 6 || lso != 6 {
			t.Fatalf("%s: hwm %d lso %d, want 6 and 6", when, hwm, lso)
		}
		res, err := p.Read(0, 1<<20, ReadCommitted)
		if err != nil {
			t.Fatal(err)
		}
		want := []AbortedTxn{{ProducerID: 5, FirstOffset: 1, LastOffset: 4}}
		if !slices.Equal(res.Aborted, want) {
			t.Fatalf("%s: aborted %+v, want %+v", when, res.Aborted, want)
		}
		if got := p.AbortedIn(5, 6); len(got) != 0 {
			t.Fatalf("%s: aborted after the marker: %+v", when, got)
		}
	}
	check(p, "live")
	crashed := mem.Crash()
	p.Close()
	check(open(t, crashed, FsyncAlways), "after a crash")
	check(open(t, mem, FsyncAlways), "after a clean restart")
}

func countRecords(t *testing.T, b []byte) int {
	t.Helper()
	batches, err := record.Split(b)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, batch := range batches {
		h, _ := record.ParseHeader(batch)
		n += int(h.NumRecords)
	}
	return n
}
