package handler

import (
	"math"
	"testing"
	"time"
)

// A request's milliseconds saturate rather than overflow: an expiry period
// of MaxInt64 is "as long as the token may live", not a negative period that
// would remove it.
func TestMillisDuration(t *testing.T) {
	for _, tc := range []struct {
		ms   int64
		want time.Duration
	}{
		{0, 0},
		{1500, 1500 * time.Millisecond},
		{-1, -time.Millisecond},
		{math.MaxInt64, time.Duration(math.MaxInt64/int64(time.Millisecond)) * time.Millisecond},
		{math.MinInt64, -time.Duration(math.MaxInt64/int64(time.Millisecond)) * time.Millisecond},
	} {
		if got := millisDuration(tc.ms); got != tc.want {
			t.Errorf("millisDuration(%d) = %v, want %v", tc.ms, got, tc.want)
		}
	}
}
