package conn

import (
	"context"
	"errors"
	"math"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/samsa-broker/samsa/internal/quota"
)

var (
	ipA = netip.MustParseAddr("10.0.0.1")
	ipB = netip.MustParseAddr("10.0.0.2")
)

// unlimited are Kafka's defaults: no limit at all.
func unlimited() LimitSettings {
	return LimitSettings{MaxConnections: math.MaxInt32, MaxPerIP: math.MaxInt32, MaxCreationRate: math.MaxInt32,
		ListenerMaxConnections: math.MaxInt32, ListenerMaxCreationRate: math.MaxInt32}
}

// ipRates returns an IPRate function giving each listed address its rate.
func ipRates(rates map[netip.Addr]float64) func(netip.Addr) (quota.Limit, bool) {
	return func(ip netip.Addr) (quota.Limit, bool) {
		r, ok := rates[ip]
		return quota.Limit{Value: r, Bucket: "ip=" + ip.String()}, ok
	}
}

// TestLimits drives Limits through accepts, closes and clock steps. Admit
// is called with a cancelled context, so a connection that would have to
// wait (for a slot, or for the broker-wide rate) comes back as "waits".
func TestLimits(t *testing.T) {
	type step struct {
		admit    netip.Addr // Admit a connection from it
		release  netip.Addr // or Release one
		listener string     // on this listener ("" unless set)
		advance  time.Duration
		set      func(*LimitSettings) // or change the settings
		// want, for admit: "admitted", "waits", "refused" (Max wantMax)
		// or "throttled" (for wantThrottle).
		want         string
		wantMax      int
		wantThrottle time.Duration
	}
	admitted := func(ip netip.Addr) step { return step{admit: ip, want: "admitted"} }
	// The settings' listener limits apply to the listener "EXTERNAL"
	// alone; the others have none.
	const external = "EXTERNAL"
	for _, tc := range []struct {
		name     string
		settings func(*LimitSettings)
		steps    []step
		// wantOpen is the count open at the end, in all and from ipA.
		wantOpen, wantOpenA int
	}{
		{"no limits", nil, []step{admitted(ipA), admitted(ipA), admitted(ipB)}, 3, 2},
		{"per ip", func(s *LimitSettings) { s.MaxPerIP = 2 }, []step{
			admitted(ipA), admitted(ipA),
			{admit: ipA, want: "refused", wantMax: 2},
			admitted(ipB), // other addresses have their own count
			{release: ipA},
			admitted(ipA),
		}, 3, 2},
		{"override", func(s *LimitSettings) {
			s.MaxPerIP, s.PerIPOverrides = 1, map[netip.Addr]int{ipA: 3}
		}, []step{
			admitted(ipA), admitted(ipA), admitted(ipA),
			{admit: ipA, want: "refused", wantMax: 3},
			admitted(ipB),
			{admit: ipB, want: "refused", wantMax: 1},
		}, 4, 3},
		{"no connection but overrides", func(s *LimitSettings) {
			s.MaxPerIP, s.PerIPOverrides = 0, map[netip.Addr]int{ipB: 1}
		}, []step{{admit: ipA, want: "refused"}, admitted(ipB)}, 1, 0},
		{"max connections", func(s *LimitSettings) { s.MaxConnections = 2 }, []step{
			admitted(ipA), admitted(ipB),
			{admit: ipA, want: "waits"},
			{release: ipB},
			admitted(ipA),
			{admit: ipB, want: "waits"},
			// A raise applies to the next connection.
			{set: func(s *LimitSettings) { s.MaxConnections = 3 }},
			admitted(ipB),
		}, 3, 2},
		{"per ip limit lowered below the open count", func(s *LimitSettings) { s.MaxPerIP = 3 }, []step{
			admitted(ipA), admitted(ipA),
			{set: func(s *LimitSettings) { s.MaxPerIP = 1 }},
			{admit: ipA, want: "refused", wantMax: 1},
			{release: ipA},
			{admit: ipA, want: "refused", wantMax: 1},
			{release: ipA},
			admitted(ipA),
		}, 1, 1},
		{"broker-wide rate", func(s *LimitSettings) { s.MaxCreationRate = 2 }, []step{
			// A burst of one window (a second) of the rate, then one per
			// half second.
			admitted(ipA), admitted(ipB),
			{admit: ipA, want: "waits"},
			{advance: time.Second},
			// The waiting connection above was charged (it is accepted
			// once the delay is over), so a second passes only one more.
			admitted(ipA),
			{admit: ipA, want: "waits"},
		}, 3, 2},
		{"ip rate", func(s *LimitSettings) { s.IPRate = ipRates(map[netip.Addr]float64{ipA: 1}) }, []step{
			admitted(ipA),
			{admit: ipA, want: "throttled", wantThrottle: time.Second},
			{advance: 400 * time.Millisecond},
			{admit: ipA, want: "throttled", wantThrottle: 600 * time.Millisecond},
			admitted(ipB), // no quota
			// Throttled attempts were not charged.
			{advance: 600 * time.Millisecond},
			admitted(ipA),
		}, 3, 2},
		{"ip rate refusals are not charged to the broker rate", func(s *LimitSettings) {
			s.MaxCreationRate, s.IPRate = 2, ipRates(map[netip.Addr]float64{ipA: 1})
		}, []step{
			admitted(ipA),
			{admit: ipA, want: "throttled", wantThrottle: time.Second},
			{admit: ipA, want: "throttled", wantThrottle: time.Second},
			admitted(ipB),
			{admit: ipB, want: "waits"},
		}, 2, 1},
		{"per listener", func(s *LimitSettings) { s.ListenerMaxConnections = 1 }, []step{
			{admit: ipA, listener: external, want: "admitted"},
			{admit: ipB, listener: external, want: "waits"},
			admitted(ipB), admitted(ipB), // another listener has no limit
			{release: ipA, listener: external},
			{admit: ipB, listener: external, want: "admitted"},
		}, 3, 0},
		{"per listener and broker-wide", func(s *LimitSettings) { s.ListenerMaxConnections, s.MaxConnections = 2, 2 }, []step{
			admitted(ipA), admitted(ipA),
			// The listener has a free slot, the broker none.
			{admit: ipB, listener: external, want: "waits"},
		}, 2, 2},
		{"listener rate", func(s *LimitSettings) { s.ListenerMaxCreationRate = 1 }, []step{
			{admit: ipA, listener: external, want: "admitted"},
			{admit: ipA, listener: external, want: "waits"},
			admitted(ipA), // another listener has no rate
			// The waiting one was charged: the next is due in 2 s.
			{advance: time.Second},
			{admit: ipB, listener: external, want: "waits"},
			{advance: 2 * time.Second},
			{admit: ipB, listener: external, want: "admitted"},
		}, 3, 2},
		{"ip rate refusals are not charged to the listener rate", func(s *LimitSettings) {
			s.ListenerMaxCreationRate, s.IPRate = 2, ipRates(map[netip.Addr]float64{ipA: 1})
		}, []step{
			{admit: ipA, listener: external, want: "admitted"},
			{admit: ipA, listener: external, want: "throttled", wantThrottle: time.Second},
			{admit: ipB, listener: external, want: "admitted"},
			{admit: ipB, listener: external, want: "waits"},
		}, 2, 1},
		{"ip rate before the count", func(s *LimitSettings) {
			s.MaxPerIP, s.IPRate = 1, ipRates(map[netip.Addr]float64{ipA: 1})
		}, []step{
			admitted(ipA),
			{admit: ipA, want: "throttled", wantThrottle: time.Second},
			{advance: time.Second},
			{admit: ipA, want: "refused", wantMax: 1},
		}, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Unix(1000, 0)
			s := unlimited()
			if tc.settings != nil {
				tc.settings(&s)
			}
			l := NewLimits(LimitsOptions{Settings: func(listener string) LimitSettings {
				got := s
				if listener != external {
					got.ListenerMaxConnections, got.ListenerMaxCreationRate = math.MaxInt32, math.MaxInt32
				}
				return got
			}, Window: time.Second,
				Now: func() time.Time { return now }})
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			for i, st := range tc.steps {
				switch {
				case st.set != nil:
					st.set(&s)
				case st.advance > 0:
					now = now.Add(st.advance)
				case st.release.IsValid():
					l.Release(st.listener, st.release)
				default:
					v, err := l.Admit(ctx, st.listener, st.admit)
					var got string
					switch {
					case errors.Is(err, context.Canceled):
						got = "waits"
					case err != nil:
						t.Fatalf("step %d: %v", i, err)
					case v.Admitted:
						got = "admitted"
					case v.Throttle > 0:
						got = "throttled"
					default:
						got = "refused"
					}
					if got != st.want || v.Max != st.wantMax || v.Throttle != st.wantThrottle {
						t.Fatalf("step %d, admit %s: %s %+v, want %s (max %d, throttle %v)", i, st.admit, got, v, st.want, st.wantMax, st.wantThrottle)
					}
				}
			}
			if total, fromA := l.Open(ipA); total != tc.wantOpen || fromA != tc.wantOpenA {
				t.Errorf("open %d, %d from %s; want %d, %d", total, fromA, ipA, tc.wantOpen, tc.wantOpenA)
			}
		})
	}
}

// TestLimitsWait: an acceptor at max.connections waits until a connection
// closes, the limit is raised, or its context ends; one over the
// broker-wide rate is delayed by the throttle time.
func TestLimitsWait(t *testing.T) {
	start := func(l *Limits, ctx context.Context) <-chan error {
		done := make(chan error, 1)
		go func() {
			v, err := l.Admit(ctx, "", ipA)
			if err == nil && !v.Admitted {
				err = errors.New("refused")
			}
			done <- err
		}()
		return done
	}
	newLimits := func(s *LimitSettings, mu *sync.Mutex) *Limits {
		return NewLimits(LimitsOptions{Settings: func(string) LimitSettings {
			mu.Lock()
			defer mu.Unlock()
			return *s
		}, Window: time.Second})
	}
	t.Run("until a close", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var mu sync.Mutex
			s := unlimited()
			s.MaxConnections = 1
			l := newLimits(&s, &mu)
			if v, _ := l.Admit(t.Context(), "", ipB); !v.Admitted {
				t.Fatal("first connection refused")
			}
			done := start(l, t.Context())
			synctest.Wait()
			select {
			case err := <-done:
				t.Fatalf("admitted at the limit: %v", err)
			default:
			}
			l.Release("", ipB)
			synctest.Wait()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("until the limit is raised", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var mu sync.Mutex
			s := unlimited()
			s.MaxConnections = 0
			l := newLimits(&s, &mu)
			done := start(l, t.Context())
			time.Sleep(5 * time.Second)
			synctest.Wait()
			select {
			case err := <-done:
				t.Fatalf("admitted at max.connections=0: %v", err)
			default:
			}
			mu.Lock()
			s.MaxConnections = 1
			mu.Unlock()
			// The waiting acceptor rereads the settings within a second.
			time.Sleep(l.recheck)
			synctest.Wait()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("until shutdown", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var mu sync.Mutex
			s := unlimited()
			s.MaxConnections = 0
			l := newLimits(&s, &mu)
			ctx, cancel := context.WithCancel(t.Context())
			done := start(l, ctx)
			time.Sleep(time.Minute)
			cancel()
			synctest.Wait()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("after cancel: %v", err)
			}
			if total, _ := l.Open(ipA); total != 0 {
				t.Fatalf("%d open after a cancelled wait", total)
			}
		})
	})
	t.Run("broker-wide rate", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var mu sync.Mutex
			s := unlimited()
			s.MaxCreationRate = 4
			l := newLimits(&s, &mu)
			begin := time.Now()
			for range 8 {
				if v, err := l.Admit(t.Context(), "", ipA); err != nil || !v.Admitted {
					t.Fatalf("%+v %v", v, err)
				}
			}
			// A burst of 4, then 4 more at 250 ms each, the last one
			// admitted at 1 s.
			if d := time.Since(begin); d != time.Second {
				t.Fatalf("8 connections at 4 a second took %v", d)
			}
		})
	})
	t.Run("zero rate", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var mu sync.Mutex
			s := unlimited()
			s.MaxCreationRate = 0
			l := newLimits(&s, &mu)
			begin := time.Now()
			for range 3 {
				if v, err := l.Admit(t.Context(), "", ipA); err != nil || !v.Admitted {
					t.Fatalf("%+v %v", v, err)
				}
			}
			if d := time.Since(begin); d != 3*time.Second {
				t.Fatalf("3 connections at rate 0 took %v, want one throttle window each", d)
			}
		})
	})
}
