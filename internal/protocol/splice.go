package protocol

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Splicing sends large bytes fields (fetched record batches) without
// copying them into the response's encoding: the response is encoded by kmsg
// with a short marker in each such field, and the markers are then cut out,
// leaving the framing bytes around them. The frame goes to the socket as one
// vector (writev): framing, data, framing, data, ..., framing. So record data
// is copied once in user space (from the file into a read buffer) instead of
// twice.

// markerSize is the size of a splice marker: 8 random bytes, drawn once per
// process so no client can guess them, and an 8-byte index.
const markerSize = 16

var markerMagic = func() (m [8]byte) {
	if _, err := rand.Read(m[:]); err != nil {
		panic(fmt.Sprintf("protocol: random splice marker: %v", err))
	}
	return m
}()

// AppendMarker appends the marker of the i-th spliced field to dst.
func AppendMarker(dst []byte, i int) []byte {
	dst = append(dst, markerMagic[:]...)
	return binary.BigEndian.AppendUint64(dst, uint64(i))
}

// AppendSplicedResponse frames resp as AppendResponse does, except that the
// bytes field holding marker i (see AppendMarker; markers appear in encoding
// order, numbered from 0) carries data[i]. The framing is appended to
// framing and the frame is appended to vec as framing pieces interleaved
// with the data slices, which are not copied. The bytes fields must be
// encoded as an int32 length (non-flexible versions) or an unsigned varint
// length plus one (flexible versions), as every Kafka bytes field is.
func AppendSplicedResponse(framing []byte, vec net.Buffers, corr int32, resp kmsg.Response, data [][]byte) ([]byte, net.Buffers, error) {
	start := len(framing)
	enc := AppendResponse(framing, corr, resp)
	encoded := enc[start:]
	flexible := resp.IsFlexible()

	// Rewrite the encoding in place into framing only: the pieces between
	// markers, each with the field's real length prefix. cuts[i] is where
	// piece i ends (data[i] goes there).
	out := encoded[:0:0] // new storage: prefixes may grow beyond the old ones
	out = append(out, encoded[:4]...)
	cuts := make([]int, 0, len(data))
	from := 4
	total := len(encoded) - 4
	for i, d := range data {
		marker := AppendMarker(make([]byte, 0, markerSize), i)
		at := bytes.Index(encoded[from:], marker)
		if at < 0 {
			return framing, vec, fmt.Errorf("splice marker %d not found in the encoded response", i)
		}
		at += from
		var prefixLen int
		if flexible {
			prefixLen = 1 // uvarint(markerSize + 1)
			if at < from+prefixLen || encoded[at-1] != markerSize+1 {
				return framing, vec, fmt.Errorf("splice marker %d: unexpected length prefix", i)
			}
		} else {
			prefixLen = 4
			if at < from+prefixLen || binary.BigEndian.Uint32(encoded[at-4:at]) != markerSize {
				return framing, vec, fmt.Errorf("splice marker %d: unexpected length prefix", i)
			}
		}
		out = append(out, encoded[from:at-prefixLen]...)
		before := len(out)
		if flexible {
			out = kbin.AppendUvarint(out, uint32(len(d)+1))
		} else {
			out = kbin.AppendInt32(out, int32(len(d)))
		}
		total += len(out) - before - prefixLen + len(d) - markerSize
		cuts = append(cuts, len(out))
		from = at + markerSize
	}
	out = append(out, encoded[from:]...)
	binary.BigEndian.PutUint32(out, uint32(total))

	framing = append(enc[:start], out...)
	piece := framing[start:]
	prev := 0
	for i, cut := range cuts {
		vec = append(vec, piece[prev:cut], data[i])
		prev = cut
	}
	vec = append(vec, piece[prev:])
	return framing, vec, nil
}
