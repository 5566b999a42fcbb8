package handler

// AlterPartitionReassignments: v0-1
//
// Behavior:
// * With one broker the only valid assignment is [this broker], which is
//   already every partition's: it succeeds at once and changes nothing
// * An empty list, a repeated broker or any other broker id →
//   INVALID_REPLICA_ASSIGNMENT; null replicas (cancel) →
//   NO_REASSIGNMENT_IN_PROGRESS; unknown partitions →
//   UNKNOWN_TOPIC_OR_PARTITION
// * Needs ALTER on the cluster (refused → top-level
//   CLUSTER_AUTHORIZATION_FAILED, no topics)
//
// Version notes:
// * v1: AllowReplicationFactorChange (echoed; the factor cannot change)

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleAlterPartitionAssignments(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.AlterPartitionAssignmentsRequest)
	resp := r.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	resp.AllowReplicationFactorChange = r.AllowReplicationFactorChange
	if !h.allowedCluster(req, acl.OpAlter) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return respond(resp)
	}
	for _, rt := range r.Topics {
		t := kmsg.NewAlterPartitionAssignmentsResponseTopic()
		t.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			p := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
			p.Partition = rp.Partition
			if _, ok := h.catalog.Partition(rt.Topic, rp.Partition); !ok {
				p.ErrorCode = kerr.UnknownTopicOrPartition.Code
			} else if rp.Replicas == nil {
				p.ErrorCode = kerr.NoReassignmentInProgress.Code
			} else if msg := h.checkReplicaAssignment(rp.Replicas); msg != "" {
				p.ErrorCode = kerr.InvalidReplicaAssignment.Code
				p.ErrorMessage = &msg
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return respond(resp)
}

// checkReplicaAssignment explains why replicas is not a valid assignment on
// this one-broker cluster, or returns "" when it is.
func (h *Handler) checkReplicaAssignment(replicas []int32) string {
	if len(replicas) == 0 {
		return "the assignment is an empty replica list"
	}
	seen := map[int32]bool{}
	for _, id := range replicas {
		if seen[id] {
			return fmt.Sprintf("the assignment names broker %d more than once", id)
		}
		seen[id] = true
		if id != h.opts.NodeID {
			return fmt.Sprintf("the assignment names broker %d, but the only broker is %d", id, h.opts.NodeID)
		}
	}
	return ""
}
