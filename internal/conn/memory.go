package conn

import (
	"context"
	"sync"
	"sync/atomic"
)

// requestMemory bounds the bytes held by request frames that have been read
// but not yet answered, across every connection of a server (Kafka's
// queued.max.request.bytes). A frame's buffer is reserved before its body is
// read, so a client announcing large frames it never sends, or pipelining
// requests it never reads answers to, cannot pin unbounded memory: readers
// wait until earlier requests are answered.
//
// Every request passes through it, from every connection, so the common case
// (the budget has room) is one compare-and-swap; the mutex and condition
// variable are only used by readers that must wait.
type requestMemory struct {
	used    atomic.Int64
	waiters atomic.Int32
	limit   int64

	mu   sync.Mutex
	cond *sync.Cond
}

func newRequestMemory(limit int64) *requestMemory {
	m := &requestMemory{limit: limit}
	m.cond = sync.NewCond(&m.mu)
	return m
}

// tryAcquire reserves n bytes if they fit. A reservation larger than the
// limit is granted when nothing else is held, so one maximal frame always
// fits.
func (m *requestMemory) tryAcquire(n int64) bool {
	for {
		used := m.used.Load()
		if used > 0 && used+n > m.limit {
			return false
		}
		if m.used.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// acquire reserves n bytes, waiting while that would exceed the limit. It
// returns false if ctx ends first.
func (m *requestMemory) acquire(ctx context.Context, n int64) bool {
	if m.tryAcquire(n) {
		return true
	}
	// Announce the wait before the last check under mu: a release either
	// sees the waiter and broadcasts under mu, or happened before the check.
	m.waiters.Add(1)
	defer m.waiters.Add(-1)
	stop := context.AfterFunc(ctx, func() {
		m.mu.Lock()
		m.cond.Broadcast()
		m.mu.Unlock()
	})
	defer stop()
	m.mu.Lock()
	defer m.mu.Unlock()
	for !m.tryAcquire(n) {
		if ctx.Err() != nil {
			return false
		}
		m.cond.Wait()
	}
	if ctx.Err() != nil {
		m.used.Add(-n)
		return false
	}
	return true
}

// release returns n reserved bytes.
func (m *requestMemory) release(n int64) {
	m.used.Add(-n)
	if m.waiters.Load() > 0 {
		m.mu.Lock()
		m.cond.Broadcast()
		m.mu.Unlock()
	}
}
