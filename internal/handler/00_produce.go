package handler

// Produce: v0-13
//
// Behavior:
// * Record batch v2 only: older message formats (v0-2 requests carry them)
//   get UNSUPPORTED_FOR_MESSAGE_FORMAT; v0 stays advertised because
//   librdkafka derives features from the advertised range (KAFKA-18659)
// * Batches are appended in request order on the connection's reader
//   goroutine (so pipelined idempotent batches keep their sequence order);
//   the wait for visibility/durability runs in the writer, in order
// * acks=0: no response; acks=1: answered after the append; acks=-1:
//   answered once the data is visible (after the group-committed fsync with
//   --fsync always)
// * CRC-32C failure → CORRUPT_MESSAGE and nothing stored; over
//   max.message.bytes → MESSAGE_TOO_LARGE
// * Needs WRITE on each topic (TOPIC_AUTHORIZATION_FAILED) and, for a
//   transactional producer, WRITE on its transactional id
//   (TRANSACTIONAL_ID_AUTHORIZATION_FAILED on every partition)
// * A producer_byte_rate quota charges the request's record bytes; over it,
//   the response carries the throttle time and the connection reads its
//   next request only after it (Kafka's muted channel)
// * Idempotent retries are answered with the original offsets, stored once
// * A transactional batch is accepted only when the transaction coordinator
//   knows the partition is in the producer's open transaction (added with
//   AddPartitionsToTxn, same epoch): a fenced producer gets
//   INVALID_PRODUCER_EPOCH, a partition outside the transaction
//   INVALID_TXN_STATE. Its records stay invisible to read_committed
//   consumers until the transaction's marker is written.
// * v12+ (transaction protocol v2, KIP-890 part 2): the request's
//   transactional partitions join the producer's transaction first (one
//   coordinator write for all that are new, starting the transaction if none
//   is open), so the producer sends no AddPartitionsToTxn. A fenced epoch
//   gets INVALID_PRODUCER_EPOCH, a transaction still completing
//   CONCURRENT_TRANSACTIONS (retried by the client)
//
// Version notes:
// * v2: log append time
// * v3: transactional id
// * v5: log start offset
// * v8: record errors, error message
// * v9: flexible
// * v12: transaction protocol v2 (above)
// * v13: topics named by id (KIP-516); an unknown id → UNKNOWN_TOPIC_ID

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/partition"
	"github.com/samsa-broker/samsa/internal/quota"
	"github.com/samsa-broker/samsa/internal/record"
	"github.com/samsa-broker/samsa/internal/txn"
)

// produceWait is a partition whose acknowledgement waits for visibility.
type produceWait struct {
	part *partition.Partition
	end  int64
	resp *kmsg.ProduceResponseTopicPartition
}

// collapseRepeatedPartitions makes a request that names a partition more
// than once name it once, with its last records, as Kafka's
// handleProduceRequest does by keying partitions in a map: one append and
// one response entry per partition. Requests without repeats, which every
// client sends, are returned as they are.
func collapseRepeatedPartitions(topics []kmsg.ProduceRequestTopic) []kmsg.ProduceRequestTopic {
	if !hasRepeatedPartition(topics) {
		return topics
	}
	last := map[producePartition][]byte{}
	for _, rt := range topics {
		for _, rp := range rt.Partitions {
			last[producePartition{rt.Topic, rp.Partition}] = rp.Records
		}
	}
	var out []kmsg.ProduceRequestTopic
	index := map[string]int{}
	for _, rt := range topics {
		i, ok := index[rt.Topic]
		if !ok {
			i = len(out)
			index[rt.Topic] = i
			nt := rt
			nt.Partitions = nil
			out = append(out, nt)
		}
		for _, rp := range rt.Partitions {
			k := producePartition{rt.Topic, rp.Partition}
			records, ok := last[k]
			if !ok {
				continue // placed already
			}
			delete(last, k)
			rp.Records = records
			out[i].Partitions = append(out[i].Partitions, rp)
		}
	}
	return out
}

// producePartition names one partition of a produce request.
type producePartition struct {
	topic     string
	partition int32
}

// hasRepeatedPartition reports whether a partition is named twice, without
// allocating for the few partitions a produce request usually names.
func hasRepeatedPartition(topics []kmsg.ProduceRequestTopic) bool {
	n := 0
	for _, rt := range topics {
		n += len(rt.Partitions)
	}
	if n > 64 {
		seen := make(map[producePartition]struct{}, n)
		for _, rt := range topics {
			for _, rp := range rt.Partitions {
				k := producePartition{rt.Topic, rp.Partition}
				if _, ok := seen[k]; ok {
					return true
				}
				seen[k] = struct{}{}
			}
		}
		return false
	}
	for ti := range topics {
		for pi, rp := range topics[ti].Partitions {
			for tj := 0; tj <= ti; tj++ {
				if tj < ti && topics[tj].Topic != topics[ti].Topic {
					continue
				}
				earlier := topics[tj].Partitions
				if tj == ti {
					earlier = earlier[:pi]
				}
				for _, e := range earlier {
					if e.Partition == rp.Partition {
						return true
					}
				}
			}
		}
	}
	return false
}

func (h *Handler) handleProduce(ctx context.Context, req *conn.Request) conn.Reply {
	// The fetches waiting for these partitions are completed once the
	// whole request is appended (so they see all of it) and its response
	// is on its way (so they do not delay it), as Kafka does.
	var notes partition.Notifications
	reply := h.produce(ctx, req, req.Body.(*kmsg.ProduceRequest), &notes)
	if !notes.Empty() {
		reply.After = notes.Flush
	}
	return reply
}

// produce appends r's batches and returns the reply, collecting the
// notifications of waiting fetches in notes.
func (h *Handler) produce(ctx context.Context, req *conn.Request, r *kmsg.ProduceRequest, notes *partition.Notifications) conn.Reply {
	resp := r.ResponseKind().(*kmsg.ProduceResponse)
	if r.Acks != 0 && r.Acks != 1 && r.Acks != -1 {
		return respond(produceError(resp, r, kerr.InvalidRequiredAcks.Code))
	}
	if r.TransactionID != nil && !h.allowed(req, acl.OpWrite, acl.ResourceTransactionalID, *r.TransactionID) {
		if r.Acks == 0 {
			return conn.Reply{Close: true}
		}
		return respond(produceError(resp, r, kerr.TransactionalIDAuthorizationFailed.Code))
	}
	var unknownIDs map[[16]byte]bool
	if r.Version >= 13 {
		unknownIDs = h.resolveProduceTopicIDs(r.Topics)
	}
	r.Topics = collapseRepeatedPartitions(r.Topics)
	var joinCode int16
	if r.Version >= 12 && r.TransactionID != nil {
		joinCode = h.joinTransaction(ctx, req, *r.TransactionID, r.Topics)
	}
	failed := false
	var waits []produceWait
	for _, rt := range r.Topics {
		topic := kmsg.NewProduceResponseTopic()
		topic.Topic, topic.TopicID = rt.Topic, rt.TopicID
		topic.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		unknownID := unknownIDs[rt.TopicID]
		writable := !unknownID && h.allowedTopic(req, acl.OpWrite, rt.Topic)
		for i, rp := range rt.Partitions {
			pr := &topic.Partitions[i]
			*pr = kmsg.NewProduceResponseTopicPartition()
			pr.Partition = rp.Partition
			pr.BaseOffset = -1
			pr.LogAppendTime = -1
			pr.LogStartOffset = -1
			if unknownID {
				pr.ErrorCode = kerr.UnknownTopicID.Code
				failed = true
				continue
			}
			if !writable {
				pr.ErrorCode = kerr.TopicAuthorizationFailed.Code
				failed = true
				continue
			}
			p, ok := h.catalog.Partition(rt.Topic, rp.Partition)
			if !ok {
				pr.ErrorCode = kerr.UnknownTopicOrPartition.Code
				failed = true
				continue
			}
			if p.Internal {
				// Only the broker writes its internal topics.
				pr.ErrorCode = kerr.InvalidTopicException.Code
				failed = true
				continue
			}
			if r.Version < 3 {
				pr.ErrorCode = kerr.UnsupportedForMessageFormat.Code
				continue
			}
			if code := h.checkTransactional(rt.Topic, rp.Partition, rp.Records, joinCode); code != 0 {
				pr.ErrorCode = code
				failed = true
				continue
			}
			res, err := p.AppendCollecting(rp.Records, notes)
			if err != nil {
				failed = true
				pr.ErrorCode = errorCode(err)
				if r.Version >= 8 {
					pr.ErrorMessage = errorMessage(err)
					var recErrs *partition.RecordErrors
					if errors.As(err, &recErrs) {
						for _, i := range recErrs.Records {
							re := kmsg.NewProduceResponseTopicPartitionErrorRecord()
							re.RelativeOffset, re.ErrorMessage = i, kmsg.StringPtr(recErrs.Reason)
							pr.ErrorRecords = append(pr.ErrorRecords, re)
						}
					}
				}
				h.log.Debug("produce rejected", "topic", rt.Topic, "partition", rp.Partition, "err", err)
				continue
			}
			pr.BaseOffset = res.BaseOffset
			pr.LogAppendTime = res.LogAppendTime
			pr.LogStartOffset = res.LogStartOffset
			if r.Acks != 0 {
				waits = append(waits, produceWait{part: p, end: res.LastOffset + 1, resp: pr})
			} else {
				waits = append(waits, produceWait{part: p, end: res.LastOffset + 1})
			}
		}
		resp.Topics = append(resp.Topics, topic)
	}
	if limit, ok := h.quotaLimit(req, quota.ProducerByteRate); ok {
		size := 0
		for _, rt := range r.Topics {
			for _, rp := range rt.Partitions {
				size += len(rp.Records)
			}
		}
		resp.ThrottleMillis = h.chargeQuota(req, limit, size)
	}
	// waits point into each topic's Partitions array, which resp.Topics
	// shares, so filling them in later updates resp.
	if r.Acks == 0 {
		if failed {
			// Kafka closes the connection: with no response, that is the
			// only way a producer learns it must refresh its metadata.
			return conn.Reply{Close: true}
		}
		// No response, but the data must still become visible.
		if len(waits) == 0 || !h.needsSyncWait(waits) {
			return conn.Reply{}
		}
		return await(func(ctx context.Context) kmsg.Response {
			h.waitProduced(ctx, waits, 30*time.Second)
			return nil
		})
	}
	if len(waits) == 0 || !h.needsSyncWait(waits) {
		// Everything is already visible (always so unless --fsync always):
		// answer now, without a deferred wait.
		return respond(resp)
	}
	timeout := time.Duration(r.TimeoutMillis) * time.Millisecond
	return await(func(ctx context.Context) kmsg.Response {
		h.waitProduced(ctx, waits, timeout)
		return resp
	})
}

// resolveProduceTopicIDs names the topics of a v13+ request, which address
// them by id, and returns the ids no topic has. Those get a name no topic can
// have, so that collapseRepeatedPartitions keeps them apart.
func (h *Handler) resolveProduceTopicIDs(topics []kmsg.ProduceRequestTopic) map[[16]byte]bool {
	var unknown map[[16]byte]bool
	for i := range topics {
		rt := &topics[i]
		if name, ok := h.catalog.Metadata().TopicName(rt.TopicID); ok {
			rt.Topic = name
			continue
		}
		if unknown == nil {
			unknown = map[[16]byte]bool{}
		}
		unknown[rt.TopicID] = true
		rt.Topic = fmt.Sprintf("unknown topic id %x", rt.TopicID)
	}
	return unknown
}

// transactionalHeader returns the header of a transactional data batch; ok
// is false for any other batch. Only the first batch's header is read: the
// partition refuses requests with more than one batch, and reports malformed
// and control batches.
func transactionalHeader(records []byte) (record.Header, bool) {
	hdr, err := record.ParseHeader(records)
	if err != nil || !hdr.IsTransactional() || hdr.IsControl() {
		return record.Header{}, false
	}
	return hdr, true
}

// joinTransaction adds the partitions of a v12+ request's transactional
// batches to the producer's transaction (transaction protocol v2) and
// returns the error code for those batches, 0 when they joined. Partitions
// the request may not write are left to the append loop to refuse.
func (h *Handler) joinTransaction(ctx context.Context, req *conn.Request, txnID string, topics []kmsg.ProduceRequestTopic) int16 {
	var parts []txn.TopicPartition
	var producer record.Header
	for _, rt := range topics {
		if !h.allowedTopic(req, acl.OpWrite, rt.Topic) {
			continue
		}
		for _, rp := range rt.Partitions {
			hdr, ok := transactionalHeader(rp.Records)
			if !ok {
				continue
			}
			if p, ok := h.catalog.Partition(rt.Topic, rp.Partition); !ok || p.Internal {
				continue
			}
			if len(parts) == 0 {
				producer = hdr
			}
			parts = append(parts, txn.TopicPartition{Topic: rt.Topic, Partition: rp.Partition})
		}
	}
	if len(parts) == 0 {
		return 0
	}
	err := h.opts.Transactions.AddPartitions(ctx, txnID, producer.ProducerID, producer.ProducerEpoch, parts, true)
	if err == nil {
		return 0
	}
	h.log.Debug("transactional produce could not join the transaction", "transactional_id", txnID, "producer_id", producer.ProducerID, "err", err)
	switch code := txnErrorCode(err, 0, math.MaxInt16); code {
	case kerr.CoordinatorLoadInProgress.Code, kerr.CoordinatorNotAvailable.Code, kerr.NotCoordinator.Code:
		// Produce's retriable error for a coordinator that cannot answer
		// now, as Kafka answers it.
		return kerr.NotEnoughReplicas.Code
	default:
		return code
	}
}

// checkTransactional verifies a transactional batch against the transaction
// coordinator; it returns 0 for any other batch. joinCode is the outcome of
// joinTransaction for v12+ requests: a batch that could not join gets it.
func (h *Handler) checkTransactional(topic string, partition int32, records []byte, joinCode int16) int16 {
	hdr, ok := transactionalHeader(records)
	if !ok {
		return 0
	}
	if joinCode != 0 {
		return joinCode
	}
	tp := txn.TopicPartition{Topic: topic, Partition: partition}
	if err := h.opts.Transactions.Verify(hdr.ProducerID, hdr.ProducerEpoch, tp); err != nil {
		h.log.Debug("transactional produce refused", "topic", topic, "partition", partition, "producer_id", hdr.ProducerID, "err", err)
		// Produce has no PRODUCER_FENCED: fencing is INVALID_PRODUCER_EPOCH.
		return txnErrorCode(err, 0, math.MaxInt16)
	}
	return 0
}

// needsSyncWait reports whether any appended data is not yet visible, which
// happens only under --fsync always (visibility follows the fsync).
func (h *Handler) needsSyncWait(waits []produceWait) bool {
	for _, w := range waits {
		if w.part.HighWatermark() < w.end {
			return true
		}
	}
	return false
}

func (h *Handler) waitProduced(ctx context.Context, waits []produceWait, timeout time.Duration) {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var pending []produceWait
	for _, w := range waits {
		if w.part.HighWatermark() < w.end {
			pending = append(pending, w)
		}
	}
	errs := make([]error, len(pending))
	if len(pending) == 1 {
		errs[0] = pending[0].part.WaitVisible(ctx, pending[0].end)
	} else {
		// Each partition's wait is its group-committed fsync (--fsync
		// always): the partitions' fsyncs overlap rather than queue.
		var wg sync.WaitGroup
		for i, w := range pending {
			wg.Go(func() { errs[i] = w.part.WaitVisible(ctx, w.end) })
		}
		wg.Wait()
	}
	for i, w := range pending {
		if errs[i] != nil && w.resp != nil {
			w.resp.ErrorCode = errorCode(errs[i])
			w.resp.BaseOffset = -1
		}
	}
}

// produceError answers every partition of r with code.
func produceError(resp *kmsg.ProduceResponse, r *kmsg.ProduceRequest, code int16) *kmsg.ProduceResponse {
	for _, rt := range r.Topics {
		topic := kmsg.NewProduceResponseTopic()
		topic.Topic, topic.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			pr := kmsg.NewProduceResponseTopicPartition()
			pr.Partition, pr.ErrorCode = rp.Partition, code
			pr.BaseOffset, pr.LogAppendTime, pr.LogStartOffset = -1, -1, -1
			topic.Partitions = append(topic.Partitions, pr)
		}
		resp.Topics = append(resp.Topics, topic)
	}
	return resp
}
