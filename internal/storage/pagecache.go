package storage

import (
	"log/slog"
	"slices"
	"sync"

	"github.com/samsa-broker/samsa/internal/storage/vfs"
)

// DefaultWritebackChunk is how much appended data a segment accumulates
// before its writeback is started.
const DefaultWritebackChunk = 4 << 20

// PageCache bounds how much recently appended segment data the logs sharing
// it leave in the kernel's page cache.
//
// Left alone, every appended byte stays in the page cache as a dirty page
// until the kernel's writeback timer (30 s) and then as a clean page until
// memory runs short, so the cache grows with the data written. Growing it is
// not free: each new page is memory the kernel has to find, and on virtual
// machines that return free memory to the host (free page reporting, as on
// Firecracker) every first touch of such a page costs a host fault, which
// measured here made buffered writes four to six times slower than writes
// into recycled pages. So the writer starts the writeback of each segment
// chunk as soon as the chunk is complete (sync_file_range, asynchronous),
// and once more than Limit bytes of chunks are cached the oldest are
// evicted (after their writeback finished). New appends then reuse the
// evicted pages. Tail readers — consumers within Limit bytes of the newest
// data, across all logs — still read from memory; readers further behind
// read from disk, as they would from any broker once the cache is full.
//
// A nil *PageCache leaves the page cache to the kernel (Kafka's behaviour).
// Files that do not implement vfs.CacheManager (the in-memory FS) are not
// managed.
//
// Locking: PageCache.mu guards the chunk queue only and is never held
// across a system call. Evicting waits for a chunk's writeback, so it runs
// outside mu, under the evicted segment's cacheMu, which the segment's close
// also takes (after dropping its chunks from the queue) so a file is never
// advised after it was closed. Both are leaf locks, taken with a Log's
// writeMu (and ioMu, when a segment is closed) held; a slow disk thus stalls
// only the appender whose turn it is to evict, not every partition.
type PageCache struct {
	limit  int64
	chunk  int64
	logger *slog.Logger

	mu     sync.Mutex
	chunks []cachedChunk // oldest first
	cached int64         // sum of chunks' n
}

type cachedChunk struct {
	seg  *segment
	file vfs.CacheManager
	off  int64
	n    int64
}

// NewPageCache returns a PageCache that keeps at most limit bytes of
// appended data cached, or nil (no management) when limit <= 0. chunk is the
// writeback granularity; 0 means DefaultWritebackChunk.
func NewPageCache(limit, chunk int64, logger *slog.Logger) *PageCache {
	if limit <= 0 {
		return nil
	}
	if chunk <= 0 {
		chunk = DefaultWritebackChunk
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &PageCache{limit: limit, chunk: min(chunk, limit), logger: logger}
}

// Cached returns the bytes of appended data currently accounted as cached.
func (c *PageCache) Cached() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cached
}

// appended is called by s's writer (Log.writeMu held) after s grew to size.
// Once a chunk's worth of data was written since the last call that acted,
// it starts that data's writeback and accounts it, evicting the oldest
// chunks beyond the limit. final flushes any remainder (the segment rolled).
func (c *PageCache) appended(s *segment, size int64, final bool) {
	if c == nil {
		return
	}
	if !final {
		// Chunks end on preallocation boundaries: eviction drops only
		// folios wholly inside its range, and the preallocated folios
		// are preallocChunk-aligned.
		size -= size % min(preallocChunk, c.chunk)
	}
	n := size - s.writebackPos
	if n <= 0 || (n < c.chunk && !final) {
		return
	}
	cm, ok := s.log.(vfs.CacheManager)
	if !ok {
		return
	}
	off := s.writebackPos
	s.writebackPos = size
	if err := cm.StartWriteback(off, n); err != nil {
		c.logger.Debug("start writeback", "segment", s.path, "err", err)
	}
	c.mu.Lock()
	c.chunks = append(c.chunks, cachedChunk{seg: s, file: cm, off: off, n: n})
	c.cached += n
	evict := 0
	for c.cached > c.limit && evict < len(c.chunks) {
		c.cached -= c.chunks[evict].n
		evict++
	}
	var victims []cachedChunk
	if evict > 0 {
		victims = slices.Clone(c.chunks[:evict])
		c.chunks = slices.Delete(c.chunks, 0, evict)
	}
	c.mu.Unlock()
	for _, v := range victims {
		v.seg.dropCache(v, c.logger)
	}
}

// dropCache evicts chunk ch of s unless s was closed meanwhile.
func (s *segment) dropCache(ch cachedChunk, logger *slog.Logger) {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if s.cacheClosed {
		return
	}
	if err := ch.file.DropCache(ch.off, ch.n); err != nil {
		logger.Debug("drop cached segment data", "segment", s.path, "err", err)
	}
}

// forgetFrom stops tracking s's data at and after position cut (the segment
// was truncated there); new data written there is accounted afresh.
func (c *PageCache) forgetFrom(s *segment, cut int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.chunks[:0]
	for _, ch := range c.chunks {
		if ch.seg == s && ch.off+ch.n > cut {
			keep := max(cut-ch.off, 0)
			c.cached -= ch.n - keep
			if keep == 0 {
				continue
			}
			ch.n = keep
		}
		kept = append(kept, ch)
	}
	clear(c.chunks[len(kept):])
	c.chunks = kept
}

// forget stops tracking s's chunks and waits for an eviction of one of them
// that is under way; called before s's file is closed.
func (c *PageCache) forget(s *segment) {
	if c == nil {
		return
	}
	c.forgetFrom(s, 0)
	s.cacheMu.Lock()
	s.cacheClosed = true
	s.cacheMu.Unlock()
}
