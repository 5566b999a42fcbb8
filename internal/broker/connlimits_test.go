package broker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"testing"

	"github.com/samsa-broker/samsa/internal/config"
	"github.com/samsa-broker/samsa/internal/quota"
)

func TestConnLimitsSettings(t *testing.T) {
	cfg, _, err := config.NewBroker(map[string]string{"max.connections": "10", "max.connections.per.ip": "3"})
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("10.0.0.7")
	quotas := quota.NewSet(nil)
	l := newConnLimits(context.Background(), cfg, func() *quota.Set { return quotas }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	lookups := 0
	l.resolve = func(_ context.Context, host string) ([]netip.Addr, error) {
		lookups++
		if host == "broker1" {
			return []netip.Addr{netip.MustParseAddr("10.0.0.8"), netip.MustParseAddr("::ffff:10.0.0.9")}, nil
		}
		return nil, errors.New("no such host")
	}
	s := l.settings("PLAINTEXT")
	if s.MaxConnections != 10 || s.MaxPerIP != 3 || s.MaxCreationRate != 2147483647 || len(s.PerIPOverrides) != 0 {
		t.Fatalf("static settings %+v", s)
	}
	if _, ok := s.IPRate(ip); ok {
		t.Fatal("an IP rate without quotas")
	}

	// Dynamic configs and new quotas apply to the next read.
	cfg.SetDynamic(config.DynamicConfigs{Default: map[string]string{
		"max.connections.per.ip": "1", "max.connection.creation.rate": "50",
		"max.connections.per.ip.overrides": "broker1:4, ::ffff:10.0.0.7:5, nowhere:6",
	}})
	e, _ := quota.NewEntity([]quota.Component{{Type: quota.IP}})
	quotas = quotas.With(e, []quota.Op{{Key: quota.ConnectionCreationRate, Value: 2}})
	s = l.settings("PLAINTEXT")
	want := map[netip.Addr]int{
		netip.MustParseAddr("10.0.0.8"): 4, netip.MustParseAddr("10.0.0.9"): 4, // every address of the name
		ip: 5, // compared as parsed addresses
	}
	if s.MaxPerIP != 1 || s.MaxCreationRate != 50 || !maps.Equal(s.PerIPOverrides, want) {
		t.Fatalf("dynamic settings %+v, want overrides %v", s, want)
	}
	if r, ok := s.IPRate(ip); !ok || r.Value != 2 {
		t.Fatalf("IP rate %+v %v", r, ok)
	}
	// Names are resolved once per value, not per connection.
	l.settings("PLAINTEXT")
	if lookups != 2 {
		t.Fatalf("%d lookups, want 2 (broker1 and nowhere, once)", lookups)
	}
}
