package cli

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"
)

// benchConsumeOptions are the flags of `samsa bench consume`.
type benchConsumeOptions struct {
	topic   string
	group   string        // consume as a member of this (fresh) group; "" = no group
	records int64         // stop after this many; 0 = what the topic holds at start
	idle    time.Duration // give up when no record arrives for this long
}

func newBenchConsumeCommand(cfg *clientConfig) *cobra.Command {
	opts := &benchConsumeOptions{}
	cmd := &cobra.Command{
		Use:   "consume -t TOPIC",
		Short: "Read a topic from the start with a fresh consumer and measure throughput",
		Long: "A new consumer reads every partition from the start until --records records arrived.\n" +
			"The latency is how long each poll that returned records waited for them.",
		Args: noArgs,
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.topic, "topic", "t", "", "topic to read")
	flags.StringVarP(&opts.group, "group", "g", "", "read as a member of this consumer group (use a new name for a fresh start)")
	flags.Int64Var(&opts.records, "records", 0, "records to read (0: all the topic holds when the run starts)")
	flags.DurationVar(&opts.idle, "idle-timeout", 10*time.Second, "fail when no record arrives for this long")
	cmd.RunE = cfg.run(func(cmd *cobra.Command, _ []string) error {
		if err := opts.validate(); err != nil {
			return err
		}
		return runBenchConsume(cmd, cfg, opts)
	})
	return cmd
}

func (o *benchConsumeOptions) validate() error {
	switch {
	case o.topic == "":
		return usageErrorf("-t/--topic is required")
	case o.records < 0:
		return usageErrorf("--records must be 0 (all) or more, got %d", o.records)
	case o.idle <= 0:
		return usageErrorf("--idle-timeout must be positive, got %s", o.idle)
	}
	return nil
}

func runBenchConsume(cmd *cobra.Command, cfg *clientConfig, opts *benchConsumeOptions) error {
	ctx := cmd.Context()
	held, err := recordsInTopic(ctx, cfg, opts.topic)
	if err != nil {
		return err
	}
	target := opts.records
	if target == 0 {
		target = held
	}
	if target == 0 {
		return topicError(opts.topic, errors.New("holds no records; nothing to read"))
	}

	consumerOpts := []kgo.Opt{
		kgo.ConsumeTopics(opts.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}
	if opts.group != "" {
		consumerOpts = append(consumerOpts, kgo.ConsumerGroup(opts.group))
	}
	cl, err := cfg.newClient(consumerOpts...)
	if err != nil {
		return err
	}
	defer cl.Close()

	meter := &benchMeter{}
	progress := startBenchProgress(cmd.ErrOrStderr(), "consume", meter)
	start := time.Now()
	lastRecord := start
	for meter.records.Load() < target && ctx.Err() == nil && !meter.failed() {
		pollCtx, cancel := context.WithTimeout(ctx, opts.idle)
		polled := time.Now()
		// Ask for no more than are still wanted, so --records is exact.
		fetches := cl.PollRecords(pollCtx, int(min(target-meter.records.Load(), math.MaxInt32)))
		cancel()
		wait := time.Since(polled)

		var records, bytes int64
		fetches.EachRecord(func(r *kgo.Record) {
			records++
			bytes += int64(len(r.Key) + len(r.Value))
		})
		fetches.EachError(func(topic string, partition int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				meter.fail(1, fmt.Errorf("fetch %s/%d: %w", topic, partition, err))
			}
		})
		if records > 0 {
			meter.observe(wait, records, bytes)
			lastRecord = time.Now()
		} else if idle := time.Since(lastRecord); idle >= opts.idle && ctx.Err() == nil {
			meter.fail(1, fmt.Errorf("no record for %s after %d of %d", idle.Round(time.Millisecond), meter.records.Load(), target))
		}
	}
	elapsed := time.Since(start)
	progress.stop()

	return finishBench(cmd, meter, meter.result("consume", elapsed), "fetch wait", ctx.Err() != nil)
}

// recordsInTopic returns how many records the topic holds (end minus start
// offset, summed over partitions), or an error when it does not exist.
func recordsInTopic(ctx context.Context, cfg *clientConfig, topic string) (int64, error) {
	adm, err := cfg.newAdmin()
	if err != nil {
		return 0, err
	}
	defer adm.Close()
	ctx, cancel := cfg.deadline(ctx)
	defer cancel()
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return 0, topicError(topic, fmt.Errorf("list start offsets: %w", err))
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return 0, topicError(topic, fmt.Errorf("list end offsets: %w", err))
	}
	if len(ends[topic]) == 0 {
		return 0, topicError(topic, errors.New("does not exist"))
	}
	var total int64
	for partition, end := range ends[topic] {
		if start, ok := starts.Lookup(topic, partition); ok {
			total += end.Offset - start.Offset
		}
	}
	return total, nil
}
