package cli

// samsa group config: what kafka-configs.sh does for --entity-type groups:
// show a group's configs (KIP-848 timeouts), or change them.

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
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
		rr := kmsg.NewIncrementalAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
		for _, a := range alters {
			op := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			op.Name, op.Op, op.Value = a.Name, kmsg.IncrementalAlterConfigOp(a.Op), a.Value
			rr.Configs = append(rr.Configs, op)
		}
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		req.Resources = append(req.Resources, rr)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return fmt.Errorf("alter configs of group %q: %w", group, err)
		}
		for _, r := range resp.Resources {
			if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
				return fmt.Errorf("alter configs of group %q: %w", group, withBrokerMessage(err, deref(r.ErrorMessage)))
			}
		}
		fmt.Fprintf(cmd.OutOrStdout(), "altered %d config(s) of group %q\n", len(alters), group)
		return nil
	})
	return cmd
}

func showGroupConfigs(ctx context.Context, cmd *cobra.Command, cl kmsg.Requestor, group string) error {
	req := kmsg.NewPtrDescribeConfigsRequest()
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
	req.Resources = append(req.Resources, rr)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("describe configs of group %q: %w", group, err)
	}
	tw := newTable(cmd.OutOrStdout())
	fmt.Fprintln(tw, "CONFIG\tVALUE\tSOURCE")
	for _, r := range resp.Resources {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			return fmt.Errorf("describe configs of group %q: %w", group, withBrokerMessage(err, deref(r.ErrorMessage)))
		}
		for _, c := range r.Configs {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, deref(c.Value), c.Source)
		}
	}
	return tw.Flush()
}
