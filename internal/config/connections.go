package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// connectionConfigs are the connection limits, which Kafka changes at
// runtime (its DynamicConnectionQuota) and so does Samsa: the acceptor reads
// them for every new connection.
var connectionConfigs = []string{MaxConnectionCreationRate, MaxConnections, MaxConnectionsPerIP, MaxConnectionsPerIPOverrides}

// ParseConnectionOverrides reads max.connections.per.ip.overrides, a list of
// host:count (Kafka's CSV map: each entry splits at its last colon, so an
// IPv6 address needs no brackets). Hosts come back as written; an empty
// value is no override.
func ParseConnectionOverrides(value string) (map[string]int, error) {
	out := map[string]int{}
	for _, entry := range splitList(value) {
		i := strings.LastIndexByte(entry, ':')
		if i < 0 {
			return nil, fmt.Errorf("%q is not host:count", entry)
		}
		host, count := strings.TrimSpace(entry[:i]), strings.TrimSpace(entry[i+1:])
		if host == "" {
			return nil, fmt.Errorf("%q names no host", entry)
		}
		n, err := strconv.ParseInt(count, 10, 32)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q: the count must be a whole number from 0 to %d", entry, math.MaxInt32)
		}
		out[host] = int(n)
	}
	return out, nil
}

// connectionOverrides checks the syntax of max.connections.per.ip.overrides;
// host names are resolved when the broker applies the value.
var connectionOverrides = custom{
	describe: "host:count,ip:count,...",
	fn: func(value string) error {
		_, err := ParseConnectionOverrides(value)
		return err
	},
}

// checkConnections is Kafka's cross check of the connection limits:
// max.connections.per.ip may be 0 (refuse everyone) only when overrides let
// some addresses in.
func (b *Broker) checkConnections() error {
	if b.int32(MaxConnectionsPerIP) != 0 || len(splitList(b.stringValue(MaxConnectionsPerIPOverrides))) > 0 {
		return nil
	}
	return &ConfigError{Name: MaxConnectionsPerIP, Value: "0", Err: ErrInvalidConfig,
		Reason: "can be 0 only if max.connections.per.ip.overrides is set"}
}

// MaxConnections is max.connections: the most client connections open at
// once across all listeners.
func (b *Broker) MaxConnections() int32 { return b.int32(MaxConnections) }

// MaxConnectionsPerIP is max.connections.per.ip.
func (b *Broker) MaxConnectionsPerIP() int32 { return b.int32(MaxConnectionsPerIP) }

// MaxConnectionsPerIPOverrides is the text of max.connections.per.ip.overrides
// (parse it with ParseConnectionOverrides; it is valid).
func (b *Broker) MaxConnectionsPerIPOverrides() string {
	return b.stringValue(MaxConnectionsPerIPOverrides)
}

// MaxConnectionCreationRate is max.connection.creation.rate, connections per
// second across all listeners.
func (b *Broker) MaxConnectionCreationRate() int32 { return b.int32(MaxConnectionCreationRate) }

// listenerLimitPrefix starts the per-listener connection limits (KIP-402,
// KIP-612): listener.name.<listener>.max.connections and
// listener.name.<listener>.max.connection.creation.rate.
const listenerLimitPrefix = "listener.name."

// isListenerConnectionLimit reports whether name is a per-listener
// connection limit.
func isListenerConnectionLimit(name string) bool {
	rest, ok := strings.CutPrefix(name, listenerLimitPrefix)
	if !ok {
		return false
	}
	_, limit, ok := strings.Cut(rest, ".")
	return ok && (limit == MaxConnections || limit == MaxConnectionCreationRate)
}

// checkListenerConnectionLimit checks a per-listener limit's value: a whole
// number from 0, as Kafka's.
func checkListenerConnectionLimit(name, value string) error {
	if _, ok := parseListenerConnectionLimit(value); !ok {
		return &ConfigError{Name: name, Value: value, Err: ErrInvalidConfig,
			Reason: fmt.Sprintf("must be a whole number from 0 to %d", math.MaxInt32)}
	}
	return nil
}

// parseListenerConnectionLimit reads a per-listener limit's value.
func parseListenerConnectionLimit(value string) (int32, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 32)
	return int32(n), err == nil && n >= 0
}

// listenerLimit returns a per-listener limit of one listener, or
// math.MaxInt32 (none) when it is not set.
func (b *Broker) listenerLimit(listener, limit string) int32 {
	v, ok := b.Get(listenerLimitPrefix + strings.ToLower(listener) + "." + limit)
	if !ok {
		return math.MaxInt32
	}
	n, ok := parseListenerConnectionLimit(v)
	if !ok {
		return math.MaxInt32 // unreachable: checked when set
	}
	return n
}

// ListenerMaxConnections is listener.name.<listener>.max.connections: the
// most connections open at once on that listener (math.MaxInt32 when unset).
func (b *Broker) ListenerMaxConnections(listener string) int32 {
	return b.listenerLimit(listener, MaxConnections)
}

// ListenerMaxConnectionCreationRate is
// listener.name.<listener>.max.connection.creation.rate, new connections per
// second on that listener (math.MaxInt32, no limit, when unset).
func (b *Broker) ListenerMaxConnectionCreationRate(listener string) int32 {
	return b.listenerLimit(listener, MaxConnectionCreationRate)
}
