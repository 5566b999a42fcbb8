package conn

import (
	"context"
	"math"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/samsa-broker/samsa/internal/quota"
)

// LimitSettings are the connection limits in force. Limits reads them anew
// for every connection it admits, so a dynamic change applies to the next
// one.
type LimitSettings struct {
	// MaxConnections is max.connections: connections open at once across
	// every listener sharing the Limits.
	MaxConnections int
	// MaxPerIP is max.connections.per.ip, unless PerIPOverrides (resolved
	// max.connections.per.ip.overrides; read, never modified) names the
	// address.
	MaxPerIP       int
	PerIPOverrides map[netip.Addr]int
	// MaxCreationRate is max.connection.creation.rate, new connections per
	// second across every listener; math.MaxInt32 (Kafka's default) or more
	// is no limit.
	MaxCreationRate float64
	// IPRate returns the connection_creation_rate client quota of an
	// address, if any; nil means none.
	IPRate func(ip netip.Addr) (quota.Limit, bool)
	// ListenerMaxConnections and ListenerMaxCreationRate are the
	// listener's own limits (listener.name.<l>.max.connections and
	// .max.connection.creation.rate); math.MaxInt32 or more is none.
	ListenerMaxConnections  int
	ListenerMaxCreationRate float64
}

// Verdict is what Admit decided for a new connection.
type Verdict struct {
	// Admitted: the connection counts against the limits until Release.
	Admitted bool
	// Throttle, when set, refuses a connection over its address's
	// connection_creation_rate: Kafka closes it only after the throttle
	// time, so the client does not reconnect at once.
	Throttle time.Duration
	// Max is the per-address limit a connection was refused for (when
	// neither Admitted nor throttled).
	Max int
}

// Limits enforces the connection limits of every listener of a broker,
// as Kafka's ConnectionQuotas: max.connections, max.connections.per.ip (and
// its overrides), max.connection.creation.rate and the per-address
// connection_creation_rate quota. Acceptors call Admit for each accepted
// socket and Release when an admitted one closes; requests never touch it.
//
// Lock order: mu, then the throttlers' own locks.
type Limits struct {
	settings func(listener string) LimitSettings
	// rate is max.connection.creation.rate's account; ipRate holds one
	// bucket per address with a connection_creation_rate quota.
	rate, ipRate *quota.Throttler
	window       time.Duration
	// recheck is how often an acceptor waiting for a free slot rereads the
	// settings, in case max.connections was raised.
	recheck time.Duration

	mu          sync.Mutex
	total       int
	perIP       map[netip.Addr]int
	perListener map[string]int
	// freed is closed when a connection is released; nil until an
	// acceptor waits for it.
	freed chan struct{}
}

// LimitsOptions configures NewLimits.
type LimitsOptions struct {
	// Settings returns the limits in force for a connection to listener;
	// it is called for every connection, so it should be cheap.
	Settings func(listener string) LimitSettings
	// Window is quota.window.size.seconds: the burst a creation rate lets
	// through (one window of its rate) and the longest throttle it imposes,
	// as Kafka bounds connection throttles by one window.
	Window time.Duration
	// Now is the clock (time.Now outside tests).
	Now func() time.Time
}

// NewLimits returns Limits with no connection open.
func NewLimits(opts LimitsOptions) *Limits {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Window <= 0 {
		opts.Window = time.Second
	}
	return &Limits{
		settings:    opts.Settings,
		rate:        quota.NewThrottler(opts.Window, opts.Window, opts.Now),
		ipRate:      quota.NewThrottler(opts.Window, opts.Window, opts.Now),
		window:      opts.Window,
		recheck:     time.Second,
		perIP:       map[netip.Addr]int{},
		perListener: map[string]int{},
	}
}

// brokerRateBucket names max.connection.creation.rate's one account; a
// listener's own rate has the account listenerRateBucket + its name.
const (
	brokerRateBucket   = "max.connection.creation.rate"
	listenerRateBucket = "listener.name."
)

// Admit decides whether a connection just accepted on listener from ip may
// be served. Like Kafka's acceptor it first waits out the listener's and the
// broker's max.connection.creation.rate, then waits while the listener's or
// the broker's max.connections are open; then the address's own limits
// apply: its connection_creation_rate (a refused connection is not counted
// against any rate) and its connection count. The error is ctx's, when it
// ends a wait; the connection should then be closed.
func (l *Limits) Admit(ctx context.Context, listener string, ip netip.Addr) (Verdict, error) {
	s := l.settings(listener)
	listenerRate, err := l.waitForRate(ctx, s.ListenerMaxCreationRate, listenerRateBucket+listener)
	if err != nil {
		return Verdict{}, err
	}
	brokerRate, err := l.waitForRate(ctx, s.MaxCreationRate, brokerRateBucket)
	if err != nil {
		return Verdict{}, err
	}
	for {
		// Read outside mu: settings may resolve host names, and Release
		// must never wait for that.
		s := l.settings(listener)
		l.mu.Lock()
		if l.total < s.MaxConnections && l.perListener[listener] < s.ListenerMaxConnections {
			v := l.admitLocked(listener, ip, s)
			l.mu.Unlock()
			if v.Throttle > 0 {
				// As Kafka, a connection its address's rate refuses is not
				// counted in the broker's or the listener's rate either.
				for _, r := range []*quota.Limit{listenerRate, brokerRate} {
					if r != nil {
						l.rate.Refund(*r, 1)
					}
				}
			}
			return v, nil
		}
		if l.freed == nil {
			l.freed = make(chan struct{})
		}
		freed := l.freed
		l.mu.Unlock()
		if err := wait(ctx, freed, l.recheck); err != nil {
			return Verdict{}, err
		}
	}
}

// waitForRate records one connection against a creation rate of r per
// second (math.MaxInt32 or more: none) in bucket and waits out its throttle.
// It returns the limit recorded against, nil for none.
func (l *Limits) waitForRate(ctx context.Context, r float64, bucket string) (*quota.Limit, error) {
	switch {
	case r >= math.MaxInt32:
		return nil, nil
	case r <= 0:
		// Every connection owes the longest throttle: Kafka bounds a
		// connection's throttle by one window.
		return nil, sleep(ctx, l.window)
	}
	limit := quota.Limit{Value: r, Bucket: bucket}
	if d := l.rate.Record(limit, 1); d > 0 {
		if err := sleep(ctx, d); err != nil {
			return nil, err
		}
	}
	return &limit, nil
}

// admitLocked applies the per-address limits to a connection for which
// the broker has a slot. l.mu must be held.
func (l *Limits) admitLocked(listener string, ip netip.Addr, s LimitSettings) Verdict {
	if s.IPRate != nil {
		if limit, ok := s.IPRate(ip); ok {
			if d := l.ipRate.TryRecord(limit, 1); d > 0 {
				return Verdict{Throttle: d}
			}
		}
	}
	maxIP := s.MaxPerIP
	if n, ok := s.PerIPOverrides[ip]; ok {
		maxIP = n
	}
	if l.perIP[ip] >= maxIP {
		return Verdict{Max: maxIP}
	}
	l.total++
	l.perIP[ip]++
	l.perListener[listener]++
	return Verdict{Admitted: true}
}

// Release gives back the slot of an admitted connection on listener from ip
// that closed.
func (l *Limits) Release(listener string, ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if n := l.perListener[listener]; n > 1 {
		l.perListener[listener] = n - 1
	} else {
		delete(l.perListener, listener)
	}
	if n := l.perIP[ip]; n > 1 {
		l.perIP[ip] = n - 1
	} else {
		delete(l.perIP, ip)
	}
	if l.freed != nil {
		close(l.freed)
		l.freed = nil
	}
}

// release is Release on Limits that may be nil (no limits).
func (l *Limits) release(listener string, ip netip.Addr) {
	if l != nil {
		l.Release(listener, ip)
	}
}

// Open returns the number of admitted connections open, in all and from ip.
func (l *Limits) Open(ip netip.Addr) (total, fromIP int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total, l.perIP[ip]
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wait waits until freed is closed, recheck passes, or ctx ends.
func wait(ctx context.Context, freed <-chan struct{}, recheck time.Duration) error {
	t := time.NewTimer(recheck)
	defer t.Stop()
	select {
	case <-freed:
		return nil
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// remoteIP returns the address a connection comes from (an IPv4 address
// mapped into IPv6 as plain IPv4, so limits compare parsed addresses).
func remoteIP(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}
