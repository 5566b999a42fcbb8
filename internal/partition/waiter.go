package partition

// Waiter is woken when any partition it watches advances its high watermark.
// A long-polling fetch registers one Waiter with every partition it reads,
// then blocks on C until it is woken, times out or is cancelled.
type Waiter struct {
	C chan struct{}
}

// NewWaiter returns a Waiter ready to be registered.
func NewWaiter() *Waiter { return &Waiter{C: make(chan struct{}, 1)} }

func (w *Waiter) wake() {
	select {
	case w.C <- struct{}{}:
	default:
	}
}

// Watch registers w to be woken when the high watermark advances past
// offset. If it already has, w is woken at once so no append can be missed
// between a read and the registration.
func (p *Partition) Watch(w *Waiter, offset int64) {
	p.hwmMu.Lock()
	p.waiters[w] = struct{}{}
	if p.highWatermark.Load() > offset || p.closed.Load() {
		w.wake()
	}
	p.hwmMu.Unlock()
}

// Unwatch removes w.
func (p *Partition) Unwatch(w *Waiter) {
	p.hwmMu.Lock()
	delete(p.waiters, w)
	p.hwmMu.Unlock()
}
