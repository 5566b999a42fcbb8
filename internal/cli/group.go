package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

func newGroupCommand(cfg *clientConfig) *cobra.Command {
	group := &cobra.Command{
		Use:   "group",
		Short: "List, describe and delete consumer groups, reset their offsets, and set their configs",
		Args:  noArgs,
	}
	group.AddCommand(
		newGroupListCommand(cfg),
		newGroupDescribeCommand(cfg),
		newGroupDeleteCommand(cfg),
		newGroupResetOffsetsCommand(cfg),
		newGroupConfigCommand(cfg),
	)
	return group
}

// Group states as Kafka spells them. Classic groups move through
// PreparingRebalance and CompletingRebalance, KIP-848 consumer groups
// through Assigning and Reconciling; a group that does not exist is Dead.
const (
	groupStateEmpty = "Empty"
	groupStateDead  = "Dead"
)

// knownGroupStates lists the values `group list --state` accepts.
func knownGroupStates() []string {
	return []string{
		groupStateEmpty, "Stable", "PreparingRebalance", "CompletingRebalance",
		"Assigning", "Reconciling", groupStateDead, "Unknown",
	}
}

// parseGroupStates checks --state values and spells them as Kafka does, so
// a broker that compares states exactly still matches "stable".
func parseGroupStates(values []string) ([]string, error) {
	known := knownGroupStates()
	var states []string
	for _, v := range values {
		v = strings.TrimSpace(v)
		i := slices.IndexFunc(known, func(s string) bool { return strings.EqualFold(s, v) })
		if i < 0 {
			return nil, usageErrorf("--state %q: want one of %s", v, strings.Join(known, ", "))
		}
		if !slices.Contains(states, known[i]) {
			states = append(states, known[i])
		}
	}
	return states, nil
}

// groupError names the group an error is about.
func groupError(group string, err error) error {
	return fmt.Errorf("group %q: %w", group, err)
}

// topicPartition names one partition of a topic.
type topicPartition struct {
	topic     string
	partition int32
}

func compareTopicPartitions(a, b topicPartition) int {
	return cmp.Or(strings.Compare(a.topic, b.topic), cmp.Compare(a.partition, b.partition))
}

// groupMember is one member of a group as describe shows it.
type groupMember struct {
	id         string
	instanceID string // static membership id (KIP-345); empty when none
	clientID   string
	host       string
	assigned   []topicPartition // sorted
}

// groupSummary is what list and describe show about a group, whichever
// protocol it uses: a classic group (JoinGroup/SyncGroup, DescribeGroups)
// or a KIP-848 consumer group (ConsumerGroupHeartbeat, ConsumerGroupDescribe).
type groupSummary struct {
	name         string
	kind         string // "classic" or "consumer" (KIP-848)
	state        string
	protocolType string // "consumer" for consumers, "connect", ...; empty when unknown
	assignor     string // the chosen assignor; classic groups report it only when Stable
	coordinator  int32  // broker id, -1 when unknown
	members      []groupMember
}

func classicGroupSummary(g kadm.DescribedGroup) groupSummary {
	s := groupSummary{
		name:         g.Group,
		kind:         "classic",
		state:        g.State,
		protocolType: g.ProtocolType,
		assignor:     g.Protocol,
		coordinator:  g.Coordinator.NodeID,
	}
	for _, m := range g.Members {
		member := groupMember{id: m.MemberID, clientID: m.ClientID, host: m.ClientHost}
		if m.InstanceID != nil {
			member.instanceID = *m.InstanceID
		}
		if assigned, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range assigned.Topics {
				for _, p := range t.Partitions {
					member.assigned = append(member.assigned, topicPartition{t.Topic, p})
				}
			}
		}
		slices.SortFunc(member.assigned, compareTopicPartitions)
		s.members = append(s.members, member)
	}
	return s
}

func consumerGroupSummary(g kadm.DescribedConsumerGroup) groupSummary {
	s := groupSummary{
		name:         g.Group,
		kind:         "consumer",
		state:        g.State,
		protocolType: "consumer",
		assignor:     g.AssignorName,
		coordinator:  g.Coordinator.NodeID,
	}
	for _, m := range g.Members {
		member := groupMember{id: m.MemberID, clientID: m.ClientID, host: m.ClientHost}
		if m.InstanceID != nil {
			member.instanceID = *m.InstanceID
		}
		for _, tp := range m.Assignment.Sorted() {
			for _, p := range tp.Partitions {
				member.assigned = append(member.assigned, topicPartition{tp.Topic, p})
			}
		}
		slices.SortFunc(member.assigned, compareTopicPartitions)
		s.members = append(s.members, member)
	}
	return s
}

// describeGroupSummaries describes groups of either protocol. DescribeGroups
// only knows classic groups: for a KIP-848 group Kafka answers Dead (or,
// from v6, GROUP_ID_NOT_FOUND) and kfake a group without members or protocol
// type. Such answers are checked with ConsumerGroupDescribe when the broker
// has it. A group that exists under neither protocol comes back as Dead.
// failures holds the groups that could not be described at all.
func describeGroupSummaries(ctx context.Context, adm *kadm.Client, names []string) (summaries map[string]groupSummary, failures map[string]error, err error) {
	classic, err := adm.DescribeGroups(ctx, names...)
	if err != nil && len(classic) == 0 {
		return nil, nil, fmt.Errorf("describe groups: %w", err)
	}
	summaries = make(map[string]groupSummary, len(names))
	failures = make(map[string]error)
	var maybeConsumer []string
	for _, name := range names {
		g, ok := classic[name]
		switch {
		case !ok:
			failures[name] = missingFromAnswer(err)
		case g.Err == nil && g.State != groupStateDead && (len(g.Members) > 0 || g.ProtocolType != ""):
			summaries[name] = classicGroupSummary(g)
		case g.Err == nil, errors.Is(g.Err, kerr.GroupIDNotFound):
			maybeConsumer = append(maybeConsumer, name)
		default:
			failures[name] = withBrokerMessage(g.Err, g.ErrMessage)
		}
	}
	if len(maybeConsumer) == 0 {
		return summaries, failures, nil
	}
	// A broker without ConsumerGroupDescribe has no KIP-848 groups, so an
	// error here only means the group is not one.
	consumer, _ := adm.DescribeConsumerGroups(ctx, maybeConsumer...)
	for _, name := range maybeConsumer {
		switch g, c := classic[name], consumer[name]; {
		case c.Group == name && c.Err == nil:
			summaries[name] = consumerGroupSummary(c)
		case g.Err == nil && g.State != groupStateDead:
			// A classic group that only ever had offsets committed to it.
			summaries[name] = classicGroupSummary(g)
		default:
			summaries[name] = groupSummary{name: name, kind: "-", state: groupStateDead, coordinator: g.Coordinator.NodeID}
		}
	}
	return summaries, failures, nil
}

func newGroupListCommand(cfg *clientConfig) *cobra.Command {
	var stateFilter []string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List consumer groups with their state, protocol type and member count",
		Args:  noArgs,
	}
	cmd.Flags().StringSliceVar(&stateFilter, "state", nil,
		"only groups in these states (comma-separated: Stable,Empty,PreparingRebalance,...)")

	cmd.RunE = cfg.run(func(cmd *cobra.Command, _ []string) error {
		states, err := parseGroupStates(stateFilter)
		if err != nil {
			return err
		}
		adm, ctx, done, err := cfg.openAdmin(cmd.Context())
		if err != nil {
			return err
		}
		defer done()

		listed, err := adm.ListGroups(ctx, states...)
		if err != nil {
			return fmt.Errorf("list groups: %w", err)
		}
		var rows []groupListRow
		for _, g := range listed.Sorted() {
			// Brokers before Kafka 2.6 ignore the filter; apply it here too.
			if len(states) > 0 && g.State != "" && !slices.ContainsFunc(states, func(s string) bool { return strings.EqualFold(s, g.State) }) {
				continue
			}
			rows = append(rows, groupListRow{name: g.Group, state: g.State, protocolType: g.ProtocolType, members: -1})
		}
		if len(rows) > 0 {
			names := make([]string, len(rows))
			for i, r := range rows {
				names[i] = r.name
			}
			// Member counts are a nicety: without them the list still stands.
			summaries, _, err := describeGroupSummaries(ctx, adm, names)
			if err == nil {
				for i, r := range rows {
					if s, ok := summaries[r.name]; ok && s.state != groupStateDead {
						rows[i].members = len(s.members)
						rows[i].protocolType = cmp.Or(r.protocolType, s.protocolType)
					}
				}
			}
		}
		return writeGroupList(cmd.OutOrStdout(), rows)
	})
	return cmd
}

// groupListRow is one line of `group list`.
type groupListRow struct {
	name         string
	state        string
	protocolType string
	members      int // -1 when unknown
}

func writeGroupList(out io.Writer, rows []groupListRow) error {
	tw := newTable(out)
	fmt.Fprintln(tw, "GROUP\tSTATE\tPROTOCOL-TYPE\tMEMBERS")
	for _, r := range rows {
		members := "?"
		if r.members >= 0 {
			members = strconv.Itoa(r.members)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.name, orDash(r.state), orDash(r.protocolType), members)
	}
	return tw.Flush()
}

// missingFromAnswer explains a group absent from a broker's answer: the
// request to its coordinator failed (err), or the broker left it out.
func missingFromAnswer(err error) error {
	if err == nil {
		return errors.New("missing from the broker's answer")
	}
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newGroupDescribeCommand(cfg *clientConfig) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "describe GROUP...",
		Short: "Show a group's state, members, committed offsets and lag",
		Args:  minArgs(1, "at least one GROUP"),
	}
	cmd.RunE = cfg.runAdmin(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, names []string) error {
		names = uniqueSorted(names)
		summaries, failed, err := describeGroupSummaries(ctx, adm, names)
		if err != nil {
			return err
		}
		var failures []error
		printed := 0
		for _, name := range names {
			if err := failed[name]; err != nil {
				failures = append(failures, groupError(name, err))
				continue
			}
			description, err := loadGroupDescription(ctx, adm, summaries[name])
			if err != nil {
				failures = append(failures, groupError(name, err))
				continue
			}
			if printed > 0 {
				fmt.Fprintln(cmd.OutOrStdout())
			}
			printed++
			if err := writeGroupDescription(cmd.OutOrStdout(), description); err != nil {
				return err
			}
		}
		return errors.Join(failures...)
	})
	return cmd
}

// errGroupNotFound reports that a group has neither members nor committed
// offsets, which is how Kafka says it does not exist.
var errGroupNotFound = errors.New("group does not exist")

// groupDescription is everything `group describe` prints about one group.
type groupDescription struct {
	groupSummary
	partitions []partitionLag
}

// partitionLag is one partition a group consumes or has committed to.
type partitionLag struct {
	topicPartition
	committed int64  // -1 when nothing is committed
	end       int64  // log end offset (high watermark); -1 when unknown
	lag       int64  // -1 when unknown
	owner     string // id of the member assigned the partition; empty when none
	err       error  // why an offset is unknown
}

// loadGroupDescription fetches the committed offsets of a described group
// and the start and end offsets of every partition it owns or committed to.
func loadGroupDescription(ctx context.Context, adm *kadm.Client, summary groupSummary) (groupDescription, error) {
	committed, err := adm.FetchOffsets(ctx, summary.name)
	if err != nil {
		if summary.state == groupStateDead && errors.Is(err, kerr.GroupIDNotFound) {
			return groupDescription{}, errGroupNotFound
		}
		return groupDescription{}, fmt.Errorf("fetch committed offsets: %w", err)
	}
	committed.DeleteFunc(func(o kadm.OffsetResponse) bool { return o.Err == nil && o.At < 0 })
	if summary.state == groupStateDead && len(committed) == 0 {
		return groupDescription{}, errGroupNotFound
	}

	topics := committed.Partitions()
	for _, m := range summary.members {
		for _, tp := range m.assigned {
			topics.Add(tp.topic, tp.partition)
		}
	}
	// Brokers that name assigned topics only by ID (kfake) leave the name
	// empty; such partitions are shown without offsets.
	delete(topics, "")
	var starts, ends kadm.ListedOffsets
	if names := topics.Topics(); len(names) > 0 {
		// A failed listing leaves those partitions without offsets, shown
		// as unknown, rather than hiding the whole group.
		starts, _ = adm.ListStartOffsets(ctx, names...)
		if ends, err = adm.ListEndOffsets(ctx, names...); err != nil && len(ends) == 0 {
			return groupDescription{}, fmt.Errorf("list log end offsets: %w", err)
		}
	}
	return groupDescription{
		groupSummary: summary,
		partitions:   computeGroupLag(summary.members, committed, starts, ends),
	}, nil
}

// computeGroupLag lists every partition assigned to a member or committed
// to, sorted, with its lag: log end minus the committed offset, or minus the
// log start when nothing is committed (the group would start there), never
// below zero. An unknown end offset leaves the lag unknown.
func computeGroupLag(members []groupMember, committed kadm.OffsetResponses, starts, ends kadm.ListedOffsets) []partitionLag {
	rows := make(map[topicPartition]*partitionLag)
	row := func(tp topicPartition) *partitionLag {
		r, ok := rows[tp]
		if !ok {
			r = &partitionLag{topicPartition: tp, committed: -1, end: -1, lag: -1}
			rows[tp] = r
		}
		return r
	}
	for _, m := range members {
		for _, tp := range m.assigned {
			row(tp).owner = m.id
		}
	}
	committed.Each(func(o kadm.OffsetResponse) {
		r := row(topicPartition{o.Topic, o.Partition})
		if o.Err != nil {
			r.err = o.Err
			return
		}
		r.committed = o.At
	})

	sorted := make([]partitionLag, 0, len(rows))
	for _, r := range rows {
		end, ok := ends.Lookup(r.topic, r.partition)
		switch {
		case r.err != nil:
		case !ok:
			r.err = errors.New("log end offset unknown")
		case end.Err != nil:
			r.err = end.Err
		default:
			r.end = end.Offset
			from := r.committed
			if from < 0 {
				from = 0
				if start, ok := starts.Lookup(r.topic, r.partition); ok && start.Err == nil {
					from = start.Offset
				}
			}
			r.lag = max(r.end-from, 0)
		}
		sorted = append(sorted, *r)
	}
	slices.SortFunc(sorted, func(a, b partitionLag) int {
		return compareTopicPartitions(a.topicPartition, b.topicPartition)
	})
	return sorted
}

// writeGroupDescription prints a header, the members with their
// assignments, and the partitions with committed offset, end and lag.
func writeGroupDescription(out io.Writer, d groupDescription) error {
	fmt.Fprintf(out, "Group: %s\n", d.name)
	fmt.Fprintf(out, "Type: %s\n", orDash(d.kind))
	fmt.Fprintf(out, "State: %s\n", orDash(d.state))
	fmt.Fprintf(out, "Protocol: %s\n", orDash(d.protocolType))
	fmt.Fprintf(out, "Assignor: %s\n", orDash(d.assignor))
	if d.coordinator >= 0 {
		fmt.Fprintf(out, "Coordinator: %d\n", d.coordinator)
	} else {
		fmt.Fprintln(out, "Coordinator: -")
	}

	fmt.Fprintf(out, "Members: %d\n", len(d.members))
	if len(d.members) > 0 {
		tw := newTable(out)
		fmt.Fprintln(tw, "MEMBER-ID\tCLIENT-ID\tHOST\tINSTANCE-ID\tASSIGNED")
		for _, m := range d.members {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.id, orDash(m.clientID), orDash(m.host),
				orDash(m.instanceID), orDash(formatAssignment(m.assigned)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	if len(d.partitions) == 0 {
		fmt.Fprintln(out, "Offsets: none committed")
		return nil
	}
	tw := newTable(out)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tCOMMITTED-OFFSET\tLOG-END-OFFSET\tLAG\tOWNER")
	for _, p := range d.partitions {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s", topicOrUnknown(p.topic), p.partition,
			offsetOrDash(p.committed, "-"), offsetOrDash(p.end, "?"), offsetOrDash(p.lag, "?"), orDash(p.owner))
		if p.err != nil {
			fmt.Fprintf(tw, "\t%v", p.err)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// topicOrUnknown shows a topic the broker did not name.
func topicOrUnknown(topic string) string {
	if topic == "" {
		return "?"
	}
	return topic
}

// offsetOrDash prints a non-negative offset, or missing for -1.
func offsetOrDash(offset int64, missing string) string {
	if offset < 0 {
		return missing
	}
	return strconv.FormatInt(offset, 10)
}

// formatAssignment prints sorted partitions compactly: "a:0,1 b:2".
func formatAssignment(assigned []topicPartition) string {
	var b strings.Builder
	for i, tp := range assigned {
		if i > 0 && assigned[i-1].topic == tp.topic {
			b.WriteByte(',')
		} else {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(topicOrUnknown(tp.topic))
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(int(tp.partition)))
	}
	return b.String()
}

func newGroupDeleteCommand(cfg *clientConfig) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete GROUP...",
		Short: "Delete groups that have no members, with their committed offsets",
		Args:  minArgs(1, "at least one GROUP"),
	}
	cmd.RunE = cfg.runAdmin(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, names []string) error {
		names = uniqueSorted(names)
		responses, err := adm.DeleteGroups(ctx, names...)
		if err != nil && len(responses) == 0 {
			return fmt.Errorf("delete groups: %w", err)
		}
		results := make([]error, len(names))
		for i, name := range names {
			if resp, ok := responses[name]; ok {
				results[i] = withBrokerMessage(resp.Err, resp.ErrMessage)
			} else {
				results[i] = missingFromAnswer(err)
			}
		}
		return writeGroupDeletions(cmd.OutOrStdout(), names, results)
	})
	return cmd
}

// writeGroupDeletions prints one line per group and fails when any group
// was not deleted.
func writeGroupDeletions(out io.Writer, names []string, results []error) error {
	failed := 0
	for i, name := range names {
		if results[i] == nil {
			fmt.Fprintf(out, "deleted group %q\n", name)
			continue
		}
		failed++
		fmt.Fprintf(out, "group %q not deleted: %s\n", name, oneLine(results[i].Error()))
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d group(s) not deleted", failed, len(names))
	}
	return nil
}
