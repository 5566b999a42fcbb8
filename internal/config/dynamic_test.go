package config

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestBrokerDynamicLayers(t *testing.T) {
	b, _ := mustBroker(t, map[string]string{"log.retention.hours": "24", "log.segment.bytes": "1048576"})
	b.SetDynamic(DynamicConfigs{
		Broker:  map[string]string{"log.segment.bytes": "2097152"},
		Default: map[string]string{"log.retention.ms": "3600000", "log.segment.bytes": "4194304", "custom.key": "x"},
	})
	for _, tc := range []struct {
		name         string
		wantValue    string
		wantSource   Source
		wantSynonyms []Synonym
	}{
		{"log.segment.bytes", "2097152", SourceDynamicBroker, []Synonym{
			{"log.segment.bytes", "2097152", SourceDynamicBroker},
			{"log.segment.bytes", "4194304", SourceDynamicDefaultBroker},
			{"log.segment.bytes", "1048576", SourceStaticBroker},
			{"log.segment.bytes", "1073741824", SourceDefault}}},
		{"log.retention.ms", "3600000", SourceDynamicDefaultBroker, []Synonym{
			{"log.retention.ms", "3600000", SourceDynamicDefaultBroker},
			{"log.retention.hours", "24", SourceStaticBroker},
			{"log.retention.hours", "168", SourceDefault}}},
		// Kafka cannot type an unknown key: it is shown as set, value hidden.
		{"custom.key", "", SourceDynamicDefaultBroker, []Synonym{{"custom.key", "", SourceDynamicDefaultBroker}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			value, source, synonyms := b.Effective(tc.name)
			if value != tc.wantValue || source != tc.wantSource {
				t.Errorf("got %q %v, want %q %v", value, source, tc.wantValue, tc.wantSource)
			}
			if !slices.Equal(synonyms, tc.wantSynonyms) {
				t.Errorf("synonyms %v, want %v", synonyms, tc.wantSynonyms)
			}
		})
	}
	// Topic defaults follow: the dynamic log.retention.ms outranks the
	// static log.retention.hours, this broker's segment size the default's.
	if v, src, _ := TopicConfigs(nil).Effective("retention.ms", b); v != "3600000" || src != SourceDynamicDefaultBroker {
		t.Errorf("retention.ms = %q from %v", v, src)
	}
	if got := b.TopicInt64(nil, "segment.bytes"); got != 2097152 {
		t.Errorf("segment.bytes = %d", got)
	}
	if got := b.DynamicNames(); !slices.Equal(got, []string{"custom.key"}) {
		t.Errorf("DynamicNames = %v", got)
	}
	b.SetDynamic(DynamicConfigs{})
	// Kafka names the source after log.retention.ms, now unset: DEFAULT_CONFIG.
	if v, src, _ := TopicConfigs(nil).Effective("retention.ms", b); v != "86400000" || src != SourceDefault {
		t.Errorf("retention.ms with no dynamic configs = %q from %v", v, src)
	}
}

func TestCheckDynamic(t *testing.T) {
	b, _ := mustBroker(t, map[string]string{"log.retention.ms": "-1"})
	for _, tc := range []struct {
		what      string
		configs   map[string]string
		perBroker bool
		want      error // nil, ErrNotDynamic or ErrInvalidConfig
	}{
		{"topic defaults", map[string]string{"log.retention.ms": "1000", "message.max.bytes": "2048", "log.cleanup.policy": "compact"}, false, nil},
		{"unknown key kept", map[string]string{"cleanup.policy": "delete"}, true, nil},
		{"nothing", map[string]string{}, false, nil},
		{"static config", map[string]string{"num.partitions": "3"}, false, ErrNotDynamic},
		{"listener config", map[string]string{"listeners": "PLAINTEXT://:9093"}, true, ErrNotDynamic},
		{"prefixed key", map[string]string{"ssl.keystore.location": "/k"}, true, ErrNotDynamic},
		{"kerberos and login settings (dynamic in Kafka, no effect here)", map[string]string{"sasl.kerberos.min.time.before.relogin": "60000", "sasl.login.refresh.buffer.seconds": "300"}, true, nil},
		{"not a number", map[string]string{"log.retention.ms": "soon"}, false, ErrInvalidConfig},
		{"not a topic value", map[string]string{"log.cleanup.policy": "keep"}, false, ErrInvalidConfig},
		{"zero retention", map[string]string{"log.retention.ms": "0"}, true, ErrInvalidConfig},
		{"zero retention in hours", map[string]string{"log.retention.hours": "0", "log.retention.ms": "-1"}, false, nil},
		{"connection limits", map[string]string{"max.connections": "100", "max.connections.per.ip": "5",
			"max.connections.per.ip.overrides": "127.0.0.1:50,::1:50", "max.connection.creation.rate": "20"}, true, nil},
		{"no connection per ip, with overrides", map[string]string{"max.connections.per.ip": "0", "max.connections.per.ip.overrides": "10.0.0.1:1"}, false, nil},
		{"no connection per ip at all", map[string]string{"max.connections.per.ip": "0"}, false, ErrInvalidConfig},
		{"overrides not host:count", map[string]string{"max.connections.per.ip.overrides": "127.0.0.1"}, true, ErrInvalidConfig},
		{"read when used", map[string]string{"log.cleaner.backoff.ms": "50", "producer.id.expiration.ms": "60000"}, false, nil},
		{"cleaner backoff of zero", map[string]string{"log.cleaner.backoff.ms": "0"}, true, ErrInvalidConfig},
		{"thread counts (dynamic in Kafka, ignored here)", map[string]string{"num.io.threads": "4", "num.network.threads": "2",
			"log.cleaner.threads": "2", "background.threads": "4"}, true, nil},
		{"thread count not a number", map[string]string{"num.io.threads": "many"}, true, ErrInvalidConfig},
		{"negative connection rate", map[string]string{"max.connection.creation.rate": "-1"}, true, ErrInvalidConfig},
	} {
		t.Run(tc.what, func(t *testing.T) {
			err := b.CheckDynamic(tc.configs, tc.perBroker)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestBrokerReadsDoNotAllocate(t *testing.T) {
	b, _ := mustBroker(t, map[string]string{"fetch.max.bytes": "1048576"})
	b.SetDynamic(DynamicConfigs{Default: map[string]string{"log.retention.ms": "1000"}})
	if n := testing.AllocsPerRun(100, func() { _ = b.FetchMaxBytes() }); n != 0 {
		t.Fatalf("FetchMaxBytes allocates %v times", n)
	}
}

func TestParseConnectionOverrides(t *testing.T) {
	for _, tc := range []struct {
		value   string
		want    map[string]int
		wantErr string
	}{
		{"", map[string]int{}, ""},
		{"127.0.0.1:5", map[string]int{"127.0.0.1": 5}, ""},
		{" broker1 : 10 , 10.0.0.2:0", map[string]int{"broker1": 10, "10.0.0.2": 0}, ""},
		// The count follows the last colon, so IPv6 needs no brackets.
		{"::1:3,fe80::1:4", map[string]int{"::1": 3, "fe80::1": 4}, ""},
		{"127.0.0.1", nil, "not host:count"},
		{":5", nil, "names no host"},
		{"h:-1", nil, "whole number"},
		{"h:3000000000", nil, "whole number"},
	} {
		t.Run(tc.value, func(t *testing.T) {
			got, err := ParseConnectionOverrides(tc.value)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !maps.Equal(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
