package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// TestBenchAgainstBroker runs every workload, small, against a real broker
// and checks the result line each prints.
func TestBenchAgainstBroker(t *testing.T) {
	broker := brokertest.Start(t, nil)
	tests := []struct {
		name        string
		args        []string
		wantRecords int64
	}{
		{"produce", []string{"bench", "produce", "-t", "b1", "--records", "2000", "--size", "100", "--keyed", "--producers", "2"}, 2000},
		{"produce acks 1 lz4", []string{"bench", "produce", "-t", "b2", "--records", "500", "--acks", "1", "-z", "lz4", "--partitions", "2"}, 500},
		{"consume everything", []string{"bench", "consume", "-t", "b1"}, 2000},
		{"consume some in a group", []string{"bench", "consume", "-t", "b1", "--records", "700", "-g", "bench-group"}, 700},
		{"e2e", []string{"bench", "e2e", "-t", "b3", "--rate", "200", "--duration", "500ms", "--size", "64"}, -1},
		{"sync producers", []string{"bench", "sync-producers", "-t", "b4", "--producers", "4", "--batch", "10", "--records", "205", "--duration", "0s"}, 205},
		{"connections", []string{"bench", "connections", "--count", "20", "--parallel", "5", "--hold", "0s"}, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", append(tc.args, "-b", broker.Addr)...)
			if code != exitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			var result benchResult
			if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &result); err != nil {
				t.Fatalf("stdout %q is not one result line: %v", stdout, err)
			}
			if result.Errors != 0 || result.Seconds <= 0 || result.MaxMs <= 0 || result.P50Ms > result.MaxMs {
				t.Errorf("result %+v", result)
			}
			switch {
			case tc.wantRecords >= 0 && result.Records != tc.wantRecords:
				t.Errorf("records = %d, want %d", result.Records, tc.wantRecords)
			case tc.wantRecords < 0 && result.Records < 50: // e2e: about rate × duration
				t.Errorf("records = %d, want about 100", result.Records)
			}
		})
	}
}
