package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// workload is one of the standard benchmark workloads, run with
// `samsa bench`.
type workload struct {
	name  string // W1, W2, ...
	title string // what it does, for the report
	// fsyncAlways runs it on a Samsa started with --fsync always (kfake has
	// no such setting and runs unchanged).
	fsyncAlways bool
	// needs names a workload that must run before it on the same broker
	// process (W3 reads what W1 wrote).
	needs string
	// latencyOnly marks a fixed-rate workload whose throughput says nothing.
	latencyOnly bool
	// args returns the `samsa bench` arguments at the given scale.
	args func(scale float64) []string
}

// Sizes of the standard workloads at scale 1.
const (
	standardRecords  = 1_000_000
	standardDuration = 20 * time.Second
	minScaledRecords = 1_000
	minScaledRun     = 2 * time.Second
)

// scaledRecords shrinks the standard record count, keeping enough records
// for percentiles to mean something.
func scaledRecords(scale float64) int64 {
	return max(int64(math.Round(standardRecords*scale)), minScaledRecords)
}

// scaledDuration shrinks a timed workload, keeping it long enough to get
// past connection setup.
func scaledDuration(scale float64) time.Duration {
	return max(time.Duration(float64(standardDuration)*scale).Round(100*time.Millisecond), minScaledRun)
}

// produceArgs are W1's flags with the given topic and record size.
func produceArgs(topic string, size int, scale float64) []string {
	return []string{"produce", "-t", topic,
		"--records", strconv.FormatInt(scaledRecords(scale), 10),
		"--size", strconv.Itoa(size),
		"--acks", "all", "--idempotent=true", "--producers", "1",
		"--partitions", "6", "--linger", "5ms", "--compression", "none"}
}

// standardWorkloads lists the workloads in the order they run on one broker.
func standardWorkloads() []workload {
	return []workload{
		{name: "W1", title: "produce 1 KiB, acks=all, idempotent, 1 producer, 6 partitions, linger 5 ms",
			args: func(s float64) []string { return produceArgs("w1", 1024, s) }},
		{name: "W2", title: "as W1 with 100 B records",
			args: func(s float64) []string { return produceArgs("w2", 100, s) }},
		{name: "W3", title: "consume W1's topic from the start", needs: "W1",
			args: func(s float64) []string {
				return []string{"consume", "-t", "w1", "--records", strconv.FormatInt(scaledRecords(s), 10)}
			}},
		{name: "W4", title: "end-to-end latency, 1 KiB at 1,000 records/s", latencyOnly: true,
			args: func(s float64) []string {
				return []string{"e2e", "-t", "w4", "--rate", "1000", "--size", "1024",
					"--duration", scaledDuration(s).String(), "--partitions", "6"}
			}},
		// W5 sends a fixed number of records, as W1-W3 do, rather than
		// running for a fixed time: a closed loop given a fixed time does
		// more work on the faster broker, and its CPU seconds would then
		// measure throughput as much as cost.
		{name: "W5", title: "64 producers, synchronous batches of 10 × 1 KiB, 1,000,000 records",
			args: func(s float64) []string {
				return []string{"sync-producers", "-t", "w5", "--producers", "64", "--batch", "10",
					"--size", "1024", "--records", strconv.FormatInt(scaledRecords(s), 10), "--duration", "0",
					"--partitions", "6"}
			}},
		{name: "W1F", title: "W1 with Samsa --fsync always (kfake unchanged)", fsyncAlways: true,
			args: func(s float64) []string { return produceArgs("w1f", 1024, s) }},
	}
}

// selectWorkloads resolves the --workloads list (comma-separated names, or
// "all") to workloads in standard order.
func selectWorkloads(list string) ([]workload, error) {
	all := standardWorkloads()
	if strings.TrimSpace(list) == "" || strings.EqualFold(strings.TrimSpace(list), "all") {
		return all, nil
	}
	wanted := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.ToUpper(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		if !slices.ContainsFunc(all, func(w workload) bool { return w.name == name }) {
			return nil, fmt.Errorf("unknown workload %q (have W1, W2, W3, W4, W5, W1F)", name)
		}
		wanted[name] = true
	}
	if len(wanted) == 0 {
		return nil, fmt.Errorf("no workload named in %q", list)
	}
	var picked []workload
	for _, w := range all {
		if wanted[w.name] {
			picked = append(picked, w)
		}
	}
	return picked, nil
}

// phase is a set of workloads that run one after another on one fresh
// broker process.
type phase struct {
	fsyncAlways bool
	steps       []step
}

// step is one workload run within a phase; a setup step runs only because
// a later one needs its data, and is not reported.
type step struct {
	workload workload
	setup    bool
}

// planPhases groups the selected workloads by the Samsa configuration they
// need, adding unselected prerequisites as setup steps.
func planPhases(selected []workload) []phase {
	byName := map[string]workload{}
	for _, w := range standardWorkloads() {
		byName[w.name] = w
	}
	chosen := map[string]bool{}
	for _, w := range selected {
		chosen[w.name] = true
	}
	var phases []phase
	for _, fsync := range []bool{false, true} {
		p := phase{fsyncAlways: fsync}
		added := map[string]bool{}
		for _, w := range selected {
			if w.fsyncAlways != fsync {
				continue
			}
			if w.needs != "" && !added[w.needs] {
				p.steps = append(p.steps, step{workload: byName[w.needs], setup: !chosen[w.needs]})
				added[w.needs] = true
			}
			if !added[w.name] {
				p.steps = append(p.steps, step{workload: w})
				added[w.name] = true
			}
		}
		if len(p.steps) > 0 {
			phases = append(phases, p)
		}
	}
	return phases
}

// fsyncName is the --fsync value of a phase's Samsa.
func (p phase) fsyncName() string {
	if p.fsyncAlways {
		return "always"
	}
	return "never"
}
