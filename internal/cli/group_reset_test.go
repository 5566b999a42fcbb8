package cli

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseTopicPartitions(t *testing.T) {
	tests := []struct {
		spec           string
		wantTopic      string
		wantPartitions []int32
		wantErr        bool
	}{
		{spec: "orders", wantTopic: "orders"},
		{spec: "orders:0", wantTopic: "orders", wantPartitions: []int32{0}},
		{spec: "orders:2,0,1", wantTopic: "orders", wantPartitions: []int32{0, 1, 2}},
		{spec: "orders:1,1", wantTopic: "orders", wantPartitions: []int32{1}},
		{spec: "orders: 3, 4", wantTopic: "orders", wantPartitions: []int32{3, 4}},
		{spec: "my.topic-v2_x:5", wantTopic: "my.topic-v2_x", wantPartitions: []int32{5}},
		{spec: "", wantErr: true},
		{spec: ":0", wantErr: true},
		{spec: "orders:", wantErr: true},
		{spec: "orders:0,", wantErr: true},
		{spec: "orders:-1", wantErr: true},
		{spec: "orders:x", wantErr: true},
		{spec: "orders:1:2", wantErr: true},
		{spec: "orders:2147483648", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			topic, partitions, err := parseTopicPartitions(tc.spec)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseTopicPartitions(%q) = %q, %v, want an error", tc.spec, topic, partitions)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseTopicPartitions(%q): %v", tc.spec, err)
			}
			if topic != tc.wantTopic || !slices.Equal(partitions, tc.wantPartitions) {
				t.Errorf("parseTopicPartitions(%q) = %q, %v, want %q, %v", tc.spec, topic, partitions, tc.wantTopic, tc.wantPartitions)
			}
			if tc.wantPartitions == nil && partitions != nil {
				t.Errorf("a bare topic must give nil partitions (all of them), got %v", partitions)
			}
		})
	}
}

func TestParseResetScope(t *testing.T) {
	tests := []struct {
		name      string
		specs     []string
		allTopics bool
		want      resetScope
		wantErr   string
	}{
		{name: "all topics", allTopics: true, want: resetScope{allTopics: true}},
		{name: "one topic", specs: []string{"a"}, want: resetScope{topics: map[string][]int32{"a": nil}}},
		{
			name:  "partitions of two topics",
			specs: []string{"a:1", "b:0,2"},
			want:  resetScope{topics: map[string][]int32{"a": {1}, "b": {0, 2}}},
		},
		{
			name:  "repeated topic merges partitions",
			specs: []string{"a:3,1", "a:2,1"},
			want:  resetScope{topics: map[string][]int32{"a": {1, 2, 3}}},
		},
		{name: "whole topic wins after", specs: []string{"a:1", "a"}, want: resetScope{topics: map[string][]int32{"a": nil}}},
		{name: "whole topic wins before", specs: []string{"a", "a:1"}, want: resetScope{topics: map[string][]int32{"a": nil}}},
		{name: "neither", wantErr: "--topic TOPIC[:P,P...] (repeatable) or --all-topics"},
		{name: "both", specs: []string{"a"}, allTopics: true, wantErr: "cannot be combined"},
		{name: "bad spec", specs: []string{"a:x"}, wantErr: "--topic"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseResetScope(tc.specs, tc.allTopics)
			if tc.wantErr != "" {
				var usage usageError
				if !errors.As(err, &usage) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want a usage error mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.allTopics != tc.want.allTopics || len(got.topics) != len(tc.want.topics) {
				t.Fatalf("scope = %+v, want %+v", got, tc.want)
			}
			for topic, want := range tc.want.topics {
				partitions, ok := got.topics[topic]
				if !ok || !slices.Equal(partitions, want) || (want == nil) != (partitions == nil) {
					t.Errorf("topic %q: partitions = %v (present %v), want %v", topic, partitions, ok, want)
				}
			}
		})
	}
}

func TestParseResetTarget(t *testing.T) {
	may1 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	tests := []struct {
		name    string
		flags   resetTargetFlags
		want    resetTarget
		wantErr string
	}{
		{name: "earliest", flags: resetTargetFlags{earliest: true}, want: resetTarget{kind: resetToEarliest}},
		{name: "latest", flags: resetTargetFlags{latest: true}, want: resetTarget{kind: resetToLatest}},
		{name: "offset", flags: resetTargetFlags{offset: new(int64(42))}, want: resetTarget{kind: resetToOffset, value: 42}},
		{name: "offset zero", flags: resetTargetFlags{offset: new(int64(0))}, want: resetTarget{kind: resetToOffset, value: 0}},
		{name: "negative offset is clamped later", flags: resetTargetFlags{offset: new(int64(-3))}, want: resetTarget{kind: resetToOffset, value: -3}},
		{name: "timestamp", flags: resetTargetFlags{timestamp: new(int64(1700000000000))}, want: resetTarget{kind: resetToTimestamp, value: 1700000000000}},
		{name: "datetime UTC", flags: resetTargetFlags{datetime: new("2024-05-01T12:00:00Z")}, want: resetTarget{kind: resetToTimestamp, value: may1}},
		{name: "datetime with zone", flags: resetTargetFlags{datetime: new("2024-05-01T14:00:00+02:00")}, want: resetTarget{kind: resetToTimestamp, value: may1}},
		{name: "datetime with fraction", flags: resetTargetFlags{datetime: new("2024-05-01T12:00:00.250Z")}, want: resetTarget{kind: resetToTimestamp, value: may1 + 250}},
		{name: "shift forward", flags: resetTargetFlags{shiftBy: new(int64(5))}, want: resetTarget{kind: resetShiftBy, value: 5}},
		{name: "shift back", flags: resetTargetFlags{shiftBy: new(int64(-5))}, want: resetTarget{kind: resetShiftBy, value: -5}},
		{name: "none", wantErr: "one of --to-earliest"},
		{name: "two", flags: resetTargetFlags{earliest: true, shiftBy: new(int64(1))}, wantErr: "--to-earliest, --shift-by cannot be combined"},
		{name: "datetime and timestamp", flags: resetTargetFlags{datetime: new("2024-05-01T12:00:00Z"), timestamp: new(int64(1))}, wantErr: "cannot be combined"},
		{name: "datetime without zone", flags: resetTargetFlags{datetime: new("2024-05-01T12:00:00")}, wantErr: "want RFC 3339"},
		{name: "datetime garbage", flags: resetTargetFlags{datetime: new("yesterday")}, wantErr: "want RFC 3339"},
		{name: "datetime before 1970", flags: resetTargetFlags{datetime: new("1969-12-31T23:59:59Z")}, wantErr: "before 1970"},
		{name: "negative timestamp", flags: resetTargetFlags{timestamp: new(int64(-1))}, wantErr: "before 1970"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseResetTarget(tc.flags)
			if tc.wantErr != "" {
				var usage usageError
				if !errors.As(err, &usage) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want a usage error mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("target = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestPlanReset(t *testing.T) {
	// a-0 holds [100, 200) and the group committed 150; a-1 holds [0, 10)
	// with nothing committed; b-0 is empty at 50 with 50 committed.
	a0, a1, b0 := topicPartition{"a", 0}, topicPartition{"a", 1}, topicPartition{"b", 0}
	partitions := []topicPartition{a0, a1, b0}
	committed := map[topicPartition]int64{a0: 150, b0: 50}
	bounds := map[topicPartition]partitionBounds{
		a0: {start: 100, end: 200, atTime: 170},
		a1: {start: 0, end: 10, atTime: -1},
		b0: {start: 50, end: 50, atTime: -1},
	}
	tests := []struct {
		name    string
		target  resetTarget
		want    []int64 // new offsets of a0, a1, b0
		wantErr error
	}{
		{"earliest", resetTarget{kind: resetToEarliest}, []int64{100, 0, 50}, nil},
		{"latest", resetTarget{kind: resetToLatest}, []int64{200, 10, 50}, nil},
		{"offset inside some logs", resetTarget{kind: resetToOffset, value: 5}, []int64{100, 5, 50}, nil},
		{"offset past every end", resetTarget{kind: resetToOffset, value: 1000}, []int64{200, 10, 50}, nil},
		{"negative offset", resetTarget{kind: resetToOffset, value: -1}, []int64{100, 0, 50}, nil},
		{"time: none after means end", resetTarget{kind: resetToTimestamp, value: 1}, []int64{170, 10, 50}, nil},
		{"shift without a commit fails", resetTarget{kind: resetShiftBy, value: 1}, nil, errNoCommittedOffset},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := planReset(tc.target, partitions, committed, bounds)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error = %v, want %v", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), `topic "a": partition 1`) {
					t.Errorf("error %q should name the partition", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for i, r := range plan {
				if r.topicPartition != partitions[i] {
					t.Errorf("plan[%d] is %v, want %v (order kept)", i, r.topicPartition, partitions[i])
				}
				got = append(got, r.next)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("new offsets = %v, want %v", got, tc.want)
			}
			if plan[0].current != 150 || plan[1].current != -1 || plan[2].current != 50 {
				t.Errorf("current offsets = %d %d %d, want 150 -1 50", plan[0].current, plan[1].current, plan[2].current)
			}
		})
	}

	shifts := []struct {
		name  string
		shift int64
		want  int64
	}{
		{"forward", 20, 170},
		{"back", -20, 130},
		{"past the end", 1000, 200},
		{"before the start", -1000, 100},
		{"huge forward does not wrap", math.MaxInt64, 200},
		{"huge back does not wrap", math.MinInt64, 100},
	}
	for _, tc := range shifts {
		t.Run("shift "+tc.name, func(t *testing.T) {
			plan, err := planReset(resetTarget{kind: resetShiftBy, value: tc.shift}, []topicPartition{a0}, committed, bounds)
			if err != nil {
				t.Fatal(err)
			}
			if plan[0].next != tc.want {
				t.Errorf("shift %d from 150 in [100, 200] = %d, want %d", tc.shift, plan[0].next, tc.want)
			}
		})
	}

	t.Run("unknown bounds", func(t *testing.T) {
		_, err := planReset(resetTarget{kind: resetToLatest}, []topicPartition{{"c", 0}}, committed, bounds)
		if err == nil || !strings.Contains(err.Error(), `topic "c": partition 0`) {
			t.Errorf("error = %v, want one naming c-0", err)
		}
	})
}

func TestClampOffset(t *testing.T) {
	tests := []struct{ offset, start, end, want int64 }{
		{5, 0, 10, 5},
		{-1, 0, 10, 0},
		{11, 0, 10, 10},
		{3, 5, 5, 5},
		{math.MaxInt64, 5, 9, 9},
		{math.MinInt64, 5, 9, 5},
	}
	for _, tc := range tests {
		if got := clampOffset(tc.offset, tc.start, tc.end); got != tc.want {
			t.Errorf("clampOffset(%d, %d, %d) = %d, want %d", tc.offset, tc.start, tc.end, got, tc.want)
		}
	}
}

func TestWriteResetPlan(t *testing.T) {
	plan := []offsetReset{
		{topicPartition: topicPartition{"orders", 0}, current: 9, next: 0},
		{topicPartition: topicPartition{"orders", 1}, current: -1, next: 42},
		{topicPartition: topicPartition{"payments-eu", 12}, current: 1234567, next: 1234000},
	}
	const table = "" +
		"TOPIC        PARTITION  CURRENT-OFFSET  NEW-OFFSET\n" +
		"orders       0          9               0\n" +
		"orders       1          -               42\n" +
		"payments-eu  12         1234567         1234000\n"
	tests := []struct {
		name     string
		executed bool
		want     string
	}{
		{"dry run", false, table + "dry run: nothing committed; add --execute to commit these offsets to group \"G\"\n"},
		{"executed", true, table + "committed new offsets for 3 partition(s) of group \"G\"\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			if err := writeResetPlan(&out, "G", plan, tc.executed); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("output:\n%s\nwant:\n%s", out.String(), tc.want)
			}
		})
	}
}
