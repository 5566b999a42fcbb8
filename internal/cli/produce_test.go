package cli

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestSplitKey(t *testing.T) {
	tests := []struct {
		name      string
		line      string
		separator string
		wantKey   *string // nil: the record has no key
		wantValue string
	}{
		{"no separator flag", "a:b", "", nil, "a:b"},
		{"split at first", "k:v:w", ":", ptr("k"), "v:w"},
		{"separator missing", "value only", ":", nil, "value only"},
		{"empty key", ":v", ":", ptr(""), "v"},
		{"empty value", "k:", ":", ptr("k"), ""},
		{"multi-byte separator", "k=>v", "=>", ptr("k"), "v"},
		{"tab separator", "k\tv", "\t", ptr("k"), "v"},
		{"empty line", "", ":", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, value := splitKey([]byte(tc.line), tc.separator)
			switch {
			case tc.wantKey == nil && key != nil:
				t.Errorf("key = %q, want no key", key)
			case tc.wantKey != nil && (key == nil || string(key) != *tc.wantKey):
				t.Errorf("key = %q (nil %v), want %q", key, key == nil, *tc.wantKey)
			}
			if string(value) != tc.wantValue {
				t.Errorf("value = %q, want %q", value, tc.wantValue)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestParseHeaders(t *testing.T) {
	tests := []struct {
		name    string
		pairs   []string
		want    []kgo.RecordHeader
		wantErr bool
	}{
		{name: "none", pairs: nil, want: nil},
		{name: "ordered", pairs: []string{"b=2", "a=1"}, want: []kgo.RecordHeader{
			{Key: "b", Value: []byte("2")}, {Key: "a", Value: []byte("1")},
		}},
		{name: "value with equals", pairs: []string{"q=x=y"}, want: []kgo.RecordHeader{{Key: "q", Value: []byte("x=y")}}},
		{name: "empty value", pairs: []string{"k="}, want: []kgo.RecordHeader{{Key: "k", Value: []byte{}}}},
		{name: "repeated key kept", pairs: []string{"k=1", "k=2"}, want: []kgo.RecordHeader{
			{Key: "k", Value: []byte("1")}, {Key: "k", Value: []byte("2")},
		}},
		{name: "missing equals", pairs: []string{"novalue"}, wantErr: true},
		{name: "empty key", pairs: []string{"=v"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseHeaders(tc.pairs)
			if tc.wantErr {
				var usage usageError
				if !errors.As(err, &usage) {
					t.Fatalf("parseHeaders(%q) error = %v, want a usage error", tc.pairs, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseHeaders(%q): %v", tc.pairs, err)
			}
			equal := slices.EqualFunc(got, tc.want, func(a, b kgo.RecordHeader) bool {
				return a.Key == b.Key && string(a.Value) == string(b.Value)
			})
			if !equal {
				t.Errorf("parseHeaders(%q) = %v, want %v", tc.pairs, got, tc.want)
			}
		})
	}
}

func TestReadLines(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"empty input", "", nil},
		{"one line", "a\n", []string{"a"}},
		{"last line without newline", "a\nb", []string{"a", "b"}},
		{"empty lines are records", "a\n\nb\n", []string{"a", "", "b"}},
		{"only a newline", "\n", []string{""}},
		{"carriage return is data", "a\r\n", []string{"a\r"}},
		{"long line", strings.Repeat("x", 200_000) + "\n", []string{strings.Repeat("x", 200_000)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tally := &produceTally{}
			lines := readLines(context.Background(), strings.NewReader(tc.input), tally)
			var got []string
			for line := range lines.out {
				got = append(got, string(line))
			}
			<-lines.done
			lines.stop()
			if err := lines.readErr(); err != nil {
				t.Fatalf("readErr: %v", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("lines = %q, want %q", got, tc.want)
			}
			if n := tally.bytesRead.Load(); n != int64(len(tc.input)) {
				t.Errorf("bytesRead = %d, want %d", n, len(tc.input))
			}
		})
	}
}

func TestProduceClientOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    produceOptions
		wantErr bool
	}{
		{name: "defaults", opts: produceOptions{acks: "all", compression: "none", partition: -1}},
		{name: "acks 1 with zstd", opts: produceOptions{acks: "1", compression: "zstd", partition: -1}},
		{name: "acks 0 with lz4", opts: produceOptions{acks: "0", compression: "LZ4", partition: 2}},
		{name: "bad acks", opts: produceOptions{acks: "2", compression: "none", partition: -1}, wantErr: true},
		{name: "bad compression", opts: produceOptions{acks: "all", compression: "brotli", partition: -1}, wantErr: true},
		{name: "negative partition", opts: produceOptions{acks: "all", compression: "none", partition: -5}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A short --timeout must still give options kgo accepts.
			opts, err := tc.opts.clientOptions(100 * time.Millisecond)
			if tc.wantErr != (err != nil) {
				t.Fatalf("clientOptions error = %v, want error %v", err, tc.wantErr)
			}
			if err == nil {
				cl, err := kgo.NewClient(append(opts, kgo.SeedBrokers("127.0.0.1:1"))...)
				if err != nil {
					t.Fatalf("kgo rejects the options: %v", err)
				}
				cl.Close()
			}
			var usage usageError
			if err != nil && !errors.As(err, &usage) {
				t.Errorf("error %v is not a usage error", err)
			}
		})
	}
}

func TestRenderProgress(t *testing.T) {
	tests := []struct {
		name    string
		done    int64
		total   int64
		records int64
		elapsed time.Duration
		want    string
	}{
		{"start", 0, 2048, 0, 0, "[                              ]   0%  0 B / 2.0 KiB  0 rec/s"},
		{"half", 1 << 20, 2 << 20, 600, 500 * time.Millisecond, "[###############               ]  50%  1.0 MiB / 2.0 MiB  1200 rec/s"},
		{"done", 3 << 30, 3 << 30, 10, 10 * time.Second, "[##############################] 100%  3.0 GiB / 3.0 GiB  1 rec/s"},
		{"file grew past its size", 300, 200, 1, time.Second, "[##############################] 100%  300 B / 200 B  1 rec/s"},
		{"unknown size", 10, 0, 1, time.Second, "[##############################] 100%  10 B / 0 B  1 rec/s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := renderProgress(tc.done, tc.total, tc.records, tc.elapsed)
			if got != tc.want {
				t.Errorf("renderProgress =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{5 << 40, "5.0 TiB"},
		{5000 << 40, "5000.0 TiB"},
	}
	for _, tc := range tests {
		if got := formatBytes(tc.n); got != tc.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
