package compat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// requiredEnv names the environment variable that turns a missing client
// tool from a skip into a failure. CI sets it to 1.
const requiredEnv = "SAMSA_COMPAT_REQUIRED"

// toolMissing skips the test because a third-party client is not installed,
// or fails it when the environment says the clients are required.
func toolMissing(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(requiredEnv) == "1" {
		t.Fatalf("%s (%s=1; install the clients with compat/install.sh)", msg, requiredEnv)
	}
	t.Skipf("%s; install the clients with compat/install.sh (set %s=1 to fail instead of skipping)", msg, requiredEnv)
}

// lookTool returns the path of an executable on PATH, or skips/fails the test.
func lookTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		toolMissing(t, "%s not found on PATH", name)
	}
	return path
}

// command describes one run of a client subprocess.
type command struct {
	name    string
	args    []string
	dir     string        // working directory; the package directory when empty
	env     []string      // added to the test process environment
	stdin   io.Reader     // nil means no input
	timeout time.Duration // whole-run limit; 60 s when zero
}

// output holds what a finished subprocess printed.
type output struct {
	stdout string
	stderr string
}

// run executes the command and fails the test when it cannot start, times
// out, or exits non-zero. Its output is in the failure message either way.
func run(t *testing.T, c command) output {
	t.Helper()
	out, err := runCommand(t, c)
	if err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", c, err, tail(out.stdout), tail(out.stderr))
	}
	return out
}

// runCommand is run without the failure: it returns the error (exit status,
// timeout) for tests that look at it themselves.
func runCommand(t *testing.T, c command) (output, error) {
	t.Helper()
	timeout := c.timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.name, c.args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdin = c.stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	// A killed client may leave children holding the pipes open; do not wait
	// for them forever.
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s: %v in %v", c, exitDescription(err), time.Since(start).Round(time.Millisecond))
	out := output{stdout: stdout.String(), stderr: stderr.String()}
	if ctx.Err() != nil {
		return out, fmt.Errorf("timed out after %v: %w", timeout, ctx.Err())
	}
	if err != nil {
		return out, fmt.Errorf("run: %w", err)
	}
	return out, nil
}

func exitDescription(err error) string {
	if err == nil {
		return "exit 0"
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.String()
	}
	return err.Error()
}

// String shows the command line in logs and failure messages.
func (c command) String() string {
	return strings.Join(append([]string{filepath.Base(c.name)}, c.args...), " ")
}

// tail keeps the end of long subprocess output, where errors usually are.
func tail(s string) string {
	const keep = 4000
	if len(s) <= keep {
		return s
	}
	return "…" + s[len(s)-keep:]
}

// createTopic creates a topic with the given partition count through kadm.
func createTopic(t *testing.T, b *brokertest.Broker, topic string, partitions int32) {
	t.Helper()
	ctx := brokertest.Context(t, 15*time.Second)
	resp, err := b.Admin().CreateTopic(ctx, partitions, 1, nil, topic)
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	if resp.Err != nil {
		t.Fatalf("create topic %s: %v", topic, resp.Err)
	}
}

// endOffsets returns the high watermark of every partition of topic.
func endOffsets(t *testing.T, adm *kadm.Client, topic string) map[int32]int64 {
	t.Helper()
	ctx := brokertest.Context(t, 15*time.Second)
	listed, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("list end offsets of %s: %v", topic, err)
	}
	if err := listed.Error(); err != nil {
		t.Fatalf("list end offsets of %s: %v", topic, err)
	}
	ends := map[int32]int64{}
	listed.Each(func(o kadm.ListedOffset) { ends[o.Partition] = o.Offset })
	if len(ends) == 0 {
		t.Fatalf("list end offsets of %s: no partitions", topic)
	}
	return ends
}

// readTopic reads every partition of topic from the start up to the high
// watermark seen before reading, with franz-go, and returns the records of
// each partition in offset order.
func readTopic(t *testing.T, b *brokertest.Broker, topic string) map[int32][]*kgo.Record {
	t.Helper()
	ends := endOffsets(t, b.Admin(), topic)
	start := map[string]map[int32]kgo.Offset{topic: {}}
	remaining := 0
	for p, end := range ends {
		start[topic][p] = kgo.NewOffset().AtStart()
		if end > 0 {
			remaining++
		}
	}
	cl := b.Client(kgo.ConsumePartitions(start), kgo.FetchMaxWait(500*time.Millisecond))
	ctx := brokertest.Context(t, 60*time.Second)
	out := map[int32][]*kgo.Record{}
	for remaining > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s with kgo: %d partitions short of their end offsets %v after 60 s (got %s)",
				topic, remaining, ends, recordCounts(out))
		}
		fetches.EachError(func(_ string, p int32, err error) {
			t.Errorf("read %s partition %d with kgo: %v", topic, p, err)
		})
		if t.Failed() {
			t.FailNow()
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if r.Offset >= ends[r.Partition] {
				return
			}
			out[r.Partition] = append(out[r.Partition], r)
			if r.Offset == ends[r.Partition]-1 {
				remaining--
			}
		})
	}
	return out
}

func recordCounts(byPartition map[int32][]*kgo.Record) string {
	parts := make([]string, 0, len(byPartition))
	for _, p := range slices.Sorted(maps.Keys(byPartition)) {
		parts = append(parts, fmt.Sprintf("p%d=%d", p, len(byPartition[p])))
	}
	return strings.Join(parts, " ")
}

// requireDenseOffsets fails unless the records of each partition sit at
// offsets 0, 1, 2, … (a topic with no transactions and no compaction).
func requireDenseOffsets(t *testing.T, byPartition map[int32][]*kgo.Record) {
	t.Helper()
	for p, recs := range byPartition {
		for i, r := range recs {
			if r.Offset != int64(i) {
				t.Fatalf("partition %d: record %d is at offset %d, want %d", p, i, r.Offset, i)
			}
		}
	}
}

// shortOr picks the smaller size under -short (the race-detector run).
func shortOr(short, full int) int {
	if testing.Short() {
		return short
	}
	return full
}
