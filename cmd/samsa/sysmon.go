package main

import (
	"log/slog"
	"os"
	"strings"
)

// sysmonAwakeGODEBUG keeps the Go runtime's sysmon thread out of its deep
// sleep. sysmon sleeps deeply whenever every P is idle, and then the first
// system call after the broker becomes busy again wakes it (a futex wake of
// another thread), after which it polls every 20 µs until the broker is idle
// again. A broker serving a steady trickle of requests goes idle and busy
// thousands of times a second, and on a virtual machine each of those
// cross-CPU wake-ups costs an exit to the hypervisor: measured at 1,000
// records/s, sysmon used ~30 % of the broker's CPU. While schedtrace is set,
// the runtime never lets sysmon sleep deeply (it must print the trace on
// time); sysmon then backs off to one wake-up every 10 ms when there is
// nothing to do. The interval is the largest the runtime accepts, 24.8 days
// of monotonic clock, so no trace is printed before the host has been up
// that long, and then one line per 24.8 days.
const sysmonAwakeGODEBUG = "schedtrace=2147483647"

// keepSysmonAwake re-executes the running binary in place (same process id,
// same arguments) with sysmonAwakeGODEBUG added to GODEBUG: the runtime
// reads that setting only at start-up. It does nothing when GODEBUG already
// sets schedtrace (this is the re-executed process, or the user chose a
// value), and logs and carries on when the re-execution is not possible.
// It must run before the broker opens files or starts goroutines.
func keepSysmonAwake(logger *slog.Logger) {
	godebug := os.Getenv("GODEBUG")
	for _, setting := range strings.Split(godebug, ",") {
		if strings.HasPrefix(strings.TrimSpace(setting), "schedtrace=") {
			return
		}
	}
	if godebug != "" {
		godebug += ","
	}
	godebug += sysmonAwakeGODEBUG
	if err := reexec("GODEBUG", godebug); err != nil {
		logger.Warn("could not keep the Go runtime's sysmon awake; running without", "err", err)
	}
}
