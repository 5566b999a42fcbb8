package cli

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"
)

// e2eStampBytes is the size of the send time (Unix nanoseconds, big endian)
// at the start of every e2e record value.
const e2eStampBytes = 8

// e2ePollInterval bounds each consumer poll, so the consumer notices in time
// that it has seen every record.
const e2ePollInterval = 200 * time.Millisecond

// benchE2EOptions are the flags of `samsa bench e2e`.
type benchE2EOptions struct {
	benchProducerOptions
	duration time.Duration // how long to produce
	idle     time.Duration // how long to wait for stragglers after producing
}

func newBenchE2ECommand(cfg *clientConfig) *cobra.Command {
	opts := &benchE2EOptions{}
	cmd := &cobra.Command{
		Use:   "e2e -t TOPIC",
		Short: "Measure end-to-end latency: produce at a fixed rate, consume, and time each record",
		Long: "A producer writes its send time into each record at --rate records/s for --duration;\n" +
			"a consumer in the same process, reading from the end offsets taken before the start,\n" +
			"records now minus that time for every record.",
		Args: noArgs,
	}
	opts.addFlags(cmd, benchProducerDefaults{linger: 0, size: 1024, producers: 1, rate: 1000})
	flags := cmd.Flags()
	flags.DurationVar(&opts.duration, "duration", 20*time.Second, "how long to produce")
	flags.DurationVar(&opts.idle, "idle-timeout", 10*time.Second, "how long to wait for the last records after producing")
	cmd.RunE = cfg.run(func(cmd *cobra.Command, _ []string) error {
		if err := opts.validate(cmd.Flags().Changed); err != nil {
			return err
		}
		return runBenchE2E(cmd, cfg, opts)
	})
	return cmd
}

// validate checks the flags beyond the shared producer ones.
func (o *benchE2EOptions) validate(changed func(string) bool) error {
	if err := o.benchProducerOptions.validate(changed); err != nil {
		return err
	}
	switch {
	case o.size < e2eStampBytes:
		return usageErrorf("--size must be at least %d (the send time), got %d", e2eStampBytes, o.size)
	case o.rate == 0:
		return usageErrorf("--rate must be positive for e2e: latency under overload measures the backlog")
	case o.duration <= 0:
		return usageErrorf("--duration must be positive, got %s", o.duration)
	case o.idle <= 0:
		return usageErrorf("--idle-timeout must be positive, got %s", o.idle)
	}
	return nil
}

func runBenchE2E(cmd *cobra.Command, cfg *clientConfig, opts *benchE2EOptions) error {
	ctx := cmd.Context()
	if err := ensureBenchTopic(ctx, cfg, opts.topic, opts.partitions, cmd.ErrOrStderr()); err != nil {
		return err
	}
	// The consumer starts at the end offsets from before the first send, so
	// it sees exactly the records of this run.
	startOffsets, err := endOffsets(ctx, cfg, opts.topic)
	if err != nil {
		return err
	}
	consumer, err := cfg.newClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{opts.topic: startOffsets}))
	if err != nil {
		return err
	}
	defer consumer.Close()
	producers, err := newBenchProducers(ctx, cfg, &opts.benchProducerOptions)
	if err != nil {
		return err
	}
	defer closeClients(producers)
	pingCtx, cancel := cfg.deadline(ctx)
	err = consumer.Ping(pingCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("connect consumer: %w", err)
	}

	meter := &benchMeter{}
	progress := startBenchProgress(cmd.ErrOrStderr(), "e2e", meter)
	consumerCtx, stopConsumer := context.WithCancel(ctx)
	defer stopConsumer()
	reader := &e2eReader{cl: consumer, meter: meter, done: make(chan struct{})}
	reader.target.Store(-1)
	go reader.run(consumerCtx)

	// Produce for the duration.
	start := time.Now()
	produceCtx, stopProducing := context.WithTimeout(ctx, opts.duration)
	defer stopProducing()
	var acked atomic.Int64
	produceErrs := &benchMeter{} // counts send failures apart from consumed records
	payload := benchPayload(opts.size)
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			produceErrs.fail(1, err)
			return
		}
		acked.Add(1)
	}
	recordCtx := context.WithoutCancel(ctx)
	pace := newPacer(opts.rate)
	for n := 0; pace.wait(produceCtx) == nil && !produceErrs.failed(); n++ {
		value := make([]byte, opts.size)
		copy(value[e2eStampBytes:], payload[e2eStampBytes:])
		binary.BigEndian.PutUint64(value, uint64(time.Now().UnixNano()))
		// Spread over the producers in turn; each keeps its own batches.
		producers[n%len(producers)].Produce(recordCtx, &kgo.Record{Value: value}, promise)
	}
	producedFor := time.Since(start)
	for _, cl := range producers {
		_ = cl.Flush(recordCtx) // cannot fail: recordCtx is never canceled
	}

	// Wait until the consumer has seen every acknowledged record, or has
	// seen nothing new for the idle timeout.
	reader.target.Store(acked.Load())
	reader.waitIdle(ctx, opts.idle)
	stopConsumer()
	<-reader.done
	progress.stop()

	if missing := acked.Load() - meter.records.Load(); missing > 0 {
		meter.fail(missing, fmt.Errorf("%d acknowledged record(s) never consumed within %s", missing, opts.idle))
	}
	if err := produceErrs.firstError(); err != nil {
		meter.fail(produceErrs.errors.Load(), fmt.Errorf("produce: %w", err))
	}
	return finishBench(cmd, meter, meter.result("e2e", producedFor), "end-to-end latency", ctx.Err() != nil)
}

// e2eReader consumes the run's records and times each one, until it has
// seen target records (set once producing is over; -1 before) or is stopped.
type e2eReader struct {
	cl       *kgo.Client
	meter    *benchMeter
	target   atomic.Int64
	lastSeen atomic.Int64 // Unix nanoseconds of the last consumed record
	done     chan struct{}
}

func (r *e2eReader) run(ctx context.Context) {
	defer close(r.done)
	r.lastSeen.Store(time.Now().UnixNano())
	for ctx.Err() == nil {
		if target := r.target.Load(); target >= 0 && r.meter.records.Load() >= target {
			return
		}
		pollCtx, cancel := context.WithTimeout(ctx, e2ePollInterval)
		fetches := r.cl.PollFetches(pollCtx)
		cancel()
		now := time.Now()
		fetches.EachRecord(func(rec *kgo.Record) {
			if len(rec.Value) < e2eStampBytes {
				r.meter.fail(1, fmt.Errorf("record at %s/%d@%d has no send time", rec.Topic, rec.Partition, rec.Offset))
				return
			}
			sent := int64(binary.BigEndian.Uint64(rec.Value))
			r.meter.observe(time.Duration(now.UnixNano()-sent), 1, int64(len(rec.Key)+len(rec.Value)))
			r.lastSeen.Store(now.UnixNano())
		})
		fetches.EachError(func(topic string, partition int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				r.meter.fail(1, fmt.Errorf("fetch %s/%d: %w", topic, partition, err))
			}
		})
	}
}

// waitIdle returns when the reader is done, ctx ends, or no record arrived
// for idle.
func (r *e2eReader) waitIdle(ctx context.Context, idle time.Duration) {
	ticker := time.NewTicker(e2ePollInterval)
	defer ticker.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			if now.Sub(time.Unix(0, r.lastSeen.Load())) >= idle {
				return
			}
		}
	}
}

// endOffsets returns the current end offset of every partition of topic.
func endOffsets(ctx context.Context, cfg *clientConfig, topic string) (map[int32]kgo.Offset, error) {
	adm, err := cfg.newAdmin()
	if err != nil {
		return nil, err
	}
	defer adm.Close()
	ctx, cancel := cfg.deadline(ctx)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, topicError(topic, fmt.Errorf("list end offsets: %w", err))
	}
	offsets := make(map[int32]kgo.Offset, len(ends[topic]))
	for partition, end := range ends[topic] {
		offsets[partition] = kgo.NewOffset().At(end.Offset)
	}
	if len(offsets) == 0 {
		return nil, topicError(topic, errors.New("has no partitions"))
	}
	return offsets, nil
}
