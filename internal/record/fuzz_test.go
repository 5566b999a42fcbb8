package record

import (
	"bytes"
	"testing"
)

// FuzzValidate checks that Validate never panics, and that whenever it
// accepts bytes, ParseHeader agrees with it, the batch size equals the input
// length and Records never panics on it either.
func FuzzValidate(f *testing.F) {
	f.Add(Build(sampleSpec()))
	f.Add(Build(BatchSpec{}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Validate(b)
		_, _ = Records(b)
		if err != nil {
			return
		}
		parsed, perr := ParseHeader(b)
		if perr != nil || parsed != h {
			t.Fatalf("ParseHeader disagrees with Validate: %v %+v %+v", perr, parsed, h)
		}
		if h.Size() != len(b) {
			t.Fatalf("accepted batch of size %d in %d bytes", h.Size(), len(b))
		}
	})
}

// FuzzSplit checks that Split never panics and that its slices tile a prefix
// of the input in order, the whole input when it returns no error.
func FuzzSplit(f *testing.F) {
	a := Build(sampleSpec())
	f.Add(append(bytes.Clone(a), a...))
	f.Add(a[:30])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		batches, err := Split(b)
		pos := 0
		for _, batch := range batches {
			if len(batch) < lengthFieldsSize || !bytes.Equal(batch, b[pos:pos+len(batch)]) || &batch[0] != &b[pos] {
				t.Fatalf("batch at %d does not tile the input", pos)
			}
			pos += len(batch)
		}
		if err == nil && pos != len(b) {
			t.Fatalf("no error but only %d of %d bytes split", pos, len(b))
		}
		if err != nil && pos == len(b) {
			t.Fatalf("error %v although all %d bytes were split", err, len(b))
		}
	})
}

// FuzzMarkerType checks that MarkerType never panics on arbitrary bytes.
func FuzzMarkerType(f *testing.F) {
	f.Add(BuildControl(7, 1, true, 0, 1))
	f.Add(BuildControl(7, 1, false, 0, 1))
	f.Add(Build(sampleSpec()))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = MarkerType(b)
	})
}

// FuzzFilter checks that the compaction decoders never panic on any bytes
// (compressed or not), and that Filter turns a valid batch into a valid one.
func FuzzFilter(f *testing.F) {
	f.Add(Build(sampleSpec()))
	for _, c := range []Codec{Gzip, Snappy, LZ4, Zstd} {
		body, _ := compress(c, Build(sampleSpec())[HeaderSize:], false)
		b := append(Build(sampleSpec())[:HeaderSize:HeaderSize], body...)
		b[offAttributes+1] |= byte(c)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = EachRecord(b, func(RecordView) {})
		n := 0
		out, err := Filter(b, func(RecordView) bool { n++; return n%2 == 0 })
		if _, verr := Validate(b); verr != nil || err != nil || out == nil {
			return
		}
		if _, err := Validate(out); err != nil {
			t.Fatalf("a filtered batch does not validate: %v", err)
		}
	})
}
