package e2e

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// dialFrom opens a raw connection to addr from the loopback address local,
// so a test's connections are counted apart from its admin client's (on
// 127.0.0.1). It skips the test where the system routes only 127.0.0.1.
func dialFrom(t *testing.T, local, addr string) *rawConn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		if local != "127.0.0.1" {
			t.Skipf("cannot connect from %s: %v", local, err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c}
}

// errNoAnswer is apiVersions' error when the broker kept the connection
// open but did not answer in time.
var errNoAnswer = errors.New("no answer in time")

// apiVersions sends an ApiVersions v0 request and waits up to wait for its
// answer: nil when answered, errNoAnswer when the connection stayed silent,
// the read or write error when the broker closed it.
func apiVersions(rc *rawConn, wait time.Duration) error {
	_ = rc.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := rc.c.Write(rc.frame(kmsg.NewPtrApiVersionsRequest())); err != nil {
		return err
	}
	return awaitAnswer(rc, wait)
}

// awaitAnswer waits up to wait for a response frame on rc.
func awaitAnswer(rc *rawConn, wait time.Duration) error {
	_ = rc.c.SetReadDeadline(time.Now().Add(wait))
	var size [4]byte
	if _, err := io.ReadFull(rc.c, size[:]); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return errNoAnswer
		}
		return err
	}
	_, err := io.ReadFull(rc.c, make([]byte, binary.BigEndian.Uint32(size[:])))
	return err
}

// closedAtOnce reports whether the broker closes rc without answering.
func closedAtOnce(rc *rawConn) bool {
	err := apiVersions(rc, 5*time.Second)
	return err != nil && !errors.Is(err, errNoAnswer)
}

// TestMaxConnectionsPerIP: a connection from an address already holding
// max.connections.per.ip connections (or its override; host names are
// resolved) is closed at once; once one of its connections closes, the
// address may connect again.
func TestMaxConnectionsPerIP(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props map[string]string
		allow int
	}{
		{"limit", map[string]string{"max.connections.per.ip": "2"}, 2},
		{"override raises it", map[string]string{"max.connections.per.ip": "1", "max.connections.per.ip.overrides": "10.1.2.3:9,127.0.0.1:3"}, 3},
		{"override by host name", map[string]string{"max.connections.per.ip": "0", "max.connections.per.ip.overrides": "localhost:2"}, 2},
		{"other addresses' overrides do not apply", map[string]string{"max.connections.per.ip": "1", "max.connections.per.ip.overrides": "10.1.2.3:9"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := brokertest.Start(t, tc.props)
			var open []*rawConn
			for i := range tc.allow {
				rc := dial(t, b.Addr)
				if err := apiVersions(rc, 5*time.Second); err != nil {
					t.Fatalf("connection %d of %d: %v", i+1, tc.allow, err)
				}
				open = append(open, rc)
			}
			if !closedAtOnce(dial(t, b.Addr)) {
				t.Fatalf("connection %d was served", tc.allow+1)
			}
			// Closing one frees its slot (the broker sees the close a
			// little later).
			open[0].c.Close()
			deadline := time.Now().Add(5 * time.Second)
			for {
				err := apiVersions(dial(t, b.Addr), 5*time.Second)
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after a close, a new connection is still refused: %v", err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			// The connections served before are still served.
			for i, rc := range open[1:] {
				if err := apiVersions(rc, 5*time.Second); err != nil {
					t.Fatalf("connection %d: %v", i+2, err)
				}
			}
		})
	}
}

// TestMaxConnectionsWaitsForSlot: at max.connections the broker accepts
// the socket but serves it only once another connection closes, as Kafka's
// acceptor waits for a slot; a waiting acceptor does not hold up shutdown.
func TestMaxConnectionsWaitsForSlot(t *testing.T) {
	b := brokertest.Start(t, map[string]string{"max.connections": "2"})
	first, second := dial(t, b.Addr), dial(t, b.Addr)
	for _, rc := range []*rawConn{first, second} {
		if err := apiVersions(rc, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	third := dial(t, b.Addr)
	if err := apiVersions(third, 500*time.Millisecond); !errors.Is(err, errNoAnswer) {
		t.Fatalf("third connection at max.connections=2: %v, want no answer while two are open", err)
	}
	first.c.Close()
	if err := awaitAnswer(third, 5*time.Second); err != nil {
		t.Fatalf("third connection after the first closed: %v", err)
	}
	// second and third are open: a fourth waits, and shutdown ends the wait.
	fourth := dial(t, b.Addr)
	if err := apiVersions(fourth, 300*time.Millisecond); !errors.Is(err, errNoAnswer) {
		t.Fatalf("fourth connection: %v, want no answer", err)
	}
	start := time.Now()
	b.Stop()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shutdown took %v with an acceptor waiting for a slot", d)
	}
}

// TestConnectionLimitsAreDynamic: max.connections.per.ip and its overrides
// set with IncrementalAlterConfigs apply to the next connection, and an
// invalid value or combination is refused with INVALID_REQUEST, as Kafka
// refuses broker config changes (KAFKA-13609). The test's connections come from
// 127.0.0.2, the admin client's from 127.0.0.1.
func TestConnectionLimitsAreDynamic(t *testing.T) {
	b := brokertest.Start(t, nil)
	adm := b.Admin()
	ctx := brokertest.Context(t, 30*time.Second)
	alter := func(configs ...kadm.AlterConfig) error {
		t.Helper()
		resp, err := adm.AlterBrokerConfigs(ctx, configs)
		if err != nil {
			t.Fatal(err)
		}
		return resp[0].Err
	}
	const local = "127.0.0.2"
	first := dialFrom(t, local, b.Addr)
	if err := apiVersions(first, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := alter(
		kadm.AlterConfig{Op: kadm.SetConfig, Name: "max.connections.per.ip", Value: strp("1")},
		kadm.AlterConfig{Op: kadm.SetConfig, Name: "max.connections.per.ip.overrides", Value: strp("127.0.0.1:100")},
	); err != nil {
		t.Fatalf("set max.connections.per.ip: %v", err)
	}
	if !closedAtOnce(dialFrom(t, local, b.Addr)) {
		t.Fatal("a second connection from 127.0.0.2 was served at max.connections.per.ip=1")
	}
	if err := apiVersions(first, 5*time.Second); err != nil {
		t.Fatalf("the connection open before the change: %v", err)
	}
	if err := alter(kadm.AlterConfig{Op: kadm.SetConfig, Name: "max.connections.per.ip.overrides", Value: strp("127.0.0.1:100,127.0.0.2:2")}); err != nil {
		t.Fatalf("set an override: %v", err)
	}
	if err := apiVersions(dialFrom(t, local, b.Addr), 5*time.Second); err != nil {
		t.Fatalf("a second connection with the override at 2: %v", err)
	}

	for _, bad := range [][]kadm.AlterConfig{
		{{Op: kadm.SetConfig, Name: "max.connections.per.ip", Value: strp("0")}, {Op: kadm.DeleteConfig, Name: "max.connections.per.ip.overrides"}},
		{{Op: kadm.SetConfig, Name: "max.connections.per.ip.overrides", Value: strp("127.0.0.2")}},
		{{Op: kadm.SetConfig, Name: "max.connection.creation.rate", Value: strp("-1")}},
	} {
		if err := alter(bad...); !errors.Is(err, kerr.InvalidRequest) {
			t.Errorf("alter %s = %s: %v, want INVALID_REQUEST", bad[0].Name, *bad[0].Value, err)
		}
	}
	rcs, err := adm.DescribeBrokerConfigs(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rcs[0].Configs {
		if c.Key == "max.connections.per.ip" && (c.MaybeValue() != "1" || c.Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig) {
			t.Errorf("max.connections.per.ip described as %q from %v", c.MaybeValue(), c.Source)
		}
	}
}

// TestConnectionCreationRates: max.connection.creation.rate delays accepts
// beyond the rate; an address over its connection_creation_rate quota has
// its connection closed after the throttle time, and a refused connection
// is not counted against the rate.
func TestConnectionCreationRates(t *testing.T) {
	t.Run("broker-wide rate", func(t *testing.T) {
		b := brokertest.Start(t, map[string]string{"max.connection.creation.rate": "5"})
		start := time.Now()
		// A burst of one second's worth (5), then one every 200 ms.
		for i := range 10 {
			if err := apiVersions(dial(t, b.Addr), 5*time.Second); err != nil {
				t.Fatalf("connection %d: %v", i+1, err)
			}
		}
		if d := time.Since(start); d < 800*time.Millisecond {
			t.Fatalf("10 connections at 5 a second took %v", d)
		}
	})
	t.Run("ip quota", func(t *testing.T) {
		b := brokertest.Start(t, nil)
		adm := b.Admin()
		ctx := brokertest.Context(t, 30*time.Second)
		const local = "127.0.0.2"
		res, err := adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{Entity: quotaEntity("ip", local),
			Ops: []kadm.AlterClientQuotaOp{{Key: "connection_creation_rate", Value: 1}}}})
		if err != nil || res[0].Err != nil {
			t.Fatalf("set connection_creation_rate: %v %v", err, res)
		}
		// One a second: the first passes, the next is held open without an
		// answer, then closed.
		if err := apiVersions(dialFrom(t, local, b.Addr), 5*time.Second); err != nil {
			t.Fatal(err)
		}
		throttled := dialFrom(t, local, b.Addr)
		start := time.Now()
		err = apiVersions(throttled, 5*time.Second)
		if err == nil || errors.Is(err, errNoAnswer) {
			t.Fatalf("connection over the rate: %v, want it closed", err)
		}
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Fatalf("connection over the rate closed after %v, want after the throttle time", d)
		}
		// The refused connection was not charged: a second after the first,
		// the address may connect again.
		if err := apiVersions(dialFrom(t, local, b.Addr), 5*time.Second); err != nil {
			t.Fatalf("connection after the throttle: %v", err)
		}
		// 127.0.0.1 has no quota.
		for range 3 {
			if err := apiVersions(dial(t, b.Addr), 5*time.Second); err != nil {
				t.Fatalf("connection from 127.0.0.1: %v", err)
			}
		}
	})
}

// TestListenerMaxConnections: listener.name.<listener>.max.connections
// bounds one listener's connections (the broker waits for a slot there, as
// for max.connections) and leaves other listeners alone; it is dynamic, and
// a negative value is refused.
func TestListenerMaxConnections(t *testing.T) {
	b := brokertest.Start(t, map[string]string{
		"listeners":                              "PLAINTEXT://127.0.0.1:0,EXTERNAL://127.0.0.1:0",
		"listener.security.protocol.map":         "PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT",
		"listener.name.external.max.connections": "1",
	})
	external := b.B.Addrs()[1]
	first := dial(t, external)
	if err := apiVersions(first, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	second := dial(t, external)
	if err := apiVersions(second, 500*time.Millisecond); !errors.Is(err, errNoAnswer) {
		t.Fatalf("second EXTERNAL connection at its limit of 1: %v, want no answer", err)
	}
	for range 2 {
		if err := apiVersions(dial(t, b.Addr), 5*time.Second); err != nil {
			t.Fatalf("a PLAINTEXT connection while EXTERNAL is full: %v", err)
		}
	}
	first.c.Close()
	if err := awaitAnswer(second, 5*time.Second); err != nil {
		t.Fatalf("second EXTERNAL connection after the first closed: %v", err)
	}

	adm := b.Admin()
	ctx := brokertest.Context(t, 30*time.Second)
	alter := func(value string) error {
		t.Helper()
		resp, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "listener.name.external.max.connections", Value: strp(value)}}, 0)
		if err != nil {
			t.Fatal(err)
		}
		return resp[0].Err
	}
	if err := alter("-1"); !errors.Is(err, kerr.InvalidRequest) {
		t.Fatalf("a negative listener limit: %v, want INVALID_REQUEST", err)
	}
	if err := alter("2"); err != nil {
		t.Fatal(err)
	}
	if err := apiVersions(dial(t, external), 5*time.Second); err != nil {
		t.Fatalf("a second EXTERNAL connection at the raised limit of 2: %v", err)
	}
}
