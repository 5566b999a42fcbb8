// Package txn is Samsa's transaction coordinator: for every transactional
// id the producer id and epoch, the transaction's state and the partitions
// it wrote to, kept as Kafka keeps them in __transaction_state (the records
// are Kafka's TxnMetadataKey/TxnMetadataValue), and the protocol that ends a
// transaction by writing COMMIT or ABORT markers to each of its partitions.
//
// A transaction moves Empty → Ongoing (AddPartitionsToTxn, AddOffsetsToTxn)
// → PrepareCommit/PrepareAbort (EndTxn) → CompleteCommit/CompleteAbort once
// every marker is written.
//
// Transaction protocol v2 (KIP-890 part 2, Produce v12+, TxnOffsetCommit v5+,
// EndTxn v5+) differs in two ways: partitions join the transaction when the
// producer first writes to them, and every EndTxn bumps the epoch (its
// markers carry the new one), so a late write of a finished transaction is
// fenced instead of landing in the next. An epoch that runs out moves the
// transactional id to a new producer id when its transaction completes. Each state is logged before it is acted on, so a
// coordinator that restarts in a Prepare state writes the markers again
// (markers are idempotent) and completes it. Ongoing transactions that
// outlive their timeout are aborted with a bumped epoch, which fences the
// producer that let them hang. Ids idle longer than transactional.id.
// expiration.ms are forgotten, with a tombstone in the log.
//
// Concurrency: c.mu guards the map of transactional ids and every field of
// their state, and is never held across I/O. Each transactional id also has
// an operation lock that serializes its requests across their log writes
// and markers, so one slow transaction never blocks another.
package txn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Log persists coordinator records in the partitions of __transaction_state.
type Log interface {
	// Append writes one record and returns once it is durable per broker
	// policy.
	Append(ctx context.Context, partition int32, key, value []byte) error
	// Replay calls fn for every record of the partition, in order; a nil
	// value is a tombstone.
	Replay(ctx context.Context, partition int32, fn func(key, value []byte) error) error
}

// Markers writes the marker that ends a producer's transaction on one
// partition, returning once it is durable per broker policy. It must be
// idempotent: a coordinator that restarts writes markers again.
type Markers interface {
	WriteMarker(ctx context.Context, topic string, partition int32, producerID int64, epoch int16, commit bool) error
}

// ProducerIDs allocates producer ids unique across restarts.
type ProducerIDs interface {
	NextProducerID() (int64, error)
}

// Config configures a Coordinator.
type Config struct {
	// Partitions is transaction.state.log.num.partitions.
	Partitions int32
	// MaxTimeout is transaction.max.timeout.ms: longer requested timeouts
	// are refused.
	MaxTimeout time.Duration
	// AbortInterval is how often timed-out transactions are looked for
	// (transaction.abort.timed.out.transaction.cleanup.interval.ms).
	AbortInterval time.Duration
	// IDExpiration is transactional.id.expiration.ms: a transactional id
	// with no transaction open that long is forgotten (a tombstone is
	// logged). Zero keeps ids forever.
	IDExpiration time.Duration
	// ExpireInterval is how often expired transactional ids are looked for
	// (transaction.remove.expired.transaction.cleanup.interval.ms).
	ExpireInterval time.Duration
	Now            func() time.Time
	Logger         *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Partitions <= 0 {
		c.Partitions = 50
	}
	if c.MaxTimeout <= 0 {
		c.MaxTimeout = 15 * time.Minute
	}
	if c.AbortInterval <= 0 {
		c.AbortInterval = 10 * time.Second
	}
	if c.ExpireInterval <= 0 {
		c.ExpireInterval = time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Errors a request can end with; the handler maps them to Kafka codes for
// the request's version.
var (
	ErrLoading             = errors.New("transaction coordinator is loading")
	ErrInvalidTimeout      = errors.New("transaction timeout out of range")
	ErrUnknownProducerID   = errors.New("producer id does not match the transactional id")
	ErrProducerFenced      = errors.New("producer epoch is not the current one")
	ErrConcurrent          = errors.New("a previous transaction is still completing")
	ErrInvalidState        = errors.New("invalid transaction state for this request")
	ErrCoordinatorShutdown = errors.New("transaction coordinator closed")
	ErrStorage             = errors.New("transaction state could not be written")
)

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// state is one transactional id's metadata (Kafka's TransactionMetadata).
type state struct {
	id         string
	producerID int64
	epoch      int16
	timeout    time.Duration
	status     kmsg.TransactionState
	partitions map[TopicPartition]struct{}
	started    time.Time // when the open transaction began
	updated    time.Time
	// clientVersion is the transaction protocol the transaction's requests
	// speak (Kafka's ClientTransactionVersion): 2 bumps the epoch at every
	// end, 0 does not.
	clientVersion int16
	// nextProducerID is the producer id a Prepare state moves to once its
	// markers are written, because the epoch ran out (protocol v2); -1
	// otherwise. prevProducerID is the id it moved from, so a retried
	// EndTxn of the old id is recognised; -1 otherwise.
	nextProducerID int64
	prevProducerID int64
}

// protocolV2 is the clientVersion of transaction protocol v2.
const protocolV2 = 2

// entry is a transactional id: its state (guarded by Coordinator.mu) and
// the lock that orders its operations.
type entry struct {
	op sync.Mutex
	st state
}

// Coordinator is the transaction coordinator of one broker.
type Coordinator struct {
	cfg     Config
	log     Log
	markers Markers
	ids     ProducerIDs
	logger  *slog.Logger

	mu     sync.Mutex
	loaded bool
	closed bool
	txns   map[string]*entry
	byPID  map[int64]*entry

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a coordinator; it serves requests once Start has replayed the
// log.
func New(cfg Config, log Log, markers Markers, ids ProducerIDs) *Coordinator {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Coordinator{
		cfg: cfg, log: log, markers: markers, ids: ids, logger: cfg.Logger,
		txns: make(map[string]*entry), byPID: make(map[int64]*entry),
		ctx: ctx, cancel: cancel,
	}
}

// Start loads the state (in a goroutine it owns) and then runs the loop
// that aborts timed-out transactions and completes interrupted ones.
func (c *Coordinator) Start() {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if !c.load() {
			return
		}
		c.runTimeouts()
	}()
}

// Close stops the background work and fails requests still waiting.
func (c *Coordinator) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

// PartitionFor is the __transaction_state partition of a transactional id,
// as Kafka computes it.
func (c *Coordinator) PartitionFor(txnID string) int32 { return partitionFor(txnID, c.cfg.Partitions) }

// load replays every partition, retrying until it succeeds or the
// coordinator closes.
func (c *Coordinator) load() bool {
	for attempt := 0; ; attempt++ {
		txns := make(map[string]*entry)
		var err error
		for p := int32(0); p < c.cfg.Partitions && err == nil; p++ {
			err = c.log.Replay(c.ctx, p, func(key, value []byte) error {
				id, st, ok, err := decodeRecord(key, value)
				if err != nil {
					c.logger.Warn("skipping undecodable __transaction_state record", "partition", p, "err", err)
					return nil
				}
				if !ok {
					delete(txns, id)
					return nil
				}
				txns[id] = &entry{st: st}
				return nil
			})
		}
		if err == nil {
			c.mu.Lock()
			c.txns = txns
			for _, e := range txns {
				if e.st.producerID >= 0 {
					c.byPID[e.st.producerID] = e
				}
			}
			c.loaded = true
			c.mu.Unlock()
			c.logger.Debug("loaded transaction coordinator", "transactional_ids", len(txns))
			return true
		}
		if c.ctx.Err() != nil {
			return false
		}
		backoff := min(time.Second<<min(attempt, 5), 30*time.Second)
		c.logger.Warn("replaying __transaction_state failed; retrying", "err", err, "backoff", backoff)
		select {
		case <-time.After(backoff):
		case <-c.ctx.Done():
			return false
		}
	}
}

// lookup returns the entry of txnID, creating it when create is set.
func (c *Coordinator) lookup(txnID string, create bool) (*entry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return nil, ErrCoordinatorShutdown
	case !c.loaded:
		return nil, ErrLoading
	}
	e := c.txns[txnID]
	if e == nil && create {
		e = &entry{st: state{id: txnID, producerID: -1, epoch: -1, status: kmsg.TransactionStateEmpty, nextProducerID: -1, prevProducerID: -1}}
		c.txns[txnID] = e
	}
	return e, nil
}

// acquire returns txnID's entry (creating it when create is set) with its
// operation lock held. An entry that expired while the caller waited for
// its lock is no longer the id's, and is looked up again.
func (c *Coordinator) acquire(txnID string, create bool) (*entry, error) {
	for {
		e, err := c.lookup(txnID, create)
		if err != nil || e == nil {
			return e, err
		}
		e.op.Lock()
		c.mu.Lock()
		current := c.txns[txnID] == e
		c.mu.Unlock()
		if current {
			return e, nil
		}
		e.op.Unlock()
	}
}

// snapshot returns a copy of e's state.
func (c *Coordinator) snapshot(e *entry) state {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := e.st
	st.partitions = make(map[TopicPartition]struct{}, len(e.st.partitions))
	for tp := range e.st.partitions {
		st.partitions[tp] = struct{}{}
	}
	return st
}

// persist logs st and, once it is durable, makes it e's state.
func (c *Coordinator) persist(ctx context.Context, e *entry, st state) error {
	st.updated = c.cfg.Now()
	key, value := encodeRecord(&st)
	if err := c.log.Append(ctx, c.PartitionFor(st.id), key, value); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrStorage, st.id, err)
	}
	c.mu.Lock()
	if old := e.st.producerID; old >= 0 && old != st.producerID && c.byPID[old] == e {
		delete(c.byPID, old)
	}
	e.st = st
	if st.producerID >= 0 {
		c.byPID[st.producerID] = e
	}
	c.mu.Unlock()
	return nil
}

// InitProducerID returns the producer id and epoch for a transactional
// producer, bumping the epoch so older instances are fenced, and aborting a
// transaction the previous instance left open. expectedID/expectedEpoch
// (InitProducerId v3+, -1 when absent) name the instance asking for a bump.
func (c *Coordinator) InitProducerID(ctx context.Context, txnID string, timeout time.Duration, expectedID int64, expectedEpoch int16) (int64, int16, error) {
	if timeout <= 0 || timeout > c.cfg.MaxTimeout {
		return -1, -1, fmt.Errorf("%w: %s (max %s)", ErrInvalidTimeout, timeout, c.cfg.MaxTimeout)
	}
	e, err := c.acquire(txnID, true)
	if err != nil {
		return -1, -1, err
	}
	defer e.op.Unlock()
	st := c.snapshot(e)
	if expectedID >= 0 && st.producerID >= 0 && (expectedID != st.producerID || expectedEpoch != st.epoch) {
		return -1, -1, fmt.Errorf("%w: %s is at producer %d epoch %d, not %d/%d", ErrProducerFenced, txnID, st.producerID, st.epoch, expectedID, expectedEpoch)
	}
	switch st.status {
	case kmsg.TransactionStateOngoing:
		// The previous instance's transaction is aborted under a bumped
		// epoch, so its late writes are fenced.
		if st, err = c.end(ctx, e, st, false, true); err != nil {
			return -1, -1, err
		}
	case kmsg.TransactionStatePrepareCommit, kmsg.TransactionStatePrepareAbort:
		if st, err = c.complete(ctx, e, st); err != nil {
			return -1, -1, err
		}
	}
	if st.producerID < 0 || st.epoch >= math.MaxInt16-1 {
		id, err := c.ids.NextProducerID()
		if err != nil {
			return -1, -1, fmt.Errorf("%w: allocate producer id: %v", ErrStorage, err)
		}
		st.producerID, st.epoch = id, 0
	} else {
		st.epoch++
	}
	st.timeout = timeout
	st.prevProducerID, st.nextProducerID = -1, -1
	st.status = kmsg.TransactionStateEmpty
	st.partitions = nil
	st.started = time.Time{}
	if err := c.persist(ctx, e, st); err != nil {
		return -1, -1, err
	}
	return st.producerID, st.epoch, nil
}

// checkProducer validates a request's producer id and epoch against st.
func checkProducer(st *state, producerID int64, epoch int16) error {
	switch {
	case st.producerID < 0 || st.producerID != producerID:
		return fmt.Errorf("%w: %s has producer %d, not %d", ErrUnknownProducerID, st.id, st.producerID, producerID)
	case epoch != st.epoch:
		return fmt.Errorf("%w: %s is at epoch %d, not %d", ErrProducerFenced, st.id, st.epoch, epoch)
	}
	return nil
}

// AddPartitions adds partitions to the producer's transaction, starting it
// if none is open. v2 is set for the implicit adds of transaction protocol v2
// (a Produce or TxnOffsetCommit naming a partition the transaction does not
// hold yet), which also mark the transaction as a v2 one.
func (c *Coordinator) AddPartitions(ctx context.Context, txnID string, producerID int64, epoch int16, parts []TopicPartition, v2 bool) error {
	if c.holdsAll(txnID, producerID, epoch, parts) {
		// Every write of a v2 transaction asks; almost all find their
		// partition added already, without waiting for the id's lock.
		return nil
	}
	e, err := c.acquire(txnID, false)
	if err != nil {
		return err
	}
	if e == nil {
		return fmt.Errorf("%w: unknown transactional id %s", ErrUnknownProducerID, txnID)
	}
	defer e.op.Unlock()
	st := c.snapshot(e)
	if err := checkProducer(&st, producerID, epoch); err != nil {
		return err
	}
	switch st.status {
	case kmsg.TransactionStatePrepareCommit, kmsg.TransactionStatePrepareAbort:
		return fmt.Errorf("%w: %s is %s", ErrConcurrent, txnID, st.status)
	case kmsg.TransactionStateOngoing:
		missing := false
		for _, tp := range parts {
			if _, ok := st.partitions[tp]; !ok {
				missing = true
				break
			}
		}
		if !missing {
			return nil
		}
	default:
		st.status = kmsg.TransactionStateOngoing
		st.started = c.cfg.Now()
		st.clientVersion = 0
		if v2 {
			st.clientVersion = protocolV2
		}
	}
	for _, tp := range parts {
		st.partitions[tp] = struct{}{}
	}
	return c.persist(ctx, e, st)
}

// holdsAll reports whether txnID's open transaction, of this producer id and
// epoch, holds every partition of parts.
func (c *Coordinator) holdsAll(txnID string, producerID int64, epoch int16, parts []TopicPartition) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.txns[txnID]
	if !c.loaded || c.closed || e == nil || e.st.status != kmsg.TransactionStateOngoing || e.st.producerID != producerID || e.st.epoch != epoch {
		return false
	}
	for _, tp := range parts {
		if _, ok := e.st.partitions[tp]; !ok {
			return false
		}
	}
	return true
}

// EndTxn commits or aborts the producer's open transaction: it logs the
// decision, writes a marker to every partition of the transaction and logs
// its completion, returning once all of that is durable. Retrying an EndTxn
// that completed succeeds. v2 (EndTxn v5+) bumps the epoch; the producer id
// and epoch returned are the ones the producer's next transaction uses.
func (c *Coordinator) EndTxn(ctx context.Context, txnID string, producerID int64, epoch int16, commit, v2 bool) (int64, int16, error) {
	e, err := c.acquire(txnID, false)
	if err != nil {
		return -1, -1, err
	}
	if e == nil {
		return -1, -1, fmt.Errorf("%w: unknown transactional id %s", ErrUnknownProducerID, txnID)
	}
	defer e.op.Unlock()
	st := c.snapshot(e)
	if v2 {
		return c.endV2(ctx, e, st, producerID, epoch, commit)
	}
	if err := checkProducer(&st, producerID, epoch); err != nil {
		return -1, -1, err
	}
	switch st.status {
	case kmsg.TransactionStateOngoing:
		st, err = c.end(ctx, e, st, commit, false)
		if err != nil {
			return -1, -1, err
		}
		return st.producerID, st.epoch, nil
	case kmsg.TransactionStateCompleteCommit:
		if commit {
			return st.producerID, st.epoch, nil // a retry of the commit that completed
		}
	case kmsg.TransactionStateCompleteAbort:
		if !commit {
			return st.producerID, st.epoch, nil
		}
	case kmsg.TransactionStatePrepareCommit, kmsg.TransactionStatePrepareAbort:
		return -1, -1, fmt.Errorf("%w: %s is %s", ErrConcurrent, txnID, st.status)
	}
	return -1, -1, fmt.Errorf("%w: %s is %s, cannot %s", ErrInvalidState, txnID, st.status, verb(commit))
}

// endV2 is EndTxn under transaction protocol v2. The request names the
// epoch of the transaction it ends; the end bumps it. A retry whose first
// response was lost therefore names the epoch before the current one (or,
// after the epoch ran out, the previous producer id at its last epoch), and
// is answered with the current ones when the transaction ended as it asks.
// An abort with no transaction open is allowed and bumps the epoch too.
// e.op must be held.
func (c *Coordinator) endV2(ctx context.Context, e *entry, st state, producerID int64, epoch int16, commit bool) (int64, int16, error) {
	retry := (producerID == st.producerID && epoch >= 0 && epoch == st.epoch-1) ||
		(st.prevProducerID >= 0 && producerID == st.prevProducerID && st.epoch == 0 && epoch == math.MaxInt16-1)
	if !retry {
		if err := checkProducer(&st, producerID, epoch); err != nil {
			return -1, -1, err
		}
	}
	fenced := func() (int64, int16, error) {
		return -1, -1, fmt.Errorf("%w: %s is at producer %d epoch %d, not %d/%d", ErrProducerFenced, st.id, st.producerID, st.epoch, producerID, epoch)
	}
	switch st.status {
	case kmsg.TransactionStatePrepareCommit, kmsg.TransactionStatePrepareAbort:
		return -1, -1, fmt.Errorf("%w: %s is %s", ErrConcurrent, st.id, st.status)
	case kmsg.TransactionStateCompleteCommit, kmsg.TransactionStateCompleteAbort:
		committed := st.status == kmsg.TransactionStateCompleteCommit
		switch {
		case retry && committed == commit:
			return st.producerID, st.epoch, nil
		case retry && committed:
			return -1, -1, fmt.Errorf("%w: %s committed, cannot abort", ErrInvalidState, st.id)
		case retry:
			// The transaction this commit ends was aborted under it
			// (it timed out): the producer is fenced.
			return fenced()
		}
	case kmsg.TransactionStateOngoing, kmsg.TransactionStateEmpty:
		if retry {
			// The epoch before an open transaction, or before an
			// InitProducerId, is an older producer instance's.
			return fenced()
		}
	}
	if st.status != kmsg.TransactionStateOngoing && commit {
		return -1, -1, fmt.Errorf("%w: %s is %s, no transaction to commit", ErrInvalidState, st.id, st.status)
	}
	// An Ongoing transaction ends; with none open an abort still bumps the
	// epoch (no markers), as the producer expects from every EndTxn.
	st.clientVersion = protocolV2
	st, err := c.end(ctx, e, st, commit, true)
	if err != nil {
		return -1, -1, err
	}
	return st.producerID, st.epoch, nil
}

func verb(commit bool) string {
	if commit {
		return "commit"
	}
	return "abort"
}

// end moves an Ongoing transaction to Prepare and completes it; bump
// raises the epoch first (fencing aborts: timeouts, a new instance; and every
// end of a protocol v2 transaction). e.op must be held.
func (c *Coordinator) end(ctx context.Context, e *entry, st state, commit, bump bool) (state, error) {
	if bump {
		switch {
		case st.clientVersion >= protocolV2:
			// The markers carry the bumped epoch; when it is the last
			// one, the id moves to a new producer id on completion.
			if st.epoch >= math.MaxInt16-1 && st.nextProducerID < 0 {
				id, err := c.ids.NextProducerID()
				if err != nil {
					return st, fmt.Errorf("%w: allocate producer id: %v", ErrStorage, err)
				}
				st.nextProducerID = id
			}
			if st.epoch < math.MaxInt16 {
				st.epoch++
			}
		case st.epoch >= math.MaxInt16-1:
			// No epoch left to fence with: the next InitProducerId
			// moves to a new producer id anyway.
			c.logger.Warn("transactional id out of epochs; aborting without a bump", "transactional_id", st.id)
		default:
			st.epoch++
		}
	}
	st.status = kmsg.TransactionStatePrepareAbort
	if commit {
		st.status = kmsg.TransactionStatePrepareCommit
	}
	if err := c.persist(ctx, e, st); err != nil {
		return st, err
	}
	return c.complete(ctx, e, st)
}

// complete writes the markers of a Prepare state and logs the Complete
// state. A failed marker leaves the Prepare state in place; the timeout
// loop tries again. e.op must be held.
func (c *Coordinator) complete(ctx context.Context, e *entry, st state) (state, error) {
	commit := st.status == kmsg.TransactionStatePrepareCommit
	parts := make([]TopicPartition, 0, len(st.partitions))
	for tp := range st.partitions {
		parts = append(parts, tp)
	}
	sort.Slice(parts, func(i, j int) bool {
		if parts[i].Topic != parts[j].Topic {
			return parts[i].Topic < parts[j].Topic
		}
		return parts[i].Partition < parts[j].Partition
	})
	for _, tp := range parts {
		if err := c.markers.WriteMarker(ctx, tp.Topic, tp.Partition, st.producerID, st.epoch, commit); err != nil {
			return st, fmt.Errorf("%w: %s marker on %s-%d: %v", ErrStorage, verb(commit), tp.Topic, tp.Partition, err)
		}
	}
	st.status = kmsg.TransactionStateCompleteAbort
	if commit {
		st.status = kmsg.TransactionStateCompleteCommit
	}
	st.partitions = nil
	st.started = time.Time{}
	if st.nextProducerID >= 0 {
		st.prevProducerID, st.producerID, st.epoch = st.producerID, st.nextProducerID, 0
		st.nextProducerID = -1
	}
	if err := c.persist(ctx, e, st); err != nil {
		return st, err
	}
	return st, nil
}

// Verify reports whether a transactional batch of producerID at epoch may
// be written to tp: the producer's transaction must be open and must have
// added the partition, or its records would escape every marker.
func (c *Coordinator) Verify(producerID int64, epoch int16, tp TopicPartition) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded {
		return ErrLoading
	}
	e := c.byPID[producerID]
	if e == nil {
		return fmt.Errorf("%w: no transactional id has producer %d", ErrUnknownProducerID, producerID)
	}
	switch {
	case epoch < e.st.epoch:
		return fmt.Errorf("%w: producer %d epoch %d < %d", ErrProducerFenced, producerID, epoch, e.st.epoch)
	case e.st.status != kmsg.TransactionStateOngoing:
		return fmt.Errorf("%w: %s is %s", ErrInvalidState, e.st.id, e.st.status)
	}
	if _, ok := e.st.partitions[tp]; !ok {
		return fmt.Errorf("%w: %s-%d was not added to %s", ErrInvalidState, tp.Topic, tp.Partition, e.st.id)
	}
	return nil
}

// runTimeouts aborts transactions open longer than their timeout and
// completes interrupted Prepare states, every AbortInterval (and once at
// start, for states a restart interrupted), and forgets expired
// transactional ids every ExpireInterval.
func (c *Coordinator) runTimeouts() {
	t := time.NewTicker(c.cfg.AbortInterval)
	defer t.Stop()
	ids := time.NewTicker(c.cfg.ExpireInterval)
	defer ids.Stop()
	for {
		c.expire()
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		case <-ids.C:
			c.removeExpiredIDs()
		}
	}
}

// idExpired reports whether st may be forgotten: no transaction open or
// completing, and untouched for IDExpiration.
func (c *Coordinator) idExpired(st *state, now time.Time) bool {
	switch st.status {
	case kmsg.TransactionStateEmpty, kmsg.TransactionStateCompleteCommit, kmsg.TransactionStateCompleteAbort:
		return c.cfg.IDExpiration > 0 && now.Sub(st.updated) >= c.cfg.IDExpiration
	}
	return false
}

// removeExpiredIDs logs a tombstone for every expired transactional id and
// forgets it (Kafka's removeExpiredTransactionalIds): a producer that
// comes back with it is a new one, given a new producer id.
func (c *Coordinator) removeExpiredIDs() {
	now := c.cfg.Now()
	c.mu.Lock()
	var due []*entry
	for _, e := range c.txns {
		if c.idExpired(&e.st, now) {
			due = append(due, e)
		}
	}
	c.mu.Unlock()
	removed := 0
	for _, e := range due {
		if c.ctx.Err() != nil {
			return
		}
		e.op.Lock()
		st := c.snapshot(e)
		if c.idExpired(&st, now) {
			if err := c.log.Append(c.ctx, c.PartitionFor(st.id), encodeKey(st.id), nil); err != nil {
				c.logger.Warn("could not expire transactional id; will retry", "transactional_id", st.id, "err", err)
			} else {
				c.mu.Lock()
				if c.txns[st.id] == e {
					delete(c.txns, st.id)
				}
				if c.byPID[st.producerID] == e {
					delete(c.byPID, st.producerID)
				}
				c.mu.Unlock()
				removed++
			}
		}
		e.op.Unlock()
	}
	if removed > 0 {
		c.logger.Info("expired transactional ids", "count", removed, "transactional_id_expiration", c.cfg.IDExpiration)
	}
}

// expire runs one pass of runTimeouts.
func (c *Coordinator) expire() {
	now := c.cfg.Now()
	c.mu.Lock()
	var due []*entry
	for _, e := range c.txns {
		switch e.st.status {
		case kmsg.TransactionStateOngoing:
			if now.Sub(e.st.started) > e.st.timeout {
				due = append(due, e)
			}
		case kmsg.TransactionStatePrepareCommit, kmsg.TransactionStatePrepareAbort:
			due = append(due, e)
		}
	}
	c.mu.Unlock()
	for _, e := range due {
		if c.ctx.Err() != nil {
			return
		}
		e.op.Lock()
		st := c.snapshot(e)
		var err error
		switch {
		case st.status == kmsg.TransactionStateOngoing && now.Sub(st.started) > st.timeout:
			c.logger.Info("aborting timed-out transaction", "transactional_id", st.id, "producer_id", st.producerID, "timeout", st.timeout)
			_, err = c.end(c.ctx, e, st, false, true)
		case st.status == kmsg.TransactionStatePrepareCommit || st.status == kmsg.TransactionStatePrepareAbort:
			_, err = c.complete(c.ctx, e, st)
		}
		e.op.Unlock()
		if err != nil && c.ctx.Err() == nil {
			c.logger.Warn("could not end transaction; will retry", "transactional_id", st.id, "err", err)
		}
	}
}
