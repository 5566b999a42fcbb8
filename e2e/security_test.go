package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"io"
	"maps"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// securedBroker listens on PLAINTEXT (for administration), SASL_SSL and
// SASL_PLAINTEXT; PLAIN users come from JAAS, SCRAM users from the API.
type securedBroker struct {
	b                        *brokertest.Broker
	plainAddr, saslSSL, sasl string
	certs                    brokertest.Certificates
}

func startSecuredBroker(t *testing.T, dataDir string) securedBroker {
	t.Helper()
	return startSecuredBrokerWith(t, dataDir, nil)
}

// startSecuredBrokerWith is startSecuredBroker with more broker properties.
func startSecuredBrokerWith(t *testing.T, dataDir string, extra map[string]string) securedBroker {
	t.Helper()
	certs := brokertest.WriteCertificates(t)
	props := map[string]string{
		"listeners":               "PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms": "SCRAM-SHA-256,SCRAM-SHA-512,PLAIN",
		"ssl.keystore.type":       "PEM",
		"ssl.keystore.location":   certs.KeystoreFile,
		"listener.name.sasl_plaintext.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required ` +
			`username="admin" password="admin-secret" user_admin="admin-secret" user_bob="bob-secret" user_al="pw";`,
	}
	if dataDir != "" {
		props["log.dirs"] = dataDir
	}
	maps.Copy(props, extra)
	b := brokertest.Start(t, props)
	addrs := b.B.Addrs()
	return securedBroker{b: b, plainAddr: addrs[0], saslSSL: addrs[1], sasl: addrs[2], certs: certs}
}

func (s securedBroker) tlsConfig(t *testing.T) *tls.Config {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.certs.CAPEM) {
		t.Fatal("CA PEM")
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// client returns a client of addr, closed at test end.
func securedClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	all := append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RequestRetries(0), kgo.RetryTimeout(5 * time.Second)}, opts...)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// roundTrip produces one record to topic and reads it back.
func roundTrip(ctx context.Context, t *testing.T, cl *kgo.Client, topic, value string) error {
	t.Helper()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(value)}).FirstErr(); err != nil {
		return err
	}
	cl.AddConsumeTopics(topic)
	for {
		fetches := cl.PollFetches(ctx)
		if err := fetches.Err0(); err != nil {
			return err
		}
		for _, r := range fetches.Records() {
			if string(r.Value) == value {
				return nil
			}
		}
	}
}

func TestSASLSCRAMOverTLS(t *testing.T) {
	s := startSecuredBroker(t, "")
	ctx := brokertest.Context(t, 60*time.Second)
	admin := securedClient(t, s.plainAddr)
	adm := kadm.NewClient(admin)
	altered, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{
		{User: "alice", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "alice-secret"},
		{User: "alice", Mechanism: kadm.ScramSha512, Iterations: 8192, Password: "alice-secret-512"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := altered["alice"].Err; err != nil {
		t.Fatalf("upsert alice: %v", err)
	}
	// What kadm would refuse before sending: the broker checks it too.
	req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	for _, u := range []struct {
		name  string
		mech  int8
		iters int32
	}{{"carol", 1, 100}, {"erin", 9, 4096}, {"", 1, 4096}} {
		up := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
		up.Name, up.Mechanism, up.Iterations = u.name, u.mech, u.iters
		up.Salt, up.SaltedPassword = []byte("salt"), []byte("salted")
		req.Upsertions = append(req.Upsertions, up)
	}
	del := kmsg.NewAlterUserSCRAMCredentialsRequestDeletion()
	del.Name, del.Mechanism = "carol", 1
	req.Deletions = append(req.Deletions, del)
	resp, err := req.RequestWith(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int16{"carol": kerr.DuplicateResource.Code, "erin": kerr.UnsupportedSaslMechanism.Code, "": kerr.UnacceptableCredential.Code}
	if len(resp.Results) != len(want) {
		t.Fatalf("results = %+v, want one per user", resp.Results)
	}
	for _, r := range resp.Results {
		if r.ErrorCode != want[r.User] {
			t.Errorf("user %q: error %d (%v), want %d", r.User, r.ErrorCode, kerr.ErrorForCode(r.ErrorCode), want[r.User])
		}
	}
	described, err := adm.DescribeUserSCRAMs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(described) != 1 || len(described["alice"].CredInfos) != 2 {
		t.Fatalf("described = %+v, want alice with two mechanisms only", described)
	}

	tlsCfg := s.tlsConfig(t)
	for _, tc := range []struct {
		name string
		mech sasl.Mechanism
	}{
		{"SCRAM-SHA-256", scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha256Mechanism()},
		{"SCRAM-SHA-512", scram.Auth{User: "alice", Pass: "alice-secret-512"}.AsSha512Mechanism()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := securedClient(t, s.saslSSL, kgo.DialTLSConfig(tlsCfg), kgo.SASL(tc.mech),
				kgo.DefaultProduceTopic("secure"), kgo.AllowAutoTopicCreation())
			if err := roundTrip(ctx, t, cl, "secure-"+tc.name, "over SASL_SSL with "+tc.name); err != nil {
				t.Fatalf("produce and consume: %v", err)
			}
		})
	}

	t.Run("wrong password", func(t *testing.T) {
		cl := securedClient(t, s.saslSSL, kgo.DialTLSConfig(tlsCfg),
			kgo.SASL(scram.Auth{User: "alice", Pass: "wrong"}.AsSha256Mechanism()))
		err := cl.Ping(ctx)
		if !errors.Is(err, kerr.SaslAuthenticationFailed) {
			t.Fatalf("ping with a wrong password: err = %v, want SASL_AUTHENTICATION_FAILED", err)
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		cl := securedClient(t, s.saslSSL, kgo.DialTLSConfig(tlsCfg),
			kgo.SASL(scram.Auth{User: "mallory", Pass: "alice-secret"}.AsSha256Mechanism()))
		if err := cl.Ping(ctx); !errors.Is(err, kerr.SaslAuthenticationFailed) {
			t.Fatalf("ping as an unknown user: err = %v, want SASL_AUTHENTICATION_FAILED", err)
		}
	})
	t.Run("password of the other mechanism", func(t *testing.T) {
		cl := securedClient(t, s.saslSSL, kgo.DialTLSConfig(tlsCfg),
			kgo.SASL(scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha512Mechanism()))
		if err := cl.Ping(ctx); !errors.Is(err, kerr.SaslAuthenticationFailed) {
			t.Fatalf("SHA-512 with the SHA-256 password: err = %v, want SASL_AUTHENTICATION_FAILED", err)
		}
	})
	t.Run("no TLS on the TLS listener", func(t *testing.T) {
		cl := securedClient(t, s.saslSSL, kgo.SASL(scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha256Mechanism()),
			kgo.DialTimeout(2*time.Second))
		pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := cl.Ping(pingCtx); err == nil {
			t.Fatal("a plaintext client talked to the SASL_SSL listener")
		}
	})

	// Deleting a credential ends its logins; deleting it again is an error.
	altered, err = adm.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: "alice", Mechanism: kadm.ScramSha512}}, nil)
	if err != nil || altered["alice"].Err != nil {
		t.Fatalf("delete: %v %v", err, altered["alice"].Err)
	}
	cl := securedClient(t, s.saslSSL, kgo.DialTLSConfig(tlsCfg),
		kgo.SASL(scram.Auth{User: "alice", Pass: "alice-secret-512"}.AsSha512Mechanism()))
	if err := cl.Ping(ctx); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("login with a deleted credential: err = %v", err)
	}
	altered, _ = adm.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: "alice", Mechanism: kadm.ScramSha512}}, nil)
	if !errors.Is(altered["alice"].Err, kerr.ResourceNotFound) {
		t.Fatalf("second delete: err = %v, want RESOURCE_NOT_FOUND", altered["alice"].Err)
	}
}

func TestSCRAMCredentialsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	s := startSecuredBroker(t, dir)
	ctx := brokertest.Context(t, 60*time.Second)
	adm := kadm.NewClient(securedClient(t, s.plainAddr))
	altered, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{
		{User: "dave", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "dave-secret"},
	})
	if err != nil || altered["dave"].Err != nil {
		t.Fatalf("upsert: %v %v", err, altered["dave"].Err)
	}
	s.b.Stop()

	s = startSecuredBroker(t, dir)
	cl := securedClient(t, s.saslSSL, kgo.DialTLSConfig(s.tlsConfig(t)),
		kgo.SASL(scram.Auth{User: "dave", Pass: "dave-secret"}.AsSha256Mechanism()))
	if err := cl.Ping(ctx); err != nil {
		t.Fatalf("login after a restart: %v", err)
	}
}

func TestSASLPlain(t *testing.T) {
	s := startSecuredBroker(t, "")
	ctx := brokertest.Context(t, 60*time.Second)
	cl := securedClient(t, s.sasl, kgo.SASL(plain.Auth{User: "bob", Pass: "bob-secret"}.AsMechanism()), kgo.AllowAutoTopicCreation())
	if err := roundTrip(ctx, t, cl, "plain", "over SASL_PLAINTEXT with PLAIN"); err != nil {
		t.Fatalf("produce and consume: %v", err)
	}
	bad := securedClient(t, s.sasl, kgo.SASL(plain.Auth{User: "bob", Pass: "admin-secret"}.AsMechanism()))
	if err := bad.Ping(ctx); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("PLAIN with another user's password: err = %v, want SASL_AUTHENTICATION_FAILED", err)
	}
	// SCRAM is enabled on this listener too, but bob has no SCRAM
	// credential: PLAIN users are not SCRAM users.
	scramBob := securedClient(t, s.sasl, kgo.SASL(scram.Auth{User: "bob", Pass: "bob-secret"}.AsSha256Mechanism()))
	if err := scramBob.Ping(ctx); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("SCRAM as a PLAIN-only user: err = %v", err)
	}
}

func TestSASLListenerClosesUnauthenticatedRequests(t *testing.T) {
	s := startSecuredBroker(t, "")
	// A client without SASL sends ApiVersions (allowed) and then Metadata,
	// which the broker answers by closing the connection.
	cl := securedClient(t, s.sasl, kgo.DialTimeout(2*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cl.Ping(ctx); err == nil {
		t.Fatal("an unauthenticated client got Metadata from a SASL listener")
	}
	// The broker still serves authenticated clients afterwards.
	ok := securedClient(t, s.sasl, kgo.SASL(plain.Auth{User: "admin", Pass: "admin-secret"}.AsMechanism()))
	if err := ok.Ping(brokertest.Context(t, 10*time.Second)); err != nil {
		t.Fatalf("authenticated ping: %v", err)
	}
}

// TestSaslHandshakeV0BareTokens speaks Kafka 0.10's SASL framing by hand:
// after SaslHandshake v0 the PLAIN token goes bare (size-prefixed, no
// request header) and the broker answers with a bare, empty token; then
// requests work. A wrong password closes the connection.
func TestSaslHandshakeV0BareTokens(t *testing.T) {
	s := startSecuredBroker(t, "")
	handshake := func(rc *rawConn) {
		req := kmsg.NewPtrSASLHandshakeRequest()
		req.Version, req.Mechanism = 0, "PLAIN"
		resp := rc.roundTrip(req).(*kmsg.SASLHandshakeResponse)
		if resp.ErrorCode != 0 {
			t.Fatalf("handshake v0: error %d", resp.ErrorCode)
		}
	}
	bare := func(token string) []byte {
		return binary.BigEndian.AppendUint32(nil, uint32(len(token))) // + token
	}

	rc := dial(t, s.sasl)
	handshake(rc)
	rc.send(append(bare("\x00bob\x00bob-secret"), "\x00bob\x00bob-secret"...))
	_ = rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var size [4]byte
	if _, err := io.ReadFull(rc.c, size[:]); err != nil || binary.BigEndian.Uint32(size[:]) != 0 {
		t.Fatalf("bare PLAIN reply: %v, size %d, want an empty token", err, binary.BigEndian.Uint32(size[:]))
	}
	md := kmsg.NewPtrMetadataRequest()
	md.Version = 9
	if resp := rc.roundTrip(md).(*kmsg.MetadataResponse); len(resp.Brokers) != 1 {
		t.Fatalf("metadata after bare-token authentication: %+v", resp.Brokers)
	}

	// A 6-byte token, shorter than any request header.
	short := dial(t, s.sasl)
	handshake(short)
	short.send(append(bare("\x00al\x00pw"), "\x00al\x00pw"...))
	_ = short.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(short.c, size[:]); err != nil || binary.BigEndian.Uint32(size[:]) != 0 {
		t.Fatalf("short bare PLAIN token: %v, size %d, want an empty token back", err, binary.BigEndian.Uint32(size[:]))
	}

	// Before authentication a frame may not exceed 512 KiB.
	big := dial(t, s.sasl)
	big.send(binary.BigEndian.AppendUint32(nil, 1<<20))
	_ = big.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := big.c.Read(size[:]); err == nil {
		t.Fatalf("a 1 MiB frame before authentication got %d bytes back instead of a closed connection", n)
	}

	bad := dial(t, s.sasl)
	handshake(bad)
	bad.send(append(bare("\x00bob\x00nope"), "\x00bob\x00nope"...))
	_ = bad.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := bad.c.Read(size[:]); err == nil {
		t.Fatalf("a wrong bare PLAIN token got %d bytes back instead of a closed connection", n)
	}
}
