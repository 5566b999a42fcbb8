package cli

// samsa group config: what kafka-configs.sh does for --entity-type groups:
// show a group's configs (KIP-848 timeouts), or change them.

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func newGroupConfigCommand(cfg *clientConfig) *cobra.Command {
	var sets, deletes []string
	cmd := &cobra.Command{
		Use:   "config GROUP [--set key=value ...] [--delete key ...]",
		Short: "Show a group's configs (consumer.session.timeout.ms, ...), or set and remove them",
		Args:  exactArgs(1, "one GROUP"),
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "group config key=value to set (repeatable)")
	cmd.Flags().StringArrayVar(&deletes, "delete", nil, "group config key to reset to the broker's value (repeatable)")
	cmd.RunE = cfg.run(func(cmd *cobra.Command, args []string) error {
		group := args[0]
		cl, err := cfg.newClient()
		if err != nil {
			return err
		}
		defer cl.Close()
		ctx, cancel := cfg.deadline(cmd.Context())
		defer cancel()
		if len(sets) == 0 && len(deletes) == 0 {
			return showGroupConfigs(ctx, cmd, cl, group)
		}
		alters, err := configAlterations(sets, deletes)
		if err != nil {
			return err
		}
		var ops []kmsg.IncrementalAlterConfigsRequestResourceConfig
		for _, a := range alters {
			op := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			op.Name, op.Op, op.Value = a.Name, kmsg.IncrementalAlterConfigOp(a.Op), a.Value
			ops = append(ops, op)
		}
		if err := alterConfigResource(ctx, cl, kmsg.ConfigResourceTypeGroupConfig, group, fmt.Sprintf("configs of group %q", group), ops); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "altered %d config(s) of group %q\n", len(alters), group)
		return nil
	})
	return cmd
}

func showGroupConfigs(ctx context.Context, cmd *cobra.Command, cl kmsg.Requestor, group string) error {
	configs, err := describeConfigResource(ctx, cl, kmsg.ConfigResourceTypeGroupConfig, group, fmt.Sprintf("configs of group %q", group))
	if err != nil {
		return err
	}
	tw := newTable(cmd.OutOrStdout())
	fmt.Fprintln(tw, "CONFIG\tVALUE\tSOURCE")
	for _, c := range configs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, deref(c.Value), c.Source)
	}
	return tw.Flush()
}
