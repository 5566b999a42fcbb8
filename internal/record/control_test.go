package record

import (
	"errors"
	"testing"
)

func TestBuildControlRoundTrip(t *testing.T) {
	for _, commit := range []bool{true, false} {
		b := BuildControl(42, 3, commit, 0, 1_700_000_000_000)
		h, err := Validate(b)
		if err != nil {
			t.Fatalf("commit=%v: invalid marker batch: %v", commit, err)
		}
		if !h.IsControl() || !h.IsTransactional() || h.ProducerID != 42 || h.ProducerEpoch != 3 || h.NumRecords != 1 {
			t.Fatalf("commit=%v: header %+v", commit, h)
		}
		got, err := MarkerType(b)
		if err != nil || got != commit {
			t.Fatalf("MarkerType = %v, %v; want %v", got, err, commit)
		}
	}
	if _, err := MarkerType(Build(sampleSpec())); !errors.Is(err, ErrNotMarker) {
		t.Fatalf("data batch: err = %v, want ErrNotMarker", err)
	}
}
