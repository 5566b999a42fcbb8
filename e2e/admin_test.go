package e2e

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

func strp(s string) *string { return &s }

// topicConfigs describes topic's configs, by name.
func topicConfigs(ctx context.Context, t *testing.T, adm *kadm.Client, topic string) map[string]kadm.Config {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	byName := make(map[string]kadm.Config, len(rc.Configs))
	for _, c := range rc.Configs {
		byName[c.Key] = c
	}
	return byName
}

func TestTopicAdministration(t *testing.T) {
	b := brokertest.Start(t, map[string]string{"log.retention.hours": "24"})
	adm := b.Admin()
	ctx := brokertest.Context(t, 30*time.Second)

	// Invalid configs fail the topic; validate-only creates nothing.
	resp, err := adm.CreateTopics(ctx, 1, 1, map[string]*string{"cleanup.policy": strp("bogus")}, "bad")
	if err != nil || !errors.Is(resp["bad"].Err, kerr.InvalidConfig) {
		t.Fatalf("invalid config: %v %v", err, resp["bad"].Err)
	}
	if resp, err := adm.ValidateCreateTopics(ctx, 2, 1, nil, "dry"); err != nil || resp["dry"].Err != nil {
		t.Fatalf("validate only: %v %v", err, resp["dry"].Err)
	}
	if resp, err := adm.CreateTopics(ctx, 1, 3, nil, "rf3"); err != nil || !errors.Is(resp["rf3"].Err, kerr.InvalidReplicationFactor) {
		t.Fatalf("replication factor 3 on one broker: %v", resp["rf3"].Err)
	}
	if resp, err := adm.CreateTopics(ctx, 1, 1, nil, "bad/name"); err != nil || !errors.Is(resp["bad/name"].Err, kerr.InvalidTopicException) {
		t.Fatalf("invalid name: %v", resp["bad/name"].Err)
	}
	createTopic(t, adm, "admin", 2, map[string]*string{"retention.ms": strp("3600000")})
	if resp, _ := adm.CreateTopics(ctx, 1, 1, nil, "admin"); !errors.Is(resp["admin"].Err, kerr.TopicAlreadyExists) {
		t.Fatalf("duplicate create: %v", resp["admin"].Err)
	}
	topics, err := adm.ListTopics(ctx)
	if err != nil || !topics.Has("admin") || topics.Has("dry") {
		t.Fatalf("list topics: %v %v", err, topics.Names())
	}

	// DescribeConfigs: every config, its source and synonyms.
	byName := topicConfigs(ctx, t, adm, "admin")
	if len(byName) < 25 {
		t.Fatalf("only %d topic configs described", len(byName))
	}
	if c := byName["retention.ms"]; c.MaybeValue() != "3600000" || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Fatalf("retention.ms = %q from %v", c.MaybeValue(), c.Source)
	}
	if c := byName["segment.bytes"]; c.MaybeValue() != "1073741824" || c.Source != kmsg.ConfigSourceDefaultConfig {
		t.Fatalf("segment.bytes = %q from %v", c.MaybeValue(), c.Source)
	}

	// Incremental alter: set, then delete back to the broker's value
	// (log.retention.hours=24 → 86400000).
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "max.message.bytes", Value: strp("2048")}}, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: "retention.ms"}}, "admin"); err != nil {
		t.Fatal(err)
	}
	for _, c := range topicConfigs(ctx, t, adm, "admin") {
		switch c.Key {
		case "max.message.bytes":
			if c.MaybeValue() != "2048" {
				t.Fatalf("max.message.bytes = %q", c.MaybeValue())
			}
		case "retention.ms":
			// Kafka reports the source of the primary synonym,
			// log.retention.ms, which is unset: DEFAULT_CONFIG.
			if c.MaybeValue() != "86400000" || c.Source != kmsg.ConfigSourceDefaultConfig || len(c.Synonyms) != 0 {
				t.Fatalf("retention.ms after delete = %q from %v", c.MaybeValue(), c.Source)
			}
		}
	}
	// The new max.message.bytes is enforced at once.
	cl := b.Client(kgo.DefaultProduceTopic("admin"), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: make([]byte, 4096)}).FirstErr(); !errors.Is(err, kerr.MessageTooLarge) {
		t.Fatalf("record over max.message.bytes: %v", err)
	}
	if resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "no.such.config", Value: strp("1")}}, "admin"); err == nil && resp[0].Err == nil {
		t.Fatal("unknown config accepted")
	}

	// CreatePartitions grows, never shrinks.
	if r, err := adm.CreatePartitions(ctx, 2, "admin"); err != nil || r["admin"].Err != nil {
		t.Fatalf("add partitions: %v %v", err, r["admin"].Err)
	}
	if r, _ := adm.UpdatePartitions(ctx, 2, "admin"); !errors.Is(r["admin"].Err, kerr.InvalidPartitions) {
		t.Fatalf("shrink: %v", r["admin"].Err)
	}
	td, err := adm.ListTopics(ctx, "admin")
	if err != nil || len(td["admin"].Partitions) != 4 {
		t.Fatalf("partitions after growth: %v %d", err, len(td["admin"].Partitions))
	}

	// DeleteTopics, then the name is free again.
	if r, err := adm.DeleteTopics(ctx, "admin"); err != nil || r["admin"].Err != nil {
		t.Fatalf("delete: %v %v", err, r["admin"].Err)
	}
	if r, _ := adm.DeleteTopics(ctx, "admin"); !errors.Is(r["admin"].Err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("delete again: %v", r["admin"].Err)
	}
	createTopic(t, adm, "admin", 1, nil)
}

func TestOffsetsTimestampsAndDeleteRecords(t *testing.T) {
	b := brokertest.Start(t, nil)
	adm := b.Admin()
	createTopic(t, adm, "ts", 1, nil)
	ctx := brokertest.Context(t, 30*time.Second)
	cl := b.Client(kgo.DefaultProduceTopic("ts"))
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	for i := 0; i < 10; i++ {
		r := &kgo.Record{Value: []byte{byte(i)}, Timestamp: base.Add(time.Duration(i) * time.Minute)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	listed, err := adm.ListOffsetsAfterMilli(ctx, base.Add(5*time.Minute).UnixMilli(), "ts")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := listed.Lookup("ts", 0); o.Offset != 5 || o.Timestamp != base.Add(5*time.Minute).UnixMilli() {
		t.Fatalf("offset for timestamp: %+v", o)
	}
	listed, _ = adm.ListOffsetsAfterMilli(ctx, base.Add(time.Hour).UnixMilli(), "ts")
	if o, _ := listed.Lookup("ts", 0); o.Offset != 10 && o.Offset != -1 {
		t.Fatalf("timestamp after the last record: %+v", o)
	}
	ends, _ := adm.ListEndOffsets(ctx, "ts")
	if o, _ := ends.Lookup("ts", 0); o.Offset != 10 {
		t.Fatalf("end offset %d", o.Offset)
	}

	// DeleteRecords raises the log start offset; reads below it are out of
	// range, and it survives a restart.
	toDelete := kadm.Offsets{}
	toDelete.Add(kadm.Offset{Topic: "ts", Partition: 0, At: 4})
	if r, err := adm.DeleteRecords(ctx, toDelete); err != nil || r.Error() != nil {
		t.Fatalf("delete records: %v %v", err, r.Error())
	}
	b.Restart()
	adm = b.Admin()
	starts, err := adm.ListStartOffsets(ctx, "ts")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := starts.Lookup("ts", 0); o.Offset != 4 {
		t.Fatalf("start offset after DeleteRecords and restart: %d", o.Offset)
	}

	// OffsetForLeaderEpoch, DescribeLogDirs, DescribeCluster.
	epochs, err := adm.OffsetForLeaderEpoch(ctx, kadm.OffsetForLeaderEpochRequest{"ts": {0: 0}})
	if err != nil {
		t.Fatal(err)
	}
	if e := epochs["ts"][0]; e.Err != nil || e.EndOffset != 10 {
		t.Fatalf("offset for leader epoch: %+v", e)
	}
	dirs, err := adm.DescribeAllLogDirs(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ds := range dirs {
		if ds.Error() != nil {
			t.Fatal(ds.Error())
		}
		if p, ok := ds.LookupPartition("ts", 0); ok && p.Size > 0 {
			found = true
		}
	}
	if !found {
		t.Fatal("log dirs do not list ts")
	}
	meta, err := adm.BrokerMetadata(ctx)
	if err != nil || len(meta.Brokers) != 1 || meta.Cluster == "" || meta.Controller != meta.Brokers[0].NodeID {
		t.Fatalf("cluster metadata: %v %+v", err, meta)
	}
}

// Incremental alters of one topic sent at once, each setting its own
// config, all take effect: each one's read of the current configs and its
// write happen together (Kafka's controller serializes them too).
func TestConcurrentIncrementalAlterConfigs(t *testing.T) {
	b := brokertest.Start(t, nil)
	adm := b.Admin()
	ctx := brokertest.Context(t, 30*time.Second)
	createTopic(t, adm, "altered", 1, nil)
	settings := map[string]string{
		"retention.ms": "3600001", "retention.bytes": "1048577", "segment.ms": "3600002",
		"segment.bytes": "1048578", "max.message.bytes": "1048579", "delete.retention.ms": "3600003",
		"min.compaction.lag.ms": "3600004", "max.compaction.lag.ms": "3600005",
	}
	for round := range 5 {
		var wg sync.WaitGroup
		errs := make(chan error, len(settings))
		for name, value := range settings {
			wg.Go(func() {
				v := value + strconv.Itoa(round)
				resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: name, Value: &v}}, "altered")
				if err == nil {
					_, err = resp.On("altered", nil)
				}
				if err == nil {
					err = resp[0].Err
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got := map[string]string{}
		for _, c := range topicConfigs(ctx, t, adm, "altered") {
			if c.Source == kmsg.ConfigSourceDynamicTopicConfig {
				got[c.Key] = c.MaybeValue()
			}
		}
		for name, value := range settings {
			if got[name] != value+strconv.Itoa(round) {
				t.Fatalf("round %d: %s is %q, want %q (overrides %v)", round, name, got[name], value+strconv.Itoa(round), got)
			}
		}
	}
}

// TestMessageFormatVersionIsAcceptedAndIgnored: Kafka 3.x accepts the
// deprecated topic config message.format.version and ignores it (KIP-724),
// and librdkafka's 0092_mixed_msgver sets it through the legacy AlterConfigs
// mid-stream. Samsa keeps it as an override but goes on writing format v2,
// so records written after it still carry headers; a value that names no
// Kafka release is INVALID_CONFIG.
func TestMessageFormatVersionIsAcceptedAndIgnored(t *testing.T) {
	b := brokertest.Start(t, nil)
	adm := b.Admin()
	ctx := brokertest.Context(t, 30*time.Second)
	createTopic(t, adm, "oldformat", 1, nil)

	alter := func(value string) error {
		resp, err := adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "message.format.version", Value: &value}}, "oldformat")
		if err != nil {
			return err
		}
		r, err := resp.On("oldformat", nil)
		if err != nil {
			return err
		}
		return r.Err
	}
	if err := alter("0.10.0.0"); err != nil {
		t.Fatalf("AlterConfigs message.format.version=0.10.0.0: %v", err)
	}
	if err := alter("0.7"); !errors.Is(err, kerr.InvalidConfig) {
		t.Fatalf("AlterConfigs message.format.version=0.7: %v, want INVALID_CONFIG", err)
	}

	if c, ok := topicConfigs(ctx, t, adm, "oldformat")["message.format.version"]; !ok {
		t.Error("DescribeConfigs does not list message.format.version")
	} else if c.MaybeValue() != "0.10.0.0" || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Errorf("message.format.version = %q from %v, want 0.10.0.0 from the topic", c.MaybeValue(), c.Source)
	}

	cl := b.Client(kgo.DefaultProduceTopic("oldformat"), kgo.ConsumeTopics("oldformat"))
	rec := &kgo.Record{Value: []byte("v2"), Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("kept")}}}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	fetches := cl.PollFetches(ctx)
	if errs := fetches.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	got := fetches.Records()
	if len(got) != 1 || len(got[0].Headers) != 1 || string(got[0].Headers[0].Value) != "kept" {
		t.Fatalf("records %+v, want one with its header (format v2)", got)
	}
}

// An empty cleanup.policy is accepted, as in Kafka 3.x (confluent-kafka's
// incremental alter test SUBTRACTs "delete" from it): the topic is neither
// trimmed by retention nor compacted, while a delete topic with the same
// settings is trimmed.
func TestEmptyCleanupPolicyKeepsEveryRecord(t *testing.T) {
	b := brokertest.Start(t, map[string]string{"log.retention.check.interval.ms": "50"})
	adm := b.Admin()
	ctx := brokertest.Context(t, 30*time.Second)
	tiny := map[string]*string{"retention.ms": strp("1"), "segment.bytes": strp("14")}
	createTopic(t, adm, "keep-all", 1, tiny)
	createTopic(t, adm, "trimmed", 1, tiny)
	resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SubtractConfig, Name: "cleanup.policy", Value: strp("delete")}}, "keep-all")
	if err != nil || resp[0].Err != nil {
		t.Fatalf("subtract delete from cleanup.policy: %v %v", err, resp)
	}
	if c := topicConfigs(ctx, t, adm, "keep-all")["cleanup.policy"]; c.MaybeValue() != "" || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Fatalf("cleanup.policy = %q from %v, want an empty override", c.MaybeValue(), c.Source)
	}
	cl := b.Client(kgo.MaxBufferedRecords(1)) // one batch, so one segment, per record
	for _, topic := range []string{"keep-all", "trimmed"} {
		for i := range 4 {
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte{byte(i)}}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	startOf := func(topic string) int64 {
		offs, err := adm.ListStartOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := offs.Lookup(topic, 0)
		return o.Offset
	}
	waitFor(t, 20*time.Second, "retention trims the delete topic", func() bool { return startOf("trimmed") > 0 })
	if got := startOf("keep-all"); got != 0 {
		t.Fatalf("the topic with an empty cleanup.policy starts at %d, want 0", got)
	}
}
