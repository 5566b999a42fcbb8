package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/benchfmt"
)

// benchProgressInterval is how often the live progress line is redrawn.
const benchProgressInterval = time.Second

// newBenchCommand returns `samsa bench` and its workloads. Each workload
// prints live progress on stderr when it is a terminal, a summary with a
// latency histogram on stderr at the end, and one JSON line (benchResult)
// on stdout for scripts.
func newBenchCommand(cfg *clientConfig) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure throughput and latency of any Kafka-compatible broker",
		Long: "Workloads in the manner of kafka-producer-perf-test and OpenMessaging Benchmark.\n" +
			"Each run prints one JSON line on stdout (records, bytes, seconds, records_per_sec,\n" +
			"mib_per_sec, p50_ms, p99_ms, p999_ms, max_ms, errors); progress and the latency\n" +
			"histogram go to stderr.",
		Args: noArgs,
	}
	cmd.AddCommand(
		newBenchProduceCommand(cfg),
		newBenchConsumeCommand(cfg),
		newBenchE2ECommand(cfg),
		newBenchSyncProducersCommand(cfg),
		newBenchConnectionsCommand(cfg),
	)
	profile := cmd.PersistentFlags().String("cpuprofile", "", "write a CPU profile of this bench client to `FILE` (go tool pprof)")
	for _, sub := range cmd.Commands() {
		sub.RunE = withCPUProfile(profile, sub.RunE)
	}
	return cmd
}

// withCPUProfile runs body with the client's CPU profile written to *path,
// when one was asked for: what the load generator itself costs matters on a
// machine whose cores it shares with the broker.
func withCPUProfile(path *string, body func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if *path == "" {
			return body(cmd, args)
		}
		f, err := os.Create(*path)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("cpu profile: %w", err)
		}
		runErr := body(cmd, args)
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil && runErr == nil {
			runErr = fmt.Errorf("cpu profile: %w", err)
		}
		return runErr
	}
}

// benchResult is the JSON line `samsa bench` prints on stdout.
type benchResult = benchfmt.Result

// benchMeter gathers the outcome of a run from many goroutines: counters
// the progress line reads without locking, and the latency histogram.
type benchMeter struct {
	// errors is read by the producers before every send; the padding keeps
	// it off the cache lines that the promises write for every record.
	errors   atomic.Int64
	mu       sync.Mutex
	firstErr error
	_        [64]byte

	records atomic.Int64
	bytes   atomic.Int64
	latency syncHistogram
}

// observe counts records and bytes that completed, and one latency sample.
func (m *benchMeter) observe(latency time.Duration, records, bytes int64) {
	m.latency.record(latency)
	m.add(records, bytes)
}

// add counts records and bytes without a latency sample.
func (m *benchMeter) add(records, bytes int64) {
	m.records.Add(records)
	m.bytes.Add(bytes)
}

// fail counts n failed records (or connections) and keeps the first error.
func (m *benchMeter) fail(n int64, err error) {
	m.errors.Add(n)
	m.mu.Lock()
	if m.firstErr == nil {
		m.firstErr = err
	}
	m.mu.Unlock()
}

// failed reports whether anything has failed yet.
func (m *benchMeter) failed() bool { return m.errors.Load() > 0 }

func (m *benchMeter) firstError() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.firstErr
}

// result summarizes the run as it stands, over elapsed.
func (m *benchMeter) result(workload string, elapsed time.Duration) benchResult {
	hist := m.latency.snapshot()
	r := benchResult{
		Workload: workload,
		Records:  m.records.Load(),
		Bytes:    m.bytes.Load(),
		Seconds:  roundTo(elapsed.Seconds(), 3),
		P50Ms:    durationMs(hist.percentile(50)),
		P99Ms:    durationMs(hist.percentile(99)),
		P999Ms:   durationMs(hist.percentile(99.9)),
		MaxMs:    durationMs(hist.percentile(100)),
		Errors:   m.errors.Load(),
	}
	if elapsed > 0 {
		r.RecordsPerSec = roundTo(float64(r.Records)/elapsed.Seconds(), 1)
		r.MiBPerSec = roundTo(float64(r.Bytes)/(1<<20)/elapsed.Seconds(), 3)
	}
	if err := m.firstError(); err != nil {
		r.FirstError = oneLine(err.Error())
	}
	return r
}

// durationMs converts to milliseconds with microsecond resolution.
func durationMs(d time.Duration) float64 {
	return roundTo(float64(d)/float64(time.Millisecond), 3)
}

func roundTo(v float64, decimals int) float64 {
	scale := math.Pow10(decimals)
	return math.Round(v*scale) / scale
}

// finishBench prints the summary and histogram on stderr and the JSON line
// on stdout, and returns the error the command exits with: errInterrupted
// when the run was cut short, a summary of failures when there were any.
func finishBench(cmd *cobra.Command, meter *benchMeter, result benchResult, latencyLabel string, interrupted bool) error {
	writeBenchSummary(cmd.ErrOrStderr(), result, meter.latency.snapshot(), latencyLabel)
	line, err := json.Marshal(result)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s\n", line)
	switch {
	case interrupted:
		return errInterrupted
	case result.Errors > 0:
		return fmt.Errorf("%s: %d error(s), first: %w", result.Workload, result.Errors, meter.firstError())
	}
	return nil
}

// writeBenchSummary prints the human-readable outcome of a run.
func writeBenchSummary(out io.Writer, r benchResult, hist *latencyHistogram, latencyLabel string) {
	fmt.Fprintf(out, "%s: %d records, %s in %.2f s: %.0f records/s, %.2f MiB/s, %d error(s)\n",
		r.Workload, r.Records, formatBytes(r.Bytes), r.Seconds, r.RecordsPerSec, r.MiBPerSec, r.Errors)
	if hist.count() == 0 {
		return
	}
	fmt.Fprintf(out, "%s over %d samples: p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  mean %s\n",
		latencyLabel, hist.count(),
		formatLatency(hist.percentile(50)), formatLatency(hist.percentile(90)),
		formatLatency(hist.percentile(99)), formatLatency(hist.percentile(99.9)),
		formatLatency(hist.percentile(100)), formatLatency(hist.mean()))
	hist.writeBars(out)
}

// benchProgress redraws one status line on a terminal: records and MiB per
// second over the last interval, totals and errors. Its goroutine is
// stopped by stop.
type benchProgress struct {
	out   io.Writer
	name  string
	meter *benchMeter
	quit  chan struct{}
	done  chan struct{}
}

// startBenchProgress starts the progress line when out is a terminal, and
// returns nil (which stop accepts) otherwise.
func startBenchProgress(out io.Writer, name string, meter *benchMeter) *benchProgress {
	if !isTerminal(out) {
		return nil
	}
	p := &benchProgress{out: out, name: name, meter: meter, quit: make(chan struct{}), done: make(chan struct{})}
	go p.loop()
	return p
}

func (p *benchProgress) loop() {
	defer close(p.done)
	ticker := time.NewTicker(benchProgressInterval)
	defer ticker.Stop()
	start := time.Now()
	last := start
	var lastRecords, lastBytes int64
	for {
		select {
		case <-p.quit:
			return
		case now := <-ticker.C:
			records, bytes := p.meter.records.Load(), p.meter.bytes.Load()
			line := renderBenchProgress(p.name, now.Sub(start), now.Sub(last),
				records, records-lastRecords, bytes-lastBytes, p.meter.errors.Load())
			fmt.Fprintf(p.out, "\r%s\x1b[K", line)
			last, lastRecords, lastBytes = now, records, bytes
		}
	}
}

// stop ends the goroutine and clears the line. A nil progress does nothing.
func (p *benchProgress) stop() {
	if p == nil {
		return
	}
	close(p.quit)
	<-p.done
	fmt.Fprint(p.out, "\r\x1b[K")
}

// renderBenchProgress formats the progress line, e.g.
// "produce  12s  1200000 records  100000 rec/s  97.66 MiB/s  0 errors".
func renderBenchProgress(name string, elapsed, interval time.Duration, records, intervalRecords, intervalBytes, errors int64) string {
	var recordRate, mibRate float64
	if interval > 0 {
		recordRate = float64(intervalRecords) / interval.Seconds()
		mibRate = float64(intervalBytes) / (1 << 20) / interval.Seconds()
	}
	return fmt.Sprintf("%s  %.0fs  %d records  %.0f rec/s  %.2f MiB/s  %d errors",
		name, elapsed.Seconds(), records, recordRate, mibRate, errors)
}

// pacer spaces out events to a target rate: the n-th event is due at
// start + n/rate, so a late event does not push back the ones after it.
// A rate of 0 means no limit.
type pacer struct {
	start    time.Time
	interval float64 // nanoseconds between events; 0 = unlimited
	sent     int64
	timer    *time.Timer
}

func newPacer(ratePerSec float64) *pacer {
	p := &pacer{start: time.Now()}
	if ratePerSec > 0 {
		p.interval = float64(time.Second) / ratePerSec
	}
	return p
}

// wait blocks until the next event is due, or ctx ends (then it returns
// ctx's error).
func (p *pacer) wait(ctx context.Context) error {
	if p.interval == 0 {
		return ctx.Err()
	}
	due := p.start.Add(time.Duration(float64(p.sent) * p.interval))
	p.sent++
	delay := time.Until(due)
	if delay <= 0 {
		return ctx.Err()
	}
	if p.timer == nil {
		p.timer = time.NewTimer(delay)
	} else {
		p.timer.Reset(delay)
	}
	select {
	case <-p.timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ensureBenchTopic creates topic with the given number of partitions when it
// does not exist yet, and waits until the broker reports a leader for every
// partition. An existing topic is used as it is; a different partition count
// is reported on warn.
func ensureBenchTopic(ctx context.Context, cfg *clientConfig, topic string, partitions int32, warn io.Writer) error {
	cl, err := cfg.newClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := cfg.deadline(ctx)
	defer cancel()

	state, err := describeBenchTopic(ctx, cl, topic)
	if err != nil {
		return err
	}
	if state.exists {
		if state.partitions > 0 && state.partitions != partitions {
			fmt.Fprintf(warn, "topic %s exists with %d partitions; --partitions %d ignored\n", topic, state.partitions, partitions)
		}
	} else {
		adm := kadm.NewClient(cl)
		adm.SetTimeoutMillis(int32(min(cfg.timeout, time.Hour).Milliseconds()))
		created, err := adm.CreateTopic(ctx, partitions, -1, nil, topic)
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return topicError(topic, fmt.Errorf("create: %w", withBrokerMessage(err, created.ErrMessage)))
		}
	}
	// A new topic may take a moment to have leaders everywhere.
	for !state.ready {
		select {
		case <-ctx.Done():
			return topicError(topic, fmt.Errorf("not ready (no leader for every partition): %w", ctx.Err()))
		case <-time.After(50 * time.Millisecond):
		}
		if state, err = describeBenchTopic(ctx, cl, topic); err != nil {
			return err
		}
	}
	return nil
}

// benchTopicState is what a Metadata request says about a topic.
type benchTopicState struct {
	exists     bool
	partitions int32
	ready      bool // every partition has a leader
}

// describeBenchTopic asks the broker directly: kadm answers from kgo's
// metadata cache, which would hide a topic created a moment ago.
func describeBenchTopic(ctx context.Context, cl *kgo.Client, topic string) (benchTopicState, error) {
	req := kmsg.NewPtrMetadataRequest()
	requested := kmsg.NewMetadataRequestTopic()
	requested.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, requested)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return benchTopicState{}, topicError(topic, fmt.Errorf("metadata: %w", err))
	}
	for _, t := range resp.Topics {
		if t.Topic == nil || *t.Topic != topic {
			continue
		}
		err := kerr.ErrorForCode(t.ErrorCode)
		switch {
		case errors.Is(err, kerr.UnknownTopicOrPartition):
			return benchTopicState{}, nil
		case errors.Is(err, kerr.LeaderNotAvailable):
			return benchTopicState{exists: true}, nil // being created
		case err != nil:
			return benchTopicState{}, topicError(topic, err)
		}
		state := benchTopicState{exists: true, partitions: int32(len(t.Partitions)), ready: len(t.Partitions) > 0}
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 || p.Leader < 0 {
				state.ready = false
			}
		}
		return state, nil
	}
	return benchTopicState{}, nil
}
