package handler

// UpdateFeatures: v0-2
//
// Behavior:
// * Needs ALTER on the cluster (else CLUSTER_AUTHORIZATION_FAILED)
// * Applies all updates in one metadata record or none: the first update
//   that fails (an unknown feature, a level outside the supported range, a
//   downgrade without a downgrade type, an upgrade with one) fails the whole
//   request with INVALID_UPDATE_VERSION and Kafka's message, as Kafka's
//   controller does
// * A feature named twice is INVALID_REQUEST
// * ValidateOnly checks and writes nothing
// * Which features exist and what their levels do: features.go
//
// Version notes:
// * v0: AllowDowngrade (true: a safe downgrade)
// * v1: UpgradeType (1 upgrade, 2 safe downgrade, 3 unsafe downgrade),
//   ValidateOnly
// * v2: no per-feature results

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

// errInvalidFeatureUpdate marks a refused update, to tell it from a failed
// metadata write.
var errInvalidFeatureUpdate = errors.New("invalid feature update")

func (h *Handler) handleUpdateFeatures(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.UpdateFeaturesRequest)
	resp := r.ResponseKind().(*kmsg.UpdateFeaturesResponse)
	fail := func(err *kerr.Error, msg string) conn.Reply {
		resp.ErrorCode, resp.ErrorMessage = err.Code, &msg
		return respond(resp)
	}
	if !h.allowedCluster(req, acl.OpAlter) {
		return fail(kerr.ClusterAuthorizationFailed, kerr.ClusterAuthorizationFailed.Description)
	}
	if d := duplicated(len(r.FeatureUpdates), func(i int) string { return r.FeatureUpdates[i].Feature }); len(d) > 0 {
		return fail(kerr.InvalidRequest, "the request names a feature more than once")
	}
	// ValidateOnly: check against the current levels, write nothing.
	var levels map[string]int16
	if !r.ValidateOnly {
		levels = make(map[string]int16, len(r.FeatureUpdates))
		for _, u := range r.FeatureUpdates {
			levels[u.Feature] = u.MaxVersionLevel
		}
	}
	var refused string
	check := func(set map[string]int16) error {
		current := withInitialLevels(set)
		for _, u := range r.FeatureUpdates {
			if err := checkFeatureUpdate(u.Feature, u.MaxVersionLevel, upgradeTypeOf(r.Version, u), current[u.Feature]); err != nil {
				refused = "The update failed for all features since the following feature had an error: " + err.Error()
				return errInvalidFeatureUpdate
			}
		}
		return nil
	}
	if err := h.catalog.Metadata().UpdateFeatures(levels, check); err != nil {
		if !errors.Is(err, errInvalidFeatureUpdate) {
			h.log.Error("update features", "err", err)
			refused = err.Error()
		}
		resp.ErrorCode, resp.ErrorMessage = errorCode(err), &refused
		return respond(resp)
	}
	if r.Version <= 1 {
		for _, u := range r.FeatureUpdates {
			res := kmsg.NewUpdateFeaturesResponseResult()
			res.Feature = u.Feature
			resp.Results = append(resp.Results, res)
		}
	}
	if len(levels) > 0 {
		h.log.Info("features finalized", "levels", levels)
	}
	return respond(resp)
}

// upgradeTypeOf returns an update's upgrade type, v0's AllowDowngrade
// meaning a safe downgrade.
func upgradeTypeOf(version int16, u kmsg.UpdateFeaturesRequestFeatureUpdate) int8 {
	if version >= 1 {
		return u.UpgradeType
	}
	if u.AllowDowngrade {
		return upgradeSafeDowngrade
	}
	return upgradeOnly
}
