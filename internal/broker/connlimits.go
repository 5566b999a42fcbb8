package broker

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/samsa-broker/samsa/internal/config"
	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/quota"
)

// connLimits reads the connection limits for conn.Limits at every accept:
// the max.connections* and max.connection.creation.rate broker configs (so
// AlterConfigs changes apply to the next connection) and the
// connection_creation_rate client quotas.
type connLimits struct {
	ctx    context.Context // the broker's: ends host name lookups at shutdown
	cfg    *config.Broker
	quotas func() *quota.Set
	log    *slog.Logger
	// resolve looks a host name up (net.DefaultResolver outside tests).
	resolve func(ctx context.Context, host string) ([]netip.Addr, error)

	mu sync.Mutex
	// overridesText is the max.connections.per.ip.overrides value that
	// overrides was resolved from: names are resolved once per value, not
	// per connection.
	overridesText string
	overrides     map[netip.Addr]int
}

func newConnLimits(ctx context.Context, cfg *config.Broker, quotas func() *quota.Set, log *slog.Logger) *connLimits {
	return &connLimits{ctx: ctx, cfg: cfg, quotas: quotas, log: log, resolve: func(ctx context.Context, host string) ([]netip.Addr, error) {
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}}
}

// settings returns the limits in force now for a connection to listener.
func (l *connLimits) settings(listener string) conn.LimitSettings {
	return conn.LimitSettings{
		MaxConnections:          int(l.cfg.MaxConnections()),
		MaxPerIP:                int(l.cfg.MaxConnectionsPerIP()),
		PerIPOverrides:          l.perIPOverrides(l.cfg.MaxConnectionsPerIPOverrides()),
		MaxCreationRate:         float64(l.cfg.MaxConnectionCreationRate()),
		IPRate:                  l.ipRate,
		ListenerMaxConnections:  int(l.cfg.ListenerMaxConnections(listener)),
		ListenerMaxCreationRate: float64(l.cfg.ListenerMaxConnectionCreationRate(listener)),
	}
}

func (l *connLimits) ipRate(ip netip.Addr) (quota.Limit, bool) {
	if l.quotas == nil {
		return quota.Limit{}, false
	}
	return l.quotas().IPLimit(ip)
}

// perIPOverrides returns text's overrides by address, resolving host names
// (every address of a name gets its count) when text changed since the
// last call. A name that does not resolve is left out, with a warning.
func (l *connLimits) perIPOverrides(text string) map[netip.Addr]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.overrides != nil && text == l.overridesText {
		return l.overrides
	}
	hosts, err := config.ParseConnectionOverrides(text)
	if err != nil {
		// Unreachable: the config checks the value before it is set.
		l.log.Warn("ignoring max.connections.per.ip.overrides", "value", text, "err", err)
	}
	out := make(map[netip.Addr]int, len(hosts))
	for host, n := range hosts {
		if addr, err := netip.ParseAddr(host); err == nil {
			out[addr.Unmap()] = n
			continue
		}
		ctx, cancel := context.WithTimeout(l.ctx, 5*time.Second)
		addrs, err := l.resolve(ctx, host)
		cancel()
		if err != nil || len(addrs) == 0 {
			l.log.Warn("max.connections.per.ip.overrides names a host that does not resolve; its override is not applied", "host", host, "err", err)
			continue
		}
		for _, a := range addrs {
			out[a.Unmap()] = n
		}
	}
	l.overridesText, l.overrides = text, out
	return out
}
