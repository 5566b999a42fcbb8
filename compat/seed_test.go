package compat

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// The seed tutorial's scripts connect to localhost:9092, send key user1 with
// seedValue to user_actions, and consume it in group user-analytics-group.
const (
	seedAddr  = "127.0.0.1:9092"
	seedTopic = "user_actions"
	seedGroup = "user-analytics-group"
	seedKey   = "user1"
	seedValue = `{"action":"click","page":"home"}`
)

// seedTutorial is a broker on seedAddr and a temporary directory holding the
// seed's producer.js and consumer.js, unchanged, next to a link to the
// pinned kafkajs.
type seedTutorial struct {
	k      kafkajs
	dir    string
	broker *brokertest.Broker
}

// startSeedTutorial prepares the seed's scripts and starts the broker they
// expect. It skips the test when the seed is missing or seedAddr is busy.
func startSeedTutorial(t *testing.T) seedTutorial {
	t.Helper()
	k := findKafkajs(t)
	seed := seedDir(t)
	if ln, err := net.Listen("tcp", seedAddr); err != nil {
		t.Skipf("the seed tutorial needs %s, which is busy: %v", seedAddr, err)
	} else {
		ln.Close()
	}
	b := brokertest.Start(t, map[string]string{"listeners": "PLAINTEXT://" + seedAddr})

	dir := t.TempDir()
	for _, name := range []string{"producer.js", "consumer.js"} {
		copyFile(t, filepath.Join(seed, name), filepath.Join(dir, name))
	}
	if err := os.Symlink(filepath.Join(k.dir, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatalf("link node_modules: %v", err)
	}
	return seedTutorial{k: k, dir: dir, broker: b}
}

// produce runs producer.js. It prints its error and still exits 0, so the
// success line is what proves the send.
func (s seedTutorial) produce(t *testing.T) {
	t.Helper()
	out := run(t, command{name: s.k.node, args: []string{"producer.js"}, dir: s.dir, timeout: 30 * time.Second})
	if !strings.Contains(out.stdout, "消息发送成功") {
		t.Fatalf("producer.js did not report success\nstdout:\n%s\nstderr:\n%s", out.stdout, tail(out.stderr))
	}
}

// startConsumer starts consumer.js, which never ends by itself, and waits
// until it printed the record producer.js sent.
func (s seedTutorial) startConsumer(t *testing.T) *clientProcess {
	t.Helper()
	consumer := startProcess(t, command{name: s.k.node, args: []string{"consumer.js"}, dir: s.dir, timeout: 60 * time.Second})
	received := pollUntil(30*time.Second, func() bool {
		return slices.Contains(consumer.stdout.lines(), "Value: "+seedValue) || !consumer.running()
	})
	if !received || !slices.Contains(consumer.stdout.lines(), "Value: "+seedValue) {
		t.Fatalf("consumer.js did not print the record within 30 s: %v", consumer)
	}
	joined := strings.Join(consumer.stdout.lines(), "\n")
	if !strings.Contains(joined, "收到消息") || !strings.Contains(joined, "Key: "+seedKey) {
		t.Fatalf("consumer.js output lacks the received message: %v", consumer)
	}
	return consumer
}

// TestKafkajsSeedTutorial runs the seed tutorial's producer.js unchanged
// and checks the record with kafkajs's admin client and franz-go, then runs
// consumer.js until the message arrives.
func TestKafkajsSeedTutorial(t *testing.T) {
	s := startSeedTutorial(t)
	s.produce(t)

	var offsets offsetsSummary
	s.k.script(t, seedAddr, 30*time.Second, &offsets, "offsets.js", seedTopic)
	var high int64
	for _, o := range offsets {
		high += o.High
	}
	if high < 1 {
		t.Fatalf("kafkajs fetchTopicOffsets(%s) = %+v, want a high offset ≥ 1", seedTopic, offsets)
	}

	ends := endOffsets(t, s.broker.Admin(), seedTopic)
	for _, o := range offsets {
		if ends[o.Partition] != o.High {
			t.Errorf("partition %d: kafkajs high offset %d, kadm end offset %d", o.Partition, o.High, ends[o.Partition])
		}
	}
	found := false
	for _, recs := range readTopic(t, s.broker, seedTopic) {
		for _, r := range recs {
			found = found || (string(r.Key) == seedKey && string(r.Value) == seedValue)
		}
	}
	if !found {
		t.Fatalf("kgo did not find key %s with value %s in %s", seedKey, seedValue, seedTopic)
	}

	t.Run("consumer.js", func(t *testing.T) {
		s.startConsumer(t).stop(5 * time.Second)
	})
}

// TestSeedConsumerLagZero runs the seed's producer.js and consumer.js, kills
// consumer.js once it printed the record, and checks that its commit left
// user-analytics-group with lag 0: with kadm, and with `samsa group
// describe` when the binary has that command.
func TestSeedConsumerLagZero(t *testing.T) {
	s := startSeedTutorial(t)
	s.produce(t)
	consumer := s.startConsumer(t)
	adm := s.broker.Admin()
	// consumer.js prints, then commits the record's own offset; kafkajs's
	// auto-commit after the batch then commits the next one. Wait for that
	// while it runs, then kill it the way a user stops it: Ctrl-C.
	requireLagZero(t, adm, seedGroup, seedTopic, 15*time.Second)
	consumer.stop(5 * time.Second)
	if consumer.running() {
		t.Fatalf("consumer.js still running after stop")
	}
	// The commit must outlive the consumer.
	requireLagZero(t, adm, seedGroup, seedTopic, 0)

	t.Run("samsa group describe", func(t *testing.T) {
		samsa := buildSamsa(t)
		out, err := runCommand(t, command{
			name:    samsa,
			args:    []string{"group", "describe", seedGroup, "-b", seedAddr},
			timeout: 30 * time.Second,
		})
		if err != nil && strings.Contains(out.stderr, "unknown command") {
			t.Skipf("samsa has no `group describe` command yet: %s", strings.TrimSpace(out.stderr))
		}
		if err != nil {
			t.Fatalf("samsa group describe: %v\nstdout:\n%s\nstderr:\n%s", err, out.stdout, out.stderr)
		}
		t.Logf("samsa group describe:\n%s", out.stdout)
		lags := describedLags(t, out.stdout, seedTopic)
		if len(lags) == 0 {
			t.Fatalf("samsa group describe shows no partition of %s:\n%s", seedTopic, out.stdout)
		}
		for p, lag := range lags {
			if lag != "0" {
				t.Errorf("samsa group describe: %s partition %s has lag %q, want 0:\n%s", seedTopic, p, lag, out.stdout)
			}
		}
	})
}

// buildSamsa builds the samsa binary from ../cmd/samsa into a temporary
// directory and returns its path.
func buildSamsa(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go not on PATH, cannot build samsa: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "samsa")
	run(t, command{name: goTool, args: []string{"build", "-o", bin, "../cmd/samsa"}, timeout: 3 * time.Minute})
	return bin
}

// describedLags reads the offsets table of `samsa group describe` (a header
// line with TOPIC, PARTITION and LAG columns, then one row per partition)
// and returns the LAG cell of each partition of topic, by partition.
func describedLags(t *testing.T, stdout, topic string) map[string]string {
	t.Helper()
	lags := map[string]string{}
	var header []string
	for line := range strings.Lines(stdout) {
		fields := strings.Fields(line)
		if slices.Contains(fields, "TOPIC") && slices.Contains(fields, "LAG") {
			header = fields
			continue
		}
		if header == nil || len(fields) < len(header) {
			continue
		}
		topicCol, partitionCol, lagCol := slices.Index(header, "TOPIC"), slices.Index(header, "PARTITION"), slices.Index(header, "LAG")
		if partitionCol < 0 {
			t.Fatalf("samsa group describe: offsets header %q has no PARTITION column", header)
		}
		if fields[topicCol] == topic {
			lags[fields[partitionCol]] = fields[lagCol]
		}
	}
	if header == nil {
		t.Fatalf("samsa group describe printed no offsets table (header with TOPIC and LAG):\n%s", stdout)
	}
	return lags
}

// seedDir locates the seed tutorial: ../shared/seed beside the repository
// root (SAMSA_SEED_DIR overrides). Without it the test is skipped.
func seedDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SAMSA_SEED_DIR")
	if dir == "" {
		// Tests run in the package directory, compat/ under the root.
		dir = filepath.Join("..", "..", "shared", "seed")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("locate seed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(abs, "producer.js")); err != nil {
		t.Skipf("seed tutorial not found at %s (set SAMSA_SEED_DIR): %v", abs, err)
	}
	return abs
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatalf("copy %s: %v", from, err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatalf("copy %s: %v", from, err)
	}
}
