package e2e

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// TestDynamicBrokerConfigs: the topic defaults among the broker configs are
// set at runtime, for this broker or as the cluster default, ranked above
// server.properties; they apply to existing topics at once, survive a
// restart, and configs Samsa reads at start-up only are refused with
// INVALID_REQUEST, as Kafka refuses its static ones.
func TestDynamicBrokerConfigs(t *testing.T) {
	b := brokertest.Start(t, map[string]string{"log.retention.hours": "24"})
	adm := b.Admin()
	ctx := brokertest.Context(t, 30*time.Second)
	createTopic(t, adm, "dyn", 1, nil)

	topicConfig := func(name string) kadm.Config {
		t.Helper()
		rcs, err := adm.DescribeTopicConfigs(ctx, "dyn")
		if err != nil {
			t.Fatal(err)
		}
		rc, err := rcs.On("dyn", nil)
		if err != nil || rc.Err != nil {
			t.Fatalf("describe dyn: %v %v", err, rc.Err)
		}
		for _, c := range rc.Configs {
			if c.Key == name {
				return c
			}
		}
		t.Fatalf("topic config %s not described", name)
		return kadm.Config{}
	}
	brokerConfig := func(name string) kadm.Config {
		t.Helper()
		rcs, err := adm.DescribeBrokerConfigs(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range rcs[0].Configs {
			if c.Key == name {
				return c
			}
		}
		t.Fatalf("broker config %s not described", name)
		return kadm.Config{}
	}
	alter := func(configs []kadm.AlterConfig, brokers ...int32) error {
		t.Helper()
		resp, err := adm.AlterBrokerConfigs(ctx, configs, brokers...)
		if err != nil {
			return err
		}
		return resp[0].Err
	}

	// The cluster default outranks server.properties; a key Samsa does not
	// know is kept, as Kafka keeps it (kafkajs's own tests set
	// cleanup.policy on a broker).
	if err := alter([]kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "log.retention.ms", Value: strp("3600000")},
		{Op: kadm.SetConfig, Name: "cleanup.policy", Value: strp("delete")},
	}); err != nil {
		t.Fatalf("set cluster defaults: %v", err)
	}
	if c := topicConfig("retention.ms"); c.MaybeValue() != "3600000" || c.Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig {
		t.Fatalf("retention.ms from the cluster default: %q from %v", c.MaybeValue(), c.Source)
	}
	// This broker's own value outranks the cluster default.
	if err := alter([]kadm.AlterConfig{{Op: kadm.SetConfig, Name: "log.retention.ms", Value: strp("7200000")}}, 0); err != nil {
		t.Fatalf("set for broker 0: %v", err)
	}
	c := topicConfig("retention.ms")
	if c.MaybeValue() != "7200000" || c.Source != kmsg.ConfigSourceDynamicBrokerConfig {
		t.Fatalf("retention.ms from broker 0's dynamic config: %q from %v", c.MaybeValue(), c.Source)
	}
	var sources []kmsg.ConfigSource
	for _, s := range c.Synonyms {
		sources = append(sources, s.Source)
	}
	if len(sources) < 3 || sources[0] != kmsg.ConfigSourceDynamicBrokerConfig || sources[1] != kmsg.ConfigSourceDynamicDefaultBrokerConfig || sources[2] != kmsg.ConfigSourceStaticBrokerConfig {
		t.Fatalf("retention.ms synonyms %v, want per-broker, cluster default, static first", c.Synonyms)
	}
	if bc := brokerConfig("log.retention.ms"); bc.MaybeValue() != "7200000" || bc.Source != kmsg.ConfigSourceDynamicBrokerConfig {
		t.Fatalf("broker log.retention.ms: %q from %v", bc.MaybeValue(), bc.Source)
	}
	req := kmsg.NewPtrDescribeConfigsRequest()
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName, rr.ConfigNames = kmsg.ConfigResourceTypeBroker, "0", []string{"log.retention.ms", "num.partitions"}
	req.Resources = append(req.Resources, rr)
	described, err := req.RequestWith(ctx, b.Client())
	if err != nil || len(described.Resources) != 1 || len(described.Resources[0].Configs) != 2 {
		t.Fatalf("describe broker 0: %v %+v", err, described)
	}
	for _, c := range described.Resources[0].Configs {
		if c.ReadOnly != (c.Name == "num.partitions") {
			t.Errorf("%s described with read-only %v", c.Name, c.ReadOnly)
		}
	}
	defaults, err := adm.DescribeBrokerConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := defaults[0].Configs; len(got) != 2 || got[0].Key != "cleanup.policy" || got[1].Key != "log.retention.ms" || got[1].MaybeValue() != "3600000" {
		t.Fatalf("cluster defaults described as %+v", got)
	}

	// A topic default applies to existing partitions at once.
	if err := alter([]kadm.AlterConfig{{Op: kadm.SetConfig, Name: "message.max.bytes", Value: strp("2048")}}); err != nil {
		t.Fatal(err)
	}
	cl := b.Client(kgo.DefaultProduceTopic("dyn"), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: make([]byte, 4096)}).FirstErr(); !errors.Is(err, kerr.MessageTooLarge) {
		t.Fatalf("record over the dynamic message.max.bytes: %v", err)
	}
	if err := alter([]kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: "message.max.bytes"}}); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: make([]byte, 4096)}).FirstErr(); err != nil {
		t.Fatalf("record after message.max.bytes was deleted: %v", err)
	}
	// APPEND to a list config starts from its effective value.
	if err := alter([]kadm.AlterConfig{{Op: kadm.AppendConfig, Name: "log.cleanup.policy", Value: strp("compact")}}); err != nil {
		t.Fatal(err)
	}
	if c := topicConfig("cleanup.policy"); c.MaybeValue() != "delete,compact" || c.Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig {
		t.Fatalf("cleanup.policy after APPEND: %q from %v", c.MaybeValue(), c.Source)
	}

	// Refused, and nothing changes: a config read at start-up, a bad value,
	// a value no topic may have, another broker.
	for _, tc := range []struct {
		what    string
		configs []kadm.AlterConfig
		brokers []int32
	}{
		{"static config", []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "num.partitions", Value: strp("3")}}, nil},
		{"listener", []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "listener.name.plaintext.ssl.keystore.location", Value: strp("/x")}}, []int32{0}},
		{"bad value", []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "log.retention.ms", Value: strp("soon")}}, nil},
		{"bad topic default", []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "log.segment.bytes", Value: strp("10")}}, nil},
		{"zero retention", []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "log.retention.ms", Value: strp("0")}}, []int32{0}},
	} {
		if err := alter(tc.configs, tc.brokers...); !errors.Is(err, kerr.InvalidRequest) {
			t.Errorf("%s: %v, want INVALID_REQUEST", tc.what, err)
		}
	}
	// Clients send a broker's configs to that broker: ask this one about
	// broker 7 directly.
	other := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeBroker, "7"
	op := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	op.Name, op.Value = "log.retention.ms", strp("1000")
	res.Configs = append(res.Configs, op)
	other.Resources = append(other.Resources, res)
	raw, err := b.Client().Broker(0).Request(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if resp := raw.(*kmsg.IncrementalAlterConfigsResponse); resp.Resources[0].ErrorCode != kerr.InvalidRequest.Code {
		t.Errorf("another broker: %+v, want INVALID_REQUEST", resp)
	}
	if c := topicConfig("retention.ms"); c.MaybeValue() != "7200000" {
		t.Fatalf("retention.ms after refused changes: %q", c.MaybeValue())
	}
	if c := topicConfig("segment.bytes"); c.Source != kmsg.ConfigSourceDefaultConfig {
		t.Fatalf("segment.bytes after a refused change: %q from %v", c.MaybeValue(), c.Source)
	}

	// Durable: the same after a restart, and the non-incremental
	// AlterConfigs replaces a scope's whole set.
	b.Restart()
	adm = b.Admin()
	if c := topicConfig("retention.ms"); c.MaybeValue() != "7200000" || c.Source != kmsg.ConfigSourceDynamicBrokerConfig {
		t.Fatalf("retention.ms after restart: %q from %v", c.MaybeValue(), c.Source)
	}
	resp, err := adm.AlterBrokerConfigsState(ctx, nil, 0)
	if err != nil || resp[0].Err != nil {
		t.Fatalf("clear broker 0's dynamic configs: %v %v", err, resp)
	}
	if c := topicConfig("retention.ms"); c.MaybeValue() != "3600000" || c.Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig {
		t.Fatalf("retention.ms once broker 0's own value is gone: %q from %v", c.MaybeValue(), c.Source)
	}
}

// TestBrokerLoggers: BROKER_LOGGER resources list the broker's loggers with
// their levels and change them at runtime, as kafka-configs.sh
// --entity-type broker-loggers does with Kafka's, with Kafka's error codes.
func TestBrokerLoggers(t *testing.T) {
	b := brokertest.Start(t, nil)
	// A raw connection: clients route BROKER_LOGGER requests by the
	// resource name, and the test sends some for other brokers.
	rc := dial(t, b.Addr)
	describe := func(name string) (map[string]string, int16) {
		t.Helper()
		req := kmsg.NewPtrDescribeConfigsRequest()
		req.SetVersion(4)
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeBrokerLogger, name
		req.Resources = append(req.Resources, rr)
		resp := rc.roundTrip(req).(*kmsg.DescribeConfigsResponse)
		got := map[string]string{}
		for _, c := range resp.Resources[0].Configs {
			if c.Source != kmsg.ConfigSourceDynamicBrokerLoggerConfig || c.Value == nil {
				t.Fatalf("logger %s: source %v value %v", c.Name, c.Source, c.Value)
			}
			got[c.Name] = *c.Value
		}
		return got, resp.Resources[0].ErrorCode
	}
	type op struct {
		name  string
		op    kmsg.IncrementalAlterConfigOp
		value *string
	}
	alter := func(name string, validateOnly bool, ops ...op) int16 {
		t.Helper()
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		req.SetVersion(1)
		req.ValidateOnly = validateOnly
		rr := kmsg.NewIncrementalAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeBrokerLogger, name
		for _, o := range ops {
			c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			c.Name, c.Op, c.Value = o.name, o.op, o.value
			rr.Configs = append(rr.Configs, c)
		}
		req.Resources = append(req.Resources, rr)
		resp := rc.roundTrip(req).(*kmsg.IncrementalAlterConfigsResponse)
		return resp.Resources[0].ErrorCode
	}
	set, del := kmsg.IncrementalAlterConfigOpSet, kmsg.IncrementalAlterConfigOpDelete
	level := kmsg.StringPtr

	loggers, code := describe("0")
	if code != 0 || loggers["root"] != "DEBUG" || loggers["samsa.handler"] != "DEBUG" || loggers["samsa.txn"] != "DEBUG" {
		t.Fatalf("loggers %v (code %d): want root, samsa.handler and samsa.txn at DEBUG", loggers, code)
	}
	if code := alter("0", false, op{"samsa.handler", set, level("WARN")}, op{"root", set, level("info")}); code != 0 {
		t.Fatalf("set levels: %v", kerr.ErrorForCode(code))
	}
	if loggers, _ = describe("0"); loggers["samsa.handler"] != "WARN" || loggers["root"] != "INFO" || loggers["samsa.txn"] != "INFO" {
		t.Fatalf("after SET: %v", loggers)
	}
	for _, tc := range []struct {
		what     string
		resource string
		ops      []op
		want     int16
	}{
		{"unknown logger", "0", []op{{"kafka.server.ReplicaManager", set, level("DEBUG")}}, kerr.InvalidConfig.Code},
		{"bad level", "0", []op{{"samsa.txn", set, level("VERBOSE")}}, kerr.InvalidConfig.Code},
		{"no level", "0", []op{{"samsa.txn", set, nil}}, kerr.InvalidConfig.Code},
		{"delete root", "0", []op{{"root", del, nil}}, kerr.InvalidRequest.Code},
		{"append", "0", []op{{"samsa.txn", kmsg.IncrementalAlterConfigOpAppend, level("DEBUG")}}, kerr.InvalidRequest.Code},
		{"another broker", "7", []op{{"root", set, level("DEBUG")}}, kerr.InvalidRequest.Code},
		{"no broker id", "", []op{{"root", set, level("DEBUG")}}, kerr.InvalidRequest.Code},
		// A good change next to a bad one is not applied either.
		{"all or nothing", "0", []op{{"samsa.txn", set, level("TRACE")}, {"nope", set, level("DEBUG")}}, kerr.InvalidConfig.Code},
	} {
		if code := alter(tc.resource, false, tc.ops...); code != tc.want {
			t.Errorf("%s: %v, want %v", tc.what, kerr.ErrorForCode(code), kerr.ErrorForCode(tc.want))
		}
	}
	if code := alter("0", true, op{"samsa.txn", set, level("TRACE")}); code != 0 {
		t.Fatalf("validate-only SET: %v", kerr.ErrorForCode(code))
	}
	if code := alter("0", false, op{"samsa.handler", del, nil}); code != 0 {
		t.Fatalf("delete samsa.handler: %v", kerr.ErrorForCode(code))
	}
	if loggers, _ = describe("0"); loggers["samsa.txn"] != "INFO" || loggers["samsa.handler"] != "INFO" {
		t.Fatalf("after validate-only SET and DELETE: %v (want samsa.txn and samsa.handler back at the root's INFO)", loggers)
	}
	if _, code := describe("7"); code != kerr.InvalidRequest.Code {
		t.Fatalf("describe another broker's loggers: %v", kerr.ErrorForCode(code))
	}
}
