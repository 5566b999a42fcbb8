package handler

// DeleteTopics: v0-6
//
// Behavior:
// * Deletes the topic's metadata and data synchronously, and every group's
//   committed offsets of it (a topic created again starts without them)
// * Unknown names → UNKNOWN_TOPIC_OR_PARTITION; unknown ids (v6) →
//   UNKNOWN_TOPIC_ID; delete.topic.enable=false → TOPIC_DELETION_DISABLED
// * Needs DELETE on the topic
// * A name given twice → INVALID_REQUEST once for it, not deleted
// * controller_mutation_rate quotas count the partitions deleted: v5+ refuse
//   a topic once the quota is exceeded (THROTTLING_QUOTA_EXCEEDED), older
//   versions are throttled only
//
// Version notes:
// * v4: flexible
// * v5: error message
// * v6: topics by name or id

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleDeleteTopics(ctx context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.DeleteTopicsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteTopicsResponse)
	type target struct {
		name *string
		id   [16]byte
	}
	mutations := h.mutationQuota(req, r.Version >= 5)
	var targets []target
	if r.Version >= 6 {
		for _, t := range r.Topics {
			targets = append(targets, target{name: t.Topic, id: t.TopicID})
		}
	} else {
		for _, n := range r.TopicNames {
			targets = append(targets, target{name: &n})
		}
	}
	dupes := duplicated(len(targets), func(i int) string {
		if targets[i].name == nil {
			return ""
		}
		return *targets[i].name
	})
	delete(dupes, "")
	for _, name := range slices.Sorted(maps.Keys(dupes)) {
		t := kmsg.NewDeleteTopicsResponseTopic()
		t.Topic, t.ErrorCode = &name, kerr.InvalidRequest.Code
		if r.Version >= 5 {
			t.ErrorMessage = new(errDuplicateTopic)
		}
		resp.Topics = append(resp.Topics, t)
	}
	for _, tg := range targets {
		if tg.name != nil && dupes[*tg.name] {
			continue
		}
		t := kmsg.NewDeleteTopicsResponseTopic()
		t.Topic, t.TopicID = tg.name, tg.id
		fail := func(code int16, err error) {
			t.ErrorCode = code
			if r.Version >= 5 && err != nil {
				t.ErrorMessage = errorMessage(err)
			}
			resp.Topics = append(resp.Topics, t)
		}
		if !h.opts.Broker.DeleteTopicEnable() {
			fail(kerr.TopicDeletionDisabled.Code, nil)
			continue
		}
		name := ""
		if tg.name != nil {
			name = *tg.name
			if topic, ok := h.catalog.Metadata().Topic(name); ok {
				t.TopicID = topic.ID
			}
		} else {
			topic, ok := h.catalog.Metadata().TopicByID(tg.id)
			if !ok {
				fail(kerr.UnknownTopicID.Code, nil)
				continue
			}
			name = topic.Name
			t.Topic = &name
		}
		if !h.allowedTopic(req, acl.OpDelete, name) {
			fail(kerr.TopicAuthorizationFailed.Code, nil)
			continue
		}
		if !mutations.admit() {
			fail(kerr.ThrottlingQuotaExceeded.Code, errors.New(errMutationQuota))
			continue
		}
		topic, existed := h.catalog.Metadata().Topic(name)
		if err := h.catalog.DeleteTopic(name); err != nil {
			if _, exists := h.catalog.Metadata().Topic(name); !existed || exists {
				fail(errorCode(err), err)
				continue
			}
			// The topic is gone; only removing some of its files failed.
			h.log.Warn("deleted topic, but removing its files failed", "topic", name, "err", err)
		}
		if err := h.opts.Groups.TopicsDeleted(ctx, []string{name}); err != nil {
			// The next load of the affected shards removes them instead.
			h.log.Warn("removing deleted topic's committed offsets failed", "topic", name, "err", err)
		}
		mutations.record(topic.Partitions)
		resp.Topics = append(resp.Topics, t)
	}
	resp.ThrottleMillis = mutations.throttle()
	return respond(resp)
}
