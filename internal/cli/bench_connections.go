package cli

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Protocol limits of the connections workload.
const (
	// maxBenchResponseBytes rejects a response size that cannot be real,
	// rather than allocating it.
	maxBenchResponseBytes = 64 << 20
	// benchMetadataVersion is the newest Metadata version the workload asks
	// for; the broker's ApiVersions answer may lower it.
	benchMetadataVersion = 12
)

// errBadResponse reports a response frame that does not match its request.
var errBadResponse = errors.New("malformed response")

// benchConnectionsOptions are the flags of `samsa bench connections`.
type benchConnectionsOptions struct {
	count    int           // connections to open
	parallel int           // connections being set up at once
	hold     time.Duration // how long all connections stay open before the liveness check
}

func newBenchConnectionsCommand(cfg *clientConfig) *cobra.Command {
	opts := &benchConnectionsOptions{}
	cmd := &cobra.Command{
		Use:   "connections",
		Short: "Open many connections, each sending ApiVersions and Metadata, and hold them",
		Long: "Opens --count TCP connections to the first bootstrap broker (--parallel at a time); each\n" +
			"sends ApiVersions then Metadata. All stay open for --hold, then each sends ApiVersions\n" +
			"once more to show it is still served. The latency is one connection's dial plus both\n" +
			"requests; records_per_sec is connections set up per second.",
		Args: noArgs,
	}
	flags := cmd.Flags()
	flags.IntVar(&opts.count, "count", 1000, "connections to open")
	flags.IntVar(&opts.parallel, "parallel", 100, "connections being set up at once")
	flags.DurationVar(&opts.hold, "hold", time.Second, "how long to hold every connection open")
	cmd.RunE = cfg.run(func(cmd *cobra.Command, _ []string) error {
		if err := opts.validate(); err != nil {
			return err
		}
		return runBenchConnections(cmd, cfg, opts)
	})
	return cmd
}

func (o *benchConnectionsOptions) validate() error {
	switch {
	case o.count < 1:
		return usageErrorf("--count must be at least 1, got %d", o.count)
	case o.parallel < 1:
		return usageErrorf("--parallel must be at least 1, got %d", o.parallel)
	case o.hold < 0:
		return usageErrorf("--hold must not be negative, got %s", o.hold)
	}
	return nil
}

func runBenchConnections(cmd *cobra.Command, cfg *clientConfig, opts *benchConnectionsOptions) error {
	ctx := cmd.Context()
	seeds := cfg.seeds()
	if len(seeds) == 0 {
		return usageErrorf("no broker address: set -b/--bootstrap-server or SAMSA_BOOTSTRAP")
	}
	if cfg.timeout <= 0 {
		return usageErrorf("--timeout must be positive, got %s", cfg.timeout)
	}
	formatter := kmsg.NewRequestFormatter(kmsg.FormatterClientID(cfg.clientID))
	meter := &benchMeter{}
	progress := startBenchProgress(cmd.ErrOrStderr(), "connections", meter)

	// Open and set up every connection, opts.parallel at a time.
	conns := make([]*benchConn, opts.count)
	indexes := make(chan int)
	start := time.Now()
	var wg sync.WaitGroup
	for range min(opts.parallel, opts.count) {
		wg.Go(func() {
			for i := range indexes {
				begun := time.Now()
				conn, err := openBenchConn(ctx, seeds[0], cfg.timeout, formatter)
				if err != nil {
					meter.fail(1, fmt.Errorf("connection %d: %w", i, err))
					continue
				}
				meter.observe(time.Since(begun), 1, conn.bytes)
				conns[i] = conn
			}
		})
	}
feed:
	for i := range opts.count {
		select {
		case indexes <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(indexes)
	wg.Wait()
	elapsed := time.Since(start)
	progress.stop()
	defer func() {
		for _, conn := range conns {
			if conn != nil {
				conn.Close()
			}
		}
	}()

	// Hold them, then check that the broker still serves every one.
	select {
	case <-time.After(opts.hold):
	case <-ctx.Done():
	}
	if ctx.Err() == nil {
		checkHeldConns(conns, cfg.timeout, meter)
	}
	return finishBench(cmd, meter, meter.result("connections", elapsed), "connection setup", ctx.Err() != nil)
}

// checkHeldConns sends ApiVersions on every open connection at once and
// counts those that no longer answer as errors.
func checkHeldConns(conns []*benchConn, timeout time.Duration, meter *benchMeter) {
	var wg sync.WaitGroup
	for i, conn := range conns {
		if conn == nil {
			continue
		}
		wg.Go(func() {
			if err := conn.apiVersions(timeout); err != nil {
				meter.fail(1, fmt.Errorf("connection %d after holding: %w", i, err))
			}
		})
	}
	wg.Wait()
}

// benchConn is one raw Kafka connection of the connections workload.
type benchConn struct {
	net.Conn
	formatter   *kmsg.RequestFormatter
	correlation int32
	bytes       int64 // written and read so far
}

// openBenchConn dials addr and sends ApiVersions, then Metadata at the
// version the broker supports.
func openBenchConn(ctx context.Context, addr string, timeout time.Duration, formatter *kmsg.RequestFormatter) (*benchConn, error) {
	dialer := net.Dialer{Timeout: timeout}
	raw, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	conn := &benchConn{Conn: raw, formatter: formatter}
	versions := kmsg.NewPtrApiVersionsRequest()
	versions.Version = 3
	versions.ClientSoftwareName = "samsa-bench"
	versions.ClientSoftwareVersion = "1"
	versionsResp := kmsg.NewPtrApiVersionsResponse()
	if err := conn.roundTrip(versions, versionsResp, timeout); err != nil {
		conn.Close()
		return nil, err
	}
	metadataVersion := int16(-1)
	for _, key := range versionsResp.ApiKeys {
		if key.ApiKey == kmsg.Metadata.Int16() {
			metadataVersion = min(key.MaxVersion, benchMetadataVersion)
		}
	}
	if metadataVersion < 1 {
		conn.Close()
		return nil, errors.New("broker does not offer Metadata v1 or later")
	}
	metadata := kmsg.NewPtrMetadataRequest()
	metadata.Version = metadataVersion
	metadata.Topics = nil // every topic
	if err := conn.roundTrip(metadata, kmsg.NewPtrMetadataResponse(), timeout); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// apiVersions sends one ApiVersions request and checks the answer.
func (c *benchConn) apiVersions(timeout time.Duration) error {
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	req.ClientSoftwareName = "samsa-bench"
	req.ClientSoftwareVersion = "1"
	return c.roundTrip(req, kmsg.NewPtrApiVersionsResponse(), timeout)
}

// roundTrip writes req, reads its response into resp and checks the
// top-level error code where the response has one.
func (c *benchConn) roundTrip(req kmsg.Request, resp kmsg.Response, timeout time.Duration) error {
	name := kmsg.NameForKey(req.Key())
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	c.correlation++
	frame := c.formatter.AppendRequest(nil, req, c.correlation)
	if _, err := c.Write(frame); err != nil {
		return fmt.Errorf("%s: write: %w", name, err)
	}
	var sizeBytes [4]byte
	if _, err := io.ReadFull(c, sizeBytes[:]); err != nil {
		return fmt.Errorf("%s: read: %w", name, err)
	}
	size := int32(binary.BigEndian.Uint32(sizeBytes[:]))
	if size < 4 || size > maxBenchResponseBytes {
		return fmt.Errorf("%s: %w: frame size %d", name, errBadResponse, size)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(c, body); err != nil {
		return fmt.Errorf("%s: read: %w", name, err)
	}
	c.bytes += int64(len(frame)) + 4 + int64(size)
	payload, err := responseBody(body, c.correlation, req)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	resp.SetVersion(req.GetVersion())
	if err := resp.ReadFrom(payload); err != nil {
		return fmt.Errorf("%s: %w: %w", name, errBadResponse, err)
	}
	if versions, ok := resp.(*kmsg.ApiVersionsResponse); ok {
		if err := kerr.ErrorForCode(versions.ErrorCode); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// responseBody checks the response header (correlation id, and the tagged
// fields of a flexible header) and returns what follows it. ApiVersions
// answers always use the v0 header, without tagged fields.
func responseBody(frame []byte, correlation int32, req kmsg.Request) ([]byte, error) {
	r := kbin.Reader{Src: frame}
	if got := r.Int32(); got != correlation {
		return nil, fmt.Errorf("%w: correlation id %d, want %d", errBadResponse, got, correlation)
	}
	if req.IsFlexible() && req.Key() != kmsg.ApiVersions.Int16() {
		for range r.Uvarint() {
			r.Uvarint() // tag
			r.Span(int(r.Uvarint()))
		}
	}
	if !r.Ok() {
		return nil, fmt.Errorf("%w: truncated header", errBadResponse)
	}
	return r.Src, nil
}
