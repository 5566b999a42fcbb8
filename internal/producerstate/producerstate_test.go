package producerstate

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/samsa-broker/samsa/internal/record"
)

func hdr(pid int64, epoch int16, seq, lastDelta int32) record.Header {
	return record.Header{ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq, LastOffsetDelta: lastDelta, NumRecords: lastDelta + 1}
}

func TestWindowOfFiveBatches(t *testing.T) {
	s := New()
	for i := int32(0); i < 7; i++ {
		h := hdr(1, 0, i, 0)
		if _, dup, err := s.Check(h); err != nil || dup {
			t.Fatalf("batch %d: dup %v err %v", i, dup, err)
		}
		s.Update(h, int64(i)*10)
	}
	// The last five are remembered with their offsets; older ones are not
	// (a retry that old is out of order, as in Kafka).
	for i := int32(2); i < 7; i++ {
		orig, dup, err := s.Check(hdr(1, 0, i, 0))
		if err != nil || !dup || orig.FirstOffset != int64(i)*10 {
			t.Fatalf("retry %d: orig %+v dup %v err %v", i, orig, dup, err)
		}
	}
	if _, _, err := s.Check(hdr(1, 0, 1, 0)); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("retry older than the window: err %v", err)
	}
}

func TestSequenceWraps(t *testing.T) {
	s := New()
	h := hdr(1, 0, math.MaxInt32-1, 1) // covers MaxInt32-1 and MaxInt32
	s.Update(h, 0)
	if _, _, err := s.Check(hdr(1, 0, 0, 0)); err != nil {
		t.Fatalf("sequence after MaxInt32 should be 0: %v", err)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := New()
	for pid := int64(1); pid <= 3; pid++ {
		for seq := int32(0); seq < int32(pid)*3; seq++ {
			s.Update(hdr(pid, int16(pid), seq, 0), int64(seq)+pid*100)
		}
	}
	s.Update(record.Header{ProducerID: 9, ProducerEpoch: 0, BaseSequence: 0, Attributes: 0x10}, 500) // transactional
	b := s.EncodeSnapshot(1234)
	got, off, err := DecodeSnapshot(b)
	if err != nil || off != 1234 {
		t.Fatalf("decode: off %d err %v", off, err)
	}
	if !bytes.Equal(got.EncodeSnapshot(1234), b) {
		t.Fatal("snapshot did not round-trip")
	}
	if got.FirstUnstableOffset() != 500 {
		t.Fatalf("open transaction lost: %d", got.FirstUnstableOffset())
	}
	for _, bad := range [][]byte{nil, b[:10], append(append([]byte(nil), b[:len(b)-1]...), b[len(b)-1]^1)} {
		if _, _, err := DecodeSnapshot(bad); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("bad snapshot accepted: %v", err)
		}
	}
}

// FuzzDecodeSnapshot: decoding arbitrary bytes never panics, and whatever
// decodes re-encodes to a snapshot that decodes to the same state.
func FuzzDecodeSnapshot(f *testing.F) {
	s := New()
	s.Update(hdr(1, 0, 0, 4), 0)
	f.Add(s.EncodeSnapshot(5))
	f.Add([]byte("SPSN"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, off, err := DecodeSnapshot(b)
		if err != nil {
			return
		}
		again := st.EncodeSnapshot(off)
		st2, off2, err := DecodeSnapshot(again)
		if err != nil || off2 != off || !bytes.Equal(st2.EncodeSnapshot(off2), again) {
			t.Fatalf("re-encoded snapshot does not decode to the same state: %v", err)
		}
	})
}
