package cli

// samsa cluster features [upgrade | downgrade]: what kafka-features.sh does.

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Upgrade types of UpdateFeatures.
const (
	featureUpgrade         int8 = 1
	featureSafeDowngrade   int8 = 2
	featureUnsafeDowngrade int8 = 3
)

func newClusterFeaturesCommand(cfg *clientConfig) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "features",
		Short: "Show the supported and finalized feature levels (metadata.version, group.version, ...)",
		Args:  noArgs,
	}
	cmd.RunE = cfg.runWithClient(func(ctx context.Context, cl *kgo.Client, cmd *cobra.Command) error {
		req := kmsg.NewPtrApiVersionsRequest()
		req.ClientSoftwareName, req.ClientSoftwareVersion = "samsa-cli", "1"
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return fmt.Errorf("describe features: %w", err)
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			return fmt.Errorf("describe features: %w", err)
		}
		finalized := map[string]int16{}
		for _, f := range resp.FinalizedFeatures {
			finalized[f.Name] = f.MaxVersionLevel
		}
		tw := newTable(cmd.OutOrStdout())
		fmt.Fprintln(tw, "FEATURE\tSUPPORTED\tFINALIZED\tEPOCH")
		for _, f := range resp.SupportedFeatures {
			fmt.Fprintf(tw, "%s\t%d-%d\t%d\t%d\n", f.Name, f.MinVersion, f.MaxVersion, finalized[f.Name], resp.FinalizedFeaturesEpoch)
		}
		return tw.Flush()
	})
	cmd.AddCommand(newFeatureUpdateCommand(cfg, "upgrade"), newFeatureUpdateCommand(cfg, "downgrade"))
	return cmd
}

// newFeatureUpdateCommand is samsa cluster features upgrade or downgrade.
func newFeatureUpdateCommand(cfg *clientConfig, verb string) *cobra.Command {
	var levels []string
	var dryRun, unsafe bool
	cmd := &cobra.Command{
		Use:   verb + " --feature NAME=LEVEL... [--dry-run]",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " finalized feature levels, all or none",
		Args:  noArgs,
	}
	cmd.Flags().StringArrayVar(&levels, "feature", nil, "a feature and its new level, NAME=LEVEL (repeatable)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only check whether the broker would accept the change")
	if verb == "downgrade" {
		cmd.Flags().BoolVar(&unsafe, "unsafe", false, "allow a downgrade that may lose metadata")
	}
	cmd.RunE = cfg.runWithClient(func(ctx context.Context, cl *kgo.Client, cmd *cobra.Command) error {
		upgradeType := featureUpgrade
		if verb == "downgrade" {
			upgradeType = featureSafeDowngrade
			if unsafe {
				upgradeType = featureUnsafeDowngrade
			}
		}
		req := kmsg.NewPtrUpdateFeaturesRequest()
		req.ValidateOnly = dryRun
		if len(levels) == 0 {
			return usageErrorf("name at least one --feature NAME=LEVEL")
		}
		for _, l := range levels {
			name, value, ok := strings.Cut(l, "=")
			level, err := strconv.ParseInt(value, 10, 16)
			if !ok || name == "" || err != nil {
				return usageErrorf("--feature %q: want NAME=LEVEL", l)
			}
			u := kmsg.NewUpdateFeaturesRequestFeatureUpdate()
			u.Feature, u.MaxVersionLevel, u.UpgradeType = name, int16(level), upgradeType
			u.AllowDowngrade = upgradeType != featureUpgrade
			req.FeatureUpdates = append(req.FeatureUpdates, u)
		}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return fmt.Errorf("%s features: %w", verb, err)
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			return fmt.Errorf("%s features: %w", verb, withBrokerMessage(err, deref(resp.ErrorMessage)))
		}
		for _, r := range resp.Results {
			if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
				return fmt.Errorf("%s %s: %w", verb, r.Feature, withBrokerMessage(err, deref(r.ErrorMessage)))
			}
		}
		did := "Finalized"
		if dryRun {
			did = "Would finalize"
		}
		for _, u := range req.FeatureUpdates {
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s at level %d.\n", did, u.Feature, u.MaxVersionLevel)
		}
		return nil
	})
	return cmd
}
