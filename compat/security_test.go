package compat

import (
	"crypto/x509/pkix"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// startSASLSSLBroker runs a broker with a PLAINTEXT listener first (for
// the test's own administration, brokertest's Addr) and a SASL_SSL one
// offering SCRAM-SHA-256 and -512, with users created through the API as
// a Kafka operator would (kafka-configs --alter --add-config SCRAM-...).
func startSASLSSLBroker(t *testing.T, users map[string]string) (b *brokertest.Broker, saslSSL string, certs brokertest.Certificates) {
	t.Helper()
	certs = brokertest.WriteCertificates(t)
	b = brokertest.Start(t, map[string]string{
		"listeners":               "PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
		"sasl.enabled.mechanisms": "SCRAM-SHA-256,SCRAM-SHA-512",
		"ssl.keystore.type":       "PEM",
		"ssl.keystore.location":   certs.KeystoreFile,
	})
	var upserts []kadm.UpsertSCRAM
	for user, password := range users {
		for _, mech := range []kadm.ScramMechanism{kadm.ScramSha256, kadm.ScramSha512} {
			upserts = append(upserts, kadm.UpsertSCRAM{User: user, Mechanism: mech, Iterations: 4096, Password: password})
		}
	}
	altered, err := b.Admin().AlterUserSCRAMs(brokertest.Context(t, 30*time.Second), nil, upserts)
	if err != nil {
		t.Fatalf("create SCRAM users: %v", err)
	}
	for user, a := range altered {
		if a.Err != nil {
			t.Fatalf("create SCRAM user %s: %v", user, a.Err)
		}
	}
	return b, b.B.Addrs()[1], certs
}

// TestKafkajsSeedSecurity runs the seed's security.js unchanged: kafkajs
// over SASL_SSL with SCRAM-SHA-256 and an idempotent producer sending 100
// keyed records to logs.
func TestKafkajsSeedSecurity(t *testing.T) {
	k := findKafkajs(t)
	seed := seedDir(t)
	if _, err := os.Stat(filepath.Join(seed, "security.js")); err != nil {
		t.Skipf("the seed has no security.js: %v", err)
	}
	b, saslSSL, _ := startSASLSSLBroker(t, map[string]string{"logger": "log-secret"})
	createTopic(t, b, "logs", 3)
	dir := t.TempDir()
	copyFile(t, filepath.Join(seed, "security.js"), filepath.Join(dir, "security.js"))
	if err := os.Symlink(filepath.Join(k.dir, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatalf("link node_modules: %v", err)
	}
	env := []string{"BROKER=" + saslSSL, "KAFKAUSER=logger", "KAFKAPASS=log-secret"}

	out := run(t, command{name: k.node, args: []string{"security.js"}, dir: dir, env: env, timeout: 60 * time.Second})
	if !strings.Contains(out.stdout, "sent 100 records over SASL_SSL") {
		t.Fatalf("security.js did not report success\nstdout:\n%s\nstderr:\n%s", out.stdout, tail(out.stderr))
	}
	records := readTopic(t, b, "logs")
	total := 0
	for _, rs := range records {
		total += len(rs)
		for _, r := range rs {
			if r.ProducerID < 0 {
				t.Errorf("record at %d/%d has no producer id: the idempotent producer was not used", r.Partition, r.Offset)
			}
		}
	}
	if total != 100 {
		t.Fatalf("logs holds %d records (%s), want the 100 security.js sent", total, recordCounts(records))
	}
	requireDenseOffsets(t, records)

	t.Run("SCRAM-SHA-512", func(t *testing.T) {
		out := run(t, command{name: k.node, args: []string{"security.js"}, dir: dir,
			env: append(env, "SASL_MECHANISM=scram-sha-512"), timeout: 60 * time.Second})
		if !strings.Contains(out.stdout, "sent 100 records over SASL_SSL") {
			t.Fatalf("security.js with scram-sha-512 did not report success\nstdout:\n%s\nstderr:\n%s", out.stdout, tail(out.stderr))
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		out, err := runCommand(t, command{name: k.node, args: []string{"security.js"}, dir: dir,
			env: []string{"BROKER=" + saslSSL, "KAFKAUSER=logger", "KAFKAPASS=wrong"}, timeout: 60 * time.Second})
		if err == nil || strings.Contains(out.stdout, "sent 100 records") {
			t.Fatalf("security.js with a wrong password succeeded\nstdout:\n%s", out.stdout)
		}
		if !strings.Contains(out.stderr, "SASL") {
			t.Errorf("kafkajs's error does not mention SASL:\n%s", tail(out.stderr))
		}
	})
}

// TestKcatSASLSSL produces and consumes with kcat (librdkafka) over
// SASL_SSL, verifying the broker's certificate against the test CA, with
// both SCRAM mechanisms; a wrong password fails the run.
func TestKcatSASLSSL(t *testing.T) {
	kcat := lookTool(t, "kcat")
	b, saslSSL, certs := startSASLSSLBroker(t, map[string]string{"kcat-user": "kcat-secret"})
	createTopic(t, b, "kcat-secure", 1)
	security := func(mech, password string) []string {
		return []string{"-b", saslSSL,
			"-X", "security.protocol=SASL_SSL", "-X", "sasl.mechanisms=" + mech,
			"-X", "sasl.username=kcat-user", "-X", "sasl.password=" + password,
			"-X", "ssl.ca.location=" + certs.CAFile}
	}
	for i, mech := range []string{"SCRAM-SHA-256", "SCRAM-SHA-512"} {
		line := "secured line via " + mech
		run(t, command{name: kcat, args: append(security(mech, "kcat-secret"), "-P", "-t", "kcat-secure"),
			stdin: strings.NewReader(line + "\n"), timeout: 30 * time.Second})
		out := run(t, command{name: kcat, args: append(security(mech, "kcat-secret"),
			"-C", "-t", "kcat-secure", "-o", strconv.Itoa(i), "-c", "1", "-e"), timeout: 30 * time.Second})
		if strings.TrimSpace(out.stdout) != line {
			t.Errorf("kcat -C over SASL_SSL with %s read %q, want %q", mech, out.stdout, line)
		}
	}
	out, err := runCommand(t, command{name: kcat, args: append(security("SCRAM-SHA-256", "wrong"), "-L"), timeout: 30 * time.Second})
	if err == nil {
		t.Fatalf("kcat -L with a wrong password succeeded:\n%s", out.stdout)
	}
	if !strings.Contains(out.stderr, "Authentication failed") && !strings.Contains(out.stderr, "SASL") {
		t.Errorf("kcat's error does not say why:\n%s", tail(out.stderr))
	}
}

// securityPythonClients are the Python clients python/sasl_roundtrip.py
// drives: name, module and the Debian package that installs it.
var securityPythonClients = []struct{ name, module, debianPackage string }{
	{"kafka-python", "kafka", "python3-kafka"},
	{"confluent-kafka", "confluent_kafka", "python3-confluent-kafka"},
}

// TestPythonClientsSASLSSL produces and consumes over SASL_SSL with
// kafka-python and confluent-kafka, each with both SCRAM mechanisms, and
// checks that a wrong password fails.
func TestPythonClientsSASLSSL(t *testing.T) {
	b, saslSSL, certs := startSASLSSLBroker(t, map[string]string{"py-user": "py-secret"})
	script, err := filepath.Abs(filepath.Join("python", "sasl_roundtrip.py"))
	if err != nil {
		t.Fatal(err)
	}
	for _, client := range securityPythonClients {
		t.Run(client.name, func(t *testing.T) {
			python := findPython(t, client.module, client.debianPackage)
			for _, mech := range []string{"SCRAM-SHA-256", "SCRAM-SHA-512"} {
				topic := "py-" + client.name + "-" + strings.ToLower(mech)
				createTopic(t, b, topic, 1)
				var summary struct{ Consumed []string }
				out := run(t, command{name: python, args: []string{script, client.name, saslSSL, topic, mech, "py-user", "py-secret", certs.CAFile}, timeout: 90 * time.Second})
				decodeSummary(t, out, &summary)
				if len(summary.Consumed) != 10 || summary.Consumed[0] != "secure-0" || summary.Consumed[9] != "secure-9" {
					t.Errorf("%s with %s read back %q", client.name, mech, summary.Consumed)
				}
			}
			out, err := runCommand(t, command{name: python, args: []string{script, client.name, saslSSL, "py-wrong", "SCRAM-SHA-256", "py-user", "wrong", certs.CAFile}, timeout: 90 * time.Second})
			if err == nil {
				t.Fatalf("%s with a wrong password succeeded:\n%s", client.name, out.stdout)
			}
		})
	}
}

// TestKafkajsReauthentication: with connections.max.reauth.ms=3000 kafkajs
// re-authenticates its connections (KIP-368) and produces for 8 s, almost
// three session lifetimes, without an error; the broker logged its
// re-authentications and closed no connection for an expired session.
func TestKafkajsReauthentication(t *testing.T) {
	k := findKafkajs(t)
	var logs brokertest.LogBuffer
	b := brokertest.StartLogged(t, map[string]string{
		"listeners":               "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms": "PLAIN",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required ` +
			`username="admin" password="admin-secret" user_jsuser="js-secret";`,
		"connections.max.reauth.ms": "3000",
	}, &logs)
	createTopic(t, b, "reauth-clicks", 1)
	out := run(t, command{name: k.node, args: []string{filepath.Join(k.dir, "reauth.js"), "reauth-clicks", "8"}, dir: k.dir,
		env: []string{"BROKER=" + b.B.Addrs()[1], "USER_NAME=jsuser", "USER_PASSWORD=js-secret"}, timeout: 60 * time.Second})
	var s struct {
		Sent  int
		Error string
	}
	decodeSummary(t, out, &s)
	if s.Error != "" || s.Sent < 50 {
		t.Fatalf("kafkajs sent %d records, error %q", s.Sent, s.Error)
	}
	logged := logs.String()
	if strings.Contains(logged, "SASL session expired") {
		t.Fatalf("the broker closed a kafkajs connection for an expired session:\n%s", tail(logged))
	}
	// The first authentication of each connection, then one every ~2 s.
	if n := strings.Count(grepLines(logged, `msg="SASL authenticated"`), "principal=jsuser"); n < 3 {
		t.Fatalf("%d authentications of jsuser in 8 s with 3 s sessions: kafkajs did not re-authenticate", n)
	}
	if got := len(readTopic(t, b, "reauth-clicks")[0]); got != s.Sent {
		t.Fatalf("reauth-clicks holds %d records, kafkajs sent %d", got, s.Sent)
	}
}

// grepLines returns the lines of s that contain substr.
func grepLines(s, substr string) string {
	var out strings.Builder
	for line := range strings.Lines(s) {
		if strings.Contains(line, substr) {
			out.WriteString(line)
		}
	}
	return out.String()
}

// TestClientCertificateAuthentication: kcat (librdkafka), kafka-python
// (Python's ssl), confluent-kafka and kafkajs (Node's TLS) authenticate with
// client certificates on
// an SSL listener with ssl.client.auth=required; each one's principal is its
// certificate's CN (ssl.principal.mapping.rules), which the ACLs name. A
// certificate without ACLs is refused the topic, and no record of it is
// stored.
func TestClientCertificateAuthentication(t *testing.T) {
	kcat := lookTool(t, "kcat")
	certs := brokertest.WriteCertificates(t)
	b := brokertest.Start(t, map[string]string{
		"listeners":                   "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
		"ssl.keystore.type":           "PEM",
		"ssl.keystore.location":       certs.KeystoreFile,
		"ssl.truststore.type":         "PEM",
		"ssl.truststore.location":     certs.CAFile,
		"ssl.client.auth":             "required",
		"ssl.principal.mapping.rules": `RULE:^CN=([^,]*),.*$/$1/`,
		"authorizer.class.name":       "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users":                 "User:ANONYMOUS", // the PLAINTEXT listener administers
	})
	ssl := b.B.Addrs()[1]
	createTopic(t, b, "kcat-mtls", 1)
	ctx := brokertest.Context(t, 30*time.Second)
	results, err := b.Admin().CreateACLs(ctx, kadm.NewACLs().Allow("User:kcat-alice").Topics("kcat-mtls").
		Operations(kadm.OpWrite, kadm.OpRead, kadm.OpDescribe))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Err != nil {
			t.Fatalf("CreateACLs: %v", r.Err)
		}
	}
	security := func(cert brokertest.ClientCertificate) []string {
		return []string{"-b", ssl, "-X", "security.protocol=SSL", "-X", "ssl.ca.location=" + certs.CAFile,
			"-X", "ssl.certificate.location=" + cert.CertFile, "-X", "ssl.key.location=" + cert.KeyFile}
	}
	alice := certs.Client(t, pkix.Name{CommonName: "kcat-alice", Organization: []string{"Samsa"}})
	bob := certs.Client(t, pkix.Name{CommonName: "kcat-bob", Organization: []string{"Samsa"}})

	const line = "sent with a client certificate"
	run(t, command{name: kcat, args: append(security(alice), "-P", "-t", "kcat-mtls"),
		stdin: strings.NewReader(line + "\n"), timeout: 30 * time.Second})
	out := run(t, command{name: kcat, args: append(security(alice), "-C", "-t", "kcat-mtls", "-o", "0", "-c", "1", "-e"), timeout: 30 * time.Second})
	if strings.TrimSpace(out.stdout) != line {
		t.Fatalf("kcat -C with a client certificate read %q, want %q", out.stdout, line)
	}
	denied, _ := runCommand(t, command{name: kcat, args: append(security(bob), "-P", "-t", "kcat-mtls"),
		stdin: strings.NewReader("not allowed\n"), timeout: 30 * time.Second})
	if !strings.Contains(strings.ToLower(denied.stderr), "authorization") {
		t.Errorf("kcat as kcat-bob: no authorization error:\n%s", tail(denied.stderr))
	}
	if ends := endOffsets(t, b.Admin(), "kcat-mtls"); ends[0] != 1 {
		t.Fatalf("end offset %d after the refused produce, want 1", ends[0])
	}

	// The Python clients, one on Python's own TLS: a certificate each,
	// named in the ACLs by its CN.
	script, err := filepath.Abs(filepath.Join("python", "sasl_roundtrip.py"))
	if err != nil {
		t.Fatal(err)
	}
	for _, client := range securityPythonClients {
		t.Run(client.name, func(t *testing.T) {
			ctx := brokertest.Context(t, 30*time.Second)
			python := findPython(t, client.module, client.debianPackage)
			topic, principal := "py-mtls-"+client.name, "py-"+client.name
			createTopic(t, b, topic, 1)
			for _, acls := range []*kadm.ACLBuilder{
				kadm.NewACLs().Allow("User:"+principal).Topics(topic).Operations(kadm.OpWrite, kadm.OpRead, kadm.OpDescribe),
				kadm.NewACLs().Allow("User:" + principal).Groups("sasl-roundtrip").Operations(kadm.OpRead),
			} {
				results, err := b.Admin().CreateACLs(ctx, acls)
				if err != nil || results[0].Err != nil {
					t.Fatalf("CreateACLs: %v %+v", err, results)
				}
			}
			cert := certs.Client(t, pkix.Name{CommonName: principal, Organization: []string{"Samsa"}})
			var summary struct{ Consumed []string }
			out := run(t, command{name: python, args: []string{script, client.name, ssl, topic, "SSL", cert.CertFile, cert.KeyFile, certs.CAFile}, timeout: 90 * time.Second})
			decodeSummary(t, out, &summary)
			if len(summary.Consumed) != 10 || summary.Consumed[0] != "secure-0" || summary.Consumed[9] != "secure-9" {
				t.Errorf("%s with a client certificate read back %q", client.name, summary.Consumed)
			}
			if client.name == "kafka-python" {
				return // refused, it waits out max.block.ms (60 s) for the topic's metadata
			}
			if out, err := runCommand(t, command{name: python, args: []string{script, client.name, ssl, topic, "SSL", bob.CertFile, bob.KeyFile, certs.CAFile}, timeout: 90 * time.Second}); err == nil {
				t.Fatalf("%s as kcat-bob, without ACLs, succeeded:\n%s", client.name, out.stdout)
			}
		})
	}

	// kafkajs, on Node's TLS: it creates its topic, and its idempotent
	// producer writes 1,000 records, as the principal its CN maps to.
	t.Run("kafkajs", func(t *testing.T) {
		k := findKafkajs(t)
		ctx := brokertest.Context(t, 30*time.Second)
		const topic, principal = "kjs-mtls", "kjs-user"
		results, err := b.Admin().CreateACLs(ctx, kadm.NewACLs().Allow("User:"+principal).Topics(topic).
			Operations(kadm.OpCreate, kadm.OpWrite, kadm.OpRead, kadm.OpDescribe))
		if err != nil || results[0].Err != nil {
			t.Fatalf("CreateACLs: %v %+v", err, results)
		}
		cert := certs.Client(t, pkix.Name{CommonName: principal, Organization: []string{"Samsa"}})
		var sum kafkajsProduceSummary
		k.scriptWith(t, []string{"BROKER=" + ssl, "SSL_CA=" + certs.CAFile, "SSL_CERT=" + cert.CertFile, "SSL_KEY=" + cert.KeyFile},
			90*time.Second, &sum, "roundtrip.js", "produce", topic)
		var stored int64
		for _, end := range endOffsets(t, b.Admin(), topic) {
			stored += end
		}
		if stored != 1000 {
			t.Fatalf("kafkajs with a client certificate stored %d records, want 1000", stored)
		}
	})
}
