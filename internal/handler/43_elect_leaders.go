package handler

// ElectLeaders: v0-2
//
// Behavior:
// * One broker leads every partition and is every partition's only (so
//   preferred) replica: there is never an election to run. A named
//   partition answers ELECTION_NOT_NEEDED, an unknown one
//   UNKNOWN_TOPIC_OR_PARTITION
// * Null topics (every partition) answer an empty result, as Kafka leaves
//   out the partitions that needed no election
// * Needs ALTER on the cluster
//
// Version notes:
// * v1: election type (0 preferred, 1 unclean) and a top-level error code
// * v2: flexible

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleElectLeaders(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.ElectLeadersRequest)
	resp := r.ResponseKind().(*kmsg.ElectLeadersResponse)
	var refusal *kerr.Error
	switch {
	case !h.allowedCluster(req, acl.OpAlter):
		refusal = kerr.ClusterAuthorizationFailed
	case r.ElectionType != 0 && r.ElectionType != 1:
		refusal = kerr.InvalidRequest
	}
	if refusal != nil {
		resp.ErrorCode = refusal.Code
	}
	for _, rt := range r.Topics {
		t := kmsg.NewElectLeadersResponseTopic()
		t.Topic = rt.Topic
		for _, partition := range rt.Partitions {
			p := kmsg.NewElectLeadersResponseTopicPartition()
			p.Partition = partition
			switch _, ok := h.catalog.Partition(rt.Topic, partition); {
			case refusal != nil:
				p.ErrorCode = refusal.Code
			case !ok:
				p.ErrorCode = kerr.UnknownTopicOrPartition.Code
			default:
				p.ErrorCode = kerr.ElectionNotNeeded.Code
				msg := "the only replica is already the leader"
				p.ErrorMessage = &msg
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return respond(resp)
}
