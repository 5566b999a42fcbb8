package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
)

func newClusterCommand(cfg *clientConfig) *cobra.Command {
	cluster := &cobra.Command{
		Use:   "cluster",
		Short: "Inspect the cluster and its broker configs",
		Args:  noArgs,
	}
	info := &cobra.Command{
		Use:   "info",
		Short: "Show the cluster ID, the controller and the brokers",
		Args:  noArgs,
	}
	info.RunE = cfg.runAdmin(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, _ []string) error {
		metadata, err := adm.BrokerMetadata(ctx)
		if err != nil {
			return fmt.Errorf("cluster metadata: %w", err)
		}
		out := cmd.OutOrStdout()
		clusterID := metadata.Cluster
		if clusterID == "" {
			clusterID = "-"
		}
		fmt.Fprintf(out, "Cluster ID: %s\n", clusterID)
		if metadata.Controller >= 0 {
			fmt.Fprintf(out, "Controller: %d\n", metadata.Controller)
		} else {
			fmt.Fprintln(out, "Controller: none")
		}
		tw := newTable(out)
		fmt.Fprintln(tw, "ID\tHOST\tPORT\tRACK")
		for _, b := range metadata.Brokers {
			rack := "-"
			if b.Rack != nil && *b.Rack != "" {
				rack = *b.Rack
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\n", b.NodeID, b.Host, b.Port, rack)
		}
		return tw.Flush()
	})
	cluster.AddCommand(info, newClusterConfigCommand(cfg), newClusterAlterConfigCommand(cfg), newClusterLoggersCommand(cfg), newClusterFeaturesCommand(cfg))
	return cluster
}
