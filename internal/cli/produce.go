package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Producer buffering limits: Produce blocks once this much is in flight, so
// a large input never sits in memory as a whole.
const (
	maxBufferedRecords = 10_000
	maxBufferedBytes   = 64 << 20
)

// produceOptions are the flags of `samsa produce`.
type produceOptions struct {
	file         string        // input file; "" or "-" reads stdin
	keySeparator string        // splits each line into key and value; "" means no key
	headers      []string      // key=value headers added to every record
	partition    int32         // fixed partition, or -1 to let the partitioner choose
	acks         string        // all, 1 or 0
	compression  string        // none, gzip, snappy, lz4, zstd
	linger       time.Duration // how long a partition waits to fill a batch
}

func newProduceCommand(cfg *clientConfig) *cobra.Command {
	opts := produceOptions{}
	cmd := &cobra.Command{
		Use:   "produce TOPIC",
		Short: "Produce one record per input line (stdin or -f FILE)",
		Args:  exactArgs(1, "one TOPIC"),
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.file, "file", "f", "", "read lines from FILE instead of stdin")
	flags.StringVarP(&opts.keySeparator, "key-separator", "k", "", "split each line at the first SEP into key and value")
	flags.StringArrayVarP(&opts.headers, "header", "H", nil, "header key=value added to every record (repeatable)")
	flags.Int32VarP(&opts.partition, "partition", "p", -1, "produce every record to this partition")
	flags.StringVar(&opts.acks, "acks", "all", "acknowledgements to wait for: all, 1 or 0")
	flags.StringVarP(&opts.compression, "compression", "z", "none", "batch compression: none, gzip, snappy, lz4, zstd")
	flags.DurationVar(&opts.linger, "linger", 10*time.Millisecond, "how long to wait to fill a batch")

	cmd.RunE = cfg.run(func(cmd *cobra.Command, args []string) error {
		return runProduce(cmd, cfg, args[0], opts)
	})
	return cmd
}

func runProduce(cmd *cobra.Command, cfg *clientConfig, topic string, opts produceOptions) error {
	headers, err := parseHeaders(opts.headers)
	if err != nil {
		return err
	}
	producerOpts, err := opts.clientOptions(cfg.timeout)
	if err != nil {
		return err
	}
	input, size, err := openInput(cmd, opts.file)
	if err != nil {
		return err
	}
	defer input.Close()

	cl, err := cfg.newClient(producerOpts...)
	if err != nil {
		return err
	}
	defer cl.Close()

	// Fail fast when no broker answers, rather than when the first record
	// times out.
	pingCtx, cancel := cfg.deadline(cmd.Context())
	err = cl.Ping(pingCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}

	tally := &produceTally{}
	var bar *progressBar
	if opts.file != "" && opts.file != "-" && isTerminal(cmd.ErrOrStderr()) {
		bar = startProgressBar(cmd.ErrOrStderr(), size, tally)
	}

	// Records live on past SIGINT so what was read still gets delivered;
	// RecordDeliveryTimeout bounds how long that can take.
	recordCtx := context.WithoutCancel(cmd.Context())
	var pending sync.WaitGroup
	promise := func(_ *kgo.Record, err error) {
		tally.finish(err)
		pending.Done()
	}

	lines := readLines(cmd.Context(), input, tally)
	interrupted := false
read:
	for {
		select {
		case <-cmd.Context().Done():
			interrupted = true
			break read
		case line, ok := <-lines.out:
			if !ok {
				<-lines.done // closes right after out; makes readErr final
				break read
			}
			record := newRecord(topic, line, opts.keySeparator, headers, opts.partition)
			pending.Add(1)
			cl.Produce(recordCtx, record, promise)
			if tally.failed.Load() > 0 {
				break read // the run has failed; do not keep sending
			}
		}
	}
	lines.stop()

	_ = cl.Flush(recordCtx) // cannot fail: recordCtx is never canceled
	pending.Wait()
	bar.stop()

	produced, failed, firstErr := tally.result()
	fmt.Fprintf(cmd.OutOrStdout(), "produced %d records to %s\n", produced, topic)
	switch {
	case firstErr != nil:
		return topicError(topic, fmt.Errorf("%d record(s) failed: %w", failed, firstErr))
	case lines.readErr() != nil:
		return lines.readErr()
	case interrupted:
		return errInterrupted
	}
	return nil
}

// clientOptions maps the producer flags to kgo options.
func (o produceOptions) clientOptions(timeout time.Duration) ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.MaxBufferedRecords(maxBufferedRecords),
		kgo.MaxBufferedBytes(maxBufferedBytes),
		kgo.ProducerLinger(max(o.linger, 0)),
		// Like kcat, let a broker with auto.create.topics.enable create the topic.
		kgo.AllowAutoTopicCreation(),
		// A record that cannot be delivered fails the run instead of hanging
		// it (kgo refuses delivery timeouts under a second).
		kgo.RecordDeliveryTimeout(max(3*timeout, 5*time.Second) + max(o.linger, 0)),
	}
	switch o.acks {
	case "all", "-1":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		return nil, usageErrorf("--acks must be all, 1 or 0, got %q", o.acks)
	}
	codec, err := parseCompression(o.compression)
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.ProducerBatchCompression(codec))
	if o.partition >= 0 {
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	} else if o.partition != -1 {
		return nil, usageErrorf("-p/--partition must be 0 or more, got %d", o.partition)
	}
	return opts, nil
}

func parseCompression(name string) (kgo.CompressionCodec, error) {
	switch strings.ToLower(name) {
	case "none", "":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, usageErrorf("-z/--compression must be none, gzip, snappy, lz4 or zstd, got %q", name)
}

// parseHeaders turns repeated -H key=value flags into record headers, in
// the order given. Repeating a key is allowed: Kafka headers are a list.
func parseHeaders(pairs []string) ([]kgo.RecordHeader, error) {
	var headers []kgo.RecordHeader
	for _, pair := range pairs {
		key, value, err := parseKeyValue(pair)
		if err != nil {
			return nil, usageErrorf("-H/--header: %w", err)
		}
		headers = append(headers, kgo.RecordHeader{Key: key, Value: []byte(value)})
	}
	return headers, nil
}

// splitKey splits a line at the first separator. A line without the
// separator, or an empty separator, gives a record without a key.
func splitKey(line []byte, separator string) (key, value []byte) {
	if separator == "" {
		return nil, line
	}
	key, value, found := bytes.Cut(line, []byte(separator))
	if !found {
		return nil, line
	}
	return key, value
}

func newRecord(topic string, line []byte, keySeparator string, headers []kgo.RecordHeader, partition int32) *kgo.Record {
	key, value := splitKey(line, keySeparator)
	record := &kgo.Record{Topic: topic, Key: key, Value: value, Headers: headers}
	if partition >= 0 {
		record.Partition = partition
	}
	return record
}

// openInput opens the -f file, or stdin, and returns the file size when it
// is known (for the progress bar), else 0.
func openInput(cmd *cobra.Command, file string) (io.ReadCloser, int64, error) {
	if file == "" || file == "-" {
		return io.NopCloser(cmd.InOrStdin()), 0, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, 0, fmt.Errorf("input: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("input: %w", err)
	}
	return f, info.Size(), nil
}

// lineReader reads input lines on its own goroutine, so the produce loop can
// notice SIGINT while a terminal read is blocked.
type lineReader struct {
	out  <-chan []byte
	quit chan struct{}
	done chan struct{}
	err  error // read error; written before done is closed
}

// readLines starts the reader goroutine. Each line comes without its
// trailing '\n'; a last line without '\n' still counts. stop must be called.
func readLines(ctx context.Context, input io.Reader, tally *produceTally) *lineReader {
	out := make(chan []byte, 1024)
	r := &lineReader{out: out, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer close(out)
		buffered := bufio.NewReaderSize(input, 64<<10)
		for {
			line, err := buffered.ReadBytes('\n')
			tally.bytesRead.Add(int64(len(line)))
			if err == nil {
				line = line[:len(line)-1] // ReadBytes ends the line with '\n' when err is nil
			}
			if err == nil || len(line) > 0 {
				select {
				case out <- line:
				case <-r.quit:
					return
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					r.err = fmt.Errorf("read input: %w", err)
				}
				return
			}
		}
	}()
	return r
}

// stop tells the reader to quit and waits for it, unless it is blocked in a
// read that cannot be interrupted (a terminal after SIGINT); that goroutine
// ends with the process.
func (r *lineReader) stop() {
	close(r.quit)
	select {
	case <-r.done:
	default:
	}
}

// readErr returns the error that ended reading, if the reader has finished.
func (r *lineReader) readErr() error {
	select {
	case <-r.done:
		return r.err
	default:
		return nil
	}
}

// produceTally counts outcomes; promises update it from kgo's goroutines.
type produceTally struct {
	bytesRead atomic.Int64
	produced  atomic.Int64
	failed    atomic.Int64

	mu       sync.Mutex
	firstErr error
}

func (t *produceTally) finish(err error) {
	if err == nil {
		t.produced.Add(1)
		return
	}
	t.failed.Add(1)
	t.mu.Lock()
	if t.firstErr == nil {
		t.firstErr = err
	}
	t.mu.Unlock()
}

func (t *produceTally) result() (produced, failed int64, firstErr error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.produced.Load(), t.failed.Load(), t.firstErr
}
