package vfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// TestConformance runs the same basic behaviour against every FS.
func TestConformance(t *testing.T) {
	for _, impl := range []struct {
		name string
		fs   FS
		root func(t *testing.T) string
	}{
		{"os", OS(), func(t *testing.T) string { return t.TempDir() }},
		{"mem", NewMem(), func(*testing.T) string { return "/data" }},
	} {
		t.Run(impl.name, func(t *testing.T) {
			fs, root := impl.fs, impl.root(t)
			dir := filepath.Join(root, "a", "b")
			must(t, fs.MkdirAll(dir))
			name := filepath.Join(dir, "f")
			f, err := fs.Create(name)
			must(t, err)
			write(t, f, "hello ")
			write(t, f, "world")
			must(t, f.Sync())
			if got := readAll(t, f); got != "hello world" {
				t.Fatalf("read %q", got)
			}
			must(t, f.Truncate(5))
			write(t, f, "!") // appends at the new end
			if got := readAll(t, f); got != "hello!" {
				t.Fatalf("after truncate read %q", got)
			}
			if size, err := fs.Stat(name); err != nil || size != 6 {
				t.Fatalf("Stat = %d, %v", size, err)
			}
			must(t, f.Close())

			ro, err := fs.Open(name)
			must(t, err)
			if _, err := ro.Write([]byte("x")); err == nil {
				t.Fatal("write to a read-only file succeeded")
			}
			must(t, ro.Close())

			must(t, fs.Rename(name, filepath.Join(dir, "g")))
			names, err := fs.ReadDir(dir)
			must(t, err)
			if !slices.Equal(names, []string{"g"}) {
				t.Fatalf("ReadDir = %v", names)
			}
			if _, err := fs.Stat(name); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("Stat of renamed file: %v", err)
			}
			if _, err := fs.OpenAppend(name); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("OpenAppend of missing file: %v", err)
			}
			if _, err := fs.Create(filepath.Join(root, "missing", "f")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("Create in a missing dir: %v", err)
			}
			must(t, fs.SyncDir(dir))
			must(t, fs.Remove(filepath.Join(dir, "g")))
			must(t, fs.RemoveAll(filepath.Join(root, "a")))
			if _, err := fs.ReadDir(dir); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("ReadDir after RemoveAll: %v", err)
			}
		})
	}
}

func TestOSFileExposesOSFile(t *testing.T) {
	f, err := OS().Create(filepath.Join(t.TempDir(), "f"))
	must(t, err)
	defer f.Close()
	if of, ok := f.(OSFiler); !ok || of.OSFile() == nil {
		t.Fatal("OS file does not expose *os.File")
	}
}

func TestMemCrash(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(t *testing.T, m *MemFS)
		want map[string]string // surviving files and contents
	}{
		{
			name: "unsynced dir loses everything",
			do: func(t *testing.T, m *MemFS) {
				must(t, m.MkdirAll("/d"))
				f := create(t, m, "/d/f")
				write(t, f, "x")
				must(t, f.Sync())
			},
			want: map[string]string{},
		},
		{
			name: "synced entry keeps synced contents only",
			do: func(t *testing.T, m *MemFS) {
				must(t, m.MkdirAll("/d"))
				must(t, m.SyncDir("/"))
				f := create(t, m, "/d/f")
				must(t, m.SyncDir("/d"))
				write(t, f, "durable")
				must(t, f.Sync())
				write(t, f, " lost")
			},
			want: map[string]string{"/d/f": "durable"},
		},
		{
			name: "entry synced but contents never",
			do: func(t *testing.T, m *MemFS) {
				f := create(t, m, "/f")
				write(t, f, "lost")
				must(t, m.SyncDir("/"))
			},
			want: map[string]string{"/f": ""},
		},
		{
			name: "truncate after sync keeps synced bytes",
			do: func(t *testing.T, m *MemFS) {
				f := create(t, m, "/f")
				write(t, f, "abcdef")
				must(t, f.Sync())
				must(t, m.SyncDir("/"))
				must(t, f.Truncate(2))
				write(t, f, "XY")
			},
			want: map[string]string{"/f": "abcdef"},
		},
		{
			name: "rename needs a dir sync",
			do: func(t *testing.T, m *MemFS) {
				f := create(t, m, "/tmp")
				write(t, f, "v1")
				must(t, f.Sync())
				must(t, m.SyncDir("/"))
				must(t, m.Rename("/tmp", "/final"))
			},
			want: map[string]string{"/tmp": "v1"},
		},
		{
			name: "rename then dir sync",
			do: func(t *testing.T, m *MemFS) {
				f := create(t, m, "/tmp")
				write(t, f, "v1")
				must(t, f.Sync())
				must(t, m.Rename("/tmp", "/final"))
				must(t, m.SyncDir("/"))
			},
			want: map[string]string{"/final": "v1"},
		},
		{
			name: "remove without dir sync resurrects",
			do: func(t *testing.T, m *MemFS) {
				f := create(t, m, "/f")
				write(t, f, "v")
				must(t, f.Sync())
				must(t, m.SyncDir("/"))
				must(t, m.Remove("/f"))
			},
			want: map[string]string{"/f": "v"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMem()
			tc.do(t, m)
			crashed := m.Crash()
			got := map[string]string{}
			var walk func(dir string)
			walk = func(dir string) {
				names, err := crashed.ReadDir(dir)
				must(t, err)
				for _, n := range names {
					p := filepath.Join(dir, n)
					f, err := crashed.Open(p)
					if err != nil { // a directory
						walk(p)
						continue
					}
					got[p] = readAll(t, f)
				}
			}
			walk("/")
			if len(got) != len(tc.want) {
				t.Fatalf("after crash %v, want %v", got, tc.want)
			}
			for name, contents := range tc.want {
				if got[name] != contents {
					t.Fatalf("after crash %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestMemFull(t *testing.T) {
	m := NewMem()
	f := create(t, m, "/f")
	m.SetFull(true)
	if _, err := f.Write([]byte("x")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write on a full disk: %v", err)
	}
	m.SetFull(false)
	write(t, f, "x")
	if got := readAll(t, f); got != "x" {
		t.Fatalf("read %q", got)
	}
}

func TestMemClosedFile(t *testing.T) {
	m := NewMem()
	f := create(t, m, "/f")
	must(t, f.Close())
	if _, err := f.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if err := f.Close(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("second close: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func create(t *testing.T, fs FS, name string) File {
	t.Helper()
	f, err := fs.Create(name)
	must(t, err)
	return f
}

func write(t *testing.T, f File, s string) {
	t.Helper()
	if _, err := f.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

func readAll(t *testing.T, f File) string {
	t.Helper()
	size, err := f.Size()
	must(t, err)
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return string(buf)
}

// OS files zero-fill ahead of small appends in aligned chunks, report the
// data's end as their size, and cut the zeros off on Trim and Close.
func TestOSFilePreallocates(t *testing.T) {
	const chunk = 64 << 10
	name := filepath.Join(t.TempDir(), "f")
	f, err := OS().Create(name)
	must(t, err)
	p, ok := f.(Preallocator)
	if !ok {
		t.Fatal("OS file is not a Preallocator")
	}
	p.Preallocate(chunk)
	onDisk := func() int64 {
		t.Helper()
		size, err := OS().Stat(name)
		must(t, err)
		return size
	}
	size := func() int64 {
		t.Helper()
		n, err := f.Size()
		must(t, err)
		return n
	}
	write(t, f, "hello ")
	if got := onDisk(); got != chunk {
		t.Fatalf("file is %d bytes after a small append, want %d (one zero-filled chunk)", got, chunk)
	}
	if got := size(); got != 6 {
		t.Fatalf("Size = %d, want 6 (the data, not the zeros)", got)
	}
	big := make([]byte, chunk+100) // at least a chunk: written as it is
	for i := range big {
		big[i] = 'x'
	}
	write(t, f, string(big))
	write(t, f, "world")
	want := "hello " + string(big) + "world"
	if got := size(); got != int64(len(want)) {
		t.Fatalf("Size = %d, want %d", got, len(want))
	}
	if got := onDisk(); got != 2*chunk {
		t.Fatalf("file is %d bytes, want %d (filled to the next chunk boundary)", got, 2*chunk)
	}
	buf := make([]byte, 3*chunk)
	n, _ := f.ReadAt(buf, 0)
	if string(buf[:len(want)]) != want || n != 2*chunk {
		t.Fatalf("read %d bytes, data intact: %v", n, string(buf[:len(want)]) == want)
	}
	for _, c := range buf[len(want):n] {
		if c != 0 {
			t.Fatal("the space past the data is not zeros")
		}
	}

	must(t, f.Truncate(6))
	write(t, f, "again")
	if got := size(); got != 11 {
		t.Fatalf("Size after truncate and append = %d, want 11", got)
	}
	must(t, p.Trim())
	if got := onDisk(); got != 11 {
		t.Fatalf("file is %d bytes after Trim, want 11", got)
	}
	write(t, f, "!")
	if got := onDisk(); got != chunk {
		t.Fatalf("file is %d bytes after another append, want %d", got, chunk)
	}
	must(t, f.Close())
	if got := onDisk(); got != 12 {
		t.Fatalf("file is %d bytes after Close, want 12", got)
	}

	// Reopened, the file appends at its (trimmed) end.
	f, err = OS().OpenAppend(name)
	must(t, err)
	write(t, f, "?")
	if got := readAll(t, f); got != "hello again!?" {
		t.Fatalf("after reopening read %q", got)
	}
	must(t, f.Close())
}
