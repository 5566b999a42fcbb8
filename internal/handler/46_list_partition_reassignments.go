package handler

// ListPartitionReassignments: v0
//
// Behavior:
// * Reassignments complete the moment they are accepted (one broker), so
//   none is ever in progress: the answer lists no topics, whether the
//   request names topics or asks for all (null)
// * Needs DESCRIBE on the cluster

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleListPartitionReassignments(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.ListPartitionReassignmentsRequest)
	resp := r.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
	if !h.allowedCluster(req, acl.OpDescribe) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
	}
	return respond(resp)
}
