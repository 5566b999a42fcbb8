package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// reexecMarker is set in the environment of a re-executed broker, so that
// it never re-executes again, whatever its GODEBUG turns out to be.
const reexecMarker = "SAMSA_REEXECUTED"

// reexec replaces the process image with the same executable and arguments
// and the environment with name set to value (replacing every earlier
// value: Go reads the first). It returns only on failure or when the
// process was already re-executed once.
func reexec(name, value string) error {
	if os.Getenv(reexecMarker) != "" {
		return fmt.Errorf("already re-executed once (%s is set)", reexecMarker)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, name+"=") {
			env = append(env, kv)
		}
	}
	env = append(env, name+"="+value, reexecMarker+"=1")
	if err := syscall.Exec(exe, os.Args, env); err != nil {
		return fmt.Errorf("exec %s: %w", exe, err)
	}
	return nil
}
