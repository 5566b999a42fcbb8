package partition

import (
	"errors"
	"io"
	"log/slog"
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
		{"unknown producer mid-stream", batch(8, 0, 5, "x"), 0, ErrOutOfOrderSequence, false},
		{"plain batch", batch(-1, -1, -1, "e", "f"), 4, nil, false},
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
	if hwm := p.HighWatermark(); hwm != 6 {
		t.Fatalf("high watermark %d, want 6", hwm)
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
		{"transactional", record.Build(record.BatchSpec{ProducerID: 1, ProducerEpoch: 0, BaseSequence: 0, Transactional: true,
			Records: []record.RecordSpec{{Value: []byte("t")}}}), ErrTransactionalBatch},
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

func TestWaiterWokenByAppend(t *testing.T) {
	p := open(t, vfs.NewMem(), FsyncNever)
	defer p.Close()
	w := NewWaiter()
	p.Watch(w, 0)
	defer p.Unwatch(w)
	select {
	case <-w.C:
		t.Fatal("woken before any append")
	default:
	}
	if _, err := p.Append(batch(-1, -1, -1, "a")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.C:
	case <-time.After(5 * time.Second):
		t.Fatal("not woken by append")
	}
	// Registering at an offset already below the HWM wakes at once.
	w2 := NewWaiter()
	p.Watch(w2, 0)
	defer p.Unwatch(w2)
	select {
	case <-w2.C:
	default:
		t.Fatal("watch below the high watermark did not wake")
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
