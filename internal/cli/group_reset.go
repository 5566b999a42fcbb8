package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// errGroupActive reports that a group still has members, so its offsets may
// not be reset: the members would overwrite them with their next commit.
var errGroupActive = errors.New("offsets can only be reset while the group has no members (stop its consumers first)")

// errNoCommittedOffset reports that --shift-by met a partition the group
// never committed to, so there is nothing to shift from.
var errNoCommittedOffset = errors.New("no committed offset to shift from")

// resetKind says how reset-offsets picks the new offset of a partition.
type resetKind int

const (
	resetToEarliest  resetKind = iota + 1 // the log start offset
	resetToLatest                         // the log end offset (high watermark)
	resetToOffset                         // value is the offset
	resetToTimestamp                      // value is Unix ms: the first record at or after it
	resetShiftBy                          // value is added to the committed offset
)

// resetTarget is the parsed --to-*/--shift-by choice.
type resetTarget struct {
	kind  resetKind
	value int64
}

// resetTargetFlags holds the --to-*/--shift-by flags as given; a nil pointer
// is a flag that was not given.
type resetTargetFlags struct {
	earliest  bool
	latest    bool
	offset    *int64
	datetime  *string
	timestamp *int64
	shiftBy   *int64
}

// parseResetTarget checks that exactly one --to-*/--shift-by flag was given
// and turns it into a target.
func parseResetTarget(f resetTargetFlags) (resetTarget, error) {
	var chosen []string
	var target resetTarget
	choose := func(flag string, t resetTarget) {
		chosen = append(chosen, flag)
		target = t
	}
	if f.earliest {
		choose("--to-earliest", resetTarget{kind: resetToEarliest})
	}
	if f.latest {
		choose("--to-latest", resetTarget{kind: resetToLatest})
	}
	if f.offset != nil {
		choose("--to-offset", resetTarget{kind: resetToOffset, value: *f.offset})
	}
	if f.datetime != nil {
		choose("--to-datetime", resetTarget{kind: resetToTimestamp})
	}
	if f.timestamp != nil {
		choose("--to-timestamp", resetTarget{kind: resetToTimestamp, value: *f.timestamp})
	}
	if f.shiftBy != nil {
		choose("--shift-by", resetTarget{kind: resetShiftBy, value: *f.shiftBy})
	}
	switch len(chosen) {
	case 0:
		return resetTarget{}, usageErrorf("say where to move the offsets: one of --to-earliest, --to-latest, " +
			"--to-offset N, --to-datetime RFC3339, --to-timestamp MS or --shift-by N")
	case 1:
	default:
		return resetTarget{}, usageErrorf("%s cannot be combined: give only one of them", strings.Join(chosen, ", "))
	}
	if f.datetime != nil {
		at, err := time.Parse(time.RFC3339Nano, *f.datetime)
		if err != nil {
			return resetTarget{}, usageErrorf("--to-datetime %q: want RFC 3339, like 2024-05-01T12:00:00Z or 2024-05-01T14:00:00+02:00", *f.datetime)
		}
		target.value = at.UnixMilli()
	}
	// ListOffsets reads negative timestamps as "earliest"/"latest" codes.
	if target.kind == resetToTimestamp && target.value < 0 {
		return resetTarget{}, usageErrorf("%s: the time must not be before 1970 (Unix ms %d)", chosen[0], target.value)
	}
	return target, nil
}

// resetScope is which partitions reset-offsets moves.
type resetScope struct {
	allTopics bool               // every partition the group has committed to
	topics    map[string][]int32 // topic → sorted partitions; nil means every partition
}

// parseResetScope checks that exactly one of --topic (repeatable) and
// --all-topics was given and merges the --topic specs.
func parseResetScope(specs []string, allTopics bool) (resetScope, error) {
	switch {
	case allTopics && len(specs) > 0:
		return resetScope{}, usageErrorf("--all-topics cannot be combined with --topic")
	case allTopics:
		return resetScope{allTopics: true}, nil
	case len(specs) == 0:
		return resetScope{}, usageErrorf("say which partitions to reset: --topic TOPIC[:P,P...] (repeatable) or --all-topics")
	}
	scope := resetScope{topics: make(map[string][]int32)}
	for _, spec := range specs {
		topic, partitions, err := parseTopicPartitions(spec)
		if err != nil {
			return resetScope{}, usageErrorf("--topic: %w", err)
		}
		previous, seen := scope.topics[topic]
		switch {
		case !seen:
			scope.topics[topic] = partitions
		case previous == nil || partitions == nil:
			scope.topics[topic] = nil // the whole topic wins
		default:
			scope.topics[topic] = slices.Compact(slices.Sorted(slices.Values(append(previous, partitions...))))
		}
	}
	return scope, nil
}

// parseTopicPartitions parses TOPIC or TOPIC:P,P,... (Kafka's --topic
// syntax); a bare topic returns nil partitions, meaning all of them.
// Topic names cannot contain ':', so the first one separates.
func parseTopicPartitions(spec string) (topic string, partitions []int32, err error) {
	topic, list, hasList := strings.Cut(spec, ":")
	if topic == "" {
		return "", nil, fmt.Errorf("%q: want TOPIC or TOPIC:PARTITION,PARTITION...", spec)
	}
	if !hasList {
		return topic, nil, nil
	}
	for _, field := range strings.Split(list, ",") {
		p, err := strconv.ParseInt(strings.TrimSpace(field), 10, 32)
		if err != nil || p < 0 {
			return "", nil, fmt.Errorf("%q: %q is not a partition number", spec, field)
		}
		partitions = append(partitions, int32(p))
	}
	return topic, slices.Compact(slices.Sorted(slices.Values(partitions))), nil
}

// partitionBounds are the offsets a reset is computed from.
type partitionBounds struct {
	start  int64 // log start offset
	end    int64 // log end offset (high watermark)
	atTime int64 // first offset at or after the --to-* time; -1 when none or not asked
}

// offsetReset is one line of the reset plan.
type offsetReset struct {
	topicPartition
	current int64 // committed offset; -1 when none
	next    int64 // the offset to commit
}

// planReset computes the new offset of every partition in order. Like
// Kafka's tool, every new offset is kept inside [log start, log end].
func planReset(target resetTarget, partitions []topicPartition,
	committed map[topicPartition]int64, bounds map[topicPartition]partitionBounds,
) ([]offsetReset, error) {
	plan := make([]offsetReset, 0, len(partitions))
	for _, tp := range partitions {
		b, ok := bounds[tp]
		if !ok {
			return nil, topicError(tp.topic, fmt.Errorf("partition %d: log offsets unknown", tp.partition))
		}
		current, hasCommit := committed[tp]
		if !hasCommit {
			current = -1
		}
		var next int64
		switch target.kind {
		case resetToEarliest:
			next = b.start
		case resetToLatest:
			next = b.end
		case resetToOffset:
			next = target.value
		case resetToTimestamp:
			next = b.atTime
			if next < 0 { // no record at or after the time
				next = b.end
			}
		case resetShiftBy:
			if !hasCommit {
				return nil, topicError(tp.topic, fmt.Errorf("partition %d: %w", tp.partition, errNoCommittedOffset))
			}
			next = saturatingAdd(current, target.value)
		default:
			return nil, fmt.Errorf("unknown reset kind %d", target.kind)
		}
		plan = append(plan, offsetReset{topicPartition: tp, current: current, next: clampOffset(next, b.start, b.end)})
	}
	return plan, nil
}

// clampOffset moves offset into [start, end].
func clampOffset(offset, start, end int64) int64 {
	return min(max(offset, start), end)
}

// saturatingAdd adds without wrapping around, so a huge --shift-by clamps.
func saturatingAdd(a, b int64) int64 {
	switch {
	case b > 0 && a > math.MaxInt64-b:
		return math.MaxInt64
	case b < 0 && a < math.MinInt64-b:
		return math.MinInt64
	}
	return a + b
}

// writeResetPlan prints the plan as a table and says whether it was
// committed.
func writeResetPlan(out io.Writer, group string, plan []offsetReset, executed bool) error {
	tw := newTable(out)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tCURRENT-OFFSET\tNEW-OFFSET")
	for _, r := range plan {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\n", r.topic, r.partition, offsetOrDash(r.current, "-"), r.next)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if executed {
		fmt.Fprintf(out, "committed new offsets for %d partition(s) of group %q\n", len(plan), group)
	} else {
		fmt.Fprintf(out, "dry run: nothing committed; add --execute to commit these offsets to group %q\n", group)
	}
	return nil
}

func newGroupResetOffsetsCommand(cfg *clientConfig) *cobra.Command {
	var (
		topicSpecs []string
		allTopics  bool
		execute    bool
		targetArgs resetTargetFlags
		offset     int64
		datetime   string
		timestamp  int64
		shiftBy    int64
	)
	cmd := &cobra.Command{
		Use: "reset-offsets GROUP (--topic TOPIC[:P,P...]... | --all-topics) " +
			"(--to-earliest | --to-latest | --to-offset N | --to-datetime RFC3339 | --to-timestamp MS | --shift-by N) [--execute]",
		Short: "Move a group's committed offsets (a dry run unless --execute)",
		Args:  exactArgs(1, "one GROUP"),
	}
	flags := cmd.Flags()
	flags.StringArrayVar(&topicSpecs, "topic", nil, "TOPIC or TOPIC:P,P... whose offsets to reset (repeatable)")
	flags.BoolVar(&allTopics, "all-topics", false, "reset every partition the group has committed offsets for")
	flags.BoolVar(&targetArgs.earliest, "to-earliest", false, "move to the log start offset")
	flags.BoolVar(&targetArgs.latest, "to-latest", false, "move to the log end offset")
	flags.Int64Var(&offset, "to-offset", 0, "move to this offset (kept inside the log)")
	flags.StringVar(&datetime, "to-datetime", "", "move to the first record at or after this RFC 3339 time")
	flags.Int64Var(&timestamp, "to-timestamp", 0, "move to the first record at or after this Unix time in ms")
	flags.Int64Var(&shiftBy, "shift-by", 0, "move the committed offset by N (negative moves back)")
	flags.BoolVar(&execute, "execute", false, "commit the new offsets (otherwise only print them)")

	cmd.RunE = cfg.run(func(cmd *cobra.Command, args []string) error {
		group := args[0]
		if flags.Changed("to-offset") {
			targetArgs.offset = &offset
		}
		if flags.Changed("to-datetime") {
			targetArgs.datetime = &datetime
		}
		if flags.Changed("to-timestamp") {
			targetArgs.timestamp = &timestamp
		}
		if flags.Changed("shift-by") {
			targetArgs.shiftBy = &shiftBy
		}
		target, err := parseResetTarget(targetArgs)
		if err != nil {
			return err
		}
		scope, err := parseResetScope(topicSpecs, allTopics)
		if err != nil {
			return err
		}
		adm, ctx, done, err := cfg.openAdmin(cmd.Context())
		if err != nil {
			return err
		}
		defer done()

		if err := checkGroupInactive(ctx, adm, group); err != nil {
			if !execute && errors.Is(err, errGroupActive) {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %v; --execute would be refused\n", err)
			} else {
				return err
			}
		}
		plan, err := loadResetPlan(ctx, adm, group, scope, target)
		if err != nil {
			return groupError(group, err)
		}
		if execute {
			if err := commitResetPlan(ctx, adm, group, plan); err != nil {
				return groupError(group, err)
			}
		}
		return writeResetPlan(cmd.OutOrStdout(), group, plan, execute)
	})
	return cmd
}

// checkGroupInactive fails with errGroupActive unless the group is Empty
// or does not exist (Dead), the states in which Kafka lets offsets be reset.
func checkGroupInactive(ctx context.Context, adm *kadm.Client, group string) error {
	summaries, failures, err := describeGroupSummaries(ctx, adm, []string{group})
	if err != nil {
		return groupError(group, err)
	}
	if err := failures[group]; err != nil {
		return groupError(group, err)
	}
	switch s := summaries[group]; s.state {
	case groupStateEmpty, groupStateDead:
		return nil
	default:
		return fmt.Errorf("group %q is %s with %d member(s): %w", group, s.state, len(s.members), errGroupActive)
	}
}

// loadResetPlan resolves the scope to partitions, fetches the group's
// committed offsets and the partitions' bounds, and computes the plan.
func loadResetPlan(ctx context.Context, adm *kadm.Client, group string, scope resetScope, target resetTarget) ([]offsetReset, error) {
	fetched, err := adm.FetchOffsets(ctx, group)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return nil, fmt.Errorf("fetch committed offsets: %w", err)
	}
	committed := make(map[topicPartition]int64)
	committedTopics := make(map[string][]int32)
	fetched.Each(func(o kadm.OffsetResponse) {
		if o.Err == nil && o.At >= 0 {
			committed[topicPartition{o.Topic, o.Partition}] = o.At
			committedTopics[o.Topic] = append(committedTopics[o.Topic], o.Partition)
		}
	})

	wanted := scope.topics
	if scope.allTopics {
		if len(committedTopics) == 0 {
			return nil, errors.New("no committed offsets to reset; name the partitions with --topic")
		}
		wanted = committedTopics
	}
	names := slices.Sorted(maps.Keys(wanted))
	topics, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	var partitions []topicPartition
	for _, name := range names {
		detail, ok := topics[name]
		if !ok {
			detail.Err = kerr.UnknownTopicOrPartition
		}
		if detail.Err != nil {
			return nil, topicError(name, detail.Err)
		}
		chosen := wanted[name]
		if chosen == nil {
			chosen = detail.Partitions.Numbers()
		}
		for _, p := range chosen {
			if _, exists := detail.Partitions[p]; !exists {
				return nil, topicError(name, fmt.Errorf("no partition %d (the topic has %d)", p, len(detail.Partitions)))
			}
			partitions = append(partitions, topicPartition{name, p})
		}
	}
	slices.SortFunc(partitions, compareTopicPartitions)

	bounds, err := loadPartitionBounds(ctx, adm, names, target)
	if err != nil {
		return nil, err
	}
	return planReset(target, partitions, committed, bounds)
}

// loadPartitionBounds lists the log start and end offsets of topics, and
// the offsets at the target time when resetting to a time.
func loadPartitionBounds(ctx context.Context, adm *kadm.Client, topics []string, target resetTarget) (map[topicPartition]partitionBounds, error) {
	list := func(what string, lister func(context.Context, ...string) (kadm.ListedOffsets, error)) (kadm.ListedOffsets, error) {
		listed, err := lister(ctx, topics...)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", what, err)
		}
		if err := listed.Error(); err != nil {
			return nil, fmt.Errorf("list %s: %w", what, err)
		}
		return listed, nil
	}
	starts, err := list("log start offsets", adm.ListStartOffsets)
	if err != nil {
		return nil, err
	}
	ends, err := list("log end offsets", adm.ListEndOffsets)
	if err != nil {
		return nil, err
	}
	var atTime kadm.ListedOffsets
	if target.kind == resetToTimestamp {
		afterMilli := func(ctx context.Context, topics ...string) (kadm.ListedOffsets, error) {
			return adm.ListOffsetsAfterMilli(ctx, target.value, topics...)
		}
		if atTime, err = list("offsets by time", afterMilli); err != nil {
			return nil, err
		}
	}
	bounds := make(map[topicPartition]partitionBounds)
	starts.Each(func(o kadm.ListedOffset) {
		b := partitionBounds{start: o.Offset, end: -1, atTime: -1}
		if end, ok := ends.Lookup(o.Topic, o.Partition); ok {
			b.end = end.Offset
		}
		if at, ok := atTime.Lookup(o.Topic, o.Partition); ok {
			b.atTime = at.Offset
		}
		if b.end >= 0 {
			bounds[topicPartition{o.Topic, o.Partition}] = b
		}
	})
	return bounds, nil
}

// commitResetPlan commits the plan's offsets, failing on the first
// partition the broker refused.
func commitResetPlan(ctx context.Context, adm *kadm.Client, group string, plan []offsetReset) error {
	offsets := make(kadm.Offsets)
	for _, r := range plan {
		offsets.Add(kadm.Offset{Topic: r.topic, Partition: r.partition, At: r.next, LeaderEpoch: -1})
	}
	responses, err := adm.CommitOffsets(ctx, group, offsets)
	if err != nil {
		return fmt.Errorf("commit offsets: %w", err)
	}
	var failures []error
	for _, r := range responses.Sorted() {
		if r.Err != nil {
			failures = append(failures, topicError(r.Topic, fmt.Errorf("partition %d: commit: %w", r.Partition, r.Err)))
		}
	}
	return errors.Join(failures...)
}
