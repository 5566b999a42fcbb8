package storage

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/samsa-broker/samsa/internal/record"
	"github.com/samsa-broker/samsa/internal/storage/vfs"
)

const testDir = "/data/topic-0"

// fakeClock is a settable clock for Options.Now.
type fakeClock struct{ ms int64 }

func (c *fakeClock) now() time.Time { return time.UnixMilli(c.ms) }

// testBatch builds an uncompressed batch of n records with value size
// valueSize, all with timestamp ts.
func testBatch(n, valueSize int, ts int64) []byte {
	recs := make([]record.RecordSpec, n)
	for i := range recs {
		recs[i] = record.RecordSpec{Value: bytes.Repeat([]byte{byte('a' + i%26)}, valueSize)}
	}
	return record.Build(record.BatchSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, Timestamp: ts, Records: recs})
}

// appended is what the test model remembers of an appended batch.
type appended struct {
	base, last int64
	maxTs      int64
	epoch      int32
	bytes      []byte // as stored, after stamping
}

func openLog(t testing.TB, fs vfs.FS, opts Options) *Log {
	t.Helper()
	opts.FS = fs
	l, err := Open(testDir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func mustAppend(t testing.TB, l *Log, batch []byte, epoch int32) appended {
	t.Helper()
	want := l.EndOffset()
	base, err := l.Append(batch, epoch)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if base != want {
		t.Fatalf("Append assigned %d, want EndOffset %d", base, want)
	}
	h, err := record.Validate(batch)
	if err != nil {
		t.Fatalf("stamped batch invalid: %v", err)
	}
	if h.BaseOffset != base || h.PartitionLeaderEpoch != epoch {
		t.Fatalf("batch stamped with offset %d epoch %d, want %d %d", h.BaseOffset, h.PartitionLeaderEpoch, base, epoch)
	}
	return appended{base: base, last: h.LastOffset(), maxTs: h.MaxTimestamp, epoch: epoch, bytes: bytes.Clone(batch)}
}

// readAllBatches reads the whole log through Read and checks every batch.
func readAllBatches(t testing.TB, l *Log) [][]byte {
	t.Helper()
	var out [][]byte
	for off := l.StartOffset(); off < l.EndOffset(); {
		b, err := l.Read(off, 1<<20, l.EndOffset())
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		batches, err := record.Split(b)
		if err != nil || len(batches) == 0 {
			t.Fatalf("Read(%d) returned %d bytes that split into %d batches: %v", off, len(b), len(batches), err)
		}
		for _, batch := range batches {
			h, err := record.Validate(batch)
			if err != nil {
				t.Fatalf("Read(%d) returned an invalid batch: %v", off, err)
			}
			off = h.NextOffset()
			out = append(out, batch)
		}
	}
	return out
}

// checkContents asserts that the log holds exactly want, in order.
func checkContents(t testing.TB, l *Log, want []appended) {
	t.Helper()
	got := readAllBatches(t, l)
	if len(got) != len(want) {
		t.Fatalf("log holds %d batches, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i].bytes) {
			t.Fatalf("batch %d differs from what was appended", i)
		}
	}
	wantEnd := l.StartOffset()
	if len(want) > 0 {
		wantEnd = want[len(want)-1].last + 1
	}
	if l.EndOffset() != wantEnd {
		t.Fatalf("EndOffset %d, want %d", l.EndOffset(), wantEnd)
	}
}

func segmentFiles(t testing.TB, fs vfs.FS, ext string) []string {
	t.Helper()
	names, err := fs.ReadDir(testDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		if filepath.Ext(n) == ext {
			out = append(out, n)
		}
	}
	return out
}

func writeFile(t testing.TB, fs vfs.FS, name string, data []byte) {
	t.Helper()
	f, err := fs.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(f.Sync(), f.Close(), fs.SyncDir(filepath.Dir(name))); err != nil {
		t.Fatal(err)
	}
}

func appendToFile(t testing.TB, fs vfs.FS, name string, data []byte) {
	t.Helper()
	f, err := fs.OpenAppend(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		t.Fatal(err)
	}
}

func readFileBytes(t testing.TB, fs vfs.FS, name string) []byte {
	t.Helper()
	f, err := fs.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size, _ := f.Size()
	b := make([]byte, size)
	if err := readFull(f, b, 0); err != nil && size > 0 {
		t.Fatal(err)
	}
	return b
}

func seg(base int64, ext string) string { return filepath.Join(testDir, segmentName(base, ext)) }

func describe(a []appended) string {
	var s string
	for _, x := range a {
		s += fmt.Sprintf("[%d-%d ts %d e %d] ", x.base, x.last, x.maxTs, x.epoch)
	}
	return s
}
