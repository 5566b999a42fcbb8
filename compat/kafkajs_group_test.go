package compat

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// kafkajsGroupSummary is what group_consumers.js prints.
type kafkajsGroupSummary struct {
	Consumers []struct {
		MemberID string
		Assigned []int32 // the partitions of its latest assignment
		Joins    int     // GROUP_JOIN events
		Count    int     // messages it received
		Received []int32 // partitions it received messages from
	}
	Values []int // every value received, by any consumer
}

// TestKafkajsThreeConsumers runs three kafkajs consumers in one group on a
// 6-partition topic. Once the script reports all three assigned, franz-go
// produces keyed records; the consumers must receive each exactly once in
// total, from a balanced assignment (two partitions each), and commit the
// end offsets.
func TestKafkajsThreeConsumers(t *testing.T) {
	k := findKafkajs(t)
	b := brokertest.Start(t, nil)
	const (
		topic      = "kafkajs-three-consumers"
		group      = "kafkajs-grp"
		partitions = 6
		consumers  = 3
	)
	records := shortOr(10_000, 60_000)
	createTopic(t, b, topic, partitions)

	proc := startProcess(t, command{
		name: k.node,
		args: []string{filepath.Join(k.dir, "group_consumers.js")},
		dir:  k.dir,
		env: []string{
			"BROKER=" + b.Addr, "TOPIC=" + topic, "GROUP=" + group,
			"EXPECTED=" + strconv.Itoa(records), "CONSUMERS=" + strconv.Itoa(consumers),
		},
		timeout: 90 * time.Second,
	})
	ready := func() bool {
		return slices.ContainsFunc(proc.stdout.lines(), func(l string) bool { return strings.HasPrefix(l, "READY ") })
	}
	pollUntil(40*time.Second, func() bool { return ready() || !proc.running() })
	if !ready() {
		t.Fatalf("group_consumers.js did not report its consumers assigned: %v", proc)
	}

	// kafkajs reads only gzip without codec plugins; kgo defaults to snappy.
	produceKeyed(t, b.Client(kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.NoCompression())), records, 600)

	if !pollUntil(60*time.Second, func() bool { return !proc.running() }) {
		t.Fatalf("group_consumers.js still running 60 s after the records were produced: %v", proc)
	}
	if err := proc.stop(0); err != nil {
		t.Fatalf("group_consumers.js: %v: %v", exitDescription(err), proc)
	}
	var sum kafkajsGroupSummary
	decodeSummary(t, output{stdout: strings.Join(proc.stdout.lines(), "\n"), stderr: strings.Join(proc.stderr.lines(), "\n")}, &sum)

	if len(sum.Consumers) != consumers {
		t.Fatalf("summary lists %d consumers, want %d", len(sum.Consumers), consumers)
	}
	owner := map[int32]int{} // partition → consumer index
	total := 0
	for i, c := range sum.Consumers {
		t.Logf("consumer %d (%s): joined %d times, assigned %v, received %d messages from %v", i, c.MemberID, c.Joins, c.Assigned, c.Count, c.Received)
		if len(c.Assigned) != partitions/consumers {
			t.Errorf("consumer %d is assigned partitions %v, want %d of them", i, c.Assigned, partitions/consumers)
		}
		for _, p := range c.Assigned {
			if other, ok := owner[p]; ok {
				t.Errorf("partition %d is assigned to consumers %d and %d", p, other, i)
			}
			owner[p] = i
		}
		for _, p := range c.Received {
			if !slices.Contains(c.Assigned, p) {
				t.Errorf("consumer %d received messages from partition %d, outside its assignment %v", i, p, c.Assigned)
			}
		}
		total += c.Count
	}
	if len(owner) != partitions {
		t.Errorf("the consumers' assignments cover %d partitions, want %d", len(owner), partitions)
	}

	if total != len(sum.Values) {
		t.Errorf("the consumers counted %d messages, the summary holds %d values", total, len(sum.Values))
	}
	seen := make([]int, records)
	for _, v := range sum.Values {
		if v < 0 || v >= records {
			t.Fatalf("kafkajs received value %d, which was never produced", v)
		}
		seen[v]++
	}
	var missing, duplicated []int
	for v, n := range seen {
		switch {
		case n == 0:
			missing = append(missing, v)
		case n > 1:
			duplicated = append(duplicated, v)
		}
	}
	if len(missing) > 0 || len(duplicated) > 0 {
		t.Fatalf("kafkajs received %d values for %d records: %d never (first %v), %d more than once (first %v)",
			len(sum.Values), records, len(missing), firstFew(missing), len(duplicated), firstFew(duplicated))
	}

	adm := b.Admin()
	requireLagZero(t, adm, group, topic, 10*time.Second)
	described, err := adm.DescribeGroups(brokertest.Context(t, 15*time.Second), group)
	if err != nil {
		t.Fatalf("describe group %s: %v", group, err)
	}
	if g := described[group]; g.Err != nil || g.State != "Empty" || len(g.Members) != 0 {
		t.Errorf("after every consumer left, group %s is %s", group, describeGroupAssignment(g))
	}
}

// firstFew keeps the start of a long list for failure messages.
func firstFew(values []int) []int {
	return values[:min(len(values), 10)]
}
