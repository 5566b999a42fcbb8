package goclients

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// logEnv names the environment variable that prints broker and client logs
// for passing tests too (failing tests always print them).
const logEnv = "SAMSA_TEST_LOG"

// samsaBinary is cmd/samsa built once per run of the test binary, into a
// directory TestMain removes at the end.
type samsaBinary struct {
	dir  string
	once sync.Once
	path string
	err  error
}

// build compiles cmd/samsa the first time it is called and returns the same
// result afterwards.
func (b *samsaBinary) build() (string, error) {
	b.once.Do(func() {
		b.path, b.err = buildSamsa(b.dir)
	})
	return b.path, b.err
}

// buildSamsa runs `go build ./cmd/samsa` in the repository root two levels
// up. The build runs there, not here, because ../../cmd/samsa belongs to the
// main module, which this nested module cannot build packages from.
func buildSamsa(dir string) (string, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", fmt.Errorf("repository root: %w", err)
	}
	goMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("repository root %s: %w", root, err)
	}
	if !bytes.HasPrefix(goMod, []byte("module github.com/samsa-broker/samsa\n")) {
		return "", fmt.Errorf("%s/go.mod is not the samsa module", root)
	}
	path := filepath.Join(dir, "samsa")
	cmd := exec.Command("go", "build", "-o", path, "./cmd/samsa")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/samsa: %w\n%s", err, out)
	}
	return path, nil
}

// These two are the test binary's only package-level state. samsa is set
// once by TestMain before any test runs. saramaLogs exists because
// sarama.Logger is a global of that library: TestMain points it at
// saramaLogs once, and each test routes it to its own buffer, so no test
// writes the library's global while another's goroutines read it.
var (
	samsa      *samsaBinary
	saramaLogs = &logRouter{}
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "samsa-goclients-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temporary directory for the broker binary:", err)
		os.Exit(1)
	}
	samsa = &samsaBinary{dir: dir}
	sarama.Logger = log.New(saramaLogs, "[sarama] ", log.Lmicroseconds)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// broker is one running `samsa serve` subprocess.
type broker struct {
	addr string
}

// startBroker runs a fresh broker with its own data directory on a free
// loopback port and returns once the port accepts connections. The broker
// is killed when the test ends; its log is printed if the test failed.
func startBroker(t *testing.T) *broker {
	t.Helper()
	addr := freeAddr(t)
	return startBrokerWith(t, addr, "--listen", addr)
}

// startBrokerWith runs a broker with extra serve arguments that make it
// listen (at least) on addr, the address it waits for.
func startBrokerWith(t *testing.T, addr string, args ...string) *broker {
	t.Helper()
	bin, err := samsa.build()
	if err != nil {
		t.Fatalf("build samsa: %v", err)
	}
	dataDir := t.TempDir()

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, append([]string{"serve",
		"--data-dir", dataDir,
		"--set", "group.initial.rebalance.delay.ms=0"}, args...)...)
	logs := newTestLog(t, "broker")
	cmd.Stdout = logs
	cmd.Stderr = logs
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	// Registered after t.TempDir, so it runs before the directory is removed.
	t.Cleanup(func() {
		cancel()
		<-exited
	})

	deadline := time.Now().Add(15 * time.Second)
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return &broker{addr: addr}
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker did not accept connections on %s within 15s: %v", addr, err)
		}
		select {
		case <-exited:
			t.Fatalf("broker exited before accepting connections: %v", waitErr)
		case <-ticker.C:
		}
	}
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// testLog collects one component's log lines for one test. It is safe for
// concurrent writers and is printed when the test fails (or always with
// SAMSA_TEST_LOG=1). Client goroutines may still write after the test
// ended; the buffer keeps accepting without touching t.
type testLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func newTestLog(t *testing.T, name string) *testLog {
	l := &testLog{}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv(logEnv) == "1" {
			t.Logf("%s log:\n%s", name, tail(l.String()))
		}
	})
	return l
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *testLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Printf makes testLog a kafka-go Logger.
func (l *testLog) Printf(format string, args ...any) {
	fmt.Fprintf(l, time.Now().Format("15:04:05.000000 ")+format+"\n", args...)
}

// tail keeps the end of a long log, where failures usually are.
func tail(s string) string {
	const keep = 12000
	if len(s) <= keep {
		return s
	}
	return "…" + s[len(s)-keep:]
}

// logRouter sends sarama's global logger to the current test's log.
type logRouter struct {
	mu     sync.Mutex
	target *testLog
}

func (r *logRouter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.target == nil {
		return len(p), nil
	}
	return r.target.Write(p)
}

// captureSaramaLog routes sarama's log lines to a log of this test until it
// ends.
func captureSaramaLog(t *testing.T) {
	logs := newTestLog(t, "sarama")
	saramaLogs.mu.Lock()
	saramaLogs.target = logs
	saramaLogs.mu.Unlock()
	t.Cleanup(func() {
		saramaLogs.mu.Lock()
		saramaLogs.target = nil
		saramaLogs.mu.Unlock()
	})
}

// testContext returns a context that ends after timeout or with the test.
func testContext(t *testing.T, timeout time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// keyFor spreads n messages over a smaller set of keys, so that several
// messages share a key and must stay in order on one partition.
func keyFor(i int) string { return fmt.Sprintf("key-%03d", i%97) }

// valueFor is a value that names its message and is not trivially short.
func valueFor(prefix string, i int) string {
	return fmt.Sprintf("%s value %04d %s", prefix, i, strings.Repeat("x", i%50))
}
