package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// endPollTimeout bounds each poll under -e, so the loop wakes up to notice
// partitions that are already at their end and will never yield a record.
const endPollTimeout = 500 * time.Millisecond

// consumeOptions are the flags of `samsa consume`.
type consumeOptions struct {
	partition int32  // only this partition, or -1 for all
	offset    string // where to start: see parseOffsetSpec
	count     int64  // stop after this many records; 0 means no limit
	exitAtEnd bool   // stop once every partition reached its starting high watermark
	group     string // consume as a member of this group, committing offsets
	format    string // output template: see recordFormat
}

func newConsumeCommand(cfg *clientConfig) *cobra.Command {
	opts := consumeOptions{}
	cmd := &cobra.Command{
		Use:   "consume TOPIC",
		Short: "Print records of a topic",
		Args:  exactArgs(1, "one TOPIC"),
	}
	flags := cmd.Flags()
	flags.Int32VarP(&opts.partition, "partition", "p", -1, "consume only this partition")
	flags.StringVarP(&opts.offset, "offset", "o", "beginning",
		"start at: beginning, end, OFFSET, -N (N before the end) or @TIMESTAMP_MS; with -g only when the group has no commit")
	flags.Int64VarP(&opts.count, "count", "c", 0, "exit after this many records")
	flags.BoolVarP(&opts.exitAtEnd, "exit", "e", false, "exit once every partition reached the high watermark it had at start")
	flags.StringVarP(&opts.group, "group", "g", "", "consume as a member of this consumer group and commit offsets")
	flags.StringVarP(&opts.format, "format", "f", defaultRecordFormat,
		`output template: %t topic, %p partition, %o offset, %k key, %s value, %T timestamp ms, %h headers, %K/%S key/value length, \n \t`)

	cmd.RunE = cfg.run(func(cmd *cobra.Command, args []string) error {
		return runConsume(cmd, cfg, args[0], opts)
	})
	return cmd
}

func runConsume(cmd *cobra.Command, cfg *clientConfig, topic string, opts consumeOptions) error {
	format, err := parseRecordFormat(opts.format)
	if err != nil {
		return usageError{fmt.Errorf("-f/--format: %w", err)}
	}
	spec, err := parseOffsetSpec(opts.offset)
	if err != nil {
		return usageError{fmt.Errorf("-o/--offset: %w", err)}
	}
	switch {
	case opts.count < 0:
		return usageErrorf("-c/--count must be 0 or more, got %d", opts.count)
	case opts.partition < -1:
		return usageErrorf("-p/--partition must be 0 or more, got %d", opts.partition)
	case opts.group != "" && opts.partition >= 0:
		return usageErrorf("-g/--group and -p/--partition cannot be combined: the group assigns partitions")
	}

	ctx := cmd.Context()
	adm, err := cfg.newAdmin()
	if err != nil {
		return err
	}
	defer adm.Close()
	setupCtx, cancel := cfg.deadline(ctx)
	layout, err := loadPartitionLayout(setupCtx, adm, topic, spec)
	cancel()
	if err != nil {
		return err
	}
	partitions := layout.partitions
	if opts.partition >= 0 {
		if !slices.Contains(partitions, opts.partition) {
			return topicError(topic, fmt.Errorf("partition %d does not exist (the topic has %d)", opts.partition, len(partitions)))
		}
		partitions = []int32{opts.partition}
	}

	tracker := newEndTracker(layout.ends)
	consumerOpts := []kgo.Opt{kgo.KeepControlRecords()} // so -e sees past transaction markers
	if opts.group == "" {
		offsets := make(map[int32]kgo.Offset, len(partitions))
		tracker.assign(partitions)
		for _, p := range partitions {
			start := layout.resolveStart(spec, p)
			offsets[p] = kgo.NewOffset().At(start)
			tracker.setPosition(p, start)
		}
		consumerOpts = append(consumerOpts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}))
	} else {
		consumerOpts = append(consumerOpts, groupOptions(topic, opts.group, spec, tracker)...)
	}
	cl, err := cfg.newClient(consumerOpts...)
	if err != nil {
		return err
	}
	defer cl.Close()

	session := &consumeSession{
		cmd: cmd, cfg: cfg, cl: cl, adm: adm,
		topic: topic, opts: opts, spec: spec, format: format,
		layout: layout, tracker: tracker,
	}
	consumeErr := session.loop(ctx)
	if opts.group != "" {
		// Commit what was printed; SIGINT must not cancel this last step.
		commitCtx, cancel := cfg.deadline(context.WithoutCancel(ctx))
		defer cancel()
		if err := cl.CommitMarkedOffsets(commitCtx); err != nil {
			consumeErr = errors.Join(consumeErr, fmt.Errorf("group %q: commit offsets: %w", opts.group, err))
		}
	}
	return consumeErr
}

// groupOptions configures group consumption. Offsets are committed only for
// printed records, and assignment changes feed the -e tracker.
func groupOptions(topic, group string, spec offsetSpec, tracker *endTracker) []kgo.Opt {
	partitionsOf := func(assignment map[string][]int32) []int32 { return assignment[topic] }
	return []kgo.Opt{
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(spec.resetOffset()),
		kgo.AutoCommitMarks(),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
			tracker.assign(partitionsOf(assigned))
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
			tracker.revoke(partitionsOf(revoked))
			// Replacing the default callback means committing here ourselves;
			// a failure only means the next owner re-reads a few records.
			_ = cl.CommitMarkedOffsets(ctx)
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
			tracker.revoke(partitionsOf(lost))
		}),
	}
}

// consumeSession is one running `samsa consume`.
type consumeSession struct {
	cmd     *cobra.Command
	cfg     *clientConfig
	cl      *kgo.Client  // the consumer
	adm     *kadm.Client // a separate admin client, for offset lookups
	topic   string
	opts    consumeOptions
	spec    offsetSpec
	format  recordFormat
	layout  partitionLayout
	tracker *endTracker
}

// loop polls and prints records until -c or -e is satisfied, a fetch fails,
// or the context is canceled (SIGINT, which is a normal way to stop).
func (s *consumeSession) loop(ctx context.Context) error {
	cl, opts, tracker := s.cl, s.opts, s.tracker
	out := bufio.NewWriterSize(s.cmd.OutOrStdout(), 64<<10)
	var (
		rendered []byte
		printed  int64
	)
	for {
		if opts.exitAtEnd {
			if opts.group != "" && len(tracker.unknownPositions()) > 0 {
				if err := s.resolveGroupPositions(ctx); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return err
				}
			}
			if tracker.done() {
				return nil
			}
		}

		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if opts.exitAtEnd {
			pollCtx, cancel = context.WithTimeout(ctx, endPollTimeout)
		}
		var fetches kgo.Fetches
		if opts.count > 0 {
			fetches = cl.PollRecords(pollCtx, int(min(opts.count-printed, 1<<20)))
		} else {
			fetches = cl.PollFetches(pollCtx)
		}
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err := fetchError(s.cmd, fetches); err != nil {
			return err
		}

		limitReached := false
		fetches.EachRecord(func(r *kgo.Record) {
			if limitReached {
				return
			}
			tracker.observe(r.Partition, r.Offset)
			if opts.group != "" {
				cl.MarkCommitRecords(r)
			}
			if r.Attrs.IsControl() {
				return
			}
			rendered = s.format.appendRecord(rendered[:0], r)
			out.Write(rendered) // a write error is sticky and reported by Flush
			printed++
			limitReached = opts.count > 0 && printed >= opts.count
		})
		if err := out.Flush(); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		if limitReached {
			return nil
		}
	}
}

// fetchError returns the first error that should stop consuming. Poll
// timeouts are expected under -e; data loss (the log was truncated under
// us and kgo reset the position) is worth a warning but not an exit.
func fetchError(cmd *cobra.Command, fetches kgo.Fetches) error {
	for _, fe := range fetches.Errors() {
		if errors.Is(fe.Err, context.DeadlineExceeded) || errors.Is(fe.Err, context.Canceled) {
			continue
		}
		var dataLoss *kgo.ErrDataLoss
		if errors.As(fe.Err, &dataLoss) {
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: warning: %v\n", cmd.Root().Name(), fe.Err)
			continue
		}
		if fe.Topic == "" {
			return fe.Err
		}
		return topicError(fe.Topic, fmt.Errorf("partition %d: %w", fe.Partition, fe.Err))
	}
	return nil
}

// resolveGroupPositions works out where the group starts reading newly
// assigned partitions: the committed offset, else the -o reset position.
func (s *consumeSession) resolveGroupPositions(ctx context.Context) error {
	reqCtx, cancel := s.cfg.deadline(ctx)
	defer cancel()
	committed, err := s.adm.FetchOffsets(reqCtx, s.opts.group)
	if err != nil {
		return fmt.Errorf("group %q: fetch committed offsets: %w", s.opts.group, err)
	}
	for _, p := range s.tracker.unknownPositions() {
		start := s.layout.resolveStart(s.spec, p)
		if c, ok := committed.Lookup(s.topic, p); ok && c.Err == nil && c.At >= 0 {
			start = c.At
		}
		s.tracker.setPosition(p, start)
	}
	return nil
}
