package cli

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"
)

// benchProducerOptions are the producer flags that `bench produce`,
// `bench sync-producers` and `bench e2e` share.
type benchProducerOptions struct {
	topic         string
	size          int           // value bytes per record
	acks          string        // all, 1 or 0
	linger        time.Duration // how long a partition waits to fill a batch
	batchBytes    int32         // largest batch; 0 keeps the client default
	compression   string        // none, gzip, snappy, lz4, zstd
	partitions    int32         // partitions of the topic when it has to be created
	producers     int           // concurrent clients
	keyed         bool          // give every record a distinct 8-byte key
	idempotent    bool          // idempotent producer (needs acks=all)
	idempotentSet bool          // --idempotent was given explicitly
	rate          float64       // records per second over all producers; 0 = unlimited
}

// benchProducerDefaults are the flag defaults that differ per workload.
type benchProducerDefaults struct {
	linger    time.Duration // latency runs do not linger
	size      int
	producers int
	rate      float64 // records per second; 0 = unlimited
}

// addFlags declares the shared producer flags.
func (o *benchProducerOptions) addFlags(cmd *cobra.Command, defaults benchProducerDefaults) {
	flags := cmd.Flags()
	flags.StringVarP(&o.topic, "topic", "t", "", "topic to produce to (created when missing)")
	flags.IntVar(&o.size, "size", defaults.size, "bytes of value per record")
	flags.StringVar(&o.acks, "acks", "all", "acknowledgements to wait for: all, 1 or 0")
	flags.DurationVar(&o.linger, "linger", defaults.linger, "how long a partition waits to fill a batch")
	flags.Int32Var(&o.batchBytes, "batch-bytes", 0, "largest record batch in bytes (0: client default, about 1 MB)")
	flags.StringVarP(&o.compression, "compression", "z", "none", "batch compression: none, gzip, snappy, lz4, zstd")
	flags.Int32Var(&o.partitions, "partitions", 6, "partitions of the topic if it has to be created")
	flags.IntVar(&o.producers, "producers", defaults.producers, "concurrent producer clients")
	flags.BoolVar(&o.keyed, "keyed", false, "give every record a distinct 8-byte key (spreads by key hash)")
	flags.BoolVar(&o.idempotent, "idempotent", true, "idempotent producer; only with --acks all (off by default for other acks)")
	flags.Float64Var(&o.rate, "rate", defaults.rate, "records per second over all producers (0: unlimited)")
}

// validate checks the flags; changed reports whether a flag was given.
func (o *benchProducerOptions) validate(changed func(name string) bool) error {
	o.idempotentSet = changed("idempotent")
	switch {
	case o.topic == "":
		return usageErrorf("-t/--topic is required")
	case o.size < 0:
		return usageErrorf("--size must be 0 or more, got %d", o.size)
	case o.partitions < 1:
		return usageErrorf("--partitions must be at least 1, got %d", o.partitions)
	case o.producers < 1:
		return usageErrorf("--producers must be at least 1, got %d", o.producers)
	case o.rate < 0:
		return usageErrorf("--rate must be 0 (unlimited) or more, got %g", o.rate)
	case o.linger < 0:
		return usageErrorf("--linger must not be negative, got %s", o.linger)
	case o.batchBytes != 0 && (o.batchBytes < 512 || o.batchBytes > 1<<30):
		return usageErrorf("--batch-bytes must be between 512 and 1 GiB, got %d", o.batchBytes)
	}
	switch o.acks {
	case "all", "-1", "1", "0":
	default:
		return usageErrorf("--acks must be all, 1 or 0, got %q", o.acks)
	}
	if o.idempotent && !o.acksAll() {
		if o.idempotentSet {
			return usageErrorf("--idempotent needs --acks all")
		}
		o.idempotent = false // the default follows --acks
	}
	if _, err := parseCompression(o.compression); err != nil {
		return err
	}
	return nil
}

func (o *benchProducerOptions) acksAll() bool { return o.acks == "all" || o.acks == "-1" }

// clientOptions maps validated flags to kgo producer options. deliveryTimeout
// bounds how long one record may take, so a dead broker fails the run.
func (o *benchProducerOptions) clientOptions(deliveryTimeout time.Duration) []kgo.Opt {
	codec, _ := parseCompression(o.compression) // checked by validate
	opts := []kgo.Opt{
		kgo.DefaultProduceTopic(o.topic),
		kgo.ProducerLinger(o.linger),
		kgo.ProducerBatchCompression(codec),
		kgo.RecordDeliveryTimeout(deliveryTimeout),
	}
	switch {
	case o.acks == "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()))
	case o.acks == "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()))
	default:
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	}
	if !o.idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	if o.batchBytes > 0 {
		opts = append(opts, kgo.ProducerBatchMaxBytes(o.batchBytes))
	}
	return opts
}

// benchPayload returns a value of n pseudo-random capital letters, as
// kafka-producer-perf-test sends, so compression has something to do but
// not everything.
func benchPayload(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	payload := make([]byte, n)
	for i := range payload {
		payload[i] = byte('A' + rng.IntN(26))
	}
	return payload
}

// benchDeliveryTimeout bounds one record's delivery in a bench run.
func benchDeliveryTimeout(cfg *clientConfig) time.Duration {
	return max(3*cfg.timeout, 30*time.Second)
}

// newBenchProducers builds k producer clients and checks that the broker
// answers.
func newBenchProducers(ctx context.Context, cfg *clientConfig, opts *benchProducerOptions) ([]*kgo.Client, error) {
	clients := make([]*kgo.Client, 0, opts.producers)
	closeAll := func() { closeClients(clients) }
	for range opts.producers {
		cl, err := cfg.newClient(opts.clientOptions(benchDeliveryTimeout(cfg))...)
		if err != nil {
			closeAll()
			return nil, err
		}
		clients = append(clients, cl)
	}
	pingCtx, cancel := cfg.deadline(ctx)
	defer cancel()
	for _, cl := range clients {
		if err := cl.Ping(pingCtx); err != nil {
			closeAll()
			return nil, fmt.Errorf("connect: %w", err)
		}
	}
	return clients, nil
}

// closeClients closes every client of a bench run.
func closeClients(clients []*kgo.Client) {
	for _, cl := range clients {
		cl.Close()
	}
}

// openBenchProducers makes sure the bench topic exists, then builds the
// producer clients; close them with closeClients.
func openBenchProducers(cmd *cobra.Command, cfg *clientConfig, opts *benchProducerOptions) ([]*kgo.Client, error) {
	ctx := cmd.Context()
	if err := ensureBenchTopic(ctx, cfg, opts.topic, opts.partitions, cmd.ErrOrStderr()); err != nil {
		return nil, err
	}
	return newBenchProducers(ctx, cfg, opts)
}

// runOnEachClient runs send on every client at once and returns how long
// it took until all of them returned.
func runOnEachClient(clients []*kgo.Client, send func(i int, cl *kgo.Client)) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	for i, cl := range clients {
		wg.Go(func() { send(i, cl) })
	}
	wg.Wait()
	return time.Since(start)
}

// benchProduceOptions are the flags of `samsa bench produce`.
type benchProduceOptions struct {
	benchProducerOptions
	records int64 // total over all producers
}

func newBenchProduceCommand(cfg *clientConfig) *cobra.Command {
	opts := &benchProduceOptions{}
	cmd := &cobra.Command{
		Use:   "produce -t TOPIC",
		Short: "Produce records as fast as allowed and measure throughput and ack latency",
		Args:  noArgs,
	}
	opts.addFlags(cmd, benchProducerDefaults{linger: 5 * time.Millisecond, size: 1024, producers: 1})
	cmd.Flags().Int64Var(&opts.records, "records", 1_000_000, "records to produce over all producers")
	cmd.RunE = cfg.run(func(cmd *cobra.Command, _ []string) error {
		if err := opts.validate(cmd.Flags().Changed); err != nil {
			return err
		}
		if opts.records < 1 {
			return usageErrorf("--records must be at least 1, got %d", opts.records)
		}
		return runBenchProduce(cmd, cfg, opts)
	})
	return cmd
}

// runBenchProduce sends opts.records records from opts.producers clients
// and measures, per record, the time from Produce to its acknowledgement.
func runBenchProduce(cmd *cobra.Command, cfg *clientConfig, opts *benchProduceOptions) error {
	ctx := cmd.Context()
	clients, err := openBenchProducers(cmd, cfg, &opts.benchProducerOptions)
	if err != nil {
		return err
	}
	defer closeClients(clients)

	meter := &benchMeter{}
	progress := startBenchProgress(cmd.ErrOrStderr(), "produce", meter)
	payload := benchPayload(opts.size)
	records := &recordPool{}
	promise := func(r *kgo.Record, err error) {
		if err != nil {
			meter.fail(1, err)
		} else {
			meter.observe(time.Since(r.Timestamp), 1, int64(len(r.Key)+len(r.Value)))
		}
		records.put(r)
	}

	elapsed := runOnEachClient(clients, func(i int, cl *kgo.Client) {
		share := opts.records / int64(len(clients))
		if int64(i) < opts.records%int64(len(clients)) {
			share++
		}
		firstKey := int64(i) * (opts.records/int64(len(clients)) + 1)
		produceShare(ctx, cl, opts, share, firstKey, payload, records, meter, promise)
	})
	progress.stop()

	return finishBench(cmd, meter, meter.result("produce", elapsed), "ack latency", ctx.Err() != nil)
}

// produceShare produces count records on one client, paced to its share of
// --rate, then waits until every one of them is acknowledged or failed. It
// stops early when ctx ends or any record has failed.
func produceShare(ctx context.Context, cl *kgo.Client, opts *benchProduceOptions, count, firstKey int64,
	payload []byte, records *recordPool, meter *benchMeter, promise func(*kgo.Record, error)) {
	// Records outlive SIGINT so what was sent is still counted;
	// RecordDeliveryTimeout bounds how long that can take.
	recordCtx := context.WithoutCancel(ctx)
	pace := newPacer(opts.rate / float64(opts.producers))
	for n := range count {
		if pace.wait(ctx) != nil || meter.failed() {
			break
		}
		record := records.get()
		record.Value, record.Timestamp = payload, time.Now()
		if opts.keyed {
			record.Key = binary.BigEndian.AppendUint64(record.Key, uint64(firstKey+n))
		}
		cl.Produce(recordCtx, record, promise)
	}
	_ = cl.Flush(recordCtx) // cannot fail: recordCtx is never canceled
}

// recordPool recycles the records of a produce run. kgo is done with a
// record once its promise has returned, and reusing records instead of
// allocating one per send keeps the load generator's garbage collection
// off the two cores it shares with the broker: with 100-byte records it
// was about a fifth of the client's CPU.
type recordPool struct{ pool sync.Pool }

// get returns a zeroed record that keeps the key buffer of its last use
// (an empty slice, or nil when it had no key).
func (p *recordPool) get() *kgo.Record {
	r, ok := p.pool.Get().(*kgo.Record)
	if !ok {
		return &kgo.Record{}
	}
	*r = kgo.Record{Key: r.Key[:0]}
	return r
}

// put hands back a record whose promise has been called.
func (p *recordPool) put(r *kgo.Record) { p.pool.Put(r) }
