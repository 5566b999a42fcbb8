package e2e

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// plainAuth runs a SaslHandshake v1 and a SaslAuthenticate v2 with PLAIN
// credentials on rc and returns the authenticate response.
func plainAuth(t *testing.T, rc *rawConn, mechanism, user, pass string) *kmsg.SASLAuthenticateResponse {
	t.Helper()
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, mechanism
	if resp := rc.roundTrip(hs).(*kmsg.SASLHandshakeResponse); resp.ErrorCode != 0 {
		t.Fatalf("SaslHandshake %s: error %d", mechanism, resp.ErrorCode)
	}
	auth := kmsg.NewPtrSASLAuthenticateRequest()
	auth.Version, auth.SASLAuthBytes = 2, []byte("\x00"+user+"\x00"+pass)
	return rc.roundTrip(auth).(*kmsg.SASLAuthenticateResponse)
}

// closedAfter reports whether the broker closed rc after req, with no
// response.
func closedAfter(rc *rawConn, req kmsg.Request) bool {
	rc.send(rc.frame(req))
	_, _, err := rc.readFrame()
	return err != nil
}

// TestSASLReauthentication: with connections.max.reauth.ms, SaslAuthenticate
// gives the session a lifetime (KIP-368). The client may re-authenticate on
// the same connection as the same principal with the same mechanism; a
// request after the lifetime without one closes the connection, and so
// does a re-authentication as someone else. franz-go, which re-authenticates
// on its own, keeps producing over connections the broker never closes.
func TestSASLReauthentication(t *testing.T) {
	// franz-go re-authenticates a second before the lifetime ends, and
	// Kafka allows one re-authentication a second: 2.5 s leaves room.
	const lifetime = 2500 * time.Millisecond
	s := startSecuredBrokerWith(t, "", map[string]string{"connections.max.reauth.ms": "2500"})
	md := func() *kmsg.MetadataRequest {
		req := kmsg.NewPtrMetadataRequest()
		req.Version = 9
		return req
	}

	rc := dial(t, s.sasl)
	if resp := plainAuth(t, rc, "PLAIN", "bob", "bob-secret"); resp.ErrorCode != 0 || resp.SessionLifetimeMillis != lifetime.Milliseconds() {
		t.Fatalf("authenticate: error %d, session lifetime %d ms; want %d", resp.ErrorCode, resp.SessionLifetimeMillis, lifetime.Milliseconds())
	}
	rc.roundTrip(md())
	// Re-authenticating keeps the connection past the first lifetime.
	time.Sleep(lifetime * 2 / 3)
	if resp := plainAuth(t, rc, "PLAIN", "bob", "bob-secret"); resp.ErrorCode != 0 || resp.SessionLifetimeMillis != lifetime.Milliseconds() {
		t.Fatalf("re-authenticate: error %d, session lifetime %d ms", resp.ErrorCode, resp.SessionLifetimeMillis)
	}
	time.Sleep(lifetime * 2 / 3)
	if resp := rc.roundTrip(md()).(*kmsg.MetadataResponse); len(resp.Brokers) != 1 {
		t.Fatalf("metadata after re-authentication: %+v", resp.Brokers)
	}
	// Another principal on the same connection is refused, and it closes.
	if resp := plainAuth(t, rc, "PLAIN", "admin", "admin-secret"); resp.ErrorCode != kerr.SaslAuthenticationFailed.Code ||
		resp.ErrorMessage == nil || !strings.Contains(*resp.ErrorMessage, "Cannot change principals") {
		t.Fatalf("re-authenticate as admin: error %d, message %v", resp.ErrorCode, resp.ErrorMessage)
	}
	if !closedAfter(rc, md()) {
		t.Fatal("connection open after a re-authentication as another principal")
	}

	// No re-authentication: the first request after the lifetime closes
	// the connection.
	lapsed := dial(t, s.sasl)
	plainAuth(t, lapsed, "PLAIN", "bob", "bob-secret")
	time.Sleep(lifetime + 200*time.Millisecond)
	if !closedAfter(lapsed, md()) {
		t.Fatal("request after the session lifetime answered")
	}

	// Another mechanism: the handshake is answered, the authentication
	// fails, as in Kafka.
	other := dial(t, s.sasl)
	plainAuth(t, other, "PLAIN", "bob", "bob-secret")
	if resp := plainAuth(t, other, "SCRAM-SHA-256", "bob", "bob-secret"); resp.ErrorCode != kerr.SaslAuthenticationFailed.Code ||
		resp.ErrorMessage == nil || !strings.Contains(*resp.ErrorMessage, "not supported for re-authentication") {
		t.Fatalf("re-authenticate with SCRAM-SHA-256: error %d, message %v", resp.ErrorCode, resp.ErrorMessage)
	}

	// Without connections.max.reauth.ms a handshake after authentication
	// is ILLEGAL_SASL_STATE (covered by the plain broker below).
	var disconnects atomic.Int32
	cl := securedClient(t, s.sasl, kgo.SASL(plain.Auth{User: "bob", Pass: "bob-secret"}.AsMechanism()),
		kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic("reauth"),
		kgo.WithHooks(disconnectHook{&disconnects}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for deadline := time.Now().Add(5 * lifetime / 2); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err := cl.ProduceSync(ctx, kgo.StringRecord("click")).FirstErr(); err != nil {
			t.Fatalf("produce across session lifetimes: %v", err)
		}
	}
	if n := disconnects.Load(); n != 0 {
		t.Fatalf("franz-go's connections were closed %d times over 2.5 session lifetimes", n)
	}

	plainBroker := startSecuredBroker(t, "")
	once := dial(t, plainBroker.sasl)
	if resp := plainAuth(t, once, "PLAIN", "bob", "bob-secret"); resp.SessionLifetimeMillis != 0 {
		t.Fatalf("session lifetime %d ms without connections.max.reauth.ms", resp.SessionLifetimeMillis)
	}
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, "PLAIN"
	if resp := once.roundTrip(hs).(*kmsg.SASLHandshakeResponse); resp.ErrorCode != kerr.IllegalSaslState.Code {
		t.Fatalf("handshake after authentication without re-authentication: error %d", resp.ErrorCode)
	}
}

// disconnectHook counts the client's broker disconnections.
type disconnectHook struct{ n *atomic.Int32 }

func (h disconnectHook) OnBrokerDisconnect(kgo.BrokerMetadata, net.Conn) { h.n.Add(1) }
