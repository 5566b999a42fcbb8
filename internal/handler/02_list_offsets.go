package handler

// ListOffsets: v0-10
//
// Behavior:
// * -2 earliest → log start offset; -1 latest → high watermark (last stable
//   offset for read_committed); -3 max timestamp (v7+) → offset and time of
//   the first record with the largest timestamp; -4 earliest local (v8+) →
//   log start; -5 latest tiered (v9+) → offset -1, as Kafka answers without
//   tiered storage
// * A timestamp ≥ 0 → the first record whose timestamp is ≥ it (its own
//   offset and timestamp): the time index and batch headers find the batch,
//   whose records are read; none → offset -1, timestamp -1
// * CurrentLeaderEpoch is checked like Fetch (FENCED/UNKNOWN_LEADER_EPOCH)
//
// Version notes:
// * v0: old-style offsets array (max_num_offsets)
// * v2: isolation level
// * v4: leader epochs
// * v6: flexible
// * v9: -5 latest tiered timestamp
// * v10: timeout for remote storage lookups (none here: ignored)

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/partition"
)

func (h *Handler) handleListOffsets(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.ListOffsetsRequest)
	resp := r.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, rt := range r.Topics {
		topic := kmsg.NewListOffsetsResponseTopic()
		topic.Topic = rt.Topic
		describable := h.allowedTopic(req, acl.OpDescribe, rt.Topic)
		for _, rp := range rt.Partitions {
			pr := kmsg.NewListOffsetsResponseTopicPartition()
			pr.Partition = rp.Partition
			pr.Timestamp, pr.Offset, pr.LeaderEpoch = -1, -1, -1
			if !describable {
				pr.ErrorCode = kerr.TopicAuthorizationFailed.Code
				topic.Partitions = append(topic.Partitions, pr)
				continue
			}
			p, ok := h.catalog.Partition(rt.Topic, rp.Partition)
			if !ok {
				pr.ErrorCode = kerr.UnknownTopicOrPartition.Code
				topic.Partitions = append(topic.Partitions, pr)
				continue
			}
			if code := checkLeaderEpoch(p, rp.CurrentLeaderEpoch); code != 0 {
				pr.ErrorCode = code
				topic.Partitions = append(topic.Partitions, pr)
				continue
			}
			pr.LeaderEpoch = p.LeaderEpoch()
			switch ts := rp.Timestamp; {
			case ts == -2 || ts == -4:
				pr.Offset = p.LogStartOffset()
			case ts == -1:
				pr.Offset = p.HighWatermark()
				if partition.Isolation(r.IsolationLevel) == partition.ReadCommitted {
					pr.Offset = p.LastStableOffset()
				}
			case ts == -5:
				// No tiered storage: nothing was uploaded (Kafka's answer
				// when remote storage is disabled).
				pr.LeaderEpoch = -1
			case ts == -3:
				mts, off, found, err := p.MaxTimestamp()
				if err != nil {
					pr.ErrorCode = errorCode(err)
				} else if found {
					pr.Timestamp, pr.Offset = mts, off
				}
			case ts >= 0:
				off, bts, found, err := p.OffsetForTimestamp(ts)
				if err != nil {
					pr.ErrorCode = errorCode(err)
				} else if found {
					pr.Offset, pr.Timestamp = off, bts
				}
			default:
				pr.ErrorCode = kerr.InvalidRequest.Code
			}
			if r.Version == 0 {
				if pr.Offset >= 0 && rp.MaxNumOffsets > 0 {
					pr.OldStyleOffsets = []int64{pr.Offset}
				} else {
					pr.OldStyleOffsets = []int64{}
				}
			}
			topic.Partitions = append(topic.Partitions, pr)
		}
		resp.Topics = append(resp.Topics, topic)
	}
	return respond(resp)
}
