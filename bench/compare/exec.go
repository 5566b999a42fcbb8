package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// benchTimeout bounds one `samsa bench` run, so a broker that stops
// answering cannot hang the comparison.
const benchTimeout = 15 * time.Minute

// errNoResult reports a bench run that printed no JSON result line.
var errNoResult = errors.New("no result line")

// runBench runs `samsa bench ARGS -b ADDR` and returns the result line it
// printed and the CPU seconds the load generator used. A run that printed a
// result but exited non-zero (it counted errors) returns both the result and
// the error.
func runBench(ctx context.Context, binary, addr string, args []string) (*benchResult, float64, error) {
	ctx, cancel := context.WithTimeout(ctx, benchTimeout)
	defer cancel()
	argv := append([]string{"bench"}, args...)
	argv = append(argv, "-b", addr)
	cmd := exec.CommandContext(ctx, binary, argv...)
	// SIGINT lets the bench command report what it measured so far.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 30 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	runErr := cmd.Run()
	if runErr != nil {
		runErr = fmt.Errorf("samsa %s: %w: %s", strings.Join(argv, " "), runErr, lastLine(stderr.String()))
	}
	var clientCPU float64
	if ps := cmd.ProcessState; ps != nil {
		clientCPU = (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	result, parseErr := parseResultLine(stdout.String())
	if parseErr != nil {
		return nil, clientCPU, errors.Join(runErr, parseErr)
	}
	return result, clientCPU, runErr
}

// parseResultLine decodes the last non-empty line of a bench run's stdout.
func parseResultLine(stdout string) (*benchResult, error) {
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		return nil, errNoResult
	}
	var result benchResult
	if err := json.Unmarshal([]byte(last), &result); err != nil {
		return nil, fmt.Errorf("%w: %q: %w", errNoResult, last, err)
	}
	if result.Workload == "" {
		return nil, fmt.Errorf("%w: %q has no workload", errNoResult, last)
	}
	return &result, nil
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// moduleRoot returns the directory of the main module (the samsa repo).
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the samsa module: run from the repository (go run ./bench/compare)")
	}
	return filepath.Dir(gomod), nil
}

// goBuild runs `go build -o output pkg` in dir.
func goBuild(ctx context.Context, dir, output, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", output, pkg)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s in %s: %w\n%s", pkg, dir, err, strings.TrimSpace(string(out)))
	}
	return nil
}
