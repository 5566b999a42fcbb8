package cli

import (
	"strings"
	"testing"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// TestQuotasCommands sets, shows and deletes client quotas with the CLI.
func TestQuotasCommands(t *testing.T) {
	b := brokertest.Start(t, nil)
	run := cliAgainst(t, b.Addr)
	run(exitOK, "quotas", "alter", "--user", "alice", "--add-config", "producer_byte_rate=1048576,consumer_byte_rate=2097152")
	run(exitOK, "quotas", "alter", "--user-default", "--client-default", "--add-config", "request_percentage=12.5")
	run(exitOK, "quotas", "alter", "--user", "alice", "--client", "loader", "--add-config", "producer_byte_rate=4096")
	run(exitOK, "quotas", "alter", "--ip", "10.0.0.9", "--add-config", "connection_creation_rate=20", "--validate-only")

	out := run(exitOK, "quotas", "describe")
	for _, want := range []string{
		"user=alice", "producer_byte_rate", "1048576", "consumer_byte_rate", "2097152",
		"user=<default>,client-id=<default>", "request_percentage", "12.5", "user=alice,client-id=loader",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("describe lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "10.0.0.9") {
		t.Fatalf("a validate-only quota was stored:\n%s", out)
	}
	if out := run(exitOK, "quotas", "describe", "--user-default", "--strict"); strings.Contains(out, "request_percentage") {
		t.Fatalf("strict default user shows the user+client entity:\n%s", out)
	}

	run(exitOK, "quotas", "alter", "--user", "alice", "--delete-config", "consumer_byte_rate")
	if out := run(exitOK, "quotas", "describe", "--user", "alice"); strings.Contains(out, "consumer_byte_rate") || !strings.Contains(out, "producer_byte_rate") {
		t.Fatalf("after delete-config:\n%s", out)
	}

	// The broker's refusals and the command line's own.
	if out := run(exitFailure, "quotas", "alter", "--user", "alice", "--add-config", "producer_byte_rate=0.5"); !strings.Contains(out, "fractional") {
		t.Fatalf("fractional byte rate:\n%s", out)
	}
	run(exitUsage, "quotas", "alter", "--add-config", "producer_byte_rate=1")
	run(exitUsage, "quotas", "alter", "--user", "alice")
	run(exitUsage, "quotas", "alter", "--user", "alice", "--user-default", "--add-config", "producer_byte_rate=1")
	run(exitUsage, "quotas", "alter", "--user", "alice", "--add-config", "producer_byte_rate")
}
