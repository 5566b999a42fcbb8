package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// samsaBinary builds cmd/samsa once per test run.
func samsaBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "samsa-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "samsa")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/samsa").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// process is a broker running as a separate process, so it can be killed.
type process struct {
	cmd  *exec.Cmd
	addr string
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startProcess(t *testing.T, dataDir, addr string, args ...string) *process {
	t.Helper()
	all := append([]string{"serve", "--data-dir", dataDir, "--listen", addr, "--set", "group.initial.rebalance.delay.ms=0"}, args...)
	cmd := exec.Command(samsaBinary(t), all...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, addr: addr}
	t.Cleanup(func() { p.kill() })
	started, exited := make(chan struct{}), make(chan struct{})
	var lastLine string
	go func() {
		defer close(exited) // stderr closes when the process exits
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			if os.Getenv("SAMSA_TEST_LOG") != "" {
				fmt.Fprintln(os.Stderr, sc.Text())
			}
			if strings.Contains(sc.Text(), "samsa started") {
				once.Do(func() { close(started) })
			}
			lastLine = sc.Text()
		}
	}()
	select {
	case <-started:
	case <-exited:
		t.Fatalf("broker process exited before it started: %s", lastLine)
	case <-time.After(30 * time.Second):
		t.Fatal("broker process did not start")
	}
	return p
}

func (p *process) kill() {
	if p.cmd.Process != nil && p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

// TestKill9KeepsAcknowledgedData: with --fsync always, every acknowledged
// record and committed offset survives kill -9.
func TestKill9KeepsAcknowledgedData(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a broker process")
	}
	dataDir := t.TempDir()
	addr := freePort(t)
	// Four partitions: a produce request spans several, whose fsyncs overlap.
	p := startProcess(t, dataDir, addr, "--fsync", "always", "--set", "num.partitions=4")

	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("durable"), kgo.AllowAutoTopicCreation(),
		kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Produce while the broker is killed part-way: everything acknowledged
	// before the kill must be there afterwards.
	var mu sync.Mutex
	acked := map[string]bool{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			v := strconv.Itoa(i)
			cl.Produce(ctx, &kgo.Record{Value: []byte(v)}, func(r *kgo.Record, err error) {
				if err == nil {
					mu.Lock()
					acked[v] = true
					mu.Unlock()
				}
			})
			if i%1000 == 999 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	adm := kadm.NewClient(cl)
	waitFor(t, 30*time.Second, "some acknowledged records", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) > 20_000
	})
	offsets := kadm.Offsets{}
	offsets.Add(kadm.Offset{Topic: "durable", Partition: 0, At: 1234, LeaderEpoch: -1, Metadata: "before-kill"})
	if resp, err := adm.CommitOffsets(ctx, "crash-group", offsets); err != nil || resp.Error() != nil {
		t.Fatalf("commit: %v %v", err, resp.Error())
	}
	p.kill()
	close(stop)
	<-done
	mu.Lock()
	ackedCopy := make(map[string]bool, len(acked))
	for k := range acked {
		ackedCopy[k] = true
	}
	mu.Unlock()
	cl.Close()

	startProcess(t, dataDir, addr, "--fsync", "always")
	reader, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("durable"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	radm := kadm.NewClient(reader)
	ends, err := radm.ListEndOffsets(ctx, "durable")
	if err != nil {
		t.Fatal(err)
	}
	var end int64
	ends.Each(func(o kadm.ListedOffset) { end += o.Offset })
	seen := map[string]bool{}
	for int64(len(seen)) < end {
		fs := reader.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records", len(seen), end)
		}
		fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
	}
	for v := range ackedCopy {
		if !seen[v] {
			t.Fatalf("acknowledged record %s lost after kill -9 (%d acked, %d recovered)", v, len(ackedCopy), len(seen))
		}
	}
	waitFor(t, 20*time.Second, "committed offset after kill -9", func() bool {
		got, err := radm.FetchOffsets(ctx, "crash-group")
		if err != nil {
			return false
		}
		o, ok := got.Lookup("durable", 0)
		return ok && o.At == 1234 && o.Metadata == "before-kill"
	})
	t.Logf("%d acknowledged records before kill -9, %d recovered", len(ackedCopy), len(seen))
}
