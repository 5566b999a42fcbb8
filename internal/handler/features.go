package handler

// Feature flags (KIP-584): the features this broker supports, the levels
// finalized for the cluster, and what a level changes.
//
// Only features whose levels Samsa honours are listed:
//   - metadata.version is pinned at 4.0-IV3: Samsa implements one behaviour,
//     Kafka 4.0's, and cannot run as an older metadata version;
//   - group.version 1 enables the KIP-848 consumer protocol, as in Kafka;
//     at 0, ConsumerGroupHeartbeat and ConsumerGroupDescribe answer
//     UNSUPPORTED_VERSION;
//   - transaction.version 2 tells clients to speak transaction protocol v2
//     (KIP-890 part 2: Produce v12+ and TxnOffsetCommit v5+ add partitions
//     themselves, EndTxn v5+ bumps the epoch), as Kafka 4.0 finalizes it
//     for a new cluster. The broker serves both protocols whatever the
//     level, telling them apart by request version as Kafka does; the level
//     only decides which one clients choose.
// kraft.version is not listed (there is no KRaft quorum), nor are share,
// streams and eligible-leader-replica features.

import (
	"fmt"
	"maps"
	"slices"
)

// Feature names as Kafka spells them.
const (
	featureMetadataVersion    = "metadata.version"
	featureGroupVersion       = "group.version"
	featureTransactionVersion = "transaction.version"
)

// metadataVersion40IV3 is Kafka 4.0's latest metadata.version level.
const metadataVersion40IV3 = 25

// supportedFeature is a feature's supported level range and the level a new
// cluster finalizes it at.
type supportedFeature struct {
	min, max, initial int16
}

var supportedFeatures = map[string]supportedFeature{
	featureMetadataVersion:    {min: metadataVersion40IV3, max: metadataVersion40IV3, initial: metadataVersion40IV3},
	featureGroupVersion:       {min: 0, max: 1, initial: 1},
	featureTransactionVersion: {min: 0, max: 2, initial: 2},
}

// Upgrade types of UpdateFeatures v1+ (v0's AllowDowngrade means a safe
// downgrade).
const (
	upgradeOnly            int8 = 1
	upgradeSafeDowngrade   int8 = 2
	upgradeUnsafeDowngrade int8 = 3
)

// finalizedFeatures returns every supported feature's finalized level (0 for
// one finalized at 0 or never enabled) and the metadata epoch it was read at.
func (h *Handler) finalizedFeatures() (map[string]int16, int64) {
	set, epoch := h.catalog.Metadata().Features()
	return withInitialLevels(set), epoch
}

// withInitialLevels completes the levels UpdateFeatures set with the initial
// level of every supported feature it never set.
func withInitialLevels(set map[string]int16) map[string]int16 {
	levels := make(map[string]int16, len(supportedFeatures))
	for name, f := range supportedFeatures {
		levels[name] = f.initial
	}
	maps.Copy(levels, set)
	return levels
}

// featureLevel returns one feature's finalized level.
func (h *Handler) featureLevel(name string) int16 {
	if l, ok := h.catalog.Metadata().FeatureLevel(name); ok {
		return l
	}
	return supportedFeatures[name].initial
}

// consumerProtocolEnabled reports whether the KIP-848 consumer group protocol
// is enabled: group.coordinator.rebalance.protocols lists it and
// group.version is 1 or later, as in Kafka.
func (h *Handler) consumerProtocolEnabled() bool {
	return h.opts.Broker.ConsumerGroupProtocolEnabled() && h.featureLevel(featureGroupVersion) >= 1
}

// checkFeatureUpdate validates one feature update against the current
// finalized level, as Kafka's controller does; the error is the message of an
// INVALID_UPDATE_VERSION.
func checkFeatureUpdate(name string, level int16, upgradeType int8, current int16) error {
	fail := func(reason string) error {
		return fmt.Errorf("Invalid update version %d for feature %s. %s", level, name, reason)
	}
	if upgradeType < upgradeOnly || upgradeType > upgradeUnsafeDowngrade {
		return fail("The controller does not support the given upgrade type.")
	}
	if level < 0 {
		return fail("A feature version cannot be less than 0.")
	}
	f, ok := supportedFeatures[name]
	if !ok {
		return fail("This broker does not support this feature.")
	}
	if level < f.min || level > f.max {
		return fail(fmt.Sprintf("This broker only supports versions %d-%d.", f.min, f.max))
	}
	switch {
	case level < current && upgradeType == upgradeOnly:
		return fail("Can't downgrade the version of this feature without setting the upgrade type to either safe or unsafe downgrade.")
	case level > current && upgradeType != upgradeOnly:
		return fail("Can't downgrade to a newer version.")
	}
	return nil
}

// sortedFeatureNames returns the supported features' names in order, so
// responses are stable.
func sortedFeatureNames() []string {
	return slices.Sorted(maps.Keys(supportedFeatures))
}
