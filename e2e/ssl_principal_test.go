package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// TestSSLClientCertificatePrincipals: on an SSL listener with
// ssl.client.auth a client is the principal its certificate's distinguished
// name maps to (ssl.principal.mapping.rules), and the ACLs of that principal
// apply, as with Kafka's default principal builder. A certificate no rule
// maps fails authentication; with ssl.client.auth=requested a client without
// one is ANONYMOUS, with required it cannot connect.
func TestSSLClientCertificatePrincipals(t *testing.T) {
	certs := brokertest.WriteCertificates(t)
	logs := &brokertest.LogBuffer{}
	b := brokertest.StartLogged(t, map[string]string{
		"listeners":                              "MTLS://127.0.0.1:0,OPTIONAL://127.0.0.1:0",
		"listener.security.protocol.map":         "MTLS:SSL,OPTIONAL:SSL",
		"inter.broker.listener.name":             "MTLS",
		"ssl.keystore.type":                      "PEM",
		"ssl.keystore.location":                  certs.KeystoreFile,
		"ssl.truststore.type":                    "PEM",
		"ssl.truststore.location":                certs.CAFile,
		"listener.name.mtls.ssl.client.auth":     "required",
		"listener.name.optional.ssl.client.auth": "requested",
		// Members of OU=eng are named by their CN, lower-cased; anyone
		// else by the whole DN. The optional listener knows only eng.
		"ssl.principal.mapping.rules":                        `RULE:^CN=blank,.*$//,RULE:^CN=([^,]*),OU=eng,.*$/$1/L,DEFAULT`,
		"listener.name.optional.ssl.principal.mapping.rules": `RULE:^CN=([^,]*),OU=eng,.*$/$1/L`,
		"authorizer.class.name":                              "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users":                                        "User:admin",
	}, logs)
	mtls, optional := b.B.Addrs()[0], b.B.Addrs()[1]
	subject := func(cn, ou string) pkix.Name {
		return pkix.Name{CommonName: cn, OrganizationalUnit: []string{ou}, Organization: []string{"Samsa"}, Country: []string{"NL"}}
	}
	admin := certs.Client(t, subject("Admin", "eng"))
	alice := certs.Client(t, subject("Alice", "eng"))
	bob := certs.Client(t, subject("bob", "ops"))
	const bobPrincipal = "User:CN=bob,OU=ops,O=Samsa,C=NL"
	client := func(addr string, cert *brokertest.ClientCertificate) *kgo.Client {
		cfg := (securedBroker{certs: certs}).tlsConfig(t)
		if cert != nil {
			cfg.Certificates = []tls.Certificate{cert.TLS}
		}
		// Not idempotent: a producer with no WRITE anywhere would fail
		// its InitProducerId (CLUSTER_AUTHORIZATION_FAILED) before the
		// topic's ACLs are asked.
		return securedClient(t, addr, kgo.DialTLSConfig(cfg), kgo.DisableIdempotentWrite())
	}
	ctx := brokertest.Context(t, 30*time.Second)

	adm := kadm.NewClient(client(mtls, &admin))
	createTopic(t, adm, "mtls", 1, nil)
	mustCreateACLs(ctx, t, adm, kadm.NewACLs().Allow("User:alice", bobPrincipal).Topics("mtls").Operations(kadm.OpDescribe, kadm.OpRead))
	mustCreateACLs(ctx, t, adm, kadm.NewACLs().Allow("User:alice").Topics("mtls").Operations(kadm.OpWrite))

	if err := produceErr(ctx, client(mtls, &alice), "mtls"); err != nil {
		t.Fatalf("alice (CN=Alice,OU=eng → alice) may write: %v", err)
	}
	bobCl := client(mtls, &bob)
	if err := produceErr(ctx, bobCl, "mtls"); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("bob (his DN, by DEFAULT) writing without a WRITE ACL: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	mustCreateACLs(ctx, t, adm, kadm.NewACLs().Allow(bobPrincipal).Topics("mtls").Operations(kadm.OpWrite))
	if err := produceErr(ctx, client(mtls, &bob), "mtls"); err != nil {
		t.Fatalf("bob after the ACL for %s: %v", bobPrincipal, err)
	}
	// A client that cannot authenticate retries until its context ends.
	failsToConnect := func(what, addr string, cert *brokertest.ClientCertificate) {
		t.Helper()
		cl := client(addr, cert)
		short, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := produceErr(short, cl, "mtls"); err == nil || errors.Is(err, kerr.TopicAuthorizationFailed) {
			t.Fatalf("%s: %v, want a failed connection", what, err)
		}
		cl.Close()
	}
	failsToConnect("no certificate on the required listener", mtls, nil)

	// requested: alice is still alice; no certificate is ANONYMOUS, which
	// may not write; bob's DN matches no rule of this listener.
	if err := produceErr(ctx, client(optional, &alice), "mtls"); err != nil {
		t.Fatalf("alice on the optional listener: %v", err)
	}
	if err := produceErr(ctx, client(optional, nil), "mtls"); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("ANONYMOUS on the optional listener: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	// A name mapped to "" is the principal User: (as in Kafka), not
	// ANONYMOUS; the broker logs whom it denied.
	blank := certs.Client(t, subject("blank", "ops"))
	logs.Take()
	if err := produceErr(ctx, client(mtls, &blank), "mtls"); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("the blank principal writing: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	if logged := logs.Take(); !strings.Contains(logged, "principal=User: ") || strings.Contains(logged, "principal=User:ANONYMOUS") {
		t.Fatalf("the blank principal's denial was not logged as User::\n%s", logged)
	}

	logs.Take()
	failsToConnect("bob, whom no rule of the optional listener maps", optional, &bob)
	if logged := logs.Take(); !strings.Contains(logged, "no ssl.principal.mapping.rules rule applies") || !strings.Contains(logged, "CN=bob,OU=ops,O=Samsa,C=NL") {
		t.Fatalf("the broker did not log why bob failed:\n%s", logged)
	}
}
