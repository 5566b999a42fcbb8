package handler

// Fetch: v4-12
//
// Behavior:
// * Long poll: when fewer than MinBytes are available the request waits up
//   to MaxWaitMillis, woken by appends to any partition it reads (no timers
//   polling the log)
// * A fetch from inside a batch returns that whole batch; clients skip the
//   records before their offset
// * The first batch of the response is returned even when larger than
//   MaxBytes or the partition's max bytes, so a consumer never gets stuck;
//   later partitions get nothing once MaxBytes is used up
// * OFFSET_OUT_OF_RANGE outside [log start, log end]
// * read_committed stops at the last stable offset
// * Fetch sessions (v7+) are declined: a request for a new session gets
//   session id 0 and every fetch is a full fetch; an unknown session id gets
//   FETCH_SESSION_ID_NOT_FOUND
//
// Version notes:
// * v4: isolation level, last stable offset, aborted transactions
// * v5: log start offset
// * v7: fetch sessions
// * v9: current leader epoch
// * v11: rack id, preferred read replica
// * v12: flexible; diverging epoch, current leader (unused for one broker)

import (
	"context"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/partition"
	"github.com/samsa-broker/samsa/internal/protocol"
)

func (h *Handler) handleFetch(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.FetchRequest)
	if r.Version >= 7 && r.SessionID != 0 {
		resp := r.ResponseKind().(*kmsg.FetchResponse)
		resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
		return respond(resp)
	}
	reply := await(func(ctx context.Context) kmsg.Response {
		return h.fetch(ctx, r)
	})
	reply.ReaderMayWait = true
	return reply
}

// fetchTarget is one partition named in a fetch request.
type fetchTarget struct {
	topic string
	req   *kmsg.FetchRequestTopicPartition
	part  *partition.Partition // nil when unknown
}

func (h *Handler) fetch(ctx context.Context, r *kmsg.FetchRequest) kmsg.Response {
	var targets []fetchTarget
	for ti := range r.Topics {
		rt := &r.Topics[ti]
		for pi := range rt.Partitions {
			rp := &rt.Partitions[pi]
			p, _ := h.catalog.Partition(rt.Topic, rp.Partition)
			targets = append(targets, fetchTarget{topic: rt.Topic, req: rp, part: p})
		}
	}
	deadline := time.Now().Add(time.Duration(r.MaxWaitMillis) * time.Millisecond)
	var waiter *partition.Waiter
	var scratch []*[]byte // pooled read buffers used by the current attempt
	defer func() {
		if waiter != nil {
			for _, t := range targets {
				if t.part != nil {
					t.part.Unwatch(waiter)
				}
			}
		}
	}()
	for {
		resp, bytes, hasError := h.fetchOnce(r, targets, &scratch)
		remaining := time.Until(deadline)
		if bytes >= int(r.MinBytes) || hasError || remaining <= 0 || ctx.Err() != nil {
			return &pooledFetch{FetchResponse: resp, bufs: scratch, pool: &h.readBufs}
		}
		h.readBufs.putAll(scratch)
		scratch = nil
		if waiter == nil {
			waiter = partition.NewWaiter()
			for _, t := range targets {
				if t.part != nil {
					t.part.Watch(waiter, t.req.FetchOffset)
				}
			}
			// Watch wakes at once if data arrived since fetchOnce.
		}
		timer := time.NewTimer(remaining)
		select {
		case <-waiter.C:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
	}
}

// fetchOnce reads every target once and builds the response.
func (h *Handler) fetchOnce(r *kmsg.FetchRequest, targets []fetchTarget, scratch *[]*[]byte) (*kmsg.FetchResponse, int, bool) {
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
	for _, t := range targets {
		if topic == nil || topic.Topic != t.topic {
			resp.Topics = append(resp.Topics, kmsg.NewFetchResponseTopic())
			topic = &resp.Topics[len(resp.Topics)-1]
			topic.Topic = t.topic
		}
		rp := kmsg.NewFetchResponseTopicPartition()
		rp.Partition = t.req.Partition
		rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = -1, -1, -1
		rp.PreferredReadReplica = -1
		// An empty record set, not a null one: librdkafka fails to parse
		// the rest of the response after a null records field.
		rp.RecordBatches = []byte{}
		if t.part == nil {
			rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
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
			rp.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
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
