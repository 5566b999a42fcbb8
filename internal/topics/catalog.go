// Package topics owns the topic lifecycle: it keeps the metadata catalogue
// and the hosted partitions in step (create, delete, add partitions, alter
// configs) and resolves each topic's effective configuration from its
// overrides and the broker's settings.
package topics

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/samsa-broker/samsa/internal/config"
	"github.com/samsa-broker/samsa/internal/metadata"
	"github.com/samsa-broker/samsa/internal/partition"
	"github.com/samsa-broker/samsa/internal/storage"
	"github.com/samsa-broker/samsa/internal/storage/vfs"
)

// Errors returned by Catalog methods, besides metadata's.
var (
	ErrInvalidTopicName  = errors.New("invalid topic name")
	ErrInvalidConfig     = errors.New("invalid config")
	ErrInvalidPartitions = metadata.ErrInvalidPartition
	ErrTopicExists       = metadata.ErrTopicExists
	ErrUnknownTopic      = metadata.ErrUnknownTopic
	// ErrInvalidBrokerConfig refuses a dynamic broker config change.
	ErrInvalidBrokerConfig = errors.New("invalid dynamic broker config")
	// ErrInternalTopic refuses client changes to the broker's own topics.
	ErrInternalTopic = errors.New("operation not allowed on an internal topic")
)

// MetadataDir is the metadata log's directory inside the data directory.
const MetadataDir = "metadata"

// Options configures a Catalog.
type Options struct {
	FS      vfs.FS
	DataDir string
	Broker  *config.Broker
	Fsync   partition.FsyncPolicy
	Logger  *slog.Logger
	// PageCache is shared by every partition log (nil: unmanaged).
	PageCache *storage.PageCache
}

// Catalog is the broker's set of topics.
type Catalog struct {
	opts  Options
	meta  *metadata.Store
	parts *partition.Manager
	// mu serializes lifecycle changes so metadata and partitions agree.
	mu sync.Mutex
}

// Open opens the metadata log in the data directory and every partition it
// lists.
func Open(opts Options) (*Catalog, error) {
	// The metadata log's directory has no "-<partition>" suffix, so no
	// topic's partition directory can ever be the same path.
	meta, err := metadata.Open(opts.FS, filepath.Join(opts.DataDir, MetadataDir), opts.Logger)
	if err != nil {
		return nil, err
	}
	c := &Catalog{opts: opts, meta: meta, parts: partition.NewManager()}
	// The dynamic broker configs are topic defaults: in place before any
	// partition opens.
	opts.Broker.SetDynamic(c.dynamicConfigs())
	for _, t := range meta.Topics() {
		if err := c.openPartitions(t, 0); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Metadata returns the underlying catalogue (cluster id, topic lookups).
func (c *Catalog) Metadata() *metadata.Store { return c.meta }

// Partitions returns the hosted partitions.
func (c *Catalog) Partitions() *partition.Manager { return c.parts }

// Partition returns a hosted partition.
func (c *Catalog) Partition(topic string, index int32) (*partition.Partition, bool) {
	return c.parts.Get(topic, index)
}

func (c *Catalog) partitionDir(topic string, index int32) string {
	return filepath.Join(c.opts.DataDir, topic+"-"+strconv.Itoa(int(index)))
}

func (c *Catalog) openPartitions(t metadata.Topic, from int32) error {
	cfg := c.PartitionConfig(t.Configs)
	for i := from; i < t.Partitions; i++ {
		p, err := partition.Open(c.opts.FS, c.partitionDir(t.Name, i), t.Name, i, cfg, c.opts.Logger)
		if err != nil {
			return fmt.Errorf("open partition %s-%d: %w", t.Name, i, err)
		}
		p.Internal = t.Internal
		c.parts.Add(p)
	}
	return nil
}

// PartitionConfig resolves the partition settings for a topic's overrides.
func (c *Catalog) PartitionConfig(overrides map[string]string) partition.Config {
	b := c.opts.Broker
	get := func(name string) int64 { return b.TopicInt64(overrides, name) }
	val := func(name string) string { return b.TopicString(overrides, name) }
	retentionMs, retentionBytes := get("retention.ms"), get("retention.bytes")
	if !slices.Contains(b.TopicList(overrides, "cleanup.policy"), "delete") {
		// A topic without the delete policy (compacted only, or an empty
		// cleanup.policy) keeps every segment: retention by time or size
		// applies only to the delete policy.
		retentionMs, retentionBytes = -1, -1
	}
	return partition.Config{
		Storage: storage.Options{
			SegmentBytes:       get("segment.bytes"),
			SegmentMs:          get("segment.ms"),
			IndexIntervalBytes: int(get("index.interval.bytes")),
			RetentionBytes:     retentionBytes,
			RetentionMs:        retentionMs,
			PageCache:          c.opts.PageCache,
			NoPreallocate:      c.opts.Fsync == partition.FsyncAlways,
		},
		MaxMessageBytes: int(get("max.message.bytes")),
		LogAppendTime:   val("message.timestamp.type") == "LogAppendTime",
		Fsync:           c.opts.Fsync,
		Compaction: partition.Compaction{
			Enabled:           slices.Contains(b.TopicList(overrides, "cleanup.policy"), "compact"),
			Clean:             b.LogCleanerEnable(),
			MinCleanableRatio: b.TopicFloat64(overrides, "min.cleanable.dirty.ratio"),
			DeleteRetention:   time.Duration(get("delete.retention.ms")) * time.Millisecond,
			MinLag:            time.Duration(get("min.compaction.lag.ms")) * time.Millisecond,
		},
	}
}

// ValidateTopicName applies Kafka's topic name rules.
func ValidateTopicName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 249 {
		return fmt.Errorf("%w: %q", ErrInvalidTopicName, name)
	}
	if name == "__cluster_metadata" || name == "__transaction_state" {
		return fmt.Errorf("%w: %q is reserved for the broker", ErrInvalidTopicName, name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("%w: %q contains %q; legal characters are ASCII letters, digits, '.', '_' and '-'", ErrInvalidTopicName, name, r)
		}
	}
	return nil
}

// ValidateConfigs checks topic config overrides.
func ValidateConfigs(configs map[string]string) error {
	for k, v := range configs {
		if err := config.ValidateTopicConfig(k, v); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidConfig, err)
		}
	}
	return nil
}

// CreateTopic creates a topic and its partitions. With validateOnly it only
// checks that it could.
func (c *Catalog) CreateTopic(name string, partitions int32, configs map[string]string, validateOnly bool) (metadata.Topic, error) {
	if err := ValidateTopicName(name); err != nil {
		return metadata.Topic{}, err
	}
	return c.create(name, partitions, configs, validateOnly)
}

// CreateInternalTopic creates one of the broker's own topics, whose names
// (such as __transaction_state) clients may not use.
func (c *Catalog) CreateInternalTopic(name string, partitions int32, configs map[string]string) (metadata.Topic, error) {
	return c.create(name, partitions, configs, false)
}

func (c *Catalog) create(name string, partitions int32, configs map[string]string, validateOnly bool) (metadata.Topic, error) {
	if partitions <= 0 {
		return metadata.Topic{}, fmt.Errorf("%w: %d partitions", ErrInvalidPartitions, partitions)
	}
	if err := ValidateConfigs(configs); err != nil {
		return metadata.Topic{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.meta.Topic(name); ok {
		return metadata.Topic{}, fmt.Errorf("%w: %s", ErrTopicExists, name)
	}
	if validateOnly {
		return metadata.Topic{Name: name, Partitions: partitions, Configs: configs}, nil
	}
	// Leftover directories of a deleted topic with the same name go first.
	for i := int32(0); i < partitions; i++ {
		_ = c.opts.FS.RemoveAll(c.partitionDir(name, i))
	}
	t, err := c.meta.CreateTopic(name, partitions, configs, len(name) > 2 && name[:2] == "__")
	if err != nil {
		return metadata.Topic{}, err
	}
	if err := c.openPartitions(t, 0); err != nil {
		return metadata.Topic{}, err
	}
	c.opts.Logger.Info("created topic", "topic", name, "partitions", partitions)
	return t, nil
}

// DeleteTopic deletes a topic and its data. Internal topics cannot be
// deleted.
func (c *Catalog) DeleteTopic(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.meta.Topic(name)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	if t.Internal {
		return fmt.Errorf("%w: %s is an internal topic", ErrInternalTopic, name)
	}
	if err := c.meta.DeleteTopic(name); err != nil {
		return err
	}
	var errs []error
	for i := int32(0); i < t.Partitions; i++ {
		if p, ok := c.parts.Remove(name, i); ok {
			if err := p.Delete(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	c.opts.Logger.Info("deleted topic", "topic", name)
	return errors.Join(errs...)
}

// CreatePartitions raises a topic's partition count.
func (c *Catalog) CreatePartitions(name string, count int32, validateOnly bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.meta.Topic(name)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	if t.Internal {
		return fmt.Errorf("%w: %s is an internal topic", ErrInternalTopic, name)
	}
	if count <= t.Partitions {
		return fmt.Errorf("%w: topic %s already has %d partitions; the count can only grow", ErrInvalidPartitions, name, t.Partitions)
	}
	if validateOnly {
		return nil
	}
	if err := c.meta.SetPartitions(name, count); err != nil {
		return err
	}
	old := t.Partitions
	t.Partitions = count
	return c.openPartitions(t, old)
}

// SetConfigs replaces a topic's overrides and applies them to its partitions.
func (c *Catalog) SetConfigs(name string, configs map[string]string, validateOnly bool) error {
	return c.UpdateConfigs(name, func(map[string]string) (map[string]string, error) { return configs, nil }, validateOnly)
}

// UpdateConfigs replaces a topic's overrides with what update makes of the
// current ones (which it must not modify), and applies them to its
// partitions. It runs under the catalog lock, so concurrent updates of one
// topic (IncrementalAlterConfigs) each see the other's result.
func (c *Catalog) UpdateConfigs(name string, update func(current map[string]string) (map[string]string, error), validateOnly bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.meta.Topic(name)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	configs, err := update(t.Configs)
	if err != nil {
		return err
	}
	if err := ValidateConfigs(configs); err != nil {
		return err
	}
	if validateOnly {
		return nil
	}
	if err := c.meta.SetConfigs(name, maps.Clone(configs)); err != nil {
		return err
	}
	cfg := c.PartitionConfig(configs)
	for i := int32(0); i < t.Partitions; i++ {
		if p, ok := c.parts.Get(name, i); ok {
			p.SetConfig(cfg)
		}
	}
	return nil
}

// brokerScope is this broker's scope of dynamic configs: its node id.
func (c *Catalog) brokerScope() string { return strconv.Itoa(int(c.opts.Broker.NodeID())) }

func (c *Catalog) dynamicConfigs() config.DynamicConfigs {
	return config.DynamicConfigs{Broker: c.meta.BrokerConfigs(c.brokerScope()), Default: c.meta.BrokerConfigs("")}
}

// BrokerConfigs returns the dynamic configs of this broker (perBroker) or
// the cluster default.
func (c *Catalog) BrokerConfigs(perBroker bool) map[string]string {
	if perBroker {
		return c.meta.BrokerConfigs(c.brokerScope())
	}
	return c.meta.BrokerConfigs("")
}

// SetBrokerConfigs replaces the dynamic configs of this broker (perBroker)
// or the cluster default, and applies the new topic defaults to every
// partition. Problems come back as config.CheckDynamic reports them.
func (c *Catalog) SetBrokerConfigs(perBroker bool, configs map[string]string, validateOnly bool) error {
	return c.UpdateBrokerConfigs(perBroker, func(map[string]string) (map[string]string, error) { return configs, nil }, validateOnly)
}

// UpdateBrokerConfigs is SetBrokerConfigs with what update makes of the
// current configs of the scope (which it must not modify), under the catalog
// lock as UpdateConfigs.
func (c *Catalog) UpdateBrokerConfigs(perBroker bool, update func(current map[string]string) (map[string]string, error), validateOnly bool) error {
	// Under the lock, so the check sees the other scope as it will stay.
	c.mu.Lock()
	defer c.mu.Unlock()
	configs, err := update(c.BrokerConfigs(perBroker))
	if err != nil {
		return err
	}
	if err := c.opts.Broker.CheckDynamic(configs, perBroker); err != nil {
		return brokerConfigError{err}
	}
	if validateOnly {
		return nil
	}
	scope := ""
	if perBroker {
		scope = c.brokerScope()
	}
	if err := c.meta.SetBrokerConfigs(scope, configs); err != nil {
		return err
	}
	c.opts.Broker.SetDynamic(c.dynamicConfigs())
	for _, t := range c.meta.Topics() {
		cfg := c.PartitionConfig(t.Configs)
		for i := int32(0); i < t.Partitions; i++ {
			if p, ok := c.parts.Get(t.Name, i); ok {
				p.SetConfig(cfg)
			}
		}
	}
	return nil
}

// GroupConfigs returns a group's configs (KIP-848 timeouts; nil if none).
// A group needs not exist to have them, as in Kafka.
func (c *Catalog) GroupConfigs(group string) map[string]string { return c.meta.GroupConfigs(group) }

// UpdateGroupConfigs replaces a group's configs with what update makes of
// the current ones (which it must not modify), checked as a whole
// (ErrInvalidConfig, nothing changes), under the catalog lock.
func (c *Catalog) UpdateGroupConfigs(group string, update func(current map[string]string) (map[string]string, error), validateOnly bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	configs, err := update(c.meta.GroupConfigs(group))
	if err != nil {
		return err
	}
	if err := config.ValidateGroupConfigs(configs, c.opts.Broker); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	if validateOnly {
		return nil
	}
	return c.meta.SetGroupConfigs(group, configs)
}

// brokerConfigError is a refused dynamic broker config change: it reads as
// the problems found and matches ErrInvalidBrokerConfig.
type brokerConfigError struct{ err error }

func (e brokerConfigError) Error() string        { return e.err.Error() }
func (e brokerConfigError) Unwrap() error        { return e.err }
func (e brokerConfigError) Is(target error) bool { return target == ErrInvalidBrokerConfig }

// Close closes every partition and the metadata log.
func (c *Catalog) Close() error {
	return errors.Join(c.parts.CloseAll(), c.meta.Close())
}
