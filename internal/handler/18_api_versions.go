package handler

// ApiVersions: v0-4
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

import (
	"context"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleApiVersions(_ context.Context, req *conn.Request) conn.Reply {
	return respond(h.apiVersionsResponse(req.Header.Version))
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
