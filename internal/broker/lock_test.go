package broker

import (
	"errors"
	"testing"
)

func TestLockDataDirRefusesASecondHolder(t *testing.T) {
	dir := t.TempDir()
	first, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("first lock: %v", err)
	}
	if second, err := lockDataDir(dir); !errors.Is(err, ErrDataDirLocked) {
		if second != nil {
			second.Close()
		}
		t.Fatalf("second lock while the first is held: err = %v, want ErrDataDirLocked", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after the first holder closed: %v", err)
	}
	again.Close()
}
