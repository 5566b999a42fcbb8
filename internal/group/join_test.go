package group

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestJoinErrors covers the JoinGroup answers that come back at once.
func TestJoinErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness)
		req   func() *kmsg.JoinGroupRequest
		want  int16
		// wantMember is the member id the error answer must carry.
		wantMember string
	}{
		{
			name: "empty group id",
			req:  func() *kmsg.JoinGroupRequest { return joinReq("", "") },
			want: kerr.InvalidGroupID.Code,
		},
		{
			name: "session timeout below minimum",
			req: func() *kmsg.JoinGroupRequest {
				r := joinReq("g", "")
				r.SessionTimeoutMillis = 500
				return r
			},
			want: kerr.InvalidSessionTimeout.Code,
		},
		{
			name: "session timeout above maximum",
			req: func() *kmsg.JoinGroupRequest {
				r := joinReq("g", "")
				r.SessionTimeoutMillis = 120_000
				return r
			},
			want: kerr.InvalidSessionTimeout.Code,
		},
		{
			name:       "member id for a group that does not exist",
			req:        func() *kmsg.JoinGroupRequest { return joinReq("g", "ghost") },
			want:       kerr.UnknownMemberID.Code,
			wantMember: "ghost",
		},
		{
			name: "first member without protocol type",
			req: func() *kmsg.JoinGroupRequest {
				r := joinReq("g", "")
				r.ProtocolType = ""
				return r
			},
			want: kerr.InconsistentGroupProtocol.Code,
		},
		{
			name: "first member without protocols",
			req: func() *kmsg.JoinGroupRequest {
				r := joinReq("g", "")
				r.Protocols = nil
				return r
			},
			want: kerr.InconsistentGroupProtocol.Code,
		},
		{
			name:  "protocol type differs from the group's",
			setup: func(h *harness) { h.stableGroup("g", 1) },
			req: func() *kmsg.JoinGroupRequest {
				r := joinReq("g", "")
				r.ProtocolType = "connect"
				return r
			},
			want: kerr.InconsistentGroupProtocol.Code,
		},
		{
			name:  "no protocol in common",
			setup: func(h *harness) { h.stableGroup("g", 1) },
			req:   func() *kmsg.JoinGroupRequest { return joinReq("g", "", "roundrobin") },
			want:  kerr.InconsistentGroupProtocol.Code,
		},
		{
			name:       "unknown member id in an existing group",
			setup:      func(h *harness) { h.stableGroup("g", 1) },
			req:        func() *kmsg.JoinGroupRequest { return joinReq("g", "ghost") },
			want:       kerr.UnknownMemberID.Code,
			wantMember: "ghost",
		},
		{
			name: "instance id fenced by another member id",
			setup: func(h *harness) {
				r := joinReq("g", "")
				r.InstanceID = new("instance-1")
				h.join(r)
				h.completeInitialDelay()
			},
			req: func() *kmsg.JoinGroupRequest {
				r := joinReq("g", "instance-1-id999")
				r.InstanceID = new("instance-1")
				return r
			},
			want:       kerr.FencedInstanceID.Code,
			wantMember: "instance-1-id999",
		},
		{
			name:  "group full",
			setup: func(h *harness) { h.stableGroup("g", 2) },
			req:   func() *kmsg.JoinGroupRequest { return joinReq("g", "") },
			want:  kerr.GroupMaxSizeReached.Code,
		},
		{
			name: "KIP-848 group with members, not a consumer",
			setup: func(h *harness) {
				h.consumerJoin("g", "m1", "orders")
			},
			req: func() *kmsg.JoinGroupRequest {
				req := joinReq("g", "")
				req.ProtocolType = "connect"
				return req
			},
			want: kerr.InconsistentGroupProtocol.Code,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.MaxGroupSize = 2 })
			if tc.setup != nil {
				tc.setup(h)
			}
			_, resp := h.join(tc.req())
			if resp == nil {
				t.Fatal("join parked, want an immediate error")
			}
			wantCode(t, "join", resp.ErrorCode, tc.want)
			if resp.MemberID != tc.wantMember {
				t.Errorf("member id %q, want %q", resp.MemberID, tc.wantMember)
			}
			if resp.Generation != -1 {
				t.Errorf("generation %d, want -1", resp.Generation)
			}
		})
	}
}

func TestJoinMemberIDRequiredAndFirstGeneration(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.InitialRebalanceDelay = 0 })
	_, first := h.join(joinReq("g", ""))
	wantCode(t, "first join", first.ErrorCode, kerr.MemberIDRequired.Code)
	if !strings.HasPrefix(first.MemberID, "client-") {
		t.Fatalf("member id %q does not start with the client id", first.MemberID)
	}
	if g := h.group("g"); len(g.members) != 0 || len(g.pending) != 1 {
		t.Fatalf("members %d pending %d, want 0 and 1", len(g.members), len(g.pending))
	}

	w, resp := h.join(joinReq("g", first.MemberID))
	if resp != nil {
		t.Fatalf("join answered at once: %+v", resp)
	}
	// A zero initial delay completes the join phase within the same step.
	got := h.joined(w)
	wantCode(t, "join", got.ErrorCode, 0)
	if got.Generation != 1 || got.LeaderID != first.MemberID || got.MemberID != first.MemberID {
		t.Fatalf("got generation %d leader %q member %q", got.Generation, got.LeaderID, got.MemberID)
	}
	if got.Protocol == nil || *got.Protocol != "range" || len(got.Members) != 1 {
		t.Fatalf("protocol %v members %d", got.Protocol, len(got.Members))
	}
	if g := h.group("g"); g.state != stateCompletingRebalance {
		t.Fatalf("state %v, want CompletingRebalance", g.state)
	}
	if len(h.takeRecords()) != 0 {
		t.Fatal("the join phase wrote records; only SyncGroup should")
	}

	sw, sresp := h.sync(syncReq("g", first.MemberID, 1, map[string]string{first.MemberID: "a"}))
	if sresp != nil {
		t.Fatalf("leader sync answered at once (must wait for the write): %+v", sresp)
	}
	if s := h.synced(sw); s.ErrorCode != 0 || string(s.MemberAssignment) != "a" {
		t.Fatalf("sync: %v %q", codeName(s.ErrorCode), s.MemberAssignment)
	}
	if recs := h.takeRecords(); len(recs) != 1 {
		t.Fatalf("%d records after sync, want one group metadata record", len(recs))
	}
	if g := h.group("g"); g.state != stateStable {
		t.Fatalf("state %v, want Stable", g.state)
	}
}

func TestJoinOldVersionSkipsMemberIDRequired(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.InitialRebalanceDelay = 0 })
	req := joinReq("g", "")
	req.Version = 3
	w, resp := h.join(req)
	if resp != nil {
		t.Fatalf("v3 join answered at once: %+v", resp)
	}
	if got := h.joined(w); got.ErrorCode != 0 || got.MemberID == "" {
		t.Fatalf("v3 join: %v member %q", codeName(got.ErrorCode), got.MemberID)
	}
}

func TestProtocolSelection(t *testing.T) {
	tests := []struct {
		name    string
		members [][]string
		want    string
	}{
		{"single member takes its first choice", [][]string{{"cooperative-sticky", "range"}}, "cooperative-sticky"},
		{"majority vote", [][]string{{"range", "roundrobin"}, {"roundrobin", "range"}, {"range", "roundrobin"}}, "range"},
		{"only common protocol wins", [][]string{{"range", "roundrobin"}, {"roundrobin"}}, "roundrobin"},
		{"tie goes to the first vote in join order", [][]string{{"a", "b"}, {"b", "a"}}, "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			var ws []waiterID
			var ids []string
			for _, ps := range tc.members {
				_, first := h.join(joinReq("g", "", ps...))
				ids = append(ids, first.MemberID)
			}
			for i, ps := range tc.members {
				w, _ := h.join(joinReq("g", ids[i], ps...))
				ws = append(ws, w)
			}
			h.completeInitialDelay()
			got := h.joined(ws[0])
			if got.Protocol == nil || *got.Protocol != tc.want {
				t.Fatalf("protocol %v, want %q", got.Protocol, tc.want)
			}
		})
	}
}

func TestLeaderGetsMembersFollowerWaitsForLeader(t *testing.T) {
	h := newHarness(t)
	_, a := h.join(joinReq("g", ""))
	_, b := h.join(joinReq("g", ""))
	wa, _ := h.join(joinReq("g", a.MemberID))
	wb, _ := h.join(joinReq("g", b.MemberID))
	h.completeInitialDelay()
	ja, jb := h.joined(wa), h.joined(wb)
	if ja.LeaderID != a.MemberID || len(ja.Members) != 2 {
		t.Fatalf("leader answer: leader %q members %d", ja.LeaderID, len(ja.Members))
	}
	if jb.LeaderID != a.MemberID || len(jb.Members) != 0 {
		t.Fatalf("follower answer: leader %q members %d (followers get none)", jb.LeaderID, len(jb.Members))
	}
	if string(ja.Members[1].ProtocolMetadata) != string(subscriptionBytes("orders")) {
		t.Fatal("leader did not get the follower's metadata")
	}

	sb, resp := h.sync(syncReq("g", b.MemberID, 1, nil))
	if resp != nil || !h.parked(sb) {
		t.Fatal("follower sync must wait for the leader")
	}
	wantCode(t, "heartbeat while completing", h.heartbeat("g", b.MemberID, 1), 0)
	sa, _ := h.sync(syncReq("g", a.MemberID, 1, map[string]string{a.MemberID: "A"})) // b left out
	if got := h.synced(sb); got.ErrorCode != 0 || len(got.MemberAssignment) != 0 {
		t.Fatalf("follower left out of the assignment: %v %q, want an empty assignment", codeName(got.ErrorCode), got.MemberAssignment)
	}
	if got := h.synced(sa); string(got.MemberAssignment) != "A" {
		t.Fatalf("leader assignment %q", got.MemberAssignment)
	}
	// A late follower sync in Stable gets its assignment right away.
	_, late := h.sync(syncReq("g", b.MemberID, 1, nil))
	if late == nil || late.ErrorCode != 0 {
		t.Fatalf("late sync: %+v", late)
	}
}

func TestSyncErrors(t *testing.T) {
	tests := []struct {
		name string
		req  func(ids []string) *kmsg.SyncGroupRequest
		want int16
	}{
		{"empty group", func([]string) *kmsg.SyncGroupRequest { return syncReq("", "m", 1, nil) }, kerr.InvalidGroupID.Code},
		{"unknown group", func([]string) *kmsg.SyncGroupRequest { return syncReq("nope", "m", 1, nil) }, kerr.UnknownMemberID.Code},
		{"unknown member", func([]string) *kmsg.SyncGroupRequest { return syncReq("g", "ghost", 1, nil) }, kerr.UnknownMemberID.Code},
		{"wrong generation", func(ids []string) *kmsg.SyncGroupRequest { return syncReq("g", ids[0], 7, nil) }, kerr.IllegalGeneration.Code},
		{"wrong protocol type", func(ids []string) *kmsg.SyncGroupRequest {
			r := syncReq("g", ids[0], 1, nil)
			r.ProtocolType = new("connect")
			return r
		}, kerr.InconsistentGroupProtocol.Code},
		{"wrong protocol", func(ids []string) *kmsg.SyncGroupRequest {
			r := syncReq("g", ids[0], 1, nil)
			r.Protocol = new("roundrobin")
			return r
		}, kerr.InconsistentGroupProtocol.Code},
		{"fenced instance", func(ids []string) *kmsg.SyncGroupRequest {
			r := syncReq("g", ids[0], 1, nil)
			r.InstanceID = new("someone-else")
			return r
		}, kerr.UnknownMemberID.Code},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			ids := h.stableGroup("g", 1)
			_, resp := h.sync(tc.req(ids))
			if resp == nil {
				t.Fatal("sync parked")
			}
			wantCode(t, "sync", resp.ErrorCode, tc.want)
		})
	}

	t.Run("during PreparingRebalance", func(t *testing.T) {
		h := newHarness(t)
		ids := h.stableGroup("g", 2)
		h.join(joinReq("g", ids[0])) // the leader rejoining starts a rebalance
		_, resp := h.sync(syncReq("g", ids[1], 1, nil))
		wantCode(t, "sync", resp.ErrorCode, kerr.RebalanceInProgress.Code)
	})
}

func TestHeartbeatCodes(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup("g", 2)
	tests := []struct {
		name       string
		group, mem string
		gen        int32
		want       int16
	}{
		{"stable", "g", ids[1], 1, 0},
		{"empty group id", "", ids[1], 1, kerr.InvalidGroupID.Code},
		{"unknown group", "other", ids[1], 1, kerr.UnknownMemberID.Code},
		{"unknown member", "g", "ghost", 1, kerr.UnknownMemberID.Code},
		{"old generation", "g", ids[1], 0, kerr.IllegalGeneration.Code},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, "heartbeat", h.heartbeat(tc.group, tc.mem, tc.gen), tc.want)
		})
	}
	t.Run("rebalance in progress", func(t *testing.T) {
		h.join(joinReq("g", ids[0]))
		wantCode(t, "heartbeat", h.heartbeat("g", ids[1], 1), kerr.RebalanceInProgress.Code)
	})
}

func TestSessionTimeoutRemovesMemberAndRebalances(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup("g", 2)
	h.advance(6 * time.Second)
	wantCode(t, "heartbeat", h.heartbeat("g", ids[0], 1), 0)
	h.advance(5 * time.Second) // ids[1] went 11 s without a heartbeat (session 10 s)
	g := h.group("g")
	if _, ok := g.members[ids[1]]; ok {
		t.Fatal("expired member still in the group")
	}
	if g.state != statePreparingRebalance {
		t.Fatalf("state %v, want PreparingRebalance", g.state)
	}
	wantCode(t, "survivor heartbeat", h.heartbeat("g", ids[0], 1), kerr.RebalanceInProgress.Code)
	w, _ := h.join(joinReq("g", ids[0]))
	got := h.joined(w)
	if got.Generation != 2 || len(got.Members) != 1 {
		t.Fatalf("generation %d members %d, want 2 and 1", got.Generation, len(got.Members))
	}
}

func TestRebalanceTimeoutRemovesMembersThatDidNotRejoin(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup("g", 3)
	wLeader, _ := h.join(joinReq("g", ids[0]))
	// Keep the others' sessions alive while they ignore the rebalance.
	for range 5 {
		h.advance(5 * time.Second)
		for _, id := range ids[1:] {
			h.heartbeat("g", id, 1)
		}
	}
	if !h.parked(wLeader) {
		t.Fatal("join completed before the rebalance timeout")
	}
	w2, _ := h.join(joinReq("g", ids[1])) // rejoins at 25 s, in time
	h.advance(4 * time.Second)
	if !h.parked(wLeader) {
		t.Fatal("join completed before the rebalance timeout although a member is missing")
	}
	h.advance(2 * time.Second) // 31 s: past the 30 s rebalance timeout
	got := h.joined(wLeader)
	if got.Generation != 2 || len(got.Members) != 2 {
		t.Fatalf("generation %d members %d, want 2 and 2", got.Generation, len(got.Members))
	}
	if h.joined(w2).ErrorCode != 0 {
		t.Fatal("rejoined member failed")
	}
	if _, ok := h.group("g").members[ids[2]]; ok {
		t.Fatal("member that did not rejoin is still there")
	}
}

func TestInitialRebalanceDelay(t *testing.T) {
	t.Run("extended while members arrive", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.InitialRebalanceDelay = 3 * time.Second })
		w1, _ := h.joinMember("g")
		h.advance(2 * time.Second)
		w2, _ := h.joinMember("g")
		h.advance(time.Second) // 3 s: a member arrived, so wait another 3 s
		if !h.parked(w1) {
			t.Fatal("completed although a member joined during the delay")
		}
		h.advance(2 * time.Second) // 5 s
		if !h.parked(w1) {
			t.Fatal("completed before the extended delay ran out")
		}
		h.advance(time.Second) // 6 s
		if h.joined(w1).Generation != 1 || len(h.joined(w1).Members) != 2 || h.joined(w2).ErrorCode != 0 {
			t.Fatal("did not complete with both members at 6 s")
		}
	})
	t.Run("capped by the rebalance timeout", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.InitialRebalanceDelay = 3 * time.Second })
		req := joinReq("g", "")
		req.RebalanceTimeoutMillis = 4000
		_, first := h.join(req)
		req = joinReq("g", first.MemberID)
		req.RebalanceTimeoutMillis = 4000
		w1, _ := h.join(req)
		h.advance(time.Second)
		h.joinMember("g")
		h.advance(2 * time.Second) // 3 s: extend by min(3 s, 1 s left)
		h.joinMember("g")
		h.advance(time.Second) // 4 s: nothing left to extend by
		if h.joined(w1).ErrorCode != 0 || len(h.joined(w1).Members) != 3 {
			t.Fatal("did not complete at 4 s with all three members")
		}
	})
	t.Run("all joined does not cut the delay short", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.InitialRebalanceDelay = 3 * time.Second })
		w, _ := h.joinMember("g")
		h.advance(2 * time.Second)
		if !h.parked(w) {
			t.Fatal("completed before the initial delay")
		}
		h.advance(time.Second)
		if h.joined(w).ErrorCode != 0 {
			t.Fatal("did not complete after the delay")
		}
	})
}

func TestRejoinInStableAndCompleting(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup("g", 2)
	// A follower rejoining with the same metadata in Stable gets the
	// current generation back without a rebalance.
	_, resp := h.join(joinReq("g", ids[1]))
	if resp == nil || resp.Generation != 1 || resp.ErrorCode != 0 {
		t.Fatalf("follower rejoin: %+v", resp)
	}
	// Changed metadata forces a rebalance.
	w, resp := h.join(joinReq("g", ids[1], "range", "roundrobin"))
	if resp != nil {
		t.Fatalf("changed metadata answered at once: %+v", resp)
	}
	if h.group("g").state != statePreparingRebalance {
		t.Fatal("changed metadata did not start a rebalance")
	}
	wl, _ := h.join(joinReq("g", ids[0]))
	if h.joined(w).Generation != 2 || h.joined(wl).Generation != 2 {
		t.Fatal("rebalance did not reach generation 2")
	}
	// In CompletingRebalance, a retried join with unchanged metadata gets
	// the same answer again; the leader sees the members.
	_, again := h.join(joinReq("g", ids[0]))
	if again == nil || again.Generation != 2 || len(again.Members) != 2 {
		t.Fatalf("retried join in CompletingRebalance: %+v", again)
	}
}

func TestStaticMembership(t *testing.T) {
	setup := func(t *testing.T) (*harness, string) {
		h := newHarness(t)
		req := joinReq("g", "")
		req.Version = 9
		req.InstanceID = new("pod-0")
		w, _ := h.join(req)
		h.completeInitialDelay()
		j := h.joined(w)
		if !strings.HasPrefix(j.MemberID, "pod-0-") {
			t.Fatalf("static member id %q does not start with the instance id", j.MemberID)
		}
		h.sync(syncReq("g", j.MemberID, 1, map[string]string{j.MemberID: "A"}))
		h.takeRecords()
		return h, j.MemberID
	}

	t.Run("rejoin with unknown member id replaces without rebalance", func(t *testing.T) {
		h, old := setup(t)
		req := joinReq("g", "")
		req.Version = 9
		req.InstanceID = new("pod-0")
		_, resp := h.join(req)
		if resp == nil || resp.ErrorCode != 0 {
			t.Fatalf("static rejoin: %+v", resp)
		}
		if resp.Generation != 1 || resp.MemberID == old {
			t.Fatalf("generation %d member %q: want generation 1 and a new id", resp.Generation, resp.MemberID)
		}
		if !resp.SkipAssignment || resp.LeaderID != resp.MemberID || len(resp.Members) != 1 {
			t.Fatalf("v9 static leader: skip %v leader %q members %d", resp.SkipAssignment, resp.LeaderID, len(resp.Members))
		}
		if h.group("g").state != stateStable {
			t.Fatal("static rejoin caused a rebalance")
		}
		if len(h.takeRecords()) != 1 {
			t.Fatal("replacement was not persisted")
		}
		// The old id is fenced everywhere.
		hb := kmsg.NewPtrHeartbeatRequest()
		hb.Group, hb.MemberID, hb.Generation, hb.InstanceID = "g", old, 1, new("pod-0")
		wantCode(t, "old id heartbeat", h.st.heartbeat(h.now, hb).ErrorCode, kerr.FencedInstanceID.Code)
		_, again := h.join(func() *kmsg.JoinGroupRequest {
			r := joinReq("g", old)
			r.InstanceID = new("pod-0")
			return r
		}())
		wantCode(t, "old id join", again.ErrorCode, kerr.FencedInstanceID.Code)
		// The new member keeps the assignment.
		_, s := h.sync(syncReq("g", resp.MemberID, 1, nil))
		if string(s.MemberAssignment) != "A" {
			t.Fatalf("assignment %q after replacement", s.MemberAssignment)
		}
	})

	t.Run("pre-v9 rejoin reports the previous leader", func(t *testing.T) {
		h, old := setup(t)
		req := joinReq("g", "")
		req.InstanceID = new("pod-0")
		_, resp := h.join(req)
		if resp.LeaderID != old || resp.SkipAssignment {
			t.Fatalf("leader %q skip %v, want the old id %q", resp.LeaderID, resp.SkipAssignment, old)
		}
	})

	t.Run("changed protocol rebalances", func(t *testing.T) {
		h, _ := setup(t)
		req := joinReq("g", "", "roundrobin", "range")
		req.InstanceID = new("pod-0")
		w, resp := h.join(req)
		if resp != nil {
			t.Fatalf("answered at once: %+v", resp)
		}
		if got := h.joined(w); got.Generation != 2 || *got.Protocol != "roundrobin" {
			t.Fatalf("generation %d protocol %v", got.Generation, got.Protocol)
		}
	})

	t.Run("static member survives a rebalance it misses", func(t *testing.T) {
		h, old := setup(t)
		_, id := h.joinMember("g") // a dynamic member joins: rebalance
		_ = id
		if _, ok := h.group("g").members[old]; !ok {
			t.Fatal("static member dropped")
		}
	})
}

func TestLeaveGroup(t *testing.T) {
	t.Run("v3 batch", func(t *testing.T) {
		h := newHarness(t)
		ids := h.stableGroup("g", 3)
		resp := h.leave("g", 3,
			kmsg.LeaveGroupRequestMember{MemberID: ids[1]},
			kmsg.LeaveGroupRequestMember{MemberID: "ghost"},
			kmsg.LeaveGroupRequestMember{MemberID: ids[2]},
		)
		wantCode(t, "top level", resp.ErrorCode, 0)
		want := []int16{0, kerr.UnknownMemberID.Code, 0}
		for i, m := range resp.Members {
			wantCode(t, "member "+m.MemberID, m.ErrorCode, want[i])
		}
		g := h.group("g")
		if len(g.members) != 1 || g.state != statePreparingRebalance {
			t.Fatalf("members %d state %v", len(g.members), g.state)
		}
	})
	t.Run("v0 reports the member error at top level", func(t *testing.T) {
		h := newHarness(t)
		h.stableGroup("g", 1)
		resp := h.leave("g", 0, kmsg.LeaveGroupRequestMember{MemberID: "ghost"})
		wantCode(t, "top level", resp.ErrorCode, kerr.UnknownMemberID.Code)
	})
	t.Run("by instance id alone", func(t *testing.T) {
		h := newHarness(t)
		req := joinReq("g", "")
		req.InstanceID = new("pod-0")
		h.join(req)
		h.completeInitialDelay()
		resp := h.leave("g", 4, kmsg.LeaveGroupRequestMember{InstanceID: new("pod-0")})
		wantCode(t, "member", resp.Members[0].ErrorCode, 0)
		resp = h.leave("g", 4, kmsg.LeaveGroupRequestMember{InstanceID: new("pod-1")})
		wantCode(t, "unknown instance", resp.Members[0].ErrorCode, kerr.UnknownMemberID.Code)
	})
	t.Run("last member leaving empties the group and persists it", func(t *testing.T) {
		h := newHarness(t)
		ids := h.stableGroup("g", 1)
		h.takeRecords()
		h.leave("g", 3, kmsg.LeaveGroupRequestMember{MemberID: ids[0]})
		g := h.group("g")
		if g.state != stateEmpty || g.generation != 2 {
			t.Fatalf("state %v generation %d, want Empty 2", g.state, g.generation)
		}
		if len(h.takeRecords()) != 1 {
			t.Fatal("empty group metadata not written")
		}
	})
	t.Run("leaving member's parked join is answered", func(t *testing.T) {
		h := newHarness(t)
		ids := h.stableGroup("g", 2)
		w, _ := h.join(joinReq("g", ids[1], "range", "roundrobin"))
		h.leave("g", 3, kmsg.LeaveGroupRequestMember{MemberID: ids[1]})
		wantCode(t, "parked join", h.joined(w).ErrorCode, kerr.UnknownMemberID.Code)
	})
	t.Run("pending member", func(t *testing.T) {
		h := newHarness(t)
		_, first := h.join(joinReq("g", ""))
		resp := h.leave("g", 3, kmsg.LeaveGroupRequestMember{MemberID: first.MemberID})
		wantCode(t, "pending member", resp.Members[0].ErrorCode, 0)
	})
}

func TestPendingMemberAndPendingSyncExpiry(t *testing.T) {
	t.Run("pending member id expires after the session timeout", func(t *testing.T) {
		h := newHarness(t)
		_, first := h.join(joinReq("g", ""))
		h.advance(11 * time.Second)
		_, resp := h.join(joinReq("g", first.MemberID))
		wantCode(t, "late rejoin", resp.ErrorCode, kerr.UnknownMemberID.Code)
	})
	t.Run("member that never syncs is removed", func(t *testing.T) {
		h := newHarness(t)
		_, a := h.join(joinReq("g", ""))
		_, b := h.join(joinReq("g", ""))
		wa, _ := h.join(joinReq("g", a.MemberID))
		h.join(joinReq("g", b.MemberID))
		h.completeInitialDelay()
		h.sync(syncReq("g", a.MemberID, 1, map[string]string{a.MemberID: "x"}))
		for range 6 { // b heartbeats but never syncs
			h.advance(5 * time.Second)
			h.heartbeat("g", b.MemberID, 1)
			h.heartbeat("g", a.MemberID, 1)
		}
		if h.joined(wa).ErrorCode != 0 {
			t.Fatal("leader join failed")
		}
		g := h.group("g")
		if _, ok := g.members[b.MemberID]; ok {
			t.Fatal("member that never synced is still in the group")
		}
		if g.state != statePreparingRebalance {
			t.Fatalf("state %v, want PreparingRebalance", g.state)
		}
	})
}

func TestDescribeAndListGroups(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup("stable", 2)
	h.join(joinReq("pending", "")) // an Empty group with a pending member id
	h.commit(commitReq("simple", "", -1, "orders", map[int32]int64{0: 5}))
	h.consumerJoin("kip848", "m1", "orders")

	d := h.st.describeGroup("stable", 5)
	if d.State != "Stable" || d.Protocol != "range" || d.ProtocolType != "consumer" || len(d.Members) != 2 {
		t.Fatalf("describe stable: %+v", d)
	}
	if d.Members[0].MemberID != ids[0] || string(d.Members[0].MemberAssignment) != "assignment-of-"+ids[0] ||
		len(d.Members[0].ProtocolMetadata) == 0 || d.Members[0].ClientHost != "/127.0.0.1" {
		t.Fatalf("describe member: %+v", d.Members[0])
	}
	h.join(joinReq("stable", ids[0])) // now PreparingRebalance: no metadata shown
	d = h.st.describeGroup("stable", 5)
	if d.State != "PreparingRebalance" || d.Protocol != "" || len(d.Members[0].ProtocolMetadata) != 0 {
		t.Fatalf("describe rebalancing: %+v", d)
	}

	for _, tc := range []struct {
		id      string
		version int16
		state   string
		code    int16
	}{
		{"missing", 5, "Dead", 0},
		{"missing", 6, "Dead", kerr.GroupIDNotFound.Code},
		{"kip848", 5, "Dead", 0},
		{"kip848", 6, "Dead", kerr.GroupIDNotFound.Code},
		{"simple", 6, "Empty", 0},
	} {
		d := h.st.describeGroup(tc.id, tc.version)
		if d.State != tc.state || d.ErrorCode != tc.code {
			t.Errorf("describe %s v%d: state %q code %s", tc.id, tc.version, d.State, codeName(d.ErrorCode))
		}
	}

	for _, tc := range []struct {
		states, types []string
		want          []string
	}{
		{nil, nil, []string{"kip848", "pending", "simple", "stable"}},
		{[]string{"empty"}, nil, []string{"pending", "simple"}},
		{[]string{"PreparingRebalance"}, nil, []string{"stable"}},
		{nil, []string{"Consumer"}, []string{"kip848"}},
		{nil, []string{"classic"}, []string{"pending", "simple", "stable"}},
	} {
		var got []string
		for _, g := range h.st.listGroups(tc.states, tc.types) {
			got = append(got, g.Group)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("list states=%v types=%v: got %v, want %v", tc.states, tc.types, got, tc.want)
		}
	}
}

func TestDeleteGroups(t *testing.T) {
	h := newHarness(t)
	h.stableGroup("busy", 1)
	h.commit(commitReq("idle", "", -1, "orders", map[int32]int64{0: 1, 1: 2}))
	h.takeRecords()
	var fx effects
	for _, tc := range []struct {
		id   string
		want int16
	}{
		{"busy", kerr.NonEmptyGroup.Code},
		{"missing", kerr.GroupIDNotFound.Code},
		{"idle", 0},
		{"idle", kerr.GroupIDNotFound.Code},
	} {
		wantCode(t, "delete "+tc.id, h.st.deleteGroup(tc.id, &fx), tc.want)
	}
	if len(fx.records) != 3 {
		t.Fatalf("%d records, want 2 offset tombstones and a group tombstone", len(fx.records))
	}
	for _, r := range fx.records {
		if r.Value != nil {
			t.Fatal("delete wrote a non-tombstone")
		}
	}
}

func TestGroupMaxSizeKeepsExistingMembers(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxGroupSize = 1 })
	ids := h.stableGroup("g", 1)
	_, resp := h.join(joinReq("g", ""))
	wantCode(t, "second member", resp.ErrorCode, kerr.GroupMaxSizeReached.Code)
	_, resp = h.join(joinReq("g", ids[0]))
	if resp != nil {
		t.Fatal("leader rejoin should start a rebalance and park")
	}
}

// consumerJoin joins a KIP-848 member with epoch 0.
func (h *harness) consumerJoin(group, member string, topics ...string) *kmsg.ConsumerGroupHeartbeatResponse {
	h.t.Helper()
	req := cgJoinReq(group, member, topics...)
	var fx effects
	resp := h.st.consumerGroupHeartbeat(h.now, req, ClientInfo{ClientID: "client"}, &fx)
	h.collect(fx)
	return resp
}

func TestRebalanceWhileCompletingFailsParkedSyncs(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup("g", 2)
	wl, _ := h.join(joinReq("g", ids[0]))
	wf, _ := h.join(joinReq("g", ids[1]))
	if h.joined(wl).Generation != 2 || h.joined(wf).Generation != 2 {
		t.Fatal("rebalance did not reach generation 2")
	}
	sw, _ := h.sync(syncReq("g", ids[1], 2, nil)) // parks, waiting for the leader
	_, newcomer := h.join(joinReq("g", ""))
	h.join(joinReq("g", newcomer.MemberID)) // a new member: rebalance again
	got := h.synced(sw)
	wantCode(t, "parked sync", got.ErrorCode, kerr.RebalanceInProgress.Code)
	if len(got.MemberAssignment) != 0 {
		t.Fatal("failed sync carries an assignment")
	}
}

func TestLeaderThatDoesNotRejoinIsReplaced(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup("g", 2)
	w, _ := h.join(joinReq("g", ids[1], "range", "roundrobin")) // follower changes metadata
	for range 6 {
		h.advance(5 * time.Second)
		h.heartbeat("g", ids[0], 1) // the leader stays alive but never rejoins
	}
	got := h.joined(w)
	if got.LeaderID != ids[1] || len(got.Members) != 1 || got.Generation != 2 {
		t.Fatalf("leader %q members %d generation %d; want the rejoined follower to lead alone", got.LeaderID, len(got.Members), got.Generation)
	}
}
