package conn

import (
	"context"
	"sync"
)

// requestMemory bounds the bytes held by request frames that have been read
// but not yet answered, across every connection of a server (Kafka's
// queued.max.request.bytes). A frame's buffer is reserved before its body is
// read, so a client announcing large frames it never sends, or pipelining
// requests it never reads answers to, cannot pin unbounded memory: readers
// wait until earlier requests are answered.
type requestMemory struct {
	mu    sync.Mutex
	cond  *sync.Cond
	used  int64
	limit int64
}

func newRequestMemory(limit int64) *requestMemory {
	m := &requestMemory{limit: limit}
	m.cond = sync.NewCond(&m.mu)
	return m
}

// acquire reserves n bytes, waiting while that would exceed the limit. A
// reservation larger than the limit is granted when nothing else is held, so
// one maximal frame always fits. It returns false if ctx ends first.
func (m *requestMemory) acquire(ctx context.Context, n int64) bool {
	stop := context.AfterFunc(ctx, func() {
		m.mu.Lock()
		m.cond.Broadcast()
		m.mu.Unlock()
	})
	defer stop()
	m.mu.Lock()
	defer m.mu.Unlock()
	for m.used > 0 && m.used+n > m.limit {
		if ctx.Err() != nil {
			return false
		}
		m.cond.Wait()
	}
	if ctx.Err() != nil {
		return false
	}
	m.used += n
	return true
}

// release returns n reserved bytes.
func (m *requestMemory) release(n int64) {
	m.mu.Lock()
	m.used -= n
	m.mu.Unlock()
	m.cond.Broadcast()
}
