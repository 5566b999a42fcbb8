package handler

// OffsetForLeaderEpoch: v0-4
//
// Behavior:
// * For each partition: the largest epoch ≤ the requested one and the
//   offset where the next epoch starts (log end for the current epoch),
//   answered from the log's epoch → start offset index
// * CurrentLeaderEpoch (v2+) is checked (FENCED/UNKNOWN_LEADER_EPOCH)
//
// Version notes:
// * v1: leader epoch in the response
// * v2: current leader epoch
// * v3: replica id
// * v4: flexible

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleOffsetForLeaderEpoch(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.OffsetForLeaderEpochRequest)
	resp := r.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	for _, rt := range r.Topics {
		t := kmsg.NewOffsetForLeaderEpochResponseTopic()
		t.Topic = rt.Topic
		describable := h.allowedTopic(req, acl.OpDescribe, rt.Topic)
		for _, rp := range rt.Partitions {
			pr := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			pr.Partition = rp.Partition
			pr.LeaderEpoch, pr.EndOffset = -1, -1
			p, ok := h.catalog.Partition(rt.Topic, rp.Partition)
			switch {
			case !describable:
				pr.ErrorCode = kerr.TopicAuthorizationFailed.Code
			case !ok:
				pr.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case checkLeaderEpoch(p, rp.CurrentLeaderEpoch) != 0:
				pr.ErrorCode = checkLeaderEpoch(p, rp.CurrentLeaderEpoch)
			default:
				pr.LeaderEpoch, pr.EndOffset = p.EndOffsetForEpoch(rp.LeaderEpoch)
			}
			t.Partitions = append(t.Partitions, pr)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return respond(resp)
}
