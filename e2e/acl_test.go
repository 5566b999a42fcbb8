package e2e

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// startAuthorizingBroker runs a broker with Kafka's StandardAuthorizer
// settings on one SASL_PLAINTEXT listener: admin is a super user; alice and
// bob have only the ACLs a test gives them.
func startAuthorizingBroker(t *testing.T, dataDir string) *brokertest.Broker {
	t.Helper()
	props := map[string]string{
		"listeners":               "SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms": "PLAIN",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required ` +
			`username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret" user_bob="bob-secret";`,
		"authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users":           "User:admin",
	}
	if dataDir != "" {
		props["log.dirs"] = dataDir
	}
	return brokertest.Start(t, props)
}

func userClient(t *testing.T, b *brokertest.Broker, user string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return securedClient(t, b.Addr, append([]kgo.Opt{kgo.SASL(plain.Auth{User: user, Pass: user + "-secret"}.AsMechanism())}, opts...)...)
}

// produceErr produces one record and returns the record's error.
func produceErr(ctx context.Context, cl *kgo.Client, topic string) error {
	return cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("v")}).FirstErr()
}

func mustCreateACLs(ctx context.Context, t *testing.T, adm *kadm.Client, b *kadm.ACLBuilder) {
	t.Helper()
	results, err := adm.CreateACLs(ctx, b)
	if err != nil {
		t.Fatalf("CreateACLs: %v", err)
	}
	for _, r := range results {
		if r.Err != nil {
			t.Fatalf("CreateACLs %s %s %v: %v %s", r.Principal, r.Name, r.Operation, r.Err, r.ErrMessage)
		}
	}
}

func describeACLsOf(ctx context.Context, t *testing.T, adm *kadm.Client, principal string) kadm.DescribedACLs {
	t.Helper()
	results, err := adm.DescribeACLs(ctx, kadm.NewACLs().Allow(principal).AllowHosts().Deny(principal).DenyHosts().
		AnyResource().Operations(kadm.OpAny).ResourcePatternType(kadm.ACLPatternAny))
	if err != nil {
		t.Fatalf("DescribeACLs: %v", err)
	}
	var all kadm.DescribedACLs
	for _, r := range results {
		if r.Err != nil {
			t.Fatalf("DescribeACLs: %v", r.Err)
		}
		all = append(all, r.Described...)
	}
	return all
}

func TestACLAuthorization(t *testing.T) {
	dir := t.TempDir()
	b := startAuthorizingBroker(t, dir)
	ctx := brokertest.Context(t, 90*time.Second)
	adm := kadm.NewClient(userClient(t, b, "admin"))
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "orders"); err != nil {
		t.Fatalf("super user creates a topic: %v", err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "clicks"); err != nil {
		t.Fatal(err)
	}

	// No ACLs: alice may do nothing (allow.everyone.if.no.acl.found=false).
	alice := userClient(t, b, "alice", kgo.DisableIdempotentWrite())
	if err := produceErr(ctx, alice, "orders"); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("produce without ACLs: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	aliceIdem := userClient(t, b, "alice")
	initPID := kmsg.NewPtrInitProducerIDRequest()
	if resp, err := initPID.RequestWith(ctx, aliceIdem); err != nil || resp.ErrorCode != kerr.ClusterAuthorizationFailed.Code {
		t.Fatalf("idempotent InitProducerId without ACLs: %v %v, want CLUSTER_AUTHORIZATION_FAILED", err, resp)
	}
	aliceAdm := kadm.NewClient(alice)
	if topics, err := aliceAdm.ListTopics(ctx); err != nil || len(topics) != 0 {
		t.Fatalf("alice lists topics without ACLs: %v %v, want none", topics.Names(), err)
	}

	// Grants: WRITE on orders, READ on every topic and group named order*.
	mustCreateACLs(ctx, t, adm, kadm.NewACLs().Allow("User:alice").AllowHosts().
		Topics("orders").Operations(kadm.OpWrite).ResourcePatternType(kadm.ACLPatternLiteral))
	mustCreateACLs(ctx, t, adm, kadm.NewACLs().Allow("User:alice").AllowHosts().
		Topics("order").Groups("order").Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternPrefixed))
	if got := describeACLsOf(ctx, t, adm, "User:alice"); len(got) != 3 {
		t.Fatalf("DescribeAcls for alice: %d bindings, want 3: %+v", len(got), got)
	}
	// A filter that names a topic matches the prefixed binding that covers it.
	res, err := adm.DescribeACLs(ctx, kadm.NewACLs().Allow().AllowHosts().Deny().DenyHosts().Topics("orders").
		Operations(kadm.OpAny).ResourcePatternType(kadm.ACLPatternMatch))
	if err != nil || len(res) != 1 || len(res[0].Described) != 2 {
		t.Fatalf("DescribeAcls MATCH orders: %+v %v, want the literal and the prefixed binding", res, err)
	}

	if err := produceErr(ctx, aliceIdem, "orders"); err != nil {
		t.Fatalf("idempotent produce with WRITE on the topic: %v", err)
	}
	if err := produceErr(ctx, alice, "clicks"); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("produce to a topic without WRITE: %v", err)
	}
	// A fresh client: kgo's cached metadata would carry the failed clicks.
	if topics, err := kadm.NewClient(userClient(t, b, "alice")).ListTopics(ctx); err != nil || !slices.Equal(topics.Names(), []string{"orders"}) {
		t.Fatalf("alice lists topics: %v %v, want [orders] (READ implies DESCRIBE)", topics.Names(), err)
	}

	// A group she may read consumes and commits.
	consumer := userClient(t, b, "alice", kgo.ConsumerGroup("order-svc"), kgo.ConsumeTopics("orders"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	fetches := consumer.PollFetches(ctx)
	if err := fetches.Err0(); err != nil || fetches.NumRecords() == 0 {
		t.Fatalf("group consume with READ on topic and group: %v, %d records", err, fetches.NumRecords())
	}
	if err := consumer.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	offsets, err := aliceAdm.FetchOffsets(ctx, "order-svc")
	if err != nil || len(offsets) == 0 {
		t.Fatalf("alice fetches her group's offsets: %v %v", offsets, err)
	}
	// KIP-848: a subscription to a topic she may not describe is refused.
	for topic, want := range map[string]int16{"clicks": kerr.TopicAuthorizationFailed.Code, "orders": 0} {
		hb := kmsg.NewPtrConsumerGroupHeartbeatRequest()
		hb.Group, hb.MemberID, hb.MemberEpoch, hb.RebalanceTimeoutMillis = "order-848", "m-"+topic, 0, 30000
		hb.SubscribedTopicNames = []string{topic}
		hb.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{} // a join reports no owned partitions
		resp, err := hb.RequestWith(ctx, alice)
		if err != nil || resp.ErrorCode != want {
			t.Fatalf("ConsumerGroupHeartbeat subscribing to %s: %v %v, want %v", topic, err, resp, kerr.ErrorForCode(want))
		}
	}
	// KIP-848: a regex subscription matches only topics she may describe.
	listed, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hb := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	hb.Group, hb.MemberID, hb.MemberEpoch, hb.RebalanceTimeoutMillis = "order-regex", "m-regex", 0, 30000
	hb.SubscribedTopicRegex = new(".*")
	hb.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	hbResp, err := hb.RequestWith(ctx, alice)
	if err != nil || hbResp.ErrorCode != 0 || hbResp.Assignment == nil {
		t.Fatalf("regex heartbeat: %v %+v", err, hbResp)
	}
	var assigned []string
	for _, at := range hbResp.Assignment.Topics {
		for name, d := range listed {
			if d.ID == at.TopicID {
				assigned = append(assigned, name)
			}
		}
	}
	if !slices.Equal(assigned, []string{"orders"}) {
		t.Fatalf("regex .* assigned %v, want only the describable orders", assigned)
	}
	// DescribeTopicPartitions: a named topic she may not describe is
	// refused, listed last; asking for every topic shows only hers.
	named := topicPartitionsOf(describeTopicPartitions(ctx, t, alice, 100, nil, "clicks", "orders"))
	if len(named) == 0 || named[len(named)-1] != "clicks!"+kerr.TopicAuthorizationFailed.Message || strings.Contains(strings.Join(named[:len(named)-1], " "), "clicks") {
		t.Fatalf("DescribeTopicPartitions clicks, orders: %v", named)
	}
	for _, p := range topicPartitionsOf(describeTopicPartitions(ctx, t, alice, 100, nil)) {
		if !strings.HasPrefix(p, "orders:") {
			t.Fatalf("DescribeTopicPartitions of every topic shows %s", p)
		}
	}
	// OffsetCommit and OffsetFetch v10 name topics by id: the ACLs apply to
	// the topic the id names, an unknown id is UNKNOWN_TOPIC_ID.
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.SetVersion(10)
	commit.Group, commit.Generation = "order-v10", -1
	for _, id := range [][16]byte{listed["orders"].ID, listed["clicks"].ID, {0xde, 0xad}} {
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.TopicID = id
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Offset = 1
		rt.Partitions = append(rt.Partitions, rp)
		commit.Topics = append(commit.Topics, rt)
	}
	commitResp, err := commit.RequestWith(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	wantCommit := map[[16]byte]int16{listed["orders"].ID: 0, listed["clicks"].ID: kerr.TopicAuthorizationFailed.Code, {0xde, 0xad}: kerr.UnknownTopicID.Code}
	for _, rt := range commitResp.Topics {
		if want, ok := wantCommit[rt.TopicID]; !ok || rt.Partitions[0].ErrorCode != want {
			t.Errorf("OffsetCommit v10 of %x: %v, want %v", rt.TopicID, kerr.ErrorForCode(rt.Partitions[0].ErrorCode), kerr.ErrorForCode(want))
		}
	}
	// An admin commits for clicks too; alice's fetch of everything shows
	// only orders.
	adminCommit := *commit
	adminCommit.Topics = commit.Topics[1:2]
	if resp, err := adminCommit.RequestWith(ctx, userClient(t, b, "admin")); err != nil || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("admin OffsetCommit v10: %v %+v", err, resp)
	}
	fetchAll := kmsg.NewPtrOffsetFetchRequest()
	fetchAll.SetVersion(10)
	fg := kmsg.NewOffsetFetchRequestGroup()
	fg.Group = "order-v10"
	fetchAll.Groups = append(fetchAll.Groups, fg)
	fetchResp, err := fetchAll.RequestWith(ctx, alice)
	if err != nil || len(fetchResp.Groups) != 1 || fetchResp.Groups[0].ErrorCode != 0 {
		t.Fatalf("OffsetFetch v10: %v %+v", err, fetchResp)
	}
	if ts := fetchResp.Groups[0].Topics; len(ts) != 1 || ts[0].TopicID != listed["orders"].ID || ts[0].Partitions[0].Offset != 1 {
		t.Fatalf("OffsetFetch v10 of every offset shows %+v, want orders' only", ts)
	}
	// A group outside her prefix is refused at FindCoordinator.
	other := userClient(t, b, "alice", kgo.ConsumerGroup("billing"), kgo.ConsumeTopics("orders"))
	if err := other.PollFetches(ctx).Err0(); !errors.Is(err, kerr.GroupAuthorizationFailed) {
		t.Fatalf("join a group without READ: %v, want GROUP_AUTHORIZATION_FAILED", err)
	}
	// bob may not describe alice's group; admin lists it.
	if _, err := kadm.NewClient(userClient(t, b, "bob")).FetchOffsets(ctx, "order-svc"); !errors.Is(err, kerr.GroupAuthorizationFailed) {
		t.Fatalf("bob fetches alice's offsets: %v, want GROUP_AUTHORIZATION_FAILED", err)
	}
	groups, err := adm.ListGroups(ctx)
	if err != nil || !slices.Contains(groups.Groups(), "order-svc") {
		t.Fatalf("super user lists groups: %v %v", groups.Groups(), err)
	}

	// Administration needs cluster or topic rights she does not have.
	created, err := aliceAdm.CreateTopic(ctx, 1, 1, nil, "mine")
	if !errors.Is(err, kerr.TopicAuthorizationFailed) && !errors.Is(created.Err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("create a topic without CREATE: %v %v", err, created.Err)
	}
	deleted, err := aliceAdm.DeleteTopics(ctx, "orders")
	if err != nil || !errors.Is(deleted["orders"].Err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("delete a topic without DELETE: %v %+v", err, deleted)
	}
	self, err := aliceAdm.CreateACLs(ctx, kadm.NewACLs().Allow("User:alice").AllowHosts().
		Clusters().Operations(kadm.OpAll).ResourcePatternType(kadm.ACLPatternLiteral))
	if !errors.Is(err, kerr.ClusterAuthorizationFailed) && (len(self) == 0 || !errors.Is(self[0].Err, kerr.ClusterAuthorizationFailed)) {
		t.Fatalf("alice grants herself the cluster: %v %+v, want CLUSTER_AUTHORIZATION_FAILED", err, self)
	}

	if _, err := aliceAdm.ElectLeaders(ctx, kadm.ElectPreferredReplica, kadm.TopicsSet{"orders": {0: {}}}); !errors.Is(err, kerr.ClusterAuthorizationFailed) {
		t.Fatalf("elect leaders without cluster ALTER: %v", err)
	}
	var move kadm.AlterPartitionAssignmentsReq
	move.Assign("orders", 0, []int32{0})
	if _, err := aliceAdm.AlterPartitionAssignments(ctx, move); !errors.Is(err, kerr.ClusterAuthorizationFailed) {
		t.Fatalf("reassign without cluster ALTER: %v", err)
	}
	if _, err := aliceAdm.ListPartitionReassignments(ctx, kadm.TopicsSet{"orders": {0: {}}}); !errors.Is(err, kerr.ClusterAuthorizationFailed) {
		t.Fatalf("list reassignments without cluster DESCRIBE: %v", err)
	}
	if _, err := adm.AlterPartitionAssignments(ctx, move); err != nil {
		t.Fatalf("super user reassigns: %v", err)
	}
	// UpdateFeatures needs the cluster's ALTER.
	features := kmsg.NewPtrUpdateFeaturesRequest()
	fu := kmsg.NewUpdateFeaturesRequestFeatureUpdate()
	fu.Feature, fu.MaxVersionLevel, fu.UpgradeType = "group.version", 1, 1
	features.FeatureUpdates = append(features.FeatureUpdates, fu)
	if resp, err := features.RequestWith(ctx, alice); err != nil || resp.ErrorCode != kerr.ClusterAuthorizationFailed.Code {
		t.Fatalf("update features without cluster ALTER: %v %+v", err, resp)
	}
	if resp, err := features.RequestWith(ctx, userClient(t, b, "admin")); err != nil || resp.ErrorCode != 0 {
		t.Fatalf("super user updates features: %v %+v", err, resp)
	}
	// Client quotas need the cluster's DESCRIBE_CONFIGS and ALTER_CONFIGS.
	if _, err := aliceAdm.DescribeClientQuotas(ctx, false, nil); !errors.Is(err, kerr.ClusterAuthorizationFailed) {
		t.Fatalf("describe client quotas without DESCRIBE_CONFIGS: %v", err)
	}
	own := []kadm.AlterClientQuotaEntry{{Entity: kadm.ClientQuotaEntity{{Type: "user", Name: strp("alice")}},
		Ops: []kadm.AlterClientQuotaOp{{Key: "producer_byte_rate", Value: 1 << 30}}}}
	if res, err := aliceAdm.AlterClientQuotas(ctx, own); err != nil || len(res) != 1 || !errors.Is(res[0].Err, kerr.ClusterAuthorizationFailed) {
		t.Fatalf("alter her own quota without ALTER_CONFIGS: %v %+v", err, res)
	}
	if res, err := adm.AlterClientQuotas(ctx, own); err != nil || res[0].Err != nil {
		t.Fatalf("super user sets a quota: %v %+v", err, res)
	}
	// DescribeProducers needs READ on the topic: orders yes, clicks no.
	if res, err := aliceAdm.DescribeProducers(ctx, kadm.TopicsSet{"orders": {0: {}, 1: {}}}); err != nil || len(res["orders"].Partitions) != 2 || res["orders"].Partitions[0].Err != nil {
		t.Fatalf("describe producers of a readable topic: %+v %v", res, err)
	}
	if _, err := kadm.NewClient(userClient(t, b, "alice")).DescribeProducers(ctx, kadm.TopicsSet{"clicks": {0: {}}}); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("describe producers of clicks without READ: %v", err)
	}

	// DENY wins over ALLOW; deleting it restores access.
	mustCreateACLs(ctx, t, adm, kadm.NewACLs().Deny("User:alice").DenyHosts().
		Topics("orders").Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternLiteral))
	reader := userClient(t, b, "alice", kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err := reader.PollFetches(ctx).Err0(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("fetch with READ denied: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	// DENY READ does not deny DESCRIBE (Kafka's rule): ListOffsets still works.
	offs, err := aliceAdm.ListEndOffsets(ctx, "orders")
	if o, _ := offs.Lookup("orders", 0); err != nil || o.Err != nil {
		t.Fatalf("ListOffsets with READ denied: %v %v", err, o.Err)
	}
	dres, err := adm.DeleteACLs(ctx, kadm.NewACLs().Deny("User:alice").DenyHosts().
		Topics("orders").Operations(kadm.OpAny).ResourcePatternType(kadm.ACLPatternLiteral))
	if err != nil || len(dres) != 1 || len(dres[0].Deleted) != 1 {
		t.Fatalf("DeleteAcls of the deny: %+v %v, want one deleted", dres, err)
	}
	reader = userClient(t, b, "alice", kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if f := reader.PollFetches(ctx); f.Err0() != nil || f.NumRecords() == 0 {
		t.Fatalf("fetch after the deny is gone: %v, %d records", f.Err0(), f.NumRecords())
	}

	// ACLs are in the metadata log: a restarted broker enforces the same.
	b.Stop()
	b = startAuthorizingBroker(t, dir)
	adm = kadm.NewClient(userClient(t, b, "admin"))
	if got := describeACLsOf(ctx, t, adm, "User:alice"); len(got) != 3 {
		t.Fatalf("after restart: %d bindings for alice, want 3: %+v", len(got), got)
	}
	if err := produceErr(ctx, userClient(t, b, "alice", kgo.DisableIdempotentWrite()), "clicks"); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("after restart, produce to clicks: %v", err)
	}
	if err := produceErr(ctx, userClient(t, b, "alice"), "orders"); err != nil {
		t.Fatalf("after restart, produce to orders: %v", err)
	}
}

// Transactions need WRITE on the transactional id, and the offsets they
// commit need READ on the group.
func TestACLTransactions(t *testing.T) {
	b := startAuthorizingBroker(t, "")
	ctx := brokertest.Context(t, 60*time.Second)
	adm := kadm.NewClient(userClient(t, b, "admin"))
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "payments"); err != nil {
		t.Fatal(err)
	}
	mustCreateACLs(ctx, t, adm, kadm.NewACLs().Allow("User:alice").AllowHosts().
		Topics("payments").Operations(kadm.OpWrite).ResourcePatternType(kadm.ACLPatternLiteral))

	denied := userClient(t, b, "alice", kgo.TransactionalID("pay-1"))
	// kgo loads the producer id when the client starts: the refusal shows
	// at BeginTransaction or at the first produce.
	err := denied.BeginTransaction()
	if err == nil {
		err = produceErr(ctx, denied, "payments")
	}
	// kgo reports a failed producer-id load by message, not as a wrapped error.
	if err == nil || !strings.Contains(err.Error(), "TRANSACTIONAL_ID_AUTHORIZATION_FAILED") {
		t.Fatalf("transactional produce without WRITE on the id: %v, want TRANSACTIONAL_ID_AUTHORIZATION_FAILED", err)
	}

	mustCreateACLs(ctx, t, adm, kadm.NewACLs().Allow("User:alice").AllowHosts().
		TransactionalIDs("pay-").Operations(kadm.OpWrite).ResourcePatternType(kadm.ACLPatternPrefixed))
	tx := userClient(t, b, "alice", kgo.TransactionalID("pay-2"))
	if err := tx.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := produceErr(ctx, tx, "payments"); err != nil {
		t.Fatalf("transactional produce with WRITE on the id: %v", err)
	}
	if err := tx.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit: %v", err)
	}

	// AddOffsetsToTxn for a group she may not read: refused before the
	// producer id is looked at.
	req := kmsg.NewPtrAddOffsetsToTxnRequest()
	req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Group = "pay-2", 1, 0, "ledger"
	got, err := req.RequestWith(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	if got.ErrorCode != kerr.GroupAuthorizationFailed.Code {
		t.Fatalf("AddOffsetsToTxn without READ on the group: %v, want GROUP_AUTHORIZATION_FAILED", kerr.ErrorForCode(got.ErrorCode))
	}
}

// Without an authorizer the ACL APIs answer SECURITY_DISABLED, as Kafka's.
func TestACLsNeedAnAuthorizer(t *testing.T) {
	b := brokertest.Start(t, nil)
	ctx := brokertest.Context(t, 30*time.Second)
	req := kmsg.NewPtrDescribeACLsRequest()
	req.ResourceType, req.ResourcePatternType, req.Operation, req.PermissionType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny, kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	resp, err := req.RequestWith(ctx, b.Client())
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != kerr.SecurityDisabled.Code {
		t.Fatalf("DescribeAcls without an authorizer: %v, want SECURITY_DISABLED", kerr.ErrorForCode(resp.ErrorCode))
	}
	results, err := b.Admin().CreateACLs(ctx, kadm.NewACLs().Allow("User:x").AllowHosts().Topics("t").
		Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternLiteral))
	if !errors.Is(err, kerr.SecurityDisabled) && (len(results) == 0 || !errors.Is(results[0].Err, kerr.SecurityDisabled)) {
		t.Fatalf("CreateAcls without an authorizer: %v %+v, want SECURITY_DISABLED", err, results)
	}
}
