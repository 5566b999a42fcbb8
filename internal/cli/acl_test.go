package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// TestACLCommandsOverSASLSSL manages ACLs as a super user that logs in with
// SCRAM over TLS through a --command-config file, and checks that -X
// settings and the ACLs take effect for another user.
func TestACLCommandsOverSASLSSL(t *testing.T) {
	certs := brokertest.WriteCertificates(t)
	b := brokertest.Start(t, map[string]string{
		"listeners":               "PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
		"sasl.enabled.mechanisms": "SCRAM-SHA-512",
		"ssl.keystore.type":       "PEM",
		"ssl.keystore.location":   certs.KeystoreFile,
		"authorizer.class.name":   "kafka.security.authorizer.AclAuthorizer",
		"super.users":             "User:root",
		// The PLAINTEXT listener is the operators' own: its anonymous
		// principal is allowed where no ACL names a resource.
		"allow.everyone.if.no.acl.found": "true",
	})
	secure := b.B.Addrs()[1]
	for _, u := range [][2]string{{"root", "root-pw"}, {"ann", "ann-pw"}} {
		if code, out, errOut := runCLI(t, u[1]+"\n", "users", "create", u[0], "--password-stdin", "--mechanism", "SCRAM-SHA-512", "-b", b.Addr); code != exitOK {
			t.Fatalf("users create %s: %d %s%s", u[0], code, out, errOut)
		}
	}
	props := filepath.Join(t.TempDir(), "admin.properties")
	content := "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n" +
		`sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="root" password="root-pw";` + "\n" +
		"ssl.truststore.type=PEM\nssl.truststore.location=" + certs.CAFile + "\n"
	if err := os.WriteFile(props, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	admin := []string{"-b", secure, "--command-config", props}
	ann := []string{"-b", secure, "-X", "security.protocol=SASL_SSL", "-X", "sasl.mechanisms=SCRAM-SHA-512",
		"-X", "sasl.username=ann", "-X", "sasl.password=ann-pw", "-X", "ssl.ca.location=" + certs.CAFile}

	if code, out, errOut := runCLI(t, "", append([]string{"topic", "create", "orders", "-p", "1"}, admin...)...); code != exitOK {
		t.Fatalf("topic create as root: %d %s%s", code, out, errOut)
	}
	// One ACL names orders: ann, with none, may not write it.
	if code, out, errOut := runCLI(t, "", append([]string{"acl", "create", "--allow-principal", "User:root", "--operation", "All", "--topic", "orders"}, admin...)...); code != exitOK || !strings.Contains(out, "Created 1 ACL") {
		t.Fatalf("acl create: %d %s%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "hello\n", append([]string{"produce", "orders"}, ann...)...); code == exitOK || !strings.Contains(errOut, "TOPIC_AUTHORIZATION_FAILED") {
		t.Fatalf("produce as ann without an ACL: exit %d, stderr %s", code, errOut)
	}
	if code, out, errOut := runCLI(t, "", append([]string{"acl", "create", "--allow-principal", "User:ann",
		"--operation", "Write", "--operation", "Describe", "--topic", "ord", "--resource-pattern-type", "prefixed"}, admin...)...); code != exitOK || !strings.Contains(out, "Created 2 ACL") {
		t.Fatalf("acl create prefixed: %d %s%s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, "hello\n", append([]string{"produce", "orders"}, ann...)...); code != exitOK {
		t.Fatalf("produce as ann with WRITE: %d %s%s", code, out, errOut)
	}

	code, out, errOut := runCLI(t, "", append([]string{"acl", "list", "--topic", "orders", "--resource-pattern-type", "match"}, admin...)...)
	if code != exitOK {
		t.Fatalf("acl list: %d %s", code, errOut)
	}
	for _, want := range []string{"topic:ord", "PREFIXED", "User:ann", "WRITE", "DESCRIBE", "topic:orders", "LITERAL", "User:root", "ALL", "ALLOW"} {
		if !strings.Contains(out, want) {
			t.Errorf("acl list output lacks %q:\n%s", want, out)
		}
	}
	// Once an ACL names the cluster, ann may not manage ACLs.
	if code, out, errOut := runCLI(t, "", append([]string{"acl", "create", "--allow-principal", "User:root", "--operation", "All", "--cluster"}, admin...)...); code != exitOK {
		t.Fatalf("acl create --cluster: %d %s%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "", append([]string{"acl", "list"}, ann...)...); code == exitOK || !strings.Contains(errOut, "CLUSTER_AUTHORIZATION_FAILED") {
		t.Errorf("acl list as ann: exit %d, stderr %s", code, errOut)
	}

	code, out, errOut = runCLI(t, "", append([]string{"acl", "delete", "--principal", "User:ann"}, admin...)...)
	if code != exitOK || !strings.Contains(out, "Deleted 2 ACL") {
		t.Fatalf("acl delete: %d %s%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "hello\n", append([]string{"produce", "orders"}, ann...)...); code == exitOK || !strings.Contains(errOut, "TOPIC_AUTHORIZATION_FAILED") {
		t.Errorf("produce as ann after the delete: exit %d, stderr %s", code, errOut)
	}
}

func TestACLAndSecurityUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no resource", []string{"acl", "create", "--allow-principal", "User:a", "--operation", "Read"}, "name a resource"},
		{"no principal", []string{"acl", "create", "--topic", "t", "--operation", "Read"}, "name a principal"},
		{"bad operation", []string{"acl", "create", "--topic", "t", "--allow-principal", "User:a", "--operation", "Fly"}, "--operation"},
		{"any op on create", []string{"acl", "create", "--topic", "t", "--allow-principal", "User:a", "--operation", "Any"}, "--operation"},
		{"match on create", []string{"acl", "create", "--topic", "t", "--allow-principal", "User:a", "--operation", "Read", "--resource-pattern-type", "match"}, "--resource-pattern-type"},
		{"unfiltered delete", []string{"acl", "delete"}, "name what to delete"},
		{"unknown property", []string{"acl", "list", "-X", "sasl.usrname=x"}, "not supported"},
		{"bad protocol", []string{"topic", "list", "-X", "security.protocol=TLS"}, "security.protocol"},
		{"SASL without a user", []string{"topic", "list", "-X", "security.protocol=SASL_PLAINTEXT"}, "needs a user"},
		{"missing config file", []string{"topic", "list", "--command-config", "/nonexistent/client.properties"}, "--command-config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, "", append(tc.args, "-b", "127.0.0.1:1")...)
			if code != exitUsage || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, exitUsage, tc.want)
			}
		})
	}
}
