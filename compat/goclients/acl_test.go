package goclients

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl/plain"
)

// startACLBroker runs a broker with an authorizer on a SASL_PLAINTEXT
// listener: admin is a super user, carol has only what a test grants.
func startACLBroker(t *testing.T) (saslAddr string) {
	t.Helper()
	saslAddr = freeAddr(t)
	startBrokerWith(t, saslAddr,
		"--set", "listeners=SASL_PLAINTEXT://"+saslAddr,
		"--set", "sasl.enabled.mechanisms=PLAIN",
		"--set", `listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-secret" user_carol="carol-secret";`,
		"--set", "authorizer.class.name=kafka.security.authorizer.AclAuthorizer",
		"--set", "super.users=User:admin")
	return saslAddr
}

// TestSaramaACLs creates, lists and deletes ACLs with sarama's
// ClusterAdmin and checks that a sarama producer is held to them.
func TestSaramaACLs(t *testing.T) {
	addr := startACLBroker(t)
	adminCfg := saramaSASLConfig(sarama.SASLTypePlaintext, "admin", "admin-secret")
	adminCfg.Version = sarama.V2_8_0_0
	admin, err := sarama.NewClusterAdmin([]string{addr}, adminCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, topic := range []string{"sarama-acl", "sarama-acl-other"} {
		if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
			t.Fatalf("create %s as a super user: %v", topic, err)
		}
	}
	send := func(topic string) error {
		cfg := saramaSASLConfig(sarama.SASLTypePlaintext, "carol", "carol-secret")
		producer, err := sarama.NewSyncProducer([]string{addr}, cfg)
		if err != nil {
			return err
		}
		defer producer.Close()
		_, _, err = producer.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder("v")})
		return err
	}
	if err := send("sarama-acl"); !errors.Is(err, sarama.ErrTopicAuthorizationFailed) {
		t.Fatalf("send without ACLs: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}

	resource := sarama.Resource{ResourceType: sarama.AclResourceTopic, ResourceName: "sarama-acl", ResourcePatternType: sarama.AclPatternLiteral}
	for _, op := range []sarama.AclOperation{sarama.AclOperationWrite, sarama.AclOperationDescribe} {
		if err := admin.CreateACL(resource, sarama.Acl{Principal: "User:carol", Host: "*", Operation: op, PermissionType: sarama.AclPermissionAllow}); err != nil {
			t.Fatalf("CreateACL %v: %v", op, err)
		}
	}
	principal := "User:carol"
	listed, err := admin.ListAcls(sarama.AclFilter{ResourceType: sarama.AclResourceAny, ResourcePatternTypeFilter: sarama.AclPatternAny,
		Principal: &principal, Operation: sarama.AclOperationAny, PermissionType: sarama.AclPermissionAny})
	if err != nil {
		t.Fatalf("ListAcls: %v", err)
	}
	if len(listed) != 1 || listed[0].ResourceName != "sarama-acl" || len(listed[0].Acls) != 2 {
		t.Fatalf("ListAcls: %+v, want sarama-acl with 2 ACLs", listed)
	}
	if err := send("sarama-acl"); err != nil {
		t.Fatalf("send with WRITE: %v", err)
	}
	if err := send("sarama-acl-other"); !errors.Is(err, sarama.ErrTopicAuthorizationFailed) {
		t.Fatalf("send to a topic without WRITE: %v", err)
	}
	name := "sarama-acl"
	matched, err := admin.DeleteACL(sarama.AclFilter{ResourceType: sarama.AclResourceTopic, ResourceName: &name,
		ResourcePatternTypeFilter: sarama.AclPatternLiteral, Operation: sarama.AclOperationAny, PermissionType: sarama.AclPermissionAny}, false)
	if err != nil || len(matched) != 2 {
		t.Fatalf("DeleteACL: %v, matched %d, want 2", err, len(matched))
	}
	if err := send("sarama-acl"); !errors.Is(err, sarama.ErrTopicAuthorizationFailed) {
		t.Fatalf("send after the ACLs are deleted: %v", err)
	}
}

// TestKafkaGoACLs does the same with segmentio/kafka-go's Client.
func TestKafkaGoACLs(t *testing.T) {
	addr := startACLBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 10 * time.Second,
		Transport: &kafka.Transport{SASL: plain.Mechanism{Username: "admin", Password: "admin-secret"}}}
	if _, err := admin.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: "kafka-go-acl", NumPartitions: 1, ReplicationFactor: 1}}}); err != nil {
		t.Fatal(err)
	}
	carol := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 10 * time.Second,
		Transport: &kafka.Transport{SASL: plain.Mechanism{Username: "carol", Password: "carol-secret"}}}
	produce := func() error {
		resp, err := carol.Produce(ctx, &kafka.ProduceRequest{Topic: "kafka-go-acl", Partition: 0, RequiredAcks: kafka.RequireAll,
			Records: kafka.NewRecordReader(kafka.Record{Value: kafka.NewBytes([]byte("v"))})})
		if err != nil {
			return err
		}
		return resp.Error
	}
	// kafka-go's Client answers metadata from a cache of every topic the
	// user may see, so a refused topic looks absent there ("topic not
	// found"); a Conn asks the broker about the topic itself.
	denied := func() error {
		conn, err := (&kafka.Dialer{SASLMechanism: plain.Mechanism{Username: "carol", Password: "carol-secret"}, Timeout: 10 * time.Second}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		defer conn.Close()
		_, err = conn.ReadPartitions("kafka-go-acl")
		return err
	}
	if err := denied(); !errors.Is(err, kafka.TopicAuthorizationFailed) {
		t.Fatalf("metadata without ACLs: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	created, err := admin.CreateACLs(ctx, &kafka.CreateACLsRequest{ACLs: []kafka.ACLEntry{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: "kafka-go-acl", ResourcePatternType: kafka.PatternTypeLiteral,
		Principal: "User:carol", Host: "*", Operation: kafka.ACLOperationTypeWrite, PermissionType: kafka.ACLPermissionTypeAllow,
	}}})
	if err != nil || len(created.Errors) != 1 || created.Errors[0] != nil {
		t.Fatalf("CreateACLs: %v %+v", err, created)
	}
	described, err := admin.DescribeACLs(ctx, &kafka.DescribeACLsRequest{Filter: kafka.ACLFilter{
		ResourceTypeFilter: kafka.ResourceTypeAny, ResourcePatternTypeFilter: kafka.PatternTypeAny,
		PrincipalFilter: "User:carol", Operation: kafka.ACLOperationTypeAny, PermissionType: kafka.ACLPermissionTypeAny,
	}})
	if err != nil || described.Error != nil || len(described.Resources) != 1 || len(described.Resources[0].ACLs) != 1 {
		t.Fatalf("DescribeACLs: %v %+v", err, described)
	}
	if err := produce(); err != nil {
		t.Fatalf("produce with WRITE: %v", err)
	}
	deleted, err := admin.DeleteACLs(ctx, &kafka.DeleteACLsRequest{Filters: []kafka.DeleteACLsFilter{{
		ResourceTypeFilter: kafka.ResourceTypeTopic, ResourceNameFilter: "kafka-go-acl", ResourcePatternTypeFilter: kafka.PatternTypeLiteral,
		Operation: kafka.ACLOperationTypeAny, PermissionType: kafka.ACLPermissionTypeAny,
	}}})
	if err != nil || len(deleted.Results) != 1 || len(deleted.Results[0].MatchingACLs) != 1 {
		t.Fatalf("DeleteACLs: %v %+v", err, deleted)
	}
	if err := denied(); !errors.Is(err, kafka.TopicAuthorizationFailed) {
		t.Fatalf("metadata after the ACL is deleted: %v", err)
	}
}
