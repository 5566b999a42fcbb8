package cli

// samsa cluster config / alter-config: what kafka-configs.sh does for
// --entity-type brokers.

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
)

// brokerTarget is the BROKER resource a command names: one broker's id, or
// the cluster-wide default.
type brokerTarget struct {
	broker    int32
	isDefault bool
}

func (b *brokerTarget) addFlags(cmd *cobra.Command) {
	cmd.Flags().Int32Var(&b.broker, "broker", -1, "the broker whose configs to show or change (its node id)")
	cmd.Flags().BoolVar(&b.isDefault, "default", false, "the cluster-wide defaults of every broker instead")
}

// brokers returns the ids to pass to kadm: none for the cluster default.
func (b *brokerTarget) brokers() ([]int32, error) {
	switch {
	case b.isDefault && b.broker >= 0:
		return nil, usageErrorf("give --broker ID or --default, not both")
	case b.isDefault:
		return nil, nil
	case b.broker >= 0:
		return []int32{b.broker}, nil
	}
	return nil, usageErrorf("name the target: --broker ID or --default")
}

func (b *brokerTarget) String() string {
	if b.isDefault {
		return "the cluster default"
	}
	return "broker " + strconv.Itoa(int(b.broker))
}

func newClusterConfigCommand(cfg *clientConfig) *cobra.Command {
	var target brokerTarget
	var all bool
	cmd := &cobra.Command{
		Use:   "config (--broker ID | --default) [--all]",
		Short: "Show a broker's configs that are set (or --all), with where each comes from",
		Args:  noArgs,
	}
	target.addFlags(cmd)
	cmd.Flags().BoolVar(&all, "all", false, "also show configs at their built-in defaults")
	cmd.RunE = cfg.runAdmin(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, _ []string) error {
		brokers, err := target.brokers()
		if err != nil {
			return err
		}
		described, err := adm.DescribeBrokerConfigs(ctx, brokers...)
		if err != nil {
			return fmt.Errorf("describe %s: %w", &target, err)
		}
		out := cmd.OutOrStdout()
		for _, rc := range described {
			if rc.Err != nil {
				return fmt.Errorf("describe %s: %w", &target, withBrokerMessage(rc.Err, rc.ErrMessage))
			}
			configs := rc.Configs
			if !all {
				configs = nonDefaultConfigs(configs)
			}
			tw := newTable(out)
			fmt.Fprintln(tw, "NAME\tVALUE\tSOURCE")
			for _, c := range configs {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Key, shownValue(c), c.Source)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
		return nil
	})
	return cmd
}

func newClusterAlterConfigCommand(cfg *clientConfig) *cobra.Command {
	var target brokerTarget
	var sets, deletes []string
	cmd := &cobra.Command{
		Use:   "alter-config (--broker ID | --default) --set key=value ... --delete key ...",
		Short: "Set or remove dynamic broker configs (IncrementalAlterConfigs)",
		Args:  noArgs,
	}
	target.addFlags(cmd)
	cmd.Flags().StringArrayVar(&sets, "set", nil, "config key=value to set (repeatable)")
	cmd.Flags().StringArrayVar(&deletes, "delete", nil, "config key to remove from the dynamic configs (repeatable)")
	cmd.RunE = cfg.run(func(cmd *cobra.Command, _ []string) error {
		brokers, err := target.brokers()
		if err != nil {
			return err
		}
		alters, err := configAlterations(sets, deletes)
		if err != nil {
			return err
		}
		adm, ctx, done, err := cfg.openAdmin(cmd.Context())
		if err != nil {
			return err
		}
		defer done()
		responses, err := adm.AlterBrokerConfigs(ctx, alters, brokers...)
		if err != nil {
			return fmt.Errorf("alter %s: %w", &target, err)
		}
		for _, r := range responses {
			if r.Err != nil {
				return fmt.Errorf("alter %s: %w", &target, withBrokerMessage(r.Err, r.ErrMessage))
			}
		}
		fmt.Fprintf(cmd.OutOrStdout(), "altered %d config(s) of %s\n", len(alters), &target)
		return nil
	})
	return cmd
}
