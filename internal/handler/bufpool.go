package handler

import (
	"math/bits"
	"sync"
)

// bufferPool recycles byte buffers in power-of-two size classes from 16 KiB
// to 64 MiB; other sizes are allocated and dropped.
type bufferPool struct {
	classes [13]sync.Pool
}

const minBufShift = 14

func bufClass(n int) int {
	if n <= 1<<minBufShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minBufShift
}

func (p *bufferPool) get(n int) *[]byte {
	c := bufClass(n)
	if c >= len(p.classes) {
		b := make([]byte, n)
		return &b
	}
	if v, ok := p.classes[c].Get().(*[]byte); ok {
		*v = (*v)[:cap(*v)]
		return v
	}
	b := make([]byte, 1<<(c+minBufShift))
	return &b
}

func (p *bufferPool) put(b *[]byte) {
	c := bufClass(cap(*b))
	if c < len(p.classes) && cap(*b) == 1<<(c+minBufShift) {
		p.classes[c].Put(b)
	}
}

func (p *bufferPool) putAll(bufs []*[]byte) {
	for _, b := range bufs {
		p.put(b)
	}
}
