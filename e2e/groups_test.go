package e2e

import (
	"context"
	"maps"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// groupConsumer consumes topic in group until stop, recording what it saw.
type groupConsumer struct {
	cl       *kgo.Client
	mu       sync.Mutex
	seen     map[string]int // value → times seen
	assigned map[int32]bool
}

func startGroupConsumer(t *testing.T, b *brokertest.Broker, group, topic string, opts ...kgo.Opt) *groupConsumer {
	t.Helper()
	gc := &groupConsumer{seen: map[string]int{}, assigned: map[int32]bool{}}
	all := append([]kgo.Opt{
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200 * time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			gc.mu.Lock()
			for _, p := range m[topic] {
				gc.assigned[p] = true
			}
			gc.mu.Unlock()
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
			gc.mu.Lock()
			for _, p := range m[topic] {
				delete(gc.assigned, p)
			}
			gc.mu.Unlock()
			_ = cl.CommitUncommittedOffsets(ctx)
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			gc.mu.Lock()
			for _, p := range m[topic] {
				delete(gc.assigned, p)
			}
			gc.mu.Unlock()
		}),
	}, opts...)
	gc.cl = b.Client(all...)
	go func() {
		for {
			fs := gc.cl.PollFetches(context.Background())
			if fs.IsClientClosed() {
				return
			}
			gc.mu.Lock()
			fs.EachRecord(func(r *kgo.Record) { gc.seen[string(r.Value)]++ })
			gc.mu.Unlock()
		}
	}()
	return gc
}

func (gc *groupConsumer) counts() (records int, partitions int) {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	for _, n := range gc.seen {
		records += n
	}
	return records, len(gc.assigned)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestGroupBalancedExactlyOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []kgo.Opt
	}{
		{"classic-cooperative-sticky", nil},
		{"classic-range", []kgo.Opt{kgo.Balancers(kgo.RangeBalancer())}},
		{"kip848-uniform", []kgo.Opt{kgo.ServerSideBalancer(), kgo.Balancers(kgo.CooperativeStickyBalancer())}},
		{"kip848-range", []kgo.Opt{kgo.ServerSideBalancer(), kgo.Balancers(kgo.RangeBalancer())}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := brokertest.Start(t, nil)
			createTopic(t, b.Admin(), "orders", 6, nil)
			var members []*groupConsumer
			for i := 0; i < 3; i++ {
				members = append(members, startGroupConsumer(t, b, "g-"+tc.name, "orders", tc.opts...))
			}
			waitFor(t, 60*time.Second, "a balanced assignment", func() bool {
				for _, m := range members {
					if _, parts := m.counts(); parts != 2 {
						return false
					}
				}
				return true
			})
			if strings.HasPrefix(tc.name, "kip848") {
				// The group must really run the KIP-848 protocol.
				ctx := brokertest.Context(t, 10*time.Second)
				described, err := b.Admin().DescribeConsumerGroups(ctx, "g-"+tc.name)
				if err != nil {
					t.Fatal(err)
				}
				if g := described["g-"+tc.name]; g.Err != nil || len(g.Members) != 3 {
					t.Fatalf("ConsumerGroupDescribe: err %v, %d members; want a KIP-848 group of 3", g.Err, len(g.Members))
				}
			}
			const n = 60_000
			want := produceN(t, b.Client(kgo.ProducerLinger(5*time.Millisecond)), "orders", n)
			waitFor(t, 60*time.Second, "every record consumed", func() bool {
				total := 0
				for _, m := range members {
					r, _ := m.counts()
					total += r
				}
				return total >= n
			})
			// Settle: no further (duplicate) records should arrive.
			time.Sleep(500 * time.Millisecond)
			seen := map[string]int{}
			for i, m := range members {
				_, parts := m.counts()
				if parts != 2 {
					t.Errorf("member %d owns %d partitions, want 2 (balanced)", i, parts)
				}
				m.mu.Lock()
				for v, c := range m.seen {
					seen[v] += c
				}
				m.mu.Unlock()
			}
			for _, vals := range want {
				for _, v := range vals {
					if seen[v] != 1 {
						t.Fatalf("record %s consumed %d times, want exactly once", v, seen[v])
					}
				}
			}
		})
	}
}

func TestCommittedOffsetsSurviveRestart(t *testing.T) {
	b := brokertest.Start(t, nil)
	createTopic(t, b.Admin(), "commits", 3, nil)
	adm := b.Admin()
	ctx := brokertest.Context(t, 30*time.Second)
	offsets := kadm.Offsets{}
	for p := int32(0); p < 3; p++ {
		offsets.Add(kadm.Offset{Topic: "commits", Partition: p, At: int64(10 * (p + 1)), LeaderEpoch: -1, Metadata: "m" + strconv.Itoa(int(p))})
	}
	// Offsets beyond the log end are allowed in Kafka's commit path.
	resp, err := adm.CommitOffsets(ctx, "grp", offsets)
	if err != nil || resp.Error() != nil {
		t.Fatalf("commit: %v %v", err, resp.Error())
	}
	b.Restart()
	adm = b.Admin()
	waitFor(t, 20*time.Second, "offsets loaded after restart", func() bool {
		got, err := adm.FetchOffsets(ctx, "grp")
		if err != nil || got.Error() != nil {
			return false
		}
		for p := int32(0); p < 3; p++ {
			o, ok := got.Lookup("commits", p)
			if !ok || o.At != int64(10*(p+1)) || o.Metadata != "m"+strconv.Itoa(int(p)) {
				return false
			}
		}
		return true
	})
}

// A KIP-848 member subscribed by regular expression is assigned the
// partitions of every topic it matches, the broker resolving it (franz-go
// sends the regex instead of topic names), and of a matching topic created
// later; a topic it does not match stays unassigned.
func TestKIP848RegexSubscription(t *testing.T) {
	b := brokertest.Start(t, nil)
	adm := b.Admin()
	createTopic(t, adm, "clicks-web", 2, nil)
	createTopic(t, adm, "clicks-app", 1, nil)
	createTopic(t, adm, "orders", 1, nil)
	ctx := brokertest.Context(t, 60*time.Second)
	producer := b.Client()
	for _, topic := range []string{"clicks-web", "clicks-app", "orders"} {
		if err := producer.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	consumer := b.Client(kgo.ConsumerGroup("regex-848"), kgo.ServerSideBalancer(), kgo.ConsumeRegex(),
		kgo.ConsumeTopics("clicks-.*"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.MetadataMinAge(100*time.Millisecond), kgo.FetchMaxWait(250*time.Millisecond))
	seen := map[string]bool{}
	consumeUntil := func(want ...string) {
		t.Helper()
		for !allSeen(seen, want) {
			fs := consumer.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("consumed from %v, want %v", seen, want)
			}
			fs.EachRecord(func(r *kgo.Record) { seen[r.Topic] = true })
		}
	}
	consumeUntil("clicks-web", "clicks-app")
	createTopic(t, adm, "clicks-mobile", 1, nil)
	if err := producer.ProduceSync(ctx, &kgo.Record{Topic: "clicks-mobile", Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	consumeUntil("clicks-web", "clicks-app", "clicks-mobile")
	if seen["orders"] {
		t.Fatal("consumed from orders, which the regex does not match")
	}
	described, err := adm.DescribeConsumerGroups(ctx, "regex-848")
	if err != nil {
		t.Fatal(err)
	}
	g := described["regex-848"]
	if g.Err != nil || len(g.Members) != 1 {
		t.Fatalf("ConsumerGroupDescribe: err %v, %d members; want a KIP-848 group of 1", g.Err, len(g.Members))
	}
	if re := g.Members[0].SubscribedTopicRegex; re == nil || *re == "" {
		t.Fatalf("the member describes no subscribed regex: %+v", g.Members[0])
	}
	assigned := map[string]int{}
	for topic, parts := range g.Members[0].Assignment {
		assigned[topic] = len(parts)
	}
	if want := map[string]int{"clicks-web": 2, "clicks-app": 1, "clicks-mobile": 1}; !maps.Equal(assigned, want) {
		t.Fatalf("assigned %v, want %v", assigned, want)
	}
}

func allSeen(seen map[string]bool, want []string) bool {
	for _, w := range want {
		if !seen[w] {
			return false
		}
	}
	return true
}

// Deleting a topic deletes every group's committed offsets of it (Kafka's
// onPartitionsDeleted): a topic created again under the same name is consumed
// from its start, not from where the old one's consumers stopped, and a group
// left with nothing is gone. Both survive a restart.
func TestDeletedTopicsCommittedOffsetsAreDeleted(t *testing.T) {
	b := brokertest.Start(t, nil)
	adm := b.Admin()
	ctx := brokertest.Context(t, 60*time.Second)
	createTopic(t, adm, "reborn", 1, nil)
	createTopic(t, adm, "kept", 1, nil)
	commit := func(group string, offsets kadm.Offsets) {
		t.Helper()
		resp, err := adm.CommitOffsets(ctx, group, offsets)
		if err != nil || resp.Error() != nil {
			t.Fatalf("commit %s: %v %v", group, err, resp.Error())
		}
	}
	offsets := kadm.Offsets{}
	offsets.Add(kadm.Offset{Topic: "reborn", Partition: 0, At: 10, LeaderEpoch: -1})
	commit("only-reborn", offsets)
	offsets.Add(kadm.Offset{Topic: "kept", Partition: 0, At: 3, LeaderEpoch: -1})
	commit("both", offsets)

	if resp, err := adm.DeleteTopics(ctx, "reborn"); err != nil || resp.Error() != nil {
		t.Fatalf("delete: %v %v", err, resp.Error())
	}
	createTopic(t, adm, "reborn", 1, nil)
	check := func(when string) {
		t.Helper()
		got, err := adm.FetchOffsets(ctx, "both")
		if err != nil || got.Error() != nil {
			t.Fatalf("%s: fetch offsets: %v %v", when, err, got.Error())
		}
		if o, ok := got.Lookup("reborn", 0); ok && o.At >= 0 {
			t.Fatalf("%s: group both still has offset %d for the deleted topic", when, o.At)
		}
		if o, ok := got.Lookup("kept", 0); !ok || o.At != 3 {
			t.Fatalf("%s: group both lost its offset of another topic: %+v", when, o)
		}
		groups, err := adm.ListGroups(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := groups["only-reborn"]; ok {
			t.Fatalf("%s: group only-reborn, left without offsets, still listed", when)
		}
	}
	check("after delete")

	cl := b.Client()
	produceN(t, cl, "reborn", 15)
	cl.Close()
	gc := startGroupConsumer(t, b, "both", "reborn")
	defer gc.cl.Close()
	waitFor(t, 30*time.Second, "all 15 records of the new topic", func() bool {
		n, _ := gc.counts()
		return n == 15
	})
	gc.cl.Close()

	b.Restart()
	adm = b.Admin()
	waitFor(t, 20*time.Second, "offsets loaded after restart", func() bool {
		got, err := adm.FetchOffsets(ctx, "both")
		return err == nil && got.Error() == nil && len(got) > 0
	})
	got, err := adm.FetchOffsets(ctx, "both")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := got.Lookup("reborn", 0); !ok || o.At != 15 {
		t.Fatalf("after restart: the new topic's commit is %+v, want 15", o)
	}
}

// TestDeleteGroupsErrorMessages: DeleteGroups v3 gives each failed group the
// message of its error, v2 none; a deleted group's entry has neither.
func TestDeleteGroupsErrorMessages(t *testing.T) {
	b := brokertest.Start(t, nil)
	ctx := brokertest.Context(t, 30*time.Second)
	createTopic(t, b.Admin(), "dg", 1, nil)
	if _, err := b.Admin().CommitOffsets(ctx, "dg-empty", kadm.OffsetsFromRecords(kgo.Record{Topic: "dg", Partition: 0, Offset: 0})); err != nil {
		t.Fatal(err)
	}
	for _, version := range []int16{2, 3} {
		req := kmsg.NewPtrDeleteGroupsRequest()
		req.Version = version
		req.Groups = []string{"dg-missing"}
		if version == 3 {
			req.Groups = append(req.Groups, "dg-empty")
		}
		resp := dial(t, b.Addr).roundTrip(req).(*kmsg.DeleteGroupsResponse)
		for _, g := range resp.Groups {
			switch {
			case g.Group == "dg-missing" && g.ErrorCode != kerr.GroupIDNotFound.Code:
				t.Errorf("v%d %s: %v, want GROUP_ID_NOT_FOUND", version, g.Group, kerr.ErrorForCode(g.ErrorCode))
			case g.Group == "dg-missing" && version >= 3 && (g.ErrorMessage == nil || *g.ErrorMessage != kerr.GroupIDNotFound.Description):
				t.Errorf("v3 %s: message %v", g.Group, g.ErrorMessage)
			case g.Group == "dg-missing" && version < 3 && g.ErrorMessage != nil:
				t.Errorf("v2 %s: message %q", g.Group, *g.ErrorMessage)
			case g.Group == "dg-empty" && (g.ErrorCode != 0 || g.ErrorMessage != nil):
				t.Errorf("v3 %s: %v %v", g.Group, kerr.ErrorForCode(g.ErrorCode), g.ErrorMessage)
			}
		}
		if len(resp.Groups) != len(req.Groups) {
			t.Errorf("v%d: %d groups answered, want %d", version, len(resp.Groups), len(req.Groups))
		}
	}
}
