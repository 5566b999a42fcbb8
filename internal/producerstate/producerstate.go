// Package producerstate tracks idempotent producers per partition: for each
// producer id the current epoch and the sequence and offset ranges of its last
// five batches, so a retried batch is recognised and answered with its
// original offsets, and a gap in sequence numbers is refused.
//
// A State is not safe for concurrent use; the owning partition's append lock
// guards it. It is rebuilt on recovery from a snapshot plus the batch headers
// after it (see snapshot.go), so deduplication survives restarts and crashes.
package producerstate

import (
	"errors"
	"fmt"
	"math"

	"github.com/samsa-broker/samsa/internal/record"
)

// MaxBatchesPerProducer is how many recent batches are remembered per
// producer; Kafka clients keep at most five requests in flight.
const MaxBatchesPerProducer = 5

var (
	// ErrOutOfOrderSequence means a batch's first sequence does not follow the
	// producer's last one.
	ErrOutOfOrderSequence = errors.New("out of order sequence number")
	// ErrInvalidEpoch means a batch carries an epoch older than the producer's
	// current one: a newer producer instance has fenced it.
	ErrInvalidEpoch = errors.New("producer epoch is stale")
)

// BatchMeta locates one appended batch of a producer.
type BatchMeta struct {
	FirstSeq, LastSeq       int32
	FirstOffset, LastOffset int64
	MaxTimestamp            int64
}

// Producer is the remembered state of one producer id.
type Producer struct {
	ID    int64
	Epoch int16
	// Batches holds up to MaxBatchesPerProducer recent batches, oldest first.
	Batches []BatchMeta
	// TxnFirstOffset is the first offset of the producer's open transaction
	// on this partition, or -1 when none is open.
	TxnFirstOffset int64
}

func (p *Producer) last() *BatchMeta {
	if len(p.Batches) == 0 {
		return nil
	}
	return &p.Batches[len(p.Batches)-1]
}

// State is the producer state of one partition.
type State struct {
	producers map[int64]*Producer
}

// New returns an empty State.
func New() *State { return &State{producers: make(map[int64]*Producer)} }

// Len returns how many producers are tracked.
func (s *State) Len() int { return len(s.producers) }

// Producer returns the state of producer id, if known.
func (s *State) Producer(id int64) (Producer, bool) {
	p, ok := s.producers[id]
	if !ok {
		return Producer{}, false
	}
	cp := *p
	cp.Batches = append([]BatchMeta(nil), p.Batches...)
	return cp, true
}

// Producers calls fn for every tracked producer.
func (s *State) Producers(fn func(p *Producer)) {
	for _, p := range s.producers {
		fn(p)
	}
}

// Check decides whether batch h may be appended. For a batch already appended
// (a retry) it returns the original batch and dup=true. Batches without a
// producer id are always accepted.
func (s *State) Check(h record.Header) (orig BatchMeta, dup bool, err error) {
	if h.ProducerID < 0 {
		return BatchMeta{}, false, nil
	}
	p, known := s.producers[h.ProducerID]
	if !known {
		// A producer we have never seen (or whose state expired) must start
		// at sequence 0; anything else means batches before it were lost.
		if h.BaseSequence != 0 && !h.IsControl() {
			return BatchMeta{}, false, fmt.Errorf("%w: unknown producer %d starts at sequence %d", ErrOutOfOrderSequence, h.ProducerID, h.BaseSequence)
		}
		return BatchMeta{}, false, nil
	}
	if h.ProducerEpoch < p.Epoch {
		return BatchMeta{}, false, fmt.Errorf("%w: producer %d epoch %d < current %d", ErrInvalidEpoch, h.ProducerID, h.ProducerEpoch, p.Epoch)
	}
	if h.IsControl() {
		return BatchMeta{}, false, nil
	}
	if h.ProducerEpoch > p.Epoch {
		if h.BaseSequence != 0 {
			return BatchMeta{}, false, fmt.Errorf("%w: producer %d new epoch %d starts at sequence %d", ErrOutOfOrderSequence, h.ProducerID, h.ProducerEpoch, h.BaseSequence)
		}
		return BatchMeta{}, false, nil
	}
	lastSeq := h.LastSequence()
	for _, b := range p.Batches {
		if b.FirstSeq == h.BaseSequence && b.LastSeq == lastSeq {
			return b, true, nil
		}
	}
	last := p.last()
	if last == nil {
		if h.BaseSequence != 0 {
			return BatchMeta{}, false, fmt.Errorf("%w: producer %d expected sequence 0, got %d", ErrOutOfOrderSequence, h.ProducerID, h.BaseSequence)
		}
		return BatchMeta{}, false, nil
	}
	if want := nextSequence(last.LastSeq); h.BaseSequence != want {
		return BatchMeta{}, false, fmt.Errorf("%w: producer %d expected sequence %d, got %d", ErrOutOfOrderSequence, h.ProducerID, want, h.BaseSequence)
	}
	return BatchMeta{}, false, nil
}

// nextSequence is the sequence after seq; sequences wrap to 0 after MaxInt32.
func nextSequence(seq int32) int32 {
	if seq == math.MaxInt32 {
		return 0
	}
	return seq + 1
}

// Update records that batch h was appended at baseOffset. Call it only for
// batches that Check accepted (or while replaying the log).
func (s *State) Update(h record.Header, baseOffset int64) {
	if h.ProducerID < 0 {
		return
	}
	p, ok := s.producers[h.ProducerID]
	if !ok {
		p = &Producer{ID: h.ProducerID, Epoch: h.ProducerEpoch, TxnFirstOffset: -1}
		s.producers[h.ProducerID] = p
	}
	if h.ProducerEpoch > p.Epoch {
		p.Epoch = h.ProducerEpoch
		p.Batches = p.Batches[:0]
	}
	lastOffset := baseOffset + int64(h.LastOffsetDelta)
	if h.IsControl() {
		// A commit or abort marker ends the producer's open transaction.
		p.TxnFirstOffset = -1
		return
	}
	if h.IsTransactional() && p.TxnFirstOffset < 0 {
		p.TxnFirstOffset = baseOffset
	}
	if len(p.Batches) == MaxBatchesPerProducer {
		copy(p.Batches, p.Batches[1:])
		p.Batches = p.Batches[:MaxBatchesPerProducer-1]
	}
	p.Batches = append(p.Batches, BatchMeta{
		FirstSeq: h.BaseSequence, LastSeq: h.LastSequence(),
		FirstOffset: baseOffset, LastOffset: lastOffset,
		MaxTimestamp: h.MaxTimestamp,
	})
}

// FenceEpoch raises producer id's epoch without a batch (InitProducerId bumps,
// transaction markers), forgetting its sequence history.
func (s *State) FenceEpoch(id int64, epoch int16) {
	p, ok := s.producers[id]
	if !ok {
		s.producers[id] = &Producer{ID: id, Epoch: epoch, TxnFirstOffset: -1}
		return
	}
	if epoch > p.Epoch {
		p.Epoch = epoch
		p.Batches = p.Batches[:0]
	}
}

// FirstUnstableOffset returns the lowest first offset of any open
// transaction, or -1 when no transaction is open.
func (s *State) FirstUnstableOffset() int64 {
	first := int64(-1)
	for _, p := range s.producers {
		if p.TxnFirstOffset >= 0 && (first < 0 || p.TxnFirstOffset < first) {
			first = p.TxnFirstOffset
		}
	}
	return first
}

// TruncateFrom forgets batches at or after offset (log truncation).
func (s *State) TruncateFrom(offset int64) {
	for id, p := range s.producers {
		kept := p.Batches[:0]
		for _, b := range p.Batches {
			if b.LastOffset < offset {
				kept = append(kept, b)
			}
		}
		p.Batches = kept
		if p.TxnFirstOffset >= offset {
			p.TxnFirstOffset = -1
		}
		if len(p.Batches) == 0 && p.TxnFirstOffset < 0 {
			delete(s.producers, id)
		}
	}
}
