package compat

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// TestConfluentKafkaTransactions runs compat/python/confluent_transactions.py
// (confluent-kafka, librdkafka): committed and aborted transactions,
// consume-transform-produce with send_offsets_to_transaction, fencing, a
// read_committed consumer; then kcat reads the topic at both isolation
// levels.
func TestConfluentKafkaTransactions(t *testing.T) {
	python := findPython(t, "confluent_kafka", "python3-confluent-kafka")
	b := brokertest.Start(t, nil)
	const topic, in, out, group, partitions, inCount = "ck-txn", "ck-in", "ck-out", "ck-eos", 3, 30
	for _, name := range []string{topic, in, out} {
		createTopic(t, b, name, partitions)
	}
	ctx := brokertest.Context(t, 30*time.Second)
	prod := b.Client(kgo.DefaultProduceTopic(in), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	for i := range inCount {
		if err := prod.ProduceSync(ctx, kgo.StringRecord("in"+strconv.Itoa(i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	res := run(t, command{
		name:    python,
		args:    []string{"-B", filepath.Join("python", "confluent_transactions.py"), b.Addr, topic, in, out, group, strconv.Itoa(inCount)},
		timeout: 120 * time.Second,
	})
	var sum struct {
		Consumed     []string
		Transformed  int
		AbortedRound int
		FencedError  string
	}
	decodeSummary(t, res, &sum)

	committed := slices.Concat(valuesOf("c", 20), valuesOf("d", 5), []string{"f"})
	slices.Sort(committed)
	all := slices.Concat(committed, valuesOf("a", 10), []string{"z"})
	slices.Sort(all)
	if got := slices.Sorted(slices.Values(sum.Consumed)); !slices.Equal(got, committed) {
		t.Errorf("confluent-kafka read_committed consumer got %v, want %v", got, committed)
	}
	if !strings.Contains(sum.FencedError, "FENCED") && !strings.Contains(sum.FencedError, "EPOCH") {
		t.Errorf("fenced producer's commit: got error %q, want a fencing error", sum.FencedError)
	}
	if sum.Transformed != inCount || sum.AbortedRound != inCount {
		t.Errorf("transform rounds handled %d and %d records, want %d each", sum.Transformed, sum.AbortedRound, inCount)
	}
	if got := isolatedValues(t, b, topic, partitions, true); !slices.Equal(got, committed) {
		t.Errorf("franz-go read_committed got %v, want %v", got, committed)
	}
	if got := isolatedValues(t, b, topic, partitions, false); !slices.Equal(got, all) {
		t.Errorf("franz-go read_uncommitted got %v, want %v", got, all)
	}
	wantOut := make([]string, inCount)
	for i := range wantOut {
		wantOut[i] = "out-in" + strconv.Itoa(i)
	}
	slices.Sort(wantOut)
	if got := isolatedValues(t, b, out, partitions, true); !slices.Equal(got, wantOut) {
		t.Errorf("franz-go read_committed of %s got %v, want %v", out, got, wantOut)
	}

	// The group's offsets are those of the committed round: the end of IN.
	offsets, err := b.Admin().FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	ends := endOffsets(t, b.Admin(), in)
	for p, end := range ends {
		o, ok := offsets.Lookup(in, p)
		if !ok || o.At != end {
			t.Errorf("group %s offset for %s-%d: %+v, want %d", group, in, p, o, end)
		}
	}
	var extra []kadm.OffsetResponse
	offsets.Each(func(o kadm.OffsetResponse) {
		if o.Topic != in {
			extra = append(extra, o)
		}
	})
	if len(extra) > 0 {
		t.Errorf("unexpected committed offsets: %+v", extra)
	}

	t.Run("kcat", func(t *testing.T) {
		kcat := lookTool(t, "kcat")
		read := func(args ...string) []string {
			t.Helper()
			out := run(t, command{name: kcat, args: append([]string{"-b", b.Addr, "-C", "-t", topic, "-e", "-q", "-f", "%s\n"}, args...), timeout: 30 * time.Second})
			var values []string
			for line := range strings.Lines(out.stdout) {
				if v := strings.TrimSuffix(line, "\n"); !strings.HasPrefix(v, "sentinel-") {
					values = append(values, v)
				}
			}
			slices.Sort(values)
			return values
		}
		if got := read("-X", "isolation.level=read_committed"); !slices.Equal(got, committed) {
			t.Errorf("kcat read_committed got %v, want %v", got, committed)
		}
		if got := read("-X", "isolation.level=read_uncommitted"); !slices.Equal(got, all) {
			t.Errorf("kcat read_uncommitted got %v, want %v", got, all)
		}
	})
}
