package conn

import (
	"context"
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
