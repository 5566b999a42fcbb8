package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Timing of broker processes.
const (
	readyTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
	pollEvery    = 50 * time.Millisecond
)

// errBrokerExited reports that a broker process ended while it was needed.
var errBrokerExited = errors.New("broker process exited")

// brokerKind says how to start one of the compared brokers.
type brokerKind struct {
	name string
	// command returns the command line of a fresh broker on port, with a
	// fresh data directory when it needs one.
	command func(port int, dataDir string, fsyncAlways bool) []string
}

func samsaKind(binary string) brokerKind {
	return brokerKind{name: "samsa", command: func(port int, dataDir string, fsyncAlways bool) []string {
		fsync := "never"
		if fsyncAlways {
			fsync = "always"
		}
		return []string{binary, "serve", "--data-dir", dataDir,
			"--listen", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), "--fsync", fsync, "--log-level", "warn"}
	}}
}

func kfakeKind(binary string) brokerKind {
	return brokerKind{name: "kfake", command: func(port int, _ string, _ bool) []string {
		return []string{binary, "-port", strconv.Itoa(port)}
	}}
}

// brokerProcess is a running broker.
type brokerProcess struct {
	cmd     *exec.Cmd
	addr    string
	dataDir string
	logPath string
	exited  chan struct{} // closed when the process has ended
	waitErr error         // set before exited is closed
}

// startBroker starts a broker of kind on a free loopback port and waits
// until it accepts connections. Its output goes to a log file in workDir.
func startBroker(ctx context.Context, kind brokerKind, workDir string, fsyncAlways bool, label string) (*brokerProcess, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(workDir, label+"-data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	logPath := filepath.Join(workDir, label+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("broker log: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor

	argv := kind.command(port, dataDir, fsyncAlways)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", kind.name, err)
	}
	b := &brokerProcess{
		cmd:     cmd,
		addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		dataDir: dataDir,
		logPath: logPath,
		exited:  make(chan struct{}),
	}
	go func() {
		b.waitErr = cmd.Wait()
		close(b.exited)
	}()
	if err := b.waitReady(ctx); err != nil {
		b.stop()
		return nil, fmt.Errorf("%s: %w%s", kind.name, err, b.logTail())
	}
	return b, nil
}

// waitReady polls until the broker accepts a TCP connection.
func (b *brokerProcess) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		conn, err := net.DialTimeout("tcp", b.addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not accepting connections on %s after %s: %w", b.addr, readyTimeout, err)
		}
		select {
		case <-b.exited:
			return fmt.Errorf("%w before it was ready: %v", errBrokerExited, b.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

// alive returns an error when the process has ended.
func (b *brokerProcess) alive() error {
	select {
	case <-b.exited:
		return fmt.Errorf("%w: %v%s", errBrokerExited, b.waitErr, b.logTail())
	default:
		return nil
	}
}

// stop asks the broker to shut down (SIGTERM), kills it if it has not ended
// within stopTimeout, and waits for it.
func (b *brokerProcess) stop() {
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(stopTimeout):
		_ = b.cmd.Process.Kill()
		<-b.exited
	}
}

// logTail returns the last lines of the broker's log, to explain a failure.
func (b *brokerProcess) logTail() string {
	data, err := os.ReadFile(b.logPath)
	if err != nil || len(bytes.TrimSpace(data)) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	lines = lines[max(len(lines)-5, 0):]
	return "\n  broker log: " + strings.Join(lines, "\n  broker log: ")
}

// usage is what a broker process consumed over its life.
type usage struct {
	PeakRSSBytes int64   `json:"peak_rss_bytes"` // VmHWM
	CPUSeconds   float64 `json:"cpu_seconds"`    // utime + stime
}

// measure reads the broker's peak RSS and CPU time from /proc while it is
// still running.
func (b *brokerProcess) measure(clockTicks float64) (usage, error) {
	pid := b.cmd.Process.Pid
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return usage{}, fmt.Errorf("read status: %w", err)
	}
	rss, err := parsePeakRSS(string(status))
	if err != nil {
		return usage{}, err
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return usage{}, fmt.Errorf("read stat: %w", err)
	}
	ticks, err := parseCPUTicks(string(stat))
	if err != nil {
		return usage{}, err
	}
	return usage{PeakRSSBytes: rss, CPUSeconds: float64(ticks) / clockTicks}, nil
}

// parsePeakRSS returns VmHWM from the text of /proc/PID/status, in bytes.
func parsePeakRSS(status string) (int64, error) {
	for line := range strings.Lines(status) {
		value, found := strings.CutPrefix(line, "VmHWM:")
		if !found {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("VmHWM line %q: want \"N kB\"", strings.TrimSpace(line))
		}
		kib, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmHWM: %w", err)
		}
		return kib * 1024, nil
	}
	return 0, errors.New("no VmHWM line in /proc status")
}

// parseCPUTicks returns utime + stime (fields 14 and 15) from the text of
// /proc/PID/stat. The command name (field 2) is in parentheses and may hold
// spaces or parentheses, so fields are counted after its last ')'.
func parseCPUTicks(stat string) (int64, error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, errors.New("/proc stat: no command name")
	}
	// After the name come fields 3 (state), 4, ...: utime is field 14.
	fields := strings.Fields(stat[end+1:])
	const utimeIndex, stimeIndex = 14 - 3, 15 - 3
	if len(fields) <= stimeIndex {
		return 0, fmt.Errorf("/proc stat: %d fields after the name, want more than %d", len(fields), stimeIndex)
	}
	utime, err := strconv.ParseInt(fields[utimeIndex], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc stat utime: %w", err)
	}
	stime, err := strconv.ParseInt(fields[stimeIndex], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc stat stime: %w", err)
	}
	return utime + stime, nil
}

// clockTicksPerSecond asks getconf for CLK_TCK, which /proc stat times
// count in; Linux uses 100 almost everywhere.
func clockTicksPerSecond() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && v > 0 {
			return v
		}
	}
	return 100
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
