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
	"sync"
	"syscall"
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

// clientProcess is a client subprocess that runs until it ends by itself or
// the test stops it (consumers never end by themselves). Its output can be
// read while it runs. The test that starts it owns it: stop ends it, and a
// cleanup kills it if the test did not.
type clientProcess struct {
	c      command
	cmd    *exec.Cmd
	stdout *lineLog
	stderr *lineLog
	exited chan struct{} // closed once Wait returned
	err    error         // Wait's result; read after exited is closed

	interrupted bool // SIGINT sent; used by the owning test goroutine only
}

// startProcess starts c in the background. c.timeout (60 s when zero) bounds
// its whole life: past it the process is killed.
func startProcess(t *testing.T, c command) *clientProcess {
	t.Helper()
	timeout := c.timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	cmd := exec.CommandContext(ctx, c.name, c.args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdin = c.stdin
	p := &clientProcess{c: c, cmd: cmd, stdout: &lineLog{}, stderr: &lineLog{}, exited: make(chan struct{})}
	cmd.Stdout = p.stdout
	cmd.Stderr = p.stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("%s: %v", c, err)
	}
	start := time.Now()
	go func() {
		defer cancel()
		p.err = cmd.Wait()
		t.Logf("%s: %v after %v", c, exitDescription(p.err), time.Since(start).Round(time.Millisecond))
		close(p.exited)
	}()
	t.Cleanup(func() { p.stop(0) })
	return p
}

// running reports whether the process has not exited yet.
func (p *clientProcess) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// interrupt asks the process to end with SIGINT, as Ctrl-C would, without
// waiting. Only the first call sends the signal: some clients treat a
// second one as "exit now, skip the clean shutdown".
func (p *clientProcess) interrupt() {
	if p.interrupted || !p.running() {
		return
	}
	p.interrupted = true
	// An error means the process is gone already, which is what we want.
	_ = p.cmd.Process.Signal(syscall.SIGINT)
}

// stop interrupts the process, kills it if it is still running after grace,
// and returns how it exited. A process that already exited is left as it
// was.
func (p *clientProcess) stop(grace time.Duration) error {
	if p.running() {
		p.interrupt()
		select {
		case <-p.exited:
		case <-time.After(grace):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
	return p.err
}

// String describes the process with its output so far, for failure messages.
func (p *clientProcess) String() string {
	return fmt.Sprintf("%s\nstdout:\n%s\nstderr:\n%s", p.c, tail(strings.Join(p.stdout.lines(), "\n")), tail(strings.Join(p.stderr.lines(), "\n")))
}

// lineLog is a subprocess's stdout or stderr: it keeps the complete lines
// written so far, safe to read while the process writes.
type lineLog struct {
	mu       sync.Mutex
	complete []string
	partial  []byte // the start of a line not ended yet
}

func (l *lineLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(b)
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			l.partial = append(l.partial, b...)
			return n, nil
		}
		l.complete = append(l.complete, string(append(l.partial, b[:i]...)))
		l.partial = l.partial[:0]
		b = b[i+1:]
	}
}

// lines returns the complete lines written so far, without their newlines.
// The caller must not modify the slice.
func (l *lineLog) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clip(l.complete)
}

// pollUntil calls done every 20 ms until it returns true (pollUntil returns
// true) or timeout passes (false).
func pollUntil(timeout time.Duration, done func() bool) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !done() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// groupLag compares group's committed offsets on topic (kadm FetchOffsets)
// with the topic's end offsets (kadm ListEndOffsets). It returns each
// partition's lag, the end offset minus the committed offset (the whole
// partition when nothing is committed), and a description for messages.
func groupLag(ctx context.Context, adm *kadm.Client, group, topic string) (map[int32]int64, string, error) {
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return nil, "", fmt.Errorf("fetch offsets of group %s: %w", group, err)
	}
	if err := committed.Error(); err != nil {
		return nil, "", fmt.Errorf("fetch offsets of group %s: %w", group, err)
	}
	listed, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, "", fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	if err := listed.Error(); err != nil {
		return nil, "", fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	lag := map[int32]int64{}
	var rows []string
	listed.Each(func(end kadm.ListedOffset) {
		c, ok := committed.Lookup(topic, end.Partition)
		at := int64(-1)
		if ok {
			at = c.At
		}
		lag[end.Partition] = end.Offset - max(at, 0)
		rows = append(rows, fmt.Sprintf("p%d committed %d end %d lag %d", end.Partition, at, end.Offset, lag[end.Partition]))
	})
	if len(lag) == 0 {
		return nil, "", fmt.Errorf("list end offsets of %s: no partitions", topic)
	}
	slices.Sort(rows)
	return lag, strings.Join(rows, ", "), nil
}

// requireLagZero waits up to timeout for group to have committed the end
// offset of every partition of topic, and fails the test if it does not.
// Clients commit asynchronously, hence the wait.
func requireLagZero(t *testing.T, adm *kadm.Client, group, topic string, timeout time.Duration) {
	t.Helper()
	ctx := brokertest.Context(t, timeout+15*time.Second)
	var last string
	var lastErr error
	caughtUp := pollUntil(timeout, func() bool {
		lag, described, err := groupLag(ctx, adm, group, topic)
		last, lastErr = described, err
		if err != nil {
			return false
		}
		for _, l := range lag {
			if l != 0 {
				return false
			}
		}
		return true
	})
	if !caughtUp {
		t.Fatalf("group %s on %s: lag not 0 after %v: %s (last error: %v)", group, topic, timeout, last, lastErr)
	}
	t.Logf("group %s on %s: %s", group, topic, last)
}
