package goclients

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"
)

// TestKafkaGoClusterAdmin runs kafka-go's leader election, reassignment,
// client quota and broker config calls (the ones its own test suite runs
// against a single-broker Kafka) against Samsa.
func TestKafkaGoClusterAdmin(t *testing.T) {
	b := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(b.addr), Timeout: 10 * time.Second}
	const topic = "kafka-go-admin"
	if _, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: 2, ReplicationFactor: 1}}}); err != nil {
		t.Fatal(err)
	}

	elected, err := client.ElectLeaders(ctx, &kafka.ElectLeadersRequest{Topic: topic, Partitions: []int{0, 1}})
	if err != nil || elected.Error != nil || len(elected.PartitionResults) != 2 {
		t.Fatalf("ElectLeaders: %v %+v", err, elected)
	}
	for _, r := range elected.PartitionResults {
		if !errors.Is(r.Error, kafka.ElectionNotNeeded) {
			t.Fatalf("partition %d: %v, want ELECTION_NOT_NEEDED", r.Partition, r.Error)
		}
	}

	moved, err := client.AlterPartitionReassignments(ctx, &kafka.AlterPartitionReassignmentsRequest{Topic: topic,
		Assignments: []kafka.AlterPartitionReassignmentsRequestAssignment{{PartitionID: 0, BrokerIDs: []int{0}}, {PartitionID: 1, BrokerIDs: []int{5}}}})
	if err != nil || moved.Error != nil || len(moved.PartitionResults) != 2 {
		t.Fatalf("AlterPartitionReassignments: %v %+v", err, moved)
	}
	for _, r := range moved.PartitionResults {
		if want := map[int]error{0: nil, 1: kafka.InvalidReplicaAssignment}[r.PartitionID]; !errors.Is(r.Error, want) && r.Error != want {
			t.Fatalf("reassign partition %d: %v, want %v", r.PartitionID, r.Error, want)
		}
	}
	listed, err := client.ListPartitionReassignments(ctx, &kafka.ListPartitionReassignmentsRequest{
		Topics: map[string]kafka.ListPartitionReassignmentsRequestTopic{topic: {PartitionIndexes: []int{0, 1}}}})
	if err != nil || listed.Error != nil || len(listed.Topics) != 0 {
		t.Fatalf("ListPartitionReassignments: %v %+v", err, listed)
	}

	altered, err := client.AlterClientQuotas(ctx, &kafka.AlterClientQuotasRequest{Entries: []kafka.AlterClientQuotaEntry{{
		Entities: []kafka.AlterClientQuotaEntity{{EntityType: "client-id", EntityName: "my-client-id"}},
		Ops:      []kafka.AlterClientQuotaOps{{Key: "producer_byte_rate", Value: 500000}},
	}}})
	if err != nil || len(altered.Entries) != 1 || altered.Entries[0].Error != nil {
		t.Fatalf("AlterClientQuotas: %v %+v", err, altered)
	}
	described, err := client.DescribeClientQuotas(ctx, &kafka.DescribeClientQuotasRequest{Components: []kafka.DescribeClientQuotasRequestComponent{
		{EntityType: "client-id", MatchType: 0, Match: "my-client-id"}}})
	if err != nil || described.Error != nil || len(described.Entries) != 1 {
		t.Fatalf("DescribeClientQuotas: %v %+v", err, described)
	}
	e := described.Entries[0]
	if len(e.Entities) != 1 || e.Entities[0].EntityName != "my-client-id" || len(e.Values) != 1 ||
		e.Values[0].Key != "producer_byte_rate" || e.Values[0].Value != 500000 {
		t.Fatalf("described quota: %+v", e)
	}

	// A dynamic broker config, set on this broker and read back.
	alterBroker := func(name, value string) error {
		resp, err := client.IncrementalAlterConfigs(ctx, &kafka.IncrementalAlterConfigsRequest{Resources: []kafka.IncrementalAlterConfigsRequestResource{{
			ResourceType: kafka.ResourceTypeBroker, ResourceName: "0",
			Configs: []kafka.IncrementalAlterConfigsRequestConfig{{Name: name, Value: value, ConfigOperation: kafka.ConfigOperationSet}},
		}}})
		if err != nil {
			return err
		}
		return resp.Resources[0].Error
	}
	if err := alterBroker("log.retention.ms", "4444000"); err != nil {
		t.Fatalf("IncrementalAlterConfigs on broker 0: %v", err)
	}
	if err := alterBroker("num.partitions", "3"); !errors.Is(err, kafka.InvalidRequest) {
		t.Fatalf("a start-up-only broker config: %v, want INVALID_REQUEST", err)
	}
	configs, err := client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeBroker, ResourceName: "0", ConfigNames: []string{"log.retention.ms"}}}})
	if err != nil || len(configs.Resources) != 1 || len(configs.Resources[0].ConfigEntries) != 1 {
		t.Fatalf("DescribeConfigs broker 0: %v %+v", err, configs)
	}
	if c := configs.Resources[0].ConfigEntries[0]; c.ConfigValue != "4444000" || c.ConfigSource != 2 || c.ReadOnly {
		t.Fatalf("log.retention.ms described as %+v, want 4444000 from DYNAMIC_BROKER_CONFIG (2)", c)
	}
}

// TestSaramaClusterAdmin: the same through sarama's ClusterAdmin.
func TestSaramaClusterAdmin(t *testing.T) {
	b := startBroker(t)
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	admin, err := sarama.NewClusterAdmin([]string{b.addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	const topic = "sarama-admin"
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}

	res, err := admin.ElectLeaders(sarama.PreferredElection, map[string][]int32{topic: {0, 1}})
	if err != nil || len(res[topic]) != 2 {
		t.Fatalf("ElectLeaders: %v %+v", err, res)
	}
	for p, r := range res[topic] {
		if !errors.Is(r.ErrorCode, sarama.ErrElectionNotNeeded) {
			t.Fatalf("partition %d: %v, want ELECTION_NOT_NEEDED", p, r.ErrorCode)
		}
	}

	if err := admin.AlterPartitionReassignments(topic, [][]int32{{0}, {0}}); err != nil {
		t.Fatalf("reassign to the current replica: %v", err)
	}
	if err := admin.AlterPartitionReassignments(topic, [][]int32{{3}}); !errors.Is(err, sarama.ErrInvalidReplicaAssignment) {
		t.Fatalf("reassign to an unknown broker: %v, want INVALID_REPLICA_ASSIGNMENT", err)
	}
	status, err := admin.ListPartitionReassignments(topic, []int32{0, 1})
	if err != nil || len(status[topic]) != 0 {
		t.Fatalf("ListPartitionReassignments: %v %+v", err, status)
	}

	user := []sarama.QuotaEntityComponent{{EntityType: sarama.QuotaEntityUser, MatchType: sarama.QuotaMatchExact, Name: "alice"}}
	if err := admin.AlterClientQuotas(user, sarama.ClientQuotasOp{Key: "consumer_byte_rate", Value: 1 << 20}, false); err != nil {
		t.Fatalf("AlterClientQuotas: %v", err)
	}
	// sarama reports an entry's error by its message.
	if err := admin.AlterClientQuotas(user, sarama.ClientQuotasOp{Key: "consumer_byte_rate", Value: 0.5}, false); err == nil || !strings.Contains(err.Error(), "fractional") {
		t.Fatalf("a fractional byte rate: %v, want Kafka's INVALID_REQUEST message", err)
	}
	entries, err := admin.DescribeClientQuotas([]sarama.QuotaFilterComponent{{EntityType: sarama.QuotaEntityUser, MatchType: sarama.QuotaMatchAny}}, false)
	if err != nil || len(entries) != 1 || entries[0].Values["consumer_byte_rate"] != 1<<20 || entries[0].Entity[0].Name != "alice" {
		t.Fatalf("DescribeClientQuotas: %v %+v", err, entries)
	}

	// Dynamic broker configs: the cluster default, then this broker's own.
	set := func(name, value, broker string) error {
		return admin.IncrementalAlterConfig(sarama.BrokerResource, broker, map[string]sarama.IncrementalAlterConfigsEntry{
			name: {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: &value}}, false)
	}
	if err := set("log.retention.ms", "5555000", ""); err != nil {
		t.Fatalf("set the cluster default: %v", err)
	}
	if err := set("log.segment.bytes", "1048576", "0"); err != nil {
		t.Fatalf("set broker 0's own: %v", err)
	}
	if err := set("broker.id", "3", "0"); !errors.Is(err, sarama.ErrInvalidRequest) {
		t.Fatalf("a start-up-only broker config: %v, want INVALID_REQUEST", err)
	}
	described, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic, ConfigNames: []string{"retention.ms", "segment.bytes"}})
	if err != nil || len(described) != 2 {
		t.Fatalf("DescribeConfig %s: %v %+v", topic, err, described)
	}
	for _, c := range described {
		want := map[string]struct {
			value  string
			source sarama.ConfigSource
		}{"retention.ms": {"5555000", sarama.SourceDynamicDefaultBroker}, "segment.bytes": {"1048576", sarama.SourceDynamicBroker}}[c.Name]
		if c.Value != want.value || c.Source != want.source {
			t.Errorf("%s = %q from %v, want %q from %v", c.Name, c.Value, c.Source, want.value, want.source)
		}
	}
}
