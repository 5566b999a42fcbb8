package cli

import (
	"strings"
	"testing"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// TestTokensCommands: a SCRAM user creates a delegation token with the CLI,
// the CLI authenticates with that token (sasl.jaas.config with
// tokenauth="true") to list topics, the owner renews, describes and expires
// it, and the token then logs in no more. Creating a token for another user
// needs CREATE_TOKENS on that user, granted with samsa acl --user-principal.
func TestTokensCommands(t *testing.T) {
	b := brokertest.Start(t, map[string]string{
		"listeners":                   "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms":     "SCRAM-SHA-256,SCRAM-SHA-512",
		"delegation.token.secret.key": "cli test secret",
		"authorizer.class.name":       "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users":                 "User:ANONYMOUS", // the PLAINTEXT listener administers
	})
	sasl := b.B.Addrs()[1]
	if code, stdout, stderr := runCLI(t, "ann-secret\n", "users", "create", "ann", "--password-stdin", "-b", b.Addr); code != exitOK {
		t.Fatalf("users create: exit %d\n%s%s", code, stdout, stderr)
	}
	ann := []string{"-b", sasl, "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanism=SCRAM-SHA-256",
		"-X", "sasl.username=ann", "-X", "sasl.password=ann-secret"}
	run := func(want int, args ...string) string {
		t.Helper()
		code, stdout, stderr := runCLI(t, "", args...)
		if code != want {
			t.Fatalf("samsa %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, stdout, stderr)
		}
		return stdout + stderr
	}
	out := run(exitOK, append([]string{"tokens", "create", "--renewer", "User:bob", "--max-lifetime", "1h"}, ann...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "User:ann") || !strings.Contains(lines[1], "User:bob") {
		t.Fatalf("tokens create printed:\n%s", out)
	}
	fields := strings.Fields(lines[1])
	id, hmac := fields[0], fields[1]
	token := []string{"-b", sasl, "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanism=SCRAM-SHA-512",
		"-X", `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="` + id + `" password="` + hmac + `" tokenauth="true";`}
	run(exitOK, append([]string{"topic", "list"}, token...)...)
	if out := run(exitOK, append([]string{"tokens", "renew", "--hmac", hmac, "--period", "30m"}, ann...)...); !strings.Contains(out, "Expiry: ") {
		t.Fatalf("tokens renew printed:\n%s", out)
	}
	if out := run(exitOK, append([]string{"tokens", "describe", "--owner", "User:ann"}, ann...)...); !strings.Contains(out, id) {
		t.Fatalf("tokens describe printed:\n%s", out)
	}
	run(exitOK, append([]string{"tokens", "expire", "--hmac", hmac}, ann...)...)
	if out := run(exitFailure, append([]string{"topic", "list"}, token...)...); !strings.Contains(out, "SASL_AUTHENTICATION_FAILED") {
		t.Fatalf("topic list with an expired token:\n%s", out)
	}
	run(exitUsage, append([]string{"tokens", "renew", "--hmac", "not base64!"}, ann...)...)

	forBob := append([]string{"tokens", "create", "--owner", "User:bob"}, ann...)
	if out := run(exitFailure, forBob...); !strings.Contains(out, "DELEGATION_TOKEN_AUTHORIZATION_FAILED") {
		t.Fatalf("a token for bob without CREATE_TOKENS:\n%s", out)
	}
	run(exitOK, "acl", "create", "--allow-principal", "User:ann", "--operation", "CreateTokens", "--user-principal", "User:bob", "-b", b.Addr)
	if out := run(exitOK, "acl", "list", "--user-principal", "User:bob", "-b", b.Addr); !strings.Contains(out, "user:User:bob") || !strings.Contains(out, "CREATE_TOKENS") {
		t.Fatalf("acl list --user-principal:\n%s", out)
	}
	if out := run(exitOK, forBob...); !strings.Contains(out, "User:bob") {
		t.Fatalf("a token for bob with CREATE_TOKENS:\n%s", out)
	}
}
