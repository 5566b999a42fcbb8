package cli

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestParseKeyValue(t *testing.T) {
	tests := []struct {
		in        string
		wantKey   string
		wantValue string
		wantErr   bool
	}{
		{in: "retention.ms=1000", wantKey: "retention.ms", wantValue: "1000"},
		{in: "cleanup.policy=compact,delete", wantKey: "cleanup.policy", wantValue: "compact,delete"},
		{in: "k=a=b", wantKey: "k", wantValue: "a=b"},
		{in: "k=", wantKey: "k", wantValue: ""},
		{in: "k", wantErr: true},
		{in: "=v", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			key, value, err := parseKeyValue(tc.in)
			if tc.wantErr != (err != nil) {
				t.Fatalf("parseKeyValue(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if key != tc.wantKey || value != tc.wantValue {
				t.Errorf("parseKeyValue(%q) = %q, %q, want %q, %q", tc.in, key, value, tc.wantKey, tc.wantValue)
			}
		})
	}
}

func TestParseConfigPairs(t *testing.T) {
	tests := []struct {
		name    string
		pairs   []string
		want    map[string]string
		wantErr bool
	}{
		{name: "none", pairs: nil, want: nil},
		{name: "two", pairs: []string{"a=1", "b=x,y"}, want: map[string]string{"a": "1", "b": "x,y"}},
		{name: "duplicate key", pairs: []string{"a=1", "a=2"}, wantErr: true},
		{name: "not a pair", pairs: []string{"a"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseConfigPairs(tc.pairs)
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
			if len(got) != len(tc.want) {
				t.Fatalf("got %d configs, want %d", len(got), len(tc.want))
			}
			for k, v := range tc.want {
				if got[k] == nil || *got[k] != v {
					t.Errorf("config %q = %v, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestConfigAlterations(t *testing.T) {
	alters, err := configAlterations([]string{"retention.ms=5", "x=a=b"}, []string{"segment.bytes"})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		op    kadm.IncrementalOp
		name  string
		value *string
	}{
		{kadm.SetConfig, "retention.ms", ptr("5")},
		{kadm.SetConfig, "x", ptr("a=b")},
		{kadm.DeleteConfig, "segment.bytes", nil},
	}
	if len(alters) != len(want) {
		t.Fatalf("got %d alterations, want %d", len(alters), len(want))
	}
	for i, w := range want {
		a := alters[i]
		if a.Op != w.op || a.Name != w.name || (a.Value == nil) != (w.value == nil) || (a.Value != nil && *a.Value != *w.value) {
			t.Errorf("alteration %d = %+v, want %+v", i, a, w)
		}
	}

	for _, bad := range []struct {
		name    string
		sets    []string
		deletes []string
	}{
		{"nothing", nil, nil},
		{"set without value", []string{"k"}, nil},
		{"delete with value", nil, []string{"k=v"}},
		{"delete empty", nil, []string{""}},
	} {
		t.Run(bad.name, func(t *testing.T) {
			var usage usageError
			if _, err := configAlterations(bad.sets, bad.deletes); !errors.As(err, &usage) {
				t.Errorf("error = %v, want a usage error", err)
			}
		})
	}
}

func TestNonDefaultConfigs(t *testing.T) {
	configs := []kadm.Config{
		{Key: "segment.bytes", Source: kmsg.ConfigSourceDefaultConfig},
		{Key: "retention.ms", Source: kmsg.ConfigSourceDynamicTopicConfig},
		{Key: "cleanup.policy", Source: kmsg.ConfigSourceStaticBrokerConfig},
		{Key: "odd", Source: kmsg.ConfigSourceUnknown},
	}
	got := nonDefaultConfigs(configs)
	var keys []string
	for _, c := range got {
		keys = append(keys, c.Key)
	}
	if want := []string{"cleanup.policy", "retention.ms"}; len(keys) != 2 || keys[0] != want[0] || keys[1] != want[1] {
		t.Errorf("nonDefaultConfigs keys = %v, want %v", keys, want)
	}
}

func TestFormatTopicID(t *testing.T) {
	if got := formatTopicID(kadm.TopicID{}); got != "-" {
		t.Errorf("zero ID = %q, want -", got)
	}
	id := kadm.TopicID{0xfb, 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
	if got, want := formatTopicID(id), "-_8BAgMEBQYHCAkKCwwNDg"; got != want {
		t.Errorf("formatTopicID = %q, want %q", got, want)
	}
}
