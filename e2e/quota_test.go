package e2e

import (
	"crypto/rand"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// throttleLog records the throttle times a client's brokers report.
type throttleLog struct {
	mu    sync.Mutex
	total time.Duration
	count int
}

func (l *throttleLog) OnBrokerThrottle(_ kgo.BrokerMetadata, d time.Duration, _ bool) {
	l.mu.Lock()
	l.total += d
	l.count++
	l.mu.Unlock()
}

func (l *throttleLog) get() (time.Duration, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total, l.count
}

func quotaEntity(kv ...string) kadm.ClientQuotaEntity {
	var e kadm.ClientQuotaEntity
	for i := 0; i < len(kv); i += 2 {
		c := kadm.ClientQuotaEntityComponent{Type: kv[i]}
		if kv[i+1] != "<default>" {
			c.Name = strp(kv[i+1])
		}
		e = append(e, c)
	}
	return e
}

// TestClientQuotaAdministration: quotas are set, validated, described with
// Kafka's filters and kept across a restart.
func TestClientQuotaAdministration(t *testing.T) {
	b := brokertest.Start(t, nil)
	adm := b.Admin()
	ctx := brokertest.Context(t, 30*time.Second)

	set := func(e kadm.ClientQuotaEntity, ops ...kadm.AlterClientQuotaOp) error {
		t.Helper()
		res, err := adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{Entity: e, Ops: ops}})
		if err != nil {
			t.Fatal(err)
		}
		return res[0].Err
	}
	rate := func(key string, v float64) kadm.AlterClientQuotaOp {
		return kadm.AlterClientQuotaOp{Key: key, Value: v}
	}
	for _, e := range []kadm.ClientQuotaEntity{
		quotaEntity("user", "alice"),
		quotaEntity("user", "alice", "client-id", "app"),
		quotaEntity("user", "<default>"),
		quotaEntity("client-id", "app"),
	} {
		if err := set(e, rate("producer_byte_rate", 1048576), rate("request_percentage", 12.5)); err != nil {
			t.Fatalf("set %v: %v", e, err)
		}
	}
	if err := set(quotaEntity("ip", "10.0.0.1"), rate("connection_creation_rate", 10)); err != nil {
		t.Fatalf("set an ip quota: %v", err)
	}
	for _, tc := range []struct {
		desc string
		e    kadm.ClientQuotaEntity
		op   kadm.AlterClientQuotaOp
	}{
		{"fractional byte rate", quotaEntity("user", "bob"), rate("consumer_byte_rate", 1.5)},
		{"zero", quotaEntity("user", "bob"), rate("producer_byte_rate", 0)},
		{"unknown key", quotaEntity("user", "bob"), rate("bytes_per_fortnight", 1)},
		{"ip key on a user", quotaEntity("user", "bob"), rate("connection_creation_rate", 1)},
		{"ip with a user", quotaEntity("ip", "10.0.0.1", "user", "bob"), rate("connection_creation_rate", 1)},
		{"unknown entity type", quotaEntity("group", "g"), rate("producer_byte_rate", 1)},
		{"empty name", quotaEntity("client-id", ""), rate("producer_byte_rate", 1)},
	} {
		if err := set(tc.e, tc.op); !errors.Is(err, kerr.InvalidRequest) {
			t.Errorf("%s: %v, want INVALID_REQUEST", tc.desc, err)
		}
	}
	if res, err := adm.ValidateAlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{Entity: quotaEntity("user", "carol"),
		Ops: []kadm.AlterClientQuotaOp{rate("producer_byte_rate", 5)}}}); err != nil || res[0].Err != nil {
		t.Fatalf("validate only: %v %v", err, res)
	}

	describe := func(strict bool, comps ...kadm.DescribeClientQuotaComponent) kadm.DescribedClientQuotas {
		t.Helper()
		qs, err := adm.DescribeClientQuotas(ctx, strict, comps)
		if err != nil {
			t.Fatal(err)
		}
		return qs
	}
	exact := func(typ, name string) kadm.DescribeClientQuotaComponent {
		return kadm.DescribeClientQuotaComponent{Type: typ, MatchName: strp(name), MatchType: 0}
	}
	if got := describe(false); len(got) != 5 {
		t.Fatalf("describe all: %d entities, want 5 (validate-only stores nothing): %v", len(got), got)
	}
	if got := describe(false, exact("user", "alice")); len(got) != 2 {
		t.Fatalf("user=alice: %v", got)
	}
	got := describe(true, exact("user", "alice"))
	if len(got) != 1 || len(got[0].Values) != 2 {
		t.Fatalf("user=alice strict: %v", got)
	}
	for _, v := range got[0].Values {
		if want := map[string]float64{"producer_byte_rate": 1048576, "request_percentage": 12.5}[v.Key]; v.Value != want {
			t.Fatalf("value %s = %v, want %v", v.Key, v.Value, want)
		}
	}
	if got := describe(false, kadm.DescribeClientQuotaComponent{Type: "user", MatchType: 1}); len(got) != 1 || got[0].Entity[0].Name != nil {
		t.Fatalf("default user: %v", got)
	}
	if got := describe(false, kadm.DescribeClientQuotaComponent{Type: "user", MatchType: 2}); len(got) != 3 {
		t.Fatalf("any user: %v", got)
	}
	if _, err := adm.DescribeClientQuotas(ctx, false, []kadm.DescribeClientQuotaComponent{{Type: "ip", MatchType: 2}, {Type: "user", MatchType: 2}}); !errors.Is(err, kerr.InvalidRequest) {
		t.Fatalf("ip with user filter: %v", err)
	}
	if _, err := adm.DescribeClientQuotas(ctx, false, []kadm.DescribeClientQuotaComponent{{Type: "topic", MatchType: 2}}); !errors.Is(err, kerr.UnsupportedVersion) {
		t.Fatalf("unknown filter type: %v", err)
	}

	// Removing values: the last one removes the entity.
	if err := set(quotaEntity("client-id", "app"), kadm.AlterClientQuotaOp{Key: "producer_byte_rate", Remove: true},
		kadm.AlterClientQuotaOp{Key: "request_percentage", Remove: true}); err != nil {
		t.Fatal(err)
	}
	b.Restart()
	adm = b.Admin()
	if got := describe(false); len(got) != 4 {
		t.Fatalf("after a restart: %d entities, want 4: %v", len(got), got)
	}
}

// TestByteRateQuotasThrottle: a producer and a consumer over their byte
// rates are told to back off and are held to the rate; a client without a
// quota is not.
func TestByteRateQuotasThrottle(t *testing.T) {
	b := brokertest.Start(t, nil)
	adm := b.Admin()
	ctx := brokertest.Context(t, 60*time.Second)
	createTopic(t, adm, "metered", 1, nil)
	const rate = 64 << 10 // bytes per second; the burst is one second of it
	for _, q := range []kadm.AlterClientQuotaEntry{
		{Entity: quotaEntity("client-id", "slow-writer"), Ops: []kadm.AlterClientQuotaOp{{Key: "producer_byte_rate", Value: rate}}},
		{Entity: quotaEntity("user", "ANONYMOUS", "client-id", "slow-reader"), Ops: []kadm.AlterClientQuotaOp{{Key: "consumer_byte_rate", Value: rate}}},
	} {
		if res, err := adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{q}); err != nil || res[0].Err != nil {
			t.Fatalf("set quota: %v %v", err, res)
		}
	}

	produce := func(clientID string, n int) (time.Duration, *throttleLog) {
		t.Helper()
		log := &throttleLog{}
		cl := b.Client(kgo.ClientID(clientID), kgo.DefaultProduceTopic("metered"), kgo.WithHooks(log))
		value := make([]byte, 16<<10) // random: the quota charges compressed bytes
		rand.Read(value)
		start := time.Now()
		for i := 0; i < n; i++ {
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		return time.Since(start), log
	}
	// 16 × 16 KiB = 256 KiB at 64 KiB/s with a 64 KiB burst: ≥ 3 s of
	// throttling in all, spread over the requests past the burst.
	elapsed, log := produce("slow-writer", 16)
	total, count := log.get()
	if count == 0 || total < 2*time.Second || elapsed < 2*time.Second {
		t.Fatalf("throttled producer: %d throttles totalling %v, %v elapsed; want ≥ 2s of throttling", count, total, elapsed)
	}
	if _, log := produce("free-writer", 16); func() bool { _, n := log.get(); return n != 0 }() {
		t.Fatal("a client without a quota was throttled")
	}

	consume := func(clientID string) (time.Duration, *throttleLog) {
		t.Helper()
		log := &throttleLog{}
		cl := b.Client(kgo.ClientID(clientID), kgo.ConsumeTopics("metered"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(32<<10),
			kgo.FetchMaxPartitionBytes(32<<10), kgo.WithHooks(log))
		start := time.Now()
		for n := 0; n < 16; {
			f := cl.PollFetches(ctx)
			if err := f.Err0(); err != nil {
				t.Fatal(err)
			}
			n += f.NumRecords()
		}
		return time.Since(start), log
	}
	t.Logf("producer: %d throttles totalling %v, %v elapsed", count, total, elapsed)
	// At least 256 KiB at 64 KiB/s, burst 64 KiB: ≥ 3 s as well.
	elapsed, log = consume("slow-reader")
	total, count = log.get()
	if count == 0 || total < 2*time.Second || elapsed < 2*time.Second {
		t.Fatalf("throttled consumer: %d throttles totalling %v, %v elapsed; want ≥ 2s", count, total, elapsed)
	}
	t.Logf("consumer: %d throttles totalling %v, %v elapsed", count, total, elapsed)
	if _, log := consume("free-reader"); func() bool { _, n := log.get(); return n != 0 }() {
		t.Fatal("a consumer without a quota was throttled")
	}
}

// TestControllerMutationQuota: a controller_mutation_rate quota counts the
// partitions a client creates and deletes (KIP-599). Strict request
// versions get THROTTLING_QUOTA_EXCEEDED for the topics past an exceeded
// quota and a throttle time; older versions are only throttled; a client
// without a quota is neither.
func TestControllerMutationQuota(t *testing.T) {
	// A burst of one second of the rate: 10 partitions.
	b := brokertest.Start(t, map[string]string{"controller.quota.window.num": "1", "controller.quota.window.size.seconds": "1"})
	adm := b.Admin()
	ctx := brokertest.Context(t, 60*time.Second)
	q := kadm.AlterClientQuotaEntry{Entity: quotaEntity("client-id", "mutator"),
		Ops: []kadm.AlterClientQuotaOp{{Key: "controller_mutation_rate", Value: 10}}}
	if res, err := adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{q}); err != nil || res[0].Err != nil {
		t.Fatalf("set quota: %v %v", err, res)
	}
	created := 0
	createTopics := func(cl *kgo.Client, partitions ...int32) *kmsg.CreateTopicsResponse {
		t.Helper()
		req := kmsg.NewPtrCreateTopicsRequest()
		req.TimeoutMillis = 10000
		for _, n := range partitions {
			created++
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "mutated-"+strconv.Itoa(created), n, 1
			req.Topics = append(req.Topics, rt)
		}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	codes := func(resp *kmsg.CreateTopicsResponse) []int16 {
		var out []int16
		for _, rt := range resp.Topics {
			out = append(out, rt.ErrorCode)
		}
		return out
	}
	mutator := b.Client(kgo.ClientID("mutator"))
	// 30 partitions at 10/s with a burst of 10: 2 s owed. The first topic
	// goes (the quota was not exceeded yet), the second is refused.
	resp := createTopics(mutator, 30, 1)
	if got := codes(resp); got[0] != 0 || got[1] != kerr.ThrottlingQuotaExceeded.Code {
		t.Fatalf("strict CreateTopics codes %v, want [0 %d]", got, kerr.ThrottlingQuotaExceeded.Code)
	}
	if resp.ThrottleMillis < 1500 || resp.ThrottleMillis > 2100 {
		t.Fatalf("strict CreateTopics throttle %d ms, want about 2000", resp.ThrottleMillis)
	}
	first := resp.Topics[0].Topic

	// CreateTopics v5 knows no THROTTLING_QUOTA_EXCEEDED: both topics are
	// created and the client is throttled.
	v := kversion.Stable()
	v.SetMaxKeyVersion(kmsg.CreateTopics.Int16(), 5)
	old := b.Client(kgo.ClientID("mutator"), kgo.MaxVersions(v))
	resp = createTopics(old, 30, 1)
	if got := codes(resp); got[0] != 0 || got[1] != 0 || resp.ThrottleMillis < 1500 {
		t.Fatalf("CreateTopics v5: codes %v throttle %d ms, want both created and about 2100 ms", got, resp.ThrottleMillis)
	}

	// The quota is the client id's, across connections: another connection
	// of "mutator" must wait out the throttle too.
	if got := codes(createTopics(mutator, 1)); got[0] != kerr.ThrottlingQuotaExceeded.Code {
		t.Fatalf("CreateTopics on another connection while throttled: %v", got)
	}
	time.Sleep(time.Duration(resp.ThrottleMillis) * time.Millisecond)

	// DeleteTopics counts the deleted topic's partitions; the second topic
	// of the request is refused.
	del := kmsg.NewPtrDeleteTopicsRequest()
	del.TimeoutMillis = 10000
	for _, name := range []string{first, resp.Topics[0].Topic} {
		dt := kmsg.NewDeleteTopicsRequestTopic()
		dt.Topic = strp(name)
		del.Topics = append(del.Topics, dt)
		del.TopicNames = append(del.TopicNames, name)
	}
	deleted, err := del.RequestWith(ctx, mutator)
	if err != nil {
		t.Fatal(err)
	}
	if deleted.Topics[0].ErrorCode != 0 || deleted.Topics[1].ErrorCode != kerr.ThrottlingQuotaExceeded.Code || deleted.ThrottleMillis < 1500 {
		t.Fatalf("DeleteTopics: %d, %d, throttle %d ms", deleted.Topics[0].ErrorCode, deleted.Topics[1].ErrorCode, deleted.ThrottleMillis)
	}

	// No quota, no throttle.
	if resp := createTopics(b.Client(kgo.ClientID("free")), 100, 100); resp.ThrottleMillis != 0 || codes(resp)[0] != 0 || codes(resp)[1] != 0 {
		t.Fatalf("client without a quota: codes %v throttle %d ms", codes(resp), resp.ThrottleMillis)
	}
}

// TestRequestPercentageQuota: a client over its request_percentage quota
// (a share of one CPU of handler time) is throttled, at most one quota
// window at a time; a client without a quota is not.
func TestRequestPercentageQuota(t *testing.T) {
	b := brokertest.Start(t, nil)
	adm := b.Admin()
	ctx := brokertest.Context(t, 60*time.Second)
	createTopic(t, adm, "busy", 3, nil)
	// 0.01 % of a CPU: 100 µs of handler time per second, less than a few
	// produce and metadata requests take.
	q := kadm.AlterClientQuotaEntry{Entity: quotaEntity("client-id", "busy-client"),
		Ops: []kadm.AlterClientQuotaOp{{Key: "request_percentage", Value: 0.01}}}
	if res, err := adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{q}); err != nil || res[0].Err != nil {
		t.Fatalf("set quota: %v %v", err, res)
	}
	work := func(clientID string) (time.Duration, int, time.Duration) {
		t.Helper()
		log := &throttleLog{}
		cl := b.Client(kgo.ClientID(clientID), kgo.DefaultProduceTopic("busy"), kgo.WithHooks(log))
		start := time.Now()
		for i := 0; i < 3; i++ {
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: make([]byte, 10<<10)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			if _, err := kadm.NewClient(cl).ListTopics(ctx, "busy"); err != nil {
				t.Fatal(err)
			}
		}
		total, count := log.get()
		return total, count, time.Since(start)
	}
	total, count, elapsed := work("busy-client")
	if count == 0 || total < 500*time.Millisecond {
		t.Fatalf("client over its request quota: %d throttles totalling %v in %v", count, total, elapsed)
	}
	if mean := total / time.Duration(count); mean > time.Second {
		t.Fatalf("mean throttle %v is over one quota window", mean)
	}
	t.Logf("client over its request quota: %d throttles totalling %v, %v elapsed", count, total, elapsed)
	if _, count, _ := work("free-client"); count != 0 {
		t.Fatalf("a client without a quota was throttled %d times", count)
	}
}
