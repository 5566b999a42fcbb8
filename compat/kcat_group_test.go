package compat

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// TestKcatBalancedConsumer consumes a 6-partition topic with two kcat
// balanced consumers (-G: librdkafka's KafkaConsumer, classic group
// protocol, range assignor) in one group and checks that together they
// print every record exactly once and commit the end offsets.
//
// The records are produced only once both consumers own three partitions
// each. kcat applies -o to every assignment it receives, overriding the
// committed offsets, so a consumer that read records before a rebalance
// would read them again from the beginning after it: correct for kcat, but
// not the exactly-once this test checks.
func TestKcatBalancedConsumer(t *testing.T) {
	kcat := lookTool(t, "kcat")
	b := brokertest.Start(t, nil)
	const (
		topic      = "kcat-balanced"
		group      = "grp-kcat"
		partitions = 6
		records    = 6000
		consumers  = 2
	)
	createTopic(t, b, topic, partitions)

	procs := make([]*clientProcess, consumers)
	for i := range procs {
		procs[i] = startProcess(t, command{
			name: kcat,
			// -u: unbuffered, so lines show up as they are consumed.
			args:    []string{"-b", b.Addr, "-G", group, topic, "-o", "beginning", "-f", `%p:%o:%s\n`, "-q", "-u"},
			timeout: 60 * time.Second,
		})
	}
	adm := b.Admin()
	waitBalanced(t, adm, group, consumers, partitions/consumers, 20*time.Second, procs...)
	produceKeyed(t, b.Client(kgo.DefaultProduceTopic(topic)), records, 600)
	want := readTopic(t, b, topic)
	if len(want) != partitions {
		t.Fatalf("franz-go spread the records over %d partitions, want %d", len(want), partitions)
	}

	printed := func() int {
		n := 0
		for _, p := range procs {
			n += len(p.stdout.lines())
		}
		return n
	}
	allExited := func() bool {
		return !slices.ContainsFunc(procs, (*clientProcess).running)
	}
	pollUntil(25*time.Second, func() bool { return printed() >= records || allExited() })
	// Stop both at once, as a user would; each commits and leaves the
	// group on the way out.
	for _, p := range procs {
		p.interrupt()
	}
	for i, p := range procs {
		if err := p.stop(10 * time.Second); err != nil {
			t.Logf("kcat consumer %d: %v", i, exitDescription(err))
		}
	}

	// delivered[p][o] lists the consumers that printed partition p offset o.
	delivered := map[int32]map[int64][]int{}
	owned := make([]map[int32]bool, consumers) // partitions each consumer printed from
	for i, proc := range procs {
		owned[i] = map[int32]bool{}
		for _, line := range proc.stdout.lines() {
			p, o, value, err := parseKcatRecord(line)
			if err != nil {
				t.Fatalf("kcat consumer %d: %v", i, err)
			}
			recs := want[p]
			if o < 0 || o >= int64(len(recs)) || string(recs[o].Value) != value {
				t.Fatalf("kcat consumer %d printed partition %d offset %d value %q, which kgo did not read there", i, p, o, value)
			}
			if delivered[p] == nil {
				delivered[p] = map[int64][]int{}
			}
			delivered[p][o] = append(delivered[p][o], i)
			owned[i][p] = true
		}
	}
	for i := range procs {
		t.Logf("kcat consumer %d printed %d records from partitions %v", i, len(procs[i].stdout.lines()), slices.Sorted(maps.Keys(owned[i])))
	}
	var problems []string
	for p := range int32(partitions) {
		missing, twice := 0, 0
		firstTwice := int64(-1)
		for o := range int64(len(want[p])) {
			switch n := len(delivered[p][o]); {
			case n == 0:
				missing++
			case n > 1:
				twice++
				if firstTwice < 0 {
					firstTwice = o
				}
			}
		}
		if missing > 0 || twice > 0 {
			problems = append(problems, fmt.Sprintf("partition %d: %d of %d records never printed, %d printed more than once (first at offset %d by consumers %v)",
				p, missing, len(want[p]), twice, firstTwice, delivered[p][firstTwice]))
		}
	}
	if len(problems) > 0 {
		for i, p := range procs {
			t.Logf("kcat consumer %d stderr:\n%s", i, tail(strings.Join(p.stderr.lines(), "\n")))
		}
		t.Fatalf("the kcat consumers of group %s printed %d lines for %d records:\n%s",
			group, printed(), records, strings.Join(problems, "\n"))
	}

	requireLagZero(t, adm, group, topic, 10*time.Second)
}

// parseKcatRecord splits a line kcat printed with -f '%p:%o:%s\n'.
func parseKcatRecord(line string) (partition int32, offset int64, value string, err error) {
	fields := strings.SplitN(line, ":", 3)
	if len(fields) != 3 {
		return 0, 0, "", fmt.Errorf("kcat printed %q, want partition:offset:value", line)
	}
	p, err1 := strconv.ParseInt(fields[0], 10, 32)
	o, err2 := strconv.ParseInt(fields[1], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, "", fmt.Errorf("kcat printed %q, want numeric partition and offset", line)
	}
	return int32(p), o, fields[2], nil
}

// waitBalanced waits until group is Stable with members members that own
// each partitions partitions, as kadm DescribeGroups shows it. It fails the
// test after timeout or when one of procs (the members) exits first.
func waitBalanced(t *testing.T, adm *kadm.Client, group string, members, each int, timeout time.Duration, procs ...*clientProcess) {
	t.Helper()
	ctx := brokertest.Context(t, timeout+15*time.Second)
	var last string
	balanced := pollUntil(timeout, func() bool {
		if slices.ContainsFunc(procs, func(p *clientProcess) bool { return !p.running() }) {
			return true
		}
		described, err := adm.DescribeGroups(ctx, group)
		if err != nil {
			last = err.Error()
			return false
		}
		g := described[group]
		last = describeGroupAssignment(g)
		if g.Err != nil || g.State != "Stable" || len(g.Members) != members {
			return false
		}
		for _, m := range g.Members {
			assigned, ok := m.Assigned.AsConsumer()
			if !ok {
				return false
			}
			owned := 0
			for _, topic := range assigned.Topics {
				owned += len(topic.Partitions)
			}
			if owned != each {
				return false
			}
		}
		return true
	})
	for i, p := range procs {
		if !p.running() {
			t.Fatalf("group member %d exited while the group was forming: %v", i, p)
		}
	}
	if !balanced {
		t.Fatalf("group %s did not reach %d members with %d partitions each in %v; last described: %s", group, members, each, timeout, last)
	}
	t.Logf("group %s: %s", group, last)
}

// describeGroupAssignment shows a described group's state and who owns
// which partitions, for logs and failure messages.
func describeGroupAssignment(g kadm.DescribedGroup) string {
	parts := []string{fmt.Sprintf("state %s, error %v, %d members", g.State, g.Err, len(g.Members))}
	for _, m := range g.Members {
		assigned, ok := m.Assigned.AsConsumer()
		if !ok {
			parts = append(parts, m.MemberID+": no consumer assignment")
			continue
		}
		var owned []string
		for _, topic := range assigned.Topics {
			for _, p := range topic.Partitions {
				owned = append(owned, fmt.Sprintf("%s/%d", topic.Topic, p))
			}
		}
		parts = append(parts, fmt.Sprintf("%s: %s", m.MemberID, strings.Join(owned, " ")))
	}
	return strings.Join(parts, "; ")
}
