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
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

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
	// LastTimestamp is the max timestamp of the producer's latest batch or
	// marker (Kafka's lastTimestamp): producer.id.expiration.ms counts from
	// it.
	LastTimestamp int64
}

func (p *Producer) last() *BatchMeta {
	if len(p.Batches) == 0 {
		return nil
	}
	return &p.Batches[len(p.Batches)-1]
}

// AbortedTxn is the range of one aborted transaction on a partition:
// read_committed consumers drop ProducerID's batches from FirstOffset up
// to LastOffset, the offset of its ABORT marker.
type AbortedTxn struct {
	ProducerID  int64
	FirstOffset int64
	LastOffset  int64
}

// State is the producer state of one partition.
type State struct {
	producers map[int64]*Producer
	// aborted lists the retained aborted transactions in marker order
	// (so by LastOffset): Kafka's transaction index.
	aborted []AbortedTxn
}

// New returns an empty State.
func New() *State { return &State{producers: make(map[int64]*Producer)} }

// Len returns how many producers are tracked.
func (s *State) Len() int { return len(s.producers) }

// Empty reports whether there is nothing to snapshot: no producer and no
// aborted transaction.
func (s *State) Empty() bool { return len(s.producers) == 0 && len(s.aborted) == 0 }

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

// All returns a copy of every tracked producer, by ascending id.
func (s *State) All() []Producer {
	out := make([]Producer, 0, len(s.producers))
	for id := range s.producers {
		p, _ := s.Producer(id)
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Producer) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// InTransaction reports whether producer id has an open transaction on
// this partition.
func (s *State) InTransaction(id int64) bool {
	p, ok := s.producers[id]
	return ok && p.TxnFirstOffset >= 0
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
		// A producer with no state here (never seen, expired, or all its
		// batches removed by retention) is accepted at any sequence, as
		// Kafka does since KIP-360: refusing it would make an idle
		// producer's next send fail after producer.id.expiration.ms.
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
	p.LastTimestamp = h.MaxTimestamp
	lastOffset := baseOffset + int64(h.LastOffsetDelta)
	if h.IsControl() {
		// A marker whose type is unknown here ends the open transaction
		// as a commit would; UpdateMarker records aborts.
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

// UpdateMarker records that the COMMIT or ABORT marker h of a producer was
// appended at offset: it ends the producer's open transaction, and an
// aborted one is remembered for read_committed fetches.
func (s *State) UpdateMarker(h record.Header, offset int64, commit bool) {
	if h.ProducerID < 0 {
		return
	}
	first := int64(-1)
	if p, ok := s.producers[h.ProducerID]; ok {
		first = p.TxnFirstOffset
	}
	s.Update(h, offset)
	if !commit && first >= 0 {
		s.aborted = append(s.aborted, AbortedTxn{ProducerID: h.ProducerID, FirstOffset: first, LastOffset: offset})
	}
}

// AbortedIn returns the aborted transactions that overlap offsets
// [from, to): the list a read_committed fetch of that range needs.
func (s *State) AbortedIn(from, to int64) []AbortedTxn {
	return abortedIn(s.aborted, from, to)
}

// Aborted returns a copy of every retained aborted transaction, in marker
// order.
func (s *State) Aborted() []AbortedTxn { return append([]AbortedTxn(nil), s.aborted...) }

// abortedIn filters list (ordered by LastOffset) to the transactions that
// overlap [from, to).
func abortedIn(list []AbortedTxn, from, to int64) []AbortedTxn {
	var out []AbortedTxn
	for i := len(list) - 1; i >= 0; i-- {
		// Transactions can be long, so an early FirstOffset does not end
		// the walk; only LastOffset is ordered.
		a := list[i]
		if a.LastOffset < from {
			break
		}
		if a.FirstOffset < to {
			out = append(out, a)
		}
	}
	slices.Reverse(out)
	return out
}

// AbortedIn filters an Aborted copy as State.AbortedIn does, for readers
// that do not hold the partition's append lock.
func AbortedIn(list []AbortedTxn, from, to int64) []AbortedTxn { return abortedIn(list, from, to) }

// PruneAborted forgets aborted transactions that ended before offset (the
// log start after retention): no fetch can reach them.
func (s *State) PruneAborted(offset int64) bool {
	n := 0
	for n < len(s.aborted) && s.aborted[n].LastOffset < offset {
		n++
	}
	if n == 0 {
		return false
	}
	s.aborted = append(s.aborted[:0], s.aborted[n:]...)
	return true
}

// ExpireIdle forgets the producers without an open transaction whose last
// batch is at least maxIdle milliseconds older than now (Kafka's
// producer.id.expiration.ms), returning how many it removed. A producer
// that comes back is accepted at any sequence (see Check), so expiry only
// costs the deduplication of a retry sent after it.
func (s *State) ExpireIdle(now, maxIdle int64) int {
	n := 0
	for id, p := range s.producers {
		if p.TxnFirstOffset < 0 && now-p.LastTimestamp >= maxIdle {
			delete(s.producers, id)
			n++
		}
	}
	return n
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
	kept := s.aborted[:0]
	for _, a := range s.aborted {
		if a.LastOffset < offset {
			kept = append(kept, a)
		}
	}
	s.aborted = kept
}
