package broker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/samsa-broker/samsa/internal/group"
	"github.com/samsa-broker/samsa/internal/partition"
	"github.com/samsa-broker/samsa/internal/record"
	"github.com/samsa-broker/samsa/internal/topics"
)

// Internal topics whose partitions hold coordinator state.
const (
	// offsetsTopic is Kafka's internal topic for group offsets and metadata.
	offsetsTopic = "__consumer_offsets"
	// txnStateTopic is Kafka's internal topic for transaction state.
	txnStateTopic = "__transaction_state"
)

// internalLog writes and replays the partitions of one internal topic.
type internalLog struct {
	catalog *topics.Catalog
	topic   string
}

func (l internalLog) partition(p int32) (*partition.Partition, error) {
	part, ok := l.catalog.Partition(l.topic, p)
	if !ok {
		return nil, fmt.Errorf("%s-%d is not hosted here", l.topic, p)
	}
	return part, nil
}

// append writes batch and waits until it is visible (durable under
// --fsync always).
func (l internalLog) append(ctx context.Context, p int32, batch []byte) error {
	part, err := l.partition(p)
	if err != nil {
		return err
	}
	base, err := part.AppendInternal(batch)
	if err != nil {
		return err
	}
	h, err := record.ParseHeader(batch)
	if err != nil {
		return err
	}
	return part.WaitVisible(ctx, base+int64(h.LastOffsetDelta)+1)
}

// appendRecords writes the records as one batch of producerID (-1: none).
func (l internalLog) appendRecords(ctx context.Context, p int32, producerID int64, epoch int16, transactional bool, records []group.KV) error {
	specs := make([]record.RecordSpec, len(records))
	for i, r := range records {
		specs[i] = record.RecordSpec{Key: r.Key, Value: r.Value}
	}
	// No sequence: AppendInternal does not deduplicate, and a
	// transactional batch here only needs its producer, for the marker.
	batch := record.Build(record.BatchSpec{
		ProducerID: producerID, ProducerEpoch: epoch, BaseSequence: -1,
		Transactional: transactional,
		Timestamp:     time.Now().UnixMilli(), Records: specs,
	})
	return l.append(ctx, p, batch)
}

// replay calls fn for every batch of the partition from its start, with the
// batch's records (none for a control batch), skipping records before the
// log start.
func (l internalLog) replay(ctx context.Context, p int32, fn func(h record.Header, batch []byte, rec *group.KV) error) error {
	part, err := l.partition(p)
	if err != nil {
		return err
	}
	off := part.LogStartOffset()
	for ctx.Err() == nil {
		res, err := part.Read(off, 1<<20, partition.ReadUncommitted)
		if err != nil {
			return fmt.Errorf("replay %s-%d at %d: %w", l.topic, p, off, err)
		}
		if len(res.Records) == 0 {
			return nil
		}
		batches, err := record.Split(res.Records)
		if err != nil {
			return fmt.Errorf("replay %s-%d at %d: %w", l.topic, p, off, err)
		}
		for _, b := range batches {
			h, err := record.ParseHeader(b)
			if err != nil {
				return err
			}
			if h.IsControl() {
				if err := fn(h, b, nil); err != nil {
					return err
				}
			} else {
				recs, err := record.Records(b)
				if err != nil {
					return fmt.Errorf("replay %s-%d batch %d: %w", l.topic, p, h.BaseOffset, err)
				}
				for _, r := range recs {
					if h.BaseOffset+int64(r.OffsetDelta) < off {
						continue
					}
					if err := fn(h, b, &group.KV{Key: r.Key, Value: r.Value}); err != nil {
						return err
					}
				}
			}
			off = h.NextOffset()
		}
	}
	return ctx.Err()
}

// offsetsLog stores the group coordinator's records in __consumer_offsets.
type offsetsLog struct{ internalLog }

func (l offsetsLog) Append(ctx context.Context, p int32, records []group.KV) error {
	return l.appendRecords(ctx, p, -1, -1, false, records)
}

func (l offsetsLog) AppendTxn(ctx context.Context, p int32, producerID int64, epoch int16, records []group.KV) error {
	return l.appendRecords(ctx, p, producerID, epoch, true, records)
}

func (l offsetsLog) AppendMarker(ctx context.Context, p int32, producerID int64, epoch int16, commit bool) error {
	return l.append(ctx, p, record.BuildControl(producerID, epoch, commit, 0, time.Now().UnixMilli()))
}

func (l offsetsLog) Replay(ctx context.Context, p int32, fn func(group.Entry) error) error {
	return l.replay(ctx, p, func(h record.Header, batch []byte, kv *group.KV) error {
		e := group.Entry{ProducerID: h.ProducerID, Transactional: h.IsTransactional()}
		if kv == nil {
			commit, err := record.MarkerType(batch)
			if err != nil {
				return nil // not a transaction marker: nothing for the coordinator
			}
			e.Marker, e.Commit = true, commit
		} else {
			e.Key, e.Value = kv.Key, kv.Value
		}
		return fn(e)
	})
}

// txnStateLog stores the transaction coordinator's records in
// __transaction_state.
type txnStateLog struct{ internalLog }

func (l txnStateLog) Append(ctx context.Context, p int32, key, value []byte) error {
	return l.appendRecords(ctx, p, -1, -1, false, []group.KV{{Key: key, Value: value}})
}

func (l txnStateLog) Replay(ctx context.Context, p int32, fn func(key, value []byte) error) error {
	return l.replay(ctx, p, func(_ record.Header, _ []byte, kv *group.KV) error {
		if kv == nil {
			return nil
		}
		return fn(kv.Key, kv.Value)
	})
}

// txnMarkers writes the transaction coordinator's markers: to data
// partitions directly, and through the group coordinator to
// __consumer_offsets, whose pending transactional offsets they decide.
type txnMarkers struct {
	catalog *topics.Catalog
	groups  *group.Coordinator
	log     *slog.Logger
}

func (m txnMarkers) WriteMarker(ctx context.Context, topic string, p int32, producerID int64, epoch int16, commit bool) error {
	if topic == offsetsTopic {
		return m.groups.CompleteTxn(ctx, p, producerID, epoch, commit)
	}
	part, ok := m.catalog.Partition(topic, p)
	if !ok {
		// The topic was deleted during the transaction: nothing is left
		// to mark.
		m.log.Warn("transaction marker for a partition that no longer exists", "topic", topic, "partition", p, "producer_id", producerID)
		return nil
	}
	off, err := part.WriteTxnMarker(producerID, epoch, commit, 0)
	if err != nil {
		return fmt.Errorf("write marker to %s-%d: %w", topic, p, err)
	}
	return part.WaitVisible(ctx, off+1)
}
