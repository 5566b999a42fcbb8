package config

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestTopicEffective(t *testing.T) {
	for _, tc := range []struct {
		name         string
		broker       map[string]string
		overrides    TopicConfigs
		config       string
		wantValue    string
		wantSource   Source
		wantSynonyms []Synonym
	}{
		{
			name: "default through the broker default", config: "retention.ms",
			// Kafka lists broker synonyms only from the primary one,
			// log.retention.ms, on; unset, there are none.
			wantValue: "604800000", wantSource: SourceDefault,
		},
		{
			name: "hours set in server.properties", config: "retention.ms",
			broker:    map[string]string{"log.retention.hours": "24"},
			wantValue: "86400000", wantSource: SourceDefault,
		},
		{
			name: "minutes beat hours", config: "retention.ms",
			broker:    map[string]string{"log.retention.hours": "24", "log.retention.minutes": "90"},
			wantValue: "5400000", wantSource: SourceDefault,
		},
		{
			name: "ms beats minutes and hours", config: "retention.ms",
			broker:    map[string]string{"log.retention.hours": "24", "log.retention.minutes": "90", "log.retention.ms": "1000"},
			wantValue: "1000", wantSource: SourceStaticBroker,
			wantSynonyms: []Synonym{
				{"log.retention.ms", "1000", SourceStaticBroker},
				{"log.retention.minutes", "90", SourceStaticBroker},
				{"log.retention.hours", "24", SourceStaticBroker},
				{"log.retention.hours", "168", SourceDefault},
			},
		},
		{
			name: "negative hours mean unlimited", config: "retention.ms",
			broker:    map[string]string{"log.retention.hours": "-1"},
			wantValue: "-1", wantSource: SourceDefault,
		},
		{
			name: "negative ms mean unlimited", config: "retention.ms",
			broker:    map[string]string{"log.retention.ms": "-5"},
			wantValue: "-1", wantSource: SourceStaticBroker,
			wantSynonyms: []Synonym{
				{"log.retention.ms", "-5", SourceStaticBroker},
				{"log.retention.hours", "168", SourceDefault},
			},
		},
		{
			name: "topic override wins", config: "retention.ms",
			broker:    map[string]string{"log.retention.hours": "24"},
			overrides: TopicConfigs{"retention.ms": "60000"},
			wantValue: "60000", wantSource: SourceDynamicTopic,
			wantSynonyms: []Synonym{
				{"retention.ms", "60000", SourceDynamicTopic},
			},
		},
		{
			name: "renamed synonym", config: "max.message.bytes",
			broker:    map[string]string{"message.max.bytes": "2000000"},
			wantValue: "2000000", wantSource: SourceStaticBroker,
			wantSynonyms: []Synonym{
				{"message.max.bytes", "2000000", SourceStaticBroker},
				{"message.max.bytes", "1048588", SourceDefault},
			},
		},
		{
			name: "roll hours become segment.ms", config: "segment.ms",
			broker:    map[string]string{"log.roll.hours": "1"},
			wantValue: "3600000", wantSource: SourceDefault,
		},
		{
			name: "roll ms lists the hours after it", config: "segment.ms",
			broker:    map[string]string{"log.roll.hours": "1", "log.roll.ms": "5000"},
			wantValue: "5000", wantSource: SourceStaticBroker,
			wantSynonyms: []Synonym{
				{"log.roll.ms", "5000", SourceStaticBroker},
				{"log.roll.hours", "1", SourceStaticBroker},
				{"log.roll.hours", "168", SourceDefault},
			},
		},
		{
			name: "flush.ms falls back to the scheduler interval", config: "flush.ms",
			wantValue: "9223372036854775807", wantSource: SourceDefault,
		},
		{
			name: "no broker synonym", config: "remote.storage.enable",
			wantValue: "false", wantSource: SourceDefault,
		},
		{
			name: "override of a config without synonym", config: "leader.replication.throttled.replicas",
			overrides: TopicConfigs{"leader.replication.throttled.replicas": "*"},
			wantValue: "*", wantSource: SourceDynamicTopic,
			wantSynonyms: []Synonym{{"leader.replication.throttled.replicas", "*", SourceDynamicTopic}},
		},
		{
			name: "unknown", config: "log.retention.hours",
			wantValue: "", wantSource: SourceUnknown,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := mustBroker(t, tc.broker)
			value, source, synonyms := tc.overrides.Effective(tc.config, b)
			if value != tc.wantValue || source != tc.wantSource {
				t.Errorf("got %q %v, want %q %v", value, source, tc.wantValue, tc.wantSource)
			}
			if !slices.Equal(synonyms, tc.wantSynonyms) {
				t.Errorf("synonyms\n got %v\nwant %v", synonyms, tc.wantSynonyms)
			}
		})
	}
}

func TestTopicEffectiveWithoutBroker(t *testing.T) {
	value, source, _ := TopicConfigs(nil).Effective("segment.bytes", nil)
	if value != "1073741824" || source != SourceDefault {
		t.Errorf("got %q %v", value, source)
	}
}

func TestValidateTopicConfig(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		wantErr     error  // nil, ErrInvalidConfig or ErrUnknownConfig
		wantReason  string // phrase in the message
	}{
		{"cleanup.policy", "delete", nil, ""},
		{"cleanup.policy", "compact", nil, ""},
		{"cleanup.policy", "compact,delete", nil, ""},
		{"cleanup.policy", "delete, compact", nil, ""},
		{"cleanup.policy", "", nil, ""}, // keeps every record, as in Kafka 3.x
		{"cleanup.policy", "compact,,delete", ErrInvalidConfig, `"" is not allowed`},
		{"cleanup.policy", "Delete", ErrInvalidConfig, `"Delete" is not allowed`},
		{"compression.type", "zstd", nil, ""},
		{"compression.type", "producer", nil, ""},
		{"compression.type", "none", ErrInvalidConfig, "uncompressed, zstd, lz4, snappy, gzip, producer"},
		{"message.timestamp.type", "LogAppendTime", nil, ""},
		{"message.timestamp.type", "AppendTime", ErrInvalidConfig, "CreateTime, LogAppendTime"},
		{"segment.bytes", "14", nil, ""},
		{"segment.bytes", "13", ErrInvalidConfig, "at least 14"},
		{"segment.bytes", "4294967296", ErrInvalidConfig, "between -2147483648 and 2147483647"},
		{"segment.bytes", " 1048576 ", nil, ""},
		{"retention.ms", "-1", nil, ""},
		{"retention.ms", "-2", ErrInvalidConfig, "at least -1"},
		{"retention.ms", "1h", ErrInvalidConfig, "whole number"},
		{"retention.bytes", "-5", nil, ""},
		{"local.retention.ms", "-2", nil, ""},
		{"min.cleanable.dirty.ratio", "0.01", nil, ""},
		{"min.cleanable.dirty.ratio", "NaN", ErrInvalidConfig, "from 0 to 1"},
		{"min.cleanable.dirty.ratio", "half", ErrInvalidConfig, "must be a number"},
		{"min.insync.replicas", "0", ErrInvalidConfig, "at least 1"},
		{"preallocate", "TRUE", nil, ""},
		{"preallocate", "1", ErrInvalidConfig, "true or false"},
		{"leader.replication.throttled.replicas", "", nil, ""},
		{"leader.replication.throttled.replicas", "*", nil, ""},
		{"leader.replication.throttled.replicas", "0:1, 1:2", nil, ""},
		{"follower.replication.throttled.replicas", "0:1,*", ErrInvalidConfig, "partition:broker pairs"},
		{"max.compaction.lag.ms", "0", ErrInvalidConfig, "at least 1"},
		{"message.format.version", "0.10.0.0", nil, ""},
		{"message.format.version", "0.10.0-IV1", nil, ""},
		{"message.format.version", "0.8.2", nil, ""},
		{"message.format.version", "2.8", nil, ""},
		{"message.format.version", "3.0-IV1", nil, ""},
		{"message.format.version", "0.10", ErrInvalidConfig, "not a Kafka release"},
		{"message.format.version", "0.7.0", ErrInvalidConfig, "not a Kafka release"},
		{"message.format.version", "2.9", ErrInvalidConfig, "not a Kafka release"},
		{"message.format.version", "v2", ErrInvalidConfig, "such as 2.8"},
		{"log.retention.ms", "1000", ErrUnknownConfig, "not a topic config"},
		{"retention.hours", "1", ErrUnknownConfig, "not a topic config"},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			err := ValidateTopicConfig(tc.name, tc.value)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantReason) || !strings.HasPrefix(err.Error(), tc.name+" = ") {
				t.Errorf("error %q, want %q and the config name first", err, tc.wantReason)
			}
		})
	}
}

func TestValidateTopicConfigs(t *testing.T) {
	lagBroker, _ := mustBroker(t, map[string]string{"log.cleaner.max.compaction.lag.ms": "1000"})
	for _, tc := range []struct {
		name      string
		overrides map[string]string
		broker    *Broker
		want      []string // names with problems
	}{
		{"empty", nil, nil, nil},
		{"fine", map[string]string{"cleanup.policy": "compact", "segment.bytes": "1048576"}, nil, nil},
		{"every bad entry reported", map[string]string{"segment.bytes": "1", "retention.ms": "x", "bogus": "1"}, nil,
			[]string{"bogus", "retention.ms", "segment.bytes"}},
		{"compaction lags crossed", map[string]string{"min.compaction.lag.ms": "10", "max.compaction.lag.ms": "5"}, nil,
			[]string{"min.compaction.lag.ms"}},
		{"compaction lag against the broker's maximum", map[string]string{"min.compaction.lag.ms": "5000"}, lagBroker,
			[]string{"min.compaction.lag.ms"}},
		{"no tiered storage", map[string]string{"remote.storage.enable": "true"}, nil,
			[]string{"remote.storage.enable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateTopicConfigs(tc.overrides, tc.broker)
			var got []string
			if err != nil {
				var verr *ValidationError
				if !errors.As(err, &verr) {
					t.Fatalf("error %v is not a *ValidationError", err)
				}
				for _, p := range verr.Problems {
					var cerr *ConfigError
					if errors.As(p, &cerr) {
						got = append(got, cerr.Name)
					}
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems with %q, want %q (error: %v)", got, tc.want, err)
			}
		})
	}
}

func TestTopicTypedHelpers(t *testing.T) {
	b, _ := mustBroker(t, map[string]string{
		"log.retention.minutes": "30",
		"log.segment.bytes":     "1048576",
		"log.cleanup.policy":    "compact,delete",
	})
	overrides := map[string]string{"min.cleanable.dirty.ratio": "0.25", "preallocate": "true"}
	if got := b.TopicInt64(overrides, RetentionMs); got != 30*60*1000 {
		t.Errorf("retention.ms = %d", got)
	}
	if got := b.TopicInt32(overrides, SegmentBytes); got != 1048576 {
		t.Errorf("segment.bytes = %d", got)
	}
	if got := b.TopicFloat64(overrides, MinCleanableDirtyRatio); got != 0.25 {
		t.Errorf("min.cleanable.dirty.ratio = %v", got)
	}
	if !b.TopicBool(overrides, Preallocate) {
		t.Error("preallocate not true")
	}
	if got := b.TopicList(overrides, CleanupPolicy); !slices.Equal(got, []string{"compact", "delete"}) {
		t.Errorf("cleanup.policy = %q", got)
	}
	if got := b.TopicString(nil, CompressionType); got != "producer" {
		t.Errorf("compression.type = %q", got)
	}
	// A stored override that no longer validates falls back to the broker.
	if got := b.TopicInt32(map[string]string{"segment.bytes": "garbage"}, SegmentBytes); got != 1048576 {
		t.Errorf("segment.bytes with a bad override = %d", got)
	}
	var nilBroker *Broker
	if got := nilBroker.TopicInt64(nil, RetentionMs); got != 604800000 {
		t.Errorf("retention.ms with no broker = %d", got)
	}
	for _, misuse := range []func(){
		func() { b.TopicInt64(nil, "log.retention.ms") },
		func() { b.TopicBool(nil, RetentionMs) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("misuse did not panic")
				}
			}()
			misuse()
		}()
	}
}

func TestTopicSettings(t *testing.T) {
	defaults := (*Broker)(nil).TopicSettings(nil)
	want := TopicSettings{
		CleanupDelete:               true,
		CompressionType:             "producer",
		DeleteRetentionMs:           86400000,
		FileDeleteDelayMs:           60000,
		FlushMessages:               math.MaxInt64,
		FlushMs:                     math.MaxInt64,
		IndexIntervalBytes:          4096,
		MaxCompactionLagMs:          math.MaxInt64,
		MaxMessageBytes:             1048588,
		MessageTimestampType:        "CreateTime",
		MessageTimestampBeforeMaxMs: math.MaxInt64,
		MessageTimestampAfterMaxMs:  math.MaxInt64,
		MinCleanableDirtyRatio:      0.5,
		MinInsyncReplicas:           1,
		RetentionBytes:              -1,
		RetentionMs:                 604800000,
		SegmentBytes:                1073741824,
		SegmentIndexBytes:           10485760,
		SegmentMs:                   604800000,
	}
	if defaults != want {
		t.Errorf("defaults\n got %+v\nwant %+v", defaults, want)
	}

	// The deprecated difference setting still applies while before/after
	// are at their defaults, as in Kafka.
	s := (*Broker)(nil).TopicSettings(map[string]string{
		"message.timestamp.difference.max.ms": "5000",
		"message.timestamp.after.max.ms":      "100",
	})
	if s.MessageTimestampBeforeMaxMs != 5000 || s.MessageTimestampAfterMaxMs != 100 {
		t.Errorf("before %d after %d, want 5000 100", s.MessageTimestampBeforeMaxMs, s.MessageTimestampAfterMaxMs)
	}
	if s := (*Broker)(nil).TopicSettings(map[string]string{"cleanup.policy": "compact"}); s.CleanupDelete || !s.CleanupCompact {
		t.Errorf("cleanup.policy=compact gave %+v", s)
	}
}
