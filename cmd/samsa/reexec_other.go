//go:build !linux

package main

import "errors"

// reexec is only needed (and only measured) on Linux.
func reexec(string, string) error { return errors.New("not supported on this platform") }
