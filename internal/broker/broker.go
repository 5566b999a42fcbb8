// Package broker wires Samsa together: the data directory and its lock, the
// topic catalogue, the group coordinator, the Kafka API handler and one
// network server per listener, plus the background loops (interval fsync,
// retention). It is the only package that imports almost everything.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/config"
	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/group"
	"github.com/samsa-broker/samsa/internal/handler"
	"github.com/samsa-broker/samsa/internal/logging"
	"github.com/samsa-broker/samsa/internal/partition"
	"github.com/samsa-broker/samsa/internal/security"
	"github.com/samsa-broker/samsa/internal/storage"
	"github.com/samsa-broker/samsa/internal/storage/vfs"
	"github.com/samsa-broker/samsa/internal/tokens"
	"github.com/samsa-broker/samsa/internal/topics"
	"github.com/samsa-broker/samsa/internal/txn"
)

// Options configures a Broker.
type Options struct {
	Config *config.Broker
	// FS is the filesystem for data files (vfs.OS() unless testing).
	FS     vfs.FS
	Logger *slog.Logger
	// Levels are the runtime log levels Logger's handler obeys (made with
	// Levels.Handler), served as BROKER_LOGGER configs. Nil: Logger is
	// wrapped in new Levels with the root at INFO.
	Levels *logging.Levels
}

// Broker is one running Samsa node.
type Broker struct {
	opts    Options
	cfg     *config.Broker
	log     *slog.Logger
	lock    *os.File
	catalog *topics.Catalog
	groups  *group.Coordinator
	txns    *txn.Coordinator
	tokens  *tokens.Manager
	handler *handler.Handler

	servers   []*conn.Server
	listeners []net.Listener
	endpoints []handler.Endpoint

	cancel context.CancelFunc
	wg     sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// ErrDataDirLocked means another process uses the data directory.
var ErrDataDirLocked = errors.New("data directory is in use by another samsa process")

// New opens the data directory and every partition, but does not listen yet.
func New(opts Options) (*Broker, error) {
	if opts.FS == nil {
		opts.FS = vfs.OS()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Levels == nil {
		opts.Levels = logging.NewLevels(slog.LevelInfo)
		opts.Logger = slog.New(opts.Levels.Handler(opts.Logger.Handler()))
	}
	cfg := opts.Config
	dataDir := cfg.DataDir()
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	lock, err := lockDataDir(dataDir)
	if err != nil {
		return nil, err
	}
	fsync, err := partition.ParseFsyncPolicy(string(cfg.Fsync()))
	if err != nil {
		lock.Close()
		return nil, err
	}
	b := &Broker{opts: opts, cfg: cfg, log: opts.Logger, lock: lock}
	b.catalog, err = topics.Open(topics.Options{
		FS: opts.FS, DataDir: dataDir, Broker: cfg, Fsync: fsync, Logger: opts.Logger,
		PageCache: storage.NewPageCache(cfg.PageCacheMaxBytes(), 0, opts.Logger),
	})
	if err != nil {
		lock.Close()
		return nil, err
	}
	if err := b.ensureInternalTopics(); err != nil {
		b.catalog.Close()
		lock.Close()
		return nil, err
	}
	b.groups = group.New(group.Config{
		Partitions:                cfg.OffsetsTopicNumPartitions(),
		InitialRebalanceDelay:     cfg.GroupInitialRebalanceDelay(),
		MinSessionTimeout:         cfg.GroupMinSessionTimeout(),
		MaxSessionTimeout:         cfg.GroupMaxSessionTimeout(),
		OffsetsRetention:          cfg.OffsetsRetention(),
		MaxGroupSize:              int(cfg.GroupMaxSize()),
		ConsumerSessionTimeout:    cfg.ConsumerGroupSessionTimeout(),
		ConsumerHeartbeatInterval: cfg.ConsumerGroupHeartbeatInterval(),
		ConsumerTimeouts:          b.consumerGroupTimeouts,
		MigrationPolicy:           cfg.ConsumerGroupMigrationPolicy(),
		Now:                       time.Now,
		Logger:                    opts.Logger.With("component", "group"),
		Topics:                    b.topicLookup,
		TopicByID:                 b.topicByID,
		ListTopics:                b.topicNames,
	}, offsetsLog{internalLog{catalog: b.catalog, topic: offsetsTopic}})
	b.txns = txn.New(txn.Config{
		Partitions:     cfg.TransactionStateLogNumPartitions(),
		MaxTimeout:     cfg.TransactionMaxTimeout(),
		AbortInterval:  cfg.TransactionAbortTimedOutInterval(),
		IDExpiration:   cfg.TransactionalIDExpiration(),
		ExpireInterval: cfg.TransactionRemoveExpiredInterval(),
		Now:            time.Now,
		Logger:         opts.Logger.With("component", "txn"),
	}, txnStateLog{internalLog{catalog: b.catalog, topic: txnStateTopic}},
		txnMarkers{catalog: b.catalog, groups: b.groups, log: opts.Logger.With("component", "txn")},
		b.catalog.Metadata())
	expiry, maxLifetime, _ := cfg.DelegationTokenLifetimes()
	b.tokens = tokens.New(tokens.Config{
		Secret: cfg.DelegationTokenSecret(), Expiry: expiry, MaxLifetime: maxLifetime,
		Logger: opts.Logger.With("component", "tokens"),
	}, b.catalog.Metadata())
	return b, nil
}

func (b *Broker) topicLookup(name string) ([16]byte, int32, bool) {
	t, ok := b.catalog.Metadata().Topic(name)
	return t.ID, t.Partitions, ok
}

// consumerGroupTimeouts are a KIP-848 group's session timeout and heartbeat
// interval: its group configs, else the broker's.
func (b *Broker) consumerGroupTimeouts(groupID string) (session, heartbeat time.Duration) {
	return b.cfg.ConsumerGroupTimeouts(b.catalog.GroupConfigs(groupID))
}

// topicNames lists every topic, internal ones included: KIP-848 regular
// expressions are resolved against them all, as Kafka does.
func (b *Broker) topicNames() []string {
	var names []string
	for _, t := range b.catalog.Metadata().Topics() {
		names = append(names, t.Name)
	}
	return names
}

func (b *Broker) topicByID(id [16]byte) (string, bool) {
	return b.catalog.Metadata().TopicName(id)
}

// ensureInternalTopics creates __consumer_offsets and __transaction_state
// on first start, with Kafka's settings for them.
func (b *Broker) ensureInternalTopics() error {
	internal := []struct {
		name       string
		partitions int32
		segment    int32
	}{
		{offsetsTopic, b.cfg.OffsetsTopicNumPartitions(), b.cfg.OffsetsTopicSegmentBytes()},
		{txnStateTopic, b.cfg.TransactionStateLogNumPartitions(), b.cfg.TransactionStateLogSegmentBytes()},
	}
	for _, t := range internal {
		if _, ok := b.catalog.Metadata().Topic(t.name); ok {
			continue
		}
		_, err := b.catalog.CreateInternalTopic(t.name, t.partitions, map[string]string{
			"cleanup.policy": "compact", "segment.bytes": strconv.Itoa(int(t.segment)), "compression.type": "producer",
		})
		if err != nil {
			return fmt.Errorf("create %s: %w", t.name, err)
		}
	}
	return nil
}

// Start binds every listener and starts serving. It returns once the
// listeners are bound, so Addrs is valid afterwards.
func (b *Broker) Start(ctx context.Context) error {
	ctx, b.cancel = context.WithCancel(ctx)
	listeners := b.cfg.ListenAddrs()
	secured := make([]listenerSecurity, len(listeners))
	authenticators := map[string]*security.Authenticator{}
	for i, l := range listeners {
		sec, err := b.listenerSecurity(l)
		if err != nil {
			return fmt.Errorf("listener %s (%s): %w", l.Name, l.SecurityProtocol, err)
		}
		secured[i] = sec
		if sec.auth != nil {
			authenticators[l.Name] = sec.auth
		}
	}
	for _, l := range listeners {
		ln, err := net.Listen("tcp", net.JoinHostPort(l.Host, strconv.Itoa(l.Port)))
		if err != nil {
			b.closeListeners()
			return fmt.Errorf("listen %s://%s:%d: %w", l.Name, l.Host, l.Port, err)
		}
		b.listeners = append(b.listeners, ln)
		b.endpoints = append(b.endpoints, b.advertised(l, ln.Addr().(*net.TCPAddr)))
	}
	if len(b.listeners) == 0 {
		return errors.New("no usable listener configured")
	}
	var authorizer *acl.Authorizer
	if b.cfg.AuthorizerEnabled() {
		authorizer = acl.NewAuthorizer(b.cfg.SuperUsers(), b.cfg.AllowEveryoneIfNoACLFound(), b.catalog.Metadata().ACLs)
		b.log.Info("ACL authorizer on", "super_users", b.cfg.SuperUsers(), "allow_everyone_if_no_acl_found", b.cfg.AllowEveryoneIfNoACLFound(), "acls", b.catalog.Metadata().ACLs().Len())
	}
	b.handler = handler.New(handler.Options{
		NodeID: b.cfg.NodeID(), Broker: b.cfg, Catalog: b.catalog, Groups: b.groups,
		ProducerIDs: b.catalog.Metadata(), Transactions: b.txns, Tokens: b.tokens, Endpoints: b.endpoints,
		Authenticators: authenticators, Credentials: b.catalog.Metadata(),
		Authorizer: authorizer, ACLs: b.catalog.Metadata(), Quotas: b.catalog.Metadata(),
		Loggers: b.opts.Levels,
		Logger:  b.log.With("component", "handler"),
	})
	b.groups.Start(ctx)
	b.txns.Start()
	if b.tokens.Enabled() {
		_, _, check := b.cfg.DelegationTokenLifetimes()
		b.every(ctx, check, b.tokens.RemoveExpired)
	}
	// One set of connection limits for every listener, as Kafka's
	// ConnectionQuotas.
	window, _ := b.cfg.QuotaWindow()
	limits := conn.NewLimits(conn.LimitsOptions{
		Settings: newConnLimits(ctx, b.cfg, b.catalog.Metadata().ClientQuotas, b.log.With("component", "conn")).settings,
		Window:   window,
	})
	for i, ln := range b.listeners {
		srv := conn.NewServer(conn.Config{
			MaxRequestBytes: b.cfg.SocketRequestMaxBytes(),
			MaxQueuedBytes:  b.cfg.QueuedMaxRequestBytes(),
			IdleTimeout:     b.cfg.ConnectionsMaxIdle(),
			Listener:        b.endpoints[i].Listener,
			TLS:             secured[i].tls,
			SASL:            secured[i].auth != nil,
			CertPrincipal:   secured[i].certPrincipal,
			Limits:          limits,
			Logger:          b.log.With("component", "conn"),
		}, b.handler)
		b.servers = append(b.servers, srv)
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			if err := srv.Serve(ctx, ln); err != nil {
				b.log.Error("listener stopped", "addr", ln.Addr(), "err", err)
			}
		}()
		b.log.Info("listening", "listener", b.endpoints[i].Listener, "protocol", listeners[i].SecurityProtocol, "addr", ln.Addr().String(),
			"advertised", net.JoinHostPort(b.endpoints[i].Host, strconv.Itoa(int(b.endpoints[i].Port))))
	}
	b.startBackground(ctx)
	return nil
}

// advertised returns the address clients are told to use for a listener:
// advertised.listeners if set, else the bound address (a wildcard host is
// replaced by this machine's hostname).
func (b *Broker) advertised(l config.Listener, bound *net.TCPAddr) handler.Endpoint {
	for _, adv := range b.cfg.AdvertisedListeners() {
		if adv.Name != l.Name {
			continue
		}
		port := adv.Port
		if port == 0 {
			port = bound.Port
		}
		return handler.Endpoint{Listener: l.Name, Host: adv.Host, Port: int32(port)}
	}
	host := l.Host
	if host == "" || host == "0.0.0.0" || host == "::" {
		if h, err := os.Hostname(); err == nil {
			host = h
		} else {
			host = "127.0.0.1"
		}
	}
	return handler.Endpoint{Listener: l.Name, Host: host, Port: int32(bound.Port)}
}

// Addrs returns the bound address of each listener.
func (b *Broker) Addrs() []string {
	out := make([]string, len(b.listeners))
	for i, ln := range b.listeners {
		out[i] = ln.Addr().String()
	}
	return out
}

// Catalog exposes the topic catalogue (tests and admin tooling).
func (b *Broker) Catalog() *topics.Catalog { return b.catalog }

func (b *Broker) startBackground(ctx context.Context) {
	if p, _ := partition.ParseFsyncPolicy(string(b.cfg.Fsync())); p == partition.FsyncInterval {
		interval := b.cfg.FsyncInterval()
		if interval <= 0 {
			interval = time.Second
		}
		b.every(ctx, interval, func() {
			for _, p := range b.catalog.Partitions().All() {
				if err := p.Sync(); err != nil && !errors.Is(err, partition.ErrClosed) {
					b.log.Error("periodic fsync failed", "topic", p.Topic, "partition", p.Index, "err", err)
				}
			}
		})
	}
	b.every(ctx, b.cfg.LogRetentionCheckInterval(), func() {
		for _, p := range b.catalog.Partitions().All() {
			if n, err := p.ApplyRetention(); err != nil {
				b.log.Error("retention failed", "topic", p.Topic, "partition", p.Index, "err", err)
			} else if n > 0 {
				b.log.Info("retention deleted segments", "topic", p.Topic, "partition", p.Index, "segments", n)
			}
		}
	})
	b.every(ctx, b.cfg.ProducerIDExpirationCheckInterval(), func() {
		maxIdle, n := b.cfg.ProducerIDExpiration(), 0
		for _, p := range b.catalog.Partitions().All() {
			n += p.ExpireProducers(time.Now(), maxIdle)
		}
		if n > 0 {
			b.log.Info("expired idle producer ids", "producer_states", n, "producer_id_expiration", maxIdle)
		}
	})
	b.everyDynamic(ctx, b.cfg.LogCleanerBackoff, func() {
		for _, p := range b.catalog.Partitions().All() {
			if ctx.Err() != nil {
				return
			}
			stats, err := p.Compact(time.Now())
			if err != nil {
				b.log.Error("log cleaner failed", "topic", p.Topic, "partition", p.Index, "err", err)
			} else if stats.Segments > 0 {
				b.log.Info("log cleaner compacted segments", "topic", p.Topic, "partition", p.Index, "segments", stats.Segments, "segments_merged", stats.Merged,
					"records_removed", stats.RecordsRemoved, "bytes_before", stats.BytesBefore, "bytes_after", stats.BytesAfter)
			}
		}
	})
}

// every runs fn every interval until ctx ends, on a goroutine the broker owns.
func (b *Broker) every(ctx context.Context, interval time.Duration, fn func()) {
	if interval <= 0 {
		return
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fn()
			}
		}
	}()
}

// everyDynamic is every for an interval that is a dynamic broker config:
// a change to the dynamic layer re-reads it, and the next run is due that
// long after the previous one (a change never postpones a run that is due).
func (b *Broker) everyDynamic(ctx context.Context, interval func() time.Duration, fn func()) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		last := time.Now()
		for {
			changed := b.cfg.DynamicChanged()
			t := time.NewTimer(time.Until(last.Add(interval())))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-changed:
				t.Stop()
			case <-t.C:
				fn()
				last = time.Now()
			}
		}
	}()
}

func (b *Broker) closeListeners() {
	for _, ln := range b.listeners {
		ln.Close()
	}
}

// Shutdown stops accepting connections, lets in-flight requests finish (up
// to ctx's deadline), stops the coordinators and background loops, then
// flushes and closes every partition. It is idempotent.
func (b *Broker) Shutdown(ctx context.Context) error {
	b.closeOnce.Do(func() {
		for _, s := range b.servers {
			s.Shutdown(ctx)
		}
		b.closeListeners()
		// Transactions first: their markers go through the groups.
		b.txns.Close()
		b.groups.Close()
		if b.cancel != nil {
			b.cancel()
		}
		b.wg.Wait()
		b.closeErr = b.catalog.Close()
		b.lock.Close()
		b.log.Info("broker stopped")
	})
	return b.closeErr
}

// lockDataDir takes an exclusive advisory lock on dir/.lock so a second
// broker cannot open the same data.
func lockDataDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	held, err := lockFile(f)
	if err != nil || held {
		f.Close()
		if held {
			return nil, fmt.Errorf("%w: %s (is another broker running?)", ErrDataDirLocked, dir)
		}
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	return f, nil
}
