package e2e

import (
	"context"
	"maps"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// A classic consumer group moves to the KIP-848 protocol while its member
// keeps consuming, when a consumer-protocol member joins, and back when that
// member leaves (group.consumer.migration.policy=bidirectional, Kafka's
// default), as confluent-kafka-python's test_consumer_upgrade_downgrade
// does with each classic assignor. Every record is consumed throughout.
func TestGroupOnlineUpgradeAndDowngrade(t *testing.T) {
	for _, tc := range []struct {
		name     string
		balancer kgo.GroupBalancer
	}{
		{"roundrobin", kgo.RoundRobinBalancer()},
		{"range", kgo.RangeBalancer()},
		{"cooperative-sticky", kgo.CooperativeStickyBalancer()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &brokertest.LogBuffer{}
			b := brokertest.StartLogged(t, nil, logs)
			const topic, group, partitions = "clicks", "migrating", 10
			createTopic(t, b.Admin(), topic, partitions, nil)
			producer := b.Client(kgo.ProducerLinger(time.Millisecond))
			var want []string
			produce := func(n int) {
				t.Helper()
				records := make([]*kgo.Record, n)
				for i := range records {
					v := "r" + strconv.Itoa(len(want))
					want = append(want, v)
					records[i] = &kgo.Record{Topic: topic, Value: []byte(v)}
				}
				if err := producer.ProduceSync(brokertest.Context(t, 30*time.Second), records...).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
			// assignedEach waits for every consumer to own share partitions,
			// together all of them.
			assignedEach := func(share int, consumers ...*groupConsumer) {
				t.Helper()
				waitFor(t, 60*time.Second, "a balanced assignment", func() bool {
					owners := map[int32]int{}
					for _, c := range consumers {
						c.mu.Lock()
						n := len(c.assigned)
						for p := range c.assigned {
							owners[p]++
						}
						c.mu.Unlock()
						if n != share {
							return false
						}
					}
					return len(owners) == partitions
				})
			}
			consumedAll := func(consumers ...*groupConsumer) {
				t.Helper()
				waitFor(t, 60*time.Second, "every record consumed", func() bool {
					for _, v := range want {
						seen := 0
						for _, c := range consumers {
							c.mu.Lock()
							seen += c.seen[v]
							c.mu.Unlock()
						}
						if seen == 0 {
							return false
						}
					}
					return true
				})
			}

			classic := startGroupConsumer(t, b, group, topic, kgo.Balancers(tc.balancer))
			defer classic.cl.Close()
			assignedEach(partitions, classic)
			if got := b.GroupType(group); got != "classic" {
				t.Fatalf("group type %q, want classic", got)
			}
			produce(100)
			consumedAll(classic)

			modern := startGroupConsumer(t, b, group, topic, kgo.ServerSideBalancer(), kgo.Balancers(kgo.CooperativeStickyBalancer()))
			assignedEach(partitions/2, classic, modern)
			if got := b.GroupType(group); got != "consumer" {
				t.Fatalf("group type %q after the upgrade, want consumer", got)
			}
			if logged := logs.Take(); !strings.Contains(logged, "group changed protocol while it had members") || !strings.Contains(logged, "to=consumer") {
				t.Errorf("the upgrade was not logged:\n%s", logged)
			}
			described, err := b.Admin().DescribeConsumerGroups(brokertest.Context(t, 10*time.Second), group)
			if err != nil {
				t.Fatal(err)
			}
			if g := described[group]; g.Err != nil || len(g.Members) != 2 {
				t.Fatalf("ConsumerGroupDescribe: err %v, %d members; want a KIP-848 group of 2", g.Err, len(g.Members))
			}
			produce(100)
			consumedAll(classic, modern)

			modern.cl.Close() // leaves: the group turns classic again
			assignedEach(partitions, classic)
			if got := b.GroupType(group); got != "classic" {
				t.Fatalf("group type %q after the downgrade, want classic", got)
			}
			if logged := logs.Take(); !strings.Contains(logged, "to=classic") {
				t.Errorf("the downgrade was not logged:\n%s", logged)
			}
			produce(100)
			consumedAll(classic, modern)
		})
	}
}

// KIP-848 membership is persisted: across a broker restart the members keep
// their ids, epochs and partitions, carry on heartbeating, and no partition
// is lost or revoked, as with Kafka. (Before, every member was fenced with
// UNKNOWN_MEMBER_ID and rejoined.)
func TestKIP848MembershipSurvivesRestart(t *testing.T) {
	b := brokertest.Start(t, map[string]string{
		"group.consumer.min.heartbeat.interval.ms": "200",
		"group.consumer.heartbeat.interval.ms":     "200",
	})
	const topic, group = "orders", "persisted-848"
	createTopic(t, b.Admin(), topic, 4, nil)
	var mu sync.Mutex
	lostOrRevoked := 0
	opts := []kgo.Opt{kgo.ServerSideBalancer(), kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.OnPartitionsLost(func(context.Context, *kgo.Client, map[string][]int32) { mu.Lock(); lostOrRevoked++; mu.Unlock() }),
	}
	first := startGroupConsumer(t, b, group, topic, opts...)
	defer first.cl.Close()
	second := startGroupConsumer(t, b, group, topic, opts...)
	defer second.cl.Close()
	waitFor(t, 60*time.Second, "two members with two partitions each", func() bool {
		_, a := first.counts()
		_, c := second.counts()
		return a == 2 && c == 2
	})
	describe := func() map[string]int32 {
		t.Helper()
		described, err := b.Admin().DescribeConsumerGroups(brokertest.Context(t, 10*time.Second), group)
		if err != nil {
			t.Fatal(err)
		}
		g := described[group]
		if g.Err != nil {
			t.Fatal(g.Err)
		}
		epochs := map[string]int32{}
		for _, m := range g.Members {
			epochs[m.MemberID] = m.MemberEpoch
		}
		return epochs
	}
	before := describe()
	mu.Lock()
	lostBefore := lostOrRevoked
	mu.Unlock()

	b.Restart()
	time.Sleep(2 * time.Second) // several heartbeats at the new broker
	if after := describe(); !maps.Equal(after, before) {
		t.Fatalf("members and epochs after the restart %v, before %v", after, before)
	}
	mu.Lock()
	lost := lostOrRevoked - lostBefore
	mu.Unlock()
	if lost != 0 {
		t.Fatalf("partitions lost %d times across the restart", lost)
	}
	if _, a := first.counts(); a != 2 {
		t.Fatalf("first member owns %d partitions after the restart", a)
	}

	producer := b.Client()
	values := []string{"after-restart-0", "after-restart-1", "after-restart-2", "after-restart-3"}
	for i, v := range values {
		if err := producer.ProduceSync(brokertest.Context(t, 10*time.Second), &kgo.Record{Topic: topic, Partition: int32(i), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, "records produced after the restart consumed", func() bool {
		for _, v := range values {
			first.mu.Lock()
			n := first.seen[v]
			first.mu.Unlock()
			second.mu.Lock()
			n += second.seen[v]
			second.mu.Unlock()
			if n == 0 {
				return false
			}
		}
		return true
	})
}
