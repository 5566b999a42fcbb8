package cli

// samsa cluster loggers: what kafka-configs.sh does for --entity-type
// broker-loggers: show a broker's loggers and levels, change them at
// runtime.

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func newClusterLoggersCommand(cfg *clientConfig) *cobra.Command {
	var broker int32
	var sets, resets []string
	cmd := &cobra.Command{
		Use:   "loggers --broker ID [--set LOGGER=LEVEL ...] [--reset LOGGER ...]",
		Short: "Show a broker's loggers and levels, or change them at runtime (BROKER_LOGGER configs)",
		Args:  noArgs,
	}
	cmd.Flags().Int32Var(&broker, "broker", -1, "the broker whose loggers to show or change (its node id)")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "LOGGER=LEVEL (TRACE, DEBUG, INFO, WARN, ERROR, FATAL) to set (repeatable)")
	cmd.Flags().StringArrayVar(&resets, "reset", nil, "LOGGER to make follow the root logger again (repeatable)")
	cmd.RunE = cfg.run(func(cmd *cobra.Command, _ []string) error {
		if broker < 0 {
			return usageErrorf("name the broker: --broker ID")
		}
		name := strconv.Itoa(int(broker))
		var ops []kmsg.IncrementalAlterConfigsRequestResourceConfig
		for _, pair := range sets {
			logger, level, err := parseKeyValue(pair)
			if err != nil {
				return err
			}
			op := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			op.Name, op.Op, op.Value = logger, kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr(level)
			ops = append(ops, op)
		}
		for _, logger := range resets {
			op := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			op.Name, op.Op = logger, kmsg.IncrementalAlterConfigOpDelete
			ops = append(ops, op)
		}
		cl, err := cfg.newClient()
		if err != nil {
			return err
		}
		defer cl.Close()
		ctx, cancel := cfg.deadline(cmd.Context())
		defer cancel()
		if len(ops) > 0 {
			if err := alterConfigResource(ctx, cl, kmsg.ConfigResourceTypeBrokerLogger, name, "loggers of broker "+name, ops); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "altered %d logger(s) of broker %s\n", len(ops), name)
			return nil
		}
		return showLoggers(ctx, cmd, cl, name)
	})
	return cmd
}

func showLoggers(ctx context.Context, cmd *cobra.Command, cl kmsg.Requestor, broker string) error {
	configs, err := describeConfigResource(ctx, cl, kmsg.ConfigResourceTypeBrokerLogger, broker, "loggers of broker "+broker)
	if err != nil {
		return err
	}
	tw := newTable(cmd.OutOrStdout())
	fmt.Fprintln(tw, "LOGGER\tLEVEL")
	for _, c := range configs {
		fmt.Fprintf(tw, "%s\t%s\n", c.Name, deref(c.Value))
	}
	return tw.Flush()
}
