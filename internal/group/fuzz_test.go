package group

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzReplay feeds arbitrary key/value bytes to replay, as if read back from
// __consumer_offsets, and checks:
//   - replay never panics; it either applies the record or returns an error
//     wrapping ErrCorruptRecord and leaves the state untouched;
//   - the resulting state satisfies checkInvariants;
//   - re-encoding what was applied and replaying that into a fresh state
//     gives the same groups and offsets (decoding is stable);
//   - loading and firing timers on the replayed state never panic.
func FuzzReplay(f *testing.F) {
	h := newHarness(&testing.T{})
	h.stableGroup("g", 2)
	h.commit(commitReq("g", "", -1, "orders", map[int32]int64{0: 1}))
	c1 := h.classicOwner("mixed", "cooperative-sticky")
	h.consumerJoin("mixed", "a", "orders")
	h.join(classicJoinReq("mixed", c1, "cooperative-sticky", []int32{0, 1, 2, 3}))
	for _, r := range h.takeRecords() {
		f.Add(r.Key, r.Value, false)
		f.Add(r.Key, r.Value, true)
	}
	v0 := kmsg.NewGroupMetadataValue()
	v0.Version = 0
	v0.Members = []kmsg.GroupMetadataValueMember{{MemberID: "m", Subscription: []byte{1}}}
	f.Add(groupMetadataKey("g"), v0.AppendTo(nil), false)
	ov := kmsg.NewOffsetCommitValue()
	ov.Version = 1
	ov.ExpireTimestamp = -7
	f.Add(offsetCommitKey("g", "t", 3), ov.AppendTo(nil), false)
	f.Add([]byte{0, 3, 0, 0}, []byte{}, false)
	f.Add([]byte{}, []byte{}, true)

	f.Fuzz(func(t *testing.T, key, value []byte, tombstone bool) {
		if tombstone {
			value = nil
		}
		cfg := Config{MaxGroupSize: 2}.withDefaults()
		st := newShardState(&cfg, func() string { return "id" })
		// A group already present, so tombstones have something to hit.
		seed := newHarness(t)
		seed.stableGroup("g", 1)
		for _, r := range seed.takeRecords() {
			if err := st.replay(r.Key, r.Value); err != nil {
				t.Fatal(err)
			}
		}
		before := summarize(st)

		if err := st.replay(key, value); err != nil {
			if !errors.Is(err, ErrCorruptRecord) {
				t.Fatalf("error %v does not wrap ErrCorruptRecord", err)
			}
			if summarize(st) != before {
				t.Fatal("a corrupt record changed the state")
			}
			return
		}
		checkInvariants(t, st)

		again := newShardState(&cfg, func() string { return "id" })
		for _, g := range st.sortedGroups() {
			if g.hasMetadata {
				kv := groupMetadataRecord(g)
				if err := again.replay(kv.Key, kv.Value); err != nil {
					t.Fatalf("re-encoded group does not decode: %v", err)
				}
			}
			if g.cg != nil {
				for _, kv := range cgRecords(g.id, g.cg) {
					if err := again.replay(kv.Key, kv.Value); err != nil {
						t.Fatalf("re-encoded KIP-848 record does not decode: %v", err)
					}
				}
			}
			for _, o := range g.sortedOffsets() {
				kv := offsetCommitRecord(g.id, o.topic, o.partition, &o.offset)
				if err := again.replay(kv.Key, kv.Value); err != nil {
					t.Fatalf("re-encoded offset does not decode: %v", err)
				}
			}
		}
		if got, want := summarize(again), summarize(st); got != want {
			t.Fatalf("re-encoding changed the state:\n got: %s\nwant: %s", got, want)
		}

		now := time.Unix(1_700_000_000, 0)
		st.finishLoad(now)
		var fx effects
		st.tick(now.Add(time.Hour), &fx)
		st.tick(now.Add(30*24*time.Hour), &fx)
		checkInvariants(t, st)
	})
}
