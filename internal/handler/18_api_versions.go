package handler

// ApiVersions: v0-5
//
// Behavior:
// * Lists every row of the API table (apis.go) with its version range
// * A version newer than we know is answered by Unsupported (handler.go):
//   UNSUPPORTED_VERSION in the v0 format with our ranges (KIP-511)
//
// Version notes:
// * v1: ThrottleMillis
// * v3: flexible; client software name and version (accepted, unused);
//   supported and finalized features (features.go), without the supported
//   features whose minimum level is 0, which older clients cannot decode
//   (KAFKA-17492); a feature finalized at 0 is not listed
// * v4: supported features with minimum level 0 are listed too
// * v5: the client may name the cluster and node it expects (KIP-1242): a
//   mismatch → REBOOTSTRAP_REQUIRED (the connection reached another broker or
//   cluster than its metadata says), naming only one of them →
//   INVALID_REQUEST

import (
	"context"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleApiVersions(_ context.Context, req *conn.Request) conn.Reply {
	if r, ok := req.Body.(*kmsg.ApiVersionsRequest); ok && r.Version >= 5 {
		if code := h.checkExpectedBroker(r.ClusterID, r.NodeID); code != 0 {
			resp := r.ResponseKind().(*kmsg.ApiVersionsResponse)
			resp.ErrorCode = code
			return respond(resp)
		}
	}
	return respond(h.apiVersionsResponse(req.Header.Version))
}

// checkExpectedBroker compares the cluster id and node id an ApiVersions v5
// request expects (KIP-1242; null and -1 while bootstrapping) with this
// broker's.
func (h *Handler) checkExpectedBroker(clusterID *string, nodeID int32) int16 {
	switch {
	case clusterID == nil && nodeID == -1:
		return 0
	case clusterID == nil || nodeID == -1:
		return kerr.InvalidRequest.Code
	case *clusterID != h.catalog.Metadata().ClusterID() || nodeID != h.opts.NodeID:
		h.log.Info("client expected another broker; asking it to rebootstrap", "expected_cluster_id", *clusterID, "expected_node_id", nodeID)
		return kerr.RebootstrapRequired.Code
	}
	return 0
}

func (h *Handler) apiVersionsResponse(version int16) *kmsg.ApiVersionsResponse {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = version
	keys := make([]int, 0, len(h.apis))
	for k := range h.apis {
		keys = append(keys, int(k))
	}
	sort.Ints(keys)
	for _, k := range keys {
		a := h.apis[int16(k)]
		v := kmsg.NewApiVersionsResponseApiKey()
		v.ApiKey, v.MinVersion, v.MaxVersion = a.key, a.min, a.max
		resp.ApiKeys = append(resp.ApiKeys, v)
	}
	if version >= 3 {
		h.appendFeatures(resp)
	}
	return resp
}

func (h *Handler) appendFeatures(resp *kmsg.ApiVersionsResponse) {
	finalized, epoch := h.finalizedFeatures()
	resp.FinalizedFeaturesEpoch = epoch
	for _, name := range sortedFeatureNames() {
		f := supportedFeatures[name]
		if f.min > 0 || resp.Version >= 4 {
			sf := kmsg.NewApiVersionsResponseSupportedFeature()
			sf.Name, sf.MinVersion, sf.MaxVersion = name, f.min, f.max
			resp.SupportedFeatures = append(resp.SupportedFeatures, sf)
		}
		if level := finalized[name]; level > 0 {
			ff := kmsg.NewApiVersionsResponseFinalizedFeature()
			ff.Name, ff.MinVersionLevel, ff.MaxVersionLevel = name, level, level
			resp.FinalizedFeatures = append(resp.FinalizedFeatures, ff)
		}
	}
}
