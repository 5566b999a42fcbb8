//go:build !unix && !windows

package broker

import "os"

// lockFile does nothing where the platform has no advisory locks (wasm,
// plan9): nothing then stops a second broker from opening the same data.
func lockFile(*os.File) (held bool, err error) { return false, nil }
