package protocol

import (
	"math"
	"testing"
)

func TestPartitionForMatchesKafka(t *testing.T) {
	// Expected values computed with Java's String.hashCode and Kafka's
	// Utils.abs(hash) % 50.
	tests := []struct {
		group string
		hash  int32
		part  int32
	}{
		{"", 0, 0},
		{"hello", 99162322, 22},
		{"Aa", 2112, 12},
		{"BB", 2112, 12},
		{"polygenelubricants", math.MinInt32, 0}, // Utils.abs(MIN_VALUE) is 0
		{"my-group", -1906497762, 12},
		{"console-consumer-12345", 158455506, 6},
		{"😀", 1772899, 49}, // a surrogate pair in UTF-16
		{"grüße", 98768023, 23},
	}
	for _, tc := range tests {
		if got := javaStringHash(tc.group); got != tc.hash {
			t.Errorf("hash(%q) = %d, want %d", tc.group, got, tc.hash)
		}
		if got := CoordinatorPartition(tc.group, 50); got != tc.part {
			t.Errorf("CoordinatorPartition(%q) = %d, want %d", tc.group, got, tc.part)
		}
	}
}
