package config

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// TopicConfigs is one topic's overrides: topic config name → value as set
// by CreateTopics or AlterConfigs. Names and values are checked with
// ValidateTopicConfigs before they are stored.
type TopicConfigs map[string]string

// Effective resolves a topic config as DescribeConfigs reports it. value is
// the override if set, else the first broker synonym set at runtime for this
// broker or all or in the properties, else the first broker synonym with a
// default, else the topic default, in the topic config's unit
// (log.retention.hours=1 gives "3600000"). synonyms lists, highest
// precedence first and with values as written there, the override
// (DYNAMIC_TOPIC_CONFIG) and then, as Kafka does, the broker synonyms from
// the first entry of the primary one (log.retention.ms for retention.ms)
// on: DYNAMIC_BROKER_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG,
// STATIC_BROKER_CONFIG, DEFAULT_CONFIG. source is the first synonym's, or
// DEFAULT_CONFIG without one, so a value from log.retention.hours alone is
// DEFAULT_CONFIG, as in Kafka. b may be nil (no broker properties; broker
// defaults still apply). An unknown name returns SourceUnknown.
func (t TopicConfigs) Effective(name string, b *Broker) (value string, source Source, synonyms []Synonym) {
	def, ok := lookupTopic(name)
	if !ok {
		return "", SourceUnknown, nil
	}
	if v, ok := t[name]; ok {
		synonyms = append(synonyms, Synonym{Name: name, Value: strings.TrimSpace(v), Source: SourceDynamicTopic})
	}
	names := make([]string, len(def.synonyms))
	for i, s := range def.synonyms {
		names[i] = s.name
	}
	broker := b.layeredSynonyms(names, false)
	for _, s := range def.synonyms {
		if bd, ok := lookupBroker(s.name); ok && !bd.noDefault {
			broker = append(broker, Synonym{Name: s.name, Value: bd.def, Source: SourceDefault})
		}
	}
	// Like Kafka (ConfigHelper.configSynonyms), the broker synonyms start at
	// the first entry of the primary one: retention.ms lists
	// log.retention.hours only after a set log.retention.ms, and nothing
	// while log.retention.ms is unset.
	for len(broker) > 0 && len(names) > 0 && broker[0].Name != names[0] {
		broker = broker[1:]
	}
	synonyms = append(synonyms, broker...)
	// The source is the first synonym's, as in Kafka: a value that comes
	// from log.retention.hours alone is reported as DEFAULT_CONFIG.
	value, _ = t.resolve(def, b)
	source = SourceDefault
	if len(synonyms) > 0 {
		source = synonyms[0].Source
	}
	return value, source, synonyms
}

// resolve is Effective without building the synonym list.
func (t TopicConfigs) resolve(def *definition, b *Broker) (string, Source) {
	if v, ok := t[def.name]; ok {
		return strings.TrimSpace(v), SourceDynamicTopic
	}
	for _, s := range def.synonyms {
		if l, ok := b.lookupLayered(s.name); ok {
			return s.unit.convert(l.Value), l.Source
		}
	}
	for _, s := range def.synonyms {
		if bd, ok := lookupBroker(s.name); ok && !bd.noDefault {
			return s.unit.convert(bd.def), SourceDefault
		}
	}
	return def.def, SourceDefault
}

// ValidateTopicConfig checks one topic config. An unknown name wraps
// ErrUnknownConfig; a bad value wraps ErrInvalidConfig. Both are
// *ConfigError with the reason in plain words.
func ValidateTopicConfig(name, value string) error {
	def, ok := lookupTopic(name)
	if !ok {
		return &ConfigError{Name: name, Value: value, Reason: "not a topic config", Err: ErrUnknownConfig}
	}
	if err := def.check(value); err != nil {
		return &ConfigError{Name: name, Value: value, Reason: err.Error(), Err: ErrInvalidConfig}
	}
	return nil
}

// ValidateTopicConfigs checks a whole set of overrides, as CreateTopics and
// AlterConfigs must: each name and value, then the rules that tie configs
// together (min.compaction.lag.ms <= max.compaction.lag.ms, resolved
// through b; no tiered storage). It returns a *ValidationError listing every
// problem, or nil. b may be nil.
func ValidateTopicConfigs(overrides map[string]string, b *Broker) error {
	var problems []error
	for _, name := range slices.Sorted(maps.Keys(overrides)) {
		if err := ValidateTopicConfig(name, overrides[name]); err != nil {
			problems = append(problems, err)
		}
	}
	if len(problems) == 0 {
		minLag := b.TopicInt64(overrides, MinCompactionLagMs)
		maxLag := b.TopicInt64(overrides, MaxCompactionLagMs)
		if minLag > maxLag {
			problems = append(problems, &ConfigError{Name: MinCompactionLagMs, Value: strconv.FormatInt(minLag, 10),
				Reason: fmt.Sprintf("must not exceed %s (%d)", MaxCompactionLagMs, maxLag), Err: ErrInvalidConfig})
		}
		if b.TopicBool(overrides, RemoteStorageEnable) {
			problems = append(problems, &ConfigError{Name: RemoteStorageEnable, Value: "true",
				Reason: "Samsa has no tiered storage", Err: ErrInvalidConfig})
		}
	}
	if len(problems) > 0 {
		return &ValidationError{What: "topic configuration", Problems: problems}
	}
	return nil
}

// TopicConfigNames lists the topic configs, sorted.
func TopicConfigNames() []string { return namesOf(topicDefinitions) }

// DescribeTopic returns the description of a topic config.
func DescribeTopic(name string) (Info, bool) {
	def, ok := lookupTopic(name)
	if !ok {
		return Info{}, false
	}
	return def.info(false), true
}

func lookupTopic(name string) (*definition, bool) { return lookup(topicDefinitions, name) }

// topicValue resolves a topic config and checks its type; a name missing
// from the table or of another type is a programming error.
func (b *Broker) topicValue(overrides map[string]string, name string, types ...Type) string {
	def, ok := lookupTopic(name)
	if !ok {
		panic("config: no topic config named " + strconv.Quote(name))
	}
	if !slices.Contains(types, def.typ) {
		panic(fmt.Sprintf("config: topic config %s is %v, not %v", name, def.typ, types))
	}
	value, source := TopicConfigs(overrides).resolve(def, b)
	if def.check(value) == nil {
		return value
	}
	if source == SourceDynamicTopic { // a stored override gone bad: skip it
		if value, _ = TopicConfigs(nil).resolve(def, b); def.check(value) == nil {
			return value
		}
	}
	return def.def
}

// TopicInt64 resolves an INT or LONG topic config for a topic with the
// given overrides (nil for none), in the config's unit: retention.ms comes
// back in milliseconds even when only log.retention.hours is set, and -1
// keeps Kafka's meaning of "unlimited". b may be nil.
func (b *Broker) TopicInt64(overrides map[string]string, name string) int64 {
	n, _ := strconv.ParseInt(b.topicValue(overrides, name, TypeInt, TypeLong), 10, 64)
	return n
}

// TopicInt32 resolves an INT topic config.
func (b *Broker) TopicInt32(overrides map[string]string, name string) int32 {
	n, _ := strconv.ParseInt(b.topicValue(overrides, name, TypeInt), 10, 32)
	return int32(n)
}

// TopicBool resolves a BOOLEAN topic config.
func (b *Broker) TopicBool(overrides map[string]string, name string) bool {
	return strings.EqualFold(b.topicValue(overrides, name, TypeBoolean), "true")
}

// TopicFloat64 resolves a DOUBLE topic config.
func (b *Broker) TopicFloat64(overrides map[string]string, name string) float64 {
	f, _ := strconv.ParseFloat(b.topicValue(overrides, name, TypeDouble), 64)
	return f
}

// TopicString resolves a STRING topic config.
func (b *Broker) TopicString(overrides map[string]string, name string) string {
	return b.topicValue(overrides, name, TypeString)
}

// TopicList resolves a LIST topic config into its elements.
func (b *Broker) TopicList(overrides map[string]string, name string) []string {
	return splitList(b.topicValue(overrides, name, TypeList))
}

// TopicSettings is a topic's effective configuration, typed for the
// storage and partition layers. Times are milliseconds and sizes bytes,
// with Kafka's meanings kept: a negative RetentionMs or RetentionBytes is
// unlimited, and Long.MAX_VALUE (math.MaxInt64) means "never".
type TopicSettings struct {
	CleanupDelete  bool // cleanup.policy lists delete
	CleanupCompact bool // cleanup.policy lists compact
	// CompressionType is uncompressed, zstd, lz4, snappy, gzip or producer.
	CompressionType    string
	DeleteRetentionMs  int64
	FileDeleteDelayMs  int64
	FlushMessages      int64
	FlushMs            int64
	IndexIntervalBytes int32
	MaxCompactionLagMs int64
	MaxMessageBytes    int32
	// MessageTimestampType is CreateTime or LogAppendTime.
	MessageTimestampType string
	// MessageTimestampBeforeMaxMs and MessageTimestampAfterMaxMs bound how
	// far a CreateTime timestamp may be behind or ahead of the broker clock.
	// As in Kafka, each falls back to message.timestamp.difference.max.ms
	// while left at its default.
	MessageTimestampBeforeMaxMs int64
	MessageTimestampAfterMaxMs  int64
	MinCleanableDirtyRatio      float64
	MinCompactionLagMs          int64
	MinInsyncReplicas           int32
	Preallocate                 bool
	RetentionBytes              int64
	RetentionMs                 int64
	SegmentBytes                int32
	SegmentIndexBytes           int32
	SegmentJitterMs             int64
	SegmentMs                   int64
	UncleanLeaderElection       bool
}

// TopicSettings resolves every topic config for a topic with the given
// overrides (nil for none). b may be nil.
func (b *Broker) TopicSettings(overrides map[string]string) TopicSettings {
	policies := b.TopicList(overrides, CleanupPolicy)
	s := TopicSettings{
		CleanupDelete:               slices.Contains(policies, "delete"),
		CleanupCompact:              slices.Contains(policies, "compact"),
		CompressionType:             b.TopicString(overrides, CompressionType),
		DeleteRetentionMs:           b.TopicInt64(overrides, DeleteRetentionMs),
		FileDeleteDelayMs:           b.TopicInt64(overrides, FileDeleteDelayMs),
		FlushMessages:               b.TopicInt64(overrides, FlushMessages),
		FlushMs:                     b.TopicInt64(overrides, FlushMs),
		IndexIntervalBytes:          b.TopicInt32(overrides, IndexIntervalBytes),
		MaxCompactionLagMs:          b.TopicInt64(overrides, MaxCompactionLagMs),
		MaxMessageBytes:             b.TopicInt32(overrides, MaxMessageBytes),
		MessageTimestampType:        b.TopicString(overrides, MessageTimestampType),
		MessageTimestampBeforeMaxMs: b.TopicInt64(overrides, MessageTimestampBeforeMaxMs),
		MessageTimestampAfterMaxMs:  b.TopicInt64(overrides, MessageTimestampAfterMaxMs),
		MinCleanableDirtyRatio:      b.TopicFloat64(overrides, MinCleanableDirtyRatio),
		MinCompactionLagMs:          b.TopicInt64(overrides, MinCompactionLagMs),
		MinInsyncReplicas:           b.TopicInt32(overrides, MinInsyncReplicas),
		Preallocate:                 b.TopicBool(overrides, Preallocate),
		RetentionBytes:              b.TopicInt64(overrides, RetentionBytes),
		RetentionMs:                 b.TopicInt64(overrides, RetentionMs),
		SegmentBytes:                b.TopicInt32(overrides, SegmentBytes),
		SegmentIndexBytes:           b.TopicInt32(overrides, SegmentIndexBytes),
		SegmentJitterMs:             b.TopicInt64(overrides, SegmentJitterMs),
		SegmentMs:                   b.TopicInt64(overrides, SegmentMs),
		UncleanLeaderElection:       b.TopicBool(overrides, UncleanLeaderElectionEnable),
	}
	difference := b.TopicInt64(overrides, MessageTimestampDifferenceMaxMs)
	if s.MessageTimestampBeforeMaxMs == math.MaxInt64 { // left at its default
		s.MessageTimestampBeforeMaxMs = difference
	}
	if s.MessageTimestampAfterMaxMs == math.MaxInt64 {
		s.MessageTimestampAfterMaxMs = difference
	}
	return s
}
