package record

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// The produce and fetch paths never decompress: batches are stored and
// served as they came. Only the log cleaner (compaction) and the check for
// keyless records in compacted topics read compressed records.

// maxDecompressedBytes bounds what one batch may inflate to, so a
// compression bomb cannot exhaust memory (Kafka's batches are bounded by
// max.message.bytes before compression; 256 MiB is far above any of them).
const maxDecompressedBytes = 256 << 20

// xerialMagic starts snappy data in the framing of Java's xerial
// snappy-java, which the Java producer writes; other clients write raw
// snappy blocks.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

// decompress returns the records section of a batch compressed with c.
func decompress(c Codec, data []byte) ([]byte, error) {
	switch c {
	case None:
		return data, nil
	case Gzip:
		r, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		return readBounded(r)
	case Snappy:
		if bytes.HasPrefix(data, xerialMagic) {
			return unxerial(data)
		}
		return snappyBlock(data)
	case LZ4:
		return readBounded(lz4.NewReader(bytes.NewReader(data)))
	case Zstd:
		d, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxDecompressedBytes), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		defer d.Close()
		return d.DecodeAll(data, nil)
	}
	return nil, fmt.Errorf("%w: unknown compression codec %d", ErrCorrupt, c)
}

func readBounded(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxDecompressedBytes+1))
	if err == nil && len(b) > maxDecompressedBytes {
		err = fmt.Errorf("batch decompresses to more than %d bytes", maxDecompressedBytes)
	}
	return b, err
}

func snappyBlock(data []byte) ([]byte, error) {
	n, err := s2.DecodedLen(data)
	if err != nil {
		return nil, err
	}
	if n > maxDecompressedBytes {
		return nil, fmt.Errorf("batch decompresses to more than %d bytes", maxDecompressedBytes)
	}
	return s2.Decode(nil, data)
}

// unxerial decodes xerial framing: the 8-byte magic, two 4-byte version
// fields, then blocks of a 4-byte big-endian length and a snappy block.
func unxerial(data []byte) ([]byte, error) {
	if len(data) < 16 {
		return nil, fmt.Errorf("%w: short xerial snappy header", ErrCorrupt)
	}
	data = data[16:]
	var out []byte
	for len(data) > 0 {
		if len(data) < 4 {
			return nil, fmt.Errorf("%w: truncated xerial snappy block length", ErrCorrupt)
		}
		n := binary.BigEndian.Uint32(data)
		data = data[4:]
		if uint64(n) > uint64(len(data)) {
			return nil, fmt.Errorf("%w: truncated xerial snappy block", ErrCorrupt)
		}
		block, err := snappyBlock(data[:n])
		if err != nil {
			return nil, err
		}
		if len(out)+len(block) > maxDecompressedBytes {
			return nil, fmt.Errorf("batch decompresses to more than %d bytes", maxDecompressedBytes)
		}
		out = append(out, block...)
		data = data[n:]
	}
	return out, nil
}

// compress compresses a records section with c. For snappy, xerial says
// whether to use xerial framing (kept as the batch came).
func compress(c Codec, data []byte, xerial bool) ([]byte, error) {
	switch c {
	case None:
		return data, nil
	case Gzip:
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	case Snappy:
		if !xerial {
			return s2.EncodeSnappy(nil, data), nil
		}
		out := append([]byte(nil), xerialMagic...)
		out = binary.BigEndian.AppendUint32(out, 1) // version
		out = binary.BigEndian.AppendUint32(out, 1) // minimum compatible version
		const blockSize = 32 << 10
		for len(data) > 0 {
			n := min(blockSize, len(data))
			block := s2.EncodeSnappy(nil, data[:n])
			out = binary.BigEndian.AppendUint32(out, uint32(len(block)))
			out = append(out, block...)
			data = data[n:]
		}
		return out, nil
	case LZ4:
		var buf bytes.Buffer
		w := lz4.NewWriter(&buf)
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	case Zstd:
		e, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		defer e.Close()
		return e.EncodeAll(data, nil), nil
	}
	return nil, fmt.Errorf("%w: unknown compression codec %d", ErrCorrupt, c)
}
