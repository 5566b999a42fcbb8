package producerstate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sort"
)

// Snapshot file format (version 3), all integers big-endian:
//
//	+--------+---------+----------------+--------+=================+
//	| "SPSN" | version | offset (int64) | count  | count producers |
//	| 4 B    | uint16  | log end offset | uint32 |                 |
//	+--------+---------+----------------+--------+=================+
//	+---------+==================+--------+
//	| aborted | aborted × txn    | crc32c |
//	| uint32  |                  | uint32 |
//	+---------+==================+--------+
//
//	producer: id int64 | epoch int16 | txnFirstOffset int64 |
//	          lastTimestamp int64 | nBatches uint8 |
//	          nBatches × (firstSeq int32 | lastSeq int32 | firstOffset int64 |
//	                      lastOffset int64 | maxTimestamp int64)
//	txn:      producerID int64 | firstOffset int64 | lastOffset int64
//
// Version 1 files (written before transactions) have no aborted section;
// versions 1 and 2 have no lastTimestamp, which is then taken from the
// newest batch (or the snapshot's load time for a producer without one).
//
// The CRC-32C covers every byte before it. offset is the log end offset the
// snapshot reflects: recovery loads it and replays batch headers from there.
// A snapshot that fails to decode is ignored and the state is rebuilt from
// the whole log, so the file needs no other recovery policy.

const (
	snapshotMagic   = "SPSN"
	snapshotVersion = 3
	batchMetaSize   = 4 + 4 + 8 + 8 + 8
	abortedTxnSize  = 8 + 8 + 8
)

// ErrBadSnapshot means a snapshot file is truncated, corrupt or of an unknown
// version.
var ErrBadSnapshot = errors.New("bad producer state snapshot")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// EncodeSnapshot serializes the state as of log end offset endOffset.
func (s *State) EncodeSnapshot(endOffset int64) []byte {
	ids := make([]int64, 0, len(s.producers))
	for id := range s.producers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	b := make([]byte, 0, 18+len(ids)*(19+MaxBatchesPerProducer*batchMetaSize)+4)
	b = append(b, snapshotMagic...)
	b = binary.BigEndian.AppendUint16(b, snapshotVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(endOffset))
	b = binary.BigEndian.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		p := s.producers[id]
		b = binary.BigEndian.AppendUint64(b, uint64(p.ID))
		b = binary.BigEndian.AppendUint16(b, uint16(p.Epoch))
		b = binary.BigEndian.AppendUint64(b, uint64(p.TxnFirstOffset))
		b = binary.BigEndian.AppendUint64(b, uint64(p.LastTimestamp))
		b = append(b, uint8(len(p.Batches)))
		for _, m := range p.Batches {
			b = binary.BigEndian.AppendUint32(b, uint32(m.FirstSeq))
			b = binary.BigEndian.AppendUint32(b, uint32(m.LastSeq))
			b = binary.BigEndian.AppendUint64(b, uint64(m.FirstOffset))
			b = binary.BigEndian.AppendUint64(b, uint64(m.LastOffset))
			b = binary.BigEndian.AppendUint64(b, uint64(m.MaxTimestamp))
		}
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.aborted)))
	for _, a := range s.aborted {
		b = binary.BigEndian.AppendUint64(b, uint64(a.ProducerID))
		b = binary.BigEndian.AppendUint64(b, uint64(a.FirstOffset))
		b = binary.BigEndian.AppendUint64(b, uint64(a.LastOffset))
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// DecodeSnapshot parses a snapshot, returning the state and the log end
// offset it reflects. now (Unix milliseconds) stands in for the last
// timestamp of a producer that an old-version snapshot holds no batch of.
func DecodeSnapshot(b []byte, now int64) (*State, int64, error) {
	if len(b) < 22 || string(b[:4]) != snapshotMagic {
		return nil, 0, fmt.Errorf("%w: missing header", ErrBadSnapshot)
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, 0, fmt.Errorf("%w: checksum mismatch", ErrBadSnapshot)
	}
	version := binary.BigEndian.Uint16(body[4:])
	if version < 1 || version > snapshotVersion {
		return nil, 0, fmt.Errorf("%w: unknown version %d", ErrBadSnapshot, version)
	}
	endOffset := int64(binary.BigEndian.Uint64(body[6:]))
	count := binary.BigEndian.Uint32(body[14:])
	rest := body[18:]
	s := New()
	for i := uint32(0); i < count; i++ {
		fixed := 19
		if version >= 3 {
			fixed += 8
		}
		if len(rest) < fixed {
			return nil, 0, fmt.Errorf("%w: truncated producer %d", ErrBadSnapshot, i)
		}
		p := &Producer{
			ID:             int64(binary.BigEndian.Uint64(rest)),
			Epoch:          int16(binary.BigEndian.Uint16(rest[8:])),
			TxnFirstOffset: int64(binary.BigEndian.Uint64(rest[10:])),
			LastTimestamp:  now,
		}
		if version >= 3 {
			p.LastTimestamp = int64(binary.BigEndian.Uint64(rest[18:]))
		}
		n := int(rest[fixed-1])
		rest = rest[fixed:]
		if n > MaxBatchesPerProducer || len(rest) < n*batchMetaSize {
			return nil, 0, fmt.Errorf("%w: bad batch count %d", ErrBadSnapshot, n)
		}
		for j := 0; j < n; j++ {
			p.Batches = append(p.Batches, BatchMeta{
				FirstSeq:     int32(binary.BigEndian.Uint32(rest)),
				LastSeq:      int32(binary.BigEndian.Uint32(rest[4:])),
				FirstOffset:  int64(binary.BigEndian.Uint64(rest[8:])),
				LastOffset:   int64(binary.BigEndian.Uint64(rest[16:])),
				MaxTimestamp: int64(binary.BigEndian.Uint64(rest[24:])),
			})
			rest = rest[batchMetaSize:]
		}
		if version < 3 && n > 0 {
			p.LastTimestamp = p.Batches[n-1].MaxTimestamp
		}
		s.producers[p.ID] = p
	}
	if version >= 2 {
		if len(rest) < 4 {
			return nil, 0, fmt.Errorf("%w: truncated aborted transactions", ErrBadSnapshot)
		}
		n := binary.BigEndian.Uint32(rest)
		rest = rest[4:]
		if uint64(len(rest)) < uint64(n)*abortedTxnSize {
			return nil, 0, fmt.Errorf("%w: bad aborted transaction count %d", ErrBadSnapshot, n)
		}
		for range n {
			s.aborted = append(s.aborted, AbortedTxn{
				ProducerID:  int64(binary.BigEndian.Uint64(rest)),
				FirstOffset: int64(binary.BigEndian.Uint64(rest[8:])),
				LastOffset:  int64(binary.BigEndian.Uint64(rest[16:])),
			})
			rest = rest[abortedTxnSize:]
		}
	}
	if len(rest) != 0 {
		return nil, 0, fmt.Errorf("%w: %d trailing bytes", ErrBadSnapshot, len(rest))
	}
	return s, endOffset, nil
}
