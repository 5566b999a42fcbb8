package conn

import (
	"errors"
	"math/bits"
	"sync"
	"syscall"
)

// Request frames are read into pooled buffers in power-of-two size classes
// from 4 KiB to 16 MiB; larger frames are allocated and dropped.
const (
	minClassShift = 12
	maxClassShift = 24
)

// bufferPools recycles request buffers by size class.
type bufferPools [maxClassShift - minClassShift + 1]sync.Pool

func classOf(n int) int {
	if n <= 1<<minClassShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minClassShift
}

func (pools *bufferPools) get(n int) *[]byte {
	c := classOf(n)
	if c >= len(pools) {
		b := make([]byte, n)
		return &b
	}
	if v, ok := pools[c].Get().(*[]byte); ok {
		*v = (*v)[:n]
		return v
	}
	b := make([]byte, n, 1<<(c+minClassShift))
	return &b
}

func (pools *bufferPools) put(b *[]byte) {
	if b == nil {
		return
	}
	c := classOf(cap(*b))
	if c >= len(pools) || cap(*b) != 1<<(c+minClassShift) {
		return
	}
	pools[c].Put(b)
}

func isConnReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
