package cli

import (
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

func TestParseGroupStates(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []string
		wantErr bool
	}{
		{name: "none", in: nil, want: nil},
		{name: "canonical", in: []string{"Stable", "Empty"}, want: []string{"Stable", "Empty"}},
		{name: "any case", in: []string{"stable", "PREPARINGREBALANCE", " empty "}, want: []string{"Stable", "PreparingRebalance", "Empty"}},
		{name: "KIP-848 states", in: []string{"assigning", "reconciling"}, want: []string{"Assigning", "Reconciling"}},
		{name: "duplicates", in: []string{"Stable", "stable"}, want: []string{"Stable"}},
		{name: "unknown", in: []string{"Stable", "Sleeping"}, wantErr: true},
		{name: "empty value", in: []string{""}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseGroupStates(tc.in)
			if tc.wantErr {
				var usage usageError
				if !errors.As(err, &usage) {
					t.Fatalf("error = %v, want a usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("states = %q, want %q", got, tc.want)
			}
		})
	}
}

// listed builds ListedOffsets for tests; a negative offset stands for a
// partition whose listing failed.
func listed(offsets map[topicPartition]int64) kadm.ListedOffsets {
	out := make(kadm.ListedOffsets)
	for tp, o := range offsets {
		if out[tp.topic] == nil {
			out[tp.topic] = make(map[int32]kadm.ListedOffset)
		}
		lo := kadm.ListedOffset{Topic: tp.topic, Partition: tp.partition, Offset: o}
		if o < 0 {
			lo = kadm.ListedOffset{Topic: tp.topic, Partition: tp.partition, Offset: -1, Err: kerr.NotLeaderForPartition}
		}
		out[tp.topic][tp.partition] = lo
	}
	return out
}

func TestComputeGroupLag(t *testing.T) {
	a0, a1, a2, b0, c0 := topicPartition{"a", 0}, topicPartition{"a", 1}, topicPartition{"a", 2}, topicPartition{"b", 0}, topicPartition{"c", 0}
	members := []groupMember{
		{id: "m1", assigned: []topicPartition{a0, a1}},
		{id: "m2", assigned: []topicPartition{a2}},
	}
	var committed kadm.OffsetResponses
	committed.Add(kadm.OffsetResponse{Offset: kadm.Offset{Topic: "a", Partition: 0, At: 40}})
	committed.Add(kadm.OffsetResponse{Offset: kadm.Offset{Topic: "a", Partition: 2, At: 90}}) // past the end
	committed.Add(kadm.OffsetResponse{Offset: kadm.Offset{Topic: "b", Partition: 0, At: 7}})  // not assigned
	committed.Add(kadm.OffsetResponse{Offset: kadm.Offset{Topic: "c", Partition: 0, At: -1}, Err: kerr.UnstableOffsetCommit})
	starts := listed(map[topicPartition]int64{a0: 0, a1: 20, a2: 0, b0: 0})
	ends := listed(map[topicPartition]int64{a0: 50, a1: 30, a2: 80, b0: -1, c0: 5})

	got := computeGroupLag(members, committed, starts, ends)
	want := []partitionLag{
		{topicPartition: a0, committed: 40, end: 50, lag: 10, owner: "m1"},
		{topicPartition: a1, committed: -1, end: 30, lag: 10, owner: "m1"}, // from log start 20
		{topicPartition: a2, committed: 90, end: 80, lag: 0, owner: "m2"},
		{topicPartition: b0, committed: 7, end: -1, lag: -1, err: kerr.NotLeaderForPartition},
		{topicPartition: c0, committed: -1, end: -1, lag: -1, err: kerr.UnstableOffsetCommit},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.topicPartition != w.topicPartition || g.committed != w.committed || g.end != w.end ||
			g.lag != w.lag || g.owner != w.owner || !errors.Is(g.err, w.err) {
			t.Errorf("row %d = %+v, want %+v", i, g, w)
		}
	}

	t.Run("no start offsets", func(t *testing.T) {
		rows := computeGroupLag([]groupMember{{id: "m", assigned: []topicPartition{a1}}}, nil, nil, ends)
		if len(rows) != 1 || rows[0].lag != 30 {
			t.Errorf("rows = %+v, want lag 30 counted from offset 0", rows)
		}
	})
	t.Run("end offsets missing", func(t *testing.T) {
		rows := computeGroupLag([]groupMember{{id: "m", assigned: []topicPartition{a0}}}, nil, starts, nil)
		if len(rows) != 1 || rows[0].lag != -1 || rows[0].err == nil {
			t.Errorf("rows = %+v, want unknown lag with an error", rows)
		}
	})
}

func TestWriteGroupDescription(t *testing.T) {
	stable := groupDescription{
		groupSummary: groupSummary{
			name: "orders-app", kind: "classic", state: "Stable", protocolType: "consumer",
			assignor: "cooperative-sticky", coordinator: 1,
			members: []groupMember{
				{id: "c-1", clientID: "app", host: "/10.0.0.1", instanceID: "pod-a",
					assigned: []topicPartition{{"orders", 0}, {"orders", 1}, {"refunds", 3}}},
				{id: "c-2", clientID: "app", host: "/10.0.0.2"},
			},
		},
		partitions: []partitionLag{
			{topicPartition: topicPartition{"orders", 0}, committed: 40, end: 50, lag: 10, owner: "c-1"},
			{topicPartition: topicPartition{"orders", 1}, committed: -1, end: 30, lag: 30, owner: "c-1"},
			{topicPartition: topicPartition{"refunds", 3}, committed: 7, end: -1, lag: -1, owner: "c-1", err: kerr.NotLeaderForPartition},
		},
	}
	empty := groupDescription{groupSummary: groupSummary{name: "idle", kind: "consumer", state: "Empty", coordinator: -1}}

	tests := []struct {
		name string
		in   groupDescription
		want string
	}{
		{"stable", stable, "" +
			"Group: orders-app\n" +
			"Type: classic\n" +
			"State: Stable\n" +
			"Protocol: consumer\n" +
			"Assignor: cooperative-sticky\n" +
			"Coordinator: 1\n" +
			"Members: 2\n" +
			"MEMBER-ID  CLIENT-ID  HOST       INSTANCE-ID  ASSIGNED\n" +
			"c-1        app        /10.0.0.1  pod-a        orders:0,1 refunds:3\n" +
			"c-2        app        /10.0.0.2  -            -\n" +
			"TOPIC    PARTITION  COMMITTED-OFFSET  LOG-END-OFFSET  LAG  OWNER\n" +
			"orders   0          40                50              10   c-1\n" +
			"orders   1          -                 30              30   c-1\n" +
			"refunds  3          7                 ?               ?    c-1  " + kerr.NotLeaderForPartition.Error() + "\n"},
		{"empty", empty, "" +
			"Group: idle\n" +
			"Type: consumer\n" +
			"State: Empty\n" +
			"Protocol: -\n" +
			"Assignor: -\n" +
			"Coordinator: -\n" +
			"Members: 0\n" +
			"Offsets: none committed\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			if err := writeGroupDescription(&out, tc.in); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("output:\n%s\nwant:\n%s", out.String(), tc.want)
			}
		})
	}
}

func TestWriteGroupList(t *testing.T) {
	rows := []groupListRow{
		{name: "orders-app", state: "Stable", protocolType: "consumer", members: 3},
		{name: "offsets-only", state: "Empty", members: 0},
		{name: "far-away", state: "Stable", protocolType: "connect", members: -1},
	}
	want := "" +
		"GROUP         STATE   PROTOCOL-TYPE  MEMBERS\n" +
		"orders-app    Stable  consumer       3\n" +
		"offsets-only  Empty   -              0\n" +
		"far-away      Stable  connect        ?\n"
	var out strings.Builder
	if err := writeGroupList(&out, rows); err != nil {
		t.Fatal(err)
	}
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestFormatAssignment(t *testing.T) {
	tests := []struct {
		in   []topicPartition
		want string
	}{
		{nil, ""},
		{[]topicPartition{{"a", 0}}, "a:0"},
		{[]topicPartition{{"a", 0}, {"a", 2}, {"b", 1}}, "a:0,2 b:1"},
		{[]topicPartition{{"", 4}}, "?:4"},
	}
	for _, tc := range tests {
		if got := formatAssignment(tc.in); got != tc.want {
			t.Errorf("formatAssignment(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWriteGroupDeletions(t *testing.T) {
	names := []string{"a", "b", "c"}
	results := []error{nil, kerr.NonEmptyGroup, nil}
	var out strings.Builder
	err := writeGroupDeletions(&out, names, results)
	want := "" +
		"deleted group \"a\"\n" +
		"group \"b\" not deleted: " + kerr.NonEmptyGroup.Error() + "\n" +
		"deleted group \"c\"\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if err == nil || err.Error() != "1 of 3 group(s) not deleted" {
		t.Errorf("error = %v, want 1 of 3 not deleted", err)
	}

	out.Reset()
	if err := writeGroupDeletions(&out, []string{"a"}, []error{nil}); err != nil {
		t.Errorf("all deleted: error = %v", err)
	}
}

func TestGroupUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"describe without groups", []string{"group", "describe"}, "expected at least one GROUP"},
		{"delete without groups", []string{"group", "delete"}, "expected at least one GROUP"},
		{"list bad state", []string{"group", "list", "--state", "Stable,Sleepy"}, `--state "Sleepy"`},
		{"reset without group", []string{"group", "reset-offsets", "--all-topics", "--to-latest"}, "expected one GROUP"},
		{"reset without target", []string{"group", "reset-offsets", "g", "--all-topics"}, "say where to move the offsets"},
		{"reset two targets", []string{"group", "reset-offsets", "g", "--all-topics", "--to-offset", "0", "--shift-by", "1"}, "--to-offset, --shift-by cannot be combined"},
		{"reset without scope", []string{"group", "reset-offsets", "g", "--to-latest"}, "--all-topics"},
		{"reset both scopes", []string{"group", "reset-offsets", "g", "--topic", "t", "--all-topics", "--to-latest"}, "cannot be combined"},
		{"reset bad partition", []string{"group", "reset-offsets", "g", "--topic", "t:a", "--to-latest"}, `"t:a"`},
		{"reset bad offset", []string{"group", "reset-offsets", "g", "--topic", "t", "--to-offset", "ten"}, "--to-offset"},
		{"reset bad datetime", []string{"group", "reset-offsets", "g", "--topic", "t", "--to-datetime", "2024-05-01"}, "RFC 3339"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tc.args...)
			if code != exitUsage {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, exitUsage, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if !strings.HasPrefix(stderr, "samsa: ") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want one line starting with \"samsa: \"", stderr)
			}
			if !strings.Contains(stderr, tc.wantErr) {
				t.Errorf("stderr = %q, want it to mention %q", stderr, tc.wantErr)
			}
		})
	}
}

// TestGroupCommandsFailFastWithoutBroker checks every group command against
// a closed port: one error line and exit 1 within --timeout.
func TestGroupCommandsFailFastWithoutBroker(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := closed.Addr().String()
	closed.Close()

	commands := [][]string{
		{"group", "list"},
		{"group", "describe", "g"},
		{"group", "delete", "g"},
		{"group", "reset-offsets", "g", "--all-topics", "--to-earliest"},
	}
	for _, args := range commands {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			started := time.Now()
			code, _, stderr := runCLI(t, "", append(args, "-b", addr, "--timeout", "300ms")...)
			if elapsed := time.Since(started); elapsed > 5*time.Second {
				t.Errorf("took %s, want a failure bounded by --timeout", elapsed)
			}
			if code != exitFailure {
				t.Errorf("exit code = %d, want %d", code, exitFailure)
			}
			if !strings.HasPrefix(stderr, "samsa: ") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want one error line", stderr)
			}
		})
	}
}

// TestGroupConfigCommand shows, sets and removes a group's configs.
func TestGroupConfigCommand(t *testing.T) {
	b := brokertest.Start(t, nil)
	run := cliAgainst(t, b.Addr)
	shows := func(out string, fields ...string) bool {
		for _, line := range strings.Split(out, "\n") {
			if slices.Equal(strings.Fields(line), fields) {
				return true
			}
		}
		return false
	}
	if out := run(exitOK, "group", "config", "billing"); !shows(out, "consumer.session.timeout.ms", "45000", "DEFAULT_CONFIG") {
		t.Fatalf("a group without configs:\n%s", out)
	}
	run(exitOK, "group", "config", "billing", "--set", "consumer.session.timeout.ms=50000")
	if out := run(exitOK, "group", "config", "billing"); !shows(out, "consumer.session.timeout.ms", "50000", "GROUP_CONFIG") {
		t.Fatalf("after --set:\n%s", out)
	}
	if out := run(exitFailure, "group", "config", "billing", "--set", "consumer.session.timeout.ms=1"); !strings.Contains(out, "INVALID_CONFIG") {
		t.Fatalf("a value out of range:\n%s", out)
	}
	run(exitOK, "group", "config", "billing", "--delete", "consumer.session.timeout.ms")
	if out := run(exitOK, "group", "config", "billing"); !shows(out, "consumer.session.timeout.ms", "45000", "DEFAULT_CONFIG") {
		t.Fatalf("after --delete:\n%s", out)
	}
	run(exitUsage, "group", "config")
}
