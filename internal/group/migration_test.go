package group

import (
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// classicJoinReq is a JoinGroup of a classic consumer subscribed to orders
// that says it owns owned (a cooperative member; nil for an eager one).
func classicJoinReq(group, member, protocol string, owned []int32) *kmsg.JoinGroupRequest {
	req := joinReq(group, member, protocol)
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Version = 1
	meta.Topics = []string{"orders"}
	if owned != nil {
		meta.OwnedPartitions = []kmsg.ConsumerMemberMetadataOwnedPartition{{Topic: "orders", Partitions: owned}}
	}
	req.Protocols[0].Metadata = meta.AppendTo(nil)
	return req
}

// ordersAssignment is a classic assignment of orders partitions.
func ordersAssignment(partitions ...int32) []byte {
	a := kmsg.NewConsumerMemberAssignment()
	a.Topics = []kmsg.ConsumerMemberAssignmentTopic{{Topic: "orders", Partitions: partitions}}
	return a.AppendTo(nil)
}

// assignedOrders decodes a SyncGroup answer's orders partitions.
func assignedOrders(t *testing.T, resp *kmsg.SyncGroupResponse) []int32 {
	t.Helper()
	if resp.ErrorCode != 0 {
		t.Fatalf("sync: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	var a kmsg.ConsumerMemberAssignment
	if err := a.ReadFrom(resp.MemberAssignment); err != nil {
		t.Fatalf("assignment does not parse: %v", err)
	}
	var out []int32
	for _, topic := range a.Topics {
		if topic.Topic == "orders" {
			out = append(out, topic.Partitions...)
		}
	}
	slices.Sort(out)
	return out
}

// classicOwner makes group a stable classic group of one member owning
// every orders partition, and returns the member id.
func (h *harness) classicOwner(group, protocol string) string {
	h.t.Helper()
	_, first := h.join(classicJoinReq(group, "", protocol, nil))
	id := first.MemberID
	w, _ := h.join(classicJoinReq(group, id, protocol, nil))
	h.completeInitialDelay()
	if got := h.joined(w); got.ErrorCode != 0 || got.LeaderID != id {
		h.t.Fatalf("classic join: %+v", got)
	}
	req := syncReq(group, id, 1, nil)
	req.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: id, MemberAssignment: ordersAssignment(0, 1, 2, 3)}}
	if _, resp := h.sync(req); resp != nil {
		h.t.Fatalf("leader sync answered at once: %+v", resp)
	}
	return id
}

func TestOnlineUpgradeAndDowngrade(t *testing.T) {
	for _, tc := range []struct {
		name        string
		protocol    string
		cooperative bool
	}{
		{"eager", "range", false},
		{"cooperative", "cooperative-sticky", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			c1 := h.classicOwner("g", tc.protocol)

			// A consumer-protocol member joins: the group upgrades, c1 keeps
			// its partitions at generation 1 and the newcomer waits for them.
			resp := h.consumerJoin("g", "a", "orders")
			wantCode(t, "upgrade join", resp.ErrorCode, 0)
			cg := h.group("g").cg
			if cg == nil {
				t.Fatal("group did not upgrade")
			}
			if m := cg.members[c1]; m == nil || m.classic == nil || m.epoch != 1 || !slices.Equal(m.assigned[ordersID], []int32{0, 1, 2, 3}) {
				t.Fatalf("classic member after upgrade: %+v", m)
			}
			if resp.MemberEpoch != 2 || len(assignmentOf(resp)[ordersID]) != 0 {
				t.Fatalf("newcomer: epoch %d assignment %v", resp.MemberEpoch, assignmentOf(resp))
			}
			if got := h.st.consumerGroupDescribe("g"); got.Members[0].MemberType+got.Members[1].MemberType != 1 {
				t.Fatalf("member types %d and %d, want one classic (0) and one consumer (1)", got.Members[0].MemberType, got.Members[1].MemberType)
			}

			// c1 is told to rejoin, and gives up half its partitions.
			wantCode(t, "classic heartbeat", h.heartbeat("g", c1, 1), kerr.RebalanceInProgress.Code)
			var owned []int32
			if tc.cooperative {
				owned = []int32{0, 1, 2, 3}
			}
			_, joined := h.join(classicJoinReq("g", c1, tc.protocol, owned))
			if joined == nil || joined.ErrorCode != 0 || joined.Protocol == nil || *joined.Protocol != tc.protocol {
				t.Fatalf("classic rejoin: %+v", joined)
			}
			generation := joined.Generation
			_, synced := h.sync(syncReq("g", c1, generation, nil))
			kept := assignedOrders(t, synced)
			if len(kept) != 2 {
				t.Fatalf("classic member keeps %v, want 2 partitions", kept)
			}
			if tc.cooperative {
				// It still owned what it must give up: same generation; it
				// revokes and rejoins owning only what it kept.
				if generation != 1 {
					t.Fatalf("cooperative rejoin generation %d, want 1 until revoked", generation)
				}
				wantCode(t, "heartbeat while revoking", h.heartbeat("g", c1, 1), kerr.RebalanceInProgress.Code)
				_, joined = h.join(classicJoinReq("g", c1, tc.protocol, kept))
				generation = joined.Generation
				_, synced = h.sync(syncReq("g", c1, generation, nil))
				if got := assignedOrders(t, synced); !slices.Equal(got, kept) {
					t.Fatalf("after revoking: %v, want %v", got, kept)
				}
			}
			if generation != 2 {
				t.Fatalf("classic member generation %d, want 2", generation)
			}
			wantCode(t, "stable classic heartbeat", h.heartbeat("g", c1, 2), 0)
			commit := commitReq("g", c1, 2, "orders", map[int32]int64{kept[0]: 5})
			wantCode(t, "classic commit", h.commit(commit).Topics[0].Partitions[0].ErrorCode, 0)
			commit = commitReq("g", c1, 1, "orders", map[int32]int64{kept[0]: 5})
			wantCode(t, "stale classic commit", h.commit(commit).Topics[0].Partitions[0].ErrorCode, kerr.IllegalGeneration.Code)

			// The newcomer now gets the released half.
			got := assignmentOf(h.cg(cgBeat("g", "a", 2, topicPartitions{})))[ordersID]
			if len(got) != 2 || slices.ContainsFunc(got, func(p int32) bool { return slices.Contains(kept, p) }) {
				t.Fatalf("newcomer got %v, classic member has %v", got, kept)
			}

			// The consumer-protocol member leaves: the group turns classic
			// and rebalances; c1 rejoins and leads.
			wantCode(t, "leave", h.cg(cgBeat("g", "a", -1, nil)).ErrorCode, 0)
			g := h.group("g")
			if g.cg != nil || g.state != statePreparingRebalance || g.generation != 2 || g.members[c1] == nil {
				t.Fatalf("after downgrade: consumer group %v, state %v, generation %d", g.cg != nil, g.state, g.generation)
			}
			wantCode(t, "heartbeat after downgrade", h.heartbeat("g", c1, 2), kerr.RebalanceInProgress.Code)
			w, _ := h.join(classicJoinReq("g", c1, tc.protocol, kept))
			if got := h.joined(w); got.ErrorCode != 0 || got.Generation != 3 || got.LeaderID != c1 {
				t.Fatalf("rejoin after downgrade: %+v", got)
			}
		})
	}
}

func TestUpgradeAnswersParkedCalls(t *testing.T) {
	h := newHarness(t)
	c1 := h.classicOwner("g", "range")
	_, first := h.join(classicJoinReq("g", "", "range", nil))
	w, _ := h.join(classicJoinReq("g", first.MemberID, "range", nil)) // starts a rebalance, parks
	if !h.parked(w) {
		t.Fatal("a second member's join should park until c1 rejoins")
	}
	wantCode(t, "upgrade", h.consumerJoin("g", "a", "orders").ErrorCode, 0)
	wantCode(t, "parked join", h.joined(w).ErrorCode, kerr.RebalanceInProgress.Code)
	// c1 keeps consuming its last assignment until it rejoins, so it keeps
	// owning it; the member that never synced owns nothing, and the
	// newcomer waits for c1 to give partitions up.
	cg := h.group("g").cg
	if m := cg.members[c1]; !slices.Equal(m.assigned[ordersID], []int32{0, 1, 2, 3}) {
		t.Fatalf("classic member mid-rebalance owns %v", m.assigned)
	}
	if m := cg.members[first.MemberID]; len(m.assigned) != 0 {
		t.Fatalf("member that never synced owns %v", m.assigned)
	}
	if a := cg.members["a"]; len(a.assigned) != 0 {
		t.Fatalf("newcomer got %v while c1 still owns everything", a.assigned)
	}
}

func TestUpgradeTombstonesClassicMetadata(t *testing.T) {
	h := newHarness(t)
	h.classicOwner("g", "range")
	h.records = nil
	h.consumerJoin("g", "a", "orders")
	// The classic record goes first; the KIP-848 records follow.
	if len(h.records) == 0 || h.records[0].Value != nil || string(h.records[0].Key) != string(groupMetadataKey("g")) {
		t.Fatalf("records %+v, want the group metadata tombstone first", h.records)
	}
	for _, r := range h.records[1:] {
		if r.Value == nil || r.Key[1] < cgMetadataKeyVersion {
			t.Fatalf("record %+v after the tombstone, want KIP-848 records", r)
		}
	}
}

func TestNewClassicMemberJoinsConsumerGroup(t *testing.T) {
	h := newHarness(t)
	h.consumerJoin("g", "a", "orders")
	_, first := h.join(classicJoinReq("g", "", "range", nil))
	wantCode(t, "first join", first.ErrorCode, kerr.MemberIDRequired.Code)
	_, joined := h.join(classicJoinReq("g", first.MemberID, "range", nil))
	if joined == nil || joined.ErrorCode != 0 {
		t.Fatalf("join with the handed-out id: %+v", joined)
	}
	m := h.group("g").cg.members[first.MemberID]
	if m == nil || m.classic == nil {
		t.Fatal("classic member not in the consumer group")
	}
	// a holds every partition, so the newcomer waits; a revokes half.
	h.cg(cgBeat("g", "a", 1, topicPartitions{ordersID: {0, 1, 2, 3}}))
	h.cg(cgBeat("g", "a", 1, topicPartitions{ordersID: {0, 1}}))
	_, synced := h.sync(syncReq("g", m.id, joined.Generation, nil))
	if got := assignedOrders(t, synced); len(got) != 0 {
		t.Fatalf("sync before the rejoin: %v", got)
	}
	wantCode(t, "heartbeat", h.heartbeat("g", m.id, joined.Generation), kerr.RebalanceInProgress.Code)
	_, joined = h.join(classicJoinReq("g", m.id, "range", nil))
	_, synced = h.sync(syncReq("g", m.id, joined.Generation, nil))
	if got := assignedOrders(t, synced); len(got) != 2 {
		t.Fatalf("after a revoked: %v", got)
	}
	// A classic member that stops heartbeating is removed; the group keeps
	// its consumer-protocol member and stays a consumer group.
	for range 3 {
		h.advance(5 * time.Second)
		h.cg(cgBeat("g", "a", h.group("g").cg.members["a"].epoch, nil))
	}
	if cg := h.group("g").cg; cg == nil || cg.members[m.id] != nil {
		t.Fatal("silent classic member not removed")
	}
}

func TestClassicLeaveFromConsumerGroup(t *testing.T) {
	h := newHarness(t)
	c1 := h.classicOwner("g", "range")
	h.consumerJoin("g", "a", "orders")
	resp := h.leave("g", 3, kmsg.LeaveGroupRequestMember{MemberID: c1})
	wantCode(t, "leave", resp.Members[0].ErrorCode, 0)
	cg := h.group("g").cg
	if cg == nil || cg.members[c1] != nil {
		t.Fatal("classic member still in the group")
	}
	wantCode(t, "consumer member via LeaveGroup", h.leave("g", 3, kmsg.LeaveGroupRequestMember{MemberID: "a"}).Members[0].ErrorCode,
		kerr.UnknownMemberID.Code)
}

func TestMigrationPolicy(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MigrationPolicy = "upgrade" })
	h.classicOwner("g", "range")
	wantCode(t, "upgrade", h.consumerJoin("g", "a", "orders").ErrorCode, 0)
	h.cg(cgBeat("g", "a", -1, nil))
	if h.group("g").cg == nil {
		t.Fatal("downgraded although the policy allows only upgrades")
	}

	h = newHarness(t, func(c *Config) { c.MigrationPolicy = "disabled" })
	h.consumerJoin("g", "a", "orders")
	_, resp := h.join(classicJoinReq("g", "", "range", nil))
	wantCode(t, "classic join, migration disabled", resp.ErrorCode, kerr.InconsistentGroupProtocol.Code)

	h = newHarness(t, func(c *Config) { c.MigrationPolicy = "downgrade" })
	h.classicOwner("g", "range")
	wantCode(t, "upgrade refused", h.consumerJoin("g", "a", "orders").ErrorCode, kerr.GroupIDNotFound.Code)
}

func TestStaticMembersAcrossProtocols(t *testing.T) {
	t.Run("consumer member takes a classic static member's instance", func(t *testing.T) {
		h := newHarness(t)
		h.consumerJoin("g", "a", "orders")
		join := classicJoinReq("g", "", "range", nil)
		join.InstanceID = new("pod")
		_, joined := h.join(join)
		wantCode(t, "classic static join", joined.ErrorCode, 0)
		req := cgJoinReq("g", "b", "orders")
		req.InstanceID = new("pod")
		wantCode(t, "consumer static join", h.cg(req).ErrorCode, 0)
		cg := h.group("g").cg
		if b := cg.members["b"]; b == nil || b.classic != nil || cg.static["pod"] != "b" || cg.members[joined.MemberID] != nil {
			t.Fatalf("instance pod after the takeover: %v, member b %+v", cg.static, b)
		}
	})
	t.Run("instance id changed on rejoin", func(t *testing.T) {
		h := newHarness(t)
		h.consumerJoin("g", "keep", "orders")
		req := cgJoinReq("g", "x", "orders")
		req.InstanceID = new("i1")
		h.cg(req)
		req = cgJoinReq("g", "x", "orders")
		req.InstanceID = new("i2")
		h.cg(req)
		cg := h.group("g").cg
		if _, stale := cg.static["i1"]; stale || cg.static["i2"] != "x" {
			t.Fatalf("static ids %v, want only i2 -> x", cg.static)
		}
		h.cg(func() *kmsg.ConsumerGroupHeartbeatRequest {
			r := cgBeat("g", "x", -1, nil)
			r.InstanceID = new("i2")
			return r
		}())
		join := classicJoinReq("g", "", "range", nil)
		join.InstanceID = new("i1")
		if _, resp := h.join(join); resp == nil || resp.ErrorCode != 0 {
			t.Fatalf("classic join with the old instance id: %+v", resp)
		}
	})
	t.Run("consumer heartbeat from a classic member", func(t *testing.T) {
		h := newHarness(t)
		c1 := h.classicOwner("g", "range")
		h.consumerJoin("g", "a", "orders")
		wantCode(t, "heartbeat", h.cg(cgBeat("g", c1, 1, nil)).ErrorCode, kerr.UnknownMemberID.Code)
		wantCode(t, "rejoin", h.cg(cgJoinReq("g", c1, "orders")).ErrorCode, 0)
		if m := h.group("g").cg.members[c1]; m.classic != nil {
			t.Fatal("member still classic after joining with the consumer protocol")
		}
	})
	t.Run("administrative removal by instance id", func(t *testing.T) {
		h := newHarness(t)
		h.classicOwner("g", "range")
		req := cgJoinReq("g", "b", "orders")
		req.InstanceID = new("pod")
		h.cg(req)
		instance := "pod"
		resp := h.leave("g", 3, kmsg.LeaveGroupRequestMember{InstanceID: &instance})
		wantCode(t, "leave", resp.Members[0].ErrorCode, 0)
		if h.group("g").cg != nil {
			t.Fatal("removing the last consumer-protocol member should downgrade the group")
		}
	})
}
