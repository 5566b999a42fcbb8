package storage

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/samsa-broker/samsa/internal/storage/vfs"
)

// gatedFS counts fsyncs of .log files and can hold the first one until the
// test releases it.
type gatedFS struct {
	vfs.FS
	logSyncs atomic.Int32
	gateOnce sync.Once
	entered  chan struct{} // closed when the first .log fsync starts
	release  chan struct{} // the first .log fsync waits for it
	armed    atomic.Bool
}

type gatedFile struct {
	vfs.File
	fs *gatedFS
}

func (g *gatedFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(f.Name(), logExt) {
		return f, err
	}
	return &gatedFile{File: f, fs: g}, nil
}

func (g *gatedFS) Create(name string) (vfs.File, error)     { return g.wrap(g.FS.Create(name)) }
func (g *gatedFS) OpenAppend(name string) (vfs.File, error) { return g.wrap(g.FS.OpenAppend(name)) }

func (f *gatedFile) Sync() error {
	if f.fs.armed.Load() {
		f.fs.logSyncs.Add(1)
		first := false
		f.fs.gateOnce.Do(func() { first = true })
		if first {
			close(f.fs.entered)
			<-f.fs.release
		}
	}
	return f.File.Sync()
}

// TestGroupCommit holds one fsync while more batches are appended and more
// callers sync: the appends must not wait for the fsync, and all waiting
// callers must share a single second fsync.
func TestGroupCommit(t *testing.T) {
	fs := &gatedFS{FS: vfs.NewMem(), entered: make(chan struct{}), release: make(chan struct{})}
	l := openLog(t, fs, Options{})
	fs.armed.Store(true)
	mustAppend(t, l, testBatch(1, 10, 1), 0)
	first := make(chan error, 1)
	go func() { first <- l.Sync() }()
	<-fs.entered
	for range 5 {
		mustAppend(t, l, testBatch(1, 10, 1), 0) // not blocked by the fsync in flight
	}
	if l.SyncedOffset() != 0 {
		t.Fatalf("SyncedOffset %d while the first fsync is held", l.SyncedOffset())
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- l.Sync() })
	}
	close(fs.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := fs.logSyncs.Load(); got != 2 {
		t.Fatalf("%d fsyncs of the log, want 2 (one held, one shared by 8 callers)", got)
	}
	if l.SyncedOffset() != l.EndOffset() {
		t.Fatalf("SyncedOffset %d, EndOffset %d", l.SyncedOffset(), l.EndOffset())
	}
	if err := l.Sync(); err != nil || fs.logSyncs.Load() != 2 {
		t.Fatalf("a covered Sync fsynced again (%d) or failed: %v", fs.logSyncs.Load(), err)
	}
}
