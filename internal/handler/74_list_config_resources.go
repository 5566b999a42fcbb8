package handler

// ListConfigResources: v0-1 (ListClientMetricsResources at v0, KIP-1000;
// renamed and widened by KIP-1142)
//
// Behavior:
// * Needs DESCRIBE_CONFIGS on the cluster (else CLUSTER_AUTHORIZATION_FAILED)
// * Lists the resources that have configs, of the types asked for: every
//   topic, this broker (as BROKER and as BROKER_LOGGER) and the groups with
//   group configs; client metrics subscriptions do not exist here (KIP-714
//   is not served), so that type lists nothing
// * A type the version does not cover fails the whole request with
//   UNSUPPORTED_VERSION and no resources, as in Kafka
//
// Version notes:
// * v0: client metrics only (no type list in the request)
// * v1: resource_types (empty: every type v1 covers), and a type per resource

import (
	"context"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleListConfigResources(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.ListConfigResourcesRequest)
	resp := r.ResponseKind().(*kmsg.ListConfigResourcesResponse)
	if !h.allowedCluster(req, acl.OpDescribeConfigs) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return respond(resp)
	}
	covered := []kmsg.ConfigResourceType{kmsg.ConfigResourceTypeClientMetrics}
	if r.Version >= 1 {
		covered = []kmsg.ConfigResourceType{kmsg.ConfigResourceTypeTopic, kmsg.ConfigResourceTypeBroker,
			kmsg.ConfigResourceTypeBrokerLogger, kmsg.ConfigResourceTypeClientMetrics, kmsg.ConfigResourceTypeGroupConfig}
	}
	wanted := map[kmsg.ConfigResourceType]bool{}
	for _, t := range r.ResourceTypes {
		wanted[kmsg.ConfigResourceType(t)] = true
	}
	if len(wanted) == 0 {
		for _, t := range covered {
			wanted[t] = true
		}
	}
	for t := range wanted {
		if !slices.Contains(covered, t) {
			resp.ErrorCode = kerr.UnsupportedVersion.Code
			return respond(resp)
		}
	}
	add := func(t kmsg.ConfigResourceType, name string) {
		res := kmsg.NewListConfigResourcesResponseConfigResource()
		res.Name, res.Type = name, int8(t)
		resp.ConfigResources = append(resp.ConfigResources, res)
	}
	node := strconv.Itoa(int(h.opts.NodeID))
	if wanted[kmsg.ConfigResourceTypeBrokerLogger] && h.opts.Loggers != nil {
		add(kmsg.ConfigResourceTypeBrokerLogger, node)
	}
	if wanted[kmsg.ConfigResourceTypeBroker] {
		add(kmsg.ConfigResourceTypeBroker, node)
	}
	if wanted[kmsg.ConfigResourceTypeTopic] {
		for _, t := range h.catalog.Metadata().Topics() {
			add(kmsg.ConfigResourceTypeTopic, t.Name)
		}
	}
	if wanted[kmsg.ConfigResourceTypeGroupConfig] {
		for _, g := range h.catalog.Metadata().GroupsWithConfigs() {
			add(kmsg.ConfigResourceTypeGroupConfig, g)
		}
	}
	return respond(resp)
}
