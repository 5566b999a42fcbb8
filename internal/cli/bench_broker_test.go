package cli

import (
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

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
		// Paced, so records are acknowledged while later ones are sent
		// and the recycled records are reused (checked below).
		{"produce keyed paced", []string{"bench", "produce", "-t", "b5", "--records", "3000", "--size", "100", "--keyed", "--rate", "20000"}, 3000},
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
	t.Run("keyed records are distinct", func(t *testing.T) {
		// bench produce reuses its records once acknowledged: every one
		// that reached the log must still have its own key and the payload.
		ctx := brokertest.Context(t, 30*time.Second)
		cl := broker.Client(kgo.ConsumeTopics("b5"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		keys := make(map[uint64]bool)
		for len(keys) < 3000 && ctx.Err() == nil {
			cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
				if len(r.Key) != 8 || len(r.Value) != 100 || r.Value[0] < 'A' || r.Value[0] > 'Z' {
					t.Fatalf("record at %d/%d: key %x, %d-byte value", r.Partition, r.Offset, r.Key, len(r.Value))
				}
				key := binary.BigEndian.Uint64(r.Key)
				if keys[key] {
					t.Fatalf("key %d seen twice (at %d/%d)", key, r.Partition, r.Offset)
				}
				keys[key] = true
			})
		}
		if len(keys) != 3000 {
			t.Fatalf("read %d distinct keys, want 3000", len(keys))
		}
	})
}
