// Package brokertest starts real Samsa brokers for tests: a broker on
// 127.0.0.1:0 with its data in a temporary directory, reached through real
// Kafka clients (franz-go kgo/kadm) over loopback.
package brokertest

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/broker"
	"github.com/samsa-broker/samsa/internal/config"
	"github.com/samsa-broker/samsa/internal/logging"
)

// Broker is a running test broker.
type Broker struct {
	t       testing.TB
	DataDir string
	Props   map[string]string
	B       *broker.Broker
	Addr    string
	logTo   io.Writer // also gets the broker's log lines; nil: none
}

// Start runs a broker with the given settings (Kafka names) on a free port
// and stops it when the test ends. SAMSA_TEST_LOG=1 shows its logs.
func Start(t testing.TB, props map[string]string) *Broker {
	t.Helper()
	return StartLogged(t, props, nil)
}

// StartLogged is Start with the broker's log lines also written to w (when
// not nil), for tests that check what the broker logged.
func StartLogged(t testing.TB, props map[string]string, w io.Writer) *Broker {
	t.Helper()
	p := map[string]string{
		"listeners":                        "PLAINTEXT://127.0.0.1:0",
		"log.dirs":                         t.TempDir(),
		"group.initial.rebalance.delay.ms": "0",
	}
	maps.Copy(p, props)
	tb := &Broker{t: t, DataDir: p["log.dirs"], Props: p, logTo: w}
	tb.start()
	t.Cleanup(func() { tb.Stop() })
	return tb
}

func (tb *Broker) start() {
	tb.t.Helper()
	cfg, _, err := config.NewBroker(tb.Props)
	if err != nil {
		tb.t.Fatalf("broker config: %v", err)
	}
	var out io.Writer = io.Discard
	if os.Getenv("SAMSA_TEST_LOG") != "" {
		out = os.Stderr
	}
	if tb.logTo != nil {
		out = io.MultiWriter(out, tb.logTo)
	}
	levels := logging.NewLevels(slog.LevelDebug)
	logger := slog.New(levels.Handler(slog.NewTextHandler(out, &slog.HandlerOptions{Level: logging.LevelTrace})))
	b, err := broker.New(broker.Options{Config: cfg, Logger: logger, Levels: levels})
	if err != nil {
		tb.t.Fatalf("start broker: %v", err)
	}
	if err := b.Start(context.Background()); err != nil {
		tb.t.Fatalf("start broker: %v", err)
	}
	tb.B = b
	tb.Addr = b.Addrs()[0]
}

// Stop shuts the broker down cleanly. It is idempotent.
func (tb *Broker) Stop() {
	if tb.B == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tb.B.Shutdown(ctx); err != nil {
		tb.t.Errorf("broker shutdown: %v", err)
	}
	tb.B = nil
}

// Restart stops the broker and starts a new one on the same data directory
// and the same ports, each listener on the one it had.
func (tb *Broker) Restart() {
	tb.t.Helper()
	addrs := tb.B.Addrs()
	listeners := strings.Split(tb.Props["listeners"], ",")
	for i, l := range listeners {
		name, _, _ := strings.Cut(strings.TrimSpace(l), "://")
		if i < len(addrs) {
			listeners[i] = name + "://" + addrs[i]
		}
	}
	tb.Stop()
	tb.Props["listeners"] = strings.Join(listeners, ",")
	tb.start()
}

// Client returns a franz-go client for the broker, closed at test end.
func (tb *Broker) Client(opts ...kgo.Opt) *kgo.Client {
	tb.t.Helper()
	all := append([]kgo.Opt{kgo.SeedBrokers(tb.Addr)}, opts...)
	c, err := kgo.NewClient(all...)
	if err != nil {
		tb.t.Fatalf("client: %v", err)
	}
	tb.t.Cleanup(c.Close)
	return c
}

// Admin returns a kadm client for the broker.
func (tb *Broker) Admin() *kadm.Client {
	return kadm.NewClient(tb.Client())
}

// GroupType is the group's type as ListGroups v5 reports it ("classic" or
// "consumer"), or "" if the broker does not list the group.
func (tb *Broker) GroupType(group string) string {
	tb.t.Helper()
	req := kmsg.NewPtrListGroupsRequest()
	req.Version = 5
	resp, err := req.RequestWith(Context(tb.t, 10*time.Second), tb.Client())
	if err != nil {
		tb.t.Fatalf("list groups: %v", err)
	}
	for _, g := range resp.Groups {
		if g.Group == group {
			return g.GroupType
		}
	}
	return ""
}

// Context returns a context that ends after d or at test end.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
