package cli

import (
	"slices"
	"testing"
)

func TestParseOffsetSpec(t *testing.T) {
	tests := []struct {
		in      string
		want    offsetSpec
		wantErr bool
	}{
		{in: "beginning", want: offsetSpec{kind: offsetBeginning}},
		{in: "earliest", want: offsetSpec{kind: offsetBeginning}},
		{in: "END", want: offsetSpec{kind: offsetEnd}},
		{in: "latest", want: offsetSpec{kind: offsetEnd}},
		{in: "0", want: offsetSpec{kind: offsetExact, value: 0}},
		{in: "12345", want: offsetSpec{kind: offsetExact, value: 12345}},
		{in: "-10", want: offsetSpec{kind: offsetFromEnd, value: 10}},
		{in: "-0", want: offsetSpec{kind: offsetFromEnd, value: 0}},
		{in: "@1700000000000", want: offsetSpec{kind: offsetTimestamp, value: 1700000000000}},
		{in: "@0", want: offsetSpec{kind: offsetTimestamp, value: 0}},
		{in: "", wantErr: true},
		{in: "begin", wantErr: true},
		{in: "+5", wantErr: true},
		{in: "--5", wantErr: true},
		{in: "-", wantErr: true},
		{in: "-+5", wantErr: true},
		{in: "@", wantErr: true},
		{in: "@-5", wantErr: true},
		{in: "1.5", wantErr: true},
		{in: "99999999999999999999", wantErr: true},
		{in: "12abc", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseOffsetSpec(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseOffsetSpec(%q) = %+v, want error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseOffsetSpec(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("parseOffsetSpec(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestResolveStart(t *testing.T) {
	// Partition 0 holds offsets [100, 200); partition 1 is empty at 50.
	layout := partitionLayout{
		partitions: []int32{0, 1},
		starts:     map[int32]int64{0: 100, 1: 50},
		ends:       map[int32]int64{0: 200, 1: 50},
		afterMilli: map[int32]int64{0: 150, 1: -1},
	}
	tests := []struct {
		name      string
		spec      offsetSpec
		partition int32
		want      int64
	}{
		{"beginning", offsetSpec{kind: offsetBeginning}, 0, 100},
		{"end", offsetSpec{kind: offsetEnd}, 0, 200},
		{"exact inside", offsetSpec{kind: offsetExact, value: 123}, 0, 123},
		{"exact before log start is clamped", offsetSpec{kind: offsetExact, value: 5}, 0, 100},
		{"exact past the end is clamped", offsetSpec{kind: offsetExact, value: 999}, 0, 200},
		{"from end", offsetSpec{kind: offsetFromEnd, value: 10}, 0, 190},
		{"from end further than the log", offsetSpec{kind: offsetFromEnd, value: 1000}, 0, 100},
		{"from end zero", offsetSpec{kind: offsetFromEnd, value: 0}, 0, 200},
		{"timestamp", offsetSpec{kind: offsetTimestamp, value: 1}, 0, 150},
		{"timestamp after every record", offsetSpec{kind: offsetTimestamp, value: 1}, 1, 50},
		{"empty partition from end", offsetSpec{kind: offsetFromEnd, value: 3}, 1, 50},
		{"unknown partition", offsetSpec{kind: offsetBeginning}, 9, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := layout.resolveStart(tc.spec, tc.partition); got != tc.want {
				t.Errorf("resolveStart(%+v, %d) = %d, want %d", tc.spec, tc.partition, got, tc.want)
			}
		})
	}
}

func TestResetOffset(t *testing.T) {
	// kgo.Offset is opaque; its String form is the only way to inspect it.
	tests := []struct {
		spec offsetSpec
		want string
	}{
		{offsetSpec{kind: offsetBeginning}, "{-2 e-1 ce0}"},
		{offsetSpec{kind: offsetEnd}, "{-1 e-1 ce0}"},
		{offsetSpec{kind: offsetExact, value: 7}, "{7 e-1 ce0}"},
		{offsetSpec{kind: offsetFromEnd, value: 3}, "{-1-3 e-1 ce0}"},
		{offsetSpec{kind: offsetTimestamp, value: 1000}, "{1000 e-1 ce0}"},
	}
	for _, tc := range tests {
		if got := tc.spec.resetOffset().String(); got != tc.want {
			t.Errorf("%+v.resetOffset() = %s, want %s", tc.spec, got, tc.want)
		}
	}
}

// trackerEvent is one step fed to an endTracker in TestEndTracker.
type trackerEvent struct {
	assign   []int32
	revoke   []int32
	position map[int32]int64
	observe  map[int32]int64 // partition → record offset
	wantDone bool
}

func TestEndTracker(t *testing.T) {
	targets := map[int32]int64{0: 10, 1: 0, 2: 5}
	tests := []struct {
		name   string
		events []trackerEvent
	}{
		{"nothing assigned yet is not done", []trackerEvent{
			{wantDone: false},
		}},
		{"empty assignment is not done", []trackerEvent{
			{assign: []int32{}, wantDone: false},
		}},
		{"start at the end", []trackerEvent{
			{assign: []int32{0}, position: map[int32]int64{0: 10}, wantDone: true},
		}},
		{"unknown position blocks", []trackerEvent{
			{assign: []int32{1}, wantDone: false},
			{position: map[int32]int64{1: 0}, wantDone: true},
		}},
		{"records advance to the target", []trackerEvent{
			{assign: []int32{0, 2}, position: map[int32]int64{0: 8, 2: 5}, wantDone: false},
			{observe: map[int32]int64{0: 8}, wantDone: false},
			{observe: map[int32]int64{0: 9}, wantDone: true},
		}},
		{"a record proves an unknown position", []trackerEvent{
			{assign: []int32{0}, wantDone: false},
			{observe: map[int32]int64{0: 9}, wantDone: true},
		}},
		{"setPosition does not move backwards", []trackerEvent{
			{assign: []int32{0}, position: map[int32]int64{0: 0}},
			{observe: map[int32]int64{0: 9}, wantDone: true},
			{position: map[int32]int64{0: 3}, wantDone: true},
		}},
		{"records of partitions not held are ignored", []trackerEvent{
			{assign: []int32{2}, position: map[int32]int64{2: 0}},
			{observe: map[int32]int64{0: 100}, wantDone: false},
			{observe: map[int32]int64{2: 4}, wantDone: true},
		}},
		{"revoking a lagging partition finishes", []trackerEvent{
			{assign: []int32{0, 2}, position: map[int32]int64{0: 0, 2: 5}, wantDone: false},
			{revoke: []int32{0}, wantDone: true},
		}},
		{"revoking everything waits for the next assignment", []trackerEvent{
			{assign: []int32{2}, position: map[int32]int64{2: 5}, wantDone: true},
			{revoke: []int32{2}, wantDone: false},
		}},
		{"reassignment starts over unknown", []trackerEvent{
			{assign: []int32{0}, position: map[int32]int64{0: 10}, wantDone: true},
			{revoke: []int32{0}},
			{assign: []int32{0}, wantDone: false},
		}},
		{"partition created after start has target zero", []trackerEvent{
			{assign: []int32{7}, position: map[int32]int64{7: 0}, wantDone: true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tracker := newEndTracker(targets)
			for i, ev := range tc.events {
				if ev.assign != nil {
					tracker.assign(ev.assign)
				}
				tracker.revoke(ev.revoke)
				for p, next := range ev.position {
					tracker.setPosition(p, next)
				}
				for p, offset := range ev.observe {
					tracker.observe(p, offset)
				}
				if got := tracker.done(); got != ev.wantDone {
					t.Fatalf("after event %d (%+v): done = %v, want %v", i, ev, got, ev.wantDone)
				}
			}
		})
	}
}

func TestEndTrackerUnknownPositions(t *testing.T) {
	tracker := newEndTracker(nil)
	tracker.assign([]int32{3, 1, 2})
	tracker.setPosition(2, 0)
	got := tracker.unknownPositions()
	slices.Sort(got)
	if want := []int32{1, 3}; !slices.Equal(got, want) {
		t.Errorf("unknownPositions = %v, want %v", got, want)
	}
}
