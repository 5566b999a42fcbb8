package group

import (
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func cgJoinReq(group, member string, topics ...string) *kmsg.ConsumerGroupHeartbeatRequest {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Version = 1
	req.Group, req.MemberID, req.MemberEpoch = group, member, 0
	req.RebalanceTimeoutMillis = 30_000
	req.SubscribedTopicNames = append([]string{}, topics...)
	req.ServerAssignor = new(assignorUniform)
	req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	return req
}

// cgBeat is a keepalive-style heartbeat reporting the owned partitions
// (nil owned: a pure keepalive with Topics null).
func cgBeat(group, member string, epoch int32, owned topicPartitions) *kmsg.ConsumerGroupHeartbeatRequest {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Version = 1
	req.Group, req.MemberID, req.MemberEpoch = group, member, epoch
	if owned != nil {
		req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		for _, id := range slices.SortedFunc(func(yield func([16]byte) bool) {
			for k := range owned {
				if !yield(k) {
					return
				}
			}
		}, compareIDs) {
			req.Topics = append(req.Topics, kmsg.ConsumerGroupHeartbeatRequestTopic{TopicID: id, Partitions: owned[id]})
		}
	}
	return req
}

func (h *harness) cg(req *kmsg.ConsumerGroupHeartbeatRequest) *kmsg.ConsumerGroupHeartbeatResponse {
	var fx effects
	resp := h.st.consumerGroupHeartbeat(h.now, req, ClientInfo{ClientID: "client", ClientHost: "/127.0.0.1"}, &fx)
	h.collect(fx)
	return resp
}

func assignmentOf(resp *kmsg.ConsumerGroupHeartbeatResponse) topicPartitions {
	if resp.Assignment == nil {
		return nil
	}
	out := topicPartitions{}
	for _, t := range resp.Assignment.Topics {
		out[t.TopicID] = t.Partitions
	}
	return out
}

var ordersID = [16]byte{1}

func TestConsumerHeartbeatValidation(t *testing.T) {
	tests := []struct {
		name string
		req  func() *kmsg.ConsumerGroupHeartbeatRequest
		want int16
	}{
		{"empty group", func() *kmsg.ConsumerGroupHeartbeatRequest { return cgJoinReq("", "m", "orders") }, kerr.InvalidRequest.Code},
		{"empty member id on v1", func() *kmsg.ConsumerGroupHeartbeatRequest { return cgJoinReq("g", "", "orders") }, kerr.InvalidRequest.Code},
		{"join without rebalance timeout", func() *kmsg.ConsumerGroupHeartbeatRequest {
			r := cgJoinReq("g", "m", "orders")
			r.RebalanceTimeoutMillis = -1
			return r
		}, kerr.InvalidRequest.Code},
		{"join owning partitions", func() *kmsg.ConsumerGroupHeartbeatRequest {
			r := cgJoinReq("g", "m", "orders")
			r.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{{TopicID: ordersID, Partitions: []int32{0}}}
			return r
		}, kerr.InvalidRequest.Code},
		{"join without subscription", func() *kmsg.ConsumerGroupHeartbeatRequest {
			r := cgJoinReq("g", "m")
			r.SubscribedTopicNames = nil
			return r
		}, kerr.InvalidRequest.Code},
		{"static leave without instance", func() *kmsg.ConsumerGroupHeartbeatRequest { return cgBeat("g", "m", -2, nil) }, kerr.InvalidRequest.Code},
		{"epoch below -2", func() *kmsg.ConsumerGroupHeartbeatRequest { return cgBeat("g", "m", -3, nil) }, kerr.InvalidRequest.Code},
		{"bad regex", func() *kmsg.ConsumerGroupHeartbeatRequest {
			r := cgJoinReq("g", "m")
			r.SubscribedTopicRegex = new("orders(")
			return r
		}, kerr.InvalidRegularExpression.Code},
		{"unknown assignor", func() *kmsg.ConsumerGroupHeartbeatRequest {
			r := cgJoinReq("g", "m", "orders")
			r.ServerAssignor = new("sticky-custom")
			return r
		}, kerr.UnsupportedAssignor.Code},
		{"heartbeat for unknown group", func() *kmsg.ConsumerGroupHeartbeatRequest { return cgBeat("nope", "m", 3, nil) }, kerr.UnknownMemberID.Code},
		{"leave unknown group", func() *kmsg.ConsumerGroupHeartbeatRequest { return cgBeat("nope", "m", -1, nil) }, kerr.GroupIDNotFound.Code},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			resp := h.cg(tc.req())
			wantCode(t, "heartbeat", resp.ErrorCode, tc.want)
			if resp.ErrorCode != 0 && resp.ErrorMessage == nil {
				t.Error("error without a message")
			}
		})
	}
}

func TestConsumerJoinAndReconcile(t *testing.T) {
	h := newHarness(t)
	a := h.consumerJoin("g", "a", "orders")
	wantCode(t, "join a", a.ErrorCode, 0)
	if a.MemberEpoch != 1 || a.HeartbeatIntervalMillis != 5000 || *a.MemberID != "a" {
		t.Fatalf("join a: epoch %d interval %d", a.MemberEpoch, a.HeartbeatIntervalMillis)
	}
	if got := assignmentOf(a); !slices.Equal(got[ordersID], []int32{0, 1, 2, 3}) {
		t.Fatalf("a assignment %v, want all of orders", got)
	}

	// b joins: the target splits the topic, but a still owns b's half.
	b := h.consumerJoin("g", "b", "orders")
	if b.MemberEpoch != 2 || len(assignmentOf(b)[ordersID]) != 0 {
		t.Fatalf("join b: epoch %d assignment %v, want 2 and nothing yet", b.MemberEpoch, assignmentOf(b))
	}
	cg := h.group("g").cg
	if cg.members["b"].state != memberUnreleasedPartitions {
		t.Fatalf("b is %v, want UNRELEASED_PARTITIONS", cg.members["b"].state)
	}

	// a's next heartbeat asks it to revoke; its epoch stays.
	ra := h.cg(cgBeat("g", "a", 1, topicPartitions{ordersID: {0, 1, 2, 3}}))
	if ra.MemberEpoch != 1 || !slices.Equal(assignmentOf(ra)[ordersID], []int32{0, 1}) {
		t.Fatalf("a revoke: epoch %d assignment %v", ra.MemberEpoch, assignmentOf(ra))
	}
	if cg.members["a"].state != memberUnrevokedPartitions {
		t.Fatalf("a is %v", cg.members["a"].state)
	}
	// A keepalive (owned unknown) cannot prove the revocation.
	ka := h.cg(cgBeat("g", "a", 1, nil))
	if ka.MemberEpoch != 1 || ka.Assignment != nil {
		t.Fatalf("keepalive: epoch %d assignment %v", ka.MemberEpoch, ka.Assignment)
	}
	if h.cg(cgBeat("g", "b", 2, topicPartitions{})).Assignment != nil {
		t.Fatal("b got partitions a has not released")
	}
	// a reports the revocation done: it moves to epoch 2.
	ra = h.cg(cgBeat("g", "a", 1, topicPartitions{ordersID: {0, 1}}))
	if ra.MemberEpoch != 2 {
		t.Fatalf("a after revoking: epoch %d, want 2", ra.MemberEpoch)
	}
	rb := h.cg(cgBeat("g", "b", 2, topicPartitions{}))
	if !slices.Equal(assignmentOf(rb)[ordersID], []int32{2, 3}) {
		t.Fatalf("b assignment %v, want [2 3]", assignmentOf(rb))
	}
	if cg.stateName() != "Stable" {
		t.Fatalf("group state %s, want Stable", cg.stateName())
	}
	d := h.st.consumerGroupDescribe("g")
	if d.ErrorCode != 0 || d.Epoch != 2 || d.AssignmentEpoch != 2 || d.AssignorName != "uniform" || len(d.Members) != 2 {
		t.Fatalf("describe: %+v", d)
	}
	if d.Members[1].Assignment.TopicPartitions[0].Topic != "orders" || d.Members[1].MemberType != 1 {
		t.Fatalf("describe member: %+v", d.Members[1])
	}
}

func TestConsumerEpochFencing(t *testing.T) {
	h := newHarness(t)
	h.consumerJoin("g", "a", "orders")
	h.consumerJoin("g", "b", "orders") // group epoch 2
	h.cg(cgBeat("g", "a", 1, topicPartitions{ordersID: {0, 1, 2, 3}}))
	h.cg(cgBeat("g", "a", 1, topicPartitions{ordersID: {0, 1}})) // a at epoch 2

	tests := []struct {
		name  string
		epoch int32
		owned topicPartitions
		want  int16
	}{
		{"current epoch", 2, topicPartitions{ordersID: {0, 1}}, 0},
		{"epoch from the future", 3, nil, kerr.FencedMemberEpoch.Code},
		{"previous epoch owning a subset", 1, topicPartitions{ordersID: {1}}, 0},
		{"previous epoch owning more", 1, topicPartitions{ordersID: {0, 1, 2}}, kerr.FencedMemberEpoch.Code},
		{"previous epoch, owned unknown", 1, nil, kerr.FencedMemberEpoch.Code},
		{"epoch 0 rejoins", 0, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := cgBeat("g", "a", tc.epoch, tc.owned)
			if tc.epoch == 0 {
				req = cgJoinReq("g", "a", "orders")
			}
			resp := h.cg(req)
			wantCode(t, "heartbeat", resp.ErrorCode, tc.want)
		})
	}
	t.Run("rejoin in place re-sends the assignment", func(t *testing.T) {
		resp := h.cg(cgJoinReq("g", "a", "orders"))
		if resp.MemberEpoch != 2 || !slices.Equal(assignmentOf(resp)[ordersID], []int32{0, 1}) {
			t.Fatalf("rejoin: epoch %d assignment %v", resp.MemberEpoch, assignmentOf(resp))
		}
	})
	t.Run("unknown member", func(t *testing.T) {
		wantCode(t, "heartbeat", h.cg(cgBeat("g", "ghost", 2, nil)).ErrorCode, kerr.UnknownMemberID.Code)
	})
}

func TestConsumerLeaveAndTimeouts(t *testing.T) {
	t.Run("leave frees partitions", func(t *testing.T) {
		h := newHarness(t)
		h.consumerJoin("g", "a", "orders")
		h.consumerJoin("g", "b", "orders")
		resp := h.cg(cgBeat("g", "b", -1, nil))
		if resp.ErrorCode != 0 || resp.MemberEpoch != -1 {
			t.Fatalf("leave: %s epoch %d", codeName(resp.ErrorCode), resp.MemberEpoch)
		}
		ra := h.cg(cgBeat("g", "a", 1, topicPartitions{ordersID: {0, 1, 2, 3}}))
		if ra.MemberEpoch != 3 || len(assignmentOf(ra)) != 0 && !slices.Equal(assignmentOf(ra)[ordersID], []int32{0, 1, 2, 3}) {
			t.Fatalf("a after b left: epoch %d assignment %v", ra.MemberEpoch, assignmentOf(ra))
		}
		wantCode(t, "leave again", h.cg(cgBeat("g", "b", -1, nil)).ErrorCode, kerr.UnknownMemberID.Code)
	})
	t.Run("session timeout fences", func(t *testing.T) {
		h := newHarness(t)
		h.consumerJoin("g", "a", "orders")
		h.consumerJoin("g", "b", "orders")
		for range 5 {
			h.advance(10 * time.Second)
			h.cg(cgBeat("g", "a", h.group("g").cg.members["a"].epoch, topicPartitions{ordersID: h.group("g").cg.members["a"].assigned[ordersID]}))
		}
		if _, ok := h.group("g").cg.members["b"]; ok {
			t.Fatal("b survived its session timeout")
		}
		if _, ok := h.group("g").cg.members["a"]; !ok {
			t.Fatal("a was fenced although it heartbeated")
		}
	})
	t.Run("revocation timeout fences", func(t *testing.T) {
		h := newHarness(t)
		h.consumerJoin("g", "a", "orders")
		h.consumerJoin("g", "b", "orders")
		h.cg(cgBeat("g", "a", 1, topicPartitions{ordersID: {0, 1, 2, 3}})) // asked to revoke
		for range 4 {
			h.advance(10 * time.Second)
			h.cg(cgBeat("g", "a", 1, topicPartitions{ordersID: {0, 1, 2, 3}})) // never does
			h.cg(cgBeat("g", "b", 2, topicPartitions{}))
		}
		if _, ok := h.group("g").cg.members["a"]; ok {
			t.Fatal("a kept partitions past its rebalance timeout")
		}
		if b := h.group("g").cg.members["b"]; !slices.Equal(b.assigned[ordersID], []int32{0, 1, 2, 3}) || b.epoch != 3 {
			t.Fatalf("b: epoch %d assignment %v after a was fenced", b.epoch, b.assigned)
		}
	})
}

func TestConsumerStaticMember(t *testing.T) {
	h := newHarness(t)
	req := cgJoinReq("g", "a1", "orders")
	req.InstanceID = new("pod-0")
	h.cg(req)
	leave := cgBeat("g", "a1", -2, nil)
	leave.InstanceID = new("pod-0")
	wantCode(t, "static leave", h.cg(leave).ErrorCode, 0)

	other := cgJoinReq("g", "x", "orders")
	other.InstanceID = new("pod-0")
	// Rejoining under a new id takes over the partitions.
	resp := h.cg(other)
	wantCode(t, "rejoin", resp.ErrorCode, 0)
	if resp.MemberEpoch != 1 || !slices.Equal(assignmentOf(resp)[ordersID], []int32{0, 1, 2, 3}) {
		t.Fatalf("rejoin: epoch %d assignment %v", resp.MemberEpoch, assignmentOf(resp))
	}
	// The instance is now held: another id cannot take it.
	again := cgJoinReq("g", "y", "orders")
	again.InstanceID = new("pod-0")
	wantCode(t, "second claimant", h.cg(again).ErrorCode, kerr.UnreleasedInstanceID.Code)
	old := cgBeat("g", "a1", 1, nil)
	old.InstanceID = new("pod-0")
	wantCode(t, "old id", h.cg(old).ErrorCode, kerr.FencedInstanceID.Code)
}

func TestConsumerRangeAssignorAndRegex(t *testing.T) {
	h := newHarness(t)
	a := cgJoinReq("g", "a")
	a.SubscribedTopicNames = nil
	a.SubscribedTopicRegex = new("ord.*|events")
	a.ServerAssignor = new(assignorRange)
	ra := h.cg(a)
	wantCode(t, "join", ra.ErrorCode, 0)
	got := assignmentOf(ra)
	if len(got[ordersID]) != 4 || len(got[[16]byte{2}]) != 2 || len(got[[16]byte{3}]) != 0 {
		t.Fatalf("regex assignment %v, want orders and events only", got)
	}
	b := cgJoinReq("g", "b", "orders")
	b.ServerAssignor = new(assignorRange)
	h.cg(b)
	cg := h.group("g").cg
	if cg.assignor != assignorRange {
		t.Fatalf("assignor %q", cg.assignor)
	}
	if !slices.Equal(cg.target["a"][ordersID], []int32{0, 1}) || !slices.Equal(cg.target["b"][ordersID], []int32{2, 3}) {
		t.Fatalf("range targets a=%v b=%v", cg.target["a"], cg.target["b"])
	}
	if !slices.Equal(cg.target["a"][[16]byte{2}], []int32{0, 1}) {
		t.Fatalf("a should keep all of events: %v", cg.target["a"])
	}
}

func TestConsumerTopicGrowthBumpsEpoch(t *testing.T) {
	h := newHarness(t)
	h.consumerJoin("g", "a", "orders")
	h.topics["orders"] = topicInfo{name: "orders", id: ordersID, partitions: 6}
	resp := h.cg(cgBeat("g", "a", 1, topicPartitions{ordersID: {0, 1, 2, 3}}))
	if resp.MemberEpoch != 2 || len(assignmentOf(resp)[ordersID]) != 6 {
		t.Fatalf("after growth: epoch %d assignment %v", resp.MemberEpoch, assignmentOf(resp))
	}
}

func TestConsumerAndClassicGroupsDoNotMix(t *testing.T) {
	t.Run("heartbeat to a classic group with members, migration disabled", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.MigrationPolicy = "disabled" })
		h.stableGroup("g", 1)
		wantCode(t, "join", h.consumerJoin("g", "a", "orders").ErrorCode, kerr.GroupIDNotFound.Code)
	})
	t.Run("empty classic group upgrades keeping offsets", func(t *testing.T) {
		h := newHarness(t)
		h.commit(commitReq("g", "", -1, "orders", map[int32]int64{0: 42}))
		wantCode(t, "join", h.consumerJoin("g", "a", "orders").ErrorCode, 0)
		if got := h.fetch("g", 8, map[string][]int32{"orders": {0}}); got.Topics[0].Partitions[0].Offset != 42 {
			t.Fatal("offsets lost in the upgrade")
		}
	})
	t.Run("empty consumer group downgrades on JoinGroup", func(t *testing.T) {
		h := newHarness(t)
		h.consumerJoin("g", "a", "orders")
		h.cg(cgBeat("g", "a", -1, nil))
		w, _ := h.joinMember("g")
		_ = w
		h.completeInitialDelay()
		if h.group("g").cg != nil {
			t.Fatal("group is still a consumer group")
		}
	})
	t.Run("describe a classic group", func(t *testing.T) {
		h := newHarness(t)
		h.stableGroup("g", 1)
		wantCode(t, "describe", h.st.consumerGroupDescribe("g").ErrorCode, kerr.GroupIDNotFound.Code)
		wantCode(t, "describe missing", h.st.consumerGroupDescribe("x").ErrorCode, kerr.GroupIDNotFound.Code)
	})
	t.Run("classic calls to a consumer group", func(t *testing.T) {
		h := newHarness(t)
		h.consumerJoin("g", "a", "orders")
		wantCode(t, "heartbeat", h.heartbeat("g", "a", 1), kerr.UnknownMemberID.Code)
		_, s := h.sync(syncReq("g", "a", 1, nil))
		wantCode(t, "sync", s.ErrorCode, kerr.UnknownMemberID.Code)
	})
}

func TestConsumerOffsetsChecks(t *testing.T) {
	h := newHarness(t)
	h.consumerJoin("g", "a", "orders")
	commit := func(member string, epoch int32, version int16) int16 {
		req := commitReq("g", member, epoch, "orders", map[int32]int64{0: 7})
		req.Version = version
		return h.commit(req).Topics[0].Partitions[0].ErrorCode
	}
	wantCode(t, "member at its epoch", commit("a", 1, 9), 0)
	wantCode(t, "stale epoch", commit("a", 0, 9), kerr.StaleMemberEpoch.Code)
	wantCode(t, "unknown member", commit("zz", 1, 9), kerr.UnknownMemberID.Code)
	wantCode(t, "old OffsetCommit version", commit("a", 1, 8), kerr.UnsupportedVersion.Code)
	wantCode(t, "admin commit to a group with members", commit("", -1, 9), kerr.UnknownMemberID.Code)

	fetch := func(member *string, epoch int32) int16 {
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group, rg.MemberID, rg.MemberEpoch = "g", member, epoch
		return h.st.offsetFetch(&rg, 9, false).ErrorCode
	}
	wantCode(t, "admin fetch", fetch(nil, -1), 0)
	wantCode(t, "member fetch", fetch(new("a"), 1), 0)
	wantCode(t, "stale fetch", fetch(new("a"), 3), kerr.StaleMemberEpoch.Code)
	wantCode(t, "unknown member fetch", fetch(new("zz"), 1), kerr.UnknownMemberID.Code)

	// OffsetDelete refuses subscribed topics.
	var fx effects
	del := kmsg.NewPtrOffsetDeleteRequest()
	del.Group = "g"
	del.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "orders", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}}}
	wantCode(t, "delete subscribed", h.st.offsetDelete(del, &fx).Topics[0].Partitions[0].ErrorCode, kerr.GroupSubscribedToTopic.Code)
}

func TestConsumerHeartbeatV0NamesTheMember(t *testing.T) {
	h := newHarness(t)
	req := cgJoinReq("g", "", "orders")
	req.Version = 0
	resp := h.cg(req)
	wantCode(t, "v0 join", resp.ErrorCode, 0)
	if resp.MemberID == nil || *resp.MemberID == "" {
		t.Fatal("v0 join without a member id got none back")
	}
	wantCode(t, "v0 heartbeat without member id", h.cg(func() *kmsg.ConsumerGroupHeartbeatRequest {
		r := cgBeat("g", "", 1, nil)
		r.Version = 0
		return r
	}()).ErrorCode, kerr.InvalidRequest.Code)
}
