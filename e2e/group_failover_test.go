package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// TestMain lets this test binary act as a consumer process (so a test can
// kill -9 a group member) when SAMSA_E2E_CONSUMER is set.
func TestMain(m *testing.M) {
	if os.Getenv("SAMSA_E2E_CONSUMER") != "" {
		os.Exit(runConsumerProcess())
	}
	os.Exit(m.Run())
}

// runConsumerProcess consumes SAMSA_E2E_TOPIC in SAMSA_E2E_GROUP from
// SAMSA_E2E_BROKER, printing "partition offset value" per record and
// "assigned p,p" on each assignment, with frequent auto-commits.
func runConsumerProcess() int {
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	printf := func(format string, args ...any) {
		mu.Lock()
		fmt.Fprintf(out, format, args...)
		out.Flush()
		mu.Unlock()
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(os.Getenv("SAMSA_E2E_BROKER")),
		kgo.ConsumerGroup(os.Getenv("SAMSA_E2E_GROUP")),
		kgo.ConsumeTopics(os.Getenv("SAMSA_E2E_TOPIC")),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(6*time.Second),
		kgo.HeartbeatInterval(500*time.Millisecond),
		kgo.AutoCommitInterval(100*time.Millisecond),
		kgo.FetchMaxWait(100*time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			for _, ps := range m {
				printf("assigned %v\n", ps)
			}
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
			_ = cl.CommitUncommittedOffsets(ctx)
			for _, ps := range m {
				printf("revoked %v\n", ps)
			}
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			for _, ps := range m {
				printf("revoked %v\n", ps)
			}
		}),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(context.Background())
		if fs.IsClientClosed() {
			return 0
		}
		fs.EachRecord(func(r *kgo.Record) { printf("%d %d %s\n", r.Partition, r.Offset, r.Value) })
	}
}

type consumerProc struct {
	cmd      *exec.Cmd
	mu       sync.Mutex
	records  []string // "partition offset value"
	assigned []int32
}

func startConsumerProc(t *testing.T, broker, group, topic string) *consumerProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SAMSA_E2E_CONSUMER=1", "SAMSA_E2E_BROKER="+broker,
		"SAMSA_E2E_GROUP="+group, "SAMSA_E2E_TOPIC="+topic)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cp := &consumerProc{cmd: cmd}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			cp.mu.Lock()
			if rest, ok := strings.CutPrefix(line, "assigned "); ok {
				for _, f := range strings.Fields(strings.Trim(rest, "[]")) {
					p, _ := strconv.Atoi(f)
					cp.assigned = append(cp.assigned, int32(p))
				}
			} else if rest, ok := strings.CutPrefix(line, "revoked "); ok {
				for _, f := range strings.Fields(strings.Trim(rest, "[]")) {
					p, _ := strconv.Atoi(f)
					cp.assigned = slices.DeleteFunc(cp.assigned, func(q int32) bool { return q == int32(p) })
				}
			} else {
				cp.records = append(cp.records, line)
			}
			cp.mu.Unlock()
		}
	}()
	return cp
}

func (cp *consumerProc) snapshot() ([]string, []int32) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return append([]string(nil), cp.records...), append([]int32(nil), cp.assigned...)
}

// TestKillGroupMemberUnderLoad: kill -9 one member of a 3-member group while
// records are produced; its partitions move to the survivors and every
// record is consumed; duplicates come only from offsets the killed member
// had not committed.
func TestKillGroupMemberUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs consumer processes for ~20s")
	}
	b := brokertest.Start(t, map[string]string{"group.min.session.timeout.ms": "1000"})
	createTopic(t, b.Admin(), "load", 6, nil)
	var members []*consumerProc
	for i := 0; i < 3; i++ {
		members = append(members, startConsumerProc(t, b.Addr, "failover", "load"))
	}
	waitFor(t, 60*time.Second, "three members with two partitions each", func() bool {
		for _, m := range members {
			if _, a := m.snapshot(); len(a) != 2 {
				return false
			}
		}
		return true
	})

	producer := b.Client(kgo.ProducerLinger(2 * time.Millisecond))
	ctx := brokertest.Context(t, 2*time.Minute)
	var produced sync.WaitGroup
	const total = 30_000
	produced.Add(1)
	go func() {
		defer produced.Done()
		for i := 0; i < total; i++ {
			producer.Produce(ctx, &kgo.Record{Topic: "load", Key: []byte(strconv.Itoa(i % 61)), Value: []byte(strconv.Itoa(i))}, nil)
			if i%500 == 0 {
				time.Sleep(10 * time.Millisecond) // keep load flowing across the kill
			}
		}
		_ = producer.Flush(ctx)
	}()

	victim := members[0]
	waitFor(t, 30*time.Second, "the victim consuming", func() bool { r, _ := victim.snapshot(); return len(r) > 1000 })
	_, victimParts := victim.snapshot()
	_ = victim.cmd.Process.Signal(syscall.SIGKILL)
	_ = victim.cmd.Wait()
	killedAt := time.Now()
	committed, err := b.Admin().FetchOffsets(ctx, "failover")
	if err != nil {
		t.Fatal(err)
	}
	produced.Wait()

	survivors := members[1:]
	waitFor(t, 30*time.Second, "survivors owning all six partitions", func() bool {
		n := 0
		for _, m := range survivors {
			_, a := m.snapshot()
			n += len(a)
		}
		return n == 6
	})
	t.Logf("partitions moved %v after kill -9 (session timeout 6s)", time.Since(killedAt).Round(100*time.Millisecond))
	seen := map[string]int{}
	dupOK := map[int32]int64{} // partition → first uncommitted offset at kill time
	for _, p := range victimParts {
		dupOK[p] = 0
		if o, ok := committed.Lookup("load", p); ok {
			dupOK[p] = o.At
		}
	}
	waitFor(t, 60*time.Second, "every record consumed", func() bool {
		seen = map[string]int{}
		for _, m := range members {
			recs, _ := m.snapshot()
			for _, r := range recs {
				seen[r]++
			}
		}
		values := map[string]bool{}
		for r := range seen {
			f := strings.Fields(r)
			values[f[2]] = true
		}
		return len(values) == total
	})
	// A (partition, offset) seen by two members is a duplicate; it must be
	// one the victim owned and had not committed.
	byOffset := map[string]int{}
	for _, m := range members {
		recs, _ := m.snapshot()
		for _, r := range recs {
			f := strings.Fields(r)
			byOffset[f[0]+" "+f[1]]++
		}
	}
	dups := 0
	for k, n := range byOffset {
		if n == 1 {
			continue
		}
		dups++
		f := strings.Fields(k)
		p, _ := strconv.Atoi(f[0])
		off, _ := strconv.ParseInt(f[1], 10, 64)
		first, ok := dupOK[int32(p)]
		if !ok || off < first {
			t.Fatalf("record at partition %d offset %d consumed %d times, but it was committed (or not the victim's)", p, off, n)
		}
	}
	t.Logf("%d records, %d duplicates (all uncommitted by the killed member)", total, dups)
}

// TestStaticMemberRestartNoRebalance: a static member (group.instance.id)
// that restarts within the session timeout gets its partitions back without
// a rebalance: the generation does not change.
func TestStaticMemberRestartNoRebalance(t *testing.T) {
	b := brokertest.Start(t, nil)
	createTopic(t, b.Admin(), "static", 4, nil)
	opts := func(id string) []kgo.Opt {
		return []kgo.Opt{kgo.ConsumerGroup("static-grp"), kgo.ConsumeTopics("static"),
			kgo.InstanceID(id), kgo.SessionTimeout(20 * time.Second), kgo.HeartbeatInterval(200 * time.Millisecond),
			kgo.FetchMaxWait(100 * time.Millisecond)}
	}
	poll := func(cl *kgo.Client) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		cl.PollFetches(ctx)
		cancel()
	}
	newClient := func(id string) *kgo.Client {
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.Addr)}, opts(id)...)...)
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	adm := b.Admin()
	ctx := brokertest.Context(t, 60*time.Second)
	// member-a joins alone first so that it leads the group: the restarted
	// member must be a follower. A restarted static leader may force a
	// rebalance itself (franz-go does when its subscriptions are not yet
	// loaded as it rejoins, KIP-814), which is the client's choice.
	a := newClient("member-a")
	defer a.Close()
	waitFor(t, 30*time.Second, "member-a alone in a stable group", func() bool {
		poll(a)
		d, err := adm.DescribeGroups(ctx, "static-grp")
		if err != nil {
			return false
		}
		g := d["static-grp"]
		return g.State == "Stable" && len(g.Members) == 1
	})
	c := newClient("member-b")
	var before kadm.DescribedGroup
	waitFor(t, 30*time.Second, "a stable group of two", func() bool {
		poll(a)
		poll(c)
		d, err := adm.DescribeGroups(ctx, "static-grp")
		if err != nil {
			return false
		}
		before = d["static-grp"]
		return before.State == "Stable" && len(before.Members) == 2
	})
	// Let the group settle: cooperative balancing may run a follow-up
	// rebalance right after the second member joins.
	var genBefore int32
	settledSince := time.Now()
	waitFor(t, 30*time.Second, "a settled generation", func() bool {
		poll(a)
		poll(c)
		_, g := a.GroupMetadata()
		if g != genBefore {
			genBefore, settledSince = g, time.Now()
		}
		return time.Since(settledSince) > 1500*time.Millisecond
	})
	// Restart member-b: a static member's Close does not leave the group.
	c.Close()
	c = newClient("member-b")
	defer c.Close()
	waitFor(t, 15*time.Second, "member-b back", func() bool {
		poll(a)
		poll(c)
		d, err := adm.DescribeGroups(ctx, "static-grp")
		if err != nil {
			return false
		}
		g := d["static-grp"]
		return g.State == "Stable" && len(g.Members) == 2 && len(c.GetConsumeTopics()) > 0
	})
	// Give any rebalance the restart might have caused time to show.
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); {
		poll(a)
		poll(c)
	}
	if _, genAfter := a.GroupMetadata(); genAfter != genBefore {
		t.Fatalf("generation %d → %d: the restart caused a rebalance", genBefore, genAfter)
	}
	after, err := adm.DescribeGroups(ctx, "static-grp")
	if err != nil {
		t.Fatal(err)
	}
	ag := after["static-grp"]
	for _, m := range before.Members {
		found := false
		for _, n := range ag.Members {
			if n.InstanceID != nil && m.InstanceID != nil && *n.InstanceID == *m.InstanceID {
				found = true
				ba, _ := m.Assigned.AsConsumer()
				aa, _ := n.Assigned.AsConsumer()
				if fmt.Sprint(ba) != fmt.Sprint(aa) {
					t.Fatalf("member %s assignment changed %v → %v: a rebalance happened", *m.InstanceID, ba, aa)
				}
			}
		}
		if !found {
			t.Fatalf("static member %v missing after restart", m.InstanceID)
		}
	}
}
