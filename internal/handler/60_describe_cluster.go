package handler

// DescribeCluster: v0-2
//
// Behavior:
// * One broker (this one), which is also the controller
//
// Version notes:
// * v1: endpoint type (1 = brokers; 2 = controllers → this node too)
// * v2: include fenced brokers (this one is never fenced)

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleDescribeCluster(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.DescribeClusterRequest)
	resp := r.ResponseKind().(*kmsg.DescribeClusterResponse)
	ep := h.endpointFor(req.Conn.Listener)
	resp.ClusterID = h.catalog.Metadata().ClusterID()
	resp.ControllerID = h.opts.NodeID
	resp.EndpointType = r.EndpointType
	if r.IncludeClusterAuthorizedOperations {
		resp.ClusterAuthorizedOperations = h.authorizedOperations(req, acl.ResourceCluster, acl.ClusterName)
	}
	b := kmsg.NewDescribeClusterResponseBroker()
	b.NodeID, b.Host, b.Port = h.opts.NodeID, ep.Host, ep.Port
	resp.Brokers = append(resp.Brokers, b)
	return respond(resp)
}
