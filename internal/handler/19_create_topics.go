package handler

// CreateTopics: v0-7
//
// Behavior:
// * NumPartitions/ReplicationFactor -1 (v4+) take num.partitions and
//   default.replication.factor
// * One broker: a replication factor above 1 → INVALID_REPLICATION_FACTOR;
//   manual assignments must name only this broker
// * Invalid configs fail the topic with INVALID_CONFIG; validate-only (v1+)
//   checks without creating
// * v5+ responses carry partitions, replication factor and every config
// * Needs CREATE on the cluster or the topic
// * A name given twice → INVALID_REQUEST once for it, and neither is
//   created; the other topics are
// * controller_mutation_rate quotas count the partitions created: v6+ refuse
//   a topic once the quota is exceeded (THROTTLING_QUOTA_EXCEEDED), older
//   versions are throttled only
//
// Version notes:
// * v1: validate only, error message
// * v5: flexible, configs in the response
// * v7: topic id

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleCreateTopics(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.CreateTopicsRequest)
	resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
	mutations := h.mutationQuota(req, r.Version >= 6)
	dupes := duplicated(len(r.Topics), func(i int) string { return r.Topics[i].Topic })
	for _, name := range slices.Sorted(maps.Keys(dupes)) {
		t := kmsg.NewCreateTopicsResponseTopic()
		t.Topic, t.ErrorCode = name, kerr.InvalidRequest.Code
		t.NumPartitions, t.ReplicationFactor = -1, -1
		if r.Version >= 1 {
			t.ErrorMessage = new(errDuplicateTopic)
		}
		resp.Topics = append(resp.Topics, t)
	}
	for _, rt := range r.Topics {
		if dupes[rt.Topic] {
			continue
		}
		t := kmsg.NewCreateTopicsResponseTopic()
		t.Topic = rt.Topic
		t.NumPartitions, t.ReplicationFactor = -1, -1
		fail := func(code int16, msg string) {
			t.ErrorCode = code
			if r.Version >= 1 {
				t.ErrorMessage = &msg
			}
			resp.Topics = append(resp.Topics, t)
		}
		if !h.allowedTopicCreate(req, rt.Topic) {
			fail(kerr.TopicAuthorizationFailed.Code, "not authorized to create the topic (CREATE on the cluster or the topic)")
			continue
		}
		partitions, rf := rt.NumPartitions, rt.ReplicationFactor
		if len(rt.ReplicaAssignment) > 0 {
			if partitions != -1 || rf != -1 {
				fail(kerr.InvalidRequest.Code, "both partition count and replica assignment were given")
				continue
			}
			partitions = int32(len(rt.ReplicaAssignment))
			rf = 1
			ok := true
			for _, a := range rt.ReplicaAssignment {
				if len(a.Replicas) != 1 || a.Replicas[0] != h.opts.NodeID {
					ok = false
				}
			}
			if !ok {
				fail(kerr.InvalidReplicaAssignment.Code, fmt.Sprintf("replicas must be [%d]: this cluster has one broker", h.opts.NodeID))
				continue
			}
		}
		if partitions == -1 {
			partitions = h.opts.Broker.NumPartitions()
		}
		if rf == -1 {
			rf = int16(h.opts.Broker.DefaultReplicationFactor())
		}
		if partitions <= 0 {
			fail(kerr.InvalidPartitions.Code, "number of partitions must be at least 1")
			continue
		}
		if rf <= 0 || rf > 1 {
			fail(kerr.InvalidReplicationFactor.Code, fmt.Sprintf("replication factor %d: this cluster has 1 broker", rf))
			continue
		}
		if !mutations.admit() {
			fail(kerr.ThrottlingQuotaExceeded.Code, errMutationQuota)
			continue
		}
		configs := map[string]string{}
		for _, c := range rt.Configs {
			if c.Value != nil {
				configs[c.Name] = *c.Value
			}
		}
		topic, err := h.catalog.CreateTopic(rt.Topic, partitions, configs, r.ValidateOnly)
		if err != nil {
			fail(errorCode(err), err.Error())
			continue
		}
		if !r.ValidateOnly {
			mutations.record(partitions)
		}
		t.TopicID = topic.ID
		t.NumPartitions, t.ReplicationFactor = partitions, rf
		if r.Version >= 5 {
			for _, d := range h.describeTopicConfigs(configs, nil, false, false) {
				c := kmsg.NewCreateTopicsResponseTopicConfig()
				c.Name, c.Value, c.ReadOnly, c.Source, c.IsSensitive = d.Name, d.Value, d.ReadOnly, int8(d.Source), d.IsSensitive
				t.Configs = append(t.Configs, c)
			}
		}
		resp.Topics = append(resp.Topics, t)
	}
	resp.ThrottleMillis = mutations.throttle()
	return respond(resp)
}
