package config

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Group configs (KIP-848): per-group overrides of the KIP-848 timeouts, set
// with IncrementalAlterConfigs on a GROUP resource. Kafka 4 also has share.*
// group configs; Samsa has no share groups, so it does not know them.
const (
	ConsumerSessionTimeoutMs    = "consumer.session.timeout.ms"
	ConsumerHeartbeatIntervalMs = "consumer.heartbeat.interval.ms"
)

// groupDefinitions is every group config, sorted by name; the broker config
// supplying each default is its single synonym.
var groupDefinitions = []definition{
	{name: ConsumerHeartbeatIntervalMs, typ: TypeInt, def: "5000", rule: atLeast(1),
		synonyms: []synonym{{name: "group.consumer.heartbeat.interval.ms"}},
		doc:      "Interval this group's KIP-848 members are told to heartbeat at, within group.consumer.min/max.heartbeat.interval.ms."},
	{name: ConsumerSessionTimeoutMs, typ: TypeInt, def: "45000", rule: atLeast(1),
		synonyms: []synonym{{name: "group.consumer.session.timeout.ms"}},
		doc:      "How long this group's KIP-848 members may go without a heartbeat, within group.consumer.min/max.session.timeout.ms."},
}

// groupRanges ties each group config to the broker configs bounding it.
var groupRanges = []struct{ name, min, max string }{
	{ConsumerHeartbeatIntervalMs, "group.consumer.min.heartbeat.interval.ms", "group.consumer.max.heartbeat.interval.ms"},
	{ConsumerSessionTimeoutMs, "group.consumer.min.session.timeout.ms", "group.consumer.max.session.timeout.ms"},
}

// GroupConfigNames lists the group configs, sorted.
func GroupConfigNames() []string { return namesOf(groupDefinitions) }

// DescribeGroup returns the description of a group config.
func DescribeGroup(name string) (Info, bool) {
	def, ok := lookup(groupDefinitions, name)
	if !ok {
		return Info{}, false
	}
	return def.info(false), true
}

// GroupConfigEffective resolves a group config as DescribeConfigs reports
// it: the group's override (GROUP_CONFIG), else the broker's setting of its
// synonym, reported as DEFAULT_CONFIG as Kafka does. An unknown name
// returns SourceUnknown.
func (b *Broker) GroupConfigEffective(overrides map[string]string, name string) (string, Source) {
	def, ok := lookup(groupDefinitions, name)
	if !ok {
		return "", SourceUnknown
	}
	if v, ok := overrides[name]; ok {
		return strings.TrimSpace(v), SourceGroup
	}
	return strconv.Itoa(int(b.int32(def.synonyms[0].name))), SourceDefault
}

// ValidateGroupConfigs checks a group's whole set of overrides, as Kafka's
// GroupConfig.validate does: known names, values of their type, within the
// broker's ranges, and a heartbeat interval below the session timeout. It
// returns a *ValidationError, or nil.
func ValidateGroupConfigs(overrides map[string]string, b *Broker) error {
	var problems []error
	for _, name := range slices.Sorted(maps.Keys(overrides)) {
		value := overrides[name]
		def, ok := lookup(groupDefinitions, name)
		if !ok {
			problems = append(problems, &ConfigError{Name: name, Value: value, Reason: "not a group config", Err: ErrUnknownConfig})
			continue
		}
		if err := def.check(value); err != nil {
			problems = append(problems, &ConfigError{Name: name, Value: value, Reason: err.Error(), Err: ErrInvalidConfig})
		}
	}
	if len(problems) == 0 {
		for _, r := range groupRanges {
			v, _ := strconv.Atoi(b.mustGroupValue(overrides, r.name))
			lo, hi := int(b.int32(r.min)), int(b.int32(r.max))
			if v < lo || v > hi {
				problems = append(problems, &ConfigError{Name: r.name, Value: strconv.Itoa(v),
					Reason: fmt.Sprintf("must be between %s (%d) and %s (%d)", r.min, lo, r.max, hi), Err: ErrInvalidConfig})
			}
		}
	}
	if len(problems) == 0 {
		session, heartbeat := b.ConsumerGroupTimeouts(overrides)
		if session <= heartbeat {
			problems = append(problems, &ConfigError{Name: ConsumerSessionTimeoutMs, Value: strconv.FormatInt(session.Milliseconds(), 10),
				Reason: "must be greater than " + ConsumerHeartbeatIntervalMs, Err: ErrInvalidConfig})
		}
	}
	if len(problems) > 0 {
		return &ValidationError{What: "group configuration", Problems: problems}
	}
	return nil
}

// ConsumerGroupTimeouts are the KIP-848 session timeout and heartbeat
// interval of a group with the given overrides (nil for none).
func (b *Broker) ConsumerGroupTimeouts(overrides map[string]string) (session, heartbeat time.Duration) {
	ms := func(name string) time.Duration {
		v, _ := strconv.Atoi(b.mustGroupValue(overrides, name))
		return time.Duration(v) * time.Millisecond
	}
	return ms(ConsumerSessionTimeoutMs), ms(ConsumerHeartbeatIntervalMs)
}

func (b *Broker) mustGroupValue(overrides map[string]string, name string) string {
	v, source := b.GroupConfigEffective(overrides, name)
	if source == SourceUnknown {
		panic("config: no group config named " + strconv.Quote(name))
	}
	return v
}
