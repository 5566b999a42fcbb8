package compat

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// kcatCodecs are the codecs kcat's -z takes, with the batch attribute value
// Kafka stores for each (compression.type=producer keeps the producer's).
var kcatCodecs = []struct {
	name string
	id   uint8
}{
	{"none", 0}, {"gzip", 1}, {"snappy", 2}, {"lz4", 3}, {"zstd", 4},
}

const (
	kcatPartitions = 3
	kcatKeys       = 1000
)

// TestKcat lists metadata with kcat (librdkafka) and, for every codec,
// produces keyed lines with kcat -P, reads them back with kcat -C, and
// compares both with what franz-go reads.
func TestKcat(t *testing.T) {
	kcat := lookTool(t, "kcat")
	b := brokertest.Start(t, nil)
	for _, codec := range kcatCodecs {
		createTopic(t, b, kcatTopic(codec.name), kcatPartitions)
	}

	t.Run("metadata", func(t *testing.T) {
		out := run(t, command{name: kcat, args: []string{"-b", b.Addr, "-L"}, timeout: 30 * time.Second})
		if !strings.Contains(out.stdout, " at "+b.Addr) {
			t.Errorf("kcat -L does not list broker %s:\n%s", b.Addr, out.stdout)
		}
		for _, codec := range kcatCodecs {
			want := fmt.Sprintf("topic %q with %d partitions:", kcatTopic(codec.name), kcatPartitions)
			if !strings.Contains(out.stdout, want) {
				t.Errorf("kcat -L lacks %s:\n%s", want, out.stdout)
			}
		}

		out = run(t, command{name: kcat, args: []string{"-b", b.Addr, "-L", "-J"}, timeout: 30 * time.Second})
		var md struct {
			Brokers []struct {
				ID   int32
				Name string
			}
			Topics []struct {
				Topic      string
				Error      *string `json:"error"`
				Partitions []struct {
					Partition int32
					Leader    int32
					Error     *string `json:"error"`
				}
			}
		}
		if err := json.Unmarshal([]byte(out.stdout), &md); err != nil {
			t.Fatalf("decode kcat -L -J: %v\n%s", err, out.stdout)
		}
		if len(md.Brokers) != 1 || md.Brokers[0].Name != b.Addr {
			t.Fatalf("kcat -L -J brokers = %+v, want one at %s", md.Brokers, b.Addr)
		}
		listed := map[string]bool{}
		for _, topic := range md.Topics {
			listed[topic.Topic] = true
			if topic.Error != nil {
				t.Errorf("topic %s: error %s", topic.Topic, *topic.Error)
			}
			for _, p := range topic.Partitions {
				if p.Error != nil || p.Leader != md.Brokers[0].ID {
					t.Errorf("topic %s partition %d: leader %d error %v, want leader %d", topic.Topic, p.Partition, p.Leader, p.Error, md.Brokers[0].ID)
				}
			}
		}
		for _, codec := range kcatCodecs {
			if !listed[kcatTopic(codec.name)] {
				t.Errorf("kcat -L -J lacks topic %s", kcatTopic(codec.name))
			}
		}
	})

	lines := shortOr(10_000, 100_000)
	input := filepath.Join(t.TempDir(), "lines.txt")
	writeKeyedLines(t, input, lines)
	for _, codec := range kcatCodecs {
		t.Run(codec.name, func(t *testing.T) {
			topic := kcatTopic(codec.name)
			in, err := os.Open(input)
			if err != nil {
				t.Fatalf("open input: %v", err)
			}
			defer in.Close()
			out := run(t, command{
				name:    kcat,
				args:    []string{"-P", "-b", b.Addr, "-t", topic, "-z", codec.name, "-K:"},
				stdin:   in,
				timeout: 60 * time.Second,
			})
			if strings.Contains(out.stderr, "ERROR") || strings.Contains(out.stderr, "failed") {
				t.Fatalf("kcat -P reported errors:\n%s", tail(out.stderr))
			}

			// -e exits once every partition reports its end; a broker
			// whose fetch responses librdkafka cannot parse never gets
			// there, so the timeout is what fails.
			out = run(t, command{
				name:    kcat,
				args:    []string{"-C", "-b", b.Addr, "-t", topic, "-e", "-q", "-f", `%p:%o:%k:%s\n`},
				timeout: 30 * time.Second,
			})
			consumed := parseKcatLines(t, out.stdout)
			checkKeyedLines(t, consumed, lines)

			byPartition := readTopic(t, b, topic)
			compressed := 0
			for p, recs := range byPartition {
				got := consumed[p]
				if len(got) != len(recs) {
					t.Fatalf("partition %d: kcat read %d records, kgo %d", p, len(got), len(recs))
				}
				for i, r := range recs {
					if got[i] != (kcatLine{offset: r.Offset, key: string(r.Key), value: string(r.Value)}) {
						t.Fatalf("partition %d record %d: kcat read %+v, kgo offset %d %s:%s", p, i, got[i], r.Offset, r.Key, r.Value)
					}
					// librdkafka sends a batch uncompressed when compressing
					// would make it larger, so "none" is allowed per batch.
					switch c := r.Attrs.CompressionType(); c {
					case codec.id:
						compressed++
					case 0:
					default:
						t.Fatalf("partition %d offset %d: stored with compression %d, want %d (%s) or none", p, r.Offset, c, codec.id, codec.name)
					}
				}
			}
			if compressed*2 < lines {
				t.Fatalf("only %d of %d records are stored with %s; the broker does not keep the producer's codec", compressed, lines, codec.name)
			}
			if len(byPartition) != len(consumed) {
				t.Fatalf("kcat read %d partitions, kgo %d", len(consumed), len(byPartition))
			}
		})
	}
}

func kcatTopic(codec string) string { return "kcat-" + codec }

// writeKeyedLines writes n lines "k<i mod kcatKeys>:<i>", the input of kcat -K:.
func writeKeyedLines(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("create input: %v", err)
	}
	w := bufio.NewWriter(f)
	for i := range n {
		fmt.Fprintf(w, "k%d:%d\n", i%kcatKeys, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatalf("write input: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("write input: %v", err)
	}
}

// kcatLine is one record as kcat -f '%p:%o:%k:%s\n' prints it (partition aside).
type kcatLine struct {
	offset int64
	key    string
	value  string
}

// parseKcatLines groups kcat's output by partition, in output order.
func parseKcatLines(t *testing.T, stdout string) map[int32][]kcatLine {
	t.Helper()
	out := map[int32][]kcatLine{}
	for line := range strings.Lines(stdout) {
		fields := strings.SplitN(strings.TrimSuffix(line, "\n"), ":", 4)
		if len(fields) != 4 {
			t.Fatalf("kcat printed %q, want partition:offset:key:value", line)
		}
		p, err1 := strconv.ParseInt(fields[0], 10, 32)
		o, err2 := strconv.ParseInt(fields[1], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("kcat printed %q, want numeric partition and offset", line)
		}
		out[int32(p)] = append(out[int32(p)], kcatLine{offset: o, key: fields[2], value: fields[3]})
	}
	return out
}

// checkKeyedLines checks that the records are exactly the n lines of
// writeKeyedLines, each partition at dense offsets from 0 and in input order,
// every key in one partition.
func checkKeyedLines(t *testing.T, byPartition map[int32][]kcatLine, n int) {
	t.Helper()
	seen := make([]bool, n)
	partitionOfKey := map[string]int32{}
	total := 0
	for p, recs := range byPartition {
		last := -1
		for i, r := range recs {
			total++
			if r.offset != int64(i) {
				t.Fatalf("partition %d: record %d at offset %d, want %d", p, i, r.offset, i)
			}
			v, err := strconv.Atoi(r.value)
			if err != nil || v < 0 || v >= n {
				t.Fatalf("partition %d offset %d: unexpected value %q", p, r.offset, r.value)
			}
			if seen[v] {
				t.Fatalf("line %d read twice (partition %d offset %d)", v, p, r.offset)
			}
			seen[v] = true
			if want := fmt.Sprintf("k%d", v%kcatKeys); r.key != want {
				t.Fatalf("line %d: key %q, want %q", v, r.key, want)
			}
			if v <= last {
				t.Fatalf("partition %d: line %d at offset %d follows line %d; input order not kept", p, v, r.offset, last)
			}
			last = v
			if q, ok := partitionOfKey[r.key]; ok && q != p {
				t.Fatalf("key %s is in partitions %d and %d", r.key, q, p)
			}
			partitionOfKey[r.key] = p
		}
	}
	if total != n {
		t.Fatalf("read %d lines, want %d", total, n)
	}
}
