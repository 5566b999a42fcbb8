package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func newTopicCommand(cfg *clientConfig) *cobra.Command {
	topic := &cobra.Command{
		Use:   "topic",
		Short: "Create, list, describe, delete and configure topics",
		Args:  noArgs,
	}
	topic.AddCommand(
		newTopicCreateCommand(cfg),
		newTopicListCommand(cfg),
		newTopicDescribeCommand(cfg),
		newTopicDeleteCommand(cfg),
		newTopicAlterConfigCommand(cfg),
	)
	return topic
}

func newTopicCreateCommand(cfg *clientConfig) *cobra.Command {
	var (
		partitions   int32
		replication  int16
		configPairs  []string
		ifNotExists  bool
		validateOnly bool
	)
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a topic",
		Args:  exactArgs(1, "one topic NAME"),
	}
	flags := cmd.Flags()
	flags.Int32VarP(&partitions, "partitions", "p", -1, "number of partitions (-1: broker default)")
	flags.Int16VarP(&replication, "replication", "r", -1, "replication factor (-1: broker default)")
	flags.StringArrayVarP(&configPairs, "config", "c", nil, "topic config key=value (repeatable)")
	flags.BoolVar(&ifNotExists, "if-not-exists", false, "succeed if the topic already exists")
	flags.BoolVar(&validateOnly, "validate-only", false, "ask the broker to check the request without creating the topic")

	cmd.RunE = cfg.run(func(cmd *cobra.Command, args []string) error {
		name := args[0]
		configs, err := parseConfigPairs(configPairs)
		if err != nil {
			return err
		}
		adm, ctx, done, err := cfg.openAdmin(cmd.Context())
		if err != nil {
			return err
		}
		defer done()

		create := adm.CreateTopics
		if validateOnly {
			create = adm.ValidateCreateTopics
		}
		responses, err := create(ctx, partitions, replication, configs, name)
		if err != nil {
			return topicError(name, err)
		}
		resp, err := responses.On(name, nil)
		if err != nil {
			return topicError(name, err)
		}
		out := cmd.OutOrStdout()
		switch {
		case ifNotExists && errors.Is(resp.Err, kerr.TopicAlreadyExists):
			fmt.Fprintf(out, "topic %q already exists\n", name)
			return nil
		case resp.Err != nil:
			return topicError(name, withBrokerMessage(resp.Err, resp.ErrMessage))
		}
		verb := "created"
		if validateOnly {
			verb = "validated (not created)"
		}
		fmt.Fprintf(out, "%s topic %q%s\n", verb, name, createdShape(resp))
		return nil
	})
	return cmd
}

// createdShape describes the partition count and replication the broker
// chose, when it reports them (CreateTopics v5+).
func createdShape(resp kadm.CreateTopicResponse) string {
	if resp.NumPartitions <= 0 || resp.ReplicationFactor <= 0 {
		return ""
	}
	return fmt.Sprintf(" with %d partition(s), replication %d", resp.NumPartitions, resp.ReplicationFactor)
}

func newTopicListCommand(cfg *clientConfig) *cobra.Command {
	var internal bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List topics with their partition count and replication factor",
		Args:  noArgs,
	}
	cmd.Flags().BoolVar(&internal, "internal", false, "include internal topics such as __consumer_offsets")

	cmd.RunE = cfg.runAdmin(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, _ []string) error {
		list := adm.ListTopics
		if internal {
			list = adm.ListTopicsWithInternal
		}
		topics, err := list(ctx)
		if err != nil {
			return fmt.Errorf("list topics: %w", err)
		}
		tw := newTable(cmd.OutOrStdout())
		fmt.Fprintln(tw, "NAME\tPARTITIONS\tREPLICATION")
		for _, t := range topics.Sorted() {
			if t.Err != nil {
				fmt.Fprintf(tw, "%s\t-\t-\t%v\n", t.Topic, t.Err)
				continue
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\n", t.Topic, len(t.Partitions), t.Partitions.NumReplicas())
		}
		return tw.Flush()
	})
	return cmd
}

func newTopicDescribeCommand(cfg *clientConfig) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "describe NAME...",
		Short: "Show partitions, leaders, offsets and non-default configs of topics",
		Args:  minArgs(1, "at least one topic NAME"),
	}
	cmd.RunE = cfg.runAdmin(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, names []string) error {
		names = uniqueSorted(names)
		metadata, err := adm.Metadata(ctx, names...)
		if err != nil {
			return fmt.Errorf("describe topics: %w", err)
		}
		var failures []error
		var found []string
		for _, name := range names {
			detail, ok := metadata.Topics[name]
			if !ok {
				detail.Err = kerr.UnknownTopicOrPartition
			}
			if detail.Err != nil {
				failures = append(failures, topicError(name, detail.Err))
				continue
			}
			found = append(found, name)
		}
		if len(found) == 0 {
			return errors.Join(failures...)
		}
		starts, err := adm.ListStartOffsets(ctx, found...)
		if err != nil {
			return fmt.Errorf("list log start offsets: %w", err)
		}
		ends, err := adm.ListEndOffsets(ctx, found...)
		if err != nil {
			return fmt.Errorf("list high watermarks: %w", err)
		}
		configs, err := adm.DescribeTopicConfigs(ctx, found...)
		if err != nil {
			return fmt.Errorf("describe topic configs: %w", err)
		}

		out := cmd.OutOrStdout()
		for i, name := range found {
			if i > 0 {
				fmt.Fprintln(out)
			}
			config, _ := configs.On(name, nil)
			if err := writeTopicDescription(out, metadata.Topics[name], config, starts, ends); err != nil {
				return err
			}
		}
		return errors.Join(failures...)
	})
	return cmd
}

// writeTopicDescription prints one topic: a header, its non-default
// configs, and a partition table.
func writeTopicDescription(out io.Writer, topic kadm.TopicDetail, config kadm.ResourceConfig,
	starts, ends kadm.ListedOffsets,
) error {
	fmt.Fprintf(out, "Topic: %s\n", topic.Topic)
	fmt.Fprintf(out, "ID: %s\n", formatTopicID(topic.ID))
	fmt.Fprintf(out, "Partitions: %d  Replication: %d\n", len(topic.Partitions), topic.Partitions.NumReplicas())

	switch overrides := nonDefaultConfigs(config.Configs); {
	case config.Err != nil:
		fmt.Fprintf(out, "Configs: unavailable: %v\n", withBrokerMessage(config.Err, config.ErrMessage))
	case len(overrides) == 0:
		fmt.Fprintln(out, "Configs: (all defaults)")
	default:
		fmt.Fprintln(out, "Configs:")
		tw := newTable(out)
		for _, c := range overrides {
			fmt.Fprintf(tw, "  %s=%s\t%s\n", c.Key, shownValue(c), c.Source)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	tw := newTable(out)
	fmt.Fprintln(tw, "PARTITION\tLEADER\tEPOCH\tREPLICAS\tISR\tLOG-START\tHIGH-WATERMARK")
	for _, p := range topic.Partitions.Sorted() {
		if p.Err != nil && !errors.Is(p.Err, kerr.LeaderNotAvailable) {
			fmt.Fprintf(tw, "%d\t-\t-\t-\t-\t-\t-\t%v\n", p.Partition, p.Err)
			continue
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%s\t%s\t%s\t%s\n", p.Partition, p.Leader, p.LeaderEpoch,
			joinIDs(p.Replicas), joinIDs(p.ISR),
			listedOffset(starts, topic.Topic, p.Partition), listedOffset(ends, topic.Topic, p.Partition))
	}
	return tw.Flush()
}

// shownValue is a described config's value as the CLI prints it.
func shownValue(c kadm.Config) string {
	if c.Sensitive {
		return "(sensitive)"
	}
	return c.MaybeValue()
}

// nonDefaultConfigs keeps the configs set somewhere other than the built-in
// defaults (topic overrides and broker-level settings), sorted by name.
func nonDefaultConfigs(configs []kadm.Config) []kadm.Config {
	var kept []kadm.Config
	for _, c := range configs {
		if c.Source != kmsg.ConfigSourceDefaultConfig && c.Source != kmsg.ConfigSourceUnknown {
			kept = append(kept, c)
		}
	}
	slices.SortFunc(kept, func(a, b kadm.Config) int { return strings.Compare(a.Key, b.Key) })
	return kept
}

// formatTopicID prints a topic ID the way Kafka's tools do (URL-safe base64
// without padding).
func formatTopicID(id kadm.TopicID) string {
	if id == (kadm.TopicID{}) {
		return "-"
	}
	return base64.RawURLEncoding.EncodeToString(id[:])
}

func listedOffset(offsets kadm.ListedOffsets, topic string, partition int32) string {
	o, ok := offsets.Lookup(topic, partition)
	if !ok || o.Err != nil {
		return "?"
	}
	return strconv.FormatInt(o.Offset, 10)
}

func joinIDs(ids []int32) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(int(id))
	}
	return strings.Join(parts, ",")
}

func newTopicDeleteCommand(cfg *clientConfig) *cobra.Command {
	var ifExists bool
	cmd := &cobra.Command{
		Use:   "delete NAME...",
		Short: "Delete topics",
		Args:  minArgs(1, "at least one topic NAME"),
	}
	cmd.Flags().BoolVar(&ifExists, "if-exists", false, "succeed if a topic does not exist")

	cmd.RunE = cfg.runAdmin(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, names []string) error {
		names = uniqueSorted(names)
		responses, err := adm.DeleteTopics(ctx, names...)
		if err != nil {
			return fmt.Errorf("delete topics: %w", err)
		}
		var failures []error
		for _, name := range names {
			resp, err := responses.On(name, nil)
			if err == nil {
				err = withBrokerMessage(resp.Err, resp.ErrMessage)
			}
			switch {
			case err == nil:
				fmt.Fprintf(cmd.OutOrStdout(), "deleted topic %q\n", name)
			case ifExists && errors.Is(err, kerr.UnknownTopicOrPartition):
			default:
				failures = append(failures, topicError(name, err))
			}
		}
		return errors.Join(failures...)
	})
	return cmd
}

func newTopicAlterConfigCommand(cfg *clientConfig) *cobra.Command {
	var sets, deletes []string
	cmd := &cobra.Command{
		Use:   "alter-config NAME --set key=value ... --delete key ...",
		Short: "Set or remove topic config overrides (IncrementalAlterConfigs)",
		Args:  exactArgs(1, "one topic NAME"),
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "config key=value to set (repeatable)")
	cmd.Flags().StringArrayVar(&deletes, "delete", nil, "config key to reset to its default (repeatable)")

	cmd.RunE = cfg.run(func(cmd *cobra.Command, args []string) error {
		name := args[0]
		alters, err := configAlterations(sets, deletes)
		if err != nil {
			return err
		}
		adm, ctx, done, err := cfg.openAdmin(cmd.Context())
		if err != nil {
			return err
		}
		defer done()

		responses, err := adm.AlterTopicConfigs(ctx, alters, name)
		if err != nil {
			return topicError(name, err)
		}
		resp, err := responses.On(name, nil)
		if err == nil {
			err = withBrokerMessage(resp.Err, resp.ErrMessage)
		}
		if err != nil {
			return topicError(name, err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "altered %d config(s) of topic %q\n", len(alters), name)
		return nil
	})
	return cmd
}

// configAlterations turns --set and --delete flags into incremental
// alterations.
func configAlterations(sets, deletes []string) ([]kadm.AlterConfig, error) {
	if len(sets) == 0 && len(deletes) == 0 {
		return nil, usageErrorf("nothing to alter: give --set key=value or --delete key")
	}
	var alters []kadm.AlterConfig
	for _, pair := range sets {
		key, value, err := parseKeyValue(pair)
		if err != nil {
			return nil, usageErrorf("--set: %w", err)
		}
		alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: key, Value: &value})
	}
	for _, key := range deletes {
		if key == "" || strings.Contains(key, "=") {
			return nil, usageErrorf("--delete takes a config name, got %q", key)
		}
		alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: key})
	}
	return alters, nil
}

// parseConfigPairs turns repeated key=value flags into a CreateTopics config
// map. A key given twice is an error rather than a silent overwrite.
func parseConfigPairs(pairs []string) (map[string]*string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	configs := make(map[string]*string, len(pairs))
	for _, pair := range pairs {
		key, value, err := parseKeyValue(pair)
		if err != nil {
			return nil, usageErrorf("-c/--config: %w", err)
		}
		if _, dup := configs[key]; dup {
			return nil, usageErrorf("-c/--config: %q given twice", key)
		}
		configs[key] = &value
	}
	return configs, nil
}

// parseKeyValue splits "key=value" at the first '='. The value may be empty
// and may itself contain '='; the key may not be empty.
func parseKeyValue(pair string) (key, value string, err error) {
	key, value, found := strings.Cut(pair, "=")
	if !found {
		return "", "", fmt.Errorf("%q is not key=value", pair)
	}
	if key == "" {
		return "", "", fmt.Errorf("%q has an empty key", pair)
	}
	return key, value, nil
}

// newTable returns a tabwriter for aligned, space-separated columns.
func newTable(out io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
}
