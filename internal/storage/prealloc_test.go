package storage

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// On the real filesystem the active segment keeps zeros ahead of its
// appends. A process crash (the files as they are while the log is open)
// loses no batch and recovery drops the zeros without a warning; a roll and
// a clean close leave each segment ending with its last batch.
func TestSegmentPreallocation(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	opts := Options{SegmentBytes: 100 << 10, IndexIntervalBytes: 4096}
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var want []appended
	for i := range 100 { // ~3 KB each: two rolls
		want = append(want, mustAppend(t, l, testBatch(3, 1000, int64(i)), 0))
	}
	files := logFiles(t, dir)
	if len(files) < 3 {
		t.Fatalf("%d segments, want at least 3", len(files))
	}
	var rolled int64
	for _, name := range files[:len(files)-1] {
		rolled += fileSize(t, name)
	}
	activeData := l.Size() - rolled
	if activeData <= 0 {
		t.Fatalf("rolled segments hold %d bytes of a %d-byte log: not trimmed", rolled, l.Size())
	}
	if got := fileSize(t, files[len(files)-1]); got <= activeData || got%preallocChunk != 0 {
		t.Fatalf("active segment file is %d bytes for %d bytes of data, want it zero-filled to a multiple of %d",
			got, activeData, preallocChunk)
	}

	crashed := filepath.Join(t.TempDir(), "t-0")
	copyDir(t, dir, crashed)
	var logs logCapture
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	l2, err := Open(crashed, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	checkContents(t, l2, want)
	if out := logs.String(); strings.Contains(out, "truncating") || !strings.Contains(out, "dropping zeros") {
		t.Fatalf("recovery of a preallocated tail logged:\n%s", out)
	}
	want = append(want, mustAppend(t, l2, testBatch(1, 10, 99), 0))
	checkContents(t, l2, want)

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := fileSize(t, files[len(files)-1]); got != activeData {
		t.Fatalf("active segment file is %d bytes after Close, want %d", got, activeData)
	}
}

func logFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+logExt))
	if err != nil {
		t.Fatal(err)
	}
	return names // sorted: segment names are zero-padded offsets
}

func fileSize(t *testing.T, name string) int64 {
	t.Helper()
	info, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}

// With NoPreallocate (the broker sets it for --fsync always) segment files
// hold only their data.
func TestNoPreallocate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	l, err := Open(dir, Options{NoPreallocate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 10 {
		mustAppend(t, l, testBatch(3, 1000, int64(i)), 0)
	}
	files := logFiles(t, dir)
	if got := fileSize(t, files[len(files)-1]); got != l.Size() {
		t.Fatalf("segment file is %d bytes for %d bytes of data", got, l.Size())
	}
}
