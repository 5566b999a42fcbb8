package cli

import (
	"strings"
	"testing"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// TestClusterConfigCommands sets, shows and removes dynamic broker configs
// with the CLI.
func TestClusterConfigCommands(t *testing.T) {
	b := brokertest.Start(t, nil)
	run := func(want int, args ...string) string {
		t.Helper()
		code, stdout, stderr := runCLI(t, "", append(args, "-b", b.Addr)...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, stdout, stderr)
		}
		return stdout + stderr
	}
	run(exitOK, "cluster", "alter-config", "--default", "--set", "log.retention.ms=3600000")
	run(exitOK, "cluster", "alter-config", "--broker", "0", "--set", "log.segment.bytes=1048576", "--set", "message.max.bytes=65536")

	out := run(exitOK, "cluster", "config", "--broker", "0")
	for _, want := range []string{"log.retention.ms", "3600000", "DYNAMIC_DEFAULT_BROKER_CONFIG", "log.segment.bytes", "1048576", "DYNAMIC_BROKER_CONFIG"} {
		if !strings.Contains(out, want) {
			t.Fatalf("broker 0's configs lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "num.io.threads") {
		t.Fatalf("a default config shown without --all:\n%s", out)
	}
	if out := run(exitOK, "cluster", "config", "--broker", "0", "--all"); !strings.Contains(out, "num.io.threads") {
		t.Fatalf("--all lacks num.io.threads:\n%s", out)
	}
	if out := run(exitOK, "cluster", "config", "--default"); !strings.Contains(out, "log.retention.ms") || strings.Contains(out, "log.segment.bytes") {
		t.Fatalf("the cluster default shows broker 0's own configs or lacks its own:\n%s", out)
	}

	run(exitOK, "cluster", "alter-config", "--broker", "0", "--delete", "message.max.bytes")
	if out := run(exitOK, "cluster", "config", "--broker", "0"); strings.Contains(out, "message.max.bytes") {
		t.Fatalf("after --delete:\n%s", out)
	}

	// The broker's refusal and the command line's own.
	if out := run(exitFailure, "cluster", "alter-config", "--broker", "0", "--set", "num.partitions=4"); !strings.Contains(out, "start-up only") {
		t.Fatalf("a static config:\n%s", out)
	}
	run(exitUsage, "cluster", "alter-config", "--set", "log.retention.ms=1")
	run(exitUsage, "cluster", "alter-config", "--default", "--broker", "0", "--set", "log.retention.ms=1")
	run(exitUsage, "cluster", "alter-config", "--default")
	run(exitUsage, "cluster", "config")
}
