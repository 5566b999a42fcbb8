package storage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/samsa-broker/samsa/internal/storage/vfs"
)

// TestReadWithSparseIndex reads a log whose index is sparser than the
// current IndexIntervalBytes promises (the setting was lowered), so Read
// must read past its lookahead.
func TestReadWithSparseIndex(t *testing.T) {
	l := openLog(t, vfs.NewMem(), Options{IndexIntervalBytes: 3000})
	var batches []appended
	for i := range 60 {
		batches = append(batches, mustAppend(t, l, testBatch(2, 20, int64(i)), 0))
	}
	l.SetOptions(Options{IndexIntervalBytes: 10})
	for _, a := range batches {
		for off := a.base; off <= a.last; off++ {
			got, err := l.Read(off, 1, l.EndOffset())
			if err != nil || !bytes.Equal(got, a.bytes) {
				t.Fatalf("Read(%d) = %d bytes, %v; want the batch at %d", off, len(got), err, a.base)
			}
		}
	}
}

func TestOSFilesAndDelete(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "topic-0")
	l, err := Open(dir, Options{SegmentBytes: 500})
	if err != nil {
		t.Fatal(err)
	}
	if l.Dir() != dir {
		t.Fatalf("Dir = %q", l.Dir())
	}
	var want []appended
	for range 5 {
		want = append(want, mustAppend(t, l, testBatch(2, 100, 1), 0))
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err = Open(dir, Options{SegmentBytes: 500})
	if err != nil {
		t.Fatal(err)
	}
	checkContents(t, l, want)
	if f, ok := l.segments[0].log.(vfs.OSFiler); !ok || f.OSFile() == nil {
		t.Fatal("OS segment files should expose *os.File")
	}
	if err := l.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("directory still there: %v", err)
	}
}

// TestStartBeyondRecoveredEnd: DeleteRecordsBefore(end) was durable but the
// appends before it were not; reopening must not resurrect lower offsets.
func TestStartBeyondRecoveredEnd(t *testing.T) {
	fs := vfs.NewMem()
	l := openLog(t, fs, Options{})
	for range 3 {
		mustAppend(t, l, testBatch(2, 10, 1), 0)
	}
	if err := l.DeleteRecordsBefore(6); err != nil {
		t.Fatal(err)
	}
	l2 := openLog(t, fs.Crash(), Options{}) // the appends were never synced
	if l2.StartOffset() != 6 || l2.EndOffset() != 6 {
		t.Fatalf("start %d end %d, want 6 6", l2.StartOffset(), l2.EndOffset())
	}
	a := mustAppend(t, l2, testBatch(1, 10, 1), 0)
	if a.base != 6 {
		t.Fatalf("appended at %d, want 6", a.base)
	}
}
