package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ErrNotDynamic marks a broker config that cannot be changed at runtime.
var ErrNotDynamic = errors.New("not a dynamic broker config")

// DynamicConfigs are the broker configs set at runtime on BROKER resources
// (IncrementalAlterConfigs, AlterConfigs), as Kafka's dynamic broker
// configs: Broker for this broker (resource name = its node id), Default
// for every broker (resource name ""). A key's value is looked up in
// Broker, then Default, then the static properties, then the built-in
// default.
type DynamicConfigs struct {
	Broker  map[string]string
	Default map[string]string
}

func (d DynamicConfigs) clone() DynamicConfigs {
	return DynamicConfigs{Broker: maps.Clone(d.Broker), Default: maps.Clone(d.Default)}
}

// readWhenUsedConfigs are the broker configs, dynamic in Kafka, that Samsa
// reads each time it uses them: the log cleaner's pause between passes
// (its loop waits on DynamicChanged) and how long an idle producer id is
// kept (read at every expiration check).
var readWhenUsedConfigs = []string{"log.cleaner.backoff.ms", "producer.id.expiration.ms"}

// dynamicIgnoredConfigs are Kafka's dynamic thread-pool and cleaner tuning
// configs, which Samsa accepts and ignores (UsageIgnored): setting them at
// runtime succeeds, as on Kafka, and changes nothing.
var dynamicIgnoredConfigs = []string{
	"background.threads", "log.cleaner.dedupe.buffer.size", "log.cleaner.io.buffer.size",
	"log.cleaner.threads", "num.io.threads", "num.network.threads",
	"num.recovery.threads.per.data.dir", "num.replica.fetchers",
}

// IsDynamicBrokerConfig reports whether a known broker config can be set
// at runtime in Samsa: the broker defaults of topic configs (log.*,
// message.max.bytes, compression.type, ...), which Samsa applies to every
// partition at once; the connection limits (max.connections*,
// max.connection.creation.rate), read at every accept; readWhenUsedConfigs;
// and dynamicIgnoredConfigs. Other known configs are read at start-up only.
func IsDynamicBrokerConfig(name string) bool {
	if slices.Contains(connectionConfigs, name) || slices.Contains(readWhenUsedConfigs, name) ||
		slices.Contains(dynamicIgnoredConfigs, name) {
		return true
	}
	for i := range topicDefinitions {
		for _, s := range topicDefinitions[i].synonyms {
			if s.name == name {
				return true
			}
		}
	}
	return false
}

// dynamicWithoutEffectPrefixes are the configs Kafka changes at runtime
// that mean nothing to Samsa, which has no Kerberos (GSSAPI) and no
// OAUTHBEARER login: setting them dynamically succeeds, as on Kafka, and
// does nothing.
var dynamicWithoutEffectPrefixes = []string{"sasl.kerberos.", "sasl.login."}

func hasPrefix(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// SetDynamic replaces the runtime layer (maps are copied). Callers check
// the values first with CheckDynamic.
func (b *Broker) SetDynamic(d DynamicConfigs) {
	d = d.clone()
	b.dynamic.Store(&d)
	b.changedMu.Lock()
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	b.changedMu.Unlock()
}

// DynamicChanged returns a channel that is closed the next time the dynamic
// layer is replaced, so loops that read a dynamic setting once per wait
// (the log cleaner's backoff) can pick a new value up at once.
func (b *Broker) DynamicChanged() <-chan struct{} {
	b.changedMu.Lock()
	defer b.changedMu.Unlock()
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	return b.changed
}

// Dynamic returns a copy of the runtime layer.
func (b *Broker) Dynamic() DynamicConfigs {
	if b == nil {
		return DynamicConfigs{}
	}
	if d := b.dynamic.Load(); d != nil {
		return d.clone()
	}
	return DynamicConfigs{}
}

// CheckDynamic checks configs about to be set on a BROKER resource as the
// whole of that resource's dynamic configs (perBroker: this broker's, else
// the cluster default): each known name must be one Samsa changes at
// runtime and its value valid for it and, for a topic default, valid as the
// topic value; the merged result must pass the cross checks of start-up
// (log retention not 0, max.connections.per.ip 0 only with overrides). Names Samsa does not know are kept, as Kafka keeps
// them, and have no effect. Problems come back in a *ValidationError.
func (b *Broker) CheckDynamic(configs map[string]string, perBroker bool) error {
	var problems []error
	for _, name := range slices.Sorted(maps.Keys(configs)) {
		value := configs[name]
		def, known := lookupBroker(name)
		if !known {
			if isListenerConnectionLimit(name) {
				// Read at every accept, as the broker-wide limits.
				if err := checkListenerConnectionLimit(name, value); err != nil {
					problems = append(problems, err)
				}
				continue
			}
			if hasPrefix(name, dynamicWithoutEffectPrefixes) {
				continue // kept, as Kafka keeps them, with nothing to apply
			}
			for _, p := range append(slices.Clone(acceptedPrefixes), notApplicablePrefixes...) {
				if strings.HasPrefix(name, p) {
					problems = append(problems, &ConfigError{Name: name, Value: value, Hidden: true,
						Reason: "Samsa reads it at start-up only; set it in server.properties", Err: ErrNotDynamic})
					break
				}
			}
			continue
		}
		if !IsDynamicBrokerConfig(name) {
			problems = append(problems, &ConfigError{Name: name, Value: value, Hidden: def.typ == TypePassword,
				Reason: "cannot be updated dynamically: Samsa reads it at start-up only; set it in server.properties", Err: ErrNotDynamic})
			continue
		}
		if err := def.check(value); err != nil {
			problems = append(problems, &ConfigError{Name: name, Value: value, Reason: err.Error(), Err: ErrInvalidConfig})
			continue
		}
		for i := range topicDefinitions {
			topic := &topicDefinitions[i]
			for _, s := range topic.synonyms {
				if s.name != name {
					continue
				}
				if err := topic.check(s.unit.convert(value)); err != nil {
					problems = append(problems, &ConfigError{Name: name, Value: value,
						Reason: fmt.Sprintf("as the default of topic config %s: %v", topic.name, err), Err: ErrInvalidConfig})
				}
			}
		}
	}
	if len(problems) == 0 {
		candidate := &Broker{props: b.props}
		d := b.Dynamic()
		if perBroker {
			d.Broker = configs
		} else {
			d.Default = configs
		}
		candidate.SetDynamic(d)
		if ms := candidate.TopicInt64(nil, RetentionMs); ms == 0 {
			problems = append(problems, &ConfigError{Name: "log.retention.ms", Value: "0",
				Reason: "log retention must be -1 (unlimited) or at least 1 ms; check log.retention.ms, .minutes and .hours",
				Err:    ErrInvalidConfig})
		}
		if err := candidate.checkConnections(); err != nil {
			problems = append(problems, err)
		}
	}
	if len(problems) > 0 {
		return &ValidationError{What: "dynamic broker configuration", Problems: problems}
	}
	return nil
}

// layers returns name's values in precedence order, each with its source:
// this broker's dynamic value, the cluster-wide dynamic default, the
// static property.
func (b *Broker) layers(name string) []Synonym {
	if b == nil {
		return nil
	}
	var out []Synonym
	if d := b.dynamic.Load(); d != nil {
		if v, ok := d.Broker[name]; ok {
			out = append(out, Synonym{Name: name, Value: v, Source: SourceDynamicBroker})
		}
		if v, ok := d.Default[name]; ok {
			out = append(out, Synonym{Name: name, Value: v, Source: SourceDynamicDefaultBroker})
		}
	}
	if v, ok := b.props[name]; ok {
		out = append(out, Synonym{Name: name, Value: v, Source: SourceStaticBroker})
	}
	return out
}

// lookupLayered returns name's value of the highest layer that sets it
// (without allocating: typed reads of broker settings call it per request).
func (b *Broker) lookupLayered(name string) (Synonym, bool) {
	if b == nil {
		return Synonym{}, false
	}
	if d := b.dynamic.Load(); d != nil {
		if v, ok := d.Broker[name]; ok {
			return Synonym{Name: name, Value: v, Source: SourceDynamicBroker}, true
		}
		if v, ok := d.Default[name]; ok {
			return Synonym{Name: name, Value: v, Source: SourceDynamicDefaultBroker}, true
		}
	}
	if v, ok := b.props[name]; ok {
		return Synonym{Name: name, Value: v, Source: SourceStaticBroker}, true
	}
	return Synonym{}, false
}

// layeredSynonyms lists the values set for names, layer by layer (every
// name's per-broker dynamic value, then every name's dynamic default, then
// the static ones), as Kafka orders synonyms.
func (b *Broker) layeredSynonyms(names []string, sensitive bool) []Synonym {
	var out []Synonym
	for _, source := range []Source{SourceDynamicBroker, SourceDynamicDefaultBroker, SourceStaticBroker} {
		for _, n := range names {
			for _, s := range b.layers(n) {
				if s.Source == source {
					s.Value = hideIf(sensitive, s.Value) // as written
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// DynamicNames returns the names set in the runtime layer that the table
// does not know, for DescribeConfigs (they are shown as set).
func (b *Broker) DynamicNames() []string {
	d := b.Dynamic()
	var names []string
	for _, m := range []map[string]string{d.Broker, d.Default} {
		for n := range m {
			if _, known := lookupBroker(n); !known && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	return names
}
