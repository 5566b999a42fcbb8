package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// TestUsersAgainstBroker creates, lists and deletes a SCRAM user with the
// CLI, and logs in as that user on the broker's SASL listener in between.
func TestUsersAgainstBroker(t *testing.T) {
	b := brokertest.Start(t, map[string]string{
		"listeners":               "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms": "SCRAM-SHA-256,SCRAM-SHA-512",
	})
	saslAddr := b.B.Addrs()[1]
	login := func(mech string) error {
		auth := scram.Auth{User: "ann", Pass: "ann-secret"}
		m := auth.AsSha256Mechanism()
		if mech == "SCRAM-SHA-512" {
			m = auth.AsSha512Mechanism()
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(saslAddr), kgo.SASL(m), kgo.RequestRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		return cl.Ping(brokertest.Context(t, 10*time.Second))
	}

	code, stdout, stderr := runCLI(t, "ann-secret\n", "users", "create", "ann", "--password-stdin", "-b", b.Addr)
	if code != exitOK || !strings.Contains(stdout, `user "ann"`) {
		t.Fatalf("users create: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, mech := range []string{"SCRAM-SHA-256", "SCRAM-SHA-512"} {
		if err := login(mech); err != nil {
			t.Errorf("login with %s after users create: %v", mech, err)
		}
	}
	code, stdout, stderr = runCLI(t, "", "users", "list", "-b", b.Addr)
	if code != exitOK || !strings.Contains(stdout, "ann") || !strings.Contains(stdout, "SCRAM-SHA-512") || !strings.Contains(stdout, "4096") {
		t.Fatalf("users list: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI(t, "", "users", "create", "ann", "--password", "x", "--iterations", "10", "-b", b.Addr); code != exitUsage {
		t.Errorf("create with 10 iterations: exit %d, want %d\n%s", code, exitUsage, stderr)
	}
	if code, _, stderr := runCLI(t, "", "users", "create", "ann", "-b", b.Addr); code != exitUsage || !strings.Contains(stderr, "password") {
		t.Errorf("create without a password: exit %d\n%s", code, stderr)
	}

	code, stdout, stderr = runCLI(t, "", "users", "delete", "ann", "--mechanism", "SCRAM-SHA-512", "-b", b.Addr)
	if code != exitOK {
		t.Fatalf("users delete: exit %d\n%s%s", code, stdout, stderr)
	}
	if err := login("SCRAM-SHA-512"); err == nil {
		t.Error("SCRAM-SHA-512 login still works after its credential was deleted")
	}
	if err := login("SCRAM-SHA-256"); err != nil {
		t.Errorf("SCRAM-SHA-256 login after deleting only SHA-512: %v", err)
	}
	if code, _, _ := runCLI(t, "", "users", "delete", "ann", "-b", b.Addr); code != exitOK {
		t.Errorf("delete the remaining mechanism: exit %d", code)
	}
	code, _, stderr = runCLI(t, "", "users", "list", "ann", "-b", b.Addr)
	if code == exitOK || !strings.Contains(stderr, "ann") {
		t.Errorf("users list of a deleted user: exit %d\n%s", code, stderr)
	}
}
