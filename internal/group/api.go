package group

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// This file holds the entry points the Kafka handlers call. Each returns a
// complete response for the request's version, every requested item answered,
// ThrottleMillis 0.

// ClientInfo identifies the connection a request came from. Kafka records it
// for every member and DescribeGroups shows it.
type ClientInfo struct {
	ClientID   string // the request header's client id
	ClientHost string // the peer address as Kafka prints it, e.g. "/10.0.0.7"
	// MayDescribeTopic reports whether the client may describe a topic; a
	// KIP-848 subscription regex matches only those. Nil: every topic.
	MayDescribeTopic func(topic string) bool
}

type clientInfoKey struct{}

// WithClientInfo returns ctx carrying the request's client; handlers set it
// before calling JoinGroup or ConsumerGroupHeartbeat.
func WithClientInfo(ctx context.Context, info ClientInfo) context.Context {
	return context.WithValue(ctx, clientInfoKey{}, info)
}

func clientInfoFrom(ctx context.Context) ClientInfo {
	info, _ := ctx.Value(clientInfoKey{}).(ClientInfo)
	return info
}

// JoinGroup blocks until the group's join phase completes (or ctx ends).
func (c *Coordinator) JoinGroup(ctx context.Context, r *kmsg.JoinGroupRequest) *kmsg.JoinGroupResponse {
	fail := func(_ kmsg.Response, code int16) kmsg.Response { return joinError(r.Version, r.MemberID, code) }
	if r.Group == "" {
		return joinError(r.Version, r.MemberID, kerr.InvalidGroupID.Code)
	}
	client := clientInfoFrom(ctx)
	resp := c.call(ctx, r.Group, kerr.CoordinatorLoadInProgress.Code, true, fail,
		func(st *shardState, now time.Time, w waiterID, fx *effects) kmsg.Response {
			if resp := st.joinGroup(now, r, client, w, fx); resp != nil {
				return resp
			}
			return nil
		})
	return resp.(*kmsg.JoinGroupResponse)
}

// SyncGroup blocks a follower until the leader's assignment is stored.
func (c *Coordinator) SyncGroup(ctx context.Context, r *kmsg.SyncGroupRequest) *kmsg.SyncGroupResponse {
	fail := func(_ kmsg.Response, code int16) kmsg.Response { return syncError(r.Version, code) }
	if r.Group == "" {
		return syncError(r.Version, kerr.InvalidGroupID.Code)
	}
	// A loading coordinator lost the rebalance in progress; REBALANCE_IN_PROGRESS
	// makes the member rejoin (older clients do not know LOAD_IN_PROGRESS here).
	resp := c.call(ctx, r.Group, kerr.RebalanceInProgress.Code, true, fail,
		func(st *shardState, now time.Time, w waiterID, fx *effects) kmsg.Response {
			if resp := st.syncGroup(now, r, w, fx); resp != nil {
				return resp
			}
			return nil
		})
	return resp.(*kmsg.SyncGroupResponse)
}

// Heartbeat keeps a classic member's session alive.
func (c *Coordinator) Heartbeat(ctx context.Context, r *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse {
	fail := func(_ kmsg.Response, code int16) kmsg.Response {
		resp := kmsg.NewPtrHeartbeatResponse()
		resp.Version, resp.ErrorCode = r.Version, code
		return resp
	}
	if r.Group == "" {
		return fail(nil, kerr.InvalidGroupID.Code).(*kmsg.HeartbeatResponse)
	}
	// While loading, Kafka answers heartbeats blindly with success.
	resp := c.call(ctx, r.Group, 0, false, fail,
		func(st *shardState, now time.Time, _ waiterID, _ *effects) kmsg.Response {
			return st.heartbeat(now, r)
		})
	return resp.(*kmsg.HeartbeatResponse)
}

// LeaveGroup removes one member (v0–v2) or a batch (v3+).
func (c *Coordinator) LeaveGroup(ctx context.Context, r *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse {
	fail := func(_ kmsg.Response, code int16) kmsg.Response {
		resp := kmsg.NewPtrLeaveGroupResponse()
		resp.Version, resp.ErrorCode = r.Version, code
		return resp
	}
	if r.Group == "" {
		return fail(nil, kerr.InvalidGroupID.Code).(*kmsg.LeaveGroupResponse)
	}
	resp := c.call(ctx, r.Group, kerr.CoordinatorLoadInProgress.Code, false, fail,
		func(st *shardState, now time.Time, _ waiterID, fx *effects) kmsg.Response {
			return st.leaveGroup(now, r, fx)
		})
	return resp.(*kmsg.LeaveGroupResponse)
}

// OffsetCommit stores offsets once they are durable.
func (c *Coordinator) OffsetCommit(ctx context.Context, r *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse {
	fail := func(resp kmsg.Response, code int16) kmsg.Response {
		if resp == nil {
			return commitFailure(r, code)
		}
		// Partitions that failed on their own keep their error.
		out := resp.(*kmsg.OffsetCommitResponse)
		for i := range out.Topics {
			for j := range out.Topics[i].Partitions {
				if p := &out.Topics[i].Partitions[j]; p.ErrorCode == 0 {
					p.ErrorCode = code
				}
			}
		}
		return out
	}
	resp := c.call(ctx, r.Group, kerr.CoordinatorLoadInProgress.Code, false, fail,
		func(st *shardState, now time.Time, _ waiterID, fx *effects) kmsg.Response {
			return st.offsetCommit(now, r, fx)
		})
	return resp.(*kmsg.OffsetCommitResponse)
}

// commitFailure answers every partition of a commit with code.
func commitFailure(r *kmsg.OffsetCommitRequest, code int16) *kmsg.OffsetCommitResponse {
	resp := kmsg.NewPtrOffsetCommitResponse()
	resp.Version = r.Version
	for _, rt := range r.Topics {
		t := kmsg.NewOffsetCommitResponseTopic()
		t.Topic, t.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			p := kmsg.NewOffsetCommitResponseTopicPartition()
			p.Partition, p.ErrorCode = rp.Partition, code
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

// OffsetFetch returns committed offsets, -1 for partitions without one. Nil
// topics means every committed offset of the group; v8+ asks for several
// groups at once.
func (c *Coordinator) OffsetFetch(ctx context.Context, r *kmsg.OffsetFetchRequest) *kmsg.OffsetFetchResponse {
	resp := kmsg.NewPtrOffsetFetchResponse()
	resp.Version = r.Version
	if r.Version >= 8 {
		for i := range r.Groups {
			resp.Groups = append(resp.Groups, c.fetchGroup(ctx, &r.Groups[i], r.Version, r.RequireStable))
		}
		return resp
	}

	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = r.Group
	if r.Topics != nil {
		rg.Topics = make([]kmsg.OffsetFetchRequestGroupTopic, 0, len(r.Topics))
		for _, t := range r.Topics {
			gt := kmsg.NewOffsetFetchRequestGroupTopic()
			gt.Topic, gt.Partitions = t.Topic, t.Partitions
			rg.Topics = append(rg.Topics, gt)
		}
	}
	g := c.fetchGroup(ctx, &rg, r.Version, r.RequireStable)
	if g.ErrorCode != 0 {
		if r.Version >= 2 {
			resp.ErrorCode = g.ErrorCode
			return resp
		}
		// v0–v1 have no top-level error: every asked partition carries it.
		for _, t := range rg.Topics {
			out := kmsg.NewOffsetFetchResponseTopic()
			out.Topic = t.Topic
			for _, p := range t.Partitions {
				fp := kmsg.NewOffsetFetchResponseTopicPartition()
				fp.Partition, fp.Offset, fp.Metadata, fp.ErrorCode = p, -1, new(""), g.ErrorCode
				out.Partitions = append(out.Partitions, fp)
			}
			resp.Topics = append(resp.Topics, out)
		}
		return resp
	}
	for _, t := range g.Topics {
		out := kmsg.NewOffsetFetchResponseTopic()
		out.Topic = t.Topic
		for _, p := range t.Partitions {
			fp := kmsg.NewOffsetFetchResponseTopicPartition()
			fp.Partition, fp.Offset, fp.LeaderEpoch, fp.Metadata, fp.ErrorCode = p.Partition, p.Offset, p.LeaderEpoch, p.Metadata, p.ErrorCode
			out.Partitions = append(out.Partitions, fp)
		}
		resp.Topics = append(resp.Topics, out)
	}
	return resp
}

func (c *Coordinator) fetchGroup(ctx context.Context, rg *kmsg.OffsetFetchRequestGroup, version int16, requireStable bool) kmsg.OffsetFetchResponseGroup {
	fail := func(_ kmsg.Response, code int16) kmsg.Response {
		g := kmsg.NewOffsetFetchResponseGroup()
		g.Group, g.ErrorCode = rg.Group, code
		return &kmsg.OffsetFetchResponse{Groups: []kmsg.OffsetFetchResponseGroup{g}}
	}
	resp := c.call(ctx, rg.Group, kerr.CoordinatorLoadInProgress.Code, false, fail,
		func(st *shardState, _ time.Time, _ waiterID, _ *effects) kmsg.Response {
			return &kmsg.OffsetFetchResponse{Groups: []kmsg.OffsetFetchResponseGroup{st.offsetFetch(rg, version, requireStable)}}
		})
	return resp.(*kmsg.OffsetFetchResponse).Groups[0]
}

// ListGroups lists the groups of every loaded shard; while some shard loads
// the answer carries COORDINATOR_LOAD_IN_PROGRESS with what is known.
func (c *Coordinator) ListGroups(_ context.Context, r *kmsg.ListGroupsRequest) *kmsg.ListGroupsResponse {
	resp := kmsg.NewPtrListGroupsResponse()
	resp.Version = r.Version
	resp.Groups = []kmsg.ListGroupsResponseGroup{}
	for _, sh := range c.shards {
		sh.mu.Lock()
		switch {
		case sh.closed:
			resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		case sh.state == nil:
			if resp.ErrorCode == 0 {
				resp.ErrorCode = kerr.CoordinatorLoadInProgress.Code
			}
		default:
			resp.Groups = append(resp.Groups, sh.state.listGroups(r.StatesFilter, r.TypesFilter)...)
		}
		sh.mu.Unlock()
	}
	return resp
}

// DescribeGroups describes classic groups.
func (c *Coordinator) DescribeGroups(ctx context.Context, r *kmsg.DescribeGroupsRequest) *kmsg.DescribeGroupsResponse {
	resp := kmsg.NewPtrDescribeGroupsResponse()
	resp.Version = r.Version
	for _, id := range r.Groups {
		fail := func(_ kmsg.Response, code int16) kmsg.Response {
			g := kmsg.NewDescribeGroupsResponseGroup()
			g.Group, g.ErrorCode = id, code
			return &kmsg.DescribeGroupsResponse{Groups: []kmsg.DescribeGroupsResponseGroup{g}}
		}
		out := c.call(ctx, id, kerr.CoordinatorLoadInProgress.Code, false, fail,
			func(st *shardState, _ time.Time, _ waiterID, _ *effects) kmsg.Response {
				return &kmsg.DescribeGroupsResponse{Groups: []kmsg.DescribeGroupsResponseGroup{st.describeGroup(id, r.Version)}}
			})
		resp.Groups = append(resp.Groups, out.(*kmsg.DescribeGroupsResponse).Groups[0])
	}
	return resp
}

// DeleteGroups deletes empty groups and their offsets.
func (c *Coordinator) DeleteGroups(ctx context.Context, r *kmsg.DeleteGroupsRequest) *kmsg.DeleteGroupsResponse {
	resp := kmsg.NewPtrDeleteGroupsResponse()
	resp.Version = r.Version
	for _, id := range r.Groups {
		result := func(code int16) *kmsg.DeleteGroupsResponse {
			g := kmsg.NewDeleteGroupsResponseGroup()
			g.Group, g.ErrorCode = id, code
			return &kmsg.DeleteGroupsResponse{Groups: []kmsg.DeleteGroupsResponseGroup{g}}
		}
		fail := func(_ kmsg.Response, code int16) kmsg.Response { return result(code) }
		out := c.call(ctx, id, kerr.CoordinatorLoadInProgress.Code, false, fail,
			func(st *shardState, _ time.Time, _ waiterID, fx *effects) kmsg.Response {
				return result(st.deleteGroup(id, fx))
			})
		resp.Groups = append(resp.Groups, out.(*kmsg.DeleteGroupsResponse).Groups[0])
	}
	return resp
}

// OffsetDelete deletes a group's offsets for topics it does not consume.
func (c *Coordinator) OffsetDelete(ctx context.Context, r *kmsg.OffsetDeleteRequest) *kmsg.OffsetDeleteResponse {
	fail := func(_ kmsg.Response, code int16) kmsg.Response {
		resp := kmsg.NewPtrOffsetDeleteResponse()
		resp.Version, resp.ErrorCode = r.Version, code
		return resp
	}
	if r.Group == "" {
		return fail(nil, kerr.InvalidGroupID.Code).(*kmsg.OffsetDeleteResponse)
	}
	resp := c.call(ctx, r.Group, kerr.CoordinatorLoadInProgress.Code, false, fail,
		func(st *shardState, _ time.Time, _ waiterID, fx *effects) kmsg.Response {
			return st.offsetDelete(r, fx)
		})
	return resp.(*kmsg.OffsetDeleteResponse)
}

// TopicsDeleted removes every group's offsets of the deleted topics and
// returns once the tombstones are durable. A shard still loading is skipped:
// its load drops offsets of topics that no longer exist.
func (c *Coordinator) TopicsDeleted(ctx context.Context, topics []string) error {
	deleted := make(map[string]bool, len(topics))
	for _, t := range topics {
		deleted[t] = true
	}
	gone := func(topic string) bool { return deleted[topic] }
	// Every shard drops the offsets first, then the writes are waited
	// for: the window in which a topic created again under the name could
	// get offsets this removes is the in-memory pass only.
	done := make([]chan error, len(c.shards))
	for i, sh := range c.shards {
		done[i] = c.submitTopicOffsetsRemoval(sh, gone)
	}
	var errs []error
	for i, sh := range c.shards {
		if err := waitWrite(ctx, done[i]); err != nil {
			errs = append(errs, fmt.Errorf("__consumer_offsets partition %d: %w", sh.partition, err))
		}
	}
	return errors.Join(errs...)
}

// ConsumerGroupHeartbeat is the KIP-848 join/heartbeat/leave call.
func (c *Coordinator) ConsumerGroupHeartbeat(ctx context.Context, r *kmsg.ConsumerGroupHeartbeatRequest) *kmsg.ConsumerGroupHeartbeatResponse {
	fail := func(_ kmsg.Response, code int16) kmsg.Response {
		resp := kmsg.NewPtrConsumerGroupHeartbeatResponse()
		resp.Version, resp.ErrorCode = r.Version, code
		return resp
	}
	client := clientInfoFrom(ctx)
	resp := c.call(ctx, r.Group, kerr.CoordinatorLoadInProgress.Code, false, fail,
		func(st *shardState, now time.Time, _ waiterID, fx *effects) kmsg.Response {
			return st.consumerGroupHeartbeat(now, r, client, fx)
		})
	return resp.(*kmsg.ConsumerGroupHeartbeatResponse)
}

// ConsumerGroupDescribe describes KIP-848 groups.
func (c *Coordinator) ConsumerGroupDescribe(ctx context.Context, r *kmsg.ConsumerGroupDescribeRequest) *kmsg.ConsumerGroupDescribeResponse {
	resp := kmsg.NewPtrConsumerGroupDescribeResponse()
	resp.Version = r.Version
	for _, id := range r.Groups {
		fail := func(_ kmsg.Response, code int16) kmsg.Response {
			g := kmsg.NewConsumerGroupDescribeResponseGroup()
			g.Group, g.ErrorCode = id, code
			return &kmsg.ConsumerGroupDescribeResponse{Groups: []kmsg.ConsumerGroupDescribeResponseGroup{g}}
		}
		if id == "" {
			resp.Groups = append(resp.Groups, fail(nil, kerr.InvalidGroupID.Code).(*kmsg.ConsumerGroupDescribeResponse).Groups[0])
			continue
		}
		out := c.call(ctx, id, kerr.CoordinatorLoadInProgress.Code, false, fail,
			func(st *shardState, _ time.Time, _ waiterID, _ *effects) kmsg.Response {
				return &kmsg.ConsumerGroupDescribeResponse{Groups: []kmsg.ConsumerGroupDescribeResponseGroup{st.consumerGroupDescribe(id)}}
			})
		resp.Groups = append(resp.Groups, out.(*kmsg.ConsumerGroupDescribeResponse).Groups[0])
	}
	return resp
}
