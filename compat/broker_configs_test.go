package compat

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// TestDynamicBrokerConfigClients: kafkajs, kafka-python and confluent-kafka
// set a dynamic broker config with AlterConfigs on the broker's BROKER
// resource, read it back with DescribeConfigs as DYNAMIC_BROKER_CONFIG, and
// get INVALID_REQUEST for a config the broker reads at start-up only; a
// topic's retention follows each change (checked with franz-go).
func TestDynamicBrokerConfigClients(t *testing.T) {
	b := brokertest.Start(t, nil)
	ctx := brokertest.Context(t, 60*time.Second)
	adm := b.Admin()
	if resp, err := adm.CreateTopic(ctx, 1, 1, nil, "dynamic-configs"); err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	var summary struct {
		Value   string
		Source  int
		Refused string
	}
	check := func(t *testing.T, client, value, refused string) {
		t.Helper()
		if summary.Value != value || summary.Source != int(kmsg.ConfigSourceDynamicBrokerConfig) {
			t.Errorf("%s read log.retention.ms = %q from source %d, want %q from %d (DYNAMIC_BROKER_CONFIG)",
				client, summary.Value, summary.Source, value, kmsg.ConfigSourceDynamicBrokerConfig)
		}
		if summary.Refused != refused {
			t.Errorf("%s setting num.partitions: %q, want %s", client, summary.Refused, refused)
		}
		rcs, err := adm.DescribeTopicConfigs(ctx, "dynamic-configs")
		if err != nil {
			t.Fatal(err)
		}
		rc, _ := rcs.On("dynamic-configs", nil)
		for _, c := range rc.Configs {
			if c.Key == "retention.ms" && (c.MaybeValue() != value || c.Source != kmsg.ConfigSourceDynamicBrokerConfig) {
				t.Errorf("after %s: topic retention.ms = %q from %v, want %s", client, c.MaybeValue(), c.Source, value)
			}
		}
	}

	t.Run("kafkajs", func(t *testing.T) {
		k := findKafkajs(t)
		out := run(t, command{name: k.node, args: []string{"broker_configs.js", "0", "1111000"}, dir: k.dir,
			timeout: 60 * time.Second, env: []string{"BROKER=" + b.Addr}})
		decodeSummary(t, out, &summary)
		check(t, "kafkajs", "1111000", "INVALID_REQUEST")
	})
	script, err := filepath.Abs(filepath.Join("python", "broker_configs.py"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ client, module, pkg, value, refused string }{
		{"kafka-python", "kafka", "python3-kafka", "2222000", "InvalidRequestError"},
		{"confluent", "confluent_kafka", "python3-confluent-kafka", "3333000", "INVALID_REQUEST"},
	} {
		t.Run(c.client, func(t *testing.T) {
			python := findPython(t, c.module, c.pkg)
			out := run(t, command{name: python, args: []string{script, c.client, b.Addr, "0", c.value}, timeout: 90 * time.Second})
			decodeSummary(t, out, &summary)
			check(t, c.client, c.value, c.refused)
		})
	}
}
