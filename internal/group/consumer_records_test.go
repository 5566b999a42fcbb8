package group

import (
	"encoding/hex"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

// replayAll replays every record the harness wrote into a fresh shard, as a
// restarted coordinator loads its partition.
func (h *harness) replayAll() *shardState {
	h.t.Helper()
	st := newShardState(&h.cfg, func() string { return "restarted" })
	for _, r := range h.records {
		if err := st.replay(r.Key, r.Value); err != nil {
			h.t.Fatal(err)
		}
	}
	st.finishLoad(h.now)
	return st
}

// TestConsumerRecordLayout pins the bytes of each KIP-848 record to Kafka's
// schemas (ConsumerGroup*Key and *Value).
func TestConsumerRecordLayout(t *testing.T) {
	m := newConsumerMember("m")
	m.clientID, m.clientHost, m.topics, m.rebalanceTimeout = "c", "/h", []string{"t"}, millis(1000)
	m.epoch, m.previousEpoch, m.state = 3, 2, memberUnrevokedPartitions
	m.assigned = topicPartitions{{1}: {0}}
	for _, tc := range []struct{ name, got, want string }{
		{"group key", hex.EncodeToString(cgGroupKey(cgMetadataKeyVersion, "g")), "0003" + "000167"},
		{"member key", hex.EncodeToString(cgMemberKey(cgCurrentAssignmentKeyVersion, "g", "m")), "0008" + "000167" + "00016d"},
		{"epoch value", hex.EncodeToString(epochValue(7)), "0000" + "00000007" + "00"},
		{"group epoch value", hex.EncodeToString(groupEpochValue(7, ""))[:18], "0000" + "00000007" + "01" + "00" + "08"},
		{"classic member metadata", hex.EncodeToString(memberMetadataValue(func() *consumerMember {
			c := *m
			c.classic = &classicMembership{sessionTimeout: millis(45000), protocols: []protocol{{name: "range", metadata: []byte{9}}}}
			return &c
		}()))[36:], "01" + "00" + "10" + "01" + "0000afc8" + "02" + "0672616e6765" + "0209" + "00" + "00"},
		{"member metadata", hex.EncodeToString(memberMetadataValue(m)),
			"0000" + "00" + "00" + "0263" + "032f68" + "02" + "0274" + "00" + "000003e8" + "00" + "00"},
		{"current assignment", hex.EncodeToString(currentAssignmentValue(m)),
			"0000" + "00000003" + "00000002" + "01" +
				"02" + "01000000000000000000000000000000" + "02" + "00000000" + "00" + // assigned
				"01" + // nothing pending
				"00"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, tc.got, tc.want)
		}
	}
}

// TestReplayRebuildsConsumerGroups restarts a coordinator mid-reconciliation
// of a mixed group: every member, epoch, target and partition comes back,
// and members carry on at the epochs they had.
func TestReplayRebuildsConsumerGroups(t *testing.T) {
	h := newHarness(t)
	c1 := h.classicOwner("g", "cooperative-sticky")
	h.consumerJoin("g", "a", "orders")
	static := cgJoinReq("g", "s", "orders", "events")
	static.InstanceID = new("pod-1")
	h.cg(static)
	h.consumerJoin("other", "x", "metrics")
	h.consumerJoin("left", "y", "metrics")
	h.cg(cgBeat("left", "y", -1, nil))

	restarted := h.replayAll()
	if got, want := summarize(restarted), summarize(h.st); got != want {
		t.Fatalf("replayed state differs:\n got: %s\nwant: %s", got, want)
	}
	if g := restarted.groups["left"]; g == nil || g.cg == nil || len(g.cg.members) != 0 {
		t.Fatal("the emptied group should come back empty")
	}

	// The members carry on where they were: a heartbeats at its epoch, the
	// classic member is told to rejoin, and its rejoin reconciles it.
	h.st = restarted
	a := h.st.groups["g"].cg.members["a"]
	resp := h.cg(cgBeat("g", "a", a.epoch, topicPartitions{}))
	wantCode(t, "heartbeat after restart", resp.ErrorCode, 0)
	wantCode(t, "classic heartbeat after restart", h.heartbeat("g", c1, 1), kerr.RebalanceInProgress.Code)
	_, joined := h.join(classicJoinReq("g", c1, "cooperative-sticky", []int32{0, 1, 2, 3}))
	if joined == nil || joined.ErrorCode != 0 {
		t.Fatalf("classic rejoin after restart: %+v", joined)
	}
	if got := h.st.groups["g"].cg.members[c1]; got.state != memberUnrevokedPartitions {
		t.Fatalf("classic member state %d, want revoking", got.state)
	}

	// What follows persists too: a second restart gives the same state.
	if got, want := summarize(h.replayAll()), summarize(h.st); got != want {
		t.Fatalf("second replay differs:\n got: %s\nwant: %s", got, want)
	}
}

// TestConsumerRecordsTombstoned checks members that leave and groups that
// turn classic or are deleted leave no KIP-848 records behind.
func TestConsumerRecordsTombstoned(t *testing.T) {
	h := newHarness(t)
	c1 := h.classicOwner("g", "range")
	h.consumerJoin("g", "a", "orders")
	h.cg(cgBeat("g", "a", -1, nil)) // the group turns classic
	restarted := h.replayAll()
	if g := restarted.groups["g"]; g.cg != nil || g.cgLog != nil {
		t.Fatalf("downgraded group came back with KIP-848 state %+v / %+v", g.cg, g.cgLog)
	}
	_ = c1

	h.consumerJoin("del", "b", "orders")
	h.cg(cgBeat("del", "b", -1, nil))
	var fx effects
	wantCode(t, "delete", h.st.deleteGroup("del", &fx), 0)
	h.collect(fx)
	if _, ok := h.replayAll().groups["del"]; ok {
		t.Fatal("deleted KIP-848 group came back")
	}
	live := map[string]bool{}
	for _, r := range h.records {
		if r.Key[1] >= cgMetadataKeyVersion {
			live[string(r.Key)] = r.Value != nil
		}
	}
	for k, alive := range live {
		if alive {
			t.Errorf("record %x is still live", k)
		}
	}
}

// TestConsumerHeartbeatWritesOnlyChanges checks a steady heartbeat writes
// nothing: the records change only with the member's state.
func TestConsumerHeartbeatWritesOnlyChanges(t *testing.T) {
	h := newHarness(t)
	h.consumerJoin("g", "a", "orders")
	h.cg(cgBeat("g", "a", 1, topicPartitions{ordersID: {0, 1, 2, 3}}))
	h.records = nil
	for range 3 {
		h.cg(cgBeat("g", "a", 1, topicPartitions{ordersID: {0, 1, 2, 3}}))
	}
	if len(h.records) != 0 {
		t.Fatalf("steady heartbeats wrote %d records", len(h.records))
	}
	req := cgBeat("g", "a", 1, nil)
	req.SubscribedTopicNames = []string{"orders", "events"}
	h.cg(req)
	if len(h.records) == 0 {
		t.Fatal("a subscription change wrote nothing")
	}
}

// TestTopicChangeWhileUnloaded: a topic that grew while the coordinator was
// down makes the first heartbeat after the restart assign the new
// partitions (the target's metadata hash is persisted).
func TestTopicChangeWhileUnloaded(t *testing.T) {
	h := newHarness(t)
	h.consumerJoin("g", "a", "orders")
	h.cg(cgBeat("g", "a", 1, topicPartitions{ordersID: {0, 1, 2, 3}}))
	h.topics["orders"] = topicInfo{name: "orders", id: ordersID, partitions: 6}
	h.st = h.replayAll()
	resp := h.cg(cgBeat("g", "a", 1, topicPartitions{ordersID: {0, 1, 2, 3}}))
	if resp.MemberEpoch != 2 || len(assignmentOf(resp)[ordersID]) != 6 {
		t.Fatalf("after the restart: epoch %d assignment %v, want epoch 2 with 6 partitions", resp.MemberEpoch, assignmentOf(resp))
	}
	// Unchanged topics keep the epoch across a restart.
	h.st = h.replayAll()
	if resp := h.cg(cgBeat("g", "a", 2, topicPartitions{ordersID: {0, 1, 2, 3, 4, 5}})); resp.MemberEpoch != 2 {
		t.Fatalf("epoch %d after a restart with nothing changed, want 2", resp.MemberEpoch)
	}
}
