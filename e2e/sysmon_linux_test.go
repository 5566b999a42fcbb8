package e2e

import (
	"bytes"
	"fmt"
	"os"
	"testing"
)

// samsa serve re-executes itself in place with GODEBUG set so that Go's
// sysmon never sleeps deeply (cmd/samsa/sysmon.go), unless the setting is
// off. The process id stays the same, so supervisors and kill -9 still see
// the broker they started.
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
		{"default", "-", nil, true},
		// Go reads the first GODEBUG of the environment: an empty one left
		// in place would make the broker re-execute itself for ever.
		{"empty GODEBUG", "", nil, true},
		{"off", "-", []string{"--set", "samsa.runtime.sysmon.awake=false"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.godebug != "-" {
				t.Setenv("GODEBUG", tc.godebug)
			}
			p := startProcess(t, t.TempDir(), freePort(t), tc.args...)
			env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.cmd.Process.Pid))
			if err != nil {
				t.Fatal(err)
			}
			got := bytes.Contains(env, []byte("GODEBUG=schedtrace=2147483647\x00"))
			if got != tc.want {
				t.Fatalf("process %d has GODEBUG=schedtrace=2147483647: %v, want %v", p.cmd.Process.Pid, got, tc.want)
			}
			// The process serves as usual.
			if md := endOffset(t, dial(t, p.addr), "__consumer_offsets"); md != 0 {
				t.Fatalf("__consumer_offsets partition 0 end offset %d, want 0", md)
			}
		})
	}
}
