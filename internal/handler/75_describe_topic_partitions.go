package handler

// DescribeTopicPartitions: v0
//
// Behavior:
// * The named topics, or every topic the principal may DESCRIBE when none
//   is named, sorted by name, each with its partitions (leader, epoch,
//   replicas, ISR; no eligible leader replicas on one broker) and the
//   principal's authorized operations
// * At most min(ResponsePartitionLimit, max.request.partition.size.limit)
//   partitions (at least 1); NextCursor names the topic and partition to
//   ask from next. A request Cursor starts there: topics named before it
//   are skipped, and its topic must be among those named, with a partition
//   ≥ 0 (INVALID_REQUEST for every topic otherwise)
// * A named topic the principal may not DESCRIBE → TOPIC_AUTHORIZATION_FAILED
//   (no id, listed after the others); unknown → UNKNOWN_TOPIC_OR_PARTITION,
//   or INVALID_TOPIC_EXCEPTION for an illegal name
//
// Version notes:
// * v0: flexible (Kafka 3.8, KIP-966; Kafka's admin client describes topics
//   with it)

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/metadata"
	"github.com/samsa-broker/samsa/internal/topics"
)

func (h *Handler) handleDescribeTopicPartitions(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.DescribeTopicPartitionsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeTopicPartitionsResponse)
	all := len(r.Topics) == 0
	cursorTopic, cursorPartition := "", int32(0)
	if r.Cursor != nil {
		cursorTopic, cursorPartition = r.Cursor.Topic, r.Cursor.Partition
	}
	var names []string
	if all {
		for _, t := range h.catalog.Metadata().Topics() {
			names = append(names, t.Name)
		}
	} else {
		for _, t := range r.Topics {
			names = append(names, t.Topic)
		}
	}
	names = slices.DeleteFunc(names, func(n string) bool { return n < cursorTopic })
	slices.Sort(names)
	names = slices.Compact(names)
	if r.Cursor != nil && (cursorPartition < 0 || !all && !slices.Contains(names, cursorTopic)) {
		for _, t := range r.Topics {
			rt := kmsg.NewDescribeTopicPartitionsResponseTopic()
			rt.Topic, rt.ErrorCode = new(t.Topic), kerr.InvalidRequest.Code
			resp.Topics = append(resp.Topics, rt)
		}
		return respond(resp)
	}

	remaining := max(min(r.ResponsePartitionLimit, h.opts.Broker.MaxRequestPartitionSizeLimit()), 1)
	var denied []kmsg.DescribeTopicPartitionsResponseTopic
	for _, name := range names {
		if !h.allowedTopic(req, acl.OpDescribe, name) {
			if !all {
				rt := kmsg.NewDescribeTopicPartitionsResponseTopic()
				rt.Topic, rt.ErrorCode = new(name), kerr.TopicAuthorizationFailed.Code
				denied = append(denied, rt)
			}
			continue
		}
		if remaining == 0 {
			resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: name, Partition: 0}
			break
		}
		t, ok := h.catalog.Metadata().Topic(name)
		if !ok {
			if !all {
				rt := kmsg.NewDescribeTopicPartitionsResponseTopic()
				rt.Topic, rt.ErrorCode = new(name), kerr.UnknownTopicOrPartition.Code
				// As Kafka: every entry but the denied ones carries them.
				rt.AuthorizedOperations = h.authorizedOperations(req, acl.ResourceTopic, name)
				if topics.ValidateTopicName(name) != nil {
					rt.ErrorCode = kerr.InvalidTopicException.Code
				}
				resp.Topics = append(resp.Topics, rt)
			}
			continue
		}
		from := int32(0)
		if name == cursorTopic {
			from = cursorPartition
		}
		rt, next := h.describedTopicPartitions(req, t, from, remaining)
		resp.Topics = append(resp.Topics, rt)
		if next >= 0 {
			resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: name, Partition: next}
			break
		}
		remaining -= int32(len(rt.Partitions))
	}
	resp.Topics = append(resp.Topics, denied...)
	return respond(resp)
}

// describedTopicPartitions describes up to limit of t's partitions from
// from on; next is the first partition left out, or -1.
func (h *Handler) describedTopicPartitions(req *conn.Request, t metadata.Topic, from, limit int32) (kmsg.DescribeTopicPartitionsResponseTopic, int32) {
	rt := kmsg.NewDescribeTopicPartitionsResponseTopic()
	rt.Topic, rt.TopicID, rt.IsInternal = new(t.Name), t.ID, t.Internal
	rt.AuthorizedOperations = h.authorizedOperations(req, acl.ResourceTopic, t.Name)
	rt.Partitions = []kmsg.DescribeTopicPartitionsResponseTopicPartition{}
	upTo := min(t.Partitions, from+limit)
	for i := from; i < upTo; i++ {
		p := kmsg.NewDescribeTopicPartitionsResponseTopicPartition()
		p.Partition, p.LeaderID = i, h.opts.NodeID
		if part, ok := h.catalog.Partition(t.Name, i); ok {
			p.LeaderEpoch = part.LeaderEpoch()
		} else {
			p.ErrorCode = kerr.LeaderNotAvailable.Code
		}
		p.Replicas, p.ISR = []int32{h.opts.NodeID}, []int32{h.opts.NodeID}
		p.EligibleLeaderReplicas, p.LastKnownELR, p.OfflineReplicas = []int32{}, []int32{}, []int32{}
		rt.Partitions = append(rt.Partitions, p)
	}
	next := int32(-1)
	if upTo < t.Partitions {
		next = upTo
	}
	return rt, next
}
