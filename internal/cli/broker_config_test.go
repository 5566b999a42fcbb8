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
	run := cliAgainst(t, b.Addr)
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

// TestClusterLoggersCommand shows and changes a broker's log levels.
func TestClusterLoggersCommand(t *testing.T) {
	b := brokertest.Start(t, nil)
	run := cliAgainst(t, b.Addr)
	if out := run(exitOK, "cluster", "loggers", "--broker", "0"); !strings.Contains(out, "root") || !strings.Contains(out, "samsa.group") {
		t.Fatalf("loggers lack root or samsa.group:\n%s", out)
	}
	run(exitOK, "cluster", "loggers", "--broker", "0", "--set", "samsa.group=TRACE", "--set", "root=WARN")
	levelOf := func(out, logger string) string {
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == logger {
				return f[1]
			}
		}
		return ""
	}
	out := run(exitOK, "cluster", "loggers", "--broker", "0")
	if levelOf(out, "samsa.group") != "TRACE" || levelOf(out, "samsa.txn") != "WARN" || levelOf(out, "root") != "WARN" {
		t.Fatalf("after --set:\n%s", out)
	}
	run(exitOK, "cluster", "loggers", "--broker", "0", "--reset", "samsa.group")
	if out := run(exitOK, "cluster", "loggers", "--broker", "0"); levelOf(out, "samsa.group") != "WARN" {
		t.Fatalf("after --reset:\n%s", out)
	}
	if out := run(exitFailure, "cluster", "loggers", "--broker", "0", "--set", "samsa.group=LOUD"); !strings.Contains(out, "INVALID_CONFIG") {
		t.Fatalf("a bad level:\n%s", out)
	}
	run(exitUsage, "cluster", "loggers")
}

// TestClusterFeaturesCommands shows the feature levels and changes
// group.version with the CLI, as kafka-features.sh does.
func TestClusterFeaturesCommands(t *testing.T) {
	b := brokertest.Start(t, nil)
	run := cliAgainst(t, b.Addr)
	levelOf := func(feature string) string {
		t.Helper()
		for _, line := range strings.Split(run(exitOK, "cluster", "features"), "\n") {
			if f := strings.Fields(line); len(f) == 4 && f[0] == feature {
				return f[1] + " " + f[2]
			}
		}
		t.Fatalf("no line for %s", feature)
		return ""
	}
	if got := levelOf("metadata.version"); got != "25-25 25" {
		t.Fatalf("metadata.version: %q", got)
	}
	if got := levelOf("group.version"); got != "0-1 1" {
		t.Fatalf("group.version: %q", got)
	}
	if out := run(exitOK, "cluster", "features", "downgrade", "--feature", "group.version=0", "--dry-run"); !strings.Contains(out, "Would finalize group.version at level 0") {
		t.Fatalf("dry run: %s", out)
	}
	if got := levelOf("group.version"); got != "0-1 1" {
		t.Fatalf("after a dry run group.version: %q", got)
	}
	run(exitOK, "cluster", "features", "downgrade", "--feature", "group.version=0")
	if got := levelOf("group.version"); got != "0-1 0" {
		t.Fatalf("after the downgrade group.version: %q", got)
	}
	if out := run(exitFailure, "cluster", "features", "upgrade", "--feature", "transaction.version=3"); !strings.Contains(out, "only supports versions 0-2") {
		t.Fatalf("an unsupported level: %s", out)
	}
	run(exitOK, "cluster", "features", "upgrade", "--feature", "group.version=1")
	if got := levelOf("group.version"); got != "0-1 1" {
		t.Fatalf("after the upgrade group.version: %q", got)
	}
	run(exitUsage, "cluster", "features", "upgrade")
	run(exitUsage, "cluster", "features", "upgrade", "--feature", "group.version")
}
