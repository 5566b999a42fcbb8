package storage

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/samsa-broker/samsa/internal/record"
	"github.com/samsa-broker/samsa/internal/storage/vfs"
)

// TestCrashKeepsExactlySyncedBatches appends and syncs at random points
// across segment rolls, crashes the in-memory FS, and checks that reopening
// yields exactly the batches covered by the last Sync, then that appending
// continues at the right offset.
func TestCrashKeepsExactlySyncedBatches(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		fs := vfs.NewMem()
		opts := Options{SegmentBytes: int64(300 + rng.IntN(2000)), IndexIntervalBytes: 50 + rng.IntN(500)}
		l := openLog(t, fs, opts)
		var all []appended
		synced := 0
		for i := range 40 + rng.IntN(40) {
			all = append(all, mustAppend(t, l, testBatch(1+rng.IntN(4), rng.IntN(100), int64(i)), int32(i/30)))
			if rng.IntN(5) == 0 {
				if err := l.Sync(); err != nil {
					t.Fatal(err)
				}
				synced = len(all)
				if l.SyncedOffset() != l.EndOffset() {
					t.Fatalf("seed %d: SyncedOffset %d, EndOffset %d after Sync", seed, l.SyncedOffset(), l.EndOffset())
				}
			}
		}
		crashed := fs.Crash()
		l2 := openLog(t, crashed, opts)
		checkContents(t, l2, all[:synced])
		next := mustAppend(t, l2, testBatch(2, 10, 1), 5)
		if synced > 0 && next.base != all[synced-1].last+1 {
			t.Fatalf("seed %d: appending resumed at %d, want %d", seed, next.base, all[synced-1].last+1)
		}
		if err := l2.Sync(); err != nil {
			t.Fatal(err)
		}
		checkContents(t, openLog(t, crashed.Crash(), opts), append(all[:synced:synced], next))
	}
}

// logCapture collects log output so tests can check that recovery warned.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *logCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func TestTornTailIsTruncated(t *testing.T) {
	valid := testBatch(3, 40, 1)
	record.SetBaseOffset(valid, 15) // what the next batch would get
	wrongOffset := bytes.Clone(valid)
	record.SetBaseOffset(wrongOffset, 3)
	for _, tc := range []struct {
		name     string
		tail     []byte // appended to the last segment's .log
		flipLast bool   // corrupt a byte of the last good batch too
		keep     int
		prealloc bool // tail: zeros up to the next preallocChunk boundary
	}{
		{"nothing torn", nil, false, 5, false},
		{"partial batch", valid[:100], false, 5, false},
		{"partial header", valid[:20], false, 5, false},
		{"zeros", make([]byte, 4096), false, 5, false},
		{"zeros then garbage", append(make([]byte, 4096), "xx"...), false, 5, false},
		{"preallocated zeros", nil, false, 5, true},
		{"garbage", []byte("this is not a record batch at all, not even close"), false, 5, false},
		{"valid batch after garbage is dropped too", append([]byte("xx"), valid...), false, 5, false},
		{"batch with an offset going backwards", wrongOffset, false, 5, false},
		{"a whole valid batch survives", valid, false, 6, false},
		{"corrupt last batch", nil, true, 4, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := vfs.NewMem()
			opts := Options{IndexIntervalBytes: 100}
			l := openLog(t, fs, opts)
			var want []appended
			for range 5 {
				want = append(want, mustAppend(t, l, testBatch(3, 40, 1), 0))
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			name := seg(0, logExt)
			if tc.flipLast {
				b := readFileBytes(t, fs, name)
				b[len(b)-1] ^= 0xff
				writeFile(t, fs, name, b)
			}
			if tc.prealloc {
				size, err := fs.Stat(name)
				if err != nil {
					t.Fatal(err)
				}
				tc.tail = make([]byte, preallocChunk-size%preallocChunk)
			}
			appendToFile(t, fs, name, tc.tail)
			var logs logCapture
			opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			l2 := openLog(t, fs, opts)
			if tc.keep == 6 {
				want = append(want, appended{base: 15, last: 17, bytes: valid})
			}
			want = want[:tc.keep]
			checkContents(t, l2, want)
			// Preallocated space is dropped without a warning; other zeros
			// (say, unsynced blocks after a power loss) are warned about.
			zeros := tc.prealloc
			torn := len(tc.tail) > 0 && tc.keep == 5 && !zeros || tc.flipLast
			if got := strings.Contains(logs.String(), "truncating"); got != torn {
				t.Fatalf("warned about truncation: %v, want %v; log:\n%s", got, torn, logs.String())
			}
			if got := strings.Contains(logs.String(), "dropping zeros"); got != zeros {
				t.Fatalf("reported dropped zeros: %v, want %v; log:\n%s", got, zeros, logs.String())
			}
			wantSize := int64(0)
			for _, a := range want {
				wantSize += int64(len(a.bytes))
			}
			if l2.Size() != wantSize {
				t.Fatalf("Size %d, want %d", l2.Size(), wantSize)
			}
			want = append(want, mustAppend(t, l2, testBatch(1, 5, 2), 0))
			if err := l2.Close(); err != nil {
				t.Fatal(err)
			}
			checkContents(t, openLog(t, fs, opts), want)
		})
	}
}

func TestIndexRebuild(t *testing.T) {
	for _, tc := range []struct {
		name    string
		segment int64 // base of the segment whose index is damaged
		damage  func(t *testing.T, fs vfs.FS, base int64)
	}{
		{"offset index missing", 0, func(t *testing.T, fs vfs.FS, base int64) { removeFile(t, fs, seg(base, indexExt)) }},
		{"time index missing", 0, func(t *testing.T, fs vfs.FS, base int64) { removeFile(t, fs, seg(base, timeIndexExt)) }},
		{"active offset index missing", -1, func(t *testing.T, fs vfs.FS, base int64) { removeFile(t, fs, seg(base, indexExt)) }},
		{"garbage offset index", 0, func(t *testing.T, fs vfs.FS, base int64) {
			writeFile(t, fs, seg(base, indexExt), bytes.Repeat([]byte{0xab, 0, 0, 1}, 10))
		}},
		{"last entry points at the wrong offset", 0, func(t *testing.T, fs vfs.FS, base int64) {
			b := readFileBytes(t, fs, seg(base, indexExt))
			rel := binary.BigEndian.Uint32(b[len(b)-8:])
			binary.BigEndian.PutUint32(b[len(b)-8:], rel+1)
			writeFile(t, fs, seg(base, indexExt), b)
		}},
		{"torn trailing entry", -1, func(t *testing.T, fs vfs.FS, base int64) {
			b := readFileBytes(t, fs, seg(base, indexExt))
			writeFile(t, fs, seg(base, indexExt), b[:len(b)-3])
		}},
		{"entry beyond the log", 0, func(t *testing.T, fs vfs.FS, base int64) {
			appendToFile(t, fs, seg(base, indexExt), []byte{0, 0, 1, 0, 0x7f, 0, 0, 0})
		}},
		{"time index going backwards", 0, func(t *testing.T, fs vfs.FS, base int64) {
			appendToFile(t, fs, seg(base, timeIndexExt), make([]byte, 12))
		}},
		{"time index beyond the segment", 0, func(t *testing.T, fs vfs.FS, base int64) {
			var e []byte
			e = appendTimeEntry(e, timeEntry{ts: 1 << 50, rel: 1 << 20})
			appendToFile(t, fs, seg(base, timeIndexExt), e)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := vfs.NewMem()
			opts := Options{SegmentBytes: 3000, IndexIntervalBytes: 100}
			l := openLog(t, fs, opts)
			var want []appended
			rng := rand.New(rand.NewPCG(3, 4))
			for i := range 40 {
				want = append(want, mustAppend(t, l, testBatch(2, 30, 1000+rng.Int64N(100)+int64(i)), 0))
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			base := tc.segment
			if base < 0 {
				logs := segmentFiles(t, fs, logExt)
				base, _, _ = parseSegmentName(logs[len(logs)-1])
			}
			original := map[string][]byte{}
			for _, ext := range []string{indexExt, timeIndexExt} {
				original[ext] = readFileBytes(t, fs, seg(base, ext))
			}
			if len(original[indexExt]) < 16 {
				t.Fatalf("segment %d has too few index entries for the test", base)
			}
			tc.damage(t, fs, base)
			l2 := openLog(t, fs, opts)
			checkContents(t, l2, want)
			for _, a := range want {
				off, _, found, err := l2.OffsetForTimestamp(a.maxTs)
				if err != nil || !found || off > a.base {
					t.Fatalf("OffsetForTimestamp(%d) = %d, %v, %v; want <= %d", a.maxTs, off, found, err, a.base)
				}
			}
			if err := l2.Close(); err != nil {
				t.Fatal(err)
			}
			for ext, b := range original {
				if got := readFileBytes(t, fs, seg(base, ext)); !bytes.Equal(got, b) {
					t.Fatalf("%s rebuilt as %x, want %x", ext, got, b)
				}
			}
		})
	}
}

// TestCorruptMiddleSegment damages a batch inside a non-last segment whose
// index must be rebuilt: that segment is cut there, later segments stay.
func TestCorruptMiddleSegment(t *testing.T) {
	fs := vfs.NewMem()
	opts := Options{SegmentBytes: 1000}
	l := openLog(t, fs, opts)
	var want []appended
	for range 15 {
		want = append(want, mustAppend(t, l, testBatch(2, 50, 1), 0))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	b := readFileBytes(t, fs, seg(0, logExt))
	second := len(want[0].bytes)
	b[second+record.HeaderSize+3] ^= 1 // inside the second batch's records
	writeFile(t, fs, seg(0, logExt), b)
	removeFile(t, fs, seg(0, indexExt))
	var logs logCapture
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	l2 := openLog(t, fs, opts)
	if !strings.Contains(logs.String(), "truncating") {
		t.Fatalf("no truncation warning:\n%s", logs.String())
	}
	got := readAllBatches(t, l2)
	// Segment 0 keeps its first batch; the rest of it is gone.
	var rest []appended
	for _, a := range want {
		if a.base >= l2.segments[1].base {
			rest = append(rest, a)
		}
	}
	if len(got) != 1+len(rest) || !bytes.Equal(got[0], want[0].bytes) || !bytes.Equal(got[1], rest[0].bytes) {
		t.Fatalf("read %d batches, want %d", len(got), 1+len(rest))
	}
	if l2.EndOffset() != want[len(want)-1].last+1 {
		t.Fatalf("EndOffset %d", l2.EndOffset())
	}
	// A read from inside the hole starts at the next segment.
	hole := want[1].base
	r, err := l2.Read(hole, 1, l2.EndOffset())
	if err != nil || !bytes.Equal(r, rest[0].bytes) {
		t.Fatalf("Read in the hole: %d bytes, %v", len(r), err)
	}
}

func TestStrayFilesRemoved(t *testing.T) {
	fs := vfs.NewMem()
	l := openLog(t, fs, Options{})
	want := []appended{mustAppend(t, l, testBatch(1, 1, 1), 0)}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, fs, seg(500, indexExt), nil)
	writeFile(t, fs, testDir+"/"+checkpointName+".tmp", []byte("junk"))
	l2 := openLog(t, fs, Options{})
	checkContents(t, l2, want)
	names, _ := fs.ReadDir(testDir)
	for _, n := range names {
		if strings.HasPrefix(n, segmentName(500, "")) || strings.HasSuffix(n, ".tmp") {
			t.Fatalf("stray file %s left", n)
		}
	}
}

func removeFile(t *testing.T, fs vfs.FS, name string) {
	t.Helper()
	if err := fs.Remove(name); err != nil {
		t.Fatal(err)
	}
}

// fuzzSeedBatches is three valid batches back to back, the seed the
// recovery fuzz targets mutate.
func fuzzSeedBatches() []byte {
	var good []byte
	for i := range 3 {
		b := testBatch(i+1, 10, int64(i))
		record.SetBaseOffset(b, int64(len(good)))
		good = append(good, b...)
	}
	return good
}

// FuzzRecover writes arbitrary bytes as the only segment file. Open must
// not panic or fail; the recovered log must read back as valid batches with
// increasing offsets that cover [StartOffset, EndOffset), and must accept
// appends afterwards.
func FuzzRecover(f *testing.F) {
	good := fuzzSeedBatches()
	f.Add(good)
	f.Add(append(bytes.Clone(good), 1, 2, 3))
	f.Add(good[:len(good)-5])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		fs := vfs.NewMem()
		if err := fs.MkdirAll(testDir); err != nil {
			t.Fatal(err)
		}
		writeFile(t, fs, seg(0, logExt), data)
		l, err := Open(testDir, Options{FS: fs, IndexIntervalBytes: 64})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer l.Close()
		batches := readAllBatches(t, l) // validates every batch
		next := l.StartOffset()
		for _, b := range batches {
			h, _ := record.ParseHeader(b)
			if h.BaseOffset < next {
				t.Fatalf("batch offset %d below %d", h.BaseOffset, next)
			}
			next = h.NextOffset()
		}
		if next != l.EndOffset() {
			t.Fatalf("batches end at %d, EndOffset %d", next, l.EndOffset())
		}
		if err := l.ScanHeaders(0, func(record.Header, []byte) bool { return true }); err != nil {
			t.Fatalf("ScanHeaders: %v", err)
		}
		if _, err := l.Append(testBatch(1, 1, 1), 0); err != nil {
			t.Fatalf("Append after recovery: %v", err)
		}
	})
}

// TestEmptyLastSegmentPastEndRemoved: a rolled, empty last segment whose
// predecessor lost its tail would leave a hole; appends go on after the
// predecessor instead.
func TestEmptyLastSegmentPastEndRemoved(t *testing.T) {
	fs := vfs.NewMem()
	l := openLog(t, fs, Options{})
	var want []appended
	for range 3 {
		want = append(want, mustAppend(t, l, testBatch(2, 10, 1), 0))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, fs, seg(100, logExt), nil)
	l2 := openLog(t, fs, Options{})
	if l2.EndOffset() != 6 {
		t.Fatalf("EndOffset %d, want 6", l2.EndOffset())
	}
	want = append(want, mustAppend(t, l2, testBatch(1, 10, 1), 0))
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}
	checkContents(t, openLog(t, fs, Options{}), want)
	if got := segmentFiles(t, fs, logExt); len(got) != 1 {
		t.Fatalf("segments %v, want one", got)
	}
}
