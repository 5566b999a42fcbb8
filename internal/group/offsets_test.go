package group

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestOffsetCommitChecks(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness) []string
		req   func(ids []string) *kmsg.OffsetCommitRequest
		want  int16
	}{
		{
			name: "simple commit creates an empty group",
			req: func([]string) *kmsg.OffsetCommitRequest {
				return commitReq("g", "", -1, "orders", map[int32]int64{0: 1})
			},
		},
		{
			name: "v0 commit (no generation field)",
			req: func([]string) *kmsg.OffsetCommitRequest {
				r := commitReq("g", "", -1, "orders", map[int32]int64{0: 1})
				r.Version = 0
				return r
			},
		},
		{
			name: "generation for a group that does not exist",
			req: func([]string) *kmsg.OffsetCommitRequest {
				return commitReq("g", "m", 3, "orders", map[int32]int64{0: 1})
			},
			want: kerr.IllegalGeneration.Code,
		},
		{
			name:  "member at the current generation",
			setup: func(h *harness) []string { return h.stableGroup("g", 1) },
			req: func(ids []string) *kmsg.OffsetCommitRequest {
				return commitReq("g", ids[0], 1, "orders", map[int32]int64{0: 1})
			},
		},
		{
			name:  "old generation",
			setup: func(h *harness) []string { return h.stableGroup("g", 1) },
			req: func(ids []string) *kmsg.OffsetCommitRequest {
				return commitReq("g", ids[0], 0, "orders", map[int32]int64{0: 1})
			},
			want: kerr.IllegalGeneration.Code,
		},
		{
			name:  "unknown member",
			setup: func(h *harness) []string { return h.stableGroup("g", 1) },
			req: func([]string) *kmsg.OffsetCommitRequest {
				return commitReq("g", "ghost", 1, "orders", map[int32]int64{0: 1})
			},
			want: kerr.UnknownMemberID.Code,
		},
		{
			name:  "simple commit to a group with members",
			setup: func(h *harness) []string { return h.stableGroup("g", 1) },
			req: func([]string) *kmsg.OffsetCommitRequest {
				return commitReq("g", "", -1, "orders", map[int32]int64{0: 1})
			},
			want: kerr.UnknownMemberID.Code,
		},
		{
			name: "commit while the leader has not synced",
			setup: func(h *harness) []string {
				w, id := h.joinMember("g")
				h.completeInitialDelay()
				_ = w
				return []string{id}
			},
			req: func(ids []string) *kmsg.OffsetCommitRequest {
				return commitReq("g", ids[0], 1, "orders", map[int32]int64{0: 1})
			},
			want: kerr.RebalanceInProgress.Code,
		},
		{
			name: "commit during PreparingRebalance is accepted",
			setup: func(h *harness) []string {
				ids := h.stableGroup("g", 2)
				h.join(joinReq("g", ids[0]))
				return ids
			},
			req: func(ids []string) *kmsg.OffsetCommitRequest {
				return commitReq("g", ids[1], 1, "orders", map[int32]int64{0: 1})
			},
		},
		{
			name: "unknown topic",
			req:  func([]string) *kmsg.OffsetCommitRequest { return commitReq("g", "", -1, "nope", map[int32]int64{0: 1}) },
			want: kerr.UnknownTopicOrPartition.Code,
		},
		{
			name: "partition beyond the topic",
			req: func([]string) *kmsg.OffsetCommitRequest {
				return commitReq("g", "", -1, "orders", map[int32]int64{9: 1})
			},
			want: kerr.UnknownTopicOrPartition.Code,
		},
		{
			name: "metadata too large",
			req: func([]string) *kmsg.OffsetCommitRequest {
				r := commitReq("g", "", -1, "orders", map[int32]int64{0: 1})
				r.Topics[0].Partitions[0].Metadata = new(strings.Repeat("x", 4097))
				return r
			},
			want: kerr.OffsetMetadataTooLarge.Code,
		},
		{
			name: "v10 unknown topic id",
			req: func([]string) *kmsg.OffsetCommitRequest {
				r := commitReq("g", "", -1, "", map[int32]int64{0: 1})
				r.Version = 10
				r.Topics[0].TopicID = [16]byte{99}
				return r
			},
			want: kerr.UnknownTopicID.Code,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			var ids []string
			if tc.setup != nil {
				ids = tc.setup(h)
			}
			h.takeRecords()
			resp := h.commit(tc.req(ids))
			if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
				t.Fatalf("response does not mirror the request: %+v", resp)
			}
			wantCode(t, "commit", resp.Topics[0].Partitions[0].ErrorCode, tc.want)
			if recs := h.takeRecords(); (len(recs) == 1) != (tc.want == 0) {
				t.Fatalf("%d records written for result %s", len(recs), codeName(tc.want))
			}
		})
	}
}

func TestOffsetFetch(t *testing.T) {
	h := newHarness(t)
	req := commitReq("g", "", -1, "orders", map[int32]int64{0: 10, 2: 30})
	req.Topics[0].Partitions[1].LeaderEpoch = 4
	h.commit(req)
	h.commit(commitReq("g", "", -1, "events", map[int32]int64{1: 5}))

	got := h.fetch("g", 7, map[string][]int32{"orders": {0, 1, 2}, "nope": {0}})
	if len(got.Topics) != 2 {
		t.Fatalf("%d topics, want the 2 asked for", len(got.Topics))
	}
	orders := got.Topics[1].Partitions
	if got.Topics[1].Topic != "orders" || orders[0].Offset != 10 || *orders[0].Metadata != "meta-0" {
		t.Fatalf("orders/0: %+v", orders[0])
	}
	if orders[1].Offset != -1 || *orders[1].Metadata != "" || orders[1].LeaderEpoch != -1 || orders[1].ErrorCode != 0 {
		t.Fatalf("uncommitted partition: %+v", orders[1])
	}
	if orders[2].Offset != 30 || orders[2].LeaderEpoch != 4 {
		t.Fatalf("orders/2: %+v", orders[2])
	}
	if got.Topics[0].Partitions[0].Offset != -1 {
		t.Fatal("unknown topic should answer -1")
	}

	all := h.fetch("g", 7, nil)
	if len(all.Topics) != 2 || all.Topics[0].Topic != "events" || len(all.Topics[1].Partitions) != 2 {
		t.Fatalf("all offsets: %+v", all.Topics)
	}
	if none := h.fetch("missing", 7, nil); len(none.Topics) != 0 || none.ErrorCode != 0 {
		t.Fatalf("missing group: %+v", none)
	}

	t.Run("v10 by topic id", func(t *testing.T) {
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = "g"
		rg.Topics = []kmsg.OffsetFetchRequestGroupTopic{
			{TopicID: ordersID, Partitions: []int32{0}},
			{TopicID: [16]byte{99}, Partitions: []int32{0}},
		}
		out := h.st.offsetFetch(&rg, 10, false)
		if out.Topics[0].Partitions[0].Offset != 10 || out.Topics[0].TopicID != ordersID {
			t.Fatalf("by id: %+v", out.Topics[0])
		}
		wantCode(t, "unknown id", out.Topics[1].Partitions[0].ErrorCode, kerr.UnknownTopicID.Code)
		rg.Topics = nil
		all := h.st.offsetFetch(&rg, 10, false)
		if len(all.Topics) != 2 || all.Topics[0].TopicID == ([16]byte{}) || all.Topics[0].Topic != "" {
			t.Fatalf("all by id: %+v", all.Topics)
		}
	})
}

func TestOffsetCommitV1AndRetentionVersions(t *testing.T) {
	h := newHarness(t)
	v1 := commitReq("g", "", -1, "orders", map[int32]int64{0: 1})
	v1.Version = 1
	v1.Topics[0].Partitions[0].Timestamp = h.now.UnixMilli() - 1234
	h.commit(v1)
	if o := h.group("g").offsets["orders"][0]; o.commitTime != h.now.UnixMilli()-1234 || o.expireTime != -1 {
		t.Fatalf("v1 commit time: %+v", o)
	}
	v2 := commitReq("g", "", -1, "orders", map[int32]int64{1: 1})
	v2.Version = 2
	v2.RetentionTimeMillis = 60_000
	h.commit(v2)
	o := h.group("g").offsets["orders"][1]
	if o.expireTime != h.now.UnixMilli()+60_000 {
		t.Fatalf("v2 retention: %+v", o)
	}
	recs := h.takeRecords()
	rec, err := decodeRecord(recs[len(recs)-1].Key, recs[len(recs)-1].Value)
	if err != nil || rec.offset.expireTime != o.expireTime {
		t.Fatalf("expiring commit not written as value v1: %v %+v", err, rec.offset)
	}
	h.advance(61 * time.Second)
	h.advance(10 * time.Minute) // the retention check runs every 10 minutes
	if _, ok := h.group("g").offsets["orders"][1]; ok {
		t.Fatal("offset with an explicit expiry outlived it")
	}
}

func TestOffsetRetention(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.OffsetsRetention = time.Hour })
	ids := h.stableGroup("g", 1)
	h.commit(commitReq("g", ids[0], 1, "orders", map[int32]int64{0: 1}))
	h.commit(commitReq("simple", "", -1, "orders", map[int32]int64{0: 1}))
	h.takeRecords()

	h.advance(2 * time.Hour)
	if _, ok := h.st.groups["simple"]; ok {
		t.Fatal("simple group's old offsets did not expire")
	}
	if len(h.group("g").offsets) != 1 {
		t.Fatal("a stable group subscribed to the topic lost its offsets")
	}
	h.leave("g", 3, kmsg.LeaveGroupRequestMember{MemberID: ids[0]}) // empty from now
	h.takeRecords()
	h.advance(50 * time.Minute)
	if len(h.group("g").offsets) != 1 {
		t.Fatal("offsets expired before the group was empty for the retention")
	}
	h.advance(20 * time.Minute)
	if _, ok := h.st.groups["g"]; ok {
		t.Fatal("empty group without offsets was not removed")
	}
	var tombstones, groupTombstones int
	for _, r := range h.takeRecords() {
		if r.Value == nil {
			tombstones++
			if rec, _ := decodeRecord(r.Key, nil); rec.kind == recordGroupMetadata {
				groupTombstones++
			}
		}
	}
	if tombstones != 2 || groupTombstones != 1 {
		t.Fatalf("%d tombstones (%d group), want an offset and a group tombstone", tombstones, groupTombstones)
	}
}

func TestOffsetDelete(t *testing.T) {
	req := func(group string, topics ...string) *kmsg.OffsetDeleteRequest {
		r := kmsg.NewPtrOffsetDeleteRequest()
		r.Group = group
		for _, tp := range topics {
			r.Topics = append(r.Topics, kmsg.OffsetDeleteRequestTopic{Topic: tp, Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}})
		}
		return r
	}
	t.Run("group errors", func(t *testing.T) {
		h := newHarness(t)
		var fx effects
		wantCode(t, "empty id", h.st.offsetDelete(req(""), &fx).ErrorCode, kerr.InvalidGroupID.Code)
		wantCode(t, "missing", h.st.offsetDelete(req("nope"), &fx).ErrorCode, kerr.GroupIDNotFound.Code)
		j := joinReq("connect", "")
		j.ProtocolType = "connect"
		j.Version = 3
		h.join(j)
		h.completeInitialDelay()
		wantCode(t, "non-consumer group with members", h.st.offsetDelete(req("connect", "orders"), &fx).ErrorCode, kerr.NonEmptyGroup.Code)
	})
	t.Run("stable consumer group", func(t *testing.T) {
		h := newHarness(t)
		ids := h.stableGroup("g", 1) // subscribed to orders
		h.commit(commitReq("g", ids[0], 1, "orders", map[int32]int64{0: 1}))
		h.commit(commitReq("g", ids[0], 1, "events", map[int32]int64{0: 1}))
		var fx effects
		resp := h.st.offsetDelete(req("g", "orders", "events", "nope"), &fx)
		wantCode(t, "subscribed", resp.Topics[0].Partitions[0].ErrorCode, kerr.GroupSubscribedToTopic.Code)
		wantCode(t, "unsubscribed", resp.Topics[1].Partitions[0].ErrorCode, 0)
		wantCode(t, "unknown topic", resp.Topics[2].Partitions[0].ErrorCode, kerr.UnknownTopicOrPartition.Code)
		if len(fx.records) != 1 || fx.records[0].Value != nil {
			t.Fatalf("records %+v, want one tombstone", fx.records)
		}
	})
	t.Run("empty group loses its last offset and itself", func(t *testing.T) {
		h := newHarness(t)
		h.commit(commitReq("g", "", -1, "orders", map[int32]int64{0: 1}))
		var fx effects
		wantCode(t, "delete", h.st.offsetDelete(req("g", "orders"), &fx).Topics[0].Partitions[0].ErrorCode, 0)
		if _, ok := h.st.groups["g"]; ok {
			t.Fatal("group without offsets or members remained")
		}
	})
}
