package group

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestRecordBytesAreKafkas(t *testing.T) {
	o := &committedOffset{offset: 42, leaderEpoch: 3, metadata: "m", commitTime: 1000, expireTime: -1}
	kv := offsetCommitRecord("g", "t", 1, o)
	// key: version 1, "g", "t", partition 1
	if got, want := hex.EncodeToString(kv.Key), "0001"+"000167"+"000174"+"00000001"; got != want {
		t.Errorf("offset key %s, want %s", got, want)
	}
	// value v3: offset 42, epoch 3, "m", commit time 1000
	if got, want := hex.EncodeToString(kv.Value), "0003"+"000000000000002a"+"00000003"+"00016d"+"00000000000003e8"; got != want {
		t.Errorf("offset value %s, want %s", got, want)
	}
	if got, want := hex.EncodeToString(groupTombstone("g").Key), "0002000167"; got != want {
		t.Errorf("group key %s, want %s", got, want)
	}
}

func TestDecodeRecordVersions(t *testing.T) {
	key := offsetCommitKey("g", "t", 0)
	for _, tc := range []struct {
		version     int16
		wantEpoch   int32
		wantExpire  int64
		wantErrPart string
	}{
		{0, -1, -1, ""},
		{1, -1, 9000, ""},
		{2, -1, -1, ""},
		{3, 7, -1, ""},
		{4, 7, -1, ""},
		{5, 0, 0, "version 5"},
	} {
		t.Run(fmt.Sprintf("v%d", tc.version), func(t *testing.T) {
			v := kmsg.NewOffsetCommitValue()
			v.Version, v.Offset, v.LeaderEpoch, v.Metadata, v.CommitTimestamp, v.ExpireTimestamp = tc.version, 5, 7, "x", 100, 9000
			rec, err := decodeRecord(key, v.AppendTo(nil))
			if tc.wantErrPart != "" {
				if !errors.Is(err, ErrCorruptRecord) || !strings.Contains(err.Error(), tc.wantErrPart) {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := committedOffset{offset: 5, leaderEpoch: tc.wantEpoch, metadata: "x", commitTime: 100, expireTime: tc.wantExpire}
			if *rec.offset != want {
				t.Fatalf("got %+v, want %+v", *rec.offset, want)
			}
		})
	}
	for _, version := range []byte{4, 9, 16} { // partition metadata, share and regex records
		if rec, err := decodeRecord([]byte{0, version, 1, 2}, []byte{9}); err != nil || rec.kind != recordUnknown {
			t.Fatalf("key version %d: %v %v, want skipped without error", version, rec.kind, err)
		}
	}
	if _, err := decodeRecord([]byte{0, 3, 1, 2}, []byte{9}); !errors.Is(err, ErrCorruptRecord) {
		t.Fatalf("a malformed KIP-848 record: %v, want ErrCorruptRecord", err)
	}
	for _, bad := range [][]byte{nil, {0}, {0xff, 0xff}, {0, 1, 0}} {
		if _, err := decodeRecord(bad, nil); !errors.Is(err, ErrCorruptRecord) {
			t.Errorf("key %x: err %v, want ErrCorruptRecord", bad, err)
		}
	}
}

// TestReplayRebuildsGroups replays what a live shard wrote and checks the
// rebuilt shard holds the same groups and offsets.
func TestReplayRebuildsGroups(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup("live", 2)
	h.commit(commitReq("live", ids[0], 1, "orders", map[int32]int64{0: 10, 1: 11}))
	static := joinReq("static", "")
	static.InstanceID = new("pod-0")
	sw, _ := h.join(static)
	h.completeInitialDelay()
	sj := h.joined(sw)
	h.sync(syncReq("static", sj.MemberID, 1, map[string]string{sj.MemberID: "S"}))
	h.commit(commitReq("simple", "", -1, "events", map[int32]int64{1: 5}))
	h.commit(commitReq("gone", "", -1, "events", map[int32]int64{0: 1}))
	var fx effects
	h.st.deleteGroup("gone", &fx)
	h.collect(fx)
	emptied := h.stableGroup("emptied", 1)
	h.leave("emptied", 3, kmsg.LeaveGroupRequestMember{MemberID: emptied[0]})

	replayed := newShardState(&h.cfg, func() string { return "x" })
	for _, r := range h.takeRecords() {
		if err := replayed.replay(r.Key, r.Value); err != nil {
			t.Fatal(err)
		}
	}
	replayed.finishLoad(h.now)

	if got, want := summarize(replayed), summarize(h.st); got != want {
		t.Fatalf("replayed state differs:\n got: %s\nwant: %s", got, want)
	}
	if g := replayed.groups["live"]; g.state != stateStable || g.leader != ids[0] || g.generation != 1 {
		t.Fatalf("live group: %v leader %q generation %d", g.state, g.leader, g.generation)
	}
	if g := replayed.groups["emptied"]; g.state != stateEmpty || g.generation != 2 {
		t.Fatalf("emptied group: %v generation %d", g.state, g.generation)
	}
	if _, ok := replayed.groups["gone"]; ok {
		t.Fatal("deleted group came back")
	}
	// Replayed members answer heartbeats at their generation.
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.Generation = "live", ids[1], 1
	if code := replayed.heartbeat(h.now, hb).ErrorCode; code != 0 {
		t.Fatalf("heartbeat after replay: %s", codeName(code))
	}
}

// summarize renders what replay must preserve: membership as last persisted
// and every offset.
func summarize(st *shardState) string {
	var b strings.Builder
	for _, g := range st.sortedGroups() {
		if g.cg != nil {
			summarizeConsumerGroup(&b, g)
			continue
		}
		state := g.state
		if state != stateEmpty {
			state = stateStable // persisted groups come back Stable
		}
		fmt.Fprintf(&b, "[%q %v type=%q gen=%d proto=%q leader=%q", g.id, state, g.protocolType, g.generation, g.protocol, g.leader)
		for _, m := range g.membersInOrder() {
			inst := "-"
			if m.instanceID != nil {
				inst = *m.instanceID
			}
			fmt.Fprintf(&b, " m(%s %s %s %s %v %v %x %x)", m.id, inst, m.clientID, m.clientHost,
				m.rebalanceTimeout, m.sessionTimeout, m.metadataFor(g.protocol), m.assignment)
		}
		for _, o := range g.sortedOffsets() {
			fmt.Fprintf(&b, " o(%s/%d %+v)", o.topic, o.partition, o.offset)
		}
		b.WriteString("]")
	}
	return b.String()
}

// summarizeConsumerGroup renders what a KIP-848 group's records persist.
func summarizeConsumerGroup(b *strings.Builder, g *group) {
	cg := g.cg
	fmt.Fprintf(b, "[%q consumer epoch=%d assignment=%d", g.id, cg.epoch, cg.assignmentEpoch)
	for _, id := range slices.Sorted(maps.Keys(cg.members)) {
		m := cg.members[id]
		inst, rack := "-", "-"
		if m.instanceID != nil {
			inst = *m.instanceID
		}
		if m.rackID != nil {
			rack = *m.rackID
		}
		fmt.Fprintf(b, " m(%s %s %s %s %s %v %q %q %v e=%d/%d s=%d a=%v p=%v t=%v", m.id, inst, rack, m.clientID, m.clientHost,
			m.topics, m.regex, m.assignor, m.rebalanceTimeout, m.epoch, m.previousEpoch, m.state,
			sortedPartitions(m.assigned), sortedPartitions(m.pendingRevocation), sortedPartitions(cg.target[id]))
		if c := m.classic; c != nil {
			fmt.Fprintf(b, " classic(%v", c.sessionTimeout)
			for _, p := range c.protocols {
				fmt.Fprintf(b, " %s:%x", p.name, p.metadata)
			}
			b.WriteString(")")
		}
		b.WriteString(")")
	}
	for _, o := range g.sortedOffsets() {
		fmt.Fprintf(b, " o(%s/%d %+v)", o.topic, o.partition, o.offset)
	}
	b.WriteString("]")
}

func sortedPartitions(a topicPartitions) string {
	var b strings.Builder
	for _, id := range slices.SortedFunc(maps.Keys(a), compareIDs) {
		if len(a[id]) > 0 {
			fmt.Fprintf(&b, "%x:%v;", id[:1], a[id])
		}
	}
	return b.String()
}

// checkInvariants verifies what every shard state must satisfy.
func checkInvariants(t *testing.T, st *shardState) {
	t.Helper()
	for id, g := range st.groups {
		if g.id != id {
			t.Fatalf("group %q stored under %q", g.id, id)
		}
		if g.cg != nil {
			continue
		}
		if (g.leader == "") != (len(g.members) == 0) {
			t.Fatalf("group %q: leader %q with %d members", id, g.leader, len(g.members))
		}
		if g.leader != "" && g.members[g.leader] == nil {
			t.Fatalf("group %q: leader %q is not a member", id, g.leader)
		}
		for inst, mid := range g.static {
			m := g.members[mid]
			if m == nil || m.instanceID == nil || *m.instanceID != inst {
				t.Fatalf("group %q: instance %q maps to %q, which does not hold it", id, inst, mid)
			}
		}
		for mid, m := range g.members {
			if m.id != mid || mid == "" {
				t.Fatalf("group %q: member %q stored under %q", id, m.id, mid)
			}
		}
		if len(g.members) == 0 && g.state != stateEmpty && g.state != statePreparingRebalance {
			t.Fatalf("group %q: %v without members", id, g.state)
		}
	}
}

func TestGroupMetadataRoundTrip(t *testing.T) {
	h := newHarness(t)
	h.stableGroup("g", 3)
	kv := groupMetadataRecord(h.group("g"))
	st := newShardState(&h.cfg, nil)
	if err := st.replay(kv.Key, kv.Value); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(groupMetadataRecord(st.groups["g"]).Value, kv.Value) {
		t.Fatal("re-encoding a replayed group changed its bytes")
	}
	if st.groups["g"].membersInOrder()[0].id != h.group("g").leader {
		t.Fatal("member order not kept")
	}
}
