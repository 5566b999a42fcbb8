package handler

// CreatePartitions: v0-3
//
// Behavior:
// * Raises a topic's partition count; a count not above the current one →
//   INVALID_PARTITIONS; explicit assignments must name only this broker
// * Validate-only checks without changing anything
// * Needs ALTER on the topic
// * A topic given twice → INVALID_REQUEST once for it, unchanged
// * controller_mutation_rate quotas count the partitions added: v3+ refuse
//   a topic once the quota is exceeded (THROTTLING_QUOTA_EXCEEDED), older
//   versions are throttled only
//
// Version notes:
// * v2: flexible

import (
	"context"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleCreatePartitions(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.CreatePartitionsRequest)
	resp := r.ResponseKind().(*kmsg.CreatePartitionsResponse)
	mutations := h.mutationQuota(req, r.Version >= 3)
	dupes := duplicated(len(r.Topics), func(i int) string { return r.Topics[i].Topic })
	for _, name := range slices.Sorted(maps.Keys(dupes)) {
		t := kmsg.NewCreatePartitionsResponseTopic()
		t.Topic, t.ErrorCode, t.ErrorMessage = name, kerr.InvalidRequest.Code, new(errDuplicateTopic)
		resp.Topics = append(resp.Topics, t)
	}
	for _, rt := range r.Topics {
		if dupes[rt.Topic] {
			continue
		}
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
		if t.ErrorCode == 0 && !mutations.admit() {
			t.ErrorCode, t.ErrorMessage = kerr.ThrottlingQuotaExceeded.Code, new(errMutationQuota)
		}
		if t.ErrorCode == 0 {
			before, _ := h.catalog.Metadata().Topic(rt.Topic)
			if err := h.catalog.CreatePartitions(rt.Topic, rt.Count, r.ValidateOnly); err != nil {
				t.ErrorCode = errorCode(err)
				t.ErrorMessage = errorMessage(err)
			} else if !r.ValidateOnly {
				mutations.record(rt.Count - before.Partitions)
			}
		}
		resp.Topics = append(resp.Topics, t)
	}
	resp.ThrottleMillis = mutations.throttle()
	return respond(resp)
}
