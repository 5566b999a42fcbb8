package handler

// CreatePartitions: v0-3
//
// Behavior:
// * Raises a topic's partition count; a count not above the current one →
//   INVALID_PARTITIONS; explicit assignments must name only this broker
// * Validate-only checks without changing anything
// * Needs ALTER on the topic
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

func (h *Handler) handleCreatePartitions(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.CreatePartitionsRequest)
	resp := r.ResponseKind().(*kmsg.CreatePartitionsResponse)
	for _, rt := range r.Topics {
		t := kmsg.NewCreatePartitionsResponseTopic()
		t.Topic = rt.Topic
		if !h.allowedTopic(req, acl.OpAlter, rt.Topic) {
			t.ErrorCode = kerr.TopicAuthorizationFailed.Code
			resp.Topics = append(resp.Topics, t)
			continue
		}
		for _, a := range rt.Assignment {
			if len(a.Replicas) != 1 || a.Replicas[0] != h.opts.NodeID {
				t.ErrorCode = kerr.InvalidReplicaAssignment.Code
			}
		}
		if t.ErrorCode == 0 {
			if err := h.catalog.CreatePartitions(rt.Topic, rt.Count, r.ValidateOnly); err != nil {
				t.ErrorCode = errorCode(err)
				t.ErrorMessage = errorMessage(err)
			}
		}
		resp.Topics = append(resp.Topics, t)
	}
	return respond(resp)
}
