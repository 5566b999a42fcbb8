package handler

// Group APIs: the classic protocol (JoinGroup v0-9, SyncGroup v0-5,
// Heartbeat v0-4, LeaveGroup v0-5), offsets (OffsetCommit v0-10, OffsetFetch
// v0-10, OffsetDelete v0), administration (ListGroups v0-5, DescribeGroups
// v0-6, DeleteGroups v0-3: v3 adds an error message per group) and KIP-848 (ConsumerGroupHeartbeat v0-1,
// ConsumerGroupDescribe v0-1).
//
// Behavior:
// * Each handler hands the request to the group coordinator
//   (internal/group), which owns every rule; these wrappers only run the
//   call in the connection's writer so a blocking JoinGroup or SyncGroup does
//   not stop the connection from reading
// * With an authorizer, they check Kafka's ACLs first: READ on the group to
//   join, sync, heartbeat, leave and commit; DESCRIBE to fetch offsets and
//   describe; DELETE to delete groups and offsets; READ on a topic to commit
//   or delete its offsets, DESCRIBE to fetch them; ListGroups lists every
//   group with DESCRIBE on the cluster, else those the principal may
//   describe. Denied groups and topics get GROUP_/TOPIC_AUTHORIZATION_FAILED
//   and the rest of the request goes on
//
// Version notes: see internal/group for per-version semantics.

import (
	"context"
	"net"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/group"
)

// viaCoordinator runs a coordinator call in the connection's writer.
func viaCoordinator[Req kmsg.Request, Resp kmsg.Response](req *conn.Request, call func(context.Context, Req) Resp) conn.Reply {
	return callCoordinator(req, req.Body.(Req), call, nil)
}

// callCoordinator runs call(r) in the connection's writer, telling the
// coordinator who the client is (DescribeGroups shows it), then finish on
// the response: r may be the request with denied resources taken out, and
// finish puts their errors back.
func callCoordinator[Req kmsg.Request, Resp kmsg.Response](req *conn.Request, r Req, call func(context.Context, Req) Resp, finish func(Resp)) conn.Reply {
	return callCoordinatorAs(req, clientInfo(req), r, call, finish)
}

// clientInfo is who the request came from, as the coordinator records it.
func clientInfo(req *conn.Request) group.ClientInfo {
	host := req.Conn.RemoteAddr
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return group.ClientInfo{ClientID: req.Header.ClientID, ClientHost: "/" + host}
}

// callCoordinatorAs is callCoordinator with the client described by info.
func callCoordinatorAs[Req kmsg.Request, Resp kmsg.Response](req *conn.Request, info group.ClientInfo, r Req, call func(context.Context, Req) Resp, finish func(Resp)) conn.Reply {
	return await(func(ctx context.Context) kmsg.Response {
		resp := call(group.WithClientInfo(ctx, info), r)
		if finish != nil {
			finish(resp)
		}
		return resp
	})
}

// split divides items into those keep accepts and the rest; kept is never
// nil, so a filtered list stays a list (nil means "all" in OffsetFetch).
func split[T any](items []T, keep func(T) bool) (kept, dropped []T) {
	kept = make([]T, 0, len(items))
	for _, it := range items {
		if keep(it) {
			kept = append(kept, it)
		} else {
			dropped = append(dropped, it)
		}
	}
	return kept, dropped
}

func (h *Handler) allowedGroup(req *conn.Request, op acl.Operation, id string) bool {
	return h.allowed(req, op, acl.ResourceGroup, id)
}

// groupDenied answers a single-group request with GROUP_AUTHORIZATION_FAILED.
func groupDenied(r kmsg.Request) conn.Reply {
	code := kerr.GroupAuthorizationFailed.Code
	switch resp := r.ResponseKind().(type) {
	case *kmsg.JoinGroupResponse:
		resp.ErrorCode = code
		return respond(resp)
	case *kmsg.SyncGroupResponse:
		resp.ErrorCode = code
		return respond(resp)
	case *kmsg.HeartbeatResponse:
		resp.ErrorCode = code
		return respond(resp)
	case *kmsg.LeaveGroupResponse:
		resp.ErrorCode = code
		return respond(resp)
	case *kmsg.ConsumerGroupHeartbeatResponse:
		resp.ErrorCode = code
		return respond(resp)
	case *kmsg.OffsetDeleteResponse:
		resp.ErrorCode = code
		return respond(resp)
	}
	return conn.Reply{Close: true} // not a single-group request: a programming error the ACL tests catch
}

func (h *Handler) handleJoinGroup(_ context.Context, req *conn.Request) conn.Reply {
	if r := req.Body.(*kmsg.JoinGroupRequest); !h.allowedGroup(req, acl.OpRead, r.Group) {
		return groupDenied(r)
	}
	return viaCoordinator(req, h.groups.JoinGroup)
}

func (h *Handler) handleSyncGroup(_ context.Context, req *conn.Request) conn.Reply {
	if r := req.Body.(*kmsg.SyncGroupRequest); !h.allowedGroup(req, acl.OpRead, r.Group) {
		return groupDenied(r)
	}
	return viaCoordinator(req, h.groups.SyncGroup)
}

func (h *Handler) handleHeartbeat(_ context.Context, req *conn.Request) conn.Reply {
	if r := req.Body.(*kmsg.HeartbeatRequest); !h.allowedGroup(req, acl.OpRead, r.Group) {
		return groupDenied(r)
	}
	return viaCoordinator(req, h.groups.Heartbeat)
}

func (h *Handler) handleLeaveGroup(_ context.Context, req *conn.Request) conn.Reply {
	if r := req.Body.(*kmsg.LeaveGroupRequest); !h.allowedGroup(req, acl.OpRead, r.Group) {
		return groupDenied(r)
	}
	return viaCoordinator(req, h.groups.LeaveGroup)
}

func (h *Handler) handleConsumerGroupHeartbeat(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.ConsumerGroupHeartbeatRequest)
	if !h.consumerProtocolEnabled() {
		// group.version 0 (features.go): as Kafka, before authorization.
		resp := r.ResponseKind().(*kmsg.ConsumerGroupHeartbeatResponse)
		resp.ErrorCode = kerr.UnsupportedVersion.Code
		return respond(resp)
	}
	if !h.allowedGroup(req, acl.OpRead, r.Group) {
		return groupDenied(r)
	}
	// As Kafka: a subscription naming a topic the member may not describe
	// is refused whole.
	for _, topic := range r.SubscribedTopicNames {
		if !h.allowedTopic(req, acl.OpDescribe, topic) {
			resp := r.ResponseKind().(*kmsg.ConsumerGroupHeartbeatResponse)
			resp.ErrorCode = kerr.TopicAuthorizationFailed.Code
			return respond(resp)
		}
	}
	info := clientInfo(req)
	if a := h.opts.Authorizer; a != nil {
		// A regex subscription matches only topics the member may
		// describe. The coordinator may keep this past the request, so it
		// holds the subject, not req.
		s := subjectOf(req)
		info.MayDescribeTopic = func(topic string) bool {
			return a.Authorize(s.principal, s.host, acl.OpDescribe, acl.ResourceTopic, topic)
		}
	}
	return callCoordinatorAs(req, info, r, h.groups.ConsumerGroupHeartbeat, nil)
}

func (h *Handler) handleOffsetCommit(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.OffsetCommitRequest)
	if h.opts.Authorizer == nil {
		return viaCoordinator(req, h.groups.OffsetCommit)
	}
	failed := func(topics []kmsg.OffsetCommitRequestTopic, code int16) []kmsg.OffsetCommitResponseTopic {
		var out []kmsg.OffsetCommitResponseTopic
		for _, rt := range topics {
			t := kmsg.NewOffsetCommitResponseTopic()
			t.Topic, t.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				p := kmsg.NewOffsetCommitResponseTopicPartition()
				p.Partition, p.ErrorCode = rp.Partition, code
				t.Partitions = append(t.Partitions, p)
			}
			out = append(out, t)
		}
		return out
	}
	resp := r.ResponseKind().(*kmsg.OffsetCommitResponse)
	if !h.allowedGroup(req, acl.OpRead, r.Group) {
		resp.Topics = failed(r.Topics, kerr.GroupAuthorizationFailed.Code)
		return respond(resp)
	}
	allowed, denied := split(r.Topics, func(t kmsg.OffsetCommitRequestTopic) bool {
		name, known := h.topicNameOf(t.Topic, t.TopicID, r.Version >= 10)
		return !known || h.allowedTopic(req, acl.OpRead, name) // the coordinator answers an unknown id
	})
	if len(denied) == 0 {
		return viaCoordinator(req, h.groups.OffsetCommit)
	}
	if len(allowed) == 0 {
		resp.Topics = failed(denied, kerr.TopicAuthorizationFailed.Code)
		return respond(resp)
	}
	sub := *r
	sub.Topics = allowed
	return callCoordinator(req, &sub, h.groups.OffsetCommit, func(resp *kmsg.OffsetCommitResponse) {
		resp.Topics = append(resp.Topics, failed(denied, kerr.TopicAuthorizationFailed.Code)...)
	})
}

func (h *Handler) handleOffsetFetch(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.OffsetFetchRequest)
	if h.opts.Authorizer == nil {
		return viaCoordinator(req, h.groups.OffsetFetch)
	}
	describable := func(topic string) bool { return h.allowedTopic(req, acl.OpDescribe, topic) }
	if r.Version < 8 {
		if !h.allowedGroup(req, acl.OpDescribe, r.Group) {
			resp := r.ResponseKind().(*kmsg.OffsetFetchResponse)
			resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
			if r.Version < 2 { // no top-level error: every asked partition carries it
				resp.Topics = offsetFetchFailed(r.Topics, func(t kmsg.OffsetFetchRequestTopic) (string, []int32) { return t.Topic, t.Partitions }, resp.ErrorCode)
			}
			return respond(resp)
		}
		sub := *r
		var denied []kmsg.OffsetFetchRequestTopic
		if r.Topics != nil {
			sub.Topics, denied = split(r.Topics, func(t kmsg.OffsetFetchRequestTopic) bool { return describable(t.Topic) })
		}
		return callCoordinator(req, &sub, h.groups.OffsetFetch, func(resp *kmsg.OffsetFetchResponse) {
			if resp.ErrorCode != 0 {
				return
			}
			if r.Topics == nil { // every committed offset: only describable topics
				resp.Topics, _ = split(resp.Topics, func(t kmsg.OffsetFetchResponseTopic) bool { return describable(t.Topic) })
			}
			resp.Topics = append(resp.Topics, offsetFetchFailed(denied, func(t kmsg.OffsetFetchRequestTopic) (string, []int32) { return t.Topic, t.Partitions }, kerr.TopicAuthorizationFailed.Code)...)
		})
	}
	byID := r.Version >= 10
	// An id no topic has goes to the coordinator, which answers UNKNOWN_TOPIC_ID.
	describableTopic := func(name string, id [16]byte) bool {
		n, known := h.topicNameOf(name, id, byID)
		return !known || describable(n)
	}
	sub := *r
	allowedGroups, deniedGroups := split(r.Groups, func(g kmsg.OffsetFetchRequestGroup) bool { return h.allowedGroup(req, acl.OpDescribe, g.Group) })
	sub.Groups = make([]kmsg.OffsetFetchRequestGroup, len(allowedGroups))
	deniedTopics := make([][]kmsg.OffsetFetchRequestGroupTopic, len(allowedGroups))
	for i, g := range allowedGroups {
		sub.Groups[i] = g
		if g.Topics != nil {
			sub.Groups[i].Topics, deniedTopics[i] = split(g.Topics, func(t kmsg.OffsetFetchRequestGroupTopic) bool { return describableTopic(t.Topic, t.TopicID) })
		}
	}
	return callCoordinator(req, &sub, h.groups.OffsetFetch, func(resp *kmsg.OffsetFetchResponse) {
		for i := range resp.Groups {
			g := &resp.Groups[i]
			if i >= len(allowedGroups) || g.ErrorCode != 0 {
				continue
			}
			if allowedGroups[i].Topics == nil {
				g.Topics, _ = split(g.Topics, func(t kmsg.OffsetFetchResponseGroupTopic) bool { return describableTopic(t.Topic, t.TopicID) })
			}
			for _, t := range deniedTopics[i] {
				gt := kmsg.NewOffsetFetchResponseGroupTopic()
				gt.Topic, gt.TopicID = t.Topic, t.TopicID
				for _, p := range t.Partitions {
					gp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
					gp.Partition, gp.Offset, gp.Metadata, gp.ErrorCode = p, -1, new(""), kerr.TopicAuthorizationFailed.Code
					gt.Partitions = append(gt.Partitions, gp)
				}
				g.Topics = append(g.Topics, gt)
			}
		}
		for _, dg := range deniedGroups {
			g := kmsg.NewOffsetFetchResponseGroup()
			g.Group, g.ErrorCode = dg.Group, kerr.GroupAuthorizationFailed.Code
			resp.Groups = append(resp.Groups, g)
		}
	})
}

// topicNameOf is the name of a topic a request names by name, or by id
// (byID); known is false for an id no topic has.
func (h *Handler) topicNameOf(name string, id [16]byte, byID bool) (_ string, known bool) {
	if !byID {
		return name, true
	}
	return h.catalog.Metadata().TopicName(id)
}

// offsetFetchFailed answers every asked partition of topics with code.
func offsetFetchFailed[T any](topics []T, parts func(T) (string, []int32), code int16) []kmsg.OffsetFetchResponseTopic {
	var out []kmsg.OffsetFetchResponseTopic
	for _, rt := range topics {
		t := kmsg.NewOffsetFetchResponseTopic()
		var ps []int32
		t.Topic, ps = parts(rt)
		for _, p := range ps {
			fp := kmsg.NewOffsetFetchResponseTopicPartition()
			fp.Partition, fp.Offset, fp.Metadata, fp.ErrorCode = p, -1, new(""), code
			t.Partitions = append(t.Partitions, fp)
		}
		out = append(out, t)
	}
	return out
}

func (h *Handler) handleOffsetDelete(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.OffsetDeleteRequest)
	if h.opts.Authorizer == nil {
		return viaCoordinator(req, h.groups.OffsetDelete)
	}
	if !h.allowedGroup(req, acl.OpDelete, r.Group) {
		return groupDenied(r)
	}
	sub := *r
	var denied []kmsg.OffsetDeleteRequestTopic
	sub.Topics, denied = split(r.Topics, func(t kmsg.OffsetDeleteRequestTopic) bool { return h.allowedTopic(req, acl.OpRead, t.Topic) })
	return callCoordinator(req, &sub, h.groups.OffsetDelete, func(resp *kmsg.OffsetDeleteResponse) {
		if resp.ErrorCode != 0 {
			return
		}
		for _, rt := range denied {
			t := kmsg.NewOffsetDeleteResponseTopic()
			t.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				p := kmsg.NewOffsetDeleteResponseTopicPartition()
				p.Partition, p.ErrorCode = rp.Partition, kerr.TopicAuthorizationFailed.Code
				t.Partitions = append(t.Partitions, p)
			}
			resp.Topics = append(resp.Topics, t)
		}
	})
}

func (h *Handler) handleListGroups(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.ListGroupsRequest)
	if h.allowedCluster(req, acl.OpDescribe) {
		return viaCoordinator(req, h.groups.ListGroups)
	}
	return callCoordinator(req, r, h.groups.ListGroups, func(resp *kmsg.ListGroupsResponse) {
		resp.Groups, _ = split(resp.Groups, func(g kmsg.ListGroupsResponseGroup) bool { return h.allowedGroup(req, acl.OpDescribe, g.Group) })
	})
}

func (h *Handler) handleDescribeGroups(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.DescribeGroupsRequest)
	sub := *r
	var denied []string
	sub.Groups, denied = split(r.Groups, func(id string) bool { return h.allowedGroup(req, acl.OpDescribe, id) })
	return callCoordinator(req, &sub, h.groups.DescribeGroups, func(resp *kmsg.DescribeGroupsResponse) {
		if r.IncludeAuthorizedOperations {
			for i := range resp.Groups {
				if resp.Groups[i].ErrorCode == 0 {
					resp.Groups[i].AuthorizedOperations = h.authorizedOperations(req, acl.ResourceGroup, resp.Groups[i].Group)
				}
			}
		}
		for _, id := range denied {
			g := kmsg.NewDescribeGroupsResponseGroup()
			g.Group, g.ErrorCode = id, kerr.GroupAuthorizationFailed.Code
			resp.Groups = append(resp.Groups, g)
		}
	})
}

func (h *Handler) handleDeleteGroups(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.DeleteGroupsRequest)
	sub := *r
	var denied []string
	sub.Groups, denied = split(r.Groups, func(id string) bool { return h.allowedGroup(req, acl.OpDelete, id) })
	return callCoordinator(req, &sub, h.groups.DeleteGroups, func(resp *kmsg.DeleteGroupsResponse) {
		for _, id := range denied {
			g := kmsg.NewDeleteGroupsResponseGroup()
			g.Group, g.ErrorCode = id, kerr.GroupAuthorizationFailed.Code
			resp.Groups = append(resp.Groups, g)
		}
		if r.Version >= 3 {
			for i := range resp.Groups {
				if g := &resp.Groups[i]; g.ErrorCode != 0 && g.ErrorMessage == nil {
					g.ErrorMessage = kmsg.StringPtr(errorDescription(g.ErrorCode))
				}
			}
		}
	})
}

// describeFailures answers each of groups with code in a
// ConsumerGroupDescribe response.
func describeFailures(groups []string, code int16) []kmsg.ConsumerGroupDescribeResponseGroup {
	out := make([]kmsg.ConsumerGroupDescribeResponseGroup, 0, len(groups))
	for _, id := range groups {
		g := kmsg.NewConsumerGroupDescribeResponseGroup()
		g.Group, g.ErrorCode = id, code
		out = append(out, g)
	}
	return out
}

func (h *Handler) handleConsumerGroupDescribe(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.ConsumerGroupDescribeRequest)
	if !h.consumerProtocolEnabled() {
		resp := r.ResponseKind().(*kmsg.ConsumerGroupDescribeResponse)
		resp.Groups = describeFailures(r.Groups, kerr.UnsupportedVersion.Code)
		return respond(resp)
	}
	sub := *r
	var denied []string
	sub.Groups, denied = split(r.Groups, func(id string) bool { return h.allowedGroup(req, acl.OpDescribe, id) })
	return callCoordinator(req, &sub, h.groups.ConsumerGroupDescribe, func(resp *kmsg.ConsumerGroupDescribeResponse) {
		if r.IncludeAuthorizedOperations {
			for i := range resp.Groups {
				if resp.Groups[i].ErrorCode == 0 {
					resp.Groups[i].AuthorizedOperations = h.authorizedOperations(req, acl.ResourceGroup, resp.Groups[i].Group)
				}
			}
		}
		resp.Groups = append(resp.Groups, describeFailures(denied, kerr.GroupAuthorizationFailed.Code)...)
	})
}
