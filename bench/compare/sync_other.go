//go:build !unix

package main

// flushDirtyPages does nothing where sync(2) is missing; the harness needs
// Linux's /proc for its measurements anyway.
func flushDirtyPages() {}
