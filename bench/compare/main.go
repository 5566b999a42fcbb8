// Command compare benchmarks Samsa against franz-go's kfake side by side.
//
// It builds the samsa binary and a kfake server once, then for every round
// starts fresh brokers and runs the standard workloads (W1..W5, W1F) on Samsa
// and then on kfake with `samsa bench`, and prints the medians, ranges and
// Samsa/kfake ratios per workload with each broker's peak RSS and CPU time.
//
//	go run ./bench/compare [--rounds 3] [--workloads W1,W3] [--scale 0.1] [--markdown]
//
// See docs/benchmarks.md for the method.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// options are the command-line flags.
type options struct {
	rounds    int
	workloads string
	scale     float64
	markdown  bool
	jsonPath  string // also write every run as JSON here
	samsaBin  string // use this samsa binary instead of building one
	keep      bool   // keep the work directory (binaries, broker logs, data)
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args, runs the comparison and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	opts, err := parseOptions(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "compare: %v\n", err)
		return 2
	}
	selected, err := selectWorkloads(opts.workloads)
	if err != nil {
		fmt.Fprintf(stderr, "compare: --workloads: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := compare(ctx, opts, selected, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "compare: %v\n", err)
		return 1
	}
	return 0
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var opts options
	flags := flag.NewFlagSet("compare", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.IntVar(&opts.rounds, "rounds", 3, "rounds; each starts fresh brokers and runs every workload on both")
	flags.StringVar(&opts.workloads, "workloads", "all", "comma-separated workloads: W1,W2,W3,W4,W5,W1F")
	flags.Float64Var(&opts.scale, "scale", 1, "multiply record counts and durations (0.1 for a quick run)")
	flags.BoolVar(&opts.markdown, "markdown", false, "print the tables as markdown")
	flags.StringVar(&opts.jsonPath, "json", "", "also write every run and usage figure as JSON to this file")
	flags.StringVar(&opts.samsaBin, "samsa-bin", "", "samsa binary to use instead of building ./cmd/samsa")
	flags.BoolVar(&opts.keep, "keep", false, "keep the work directory (binaries, broker logs, data)")
	if err := flags.Parse(args); err != nil {
		return options{}, err
	}
	switch {
	case flags.NArg() > 0:
		return options{}, fmt.Errorf("unexpected argument %q", flags.Arg(0))
	case opts.rounds < 1:
		return options{}, fmt.Errorf("--rounds must be at least 1, got %d", opts.rounds)
	case opts.scale <= 0 || opts.scale > 10:
		return options{}, fmt.Errorf("--scale must be in (0, 10], got %g", opts.scale)
	}
	return opts, nil
}

// comparison holds what a run has gathered.
type comparison struct {
	Rounds int           `json:"rounds"`
	Scale  float64       `json:"scale"`
	Runs   []runRecord   `json:"runs"`
	Usages []usageRecord `json:"usages"`
}

func compare(ctx context.Context, opts options, selected []workload, stdout, stderr io.Writer) error {
	workDir, err := os.MkdirTemp("", "samsa-compare-")
	if err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	if opts.keep {
		fmt.Fprintf(stderr, "work directory: %s\n", workDir)
	} else {
		defer os.RemoveAll(workDir)
	}

	samsaBin, kfakeBin, err := buildBinaries(ctx, opts.samsaBin, workDir, stderr)
	if err != nil {
		return err
	}
	kinds := []brokerKind{samsaKind(samsaBin), kfakeKind(kfakeBin)}
	brokers := []string{kinds[0].name, kinds[1].name}
	phases := planPhases(selected)
	ticks := clockTicksPerSecond()

	result := comparison{Rounds: opts.rounds, Scale: opts.scale}
	started := time.Now()
	for round := 1; round <= opts.rounds; round++ {
		for _, p := range phases {
			for _, kind := range kinds {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				runs, use := runPhase(ctx, kind, p, round, opts.scale, samsaBin, workDir, opts.keep, ticks, stderr)
				result.Runs = append(result.Runs, runs...)
				result.Usages = append(result.Usages, use)
			}
		}
	}

	fmt.Fprintf(stdout, "Samsa vs kfake: %d round(s), scale %g, %s, %d CPUs, %s total\n",
		opts.rounds, opts.scale, runtime.Version(), runtime.NumCPU(), time.Since(started).Round(time.Second))
	for _, w := range selected {
		fmt.Fprintf(stdout, "  %-4s %s\n", w.name, w.title)
	}
	results := resultsTable(selected, result.Runs, brokers)
	results.write(stdout, opts.markdown)
	cpu := cpuTable(selected, result.Runs, brokers)
	cpu.write(stdout, opts.markdown)
	usages := usageTable(result.Usages)
	usages.write(stdout, opts.markdown)
	writeFailures(stdout, result.Runs)

	if opts.jsonPath != "" {
		data, err := json.MarshalIndent(result, "", "  ")
		if err != nil {
			return fmt.Errorf("encode results: %w", err)
		}
		if err := os.WriteFile(opts.jsonPath, data, 0o644); err != nil {
			return fmt.Errorf("write results: %w", err)
		}
	}
	return nil
}

// runPhase starts a fresh broker of kind, runs the phase's workloads on it in
// order, measures the process and stops it.
func runPhase(ctx context.Context, kind brokerKind, p phase, round int, scale float64,
	benchBin, workDir string, keepData bool, ticks float64, progress io.Writer) ([]runRecord, usageRecord) {
	phaseName := "samsa --fsync " + p.fsyncName()
	use := usageRecord{Round: round, Phase: phaseName, Broker: kind.name}
	label := fmt.Sprintf("r%d-%s-fsync-%s", round, kind.name, p.fsyncName())
	broker, err := startBroker(ctx, kind, workDir, p.fsyncAlways, label)
	if err != nil {
		use.Failure = "did not start"
		var runs []runRecord
		for _, s := range p.steps {
			if !s.setup {
				runs = append(runs, runRecord{Round: round, Workload: s.workload.name, Broker: kind.name, Failure: err.Error()})
			}
		}
		fmt.Fprintf(progress, "round %d  %s: %v\n", round, brokerLabel(kind.name, p), err)
		return runs, use
	}
	defer settle(broker, keepData)

	var runs []runRecord
	for _, s := range p.steps {
		args := s.workload.args(scale)
		before, beforeErr := broker.measure(ticks)
		res, clientCPU, err := runBench(ctx, benchBin, broker.addr, args)
		after, afterErr := broker.measure(ticks)
		if aliveErr := broker.alive(); aliveErr != nil {
			err = errors.Join(err, aliveErr)
		}
		fmt.Fprintf(progress, "round %d  %-22s %-4s %s\n", round, brokerLabel(kind.name, p), s.workload.name, describeRun(res, err, s.setup))
		if s.setup {
			continue
		}
		record := runRecord{Round: round, Workload: s.workload.name, Broker: kind.name, ClientCPUSeconds: clientCPU}
		if beforeErr == nil && afterErr == nil {
			record.BrokerCPUSeconds = after.CPUSeconds - before.CPUSeconds
		}
		if res == nil {
			record.Failure = err.Error()
		}
		record.Result = res
		runs = append(runs, record)
	}
	if u, err := broker.measure(ticks); err != nil {
		use.Failure = err.Error()
	} else {
		use.usage = u
	}
	return runs, use
}

// settle stops a broker, removes its data unless asked to keep it, and
// flushes dirty pages to disk, so that writeback of one broker's data does
// not take CPU and disk from the next broker's measurements.
func settle(b *brokerProcess, keepData bool) {
	b.stop()
	if !keepData {
		_ = os.RemoveAll(b.dataDir)
	}
	flushDirtyPages()
}

// brokerLabel names a broker in progress lines, with Samsa's fsync setting.
func brokerLabel(name string, p phase) string {
	if name == "samsa" {
		return name + " --fsync " + p.fsyncName()
	}
	return name
}

// describeRun is the progress line of one run.
func describeRun(res *benchResult, err error, setup bool) string {
	var b strings.Builder
	if setup {
		b.WriteString("(setup) ")
	}
	if res != nil {
		fmt.Fprintf(&b, "%.1f MiB/s  %.0f rec/s  p50 %.2f ms  p99 %.2f ms  errors %d",
			res.MiBPerSec, res.RecordsPerSec, res.P50Ms, res.P99Ms, res.Errors)
		if res.FirstError != "" {
			fmt.Fprintf(&b, " (%s)", res.FirstError)
		}
	}
	if err != nil {
		if res != nil {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "FAILED: %v", err)
	}
	return b.String()
}

// writeFailures lists the runs that produced no result.
func writeFailures(out io.Writer, runs []runRecord) {
	first := true
	for _, r := range runs {
		if r.Failure == "" {
			continue
		}
		if first {
			fmt.Fprintln(out, "\nFailed runs:")
			first = false
		}
		fmt.Fprintf(out, "  round %d %s %s: %s\n", r.Round, r.Broker, r.Workload, oneLine(r.Failure))
	}
}

func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ")
}

// buildBinaries builds samsa (unless prebuilt is set) and the kfake server
// into workDir.
func buildBinaries(ctx context.Context, prebuilt, workDir string, progress io.Writer) (samsaBin, kfakeBin string, err error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", "", err
	}
	samsaBin = prebuilt
	if samsaBin == "" {
		samsaBin = filepath.Join(workDir, "samsa")
		fmt.Fprintln(progress, "building samsa ...")
		if err := goBuild(ctx, root, samsaBin, "./cmd/samsa"); err != nil {
			return "", "", err
		}
	}
	kfakeBin = filepath.Join(workDir, "kfakeserver")
	fmt.Fprintln(progress, "building kfakeserver ...")
	if err := goBuild(ctx, filepath.Join(root, "bench", "compare", "kfakeserver"), kfakeBin, "."); err != nil {
		return "", "", err
	}
	return samsaBin, kfakeBin, nil
}
