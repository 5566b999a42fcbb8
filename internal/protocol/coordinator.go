package protocol

import (
	"math"
	"unicode/utf16"
)

// CoordinatorPartition is the partition of an internal topic that holds a
// coordinator key (a group id in __consumer_offsets, a transactional id in
// __transaction_state): Kafka's Utils.abs(key.hashCode()) % partitions, so
// tools that compute it themselves agree with the broker.
func CoordinatorPartition(key string, partitions int32) int32 {
	h := javaStringHash(key)
	switch {
	case h == math.MinInt32:
		h = 0 // Kafka's Utils.abs maps MIN_VALUE to 0
	case h < 0:
		h = -h
	}
	return h % partitions
}

// javaStringHash is Java's String.hashCode: 31*h + c over UTF-16 code units.
// Invalid UTF-8 decodes to U+FFFD, as a Java decoder would replace it.
func javaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			hi, lo := utf16.EncodeRune(r)
			h = 31*h + hi
			h = 31*h + lo
			continue
		}
		h = 31*h + r
	}
	return h
}
