package producerstate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"slices"
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
	// An aborted transaction of producer 8 at offsets 400-450.
	s.Update(record.Header{ProducerID: 8, BaseSequence: 0, Attributes: 0x10}, 400)
	s.UpdateMarker(record.Header{ProducerID: 8, BaseSequence: -1, Attributes: 0x30}, 450, false)
	b := s.EncodeSnapshot(1234)
	got, off, err := DecodeSnapshot(b, 0)
	if err != nil || off != 1234 {
		t.Fatalf("decode: off %d err %v", off, err)
	}
	if !bytes.Equal(got.EncodeSnapshot(1234), b) {
		t.Fatal("snapshot did not round-trip")
	}
	if got.FirstUnstableOffset() != 500 {
		t.Fatalf("open transaction lost: %d", got.FirstUnstableOffset())
	}
	if a := got.Aborted(); len(a) != 1 || a[0] != (AbortedTxn{ProducerID: 8, FirstOffset: 400, LastOffset: 450}) {
		t.Fatalf("aborted transactions after decode: %+v", a)
	}
	for _, bad := range [][]byte{nil, b[:10], append(append([]byte(nil), b[:len(b)-1]...), b[len(b)-1]^1)} {
		if _, _, err := DecodeSnapshot(bad, 0); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("bad snapshot accepted: %v", err)
		}
	}
}

// TestSnapshotOldVersions decodes snapshots as written before transactions
// (version 1: no aborted-transaction section) and before expiry (version 2:
// no last timestamp, taken from the newest batch).
func TestSnapshotOldVersions(t *testing.T) {
	s := New()
	h := hdr(1, 2, 0, 3)
	h.MaxTimestamp = 777
	s.Update(h, 10)
	v3 := s.EncodeSnapshot(14)
	// One producer: an 18-byte file header, then id, epoch and
	// txnFirstOffset (18 bytes) before the 8-byte last timestamp.
	body := append(append([]byte(nil), v3[:36]...), v3[44:len(v3)-4]...)
	body[5] = 2
	v2 := binary.BigEndian.AppendUint32(append([]byte(nil), body...), crc32.Checksum(body, castagnoli))
	body = body[:len(body)-4] // a v1 file also lacks the (empty) aborted count
	body[5] = 1
	v1 := binary.BigEndian.AppendUint32(body, crc32.Checksum(body, castagnoli))
	for name, b := range map[string][]byte{"v1": v1, "v2": v2, "v3": v3} {
		got, off, err := DecodeSnapshot(b, 5000)
		if err != nil || off != 14 {
			t.Fatalf("decode %s: off %d err %v", name, off, err)
		}
		if p, ok := got.Producer(1); !ok || p.Epoch != 2 || len(p.Batches) != 1 || p.LastTimestamp != 777 {
			t.Fatalf("producer after %s decode: %+v %v", name, p, ok)
		}
	}
}

// TestUnknownProducerAnySequence: a producer without state is accepted at
// any sequence (Kafka since KIP-360), a known one must continue its own.
func TestUnknownProducerAnySequence(t *testing.T) {
	s := New()
	if _, dup, err := s.Check(hdr(7, 0, 999, 0)); err != nil || dup {
		t.Fatalf("unknown producer at sequence 999: dup %v err %v", dup, err)
	}
	s.Update(hdr(7, 0, 999, 0), 0)
	if _, _, err := s.Check(hdr(7, 0, 1001, 0)); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("gap after a known batch: err %v", err)
	}
	if _, _, err := s.Check(hdr(7, 0, 1000, 0)); err != nil {
		t.Fatalf("next sequence: %v", err)
	}
}

// TestExpireIdle forgets idle producers but never one with an open
// transaction, and a snapshot keeps the timestamp expiry counts from.
func TestExpireIdle(t *testing.T) {
	s := New()
	at := func(h record.Header, ts int64) record.Header { h.MaxTimestamp = ts; return h }
	s.Update(at(hdr(1, 0, 0, 0), 1000), 0)                                                 // idle since 1000
	s.Update(at(hdr(2, 0, 0, 0), 5000), 1)                                                 // recent
	s.Update(at(record.Header{ProducerID: 3, BaseSequence: 0, Attributes: 0x10}, 1000), 2) // open transaction
	got, _, err := DecodeSnapshot(s.EncodeSnapshot(3), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []*State{s, got} {
		if n := st.ExpireIdle(6000, 2000); n != 1 {
			t.Fatalf("expired %d producers, want 1", n)
		}
		if _, ok := st.Producer(1); ok {
			t.Fatal("idle producer 1 kept")
		}
		if _, ok := st.Producer(2); !ok {
			t.Fatal("recent producer 2 expired")
		}
		if !st.InTransaction(3) {
			t.Fatal("producer 3's open transaction expired")
		}
	}
	// Expired producer 1 comes back where it left off.
	if _, _, err := s.Check(hdr(1, 0, 1, 0)); err != nil {
		t.Fatalf("expired producer resuming: %v", err)
	}
}

// TestTransactionsOpenAndEnd walks the life of transactions on one
// partition: the first unstable offset, commit and abort markers, the
// aborted list a fetch sees, pruning and truncation.
func TestTransactionsOpenAndEnd(t *testing.T) {
	txn := func(pid int64, seq int32) record.Header {
		return record.Header{ProducerID: pid, BaseSequence: seq, Attributes: 0x10}
	}
	marker := func(pid int64) record.Header {
		return record.Header{ProducerID: pid, BaseSequence: -1, Attributes: 0x30}
	}
	s := New()
	s.Update(txn(1, 0), 0) // producer 1 opens at 0
	s.Update(txn(2, 0), 1) // producer 2 opens at 1
	s.Update(txn(1, 1), 2)
	if got := s.FirstUnstableOffset(); got != 0 {
		t.Fatalf("first unstable = %d, want 0", got)
	}
	s.UpdateMarker(marker(1), 3, false) // producer 1 aborts
	if got := s.FirstUnstableOffset(); got != 1 {
		t.Fatalf("first unstable after abort = %d, want 1", got)
	}
	s.UpdateMarker(marker(2), 4, true) // producer 2 commits
	if got := s.FirstUnstableOffset(); got != -1 {
		t.Fatalf("first unstable after commit = %d, want -1", got)
	}
	s.Update(txn(1, 2), 5)
	s.UpdateMarker(marker(1), 6, false)
	want := []AbortedTxn{{1, 0, 3}, {1, 5, 6}}
	for _, tc := range []struct {
		from, to int64
		want     []AbortedTxn
	}{
		{0, 7, want},
		{0, 1, want[:1]},
		{4, 5, nil},
		{4, 6, want[1:]},
		{7, 9, nil},
	} {
		if got := s.AbortedIn(tc.from, tc.to); !slices.Equal(got, tc.want) {
			t.Errorf("AbortedIn(%d, %d) = %+v, want %+v", tc.from, tc.to, got, tc.want)
		}
	}
	if !s.PruneAborted(4) || !slices.Equal(s.Aborted(), want[1:]) {
		t.Fatalf("after pruning below 4: %+v", s.Aborted())
	}
	s.TruncateFrom(6)
	if len(s.Aborted()) != 0 {
		t.Fatalf("an abort marker at the truncation point survived: %+v", s.Aborted())
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
		st, off, err := DecodeSnapshot(b, 0)
		if err != nil {
			return
		}
		again := st.EncodeSnapshot(off)
		st2, off2, err := DecodeSnapshot(again, 0)
		if err != nil || off2 != off || !bytes.Equal(st2.EncodeSnapshot(off2), again) {
			t.Fatalf("re-encoded snapshot does not decode to the same state: %v", err)
		}
	})
}
