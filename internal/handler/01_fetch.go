package handler

// Fetch: v4-18
//
// Behavior:
// * Long poll: when fewer than MinBytes are available the request waits up
//   to MaxWaitMillis, without a goroutine: appends to any partition it reads
//   notify it, and the appending goroutine answers it once enough bytes may
//   be there (no timers polling the log)
// * A fetch from inside a batch returns that whole batch; clients skip the
//   records before their offset
// * The first batch of the response is returned even when larger than
//   MaxBytes or the partition's max bytes, so a consumer never gets stuck;
//   later partitions get nothing once MaxBytes is used up
// * OFFSET_OUT_OF_RANGE outside [log start, log end]
// * read_committed stops at the last stable offset
// * Needs READ on each topic (TOPIC_AUTHORIZATION_FAILED)
// * v13+ names topics by id: an id no topic has → UNKNOWN_TOPIC_ID for its
//   partitions
// * A consumer_byte_rate quota charges each response's record bytes; a
//   client over it gets an empty response with the throttle time, and the
//   connection reads its next request only after it
// * Fetch sessions (v7+) are declined: a request for a new session (epoch 0)
//   gets session id 0 and every fetch is a full fetch; epoch -1 (no session,
//   any session id) is a full fetch; an incremental fetch (epoch > 0) gets
//   FETCH_SESSION_ID_NOT_FOUND
//
// Version notes:
// * v4: isolation level, last stable offset, aborted transactions
// * v5: log start offset
// * v7: fetch sessions
// * v9: current leader epoch
// * v11: rack id, preferred read replica
// * v12: flexible; diverging epoch, current leader (unused for one broker)
// * v13: topic ids instead of names
// * v14: OFFSET_MOVED_TO_TIERED_STORAGE (no tiered storage: never sent)
// * v15: replica state replaces replica id (followers only)
// * v16: leader endpoints with NOT_LEADER (one broker: never sent)
// * v17: replica directory id (followers only)
// * v18: the follower's high watermark (KIP-1166, a tagged field of
//   followers only): a consumer's v18 is its v17

import (
	"context"
	"net"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/partition"
	"github.com/samsa-broker/samsa/internal/protocol"
	"github.com/samsa-broker/samsa/internal/quota"
)

func (h *Handler) handleFetch(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.FetchRequest)
	// Epoch 0 asks for a new session, -1 for none (whatever the session id:
	// Kafka closes a session named there); both are full fetches. A later
	// epoch names an incremental fetch of a session we never created.
	if r.Version >= 7 && r.SessionEpoch > 0 {
		resp := r.ResponseKind().(*kmsg.FetchResponse)
		resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
		return respond(resp)
	}
	op := h.newFetchOp(req, r)
	if op.limited {
		if d := h.throttler.Throttled(op.limit); d > 0 {
			// Over the consumer quota: an empty answer with the throttle
			// time, as Kafka sends, and no reading until it has passed.
			resp := r.ResponseKind().(*kmsg.FetchResponse)
			resp.ThrottleMillis = h.chargeQuota(req, op.limit, 0)
			return respond(resp)
		}
	}
	return conn.Reply{Defer: op.start}
}

// fetchTarget is one partition named in a fetch request.
type fetchTarget struct {
	topic   string
	topicID [16]byte // v13+: the topic as the request names it
	req     *kmsg.FetchRequestTopicPartition
	part    *partition.Partition // nil when unknown or not authorized
	// denied: the client may not READ the topic; unknownID: no topic has
	// the id the request names (v13+).
	denied, unknownID bool
}

// fetchOp is one fetch request, from its first read until its response. A
// fetch that finds too little data waits without a goroutine of its own,
// as Kafka's delayed fetches do: the partitions it reads notify it of
// appends, and the goroutine that appended the missing bytes (or whose
// timer or cancellation ended the wait) reads again and finishes the
// response. Its state machine lets exactly one goroutine read at a time and
// makes sure no notification is lost while one does.
type fetchOp struct {
	h        *Handler
	req      *conn.Request
	r        *kmsg.FetchRequest
	targets  []fetchTarget
	seen     []int64 // each target's high watermark at the last read
	deadline time.Time
	finish   func(kmsg.Response)
	// limit is the consumer_byte_rate quota the response is charged to,
	// when limited.
	limit   quota.Limit
	limited bool

	// Set up by start while it holds the running state; read by the
	// goroutine that completes the fetch, which holds it then.
	waiter  *partition.Waiter
	timer   *time.Timer
	stopCtx func() bool

	state    atomic.Int32
	answered atomic.Bool
	final    atomic.Bool // the wait is over: answer with what there is
	// found is what the last read found; arrived counts the bytes appended
	// since it started. Their sum over-estimates what a read finds now,
	// never under-estimates it, so the fetch reads again only when it may
	// be able to answer (Kafka estimates from log positions the same way).
	found   atomic.Int64
	arrived atomic.Int64
}

// fetchOp states.
const (
	fetchWaiting int32 = iota // waiting for data, its deadline or cancellation
	fetchRunning              // one goroutine is reading
	fetchRerun                // and must read again when done: more data came
	fetchDone                 // answered
)

func (h *Handler) newFetchOp(req *conn.Request, r *kmsg.FetchRequest) *fetchOp {
	op := &fetchOp{h: h, req: req, r: r,
		deadline: time.Now().Add(time.Duration(r.MaxWaitMillis) * time.Millisecond)}
	op.limit, op.limited = h.quotaLimit(req, quota.ConsumerByteRate)
	for ti := range r.Topics {
		rt := &r.Topics[ti]
		name, unknownID := rt.Topic, false
		if r.Version >= 13 {
			n, ok := h.catalog.Metadata().TopicName(rt.TopicID)
			name, unknownID = n, !ok
		}
		denied := !unknownID && !h.allowedTopic(req, acl.OpRead, name)
		for pi := range rt.Partitions {
			rp := &rt.Partitions[pi]
			var p *partition.Partition
			if !denied && !unknownID {
				p, _ = h.catalog.Partition(name, rp.Partition)
			}
			op.targets = append(op.targets, fetchTarget{topic: name, topicID: rt.TopicID, req: rp, part: p,
				denied: denied, unknownID: unknownID})
		}
	}
	op.seen = make([]int64, len(op.targets))
	return op
}

// start reads once and answers, or registers the wait and returns.
func (op *fetchOp) start(ctx context.Context, finish func(kmsg.Response)) {
	op.finish = finish
	defer op.recoverPanic()
	op.state.Store(fetchRunning)
	if ctx.Err() != nil {
		op.final.Store(true)
	}
	if op.read() {
		return
	}
	op.waiter = partition.NewWaiter(op.notify)
	moved := false
	for i, t := range op.targets {
		if t.part != nil && t.part.Watch(op.waiter, op.seen[i]) {
			moved = true // appended to since the read: no notification for that
		}
	}
	op.timer = time.AfterFunc(time.Until(op.deadline), op.expire)
	op.stopCtx = context.AfterFunc(ctx, op.expire)
	if moved {
		op.state.CompareAndSwap(fetchRunning, fetchRerun)
	}
	op.run(false)
}

// notify is the partitions' callback: appended bytes are now readable.
func (op *fetchOp) notify(appended int) {
	if appended >= 0 {
		total := op.arrived.Add(int64(appended))
		if op.found.Load()+total < int64(op.r.MinBytes) {
			return
		}
	}
	op.poke()
}

// expire ends the wait: the deadline passed or the connection is closing.
func (op *fetchOp) expire() {
	op.final.Store(true)
	op.poke()
}

// poke makes the fetch read again: here if no goroutine is reading,
// otherwise by the one that is, once it is done.
func (op *fetchOp) poke() {
	for {
		switch op.state.Load() {
		case fetchDone, fetchRerun:
			return
		case fetchRunning:
			if op.state.CompareAndSwap(fetchRunning, fetchRerun) {
				return
			}
		case fetchWaiting:
			if op.state.CompareAndSwap(fetchWaiting, fetchRunning) {
				op.run(true)
				return
			}
		}
	}
}

// run holds the running state: it reads (first, when readFirst) until the
// fetch is answered or it can go back to waiting without missing anything.
func (op *fetchOp) run(readFirst bool) {
	defer op.recoverPanic()
	if readFirst && op.read() {
		return
	}
	for {
		if op.state.CompareAndSwap(fetchRunning, fetchWaiting) {
			// A notification may have counted its bytes against an older
			// found; check the estimate once more now that it is current.
			if !op.final.Load() && op.found.Load()+op.arrived.Load() < int64(op.r.MinBytes) {
				return
			}
			if !op.state.CompareAndSwap(fetchWaiting, fetchRunning) {
				return // someone else took over
			}
		} else {
			op.state.Store(fetchRunning) // was fetchRerun
		}
		if op.read() {
			return
		}
	}
}

// read reads every partition once and answers when it found enough, hit an
// error or the wait is over. It reports whether the fetch is answered.
func (op *fetchOp) read() bool {
	op.arrived.Store(0)
	final := op.final.Load() || !time.Now().Before(op.deadline)
	var bufs []*[]byte
	resp, n, hasError := op.h.fetchOnce(op.r, op.targets, op.seen, &bufs)
	if n >= int(op.r.MinBytes) || hasError || final {
		op.state.Store(fetchDone)
		op.cleanup()
		if op.limited {
			resp.ThrottleMillis = op.h.chargeQuota(op.req, op.limit, n)
		}
		op.answer(&pooledFetch{FetchResponse: resp, bufs: bufs, pool: &op.h.readBufs})
		return true
	}
	op.h.readBufs.putAll(bufs)
	op.found.Store(int64(n))
	return false
}

// answer finishes the fetch with resp, once.
func (op *fetchOp) answer(resp kmsg.Response) {
	if !op.answered.Swap(true) {
		op.finish(resp)
	}
}

// recoverPanic keeps a panic in the fetch from taking down the goroutine
// running it, which may be another connection's (its append notified us):
// the fetch's own connection closes instead.
func (op *fetchOp) recoverPanic() {
	r := recover()
	if r == nil {
		return
	}
	op.h.log.Error("panic in fetch; closing its connection", "panic", r, "stack", string(debug.Stack()))
	op.state.Store(fetchDone)
	func() {
		defer func() { _ = recover() }() // the answer matters more
		op.cleanup()
	}()
	op.answer(conn.Abort)
}

// cleanup ends the wait's registrations once the fetch is answered.
func (op *fetchOp) cleanup() {
	if op.waiter != nil {
		for _, t := range op.targets {
			if t.part != nil {
				t.part.Unwatch(op.waiter)
			}
		}
	}
	if op.timer != nil {
		op.timer.Stop()
	}
	if op.stopCtx != nil {
		op.stopCtx()
	}
}

// fetchOnce reads every target once and builds the response. It records
// each target's high watermark in seen and the pooled read buffers the
// response uses in scratch.
func (h *Handler) fetchOnce(r *kmsg.FetchRequest, targets []fetchTarget, seen []int64, scratch *[]*[]byte) (*kmsg.FetchResponse, int, bool) {
	resp := r.ResponseKind().(*kmsg.FetchResponse)
	iso := partition.Isolation(r.IsolationLevel)
	maxBytes := int(r.MaxBytes)
	if r.Version < 3 || maxBytes <= 0 {
		maxBytes = 1 << 30
	}
	// The broker's fetch.max.bytes caps what one response may carry
	// (KIP-541), whatever the client asks for.
	if brokerMax := int(h.opts.Broker.FetchMaxBytes()); brokerMax > 0 && maxBytes > brokerMax {
		maxBytes = brokerMax
	}
	total := 0
	hasError := false
	var topic *kmsg.FetchResponseTopic
	for i, t := range targets {
		seen[i] = -1
		if topic == nil || topic.Topic != t.topic || topic.TopicID != t.topicID {
			resp.Topics = append(resp.Topics, kmsg.NewFetchResponseTopic())
			topic = &resp.Topics[len(resp.Topics)-1]
			topic.Topic, topic.TopicID = t.topic, t.topicID
		}
		rp := kmsg.NewFetchResponseTopicPartition()
		rp.Partition = t.req.Partition
		rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = -1, -1, -1
		rp.PreferredReadReplica = -1
		// An empty record set, not a null one: librdkafka fails to parse
		// the rest of the response after a null records field.
		rp.RecordBatches = []byte{}
		if t.part == nil {
			switch {
			case t.unknownID:
				rp.ErrorCode = kerr.UnknownTopicID.Code
			case t.denied:
				rp.ErrorCode = kerr.TopicAuthorizationFailed.Code
			default:
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			}
			hasError = true
			topic.Partitions = append(topic.Partitions, rp)
			continue
		}
		if code := checkLeaderEpoch(t.part, t.req.CurrentLeaderEpoch); code != 0 {
			rp.ErrorCode = code
			hasError = true
			topic.Partitions = append(topic.Partitions, rp)
			continue
		}
		limit := int(t.req.PartitionMaxBytes)
		if left := maxBytes - total; limit > left {
			limit = left
		}
		var res partition.ReadResult
		var err error
		if limit > 0 || total == 0 {
			// Read into a pooled buffer big enough for the partition's
			// share plus the index lookahead; it is returned to the pool
			// once the response is written.
			// The buffer is sized by the request only up to a cap: storage
			// allocates for what it actually finds beyond that, so a
			// client's huge limits cannot make the broker allocate.
			buf := h.readBufs.get(min(max(limit, 1), maxPooledRead) + readLookahead)
			res, err = t.part.ReadInto(*buf, t.req.FetchOffset, max(limit, 1), iso)
			if len(res.Records) > 0 {
				*scratch = append(*scratch, buf) // the records may alias it
			} else {
				h.readBufs.put(buf)
			}
		} else {
			res.HighWatermark, res.LastStableOffset, res.LogStartOffset = t.part.Offsets()
		}
		rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = res.HighWatermark, res.LastStableOffset, res.LogStartOffset
		seen[i] = res.HighWatermark
		if err != nil {
			rp.ErrorCode = errorCode(err)
			hasError = true
		} else if n := len(res.Records); n > 0 {
			// Only the very first batch of the response may exceed the
			// limits; a later partition that does not fit waits its turn.
			if total == 0 || n <= limit {
				rp.RecordBatches = res.Records
				total += n
			}
		}
		if iso == partition.ReadCommitted {
			rp.AbortedTransactions = make([]kmsg.FetchResponseTopicPartitionAbortedTransaction, 0, len(res.Aborted))
			if len(rp.RecordBatches) > 0 {
				for _, a := range res.Aborted {
					at := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
					at.ProducerID, at.FirstOffset = a.ProducerID, a.FirstOffset
					rp.AbortedTransactions = append(rp.AbortedTransactions, at)
				}
			}
		}
		topic.Partitions = append(topic.Partitions, rp)
	}
	return resp, total, hasError
}

// checkLeaderEpoch validates a client's current leader epoch (-1 = unknown).
func checkLeaderEpoch(p *partition.Partition, epoch int32) int16 {
	switch cur := p.LeaderEpoch(); {
	case epoch < 0:
		return 0
	case epoch < cur:
		return kerr.FencedLeaderEpoch.Code
	case epoch > cur:
		return kerr.UnknownLeaderEpoch.Code
	}
	return 0
}

// readLookahead covers the bytes a read may need before the first batch
// (the sparse index interval) plus a batch header.
const readLookahead = 8 << 10

// maxPooledRead caps the pooled read buffer taken per partition.
const maxPooledRead = 1 << 20

// pooledFetch is a fetch response whose record data lives in pooled read
// buffers. The connection writer sends it with the data spliced in (one
// vectored write, no copy of the data) and gives the buffers back afterwards.
type pooledFetch struct {
	*kmsg.FetchResponse
	bufs []*[]byte
	pool *bufferPool
}

// AppendFrame implements conn.FrameAppender: while kmsg encodes the
// response, each partition's records are swapped for a splice marker.
func (f *pooledFetch) AppendFrame(framing []byte, vec net.Buffers, corr int32) ([]byte, net.Buffers, error) {
	var data [][]byte
	f.eachRecords(func(records *[]byte) {
		data = append(data, *records)
		*records = protocol.AppendMarker(nil, len(data)-1)
	})
	framing, vec, err := protocol.AppendSplicedResponse(framing, vec, corr, f.FetchResponse, data)
	i := 0
	f.eachRecords(func(records *[]byte) {
		*records = data[i]
		i++
	})
	return framing, vec, err
}

// eachRecords calls fn with every non-empty records field, in encoding order.
func (f *pooledFetch) eachRecords(fn func(records *[]byte)) {
	for ti := range f.Topics {
		parts := f.Topics[ti].Partitions
		for pi := range parts {
			if len(parts[pi].RecordBatches) > 0 {
				fn(&parts[pi].RecordBatches)
			}
		}
	}
}

func (f *pooledFetch) Release() {
	f.pool.putAll(f.bufs)
	f.bufs = nil
}
