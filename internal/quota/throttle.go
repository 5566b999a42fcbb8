package quota

import (
	"sync"
	"time"
)

// Throttler enforces byte-rate quotas. Each bucket (Limit.Bucket) lets a
// burst of one window's worth of bytes through, then holds its clients to
// the limit: the throttle time returned is how long the client must wait
// for its bytes so far to fit the rate. Kafka measures the rate over
// quota.window.num samples of quota.window.size.seconds; a burst of one
// window followed by the steady rate is what a client sees of that too.
type Throttler struct {
	window, maxThrottle time.Duration
	now                 func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

// bucket is one quota's account: due is when the bytes recorded so far
// would have been sent at the limit (a GCRA "theoretical arrival time").
type bucket struct {
	limit float64
	due   time.Time
}

// NewThrottler returns a Throttler with a burst of window and throttle times
// of at most maxThrottle. now is the clock (time.Now outside tests).
func NewThrottler(window, maxThrottle time.Duration, now func() time.Time) *Throttler {
	return &Throttler{window: window, maxThrottle: maxThrottle, now: now, buckets: map[string]*bucket{}}
}

// Record charges n bytes to l's bucket and returns the throttle time.
func (t *Throttler) Record(l Limit, n int) time.Duration { return t.charge(l, n, true) }

// TryRecord charges n to l's bucket only if that leaves it unthrottled; it
// returns the throttle time charging would have caused, or 0 once charged.
// Connection rate quotas use it: a connection refused for its IP's rate is
// not counted, as Kafka un-records it.
func (t *Throttler) TryRecord(l Limit, n int) time.Duration { return t.charge(l, n, false) }

// charge adds n to l's bucket and returns the throttle time; when the
// charge throttles and always is false, it is not kept.
func (t *Throttler) charge(l Limit, n int, always bool) time.Duration {
	if !(l.Value > 0) {
		return 0
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bucketLocked(l, now)
	due := b.due.Add(time.Duration(float64(n) / l.Value * float64(time.Second)))
	wait := max(min(due.Sub(now)-t.window, t.maxThrottle), 0)
	if wait == 0 || always {
		b.due = due
	}
	return wait
}

// Refund takes back n charged to l's bucket by Record (a connection the
// broker-wide rate counted but a later check refused).
func (t *Throttler) Refund(l Limit, n int) {
	if !(l.Value > 0) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if b := t.buckets[l.Bucket]; b != nil && b.limit == l.Value {
		b.due = b.due.Add(-time.Duration(float64(n) / l.Value * float64(time.Second)))
	}
}

// Throttled returns the throttle time l's bucket owes now, charging nothing.
func (t *Throttler) Throttled(l Limit) time.Duration { return t.Record(l, 0) }

// bucketLocked returns l's bucket, its account brought up to now.
func (t *Throttler) bucketLocked(l Limit, now time.Time) *bucket {
	t.sweepLocked(now)
	b := t.buckets[l.Bucket]
	if b == nil || b.limit != l.Value {
		// A new or changed quota starts with a clean account.
		b = &bucket{limit: l.Value, due: now}
		t.buckets[l.Bucket] = b
	}
	if b.due.Before(now) {
		b.due = now
	}
	return b
}

// sweepLocked forgets buckets that owe nothing, once a minute, so per-client
// buckets of default quotas do not accumulate.
func (t *Throttler) sweepLocked(now time.Time) {
	if now.Sub(t.lastSweep) < time.Minute {
		return
	}
	t.lastSweep = now
	for k, b := range t.buckets {
		if b.due.Before(now) {
			delete(t.buckets, k)
		}
	}
}
