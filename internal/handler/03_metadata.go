package handler

// Metadata: v0-13
//
// Behavior:
// * Null topics (v1+) or an empty list (v0) returns every topic
// * Unknown topics are created when the request allows it (v4+ field, always
//   for older versions) and auto.create.topics.enable is set, with
//   num.partitions partitions; the request that creates a topic is answered
//   LEADER_NOT_AVAILABLE with no partitions, as Kafka answers it (creation
//   is synchronous, so the client's retry finds the topic ready)
// * This broker leads every partition; replicas and ISR are [this node]
//
// Version notes:
// * v1: controller id, rack, internal flag; null topics means all
// * v2: cluster id
// * v4: allow_auto_topic_creation
// * v5: offline replicas
// * v7: leader epoch
// * v8+: topic authorized operations when asked; v8-10 cluster authorized
//   operations when asked (INT32_MIN otherwise)
//
// Authorization: listing every topic shows only those the principal may
// DESCRIBE; a named topic it may not describe answers
// TOPIC_AUTHORIZATION_FAILED; auto-creation needs CREATE on the cluster or
// the topic.
// * v9: flexible
// * v10: topic ids; topics may be requested by id
// * v13: top-level error code (KIP-1102 REBOOTSTRAP_REQUIRED; never sent)

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/metadata"
	"github.com/samsa-broker/samsa/internal/topics"
)

func (h *Handler) handleMetadata(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.MetadataRequest)
	resp := r.ResponseKind().(*kmsg.MetadataResponse)
	ep := h.endpointFor(req.Conn.Listener)
	b := kmsg.NewMetadataResponseBroker()
	b.NodeID, b.Host, b.Port = h.opts.NodeID, ep.Host, ep.Port
	resp.Brokers = append(resp.Brokers, b)
	clusterID := h.catalog.Metadata().ClusterID()
	resp.ClusterID = &clusterID
	resp.ControllerID = h.opts.NodeID

	if r.IncludeClusterAuthorizedOperations {
		resp.AuthorizedOperations = h.authorizedOperations(req, acl.ResourceCluster, acl.ClusterName)
	}
	allowCreate := r.Version < 4 || r.AllowAutoTopicCreation
	if r.Topics == nil || (r.Version == 0 && len(r.Topics) == 0) {
		for _, t := range h.catalog.Metadata().Topics() {
			if h.allowedTopic(req, acl.OpDescribe, t.Name) {
				resp.Topics = append(resp.Topics, h.metadataTopic(req, r, t))
			}
		}
		return respond(resp)
	}
	for _, rt := range r.Topics {
		var t metadata.Topic
		var ok bool
		switch {
		case rt.Topic != nil:
			if !h.allowedTopic(req, acl.OpDescribe, *rt.Topic) {
				mt := kmsg.NewMetadataResponseTopic()
				mt.Topic = rt.Topic
				mt.ErrorCode = kerr.TopicAuthorizationFailed.Code
				resp.Topics = append(resp.Topics, mt)
				continue
			}
			t, ok = h.catalog.Metadata().Topic(*rt.Topic)
			if !ok && allowCreate && h.opts.Broker.AutoCreateTopics() && topics.ValidateTopicName(*rt.Topic) == nil &&
				!h.allowedTopicCreate(req, *rt.Topic) {
				mt := kmsg.NewMetadataResponseTopic()
				mt.Topic = rt.Topic
				mt.ErrorCode = kerr.TopicAuthorizationFailed.Code
				resp.Topics = append(resp.Topics, mt)
				continue
			}
			if !ok && allowCreate && h.opts.Broker.AutoCreateTopics() {
				created, err := h.catalog.CreateTopic(*rt.Topic, h.opts.Broker.NumPartitions(), nil, false)
				if err != nil && !errors.Is(err, topics.ErrTopicExists) {
					mt := kmsg.NewMetadataResponseTopic()
					mt.Topic = rt.Topic
					mt.ErrorCode = errorCode(err)
					resp.Topics = append(resp.Topics, mt)
					continue
				}
				// As Kafka answers the request that creates a topic: not
				// ready yet, ask again. Clients retry at once, and the topic
				// is ready by then (creation here is synchronous); some
				// rely on this answer, e.g. to see no partitions of a topic
				// they just deleted and named again.
				mt := kmsg.NewMetadataResponseTopic()
				mt.Topic, mt.TopicID = rt.Topic, created.ID
				mt.ErrorCode = kerr.LeaderNotAvailable.Code
				resp.Topics = append(resp.Topics, mt)
				continue
			}
			if !ok {
				mt := kmsg.NewMetadataResponseTopic()
				mt.Topic = rt.Topic
				mt.ErrorCode = kerr.UnknownTopicOrPartition.Code
				if topics.ValidateTopicName(*rt.Topic) != nil {
					mt.ErrorCode = kerr.InvalidTopicException.Code
				}
				resp.Topics = append(resp.Topics, mt)
				continue
			}
		default:
			t, ok = h.catalog.Metadata().TopicByID(rt.TopicID)
			if ok && !h.allowedTopic(req, acl.OpDescribe, t.Name) {
				mt := kmsg.NewMetadataResponseTopic()
				mt.TopicID = rt.TopicID
				mt.ErrorCode = kerr.TopicAuthorizationFailed.Code
				resp.Topics = append(resp.Topics, mt)
				continue
			}
			if !ok {
				mt := kmsg.NewMetadataResponseTopic()
				mt.TopicID = rt.TopicID
				mt.ErrorCode = kerr.UnknownTopicID.Code
				resp.Topics = append(resp.Topics, mt)
				continue
			}
		}
		resp.Topics = append(resp.Topics, h.metadataTopic(req, r, t))
	}
	return respond(resp)
}

func (h *Handler) metadataTopic(req *conn.Request, r *kmsg.MetadataRequest, t metadata.Topic) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	name := t.Name
	mt.Topic = &name
	mt.TopicID = t.ID
	mt.IsInternal = t.Internal
	if r.IncludeTopicAuthorizedOperations {
		mt.AuthorizedOperations = h.authorizedOperations(req, acl.ResourceTopic, t.Name)
	}
	for i := int32(0); i < t.Partitions; i++ {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition = i
		mp.Leader = h.opts.NodeID
		if p, ok := h.catalog.Partition(t.Name, i); ok {
			mp.LeaderEpoch = p.LeaderEpoch()
		} else {
			mp.ErrorCode = kerr.LeaderNotAvailable.Code
		}
		mp.Replicas = []int32{h.opts.NodeID}
		mp.ISR = []int32{h.opts.NodeID}
		mp.OfflineReplicas = []int32{}
		mt.Partitions = append(mt.Partitions, mp)
	}
	return mt
}

// endpointFor returns the advertised endpoint of a listener.
func (h *Handler) endpointFor(listener string) Endpoint {
	for _, e := range h.opts.Endpoints {
		if e.Listener == listener {
			return e
		}
	}
	if len(h.opts.Endpoints) > 0 {
		return h.opts.Endpoints[0]
	}
	return Endpoint{Host: "127.0.0.1", Port: 9092}
}
