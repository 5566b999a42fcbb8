package config

import (
	"slices"
	"strings"
	"testing"
)

func TestTablesSortedAndUnique(t *testing.T) {
	for name, table := range map[string][]definition{"topic": topicDefinitions, "broker": brokerDefinitions} {
		names := namesOf(table)
		if !slices.IsSorted(names) {
			sorted := slices.Sorted(slices.Values(names))
			for i := range names {
				if names[i] != sorted[i] {
					t.Errorf("%s table out of order at %d: %s (expected %s there)", name, i, names[i], sorted[i])
					break
				}
			}
		}
		if len(slices.Compact(slices.Clone(names))) != len(names) {
			t.Errorf("%s table has duplicate names", name)
		}
	}
}

func TestTopicConfigNamesAreKafkas(t *testing.T) {
	want := []string{
		"cleanup.policy", "compression.type", "delete.retention.ms", "file.delete.delay.ms",
		"flush.messages", "flush.ms", "follower.replication.throttled.replicas",
		"index.interval.bytes", "leader.replication.throttled.replicas", "local.retention.bytes",
		"local.retention.ms", "max.compaction.lag.ms", "max.message.bytes",
		"message.downconversion.enable", "message.format.version", "message.timestamp.after.max.ms",
		"message.timestamp.before.max.ms", "message.timestamp.difference.max.ms",
		"message.timestamp.type", "min.cleanable.dirty.ratio", "min.compaction.lag.ms",
		"min.insync.replicas", "preallocate", "remote.storage.enable", "retention.bytes",
		"retention.ms", "segment.bytes", "segment.index.bytes", "segment.jitter.ms", "segment.ms",
		"unclean.leader.election.enable",
	}
	if got := TopicConfigNames(); !slices.Equal(got, want) {
		t.Errorf("TopicConfigNames() = %q,\nwant %q", got, want)
	}
}

func TestDefinitionsAreConsistent(t *testing.T) {
	for _, table := range [][]definition{topicDefinitions, brokerDefinitions} {
		for i := range table {
			d := &table[i]
			if d.typ < TypeBoolean || d.typ > TypePassword {
				t.Errorf("%s: bad type %d", d.name, d.typ)
			}
			if d.doc == "" || strings.Contains(d.doc, "\n") {
				t.Errorf("%s: documentation must be one non-empty line", d.name)
			}
			if !d.noDefault {
				if err := d.check(d.def); err != nil {
					t.Errorf("%s: default %q fails its own rule: %v", d.name, d.def, err)
				}
			}
		}
	}
}

// Every broker synonym of a topic config must exist with a matching type,
// and with no broker settings the topic default must come out the same
// whether taken from the synonyms or from the topic table.
func TestTopicSynonymsMatchBrokerTable(t *testing.T) {
	for i := range topicDefinitions {
		td := &topicDefinitions[i]
		for _, s := range td.synonyms {
			bd, ok := lookupBroker(s.name)
			if !ok {
				t.Errorf("%s: synonym %s is not in the broker table", td.name, s.name)
				continue
			}
			if s.unit == sameUnit && bd.typ != td.typ {
				t.Errorf("%s is %v but its synonym %s is %v", td.name, td.typ, s.name, bd.typ)
			}
		}
		if value, _ := (TopicConfigs{}).resolve(td, nil); value != td.def {
			t.Errorf("%s: default through synonyms is %q, topic default is %q", td.name, value, td.def)
		}
	}
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		name  string
		topic bool
		want  Info
	}{
		{"segment.bytes", true, Info{Name: "segment.bytes", Type: TypeInt, Default: "1073741824", HasDefault: true,
			ValidValues: "[14,...]", Synonyms: []string{"log.segment.bytes"}}},
		{"retention.ms", true, Info{Name: "retention.ms", Type: TypeLong, Default: "604800000", HasDefault: true,
			ValidValues: "[-1,...]", Synonyms: []string{"log.retention.ms", "log.retention.minutes", "log.retention.hours"}}},
		{"cleanup.policy", true, Info{Name: "cleanup.policy", Type: TypeList, Default: "delete", HasDefault: true,
			ValidValues: "[compact, delete]", Synonyms: []string{"log.cleanup.policy"}}},
		{"min.cleanable.dirty.ratio", true, Info{Name: "min.cleanable.dirty.ratio", Type: TypeDouble, Default: "0.5",
			HasDefault: true, ValidValues: "[0,...,1]", Synonyms: []string{"log.cleaner.min.cleanable.ratio"}}},
		{"log.retention.ms", false, Info{Name: "log.retention.ms", Type: TypeLong}},
		{"ssl.keystore.password", false, Info{Name: "ssl.keystore.password", Type: TypePassword, Sensitive: true, ReadOnly: true}},
		{"num.io.threads", false, Info{Name: "num.io.threads", Type: TypeInt, Default: "8", HasDefault: true,
			ValidValues: "[1,...]", Usage: UsageIgnored}}, // dynamic in Kafka, so not read-only
		{"queued.max.requests", false, Info{Name: "queued.max.requests", Type: TypeInt, Default: "500", HasDefault: true,
			ValidValues: "[1,...]", ReadOnly: true, Usage: UsageIgnored}},
		{"max.connections.per.ip", false, Info{Name: "max.connections.per.ip", Type: TypeInt, Default: "2147483647", HasDefault: true,
			ValidValues: "[0,...]"}},
		{"max.connections.per.ip.overrides", false, Info{Name: "max.connections.per.ip.overrides", Type: TypeString, HasDefault: true,
			ValidValues: "host:count,ip:count,..."}},
		{"zookeeper.connect", false, Info{Name: "zookeeper.connect", Type: TypeString, ReadOnly: true, Usage: UsageNotApplicable}},
		{"samsa.fsync", false, Info{Name: "samsa.fsync", Type: TypeString, Default: "interval", HasDefault: true,
			ValidValues: "[never, interval, always]", ReadOnly: true}},
		{"listener.name.sasl_ssl.plain.sasl.jaas.config", false, Info{Name: "listener.name.sasl_ssl.plain.sasl.jaas.config",
			Type: TypeUnknown, Sensitive: true, ReadOnly: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			describe := DescribeBroker
			if tc.topic {
				describe = DescribeTopic
			}
			got, ok := describe(tc.name)
			if !ok {
				t.Fatalf("%s not found", tc.name)
			}
			got.Doc, got.Deprecated = "", ""
			if !equalInfo(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if _, ok := DescribeTopic("log.retention.ms"); ok {
		t.Error("log.retention.ms is a broker config, not a topic config")
	}
	if _, ok := DescribeBroker("no.such.config"); ok {
		t.Error("unknown broker config described")
	}
	if info, _ := DescribeTopic("message.timestamp.difference.max.ms"); info.Deprecated == "" {
		t.Error("message.timestamp.difference.max.ms should be marked deprecated")
	}
}

func equalInfo(a, b Info) bool {
	return a.Name == b.Name && a.Type == b.Type && a.Default == b.Default && a.HasDefault == b.HasDefault &&
		a.Doc == b.Doc && a.ValidValues == b.ValidValues && a.Sensitive == b.Sensitive &&
		a.ReadOnly == b.ReadOnly && slices.Equal(a.Synonyms, b.Synonyms) && a.Usage == b.Usage &&
		a.Deprecated == b.Deprecated
}

func TestTypeAndSourceNumbering(t *testing.T) {
	// The numbers are Kafka's wire values (kmsg.ConfigType, kmsg.ConfigSource).
	types := map[Type]int8{TypeBoolean: 1, TypeString: 2, TypeInt: 3, TypeShort: 4, TypeLong: 5,
		TypeDouble: 6, TypeList: 7, TypeClass: 8, TypePassword: 9}
	for typ, n := range types {
		if int8(typ) != n {
			t.Errorf("%v = %d, want %d", typ, typ, n)
		}
	}
	sources := map[Source]int8{SourceDynamicTopic: 1, SourceDynamicBroker: 2, SourceDynamicDefaultBroker: 3,
		SourceStaticBroker: 4, SourceDefault: 5}
	for src, n := range sources {
		if int8(src) != n {
			t.Errorf("%v = %d, want %d", src, src, n)
		}
	}
	if SourceStaticBroker.String() != "STATIC_BROKER_CONFIG" || TypeList.String() != "LIST" {
		t.Error("names do not match Kafka's")
	}
}
