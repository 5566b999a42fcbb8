package compat

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// findPython returns a Python 3 interpreter that can import module. Debian
// installs python3-kafka and python3-confluent-kafka for /usr/bin/python3,
// which may not be the python3 first on PATH (pyenv); SAMSA_PYTHON overrides.
func findPython(t *testing.T, module, debianPackage string) string {
	t.Helper()
	candidates := []string{"/usr/bin/python3"}
	if path, err := exec.LookPath("python3"); err == nil {
		candidates = append([]string{path}, candidates...)
	}
	if env := os.Getenv("SAMSA_PYTHON"); env != "" {
		candidates = []string{env}
	}
	for _, python := range candidates {
		if err := exec.Command(python, "-c", "import "+module).Run(); err == nil {
			return python
		}
	}
	toolMissing(t, "no Python 3 among %v can import %s (Debian package %s)", candidates, module, debianPackage)
	return ""
}

// pythonSummary is what compat/python's round-trip scripts print.
type pythonSummary struct {
	Acked []struct {
		Partition int32
		Offset    int64
		Value     string
	}
	Consumed []struct {
		Partition int32
		Offset    int64
		Key       string
		Value     string
	}
	Partitions []int32
}

const (
	pythonRecords    = 1000
	pythonPartitions = 3
)

// TestPythonClients produces 1,000 records with each Python client and reads
// them back with assign + seek to beginning, then compares with franz-go.
func TestPythonClients(t *testing.T) {
	clients := []struct {
		name, module, debianPackage, script string
	}{
		{"kafka-python", "kafka", "python3-kafka", "kafka_python_roundtrip.py"},
		{"confluent-kafka", "confluent_kafka", "python3-confluent-kafka", "confluent_roundtrip.py"},
	}
	for _, client := range clients {
		t.Run(client.name, func(t *testing.T) {
			python := findPython(t, client.module, client.debianPackage)
			b := brokertest.Start(t, nil)
			topic := "python-" + client.name
			createTopic(t, b, topic, pythonPartitions)
			out := run(t, command{
				name:    python,
				args:    []string{"-B", filepath.Join("python", client.script), b.Addr, topic, strconv.Itoa(pythonRecords)},
				timeout: 90 * time.Second,
			})
			var sum pythonSummary
			decodeSummary(t, out, &sum)
			checkPythonSummary(t, b, topic, sum)
		})
	}
}

// checkPythonSummary checks the acknowledgements and the records a Python
// client read against what franz-go reads from the topic.
func checkPythonSummary(t *testing.T, b *brokertest.Broker, topic string, sum pythonSummary) {
	t.Helper()
	if len(sum.Partitions) != pythonPartitions {
		t.Errorf("the client saw partitions %v, want %d", sum.Partitions, pythonPartitions)
	}
	byPartition := readTopic(t, b, topic)
	requireDenseOffsets(t, byPartition)

	// Where franz-go finds each value.
	type position struct {
		partition int32
		offset    int64
	}
	stored := map[string]position{}
	total := 0
	for p, recs := range byPartition {
		last := -1
		for _, r := range recs {
			total++
			if _, dup := stored[string(r.Value)]; dup {
				t.Fatalf("value %s stored twice", r.Value)
			}
			stored[string(r.Value)] = position{p, r.Offset}
			v, err := strconv.Atoi(string(r.Value))
			if err != nil || v < 0 || v >= pythonRecords {
				t.Fatalf("partition %d offset %d: unexpected value %q", p, r.Offset, r.Value)
			}
			if want := "key-" + strconv.Itoa(v%37); string(r.Key) != want {
				t.Errorf("value %d: key %q, want %q", v, r.Key, want)
			}
			if v <= last {
				t.Errorf("partition %d: value %d at offset %d follows %d; send order not kept", p, v, r.Offset, last)
			}
			last = v
		}
	}
	if total != pythonRecords {
		t.Fatalf("kgo read %d records (%s), want %d", total, recordCounts(byPartition), pythonRecords)
	}

	if len(sum.Acked) != pythonRecords {
		t.Errorf("the client got %d acknowledgements, want %d", len(sum.Acked), pythonRecords)
	}
	for _, ack := range sum.Acked {
		if at, ok := stored[ack.Value]; !ok || at != (position{ack.Partition, ack.Offset}) {
			t.Errorf("value %q acknowledged at partition %d offset %d, stored at %+v (present %v)", ack.Value, ack.Partition, ack.Offset, at, ok)
		}
	}

	if len(sum.Consumed) != pythonRecords {
		t.Errorf("the client read %d records, want %d", len(sum.Consumed), pythonRecords)
	}
	next := map[int32]int{}
	for _, c := range sum.Consumed {
		i := next[c.Partition]
		recs := byPartition[c.Partition]
		if i >= len(recs) {
			t.Fatalf("the client read partition %d offset %d beyond the %d records there", c.Partition, c.Offset, len(recs))
		}
		r := recs[i]
		if c.Offset != r.Offset || c.Key != string(r.Key) || c.Value != string(r.Value) {
			t.Fatalf("partition %d: the client read offset %d %s=%s, want offset %d %s=%s",
				c.Partition, c.Offset, c.Key, c.Value, r.Offset, r.Key, r.Value)
		}
		next[c.Partition] = i + 1
	}
}
