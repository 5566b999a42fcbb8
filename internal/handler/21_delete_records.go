package handler

// DeleteRecords: v0-2
//
// Behavior:
// * Raises the log start offset to the given offset (-1 = high watermark);
//   whole segments below it are removed; the new start survives restarts
// * An offset above the high watermark → OFFSET_OUT_OF_RANGE
// * Needs DELETE on the topic
//
// Version notes:
// * v2: flexible

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleDeleteRecords(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.DeleteRecordsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteRecordsResponse)
	for _, rt := range r.Topics {
		t := kmsg.NewDeleteRecordsResponseTopic()
		t.Topic = rt.Topic
		deletable := h.allowedTopic(req, acl.OpDelete, rt.Topic)
		for _, rp := range rt.Partitions {
			pr := kmsg.NewDeleteRecordsResponseTopicPartition()
			pr.Partition = rp.Partition
			pr.LowWatermark = -1
			p, ok := h.catalog.Partition(rt.Topic, rp.Partition)
			if !deletable {
				pr.ErrorCode = kerr.TopicAuthorizationFailed.Code
			} else if ok && p.Internal {
				pr.ErrorCode = kerr.InvalidRequest.Code
			} else if !ok {
				pr.ErrorCode = kerr.UnknownTopicOrPartition.Code
			} else if low, err := p.DeleteRecordsBefore(rp.Offset); err != nil {
				pr.ErrorCode = errorCode(err)
			} else {
				pr.LowWatermark = low
			}
			t.Partitions = append(t.Partitions, pr)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return respond(resp)
}
