package compat

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// TestKcatInMigratingGroup runs librdkafka (kcat -G, the classic protocol)
// through an online group migration: a franz-go consumer using KIP-848's
// protocol joins kcat's classic group, which turns into a consumer group
// where the coordinator assigns for kcat (through JoinGroup, SyncGroup and
// REBALANCE_IN_PROGRESS heartbeats); when franz-go leaves, the group turns
// classic again and kcat gets every partition back. Records produced in
// each phase are all consumed.
func TestKcatInMigratingGroup(t *testing.T) {
	kcat := lookTool(t, "kcat")
	b := brokertest.Start(t, nil)
	const topic, group, partitions = "kcat-migrating", "grp-kcat-migrating", 4
	createTopic(t, b, topic, partitions)

	proc := startProcess(t, command{
		name:    kcat,
		args:    []string{"-b", b.Addr, "-G", group, topic, "-o", "beginning", "-f", `%p:%o:%s\n`, "-u"},
		timeout: 90 * time.Second,
	})
	// kcat prints "% Group G rebalanced (memberid M): assigned: t [0], t [1]"
	// on stderr at each assignment.
	kcatOwns := func() []string {
		lines := proc.stderr.lines()
		for i := len(lines) - 1; i >= 0; i-- {
			if _, assigned, ok := strings.Cut(lines[i], "assigned: "); ok {
				return strings.Split(assigned, ", ")
			}
			if strings.Contains(lines[i], "revoked: ") {
				return nil
			}
		}
		return nil
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		if !pollUntil(45*time.Second, func() bool { return !proc.running() || cond() }) || !proc.running() {
			t.Fatalf("waiting for %s: kcat running %v, stderr:\n%s", what, proc.running(), tail(strings.Join(proc.stderr.lines(), "\n")))
		}
	}
	producer := b.Client(kgo.DefaultProduceTopic(topic))
	var want []string
	produce := func(phase string) {
		t.Helper()
		for i := range 40 {
			v := fmt.Sprintf("%s-%d", phase, i)
			want = append(want, v)
			if err := producer.ProduceSync(brokertest.Context(t, 10*time.Second), &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	var mu sync.Mutex
	modernSeen := map[string]bool{}
	modernOwns := 0
	consumedAll := func(what string) {
		t.Helper()
		waitFor(what, func() bool {
			seen := map[string]bool{}
			for _, line := range proc.stdout.lines() {
				if _, _, v, err := parseKcatRecord(line); err == nil {
					seen[v] = true
				}
			}
			mu.Lock()
			defer mu.Unlock()
			return !slices.ContainsFunc(want, func(v string) bool { return !seen[v] && !modernSeen[v] })
		})
	}

	waitFor("kcat owning every partition", func() bool { return len(kcatOwns()) == partitions })
	if got := b.GroupType(group); got != "classic" {
		t.Fatalf("group type %q, want classic", got)
	}
	produce("classic")
	consumedAll("the classic phase's records")

	modern := b.Client(kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.ServerSideBalancer(),
		kgo.Balancers(kgo.CooperativeStickyBalancer()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200*time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			mu.Lock()
			modernOwns += len(m[topic])
			mu.Unlock()
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			mu.Lock()
			modernOwns -= len(m[topic])
			mu.Unlock()
		}))
	defer modern.Close()
	go func() {
		for {
			fs := modern.PollFetches(context.Background())
			if fs.IsClientClosed() {
				return
			}
			mu.Lock()
			fs.EachRecord(func(r *kgo.Record) { modernSeen[string(r.Value)] = true })
			mu.Unlock()
		}
	}()
	waitFor("kcat and franz-go owning half each", func() bool {
		mu.Lock()
		n := modernOwns
		mu.Unlock()
		return n == partitions/2 && len(kcatOwns()) == partitions/2
	})
	if got := b.GroupType(group); got != "consumer" {
		t.Fatalf("group type %q after franz-go joined, want consumer", got)
	}
	produce("mixed")
	consumedAll("the mixed phase's records")

	modern.Close() // the last consumer-protocol member leaves
	waitFor("kcat owning every partition again", func() bool { return len(kcatOwns()) == partitions })
	if got := b.GroupType(group); got != "classic" {
		t.Fatalf("group type %q after franz-go left, want classic", got)
	}
	produce("downgraded")
	consumedAll("the downgraded phase's records")
	proc.interrupt()
	if err := proc.stop(10 * time.Second); err != nil {
		t.Logf("kcat: %v", exitDescription(err))
	}
}
