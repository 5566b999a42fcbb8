//go:build unix

package main

import "syscall"

// flushDirtyPages writes every dirty page of the system to disk (sync(2)).
func flushDirtyPages() { syscall.Sync() }
