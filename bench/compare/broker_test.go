package main

import (
	"context"
	"errors"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// helperBrokerEnv makes the test binary act as a stand-in broker: it
// listens on the port given as its last argument until SIGTERM.
const helperBrokerEnv = "COMPARE_HELPER_BROKER"

func TestMain(m *testing.M) {
	if os.Getenv(helperBrokerEnv) != "" {
		os.Exit(helperBroker())
	}
	os.Exit(m.Run())
}

func helperBroker() int {
	if os.Getenv(helperBrokerEnv) == "exit" {
		return 3
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM)
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", os.Args[len(os.Args)-1]))
	if err != nil {
		return 1
	}
	defer ln.Close()
	<-signals
	return 0
}

// helperKind starts the test binary as a broker; mode "listen" serves,
// "exit" quits at once.
func helperKind(t *testing.T, mode string) brokerKind {
	t.Setenv(helperBrokerEnv, mode)
	return brokerKind{name: "helper", command: func(port int, _ string, _ bool) []string {
		return []string{os.Args[0], "-test.run=^$", strconv.Itoa(port)}
	}}
}

func TestBrokerLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := startBroker(ctx, helperKind(t, "listen"), t.TempDir(), false, "helper")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.alive(); err != nil {
		t.Fatalf("alive: %v", err)
	}
	u, err := b.measure(clockTicksPerSecond())
	if err != nil {
		t.Fatalf("measure: %v", err)
	}
	if u.PeakRSSBytes <= 0 || u.CPUSeconds < 0 {
		t.Errorf("usage %+v", u)
	}
	b.stop()
	if err := b.alive(); !errors.Is(err, errBrokerExited) {
		t.Errorf("after stop, alive = %v, want errBrokerExited", err)
	}
}

func TestBrokerThatExitsIsReported(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := startBroker(ctx, helperKind(t, "exit"), t.TempDir(), false, "helper")
	if !errors.Is(err, errBrokerExited) {
		t.Errorf("err = %v, want errBrokerExited", err)
	}
}
