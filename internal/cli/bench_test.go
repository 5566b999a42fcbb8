package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestBenchUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"produce without topic", []string{"bench", "produce"}, "-t/--topic is required"},
		{"produce bad acks", []string{"bench", "produce", "-t", "x", "--acks", "2"}, "--acks must be all, 1 or 0"},
		{"idempotent needs acks all", []string{"bench", "produce", "-t", "x", "--acks", "1", "--idempotent=true"}, "--idempotent needs --acks all"},
		{"bad compression", []string{"bench", "produce", "-t", "x", "--compression", "brotli"}, "-z/--compression"},
		{"zero partitions", []string{"bench", "produce", "-t", "x", "--partitions", "0"}, "--partitions must be at least 1"},
		{"zero producers", []string{"bench", "produce", "-t", "x", "--producers", "0"}, "--producers must be at least 1"},
		{"negative rate", []string{"bench", "produce", "-t", "x", "--rate", "-5"}, "--rate must be 0"},
		{"zero records", []string{"bench", "produce", "-t", "x", "--records", "0"}, "--records must be at least 1"},
		{"tiny batch bytes", []string{"bench", "produce", "-t", "x", "--batch-bytes", "100"}, "--batch-bytes must be between"},
		{"bad linger", []string{"bench", "produce", "-t", "x", "--linger", "soon"}, `invalid argument "soon"`},
		{"stray argument", []string{"bench", "produce", "-t", "x", "extra"}, `unexpected argument "extra"`},
		{"consume without topic", []string{"bench", "consume"}, "-t/--topic is required"},
		{"consume negative records", []string{"bench", "consume", "-t", "x", "--records", "-1"}, "--records must be 0"},
		{"e2e size too small", []string{"bench", "e2e", "-t", "x", "--size", "4"}, "--size must be at least 8"},
		{"e2e unlimited rate", []string{"bench", "e2e", "-t", "x", "--rate", "0"}, "--rate must be positive"},
		{"e2e zero duration", []string{"bench", "e2e", "-t", "x", "--duration", "0s"}, "--duration must be positive"},
		{"sync zero batch", []string{"bench", "sync-producers", "-t", "x", "--batch", "0"}, "--batch must be at least 1"},
		{"sync never ends", []string{"bench", "sync-producers", "-t", "x", "--duration", "0s"}, "give --records or --duration"},
		{"connections zero count", []string{"bench", "connections", "--count", "0"}, "--count must be at least 1"},
		{"connections zero parallel", []string{"bench", "connections", "--parallel", "0"}, "--parallel must be at least 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tc.args...)
			if code != exitUsage {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, exitUsage, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing (no result line for a bad command line)", stdout)
			}
			if !strings.Contains(stderr, tc.wantErr) {
				t.Errorf("stderr = %q, want it to mention %q", stderr, tc.wantErr)
			}
		})
	}
}

// parseBenchFlags parses args with the flags of one bench subcommand
// without running it.
func parseBenchFlags(t *testing.T, newCommand func(*clientConfig) *cobra.Command, args ...string) *cobra.Command {
	t.Helper()
	cmd := newCommand(&clientConfig{})
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return cmd
}

func TestBenchProducerFlags(t *testing.T) {
	tests := []struct {
		name           string
		args           []string
		wantIdempotent bool
		wantAcks       string
		wantPartitions int32
		wantLinger     time.Duration
		wantRate       float64
	}{
		{name: "defaults", args: nil, wantIdempotent: true, wantAcks: "all", wantPartitions: 6, wantLinger: 5 * time.Millisecond},
		{name: "acks 1 turns idempotence off", args: []string{"--acks", "1"}, wantIdempotent: false, wantAcks: "1", wantPartitions: 6, wantLinger: 5 * time.Millisecond},
		{name: "acks 0 turns idempotence off", args: []string{"--acks", "0"}, wantIdempotent: false, wantAcks: "0", wantPartitions: 6, wantLinger: 5 * time.Millisecond},
		{name: "explicitly not idempotent", args: []string{"--idempotent=false"}, wantIdempotent: false, wantAcks: "all", wantPartitions: 6, wantLinger: 5 * time.Millisecond},
		{name: "acks -1 is all", args: []string{"--acks", "-1", "--idempotent=true"}, wantIdempotent: true, wantAcks: "-1", wantPartitions: 6, wantLinger: 5 * time.Millisecond},
		{name: "everything", args: []string{"--partitions", "3", "--linger", "1ms", "--rate", "500", "--keyed", "--producers", "4", "-z", "zstd", "--batch-bytes", "16384"},
			wantIdempotent: true, wantAcks: "all", wantPartitions: 3, wantLinger: time.Millisecond, wantRate: 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := &benchProducerOptions{}
			cmd := &cobra.Command{Use: "produce"}
			opts.addFlags(cmd, benchProducerDefaults{linger: 5 * time.Millisecond, size: 1024, producers: 1})
			if err := cmd.ParseFlags(append([]string{"-t", "topic"}, tc.args...)); err != nil {
				t.Fatal(err)
			}
			if err := opts.validate(cmd.Flags().Changed); err != nil {
				t.Fatalf("validate: %v", err)
			}
			if opts.idempotent != tc.wantIdempotent || opts.acks != tc.wantAcks || opts.partitions != tc.wantPartitions ||
				opts.linger != tc.wantLinger || opts.rate != tc.wantRate {
				t.Errorf("got idempotent %v acks %s partitions %d linger %s rate %g",
					opts.idempotent, opts.acks, opts.partitions, opts.linger, opts.rate)
			}
			cl, err := kgo.NewClient(opts.clientOptions(time.Minute)...)
			if err != nil {
				t.Fatalf("kgo rejects the options: %v", err)
			}
			cl.Close()
		})
	}
}

func TestBenchWorkloadDefaults(t *testing.T) {
	tests := []struct {
		name  string
		cmd   func(*clientConfig) *cobra.Command
		flag  string
		value string
	}{
		{"e2e rate", newBenchE2ECommand, "rate", "1000"},
		{"e2e does not linger", newBenchE2ECommand, "linger", "0s"},
		{"e2e duration", newBenchE2ECommand, "duration", "20s"},
		{"sync producers", newBenchSyncProducersCommand, "producers", "64"},
		{"sync batch", newBenchSyncProducersCommand, "batch", "10"},
		{"produce records", newBenchProduceCommand, "records", "1000000"},
		{"produce linger", newBenchProduceCommand, "linger", "5ms"},
		{"produce unlimited", newBenchProduceCommand, "rate", "0"},
		{"connections count", newBenchConnectionsCommand, "count", "1000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := parseBenchFlags(t, tc.cmd)
			if got := cmd.Flags().Lookup(tc.flag).Value.String(); got != tc.value {
				t.Errorf("--%s defaults to %s, want %s", tc.flag, got, tc.value)
			}
		})
	}
}

func TestRecordBudget(t *testing.T) {
	tests := []struct {
		name   string
		limit  int64
		claims []int64
		want   []int64
	}{
		{"unlimited", 0, []int64{10, 10, 10}, []int64{10, 10, 10}},
		{"exact", 30, []int64{10, 10, 10, 10}, []int64{10, 10, 10, 0}},
		{"partial last", 25, []int64{10, 10, 10, 10}, []int64{10, 10, 5, 0}},
		{"smaller than a claim", 3, []int64{10, 10}, []int64{3, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &recordBudget{limit: tc.limit}
			var got []int64
			for _, c := range tc.claims {
				got = append(got, b.claim(c))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("claims %v gave %v, want %v", tc.claims, got, tc.want)
			}
		})
	}
}

func TestPacerSpacesEvents(t *testing.T) {
	const rate, events = 2000.0, 21 // 20 intervals of 0.5 ms = 10 ms at least
	p := newPacer(rate)
	start := time.Now()
	for range events {
		if err := p.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if elapsed := time.Since(start); elapsed < 10*time.Millisecond {
		t.Errorf("%d events at %g/s took %v, want at least 10ms", events, rate, elapsed)
	}

	unlimited := newPacer(0)
	for range 1000 {
		if err := unlimited.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	slow := newPacer(0.001)
	_ = slow.wait(ctx) // the first event is due at once
	if err := slow.wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("wait on a canceled context = %v, want context.Canceled", err)
	}
}

func TestBenchResultJSON(t *testing.T) {
	m := &benchMeter{}
	m.observe(2*time.Millisecond, 1000, 1<<20)
	m.observe(4*time.Millisecond, 1000, 1<<20)
	m.fail(3, errors.New("boom\nagain"))
	r := m.result("produce", 2*time.Second)
	if r.Records != 2000 || r.RecordsPerSec != 1000 || r.MiBPerSec != 1 || r.Errors != 3 {
		t.Errorf("result %+v", r)
	}
	// p50 is the top of 2 ms's bucket (within 1/128); max is exact.
	if r.P50Ms < 2 || r.P50Ms > 2*(1+1.0/subBucketCount) || r.MaxMs != 4 {
		t.Errorf("p50 %g max %g, want about 2 and exactly 4", r.P50Ms, r.MaxMs)
	}
	if r.FirstError != "boom; again" {
		t.Errorf("first error %q, want it on one line", r.FirstError)
	}
	line, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(line, &fields); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"workload", "records", "bytes", "seconds", "records_per_sec", "mib_per_sec",
		"p50_ms", "p99_ms", "p999_ms", "max_ms", "errors"} {
		if _, ok := fields[key]; !ok {
			t.Errorf("JSON line %s lacks %q", line, key)
		}
	}

	if empty := (&benchMeter{}).result("consume", 0); empty.RecordsPerSec != 0 || empty.P99Ms != 0 {
		t.Errorf("empty result %+v", empty)
	}
}

func TestFinishBench(t *testing.T) {
	tests := []struct {
		name        string
		fail        bool
		interrupted bool
		wantErr     error
	}{
		{name: "clean"},
		{name: "errors", fail: true, wantErr: errBenchTest},
		{name: "interrupted", interrupted: true, wantErr: errInterrupted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &benchMeter{}
			m.observe(time.Millisecond, 10, 100)
			if tc.fail {
				m.fail(1, errBenchTest)
			}
			cmd := &cobra.Command{}
			var out, errOut bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&errOut)
			err := finishBench(cmd, m, m.result("produce", time.Second), "ack latency", tc.interrupted)
			if (tc.wantErr == nil) != (err == nil) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if strings.Count(out.String(), "\n") != 1 || !strings.HasPrefix(out.String(), `{"workload":"produce"`) {
				t.Errorf("stdout = %q, want one JSON line", out.String())
			}
			if !strings.Contains(errOut.String(), "ack latency over 1 samples") {
				t.Errorf("stderr = %q, want the latency summary", errOut.String())
			}
		})
	}
}

// errBenchTest is a failure planted by tests.
var errBenchTest = errors.New("planted failure")

func TestRenderBenchProgress(t *testing.T) {
	got := renderBenchProgress("produce", 12*time.Second, 2*time.Second, 1_200_000, 200_000, 200<<20, 1)
	want := "produce  12s  1200000 records  100000 rec/s  100.00 MiB/s  1 errors"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := renderBenchProgress("e2e", 0, 0, 0, 0, 0, 0); !strings.Contains(got, "0 rec/s") {
		t.Errorf("zero interval: %q", got)
	}
}

func TestResponseBody(t *testing.T) {
	flexible := kmsg.NewPtrMetadataRequest()
	flexible.Version = 12
	fixed := kmsg.NewPtrMetadataRequest()
	fixed.Version = 8
	versions := kmsg.NewPtrApiVersionsRequest()
	versions.Version = 3 // flexible, but answered with a v0 header

	header := func(correlation int32, tail ...byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, uint32(correlation)), tail...)
	}
	tests := []struct {
		name    string
		frame   []byte
		req     kmsg.Request
		want    []byte
		wantErr bool
	}{
		{name: "v0 header", frame: header(7, 0xAA), req: fixed, want: []byte{0xAA}},
		{name: "flexible, no tags", frame: header(7, 0, 0xAA), req: flexible, want: []byte{0xAA}},
		{name: "flexible, one tag", frame: header(7, 1, 5, 2, 0x01, 0x02, 0xAA), req: flexible, want: []byte{0xAA}},
		{name: "ApiVersions keeps v0 header", frame: header(7, 0, 0xAA), req: versions, want: []byte{0, 0xAA}},
		{name: "wrong correlation", frame: header(8), req: fixed, wantErr: true},
		{name: "short", frame: []byte{0, 0}, req: fixed, wantErr: true},
		{name: "tag longer than frame", frame: header(7, 1, 5, 9, 0x01), req: flexible, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := responseBody(tc.frame, 7, tc.req)
			if tc.wantErr {
				if !errors.Is(err, errBadResponse) {
					t.Errorf("err = %v, want errBadResponse", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tc.want) {
				t.Errorf("got %x, %v; want %x", got, err, tc.want)
			}
		})
	}
}

// FuzzResponseBody checks that any frame either yields errBadResponse or a
// body that is a suffix of the frame, and never panics.
func FuzzResponseBody(f *testing.F) {
	f.Add([]byte{0, 0, 0, 7, 0, 1}, true)
	f.Add([]byte{0, 0, 0, 7, 1, 5, 2, 1, 2, 3}, true)
	f.Add([]byte{0, 0, 0, 7}, false)
	f.Fuzz(func(t *testing.T, frame []byte, flexible bool) {
		req := kmsg.NewPtrMetadataRequest()
		req.Version = 8
		if flexible {
			req.Version = 12
		}
		body, err := responseBody(frame, 7, req)
		if err != nil {
			if !errors.Is(err, errBadResponse) {
				t.Fatalf("error %v is not errBadResponse", err)
			}
			return
		}
		if !bytes.HasSuffix(frame, body) || len(body) > len(frame)-4 {
			t.Fatalf("body %x is not a suffix of frame %x past the correlation id", body, frame)
		}
	})
}
