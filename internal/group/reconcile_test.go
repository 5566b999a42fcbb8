package group

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

// simMember models a KIP-848 client. New partitions are consumed as soon as
// they are assigned; revoked ones are still consumed (while offsets are
// committed) until the client finishes revoking, which it does before one of
// its later heartbeats and then reports. Until then it may send keepalives
// that do not report ownership at all.
type simMember struct {
	id       string
	epoch    int32
	topics   []string
	owned    topicPartitions
	revoking topicPartitions
	joined   bool
}

// take applies an assignment from a response.
func (m *simMember) take(a topicPartitions) {
	if a == nil {
		return
	}
	m.revoking = topicPartitions{}
	for id, ps := range m.owned {
		if gone := subtract(ps, a[id]); len(gone) > 0 {
			m.revoking[id] = gone
		}
	}
	m.owned = topicPartitions{}
	for id, ps := range a {
		m.owned[id] = slices.Clone(ps)
	}
	for id, ps := range m.revoking {
		merged := append(slices.Clone(m.owned[id]), ps...)
		slices.Sort(merged)
		m.owned[id] = merged
	}
}

// finishRevoking drops revoked partitions; it reports false (still busy) at
// random, in which case the caller sends a keepalive.
func (m *simMember) finishRevoking(rng *rand.Rand) bool {
	if len(m.revoking) == 0 {
		return true
	}
	if rng.IntN(2) == 0 {
		return false
	}
	for id, ps := range m.revoking {
		m.owned[id] = subtract(m.owned[id], ps)
		if len(m.owned[id]) == 0 {
			delete(m.owned, id)
		}
	}
	m.revoking = topicPartitions{}
	return true
}

func (m *simMember) reset() {
	m.owned, m.revoking, m.epoch, m.joined = topicPartitions{}, topicPartitions{}, 0, false
}

// TestReconciliationNeverDoubleAssigns drives random joins, leaves,
// subscription changes, topic growth and heartbeats through the KIP-848
// state machine and checks after every step that no partition is owned by
// two clients; at the end, heartbeats alone must converge every member to
// its target and cover every subscribed partition exactly once.
func TestReconciliationNeverDoubleAssigns(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			h := newHarness(t)
			subs := [][]string{{"orders"}, {"orders", "events"}, {"events"}, {"metrics", "orders"}}
			var members []*simMember
			next := 0

			heartbeat := func(m *simMember, sendTopics bool) {
				var req = cgJoinReq("g", m.id, m.topics...)
				if m.joined {
					if m.finishRevoking(rng) {
						req = cgBeat("g", m.id, m.epoch, m.owned)
					} else {
						req = cgBeat("g", m.id, m.epoch, nil) // keepalive
					}
					if sendTopics || rng.IntN(4) == 0 {
						req.SubscribedTopicNames = m.topics
						req.RebalanceTimeoutMillis = 30_000
					}
				}
				resp := h.cg(req)
				switch resp.ErrorCode {
				case 0:
				case kerr.FencedMemberEpoch.Code, kerr.UnknownMemberID.Code:
					m.reset()
					return
				default:
					t.Fatalf("heartbeat of %s: %s", m.id, codeName(resp.ErrorCode))
				}
				m.joined, m.epoch = true, resp.MemberEpoch
				m.take(assignmentOf(resp))
			}
			checkDisjoint := func(step int) {
				seen := make(map[partitionKey]string)
				for _, m := range members {
					for id, ps := range m.owned {
						for _, p := range ps {
							k := partitionKey{id, p}
							if other, dup := seen[k]; dup {
								t.Fatalf("step %d: partition %v/%d owned by %s and %s", step, id[0], p, other, m.id)
							}
							seen[k] = m.id
						}
					}
				}
			}

			for step := range 400 {
				switch r := rng.IntN(20); {
				case r < 3 && len(members) < 6:
					next++
					m := &simMember{id: fmt.Sprintf("m%d", next), topics: subs[rng.IntN(len(subs))]}
					m.reset()
					members = append(members, m)
					heartbeat(m, false)
				case r < 4 && len(members) > 0:
					i := rng.IntN(len(members))
					if members[i].joined {
						wantCode(t, "leave", h.cg(cgBeat("g", members[i].id, -1, nil)).ErrorCode, 0)
					}
					members = slices.Delete(members, i, i+1)
				case r < 5 && len(members) > 0:
					members[rng.IntN(len(members))].topics = subs[rng.IntN(len(subs))]
				case r < 6:
					name := []string{"orders", "events", "metrics"}[rng.IntN(3)]
					ti := h.topics[name]
					ti.partitions = min(ti.partitions+1, 8)
					h.topics[name] = ti
				default:
					if len(members) > 0 {
						heartbeat(members[rng.IntN(len(members))], rng.IntN(3) == 0)
					}
				}
				checkDisjoint(step)
			}

			// Converge: everyone sends its subscription, then heartbeats.
			for _, m := range members {
				heartbeat(m, true)
			}
			for range 20 {
				for _, m := range members {
					heartbeat(m, false)
				}
				checkDisjoint(-1)
			}
			g := h.st.groups["g"]
			if len(members) == 0 {
				return
			}
			cg := g.cg
			if cg.stateName() != "Stable" {
				t.Fatalf("group %s after convergence", cg.stateName())
			}
			want := make(map[partitionKey]bool)
			for _, m := range members {
				if !equalPartitions(m.owned, cg.target[m.id]) {
					t.Fatalf("%s owns %v, target %v", m.id, m.owned, cg.target[m.id])
				}
				for _, name := range m.topics {
					ti := h.topics[name]
					for p := range ti.partitions {
						want[partitionKey{ti.id, p}] = true
					}
				}
			}
			owned := 0
			for _, m := range members {
				for id, ps := range m.owned {
					for _, p := range ps {
						if !want[partitionKey{id, p}] {
							t.Fatalf("%s owns %v/%d, which nobody subscribes to", m.id, id[0], p)
						}
						owned++
					}
				}
			}
			if owned != len(want) {
				t.Fatalf("%d partitions owned, %d subscribed", owned, len(want))
			}
		})
	}
}
