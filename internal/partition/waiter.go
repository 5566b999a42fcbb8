package partition

// Waiter is notified when a partition it watches advances its high
// watermark. A long-polling fetch registers one Waiter with every partition
// it reads. Notify runs on the goroutine that advanced the high watermark
// (usually the appender), after the partition's locks are released, so a
// waiting fetch can be completed there without waking another goroutine, as
// Kafka completes delayed fetches from its purgatory.
type Waiter struct {
	notify func(appendedBytes int)
}

// unknownBytes is passed to waiters when the readable bytes did not change
// by a known amount (a sync under FsyncAlways, or the partition closing).
const unknownBytes = -1

// NewWaiter returns a Waiter that calls notify with the bytes just made
// readable (or a negative number when that is not known). notify must not
// block; it may run concurrently with itself for different partitions.
func NewWaiter(notify func(appendedBytes int)) *Waiter {
	return &Waiter{notify: notify}
}

// Watch registers w and reports whether the high watermark is already past
// offset (or the partition is closed): data may then have arrived since the
// caller last read, and it is not notified for that.
func (p *Partition) Watch(w *Waiter, offset int64) bool {
	p.hwmMu.Lock()
	defer p.hwmMu.Unlock()
	p.waiters[w] = struct{}{}
	return p.highWatermark.Load() > offset || p.closed.Load()
}

// Unwatch removes w.
func (p *Partition) Unwatch(w *Waiter) {
	p.hwmMu.Lock()
	delete(p.waiters, w)
	p.hwmMu.Unlock()
}

// Watchers is the number of registered waiters: the fetches waiting for
// this partition (Kafka's fetch purgatory size, per partition).
func (p *Partition) Watchers() int {
	p.hwmMu.Lock()
	defer p.hwmMu.Unlock()
	return len(p.waiters)
}

// waiterList copies the registered waiters; hwmMu must be held.
func (p *Partition) waiterList() []*Waiter {
	if len(p.waiters) == 0 {
		return nil
	}
	list := make([]*Waiter, 0, len(p.waiters))
	for w := range p.waiters {
		list = append(list, w)
	}
	return list
}

// Notifications collects the notifications of several appends (see
// AppendCollecting), one per waiter.
type Notifications struct {
	pending []notification
}

type notification struct {
	w     *Waiter
	bytes int
}

func (n *Notifications) add(w *Waiter, bytes int) {
	for i := range n.pending {
		if e := &n.pending[i]; e.w == w {
			if e.bytes < 0 || bytes < 0 {
				e.bytes = unknownBytes
			} else {
				e.bytes += bytes
			}
			return
		}
	}
	n.pending = append(n.pending, notification{w: w, bytes: bytes})
}

// Empty reports whether n holds no notification.
func (n *Notifications) Empty() bool { return len(n.pending) == 0 }

// Flush notifies the collected waiters and empties n.
func (n *Notifications) Flush() {
	pending := n.pending
	n.pending = nil
	for _, e := range pending {
		e.w.notify(e.bytes)
	}
}
