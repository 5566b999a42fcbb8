package cli

import (
	"context"
	"encoding/binary"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"
)

// benchSyncOptions are the flags of `samsa bench sync-producers`.
type benchSyncOptions struct {
	benchProducerOptions
	batch    int           // records per synchronous send
	records  int64         // stop after this many records over all producers; 0 = no limit
	duration time.Duration // stop after this long; 0 = no limit
}

func newBenchSyncProducersCommand(cfg *clientConfig) *cobra.Command {
	opts := &benchSyncOptions{}
	cmd := &cobra.Command{
		Use:   "sync-producers -t TOPIC",
		Short: "Many producers each sending a small batch and waiting for its ack, over and over",
		Long: "Each of --producers clients sends --batch records with one synchronous call, waits for\n" +
			"all their acks, and repeats, until --records or --duration is reached. The latency is\n" +
			"the time of one synchronous call (one batch).",
		Args: noArgs,
	}
	opts.addFlags(cmd, benchProducerDefaults{linger: 0, size: 1024, producers: 64})
	flags := cmd.Flags()
	flags.IntVar(&opts.batch, "batch", 10, "records per synchronous send")
	flags.Int64Var(&opts.records, "records", 0, "stop after this many records over all producers (0: no limit)")
	flags.DurationVar(&opts.duration, "duration", 20*time.Second, "stop after this long (0: no limit)")
	cmd.RunE = cfg.run(func(cmd *cobra.Command, _ []string) error {
		if err := opts.validate(cmd.Flags().Changed); err != nil {
			return err
		}
		return runBenchSyncProducers(cmd, cfg, opts)
	})
	return cmd
}

// validate checks the flags beyond the shared producer ones.
func (o *benchSyncOptions) validate(changed func(string) bool) error {
	if err := o.benchProducerOptions.validate(changed); err != nil {
		return err
	}
	switch {
	case o.batch < 1:
		return usageErrorf("--batch must be at least 1, got %d", o.batch)
	case o.records < 0:
		return usageErrorf("--records must be 0 (no limit) or more, got %d", o.records)
	case o.duration < 0:
		return usageErrorf("--duration must not be negative, got %s", o.duration)
	case o.records == 0 && o.duration == 0:
		return usageErrorf("give --records or --duration, or the run never ends")
	}
	return nil
}

// runBenchSyncProducers runs the producers until the record budget or the
// duration is used up.
func runBenchSyncProducers(cmd *cobra.Command, cfg *clientConfig, opts *benchSyncOptions) error {
	ctx := cmd.Context()
	clients, err := openBenchProducers(cmd, cfg, &opts.benchProducerOptions)
	if err != nil {
		return err
	}
	defer closeClients(clients)

	runCtx := ctx
	if opts.duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, opts.duration)
		defer cancel()
	}
	budget := &recordBudget{limit: opts.records}
	meter := &benchMeter{}
	progress := startBenchProgress(cmd.ErrOrStderr(), "sync-producers", meter)
	payload := benchPayload(opts.size)

	elapsed := runOnEachClient(clients, func(i int, cl *kgo.Client) {
		sendSyncBatches(runCtx, cl, opts, int64(i)<<32, payload, budget, meter)
	})
	progress.stop()

	return finishBench(cmd, meter, meter.result("sync-producers", elapsed), "batch ack latency", ctx.Err() != nil)
}

// recordBudget hands out records to producers until a limit (0 = none).
type recordBudget struct {
	limit   int64
	claimed atomic.Int64
}

// claim takes up to want records and returns how many it got (0 when the
// budget is spent).
func (b *recordBudget) claim(want int64) int64 {
	if b.limit == 0 {
		return want
	}
	after := b.claimed.Add(want)
	if after <= b.limit {
		return want
	}
	return max(want-(after-b.limit), 0)
}

// sendSyncBatches is one producer's loop: one ProduceSync of a batch at a
// time, until ctx ends, the budget is spent or a send fails.
func sendSyncBatches(ctx context.Context, cl *kgo.Client, opts *benchSyncOptions, firstKey int64,
	payload []byte, budget *recordBudget, meter *benchMeter) {
	// A batch already sent is waited for even past the deadline, so every
	// record counts as acknowledged or failed.
	sendCtx := context.WithoutCancel(ctx)
	pace := newPacer(opts.rate / float64(opts.producers) / float64(opts.batch))
	batch := make([]*kgo.Record, 0, opts.batch)
	key := firstKey
	for !meter.failed() {
		if pace.wait(ctx) != nil {
			return
		}
		n := budget.claim(int64(opts.batch))
		if n == 0 {
			return
		}
		batch = batch[:0]
		var bytes int64
		for range n {
			record := &kgo.Record{Value: payload}
			if opts.keyed {
				record.Key = binary.BigEndian.AppendUint64(nil, uint64(key))
				key++
			}
			bytes += int64(len(record.Key) + len(record.Value))
			batch = append(batch, record)
		}
		sent := time.Now()
		results := cl.ProduceSync(sendCtx, batch...)
		latency := time.Since(sent)
		if err := results.FirstErr(); err != nil {
			var failed int64
			for _, r := range results {
				if r.Err != nil {
					failed++
				}
			}
			meter.add(n-failed, bytes*(n-failed)/n)
			meter.fail(failed, err)
			return
		}
		meter.observe(latency, n, bytes)
	}
}
