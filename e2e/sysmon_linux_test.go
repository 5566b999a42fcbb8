package e2e

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// With samsa.runtime.sysmon.awake=true, samsa serve re-executes itself in
// place with GODEBUG set so that Go's sysmon never sleeps deeply
// (cmd/samsa/sysmon.go). The process id stays the same, so supervisors and
// kill -9 still see the broker they started.
func TestServeKeepsSysmonAwake(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a broker process")
	}
	for _, tc := range []struct {
		name    string
		godebug string // "-" for unset
		args    []string
		want    bool
	}{
		{"default (off)", "-", nil, false},
		{"on", "-", []string{"--set", "samsa.runtime.sysmon.awake=true"}, true},
		// Go reads the first GODEBUG of the environment: an empty one left
		// in place would make the broker re-execute itself for ever.
		{"on with empty GODEBUG", "", []string{"--set", "samsa.runtime.sysmon.awake=true"}, true},
		{"on with other GODEBUG", "madvdontneed=1", []string{"--set", "samsa.runtime.sysmon.awake=true"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) { // no commas: TempDir names end up in log.dirs
			if tc.godebug != "-" {
				t.Setenv("GODEBUG", tc.godebug)
			}
			p := startProcess(t, t.TempDir(), freePort(t), tc.args...)
			env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.cmd.Process.Pid))
			if err != nil {
				t.Fatal(err)
			}
			var godebug []string // every GODEBUG entry: Go reads the first
			for _, kv := range bytes.Split(env, []byte{0}) {
				if v, ok := bytes.CutPrefix(kv, []byte("GODEBUG=")); ok {
					godebug = append(godebug, string(v))
				}
			}
			got := len(godebug) > 0 && slices.Contains(strings.Split(godebug[0], ","), "schedtrace=2147483647")
			if got != tc.want {
				t.Fatalf("process %d environment GODEBUG %q: sysmon kept awake %v, want %v", p.cmd.Process.Pid, godebug, got, tc.want)
			}
			if tc.want && tc.godebug != "-" && tc.godebug != "" && !strings.Contains(godebug[0], tc.godebug) {
				t.Fatalf("GODEBUG %q lost the user's %q", godebug[0], tc.godebug)
			}
			// The process serves as usual.
			if md := endOffset(t, dial(t, p.addr), "__consumer_offsets"); md != 0 {
				t.Fatalf("__consumer_offsets partition 0 end offset %d, want 0", md)
			}
		})
	}
}
