package conn

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestRequestMemory(t *testing.T) {
	m := newRequestMemory(100)
	ctx := context.Background()
	if !m.acquire(ctx, 60) || !m.acquire(ctx, 40) {
		t.Fatal("reservations within the limit must not wait")
	}
	got := make(chan bool)
	go func() { got <- m.acquire(ctx, 10) }()
	select {
	case <-got:
		t.Fatal("a reservation over the limit did not wait")
	case <-time.After(50 * time.Millisecond):
	}
	m.release(60)
	if !<-got {
		t.Fatal("waiting reservation failed after a release")
	}
	// One frame larger than the whole budget fits when nothing else is held.
	m.release(50)
	if !m.acquire(ctx, 500) {
		t.Fatal("an oversized reservation must be granted when alone")
	}
	// A waiting reservation gives up when its context ends.
	cctx, cancel := context.WithCancel(ctx)
	go func() { got <- m.acquire(cctx, 1) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if <-got {
		t.Fatal("reservation granted after cancellation while over the limit")
	}
}

// Many readers sharing a small budget never hold more than it together and
// never stall: every release wakes the waiters that now fit.
func TestRequestMemoryConcurrent(t *testing.T) {
	const limit = 1000
	m := newRequestMemory(limit)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error)
	for g := range 8 {
		go func() {
			for i := range 2000 {
				n := int64(1 + (g*31+i*17)%400)
				if !m.acquire(ctx, n) {
					done <- ctx.Err()
					return
				}
				if used := m.used.Load(); used > limit {
					done <- fmt.Errorf("%d bytes reserved, limit %d", used, limit)
					return
				}
				m.release(n)
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if used := m.used.Load(); used != 0 {
		t.Fatalf("%d bytes still reserved after every release", used)
	}
}
