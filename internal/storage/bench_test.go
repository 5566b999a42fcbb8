package storage

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchBatch is a 16 KiB batch of 1 KiB records, the shape of a typical
// producer batch.
func benchBatch() []byte { return testBatch(16, 1024-16, 1_700_000_000_000) }

// BenchmarkAppend measures Append on real files. Append must not allocate
// (beyond amortized index growth); run with -benchmem.
func BenchmarkAppend(b *testing.B) {
	for _, syncEvery := range []int{0, 16} {
		name := "nosync"
		if syncEvery > 0 {
			name = fmt.Sprintf("sync-every-%d", syncEvery)
		}
		b.Run(name, func(b *testing.B) {
			l, err := Open(b.TempDir(), Options{SegmentBytes: 64 << 20})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			batch := benchBatch()
			b.SetBytes(int64(len(batch)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := l.Append(batch, 0); err != nil {
					b.Fatal(err)
				}
				if syncEvery > 0 && i%syncEvery == syncEvery-1 {
					if err := l.Sync(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkRead measures 1 MiB fetches from random offsets of a 64 MiB log
// in the page cache.
func BenchmarkRead(b *testing.B) {
	l, err := Open(b.TempDir(), Options{SegmentBytes: 16 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	batch := benchBatch()
	for range (64 << 20) / len(batch) {
		if _, err := l.Append(batch, 0); err != nil {
			b.Fatal(err)
		}
	}
	end := l.EndOffset()
	rng := rand.New(rand.NewPCG(1, 1))
	b.ReportAllocs()
	b.ResetTimer()
	var total int64
	for b.Loop() {
		data, err := l.Read(rng.Int64N(end), 1<<20, end)
		if err != nil {
			b.Fatal(err)
		}
		total += int64(len(data))
	}
	b.SetBytes(total / int64(max(b.N, 1)))
}
