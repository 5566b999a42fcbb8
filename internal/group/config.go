package group

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config configures a Coordinator. Fields left zero take Kafka's defaults (see
// withDefaults), except InitialRebalanceDelay, where zero means "no delay".
type Config struct {
	// Partitions is offsets.topic.num.partitions: how many partitions
	// __consumer_offsets has, and so how many coordinator shards exist.
	// Default 50.
	Partitions int32

	// InitialRebalanceDelay is group.initial.rebalance.delay.ms: how long the
	// first rebalance of an empty classic group waits for more members before
	// completing. Zero disables the delay.
	InitialRebalanceDelay time.Duration

	// MinSessionTimeout and MaxSessionTimeout are group.min.session.timeout.ms
	// and group.max.session.timeout.ms, the range a classic member's session
	// timeout must fall in. Defaults 6 s and 30 min.
	MinSessionTimeout, MaxSessionTimeout time.Duration

	// OffsetsRetention is offsets.retention.minutes: how long committed
	// offsets of a group without active subscriptions are kept. Default 7 days.
	OffsetsRetention time.Duration

	// OffsetsRetentionCheckInterval is offsets.retention.check.interval.ms.
	// Default 10 min.
	OffsetsRetentionCheckInterval time.Duration

	// MaxGroupSize is group.max.size (classic) and group.consumer.max.size
	// (KIP-848). Zero means unlimited.
	MaxGroupSize int

	// MaxMetadataSize is offset.metadata.max.bytes, the largest commit
	// metadata string accepted. Default 4096.
	MaxMetadataSize int

	// ConsumerSessionTimeout is group.consumer.session.timeout.ms: how long a
	// KIP-848 member may go without a heartbeat. Default 45 s.
	ConsumerSessionTimeout time.Duration

	// ConsumerHeartbeatInterval is group.consumer.heartbeat.interval.ms, the
	// interval KIP-848 members are told to heartbeat at. Default 5 s.
	ConsumerHeartbeatInterval time.Duration

	// ConsumerTimeouts returns a KIP-848 group's session timeout and
	// heartbeat interval (its group configs consumer.session.timeout.ms and
	// consumer.heartbeat.interval.ms, else the broker's). Nil means the two
	// settings above for every group.
	ConsumerTimeouts func(groupID string) (session, heartbeat time.Duration)

	// MigrationPolicy is group.consumer.migration.policy: "upgrade" lets a
	// consumer-protocol member join a classic group with members, turning it
	// into a KIP-848 group whose classic members keep speaking JoinGroup and
	// SyncGroup; "downgrade" turns such a group classic again once its last
	// consumer-protocol member leaves; "bidirectional" (the default, when
	// empty) allows both and "disabled" neither.
	MigrationPolicy string

	// Topics looks a topic up by name. It is used to reject commits for
	// unknown partitions, to answer topic-ID versions of OffsetCommit and
	// OffsetFetch, and to assign partitions to KIP-848 members. Nil means
	// commits are not checked and KIP-848 members get no partitions.
	Topics func(name string) (id [16]byte, partitions int32, ok bool)

	// TopicByID resolves a topic ID to its name (OffsetCommit/OffsetFetch v10).
	TopicByID func(id [16]byte) (name string, ok bool)

	// ListTopics returns every topic name; it resolves KIP-848 regular
	// expression subscriptions. Nil means regular expressions match nothing.
	ListTopics func() []string

	// Now is the clock; tests inject a fake one. Default time.Now.
	Now func() time.Time

	// Logger receives coordinator logs. Default discards.
	Logger *slog.Logger
}

// upgradeAllowed and downgradeAllowed read MigrationPolicy.
func (cfg *Config) upgradeAllowed() bool {
	return cfg.MigrationPolicy == "" || cfg.MigrationPolicy == "bidirectional" || cfg.MigrationPolicy == "upgrade"
}

func (cfg *Config) downgradeAllowed() bool {
	return cfg.MigrationPolicy == "" || cfg.MigrationPolicy == "bidirectional" || cfg.MigrationPolicy == "downgrade"
}

// Kafka's defaults for the settings above.
const (
	defaultPartitions                    = 50
	defaultMinSessionTimeout             = 6 * time.Second
	defaultMaxSessionTimeout             = 30 * time.Minute
	defaultOffsetsRetention              = 7 * 24 * time.Hour
	defaultOffsetsRetentionCheckInterval = 10 * time.Minute
	defaultMaxMetadataSize               = 4096
	defaultConsumerSessionTimeout        = 45 * time.Second
	defaultConsumerHeartbeatInterval     = 5 * time.Second
)

// withDefaults returns cfg with zero fields replaced by Kafka's defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Partitions <= 0 {
		cfg.Partitions = defaultPartitions
	}
	if cfg.InitialRebalanceDelay < 0 {
		cfg.InitialRebalanceDelay = 0
	}
	if cfg.MinSessionTimeout <= 0 {
		cfg.MinSessionTimeout = defaultMinSessionTimeout
	}
	if cfg.MaxSessionTimeout <= 0 {
		cfg.MaxSessionTimeout = defaultMaxSessionTimeout
	}
	if cfg.OffsetsRetention <= 0 {
		cfg.OffsetsRetention = defaultOffsetsRetention
	}
	if cfg.OffsetsRetentionCheckInterval <= 0 {
		cfg.OffsetsRetentionCheckInterval = defaultOffsetsRetentionCheckInterval
	}
	if cfg.MaxGroupSize < 0 {
		cfg.MaxGroupSize = 0
	}
	if cfg.MaxMetadataSize <= 0 {
		cfg.MaxMetadataSize = defaultMaxMetadataSize
	}
	if cfg.ConsumerSessionTimeout <= 0 {
		cfg.ConsumerSessionTimeout = defaultConsumerSessionTimeout
	}
	if cfg.ConsumerHeartbeatInterval <= 0 {
		cfg.ConsumerHeartbeatInterval = defaultConsumerHeartbeatInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// Validate reports every setting that contradicts another or is out of range,
// in plain words. Zero fields are valid: they take defaults.
func (cfg Config) Validate() error {
	var errs []error
	if cfg.Partitions < 0 {
		errs = append(errs, fmt.Errorf("offsets.topic.num.partitions must be positive, got %d", cfg.Partitions))
	}
	if cfg.InitialRebalanceDelay < 0 {
		errs = append(errs, fmt.Errorf("group.initial.rebalance.delay.ms must not be negative, got %v", cfg.InitialRebalanceDelay))
	}
	d := cfg.withDefaults()
	if d.MinSessionTimeout > d.MaxSessionTimeout {
		errs = append(errs, fmt.Errorf("group.min.session.timeout.ms (%v) must not exceed group.max.session.timeout.ms (%v)",
			d.MinSessionTimeout, d.MaxSessionTimeout))
	}
	if d.ConsumerHeartbeatInterval >= d.ConsumerSessionTimeout {
		errs = append(errs, fmt.Errorf("group.consumer.heartbeat.interval.ms (%v) must be less than group.consumer.session.timeout.ms (%v)",
			d.ConsumerHeartbeatInterval, d.ConsumerSessionTimeout))
	}
	if cfg.MaxGroupSize < 0 {
		errs = append(errs, fmt.Errorf("group.max.size must not be negative, got %d", cfg.MaxGroupSize))
	}
	return errors.Join(errs...)
}
