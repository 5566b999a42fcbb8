package group

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Transactional offset commits (exactly-once consume-transform-produce).
//
// TxnOffsetCommit stores a producer's offsets as pending and writes them as
// one transactional batch of that producer to the group's __consumer_offsets
// partition. The transaction coordinator later calls CompleteTxn, which
// writes the producer's COMMIT or ABORT marker there: COMMIT turns the
// pending offsets into the group's committed offsets, ABORT drops them.
// Replay rebuilds the same state from the batches and markers, so a restart
// between the two keeps the offsets pending until the marker arrives.

// pendingOffsets are one producer's undecided offsets: group → topic →
// partition.
type pendingOffsets map[string]map[string]map[int32]*committedOffset

func (p pendingOffsets) set(groupID, topic string, partition int32, o *committedOffset) {
	topics := p[groupID]
	if topics == nil {
		topics = make(map[string]map[int32]*committedOffset)
		p[strings.Clone(groupID)] = topics
	}
	parts := topics[topic]
	if parts == nil {
		parts = make(map[int32]*committedOffset)
		topics[strings.Clone(topic)] = parts
	}
	parts[partition] = o
}

// txnWrite makes a write entry a producer's transactional batch or marker.
type txnWrite struct {
	producerID     int64
	epoch          int16
	marker, commit bool
}

// hasPending reports whether some open transaction holds an offset for the
// group's partition.
func (s *shardState) hasPending(groupID, topic string, partition int32) bool {
	for _, p := range s.pending {
		if _, ok := p[groupID][topic][partition]; ok {
			return true
		}
	}
	return false
}

// dropPending forgets every open transaction's offset for the group's
// partition. A producer's entry stays, empty if need be: its marker must
// still be written.
func (s *shardState) dropPending(groupID, topic string, partition int32) {
	for _, pending := range s.pending {
		parts := pending[groupID][topic]
		if _, ok := parts[partition]; !ok {
			continue
		}
		delete(parts, partition)
		if len(parts) == 0 {
			delete(pending[groupID], topic)
			if len(pending[groupID]) == 0 {
				delete(pending, groupID)
			}
		}
	}
}

// unstablePartition is an OffsetFetch answer for a partition whose offset
// waits on an open transaction.
func unstablePartition(partition int32) kmsg.OffsetFetchResponseGroupTopicPartition {
	fp := fetchedPartition(partition, nil)
	fp.ErrorCode = kerr.UnstableOffsetCommit.Code
	return fp
}

// txnOffsetCommit handles TxnOffsetCommit; the transaction coordinator has
// already checked that the producer's open transaction holds this group.
// Partition checks are those of OffsetCommit; the group check is Kafka's for
// transactional commits: a commit without generation and member (v0-v2, or a
// producer outside the group) is accepted, one naming a member must match it.
func (s *shardState) txnOffsetCommit(now time.Time, req *kmsg.TxnOffsetCommitRequest, fx *effects) *kmsg.TxnOffsetCommitResponse {
	resp := kmsg.NewPtrTxnOffsetCommitResponse()
	resp.Version = req.Version
	type at struct{ topic, partition int }
	var valid []at
	names := make([]string, len(req.Topics))
	for ti, rt := range req.Topics {
		out := kmsg.NewTxnOffsetCommitResponseTopic()
		out.Topic, out.TopicID = rt.Topic, rt.TopicID
		name, topicCode := s.resolveCommitTopic(rt.Topic, rt.TopicID, req.Version >= 6)
		names[ti] = name
		for pi, rp := range rt.Partitions {
			op := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			op.Partition = rp.Partition
			op.ErrorCode = topicCode
			if op.ErrorCode == 0 {
				op.ErrorCode = s.checkPartition(name, rp.Partition)
			}
			if op.ErrorCode == 0 && rp.Metadata != nil && len(*rp.Metadata) > s.cfg.MaxMetadataSize {
				op.ErrorCode = kerr.OffsetMetadataTooLarge.Code
			}
			if op.ErrorCode == 0 {
				valid = append(valid, at{ti, pi})
			}
			out.Partitions = append(out.Partitions, op)
		}
		resp.Topics = append(resp.Topics, out)
	}
	if len(valid) == 0 {
		return resp
	}
	code := s.validateTxnCommit(req)
	if code == 0 {
		pending := s.pending[req.ProducerID]
		if pending == nil {
			pending = make(pendingOffsets)
			s.pending[req.ProducerID] = pending
		}
		nowMs := now.UnixMilli()
		for _, v := range valid {
			topic := names[v.topic]
			rp := &req.Topics[v.topic].Partitions[v.partition]
			o := &committedOffset{offset: rp.Offset, leaderEpoch: rp.LeaderEpoch, commitTime: nowMs, expireTime: -1}
			if req.Version < 2 {
				o.leaderEpoch = -1
			}
			if rp.Metadata != nil {
				o.metadata = strings.Clone(*rp.Metadata)
			}
			pending.set(req.Group, topic, rp.Partition, o)
			fx.records = append(fx.records, offsetCommitRecord(req.Group, topic, rp.Partition, o))
		}
		fx.txn = &txnWrite{producerID: req.ProducerID, epoch: req.ProducerEpoch}
	}
	for _, v := range valid {
		resp.Topics[v.topic].Partitions[v.partition].ErrorCode = code
	}
	return resp
}

func (s *shardState) validateTxnCommit(req *kmsg.TxnOffsetCommitRequest) int16 {
	g := s.groups[req.Group]
	anonymous := req.Generation < 0 && req.MemberID == "" && req.InstanceID == nil
	switch {
	case g == nil && req.Generation >= 0:
		return kerr.IllegalGeneration.Code
	case g == nil:
		return 0 // the group appears when the transaction commits
	case anonymous:
		return 0
	case g.cg != nil:
		return g.cg.validateOffsetCommit(req.MemberID, req.Generation, 9)
	}
	if code := g.validateMember(req.MemberID, req.InstanceID); code != 0 {
		return code
	}
	if req.Generation != g.generation {
		return kerr.IllegalGeneration.Code
	}
	return 0
}

// completeTxn applies (commit) or drops (abort) the producer's pending
// offsets and asks for its marker to be written. It returns false when this
// shard holds nothing of the producer's transaction: no batch of it is in
// the log since its last marker, so no marker is needed either.
func (s *shardState) completeTxn(producerID int64, epoch int16, commit bool, fx *effects) bool {
	if _, ok := s.pending[producerID]; !ok {
		return false
	}
	s.applyMarker(producerID, commit)
	fx.txn = &txnWrite{producerID: producerID, epoch: epoch, marker: true, commit: commit}
	return true
}

// applyMarker ends the producer's pending offsets.
func (s *shardState) applyMarker(producerID int64, commit bool) {
	pending := s.pending[producerID]
	delete(s.pending, producerID)
	if !commit {
		return
	}
	for groupID, topics := range pending {
		g := s.groups[groupID]
		if g == nil {
			g = newGroup(groupID)
			s.groups[g.id] = g
		}
		for topic, parts := range topics {
			for p, o := range parts {
				g.setOffset(topic, p, o)
			}
		}
	}
}

// replayEntry applies one replayed record or marker.
func (s *shardState) replayEntry(e Entry) error {
	switch {
	case e.Marker:
		s.applyMarker(e.ProducerID, e.Commit)
		return nil
	case !e.Transactional:
		return s.replay(e.Key, e.Value)
	}
	rec, err := decodeRecord(e.Key, e.Value)
	if err != nil {
		return err
	}
	if rec.kind != recordOffsetCommit || rec.offset == nil {
		return fmt.Errorf("%w: transactional batches hold only offset commits", ErrCorruptRecord)
	}
	pending := s.pending[e.ProducerID]
	if pending == nil {
		pending = make(pendingOffsets)
		s.pending[e.ProducerID] = pending
	}
	pending.set(rec.group, rec.topic, rec.partition, rec.offset)
	return nil
}

// TxnOffsetCommit stores a transaction's offsets as pending, durably, until
// the transaction's marker (CompleteTxn) commits or drops them.
func (c *Coordinator) TxnOffsetCommit(ctx context.Context, r *kmsg.TxnOffsetCommitRequest) *kmsg.TxnOffsetCommitResponse {
	fail := func(resp kmsg.Response, code int16) kmsg.Response {
		if resp == nil {
			return TxnCommitFailure(r, code)
		}
		// Partitions that failed on their own keep their error.
		out := resp.(*kmsg.TxnOffsetCommitResponse)
		for i := range out.Topics {
			for j := range out.Topics[i].Partitions {
				if p := &out.Topics[i].Partitions[j]; p.ErrorCode == 0 {
					p.ErrorCode = code
				}
			}
		}
		return out
	}
	resp := c.call(ctx, r.Group, kerr.CoordinatorLoadInProgress.Code, false, fail,
		func(st *shardState, now time.Time, _ waiterID, fx *effects) kmsg.Response {
			return st.txnOffsetCommit(now, r, fx)
		})
	return resp.(*kmsg.TxnOffsetCommitResponse)
}

// TxnCommitFailure answers every partition of r with code.
func TxnCommitFailure(r *kmsg.TxnOffsetCommitRequest, code int16) *kmsg.TxnOffsetCommitResponse {
	resp := kmsg.NewPtrTxnOffsetCommitResponse()
	resp.Version = r.Version
	for _, rt := range r.Topics {
		t := kmsg.NewTxnOffsetCommitResponseTopic()
		t.Topic, t.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			p := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			p.Partition, p.ErrorCode = rp.Partition, code
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

// ErrNotLoaded means the shard is loading (or reloading after a failed
// write); the caller retries.
var ErrNotLoaded = errors.New("group coordinator shard is loading")

// CompleteTxn writes the producer's transaction marker to a
// __consumer_offsets partition, committing or dropping the offsets its
// transaction stored there, and returns once the marker is durable. The
// transaction coordinator calls it for each group partition it added.
func (c *Coordinator) CompleteTxn(ctx context.Context, partition int32, producerID int64, epoch int16, commit bool) error {
	if partition < 0 || int(partition) >= len(c.shards) {
		return fmt.Errorf("__consumer_offsets partition %d does not exist", partition)
	}
	sh := c.shards[partition]
	sh.mu.Lock()
	switch {
	case sh.closed:
		sh.mu.Unlock()
		return ErrClosed
	case sh.state == nil:
		sh.mu.Unlock()
		return ErrNotLoaded
	}
	var fx effects
	if !sh.state.completeTxn(producerID, epoch, commit, &fx) {
		sh.mu.Unlock()
		return nil
	}
	done := sh.submitLocked(fx, true)
	sh.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
