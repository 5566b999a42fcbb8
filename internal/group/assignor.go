package group

import (
	"bytes"
	"maps"
	"slices"
)

// Server-side assignors (KIP-848) a member may ask for; the first is the
// default, as in Kafka.
const (
	assignorUniform = "uniform"
	assignorRange   = "range"
)

func supportedAssignor(name string) bool {
	return name == assignorUniform || name == assignorRange
}

// topicPartitions is an assignment: topic id to sorted partitions.
type topicPartitions map[[16]byte][]int32

// topicInfo is what the assignors need to know of a topic.
type topicInfo struct {
	name       string
	id         [16]byte
	partitions int32
}

// assignMember is one member as the assignors see it.
type assignMember struct {
	id     string
	topics []string // subscribed topics that exist, sorted
}

type topicPartition struct {
	topic     string
	partition int32
}

// assignRange gives every topic's partitions to the members subscribed to it
// in contiguous ranges, members ordered by id; the first members get one more
// when the partitions do not divide evenly.
func assignRange(members []assignMember, topics map[string]topicInfo) map[string]topicPartitions {
	out := emptyAssignments(members)
	byTopic := make(map[string][]string)
	for _, m := range members {
		for _, t := range m.topics {
			byTopic[t] = append(byTopic[t], m.id)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(byTopic)) {
		ids := byTopic[name]
		slices.Sort(ids)
		info := topics[name]
		n := int32(len(ids))
		per, extra := info.partitions/n, info.partitions%n
		start := int32(0)
		for i, id := range ids {
			count := per
			if int32(i) < extra {
				count++
			}
			for p := start; p < start+count; p++ {
				out[id][info.id] = append(out[id][info.id], p)
			}
			start += count
		}
	}
	return trimEmpty(out)
}

// assignUniform spreads all subscribed partitions evenly over the members
// subscribed to them, keeping each partition with its previous owner where
// balance allows (a simple sticky assignor, like Kafka's "uniform").
func assignUniform(members []assignMember, topics map[string]topicInfo, previous map[string]topicPartitions) map[string]topicPartitions {
	eligible := make(map[string]map[string]bool) // topic -> member ids subscribed
	for _, m := range members {
		for _, t := range m.topics {
			if eligible[t] == nil {
				eligible[t] = make(map[string]bool)
			}
			eligible[t][m.id] = true
		}
	}
	var all []topicPartition
	byID := make(map[[16]byte]string)
	for _, name := range slices.Sorted(maps.Keys(eligible)) {
		info := topics[name]
		byID[info.id] = name
		for p := range info.partitions {
			all = append(all, topicPartition{name, p})
		}
	}

	owner := make(map[topicPartition]string, len(all))
	count := make(map[string]int, len(members))

	// A member keeps previous partitions up to its fair share: its
	// reachable partitions divided by the members competing for them.
	for _, m := range members {
		share := fairShare(m, members, topics, eligible)
		prev := previous[m.id]
		for _, id := range slices.SortedFunc(maps.Keys(prev), compareIDs) {
			name, ok := byID[id]
			if !ok || !eligible[name][m.id] {
				continue
			}
			for _, p := range prev[id] {
				tp := topicPartition{name, p}
				if p >= topics[name].partitions || owner[tp] != "" || count[m.id] >= share {
					continue
				}
				owner[tp] = m.id
				count[m.id]++
			}
		}
	}
	// The rest go to the least loaded eligible member.
	for _, tp := range all {
		if owner[tp] == "" {
			if id := leastLoaded(eligible[tp.topic], count, ""); id != "" {
				owner[tp] = id
				count[id]++
			}
		}
	}
	// Even out what stickiness skewed: move a partition whenever another
	// eligible member has at least two fewer. Each move lowers the sum of
	// squared counts, so this ends.
	for moved := true; moved; {
		moved = false
		for _, tp := range all {
			from := owner[tp]
			to := leastLoaded(eligible[tp.topic], count, from)
			if to != "" && count[to]+1 < count[from] {
				owner[tp] = to
				count[from]--
				count[to]++
				moved = true
			}
		}
	}

	out := emptyAssignments(members)
	for _, tp := range all {
		if id := owner[tp]; id != "" {
			tid := topics[tp.topic].id
			out[id][tid] = append(out[id][tid], tp.partition)
		}
	}
	return trimEmpty(out)
}

// fairShare is ceil(partitions m can take / members sharing those topics).
func fairShare(m assignMember, members []assignMember, topics map[string]topicInfo, eligible map[string]map[string]bool) int {
	var partitions int
	sharing := make(map[string]bool)
	for _, t := range m.topics {
		partitions += int(topics[t].partitions)
		for id := range eligible[t] {
			sharing[id] = true
		}
	}
	if len(sharing) == 0 {
		return 0
	}
	return (partitions + len(sharing) - 1) / len(sharing)
}

// leastLoaded picks the eligible member with the fewest partitions (ties by
// id), other than skip.
func leastLoaded(eligible map[string]bool, count map[string]int, skip string) string {
	best := ""
	for id := range eligible {
		if id == skip {
			continue
		}
		if best == "" || count[id] < count[best] || (count[id] == count[best] && id < best) {
			best = id
		}
	}
	return best
}

func emptyAssignments(members []assignMember) map[string]topicPartitions {
	out := make(map[string]topicPartitions, len(members))
	for _, m := range members {
		out[m.id] = make(topicPartitions)
	}
	return out
}

// trimEmpty sorts every partition list; members keep an entry even when they
// get nothing, so their target is known.
func trimEmpty(out map[string]topicPartitions) map[string]topicPartitions {
	for _, a := range out {
		for id, ps := range a {
			if len(ps) == 0 {
				delete(a, id)
				continue
			}
			slices.Sort(ps)
		}
	}
	return out
}

func compareIDs(a, b [16]byte) int { return bytes.Compare(a[:], b[:]) }
