package group

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// harness drives a shardState directly: a fake clock, deterministic member
// ids, and a record of every effect, so tests can assert on exact answers.
type harness struct {
	t       *testing.T
	cfg     Config
	now     time.Time
	st      *shardState
	waiter  waiterID
	ids     int
	replies map[waiterID]kmsg.Response
	records []KV
	topics  map[string]topicInfo
}

var epoch0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func newHarness(t *testing.T, mod ...func(*Config)) *harness {
	t.Helper()
	h := &harness{
		t:       t,
		now:     epoch0,
		replies: make(map[waiterID]kmsg.Response),
		topics: map[string]topicInfo{
			"orders":  {name: "orders", id: [16]byte{1}, partitions: 4},
			"events":  {name: "events", id: [16]byte{2}, partitions: 2},
			"metrics": {name: "metrics", id: [16]byte{3}, partitions: 3},
		},
	}
	cfg := Config{
		// Members joining within the first second share the first
		// generation; completeInitialDelay ends that window.
		InitialRebalanceDelay: time.Second,
		MinSessionTimeout:     time.Second,
		MaxSessionTimeout:     time.Minute,
		Topics: func(name string) ([16]byte, int32, bool) {
			ti, ok := h.topics[name]
			return ti.id, ti.partitions, ok
		},
		TopicByID: func(id [16]byte) (string, bool) {
			for _, ti := range h.topics {
				if ti.id == id {
					return ti.name, true
				}
			}
			return "", false
		},
		ListTopics: func() []string {
			var out []string
			for name := range h.topics {
				out = append(out, name)
			}
			return out
		},
	}
	for _, m := range mod {
		m(&cfg)
	}
	h.cfg = cfg.withDefaults()
	h.st = newShardState(&h.cfg, func() string { h.ids++; return fmt.Sprintf("id%d", h.ids) })
	h.st.finishLoad(h.now)
	return h
}

func (h *harness) collect(fx effects) {
	h.records = append(h.records, fx.records...)
	for _, r := range fx.replies {
		if _, dup := h.replies[r.waiter]; dup {
			h.t.Fatalf("waiter %d answered twice", r.waiter)
		}
		h.replies[r.waiter] = r.resp
	}
}

// advance moves the clock and fires due timers.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	h.now = h.now.Add(d)
	var fx effects
	h.st.tick(h.now, &fx)
	h.collect(fx)
}

// completeInitialDelay lets the initial rebalance delay run out; every window
// in which a member joined extends it by another one.
func (h *harness) completeInitialDelay() {
	h.t.Helper()
	for range 40 {
		h.advance(h.cfg.InitialRebalanceDelay)
		delaying := false
		for _, g := range h.st.groups {
			delaying = delaying || (g.cg == nil && g.inInitialDelay)
		}
		if !delaying {
			return
		}
	}
	h.t.Fatal("initial rebalance delay never ended")
}

func (h *harness) takeRecords() []KV {
	r := h.records
	h.records = nil
	return r
}

// join sends a JoinGroup; it returns the waiter and the immediate answer
// (nil if parked).
func (h *harness) join(req *kmsg.JoinGroupRequest) (waiterID, *kmsg.JoinGroupResponse) {
	h.t.Helper()
	h.waiter++
	w := h.waiter
	var fx effects
	resp := h.st.joinGroup(h.now, req, ClientInfo{ClientID: "client", ClientHost: "/127.0.0.1"}, w, &fx)
	h.collect(fx)
	return w, resp
}

// joined returns the answer a parked join got, failing if it has none.
func (h *harness) joined(w waiterID) *kmsg.JoinGroupResponse {
	h.t.Helper()
	r, ok := h.replies[w]
	if !ok {
		h.t.Fatalf("join %d has no answer yet", w)
	}
	return r.(*kmsg.JoinGroupResponse)
}

func (h *harness) parked(w waiterID) bool {
	_, ok := h.replies[w]
	return !ok
}

// joinMember runs the full v4+ dance (MEMBER_ID_REQUIRED, rejoin) and returns
// the waiter of the parked second join and the member id.
func (h *harness) joinMember(group string, protocols ...string) (waiterID, string) {
	h.t.Helper()
	_, first := h.join(joinReq(group, "", protocols...))
	if first == nil || first.ErrorCode != kerr.MemberIDRequired.Code {
		h.t.Fatalf("first join: got %+v, want MEMBER_ID_REQUIRED", first)
	}
	w, resp := h.join(joinReq(group, first.MemberID, protocols...))
	if resp != nil {
		h.t.Fatalf("second join answered at once: %+v", resp)
	}
	return w, first.MemberID
}

func (h *harness) sync(req *kmsg.SyncGroupRequest) (waiterID, *kmsg.SyncGroupResponse) {
	h.t.Helper()
	h.waiter++
	w := h.waiter
	var fx effects
	resp := h.st.syncGroup(h.now, req, w, &fx)
	h.collect(fx)
	return w, resp
}

func (h *harness) synced(w waiterID) *kmsg.SyncGroupResponse {
	h.t.Helper()
	r, ok := h.replies[w]
	if !ok {
		h.t.Fatalf("sync %d has no answer yet", w)
	}
	return r.(*kmsg.SyncGroupResponse)
}

func (h *harness) heartbeat(group, member string, generation int32) int16 {
	req := kmsg.NewPtrHeartbeatRequest()
	req.Version = 4
	req.Group, req.MemberID, req.Generation = group, member, generation
	return h.st.heartbeat(h.now, req).ErrorCode
}

func (h *harness) leave(group string, version int16, members ...kmsg.LeaveGroupRequestMember) *kmsg.LeaveGroupResponse {
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Version, req.Group = version, group
	if version < 3 {
		req.MemberID = members[0].MemberID
	} else {
		req.Members = members
	}
	var fx effects
	resp := h.st.leaveGroup(h.now, req, &fx)
	h.collect(fx)
	return resp
}

func (h *harness) commit(req *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse {
	var fx effects
	resp := h.st.offsetCommit(h.now, req, &fx)
	h.collect(fx)
	return resp
}

func (h *harness) fetch(group string, version int16, topics map[string][]int32) kmsg.OffsetFetchResponseGroup {
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = group
	if topics != nil {
		rg.Topics = []kmsg.OffsetFetchRequestGroupTopic{}
		for _, name := range sortedKeys(topics) {
			t := kmsg.NewOffsetFetchRequestGroupTopic()
			t.Topic, t.Partitions = name, topics[name]
			rg.Topics = append(rg.Topics, t)
		}
	}
	return h.st.offsetFetch(&rg, version, false)
}

func (h *harness) group(id string) *group {
	h.t.Helper()
	g := h.st.groups[id]
	if g == nil {
		h.t.Fatalf("group %q does not exist", id)
	}
	return g
}

// joinReq is a v5 JoinGroup of the consumer protocol type; each protocol's
// metadata subscribes to "orders".
func joinReq(group, member string, protocols ...string) *kmsg.JoinGroupRequest {
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = 5
	req.Group = group
	req.MemberID = member
	req.SessionTimeoutMillis = 10_000
	req.RebalanceTimeoutMillis = 30_000
	req.ProtocolType = consumerProtocolType
	if len(protocols) == 0 {
		protocols = []string{"range"}
	}
	for _, p := range protocols {
		jp := kmsg.NewJoinGroupRequestProtocol()
		jp.Name = p
		jp.Metadata = subscriptionBytes("orders")
		req.Protocols = append(req.Protocols, jp)
	}
	return req
}

func subscriptionBytes(topics ...string) []byte {
	m := kmsg.NewConsumerMemberMetadata()
	m.Topics = topics
	return m.AppendTo(nil)
}

func syncReq(group, member string, generation int32, assignments map[string]string) *kmsg.SyncGroupRequest {
	req := kmsg.NewPtrSyncGroupRequest()
	req.Version = 3
	req.Group, req.MemberID, req.Generation = group, member, generation
	for _, id := range sortedKeys(assignments) {
		a := kmsg.NewSyncGroupRequestGroupAssignment()
		a.MemberID, a.MemberAssignment = id, []byte(assignments[id])
		req.GroupAssignment = append(req.GroupAssignment, a)
	}
	return req
}

func commitReq(group, member string, generation int32, topic string, offsets map[int32]int64) *kmsg.OffsetCommitRequest {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 8
	req.Group, req.MemberID, req.Generation = group, member, generation
	t := kmsg.NewOffsetCommitRequestTopic()
	t.Topic = topic
	for _, p := range sortedKeys(offsets) {
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset = p, offsets[p]
		rp.Metadata = new(fmt.Sprintf("meta-%d", p))
		t.Partitions = append(t.Partitions, rp)
	}
	req.Topics = append(req.Topics, t)
	return req
}

// stableGroup brings a group with the given members (one protocol) to
// Stable at generation 1 and returns the member ids, leader first.
func (h *harness) stableGroup(group string, n int) []string {
	h.t.Helper()
	var ws []waiterID
	var ids []string
	for range n {
		_, first := h.join(joinReq(group, ""))
		ids = append(ids, first.MemberID)
	}
	for _, id := range ids {
		w, _ := h.join(joinReq(group, id))
		ws = append(ws, w)
	}
	h.completeInitialDelay()
	leader := h.joined(ws[0])
	if leader.ErrorCode != 0 {
		h.t.Fatalf("join failed: %v", kerr.ErrorForCode(leader.ErrorCode))
	}
	assign := make(map[string]string)
	for _, id := range ids {
		assign[id] = "assignment-of-" + id
	}
	// Followers sync first and wait; the leader's sync releases them.
	order := append([]string{}, ids...)
	slices.SortStableFunc(order, func(a, b string) int {
		return cmp.Compare(boolInt(a == leader.LeaderID), boolInt(b == leader.LeaderID))
	})
	var syncs []waiterID
	for _, id := range order {
		req := syncReq(group, id, leader.Generation, nil)
		if id == leader.LeaderID {
			req = syncReq(group, id, leader.Generation, assign)
		}
		w, resp := h.sync(req)
		if resp != nil {
			h.t.Fatalf("sync of %s answered at once: %+v", id, resp)
		}
		syncs = append(syncs, w)
	}
	for _, w := range syncs {
		if r := h.synced(w); r.ErrorCode != 0 {
			h.t.Fatalf("sync failed: %v", kerr.ErrorForCode(r.ErrorCode))
		}
	}
	if g := h.group(group); g.state != stateStable {
		h.t.Fatalf("group is %v, want Stable", g.state)
	}
	return ids
}

func codeName(code int16) string {
	if code == 0 {
		return "NONE"
	}
	return kerr.ErrorForCode(code).Error()
}

func wantCode(t *testing.T, what string, got, want int16) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %s, want %s", what, codeName(got), codeName(want))
	}
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K { return slices.Sorted(maps.Keys(m)) }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
