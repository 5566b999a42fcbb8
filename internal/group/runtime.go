package group

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	wire "github.com/samsa-broker/samsa/internal/protocol"
)

// Log is how the coordinator persists to the internal topic __consumer_offsets,
// one partition per coordinator shard.
type Log interface {
	// Append writes the records as one batch to the partition and returns
	// once they are durable per broker policy.
	Append(ctx context.Context, partition int32, records []KV) error
	// AppendTxn writes the records as one transactional batch of the
	// producer (TxnOffsetCommit): they count only once the producer's
	// COMMIT marker follows.
	AppendTxn(ctx context.Context, partition int32, producerID int64, epoch int16, records []KV) error
	// AppendMarker writes the producer's COMMIT or ABORT marker.
	AppendMarker(ctx context.Context, partition int32, producerID int64, epoch int16, commit bool) error
	// Replay calls fn for every record and transaction marker of the
	// partition from the log start, in order.
	Replay(ctx context.Context, partition int32, fn func(Entry) error) error
}

// Entry is one replayed record or transaction marker.
type Entry struct {
	Key, Value []byte // a nil Value is a tombstone
	// Transactional: the record belongs to ProducerID's transaction.
	Transactional bool
	ProducerID    int64
	// Marker: a transaction marker of ProducerID (Key and Value are nil);
	// Commit says whether it commits or aborts.
	Marker, Commit bool
}

// ErrClosed means the coordinator was closed (or its context ended) before a
// pending write completed.
var ErrClosed = errors.New("group coordinator closed")

// Coordinator is Samsa's group coordinator: classic groups, KIP-848 consumer
// groups and committed offsets, kept in one deterministic shard per
// __consumer_offsets partition and persisted through a Log.
//
// Concurrency: each shard has one mutex guarding its state, waiters and write
// queue; no code holds two shard locks. The state is changed and its records
// queued under the lock; a per-shard writer goroutine appends queued records
// in order (several operations per batch) and only then releases the answers
// that depend on them. A failed append reloads the shard from the log.
type Coordinator struct {
	cfg    Config
	log    Log
	logger *slog.Logger
	shards []*shard

	nextWaiter atomic.Uint64
	// wakeAt is when the timer loop next wakes (unix nanos); operations that
	// create an earlier deadline kick it.
	wakeAt atomic.Int64
	kick   chan struct{}

	ctx    context.Context // lives until Close; cancels appends and replays
	cancel context.CancelFunc
	wg     sync.WaitGroup

	startOnce sync.Once
	closeOnce sync.Once
}

// shard is the runtime around one shardState.
type shard struct {
	partition int32
	wake      chan struct{} // capacity 1: the write queue has work

	mu      sync.Mutex
	state   *shardState // nil while loading, or after a failed write until reloaded
	closed  bool
	waiters map[waiterID]*waiter
	queue   []*writeEntry
	writing bool // the writer has taken a batch and not yet delivered it
}

// waiter is a parked JoinGroup or SyncGroup call.
type waiter struct {
	id   waiterID
	ch   chan kmsg.Response // capacity 1, receives exactly one answer
	fail func(resp kmsg.Response, code int16) kmsg.Response
}

// writeEntry is the output of one core step waiting to be made durable.
type writeEntry struct {
	records []KV
	txn     *txnWrite // non-nil: a transactional batch or marker, written alone
	replies []reply
	done    chan error // nil when no caller waits on the write itself
}

// maxBatchBytes caps how many queued records one Append carries; a single
// operation's records always go together.
const maxBatchBytes = 512 << 10

// maxTimerWait bounds how long the timer loop sleeps, so a missed kick costs
// at most this much timer precision.
const maxTimerWait = time.Second

// New returns a coordinator over log. Nothing runs until Start; until a
// shard is loaded, requests for its groups answer COORDINATOR_LOAD_IN_PROGRESS.
func New(cfg Config, log Log) *Coordinator {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	c := &Coordinator{
		cfg:    cfg,
		log:    log,
		logger: cfg.Logger,
		kick:   make(chan struct{}, 1),
		ctx:    ctx,
		cancel: cancel,
	}
	for p := range cfg.Partitions {
		c.shards = append(c.shards, &shard{
			partition: p,
			wake:      make(chan struct{}, 1),
			waiters:   make(map[waiterID]*waiter),
		})
	}
	return c
}

// Start replays every partition (in goroutines it owns) and runs the writers
// and the timer loop: session and rebalance timeouts, the initial rebalance
// delay, and offset retention. Everything stops on Close or when ctx ends.
func (c *Coordinator) Start(ctx context.Context) {
	c.startOnce.Do(func() {
		context.AfterFunc(ctx, c.cancel)
		for _, sh := range c.shards {
			c.wg.Add(1)
			go c.runWriter(sh)
		}
		c.wg.Add(2)
		go c.loadAll()
		go c.runTimers()
	})
}

// Close stops every goroutine, fails pending writes and wakes parked
// JoinGroup/SyncGroup calls with NOT_COORDINATOR. It is idempotent.
func (c *Coordinator) Close() {
	c.closeOnce.Do(func() {
		for _, sh := range c.shards {
			sh.mu.Lock()
			sh.closed = true
			sh.mu.Unlock()
		}
		c.cancel()
		c.wg.Wait()
		for _, sh := range c.shards {
			c.closeShard(sh)
		}
	})
}

// PartitionFor is the __consumer_offsets partition (and shard) of a group:
// Kafka's abs(groupID.hashCode()) % partitions.
func (c *Coordinator) PartitionFor(groupID string) int32 {
	return wire.CoordinatorPartition(groupID, c.cfg.Partitions)
}

func (c *Coordinator) shardFor(groupID string) *shard {
	return c.shards[c.PartitionFor(groupID)]
}

// loadAll replays the shards, a few at a time.
func (c *Coordinator) loadAll() {
	defer c.wg.Done()
	next := make(chan *shard)
	var workers sync.WaitGroup
	for range min(4, len(c.shards)) {
		workers.Go(func() {
			for sh := range next {
				c.load(sh)
			}
		})
	}
	for _, sh := range c.shards {
		select {
		case next <- sh:
		case <-c.ctx.Done():
		}
	}
	close(next)
	workers.Wait()
}

// load rebuilds a shard from its partition, retrying with backoff until it
// succeeds or the coordinator closes. Undecodable records are skipped.
func (c *Coordinator) load(sh *shard) {
	for attempt := 0; ; attempt++ {
		st := newShardState(&c.cfg, newUUID)
		skipped := 0
		err := c.log.Replay(c.ctx, sh.partition, func(e Entry) error {
			if err := st.replayEntry(e); err != nil {
				skipped++
				if skipped <= 10 {
					c.logger.Warn("skipping undecodable __consumer_offsets record",
						"partition", sh.partition, "err", err)
				}
			}
			return nil
		})
		if err == nil {
			groups := len(st.groups)
			sh.mu.Lock()
			if !sh.closed {
				st.finishLoad(c.cfg.Now())
				sh.state = st
			}
			sh.mu.Unlock()
			if c.cfg.Topics != nil {
				// A topic deleted while this shard was loading, or just
				// before a crash, leaves offsets behind.
				unknown := func(topic string) bool { _, _, ok := c.cfg.Topics(topic); return !ok }
				if err := c.removeTopicOffsets(c.ctx, sh, unknown); err != nil && c.ctx.Err() == nil {
					c.logger.Warn("removing offsets of deleted topics failed",
						"partition", sh.partition, "err", err)
				}
			}
			c.logger.Debug("loaded group coordinator shard",
				"partition", sh.partition, "groups", groups, "skipped_records", skipped)
			c.kickTimers()
			return
		}
		if c.ctx.Err() != nil {
			return
		}
		backoff := min(time.Second<<min(attempt, 5), 30*time.Second)
		c.logger.Warn("replaying __consumer_offsets failed; retrying",
			"partition", sh.partition, "err", err, "backoff", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			return
		}
	}
}

// runWriter appends a shard's queued records in order and releases the
// answers waiting on them.
func (c *Coordinator) runWriter(sh *shard) {
	defer c.wg.Done()
	for {
		select {
		case <-sh.wake:
			c.drain(sh)
		case <-c.ctx.Done():
			c.closeShard(sh)
			return
		}
	}
}

func (c *Coordinator) drain(sh *shard) {
	for {
		sh.mu.Lock()
		batch := takeBatch(&sh.queue)
		if len(batch) == 0 {
			sh.writing = false
			sh.mu.Unlock()
			return
		}
		sh.writing = true
		sh.mu.Unlock()

		var records []KV
		for _, e := range batch {
			records = append(records, e.records...)
		}
		var err error
		switch t := batch[0].txn; {
		case t != nil && t.marker:
			err = c.log.AppendMarker(c.ctx, sh.partition, t.producerID, t.epoch, t.commit)
		case t != nil:
			err = c.log.AppendTxn(c.ctx, sh.partition, t.producerID, t.epoch, records)
		case len(records) > 0:
			err = c.log.Append(c.ctx, sh.partition, records)
		}
		if err != nil {
			err = fmt.Errorf("append to __consumer_offsets partition %d: %w", sh.partition, err)
		}

		sh.mu.Lock()
		for _, e := range batch {
			sh.finishLocked(e, err)
		}
		if err != nil {
			c.failShardLocked(sh, err)
		}
		sh.mu.Unlock()
	}
}

// takeBatch removes whole entries from the queue front up to maxBatchBytes
// (at least one).
func takeBatch(queue *[]*writeEntry) []*writeEntry {
	size, n := 0, 0
	for _, e := range *queue {
		if e.txn != nil {
			// A transactional batch or marker carries its producer: it
			// cannot share a batch.
			if n == 0 {
				n = 1
			}
			break
		}
		for _, r := range e.records {
			size += len(r.Key) + len(r.Value)
		}
		if n > 0 && size > maxBatchBytes {
			break
		}
		n++
	}
	batch := (*queue)[:n:n]
	*queue = (*queue)[n:]
	return batch
}

// failShardLocked handles a failed append: the in-memory state may now be
// ahead of the log, so it is dropped and rebuilt from the log. Queued work
// and parked calls fail. sh.mu must be held.
func (c *Coordinator) failShardLocked(sh *shard, err error) {
	sh.state = nil
	for _, e := range sh.queue {
		sh.finishLocked(e, err)
	}
	sh.queue = nil
	sh.failWaitersLocked(kerr.NotCoordinator.Code)
	if sh.closed || c.ctx.Err() != nil {
		return
	}
	c.logger.Error("group coordinator write failed; reloading shard from the log",
		"partition", sh.partition, "err", err)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.load(sh)
	}()
}

// closeShard marks the shard closed and fails everything pending on it.
func (c *Coordinator) closeShard(sh *shard) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.closed = true
	sh.state = nil
	for _, e := range sh.queue {
		sh.finishLocked(e, ErrClosed)
	}
	sh.queue = nil
	sh.failWaitersLocked(kerr.NotCoordinator.Code)
}

// submitLocked hands a step's effects to the writer. With no records and
// nothing queued the answers go out at once; otherwise they wait behind every
// earlier write. The returned channel (nil if nothing to wait for) reports the
// write's outcome to a caller with its own answer. sh.mu must be held.
func (sh *shard) submitLocked(fx effects, wantDone bool) chan error {
	if len(fx.records) == 0 && fx.txn == nil && len(sh.queue) == 0 && !sh.writing {
		sh.deliverLocked(fx.replies, nil)
		return nil
	}
	e := &writeEntry{records: fx.records, txn: fx.txn, replies: fx.replies}
	if wantDone {
		e.done = make(chan error, 1)
	}
	sh.queue = append(sh.queue, e)
	select {
	case sh.wake <- struct{}{}:
	default:
	}
	return e.done
}

func (sh *shard) finishLocked(e *writeEntry, err error) {
	sh.deliverLocked(e.replies, err)
	if e.done != nil {
		e.done <- err
	}
}

// deliverLocked hands answers to parked calls; after a failed write each gets
// its failure answer instead. sh.mu must be held.
func (sh *shard) deliverLocked(replies []reply, err error) {
	for _, r := range replies {
		w, ok := sh.waiters[r.waiter]
		if !ok {
			continue // the caller gave up (its context ended)
		}
		delete(sh.waiters, r.waiter)
		resp := r.resp
		if err != nil {
			resp = w.fail(nil, failureCode(err))
		}
		w.ch <- resp
	}
}

func (sh *shard) failWaitersLocked(code int16) {
	for id, w := range sh.waiters {
		delete(sh.waiters, id)
		w.ch <- w.fail(nil, code)
	}
}

// failureCode maps a failed write to the error clients retry on.
func failureCode(err error) int16 {
	if errors.Is(err, ErrClosed) || errors.Is(err, context.Canceled) {
		return kerr.NotCoordinator.Code
	}
	return kerr.CoordinatorNotAvailable.Code
}

// runTimers fires due timers of every loaded shard.
func (c *Coordinator) runTimers() {
	defer c.wg.Done()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		case <-c.kick:
		}
		next := c.runDueTimers()
		t.Reset(max(next.Sub(c.cfg.Now()), time.Millisecond))
	}
}

// runDueTimers ticks every shard with a due deadline and returns when the
// next one is due (at most maxTimerWait away).
func (c *Coordinator) runDueTimers() time.Time {
	now := c.cfg.Now()
	c.wakeAt.Store(now.UnixNano()) // operations during the scan kick again
	next := now.Add(maxTimerWait)
	for _, sh := range c.shards {
		sh.mu.Lock()
		if st := sh.state; st != nil && !sh.closed {
			if d := st.nextDeadline(); !d.IsZero() && !now.Before(d) {
				var fx effects
				st.tick(now, &fx)
				c.logConversions(fx)
				sh.submitLocked(fx, false)
			}
			if d := st.nextDeadline(); !d.IsZero() && d.Before(next) {
				next = d
			}
		}
		sh.mu.Unlock()
	}
	c.wakeAt.Store(next.UnixNano())
	return next
}

// logConversions logs the groups a step moved between protocols.
func (c *Coordinator) logConversions(fx effects) {
	for _, cv := range fx.conversions {
		c.logger.Info("group changed protocol while it had members", "group", cv.group, "to", cv.to, "members", cv.members)
	}
}

func (c *Coordinator) kickTimers() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// maybeKickLocked wakes the timer loop if the group now has a deadline
// before the loop's next wake-up. sh.mu must be held.
func (c *Coordinator) maybeKickLocked(sh *shard, groupID string) {
	g := sh.state.groups[groupID]
	if g == nil {
		return
	}
	if d := g.nextDeadline(); !d.IsZero() && d.UnixNano() < c.wakeAt.Load() {
		c.kickTimers()
	}
}

// step is one request run against a shard's state.
type step func(st *shardState, now time.Time, w waiterID, fx *effects) kmsg.Response

// call runs a request on the shard of groupID. While the shard loads it
// answers fail(nil, loadingCode). A step returning nil has parked the call (only
// with park set); the answer then comes from a later step. An answer that
// depends on records is released once they are durable, or replaced by
// fail(resp, code) if the write failed.
func (c *Coordinator) call(ctx context.Context, groupID string, loadingCode int16, park bool,
	fail func(resp kmsg.Response, code int16) kmsg.Response, run step,
) kmsg.Response {
	sh := c.shardFor(groupID)
	resp, parked, done, early := c.runStep(sh, groupID, loadingCode, park, fail, run)
	switch {
	case early != nil:
		return early
	case resp != nil && done == nil:
		return resp
	case resp != nil:
		select {
		case err := <-done:
			if err != nil {
				return fail(resp, failureCode(err))
			}
			return resp
		case <-ctx.Done():
			return fail(resp, kerr.CoordinatorNotAvailable.Code)
		}
	}
	select {
	case r := <-parked.ch:
		return r
	case <-ctx.Done():
		sh.mu.Lock()
		delete(sh.waiters, parked.id)
		sh.mu.Unlock()
		select {
		case r := <-parked.ch:
			return r
		default:
			return fail(nil, kerr.CoordinatorNotAvailable.Code)
		}
	}
}

// runStep runs one step under the shard lock and hands its effects to the
// writer. It returns the step's answer (nil: parked under parked), the
// channel reporting the write that answer waits for, or an early answer when
// the shard cannot take requests.
func (c *Coordinator) runStep(sh *shard, groupID string, loadingCode int16, park bool,
	fail func(resp kmsg.Response, code int16) kmsg.Response, run step,
) (resp kmsg.Response, parked *waiter, done chan error, early kmsg.Response) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	switch {
	case sh.closed:
		return nil, nil, nil, fail(nil, kerr.CoordinatorNotAvailable.Code)
	case sh.state == nil:
		return nil, nil, nil, fail(nil, loadingCode)
	}
	var w waiterID
	if park {
		w = waiterID(c.nextWaiter.Add(1))
		parked = &waiter{id: w, ch: make(chan kmsg.Response, 1), fail: fail}
		sh.waiters[w] = parked
	}
	var fx effects
	resp = run(sh.state, c.cfg.Now(), w, &fx)
	c.logConversions(fx)
	if resp != nil && parked != nil {
		delete(sh.waiters, w)
	}
	done = sh.submitLocked(fx, resp != nil)
	c.maybeKickLocked(sh, groupID)
	return resp, parked, done, nil
}

// removeTopicOffsets runs removeTopicOffsets on a loaded shard and waits
// until its tombstones are durable.
func (c *Coordinator) removeTopicOffsets(ctx context.Context, sh *shard, gone func(topic string) bool) error {
	return waitWrite(ctx, c.submitTopicOffsetsRemoval(sh, gone))
}

// submitTopicOffsetsRemoval removes the offsets from a loaded shard's state
// and queues the tombstones; the channel (nil: nothing to write) reports
// their write.
func (c *Coordinator) submitTopicOffsetsRemoval(sh *shard, gone func(topic string) bool) chan error {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.closed || sh.state == nil {
		return nil
	}
	var fx effects
	sh.state.removeTopicOffsets(gone, &fx)
	if len(fx.records) == 0 {
		return nil
	}
	return sh.submitLocked(fx, true)
}

// waitWrite waits for a queued write (nil: none) or ctx.
func waitWrite(ctx context.Context, done chan error) error {
	if done == nil {
		return nil
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// newUUID returns a random (version 4) UUID in Java's UUID.toString form,
// the random part of the member ids Kafka generates.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
