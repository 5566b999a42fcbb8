package cli

// samsa cluster loggers: what kafka-configs.sh does for --entity-type
// broker-loggers: show a broker's loggers and levels, change them at
// runtime.

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
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
			req := kmsg.NewPtrIncrementalAlterConfigsRequest()
			rr := kmsg.NewIncrementalAlterConfigsRequestResource()
			rr.ResourceType, rr.ResourceName, rr.Configs = kmsg.ConfigResourceTypeBrokerLogger, name, ops
			req.Resources = append(req.Resources, rr)
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				return fmt.Errorf("alter loggers of broker %s: %w", name, err)
			}
			for _, r := range resp.Resources {
				if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
					return fmt.Errorf("alter loggers of broker %s: %w", name, withBrokerMessage(err, deref(r.ErrorMessage)))
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "altered %d logger(s) of broker %s\n", len(ops), name)
			return nil
		}
		return showLoggers(ctx, cmd, cl, name)
	})
	return cmd
}

func showLoggers(ctx context.Context, cmd *cobra.Command, cl kmsg.Requestor, broker string) error {
	req := kmsg.NewPtrDescribeConfigsRequest()
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeBrokerLogger, broker
	req.Resources = append(req.Resources, rr)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("describe loggers of broker %s: %w", broker, err)
	}
	tw := newTable(cmd.OutOrStdout())
	fmt.Fprintln(tw, "LOGGER\tLEVEL")
	for _, r := range resp.Resources {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			return fmt.Errorf("describe loggers of broker %s: %w", broker, withBrokerMessage(err, deref(r.ErrorMessage)))
		}
		for _, c := range r.Configs {
			fmt.Fprintf(tw, "%s\t%s\n", c.Name, deref(c.Value))
		}
	}
	return tw.Flush()
}
