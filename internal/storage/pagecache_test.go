package storage

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/samsa-broker/samsa/internal/storage/vfs"
)

// adviceFS wraps an FS so its files implement vfs.CacheManager and record
// every call, in order, across files.
type adviceFS struct {
	vfs.FS
	mu         sync.Mutex
	calls      []adviceCall
	violations []string      // advice given on a closed file
	dropDelay  time.Duration // how long DropCache takes, as a slow disk would
}

type adviceCall struct {
	op     string // "start" or "drop"
	name   string
	off, n int64
}

type adviceFile struct {
	vfs.File
	fs     *adviceFS
	closed bool
}

func (fs *adviceFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return &adviceFile{File: f, fs: fs}, nil
}

func (fs *adviceFS) Create(name string) (vfs.File, error)     { return fs.wrap(fs.FS.Create(name)) }
func (fs *adviceFS) OpenAppend(name string) (vfs.File, error) { return fs.wrap(fs.FS.OpenAppend(name)) }

func (f *adviceFile) record(op string, off, n int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		err := fmt.Errorf("%s on closed file %s", op, f.Name())
		f.fs.violations = append(f.fs.violations, err.Error())
		return err
	}
	f.fs.calls = append(f.fs.calls, adviceCall{op, f.Name(), off, n})
	return nil
}

func (f *adviceFile) StartWriteback(off, n int64) error { return f.record("start", off, n) }
func (f *adviceFile) DropCache(off, n int64) error {
	time.Sleep(f.fs.dropDelay) // before the check: an eviction under way while the file closes
	return f.record("drop", off, n)
}

func (f *adviceFile) Close() error {
	f.fs.mu.Lock()
	f.closed = true
	f.fs.mu.Unlock()
	return f.File.Close()
}

func (fs *adviceFS) snapshot() []adviceCall {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return slices.Clone(fs.calls)
}

func TestPageCacheWritesBackInChunksAndEvictsOldestFirst(t *testing.T) {
	fs := &adviceFS{FS: vfs.NewMem()}
	const chunk, limit = 16 << 10, 64 << 10
	pc := NewPageCache(limit, chunk, nil)
	opts := Options{PageCache: pc}
	opts.FS = fs
	a, err := Open("/data/a-0", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open("/data/b-0", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	var want [][]byte
	for i := range 100 {
		l := a
		if i%3 == 0 {
			l = b
		}
		batch := testBatch(4, 1000, int64(i))
		if l == a {
			want = append(want, batch)
		}
		if _, err := l.Append(batch, 0); err != nil {
			t.Fatal(err)
		}
		if c := pc.Cached(); c > limit {
			t.Fatalf("after append %d: %d bytes accounted as cached, limit %d", i, c, limit)
		}
	}

	calls := fs.snapshot()
	// Writeback of each file starts at 0 and covers contiguous ranges of at
	// least a chunk; drops happen in the order the chunks were started.
	next := map[string]int64{}
	var started []adviceCall
	drops := 0
	for _, c := range calls {
		switch c.op {
		case "start":
			if c.off != next[c.name] || c.n < chunk {
				t.Fatalf("writeback of %s [%d, +%d), want it to start at %d with at least %d bytes", c.name, c.off, c.n, next[c.name], chunk)
			}
			next[c.name] = c.off + c.n
			started = append(started, c)
		case "drop":
			if drops >= len(started) || started[drops].name != c.name || started[drops].off != c.off || started[drops].n != c.n {
				t.Fatalf("drop %d is %+v; chunks started in order: %+v", drops, c, started)
			}
			drops++
		}
	}
	if drops == 0 || len(started)-drops > limit/chunk {
		t.Fatalf("%d chunks started, %d dropped: want drops, and at most %d chunks cached", len(started), drops, limit/chunk)
	}
	// Data is untouched by the advice.
	got := readAllBatches(t, a)
	if len(got) != len(want) {
		t.Fatalf("read %d batches, appended %d", len(got), len(want))
	}
}

func TestPageCacheFlushesRolledSegmentsAndForgetsClosedOnes(t *testing.T) {
	fs := &adviceFS{FS: vfs.NewMem()}
	pc := NewPageCache(1<<30, 1<<20, nil) // large: nothing is evicted
	opts := Options{PageCache: pc, SegmentBytes: 10 << 10}
	opts.FS = fs
	l, err := Open(testDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		if _, err := l.Append(testBatch(2, 1000, int64(i)), 0); err != nil {
			t.Fatal(err)
		}
	}
	// Each rolled segment (below the 1 MiB chunk) was handed over whole.
	rolled := 0
	for _, c := range fs.snapshot() {
		if c.op == "start" {
			if c.off != 0 {
				t.Fatalf("rolled segment's writeback %+v does not start at 0", c)
			}
			rolled++
		}
	}
	if rolled < 2 {
		t.Fatalf("%d segments handed over at roll, want at least 2", rolled)
	}
	if pc.Cached() == 0 {
		t.Fatal("nothing accounted as cached after rolls")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if c := pc.Cached(); c != 0 {
		t.Fatalf("closed log still accounts %d cached bytes", c)
	}
}

func TestNewPageCacheOff(t *testing.T) {
	if NewPageCache(0, 0, nil) != nil || NewPageCache(-1, 0, nil) != nil {
		t.Fatal("a limit <= 0 must turn management off")
	}
	var pc *PageCache // nil is valid: appends through it do nothing
	l := openLog(t, &adviceFS{FS: vfs.NewMem()}, Options{PageCache: pc})
	mustAppend(t, l, testBatch(1, 10, 1), 0)
}

// Logs appending concurrently through one small budget, while others are
// closed and deleted, never advise a closed file and leave the accounting
// consistent.
func TestPageCacheConcurrentAppendsAndCloses(t *testing.T) {
	fs := &adviceFS{FS: vfs.NewMem(), dropDelay: 200 * time.Microsecond}
	const chunk, limit = 4 << 10, 32 << 10
	pc := NewPageCache(limit, chunk, nil)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for round := range 20 {
				opts := Options{PageCache: pc, SegmentBytes: 16 << 10, FS: fs}
				l, err := Open(fmt.Sprintf("/data/t%d-%d", g, round), opts)
				if err != nil {
					t.Error(err)
					return
				}
				// Each log alone outgrows the budget, so chunks are
				// evicted however the goroutines happen to interleave.
				for i := range 40 {
					if _, err := l.Append(testBatch(2, 1000, int64(i)), 0); err != nil {
						t.Error(err)
						return
					}
				}
				if round%2 == 0 {
					err = l.Delete()
				} else {
					err = l.Close()
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.violations) > 0 {
		t.Fatalf("%d pieces of advice on closed files, first: %s", len(fs.violations), fs.violations[0])
	}
	if c := pc.Cached(); c != 0 {
		t.Fatalf("%d bytes still accounted after every log closed", c)
	}
	drops := 0
	for _, c := range fs.calls {
		if c.op == "drop" {
			drops++
		}
	}
	if drops == 0 {
		t.Fatal("no chunk was ever evicted")
	}
}

// Truncating a segment forgets its accounted data beyond the cut, so data
// appended there again is not counted twice.
func TestPageCacheTruncateForgetsDataBeyondTheCut(t *testing.T) {
	fs := &adviceFS{FS: vfs.NewMem()}
	pc := NewPageCache(1<<30, 4<<10, nil)
	l := openLog(t, fs, Options{PageCache: pc})
	var ends []int64
	for i := range 20 {
		mustAppend(t, l, testBatch(2, 1000, int64(i)), 0)
		ends = append(ends, l.EndOffset())
	}
	before := pc.Cached()
	if before == 0 {
		t.Fatal("nothing accounted after 40 KB of appends")
	}
	if err := l.TruncateTo(ends[4]); err != nil {
		t.Fatal(err)
	}
	after := pc.Cached()
	if after > l.Size() {
		t.Fatalf("%d bytes accounted for a %d-byte log after truncation", after, l.Size())
	}
	for i := range 15 {
		mustAppend(t, l, testBatch(2, 1000, int64(100+i)), 0)
	}
	if c := pc.Cached(); c > l.Size() {
		t.Fatalf("%d bytes accounted for a %d-byte log after appending again", c, l.Size())
	}
}
