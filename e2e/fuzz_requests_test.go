package e2e

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/brokertest"
	"github.com/samsa-broker/samsa/internal/record"
)

// FuzzRequests sends one request of any API key and version with an
// arbitrary body to a real broker, over its own connection. Whatever the
// bytes, the broker must answer or close that connection, never panic (the
// connection layer recovers a handler's panic, but the handler may have held
// a lock), and keep answering other connections: after every input a fresh
// connection must still get Metadata, DescribeGroups and Produce answered.
//
// The seeds are every API kmsg knows at every version, with bodies naming
// the topic and group the broker has, so mutations reach the handlers'
// logic rather than only the decoders. Run it with
//
//	go test -run '^$' -fuzz FuzzRequests -fuzztime 5m ./e2e/
func FuzzRequests(f *testing.F) {
	logs := &brokertest.LogBuffer{}
	b := brokertest.StartLogged(f, map[string]string{"num.partitions": "3"}, logs)
	setup := b.Admin()
	ctx := brokertest.Context(f, 30*time.Second)
	if _, err := setup.CreateTopic(ctx, 3, 1, nil, "t"); err != nil {
		f.Fatal(err)
	}
	if _, err := setup.CreateTopic(ctx, 1, 1, nil, "live"); err != nil {
		f.Fatal(err)
	}

	for key := int16(0); key <= 90; key++ {
		req := kmsg.RequestForKey(key)
		if req == nil {
			continue
		}
		for v := int16(0); v <= req.MaxVersion(); v++ {
			f.Add(key, v, fuzzSeedBody(key, v))
		}
	}
	f.Add(int16(500), int16(0), []byte{1, 2, 3})
	f.Add(int16(18), int16(99), []byte{})

	f.Fuzz(func(t *testing.T, key, version int16, body []byte) {
		if skipFuzzedRequest(key, version, body) {
			return
		}
		rc := dial(t, b.Addr)
		rc.send(fuzzFrame(key, version, body))
		// Any answer, a closed connection or a long poll (Fetch, JoinGroup
		// wait as long as the request asks) is fine; only the broker's
		// health below is checked.
		_ = rc.c.SetReadDeadline(time.Now().Add(2 * time.Second))
		var size [4]byte
		_, _ = rc.c.Read(size[:])
		rc.c.Close()
		if logged := logs.Take(); strings.Contains(logged, `msg="panic`) {
			t.Fatalf("key %d v%d body %x: the broker panicked:\n%s", key, version, body, logged)
		}
		checkBrokerAnswers(t, b.Addr)
		if logged := logs.Take(); strings.Contains(logged, `msg="panic`) {
			t.Fatalf("after key %d v%d body %x: the broker panicked:\n%s", key, version, body, logged)
		}
	})
}

// fuzzFrame frames body as a request of key and version, with the request
// header version the key's version uses.
func fuzzFrame(key, version int16, body []byte) []byte {
	b := make([]byte, 4, 32+len(body))
	b = kbin.AppendInt16(b, key)
	b = kbin.AppendInt16(b, version)
	b = kbin.AppendInt32(b, 1)
	b = kbin.AppendNullableString(b, strPtr("fuzz"))
	if req := kmsg.RequestForKey(key); req != nil && version >= 0 && version <= req.MaxVersion() {
		req.SetVersion(version)
		if req.IsFlexible() {
			b = append(b, 0)
		}
	}
	b = append(b, body...)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// skipFuzzedRequest leaves out requests whose intended effect would make
// the health check fail without any bug: quotas and broker configs that
// throttle or refuse every later connection (or silence the log this test
// reads), and topics with so many partitions that creating them outlasts
// the check.
func skipFuzzedRequest(key, version int16, body []byte) bool {
	req := kmsg.RequestForKey(key)
	if req == nil || version < 0 || version > req.MaxVersion() {
		return false
	}
	req.SetVersion(version)
	if req.ReadFrom(body) != nil {
		return false // a body that does not decode is exactly what to send
	}
	const (
		resourceBroker       = 4
		resourceBrokerLogger = 8
		maxPartitions        = 64
	)
	switch r := req.(type) {
	case *kmsg.AlterClientQuotasRequest:
		return true
	case *kmsg.AlterConfigsRequest:
		for _, res := range r.Resources {
			if res.ResourceType == resourceBroker || res.ResourceType == resourceBrokerLogger {
				return true
			}
		}
	case *kmsg.IncrementalAlterConfigsRequest:
		for _, res := range r.Resources {
			if res.ResourceType == resourceBroker || res.ResourceType == resourceBrokerLogger {
				return true
			}
		}
	case *kmsg.CreateTopicsRequest:
		n := 0
		for _, topic := range r.Topics {
			n += max(int(topic.NumPartitions), len(topic.ReplicaAssignment))
		}
		return n > maxPartitions
	case *kmsg.CreatePartitionsRequest:
		n := 0
		for _, topic := range r.Topics {
			n += int(topic.Count)
		}
		return n > maxPartitions
	}
	return false
}

// checkBrokerAnswers fails t unless a fresh connection gets Metadata,
// DescribeGroups and a produce to "live" answered (with any error code).
func checkBrokerAnswers(t *testing.T, addr string) {
	t.Helper()
	rc := dial(t, addr)
	defer rc.c.Close()
	meta := kmsg.NewPtrMetadataRequest()
	meta.SetVersion(9)
	topic := kmsg.NewMetadataRequestTopic()
	topic.Topic = kmsg.StringPtr("t")
	meta.Topics = append(meta.Topics, topic)
	rc.roundTrip(meta)

	groups := kmsg.NewPtrDescribeGroupsRequest()
	groups.SetVersion(5)
	groups.Groups = []string{"g"}
	rc.roundTrip(groups)

	produce := produceRequest("live", record.Build(record.BatchSpec{
		ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, Timestamp: time.Now().UnixMilli(),
		Records: []record.RecordSpec{{Value: []byte("alive")}},
	}))
	produce.Acks = 1
	produce.SetVersion(9)
	rc.roundTrip(produce)
}

// fuzzSeedBody encodes a request of key at version whose names are those the
// fuzzed broker has (topic "t", group "g"), or kmsg's defaults for the APIs
// not listed.
func fuzzSeedBody(key, version int16) []byte {
	req := kmsg.RequestForKey(key)
	req.SetVersion(version)
	switch r := req.(type) {
	case *kmsg.ProduceRequest:
		r.Acks = 1
		r.TimeoutMillis = 1000
		p := kmsg.NewProduceRequestTopicPartition()
		p.Records = record.Build(record.BatchSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
			Records: []record.RecordSpec{{Key: []byte("k"), Value: []byte("v")}}})
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "t"
		rt.Partitions = append(rt.Partitions, p)
		r.Topics = append(r.Topics, rt)
	case *kmsg.FetchRequest:
		r.MaxWaitMillis = 10
		p := kmsg.NewFetchRequestTopicPartition()
		p.PartitionMaxBytes = 1 << 20
		ft := kmsg.NewFetchRequestTopic()
		ft.Topic = "t"
		ft.Partitions = append(ft.Partitions, p)
		r.Topics = append(r.Topics, ft)
	case *kmsg.ListOffsetsRequest:
		p := kmsg.NewListOffsetsRequestTopicPartition()
		p.Timestamp = -1
		lt := kmsg.NewListOffsetsRequestTopic()
		lt.Topic = "t"
		lt.Partitions = append(lt.Partitions, p)
		r.Topics = append(r.Topics, lt)
	case *kmsg.MetadataRequest:
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr("t")
		r.Topics = append(r.Topics, mt)
	case *kmsg.OffsetCommitRequest:
		r.Group = "g"
		r.Generation = -1
		p := kmsg.NewOffsetCommitRequestTopicPartition()
		p.Offset = 1
		ct := kmsg.NewOffsetCommitRequestTopic()
		ct.Topic = "t"
		ct.Partitions = append(ct.Partitions, p)
		r.Topics = append(r.Topics, ct)
	case *kmsg.OffsetFetchRequest:
		r.Group = "g"
		g := kmsg.NewOffsetFetchRequestGroup()
		g.Group = "g"
		r.Groups = append(r.Groups, g)
	case *kmsg.FindCoordinatorRequest:
		r.CoordinatorKey = "g"
		r.CoordinatorKeys = []string{"g"}
	case *kmsg.JoinGroupRequest:
		r.Group = "g"
		r.SessionTimeoutMillis = 6000
		r.RebalanceTimeoutMillis = 1000
		r.ProtocolType = "consumer"
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name = "range"
		r.Protocols = append(r.Protocols, p)
	case *kmsg.HeartbeatRequest:
		r.Group = "g"
	case *kmsg.LeaveGroupRequest:
		r.Group = "g"
	case *kmsg.SyncGroupRequest:
		r.Group = "g"
	case *kmsg.DescribeGroupsRequest:
		r.Groups = []string{"g"}
	case *kmsg.CreateTopicsRequest:
		ct := kmsg.NewCreateTopicsRequestTopic()
		ct.Topic = "created"
		ct.NumPartitions = 2
		ct.ReplicationFactor = 1
		r.Topics = append(r.Topics, ct)
	case *kmsg.DeleteTopicsRequest:
		r.TopicNames = []string{"created"}
		dt := kmsg.NewDeleteTopicsRequestTopic()
		dt.Topic = kmsg.StringPtr("created")
		r.Topics = append(r.Topics, dt)
	case *kmsg.DeleteRecordsRequest:
		p := kmsg.NewDeleteRecordsRequestTopicPartition()
		dt := kmsg.NewDeleteRecordsRequestTopic()
		dt.Topic = "t"
		dt.Partitions = append(dt.Partitions, p)
		r.Topics = append(r.Topics, dt)
	case *kmsg.InitProducerIDRequest:
		r.TransactionalID = kmsg.StringPtr("txn")
		r.TransactionTimeoutMillis = 10000
	case *kmsg.AddPartitionsToTxnRequest:
		r.TransactionalID = "txn"
		at := kmsg.NewAddPartitionsToTxnRequestTopic()
		at.Topic = "t"
		at.Partitions = []int32{0}
		r.Topics = append(r.Topics, at)
	case *kmsg.DescribeConfigsRequest:
		res := kmsg.NewDescribeConfigsRequestResource()
		res.ResourceType = kmsg.ConfigResourceTypeTopic
		res.ResourceName = "t"
		r.Resources = append(r.Resources, res)
	case *kmsg.IncrementalAlterConfigsRequest:
		res := kmsg.NewIncrementalAlterConfigsRequestResource()
		res.ResourceType = kmsg.ConfigResourceTypeTopic
		res.ResourceName = "t"
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name = "retention.ms"
		c.Value = kmsg.StringPtr("86400000")
		res.Configs = append(res.Configs, c)
		r.Resources = append(r.Resources, res)
	case *kmsg.CreatePartitionsRequest:
		ct := kmsg.NewCreatePartitionsRequestTopic()
		ct.Topic = "t"
		ct.Count = 4
		r.Topics = append(r.Topics, ct)
	case *kmsg.ConsumerGroupHeartbeatRequest:
		r.Group = "g2"
		r.MemberID = "m"
		r.RebalanceTimeoutMillis = 1000
		r.SubscribedTopicNames = []string{"t"}
	case *kmsg.DescribeTopicPartitionsRequest:
		dt := kmsg.NewDescribeTopicPartitionsRequestTopic()
		dt.Topic = "t"
		r.Topics = append(r.Topics, dt)
	}
	return req.AppendTo(nil)
}
