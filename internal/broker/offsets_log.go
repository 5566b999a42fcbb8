package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/samsa-broker/samsa/internal/group"
	"github.com/samsa-broker/samsa/internal/partition"
	"github.com/samsa-broker/samsa/internal/record"
	"github.com/samsa-broker/samsa/internal/topics"
)

// offsetsLog stores the group coordinator's records in __consumer_offsets.
type offsetsLog struct {
	catalog *topics.Catalog
}

func (l *offsetsLog) partition(p int32) (*partition.Partition, error) {
	part, ok := l.catalog.Partition(offsetsTopic, p)
	if !ok {
		return nil, fmt.Errorf("%s-%d is not hosted here", offsetsTopic, p)
	}
	return part, nil
}

// Append writes the records as one batch and waits until it is visible
// (durable under --fsync always).
func (l *offsetsLog) Append(ctx context.Context, p int32, records []group.KV) error {
	part, err := l.partition(p)
	if err != nil {
		return err
	}
	specs := make([]record.RecordSpec, len(records))
	for i, r := range records {
		specs[i] = record.RecordSpec{Key: r.Key, Value: r.Value}
	}
	batch := record.Build(record.BatchSpec{
		ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
		Timestamp: time.Now().UnixMilli(), Records: specs,
	})
	base, err := part.AppendInternal(batch)
	if err != nil {
		return err
	}
	return part.WaitVisible(ctx, base+int64(len(records)))
}

// Replay reads the partition from its start.
func (l *offsetsLog) Replay(ctx context.Context, p int32, fn func(key, value []byte) error) error {
	part, err := l.partition(p)
	if err != nil {
		return err
	}
	off := part.LogStartOffset()
	for ctx.Err() == nil {
		res, err := part.Read(off, 1<<20, partition.ReadUncommitted)
		if err != nil {
			return fmt.Errorf("replay %s-%d at %d: %w", offsetsTopic, p, off, err)
		}
		if len(res.Records) == 0 {
			return nil
		}
		batches, err := record.Split(res.Records)
		if err != nil {
			return fmt.Errorf("replay %s-%d at %d: %w", offsetsTopic, p, off, err)
		}
		for _, b := range batches {
			h, err := record.ParseHeader(b)
			if err != nil {
				return err
			}
			if !h.IsControl() {
				recs, err := record.Records(b)
				if err != nil {
					return fmt.Errorf("replay %s-%d batch %d: %w", offsetsTopic, p, h.BaseOffset, err)
				}
				for _, r := range recs {
					if h.BaseOffset+int64(r.OffsetDelta) < off {
						continue
					}
					if err := fn(r.Key, r.Value); err != nil {
						return err
					}
				}
			}
			off = h.NextOffset()
		}
	}
	return ctx.Err()
}
