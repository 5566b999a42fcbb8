package storage

import (
	"errors"
	"fmt"
	"io"

	"github.com/samsa-broker/samsa/internal/record"
	"github.com/samsa-broker/samsa/internal/storage/vfs"
)

// errTorn marks bytes in a segment that do not form a valid batch: a torn
// write after a crash, or corruption.
var errTorn = errors.New("torn or corrupt batch")

const (
	// verifyChunk is the read size of scans that check every batch's CRC
	// and so read every byte anyway.
	verifyChunk = 1 << 20
	// headerChunk is the read size of header-only scans: one read covers the
	// headers of several small batches, or one header of a large batch.
	headerChunk = 4 << 10
)

// batchScanner walks the batches of one segment file from a position,
// reading the file in chunks.
type batchScanner struct {
	f      vfs.File
	end    int64 // scan stops here (the file size, or a snapshot of it)
	verify bool  // check each batch with record.Validate (CRC included)
	chunk  int

	buf    []byte
	bufPos int64 // file position of buf[0]
	pos    int64 // position of the next batch
}

func newScanner(f vfs.File, pos, end int64, verify bool) *batchScanner {
	chunk := headerChunk
	if verify {
		chunk = verifyChunk
	}
	return &batchScanner{f: f, pos: pos, end: end, verify: verify, chunk: chunk}
}

// next returns the next batch's header and position. It returns io.EOF at
// the end, and an error wrapping errTorn when the bytes at the position are
// not a well-formed batch that fits before the end.
func (s *batchScanner) next() (record.Header, int64, error) {
	if s.pos >= s.end {
		return record.Header{}, s.pos, io.EOF
	}
	if s.end-s.pos < record.HeaderSize {
		return record.Header{}, s.pos, fmt.Errorf("%w: %d trailing bytes at %d", errTorn, s.end-s.pos, s.pos)
	}
	b, err := s.bytes(s.pos, record.HeaderSize)
	if err != nil {
		return record.Header{}, s.pos, err
	}
	h, _ := record.ParseHeader(b)
	if h.Magic != record.Magic || h.BatchLength < record.HeaderSize-12 || h.LastOffsetDelta < 0 || int64(h.Size()) > s.end-s.pos {
		return h, s.pos, fmt.Errorf("%w: bad header at %d (magic %d, length %d, last offset delta %d)",
			errTorn, s.pos, h.Magic, h.BatchLength, h.LastOffsetDelta)
	}
	if s.verify {
		b, err := s.bytes(s.pos, h.Size())
		if err != nil {
			return h, s.pos, err
		}
		if _, err := record.Validate(b); err != nil {
			return h, s.pos, fmt.Errorf("%w: at %d: %v", errTorn, s.pos, err)
		}
	}
	pos := s.pos
	s.pos += int64(h.Size())
	return h, pos, nil
}

// bytes returns the n file bytes at pos, from the buffer or by reading a
// new chunk starting at pos.
func (s *batchScanner) bytes(pos int64, n int) ([]byte, error) {
	if pos >= s.bufPos && pos+int64(n) <= s.bufPos+int64(len(s.buf)) {
		off := pos - s.bufPos
		return s.buf[off : off+int64(n)], nil
	}
	want := int(min(int64(max(n, s.chunk)), s.end-pos))
	if cap(s.buf) < want {
		s.buf = make([]byte, want)
	}
	s.buf = s.buf[:want]
	if err := readFull(s.f, s.buf, pos); err != nil {
		s.buf = s.buf[:0]
		return nil, err
	}
	s.bufPos = pos
	return s.buf[:n], nil
}
