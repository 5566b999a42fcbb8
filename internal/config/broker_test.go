package config

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustBroker(t *testing.T, props map[string]string) (*Broker, []Warning) {
	t.Helper()
	b, warnings, err := NewBroker(props)
	if err != nil {
		t.Fatalf("NewBroker: %v", err)
	}
	return b, warnings
}

func loadExample(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("testdata/server.properties")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	props, err := ParseProperties(f)
	if err != nil {
		t.Fatal(err)
	}
	return props
}

func TestBrokerDefaults(t *testing.T) {
	b, warnings := mustBroker(t, nil)
	if len(warnings) != 0 {
		t.Errorf("warnings for empty properties: %v", warnings)
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"NodeID", b.NodeID(), int32(0)},
		{"ListenAddrs", b.ListenAddrs(), []Listener{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092, SecurityProtocol: Plaintext}}},
		{"AdvertisedListeners", b.AdvertisedListeners(), []Listener{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092, SecurityProtocol: Plaintext}}},
		{"DataDir", b.DataDir(), "./samsa-data"},
		{"NumPartitions", b.NumPartitions(), int32(1)},
		{"DefaultReplicationFactor", b.DefaultReplicationFactor(), int16(1)},
		{"AutoCreateTopics", b.AutoCreateTopics(), true},
		{"DeleteTopicEnable", b.DeleteTopicEnable(), true},
		{"SocketRequestMaxBytes", b.SocketRequestMaxBytes(), int32(104857600)},
		{"Fsync", b.Fsync(), FsyncInterval},
		{"FsyncInterval", b.FsyncInterval(), time.Second},
		{"LogRetentionCheckInterval", b.LogRetentionCheckInterval(), 5 * time.Minute},
		{"OffsetsTopicNumPartitions", b.OffsetsTopicNumPartitions(), int32(50)},
		{"OffsetsTopicReplicationFactor", b.OffsetsTopicReplicationFactor(), int16(1)},
		{"OffsetsRetention", b.OffsetsRetention(), 7 * 24 * time.Hour},
		{"TransactionStateLogNumPartitions", b.TransactionStateLogNumPartitions(), int32(50)},
		{"TransactionalIDExpiration", b.TransactionalIDExpiration(), 7 * 24 * time.Hour},
		{"TransactionMaxTimeout", b.TransactionMaxTimeout(), 15 * time.Minute},
		{"GroupInitialRebalanceDelay", b.GroupInitialRebalanceDelay(), 3 * time.Second},
		{"GroupMinSessionTimeout", b.GroupMinSessionTimeout(), 6 * time.Second},
		{"GroupMaxSessionTimeout", b.GroupMaxSessionTimeout(), 30 * time.Minute},
		{"GroupMaxSize", b.GroupMaxSize(), int32(2147483647)},
		{"ProducerIDExpiration", b.ProducerIDExpiration(), 24 * time.Hour},
		{"MaxConnections", b.MaxConnections(), int32(2147483647)},
		{"MaxConnectionsPerIP", b.MaxConnectionsPerIP(), int32(2147483647)},
		{"MaxConnectionsPerIPOverrides", b.MaxConnectionsPerIPOverrides(), ""},
		{"MaxConnectionCreationRate", b.MaxConnectionCreationRate(), int32(2147483647)},
		{"ConnectionsMaxIdle", b.ConnectionsMaxIdle(), 10 * time.Minute},
		{"SASLEnabledMechanisms", b.SASLEnabledMechanisms(), []string{"GSSAPI"}},
		{"AuthorizerEnabled", b.AuthorizerEnabled(), false},
		{"SuperUsers", b.SuperUsers(), []string(nil)},
	}
	for _, c := range checks {
		if !equalAny(c.got, c.want) {
			t.Errorf("%s() = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func equalAny(a, b any) bool {
	switch a := a.(type) {
	case []Listener:
		return slices.Equal(a, b.([]Listener))
	case []string:
		return slices.Equal(a, b.([]string))
	}
	return a == b
}

func TestBrokerFromKafkaExample(t *testing.T) {
	b, warnings := mustBroker(t, loadExample(t))
	var notApplicable []string
	for _, w := range warnings {
		switch w.Kind {
		case WarningNotApplicable:
			notApplicable = append(notApplicable, w.Key)
		default:
			t.Errorf("unexpected warning %v", w)
		}
	}
	if want := []string{"controller.listener.names", "controller.quorum.voters", "process.roles"}; !slices.Equal(notApplicable, want) {
		t.Errorf("not-applicable warnings for %q, want %q", notApplicable, want)
	}
	if b.NodeID() != 1 {
		t.Errorf("NodeID() = %d, want 1", b.NodeID())
	}
	if want := []Listener{{Name: "PLAINTEXT", Port: 9092, SecurityProtocol: Plaintext}}; !slices.Equal(b.ListenAddrs(), want) {
		t.Errorf("ListenAddrs() = %v, want %v (the controller listener left out)", b.ListenAddrs(), want)
	}
	if want := []Listener{{Name: "PLAINTEXT", Host: "localhost", Port: 9092, SecurityProtocol: Plaintext}}; !slices.Equal(b.AdvertisedListeners(), want) {
		t.Errorf("AdvertisedListeners() = %v, want %v", b.AdvertisedListeners(), want)
	}
	if b.DataDir() != "/tmp/kraft-combined-logs" {
		t.Errorf("DataDir() = %q", b.DataDir())
	}
	if got := b.TopicInt64(nil, RetentionMs); got != 7*24*60*60*1000 {
		t.Errorf("retention.ms = %d", got)
	}
}

func TestBrokerWarnings(t *testing.T) {
	_, warnings := mustBroker(t, map[string]string{
		"zookeeper.connect":               "localhost:2181",
		"zookeeper.ssl.client.enable":     "false",
		"metric.reporters":                "com.example.Reporter",
		"ssl.keystore.location":           "/etc/kafka/broker.p12",
		"ssl.some.future.setting":         "x",
		"sasl.oauthbearer.jwks.endpoint":  "https://idp/jwks",
		"listener.name.sasl_ssl.plain.sa": "x",
		"log.message.format.version":      "2.8",
		"num.io.threads":                  "16",
	})
	got := map[string]WarningKind{}
	for _, w := range warnings {
		got[w.Key] = w.Kind
		if w.Message == "" {
			t.Errorf("warning for %s has no message", w.Key)
		}
	}
	want := map[string]WarningKind{
		"zookeeper.connect":           WarningNotApplicable,
		"zookeeper.ssl.client.enable": WarningNotApplicable,
		"metric.reporters":            WarningUnknownKey,
		"log.message.format.version":  WarningDeprecated,
	}
	if len(got) != len(want) {
		t.Errorf("warnings %v, want %v", warnings, want)
	}
	for k, kind := range want {
		if got[k] != kind {
			t.Errorf("%s: warning kind %v, want %v", k, got[k], kind)
		}
	}
}

func TestBrokerValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props map[string]string
		// want lists the config names with problems, and a phrase each
		// problem's text must contain.
		want map[string]string
	}{
		{"bad types and ranges", map[string]string{
			"num.partitions":                   "0",
			"socket.request.max.bytes":         "lots",
			"auto.create.topics.enable":        "yes",
			"log.segment.bytes":                "13",
			"offsets.topic.replication.factor": "40000",
			"log.cleaner.min.cleanable.ratio":  "1.5",
		}, map[string]string{
			"num.partitions":                   "must be at least 1",
			"socket.request.max.bytes":         "must be a whole number",
			"auto.create.topics.enable":        "must be true or false",
			"log.segment.bytes":                "must be at least 14",
			"offsets.topic.replication.factor": "between -32768 and 32767",
			"log.cleaner.min.cleanable.ratio":  "from 0 to 1",
		}},
		{"enumerations", map[string]string{
			"samsa.fsync":                "sometimes",
			"compression.type":           "brotli",
			"log.cleanup.policy":         "compact,archive",
			"log.message.timestamp.type": "createtime",
			"process.roles":              "worker",
		}, map[string]string{
			"samsa.fsync":                "never, interval, always",
			"compression.type":           "uncompressed, zstd, lz4, snappy, gzip, producer",
			"log.cleanup.policy":         `"archive" is not allowed`,
			"log.message.timestamp.type": "CreateTime, LogAppendTime",
			"process.roles":              `"worker" is not allowed`,
		}},
		{"group protocols without classic", map[string]string{"group.coordinator.rebalance.protocols": "consumer"},
			map[string]string{"group.coordinator.rebalance.protocols": "'classic' protocol is not supported"}},
		{"an unknown group protocol", map[string]string{"group.coordinator.rebalance.protocols": "classic,cooperative"},
			map[string]string{"group.coordinator.rebalance.protocols": `"cooperative" is not allowed`}},
		{"per-listener connection limits", map[string]string{
			"listener.name.external.max.connections":              "-5",
			"listener.name.external.max.connection.creation.rate": "fast",
		}, map[string]string{
			"listener.name.external.max.connections":              "whole number from 0",
			"listener.name.external.max.connection.creation.rate": "whole number from 0",
		}},
		{"two data directories", map[string]string{"log.dirs": "/d1,/d2"},
			map[string]string{"log.dirs": "one directory"}},
		{"node id disagrees with broker id", map[string]string{"broker.id": "1", "node.id": "2"},
			map[string]string{"node.id": "differs from broker.id"}},
		{"negative broker id", map[string]string{"broker.id": "-1"},
			map[string]string{"broker.id": "must not be negative"}},
		{"negative node id", map[string]string{"node.id": "-1"},
			map[string]string{"node.id": "must not be negative"}},
		{"zero retention", map[string]string{"log.retention.minutes": "0"},
			map[string]string{"log.retention.ms": "-1 (unlimited) or at least 1 ms"}},
		{"broker values must suit topics", map[string]string{"log.roll.ms": "0", "log.flush.interval.ms": "-3"},
			map[string]string{
				"log.roll.ms":           "as the default of topic config segment.ms: must be at least 1",
				"log.flush.interval.ms": "as the default of topic config flush.ms: must be at least 0",
			}},
		{"session timeouts crossed", map[string]string{"group.min.session.timeout.ms": "60000", "group.max.session.timeout.ms": "1000"},
			map[string]string{"group.min.session.timeout.ms": "must not exceed"}},
		{"listener without protocol", map[string]string{"listeners": "INTERNAL://:9092"},
			map[string]string{"listeners": "add INTERNAL:PLAINTEXT"}},
		{"advertised name not listened on", map[string]string{"advertised.listeners": "SSL://h:9093"},
			map[string]string{"advertised.listeners": "SSL is not among the listeners"}},
		{"advertised wildcard", map[string]string{"advertised.listeners": "PLAINTEXT://0.0.0.0:9092"},
			map[string]string{"advertised.listeners": "cannot connect"}},
		{"only a controller listener", map[string]string{"listeners": "CONTROLLER://:9093", "controller.listener.names": "CONTROLLER"},
			map[string]string{"listeners": "no listener is left for clients"}},
		{"port clash", map[string]string{"listeners": "PLAINTEXT://:9092,SSL://127.0.0.1:9092"},
			map[string]string{"listeners": "both use port 9092"}},
		{"bad protocol map", map[string]string{"listener.security.protocol.map": "EXTERNAL:TLS"},
			map[string]string{"listener.security.protocol.map": `"TLS" is not a security protocol`}},
		{"no connection per ip without overrides", map[string]string{"max.connections.per.ip": "0"},
			map[string]string{"max.connections.per.ip": "only if max.connections.per.ip.overrides is set"}},
		{"connection overrides", map[string]string{"max.connections.per.ip.overrides": "127.0.0.1:2,broker:many"},
			map[string]string{"max.connections.per.ip.overrides": `"broker:many": the count must be a whole number`}},
		{"negative connection limits", map[string]string{"max.connections": "-1", "max.connection.creation.rate": "-5"},
			map[string]string{"max.connections": "must be at least 0", "max.connection.creation.rate": "must be at least 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := NewBroker(tc.props)
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("error %v, want *ValidationError", err)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error does not wrap ErrInvalidConfig")
			}
			got := map[string]string{}
			for _, p := range verr.Problems {
				var cerr *ConfigError
				if !errors.As(p, &cerr) {
					t.Fatalf("problem %v is not a *ConfigError", p)
				}
				got[cerr.Name] = p.Error()
			}
			for name, phrase := range tc.want {
				if !strings.Contains(got[name], phrase) {
					t.Errorf("problem for %s = %q, want it to mention %q", name, got[name], phrase)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("problems %q, want one for each of %q", got, tc.want)
			}
		})
	}
}

func TestBrokerValidationListsEveryProblem(t *testing.T) {
	_, _, err := NewBroker(map[string]string{"num.partitions": "-3", "num.io.threads": "many", "ssl.key.password": "s3cret!"})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"(2 problems)", `num.partitions = "-3": must be at least 1`, `num.io.threads = "many"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
}

func TestBrokerHidesSensitiveValues(t *testing.T) {
	// A PASSWORD config that fails validation never prints its value.
	problem := &ConfigError{Name: "ssl.keystore.password", Value: "hunter2", Hidden: true, Reason: "x", Err: ErrInvalidConfig}
	if strings.Contains(problem.Error(), "hunter2") {
		t.Errorf("%q shows the password", problem.Error())
	}
	b, _ := mustBroker(t, map[string]string{"ssl.keystore.password": "hunter2", "ssl.custom.thing": "secret2"})
	for _, name := range []string{"ssl.keystore.password", "ssl.custom.thing"} {
		value, source, synonyms := b.Effective(name)
		if value != "" || source != SourceStaticBroker {
			t.Errorf("Effective(%s) = %q, %v; want hidden, STATIC_BROKER_CONFIG", name, value, source)
		}
		for _, s := range synonyms {
			if s.Value != "" {
				t.Errorf("synonym of %s shows %q", name, s.Value)
			}
		}
	}
	if v, ok := b.Get("ssl.keystore.password"); !ok || v != "hunter2" {
		t.Errorf("Get must return the real value to the code that needs it, got %q", v)
	}
}

func TestBrokerEffective(t *testing.T) {
	b, _ := mustBroker(t, map[string]string{"log.retention.hours": "24", "num.partitions": " 3 "})
	for _, tc := range []struct {
		name         string
		wantValue    string
		wantSource   Source
		wantSynonyms []Synonym
	}{
		{"num.partitions", "3", SourceStaticBroker, []Synonym{
			{"num.partitions", " 3 ", SourceStaticBroker}, {"num.partitions", "1", SourceDefault}}},
		{"num.io.threads", "8", SourceDefault, []Synonym{{"num.io.threads", "8", SourceDefault}}},
		{"log.retention.hours", "24", SourceStaticBroker, []Synonym{
			{"log.retention.hours", "24", SourceStaticBroker}, {"log.retention.hours", "168", SourceDefault}}},
		// Kafka lists nothing for a higher-precedence name that is unset.
		{"log.retention.ms", "", SourceDefault, nil},
		{"log.roll.hours", "168", SourceDefault, []Synonym{{"log.roll.hours", "168", SourceDefault}}},
		{"no.such.config", "", SourceUnknown, nil},
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
}

func TestBrokerKeepsProperties(t *testing.T) {
	props := map[string]string{"num.partitions": "4", "custom.key": "v"}
	b, _ := mustBroker(t, props)
	props["num.partitions"] = "9" // the Broker holds its own copy
	if b.NumPartitions() != 4 {
		t.Errorf("NumPartitions() = %d after the caller's map changed", b.NumPartitions())
	}
	got := b.Properties()
	got["custom.key"] = "changed"
	if v, _ := b.Get("custom.key"); v != "v" {
		t.Errorf("Properties() exposed the Broker's own map")
	}
	if !slices.Contains(BrokerConfigNames(), "samsa.fsync") || !slices.IsSorted(BrokerConfigNames()) {
		t.Error("BrokerConfigNames() must be sorted and include samsa.fsync")
	}
}

func TestConnectionsMaxReauth(t *testing.T) {
	b, _ := mustBroker(t, map[string]string{
		"connections.max.reauth.ms":                                      "60000",
		"listener.name.sasl_ssl.scram-sha-512.connections.max.reauth.ms": "5000",
		"listener.name.internal.plain.connections.max.reauth.ms":         "soon",
	})
	for _, tc := range []struct {
		listener, mechanism string
		want                time.Duration
	}{
		{"SASL_SSL", "SCRAM-SHA-512", 5 * time.Second},
		{"SASL_SSL", "PLAIN", time.Minute},
		{"SASL_PLAINTEXT", "SCRAM-SHA-512", time.Minute},
		{"INTERNAL", "PLAIN", time.Minute}, // not a number: the broker-wide value
	} {
		if got := b.ConnectionsMaxReauth(tc.listener, tc.mechanism); got != tc.want {
			t.Errorf("%s %s: %v, want %v", tc.listener, tc.mechanism, got, tc.want)
		}
	}
	if d, _ := mustBroker(t, nil); d.ConnectionsMaxReauth("SASL_SSL", "PLAIN") != 0 {
		t.Error("sessions expire by default")
	}
}
