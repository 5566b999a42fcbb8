package group

import (
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// This file is the KIP-848 reconciliation engine: how a member moves from the
// partitions it owns to its target assignment without two members ever
// owning a partition at once.

// subscribedTopicIDs resolves the member's subscription to topic ids.
func (s *shardState) subscribedTopicIDs(cg *consumerGroup, m *consumerMember) map[[16]byte]bool {
	ids := make(map[[16]byte]bool)
	for _, name := range cg.subscribedNames(m) {
		if info, ok := s.lookupTopic(name); ok {
			ids[info.id] = true
		}
	}
	return ids
}

// reconcile moves a member towards its target assignment (Kafka's
// CurrentAssignmentBuilder): partitions it must give up are revoked first,
// with the epoch held back until the member reports them gone; then it moves
// to the assignment epoch and gets the target partitions that are free.
func (s *shardState) reconcile(now time.Time, cg *consumerGroup, m *consumerMember, owned []kmsg.ConsumerGroupHeartbeatRequestTopic, enforceSubscription bool) {
	if m.state == memberStable && m.epoch == cg.assignmentEpoch && !enforceSubscription {
		return
	}
	before := *m
	subscribed := s.subscribedTopicIDs(cg, m)
	cg.releaseOwnership(m)
	switch m.state {
	case memberStable:
		if m.epoch != cg.assignmentEpoch {
			cg.computeNextAssignment(m, owned, subscribed)
		} else {
			cg.dropUnsubscribed(m, owned, subscribed)
		}
	case memberUnrevokedPartitions:
		if ownsAnyOf(owned, m.pendingRevocation) {
			if enforceSubscription {
				cg.dropUnsubscribed(m, owned, subscribed)
			}
		} else {
			cg.computeNextAssignment(m, owned, subscribed)
		}
	case memberUnreleasedPartitions:
		cg.computeNextAssignment(m, owned, subscribed)
	}
	cg.takeOwnership(m)

	changed := before.state != m.state || before.epoch != m.epoch ||
		!equalPartitions(before.assigned, m.assigned) || !equalPartitions(before.pendingRevocation, m.pendingRevocation)
	if changed {
		if m.state == memberUnrevokedPartitions {
			m.revokeDeadline = now.Add(m.rebalanceTimeout)
		} else {
			m.revokeDeadline = time.Time{}
		}
	}
}

func (cg *consumerGroup) computeNextAssignment(m *consumerMember, owned []kmsg.ConsumerGroupHeartbeatRequestTopic, subscribed map[[16]byte]bool) {
	target := cg.target[m.id]
	topicIDs := make(map[[16]byte]bool)
	for id := range target {
		topicIDs[id] = true
	}
	for id := range m.assigned {
		topicIDs[id] = true
	}
	assigned, revoke, add := topicPartitions{}, topicPartitions{}, topicPartitions{}
	unreleased := false
	for id := range topicIDs {
		want := target[id]
		if !subscribed[id] {
			want = nil
		}
		current := m.assigned[id]
		keep := intersect(current, want)
		if len(keep) > 0 {
			assigned[id] = keep
		}
		if gone := subtract(current, keep); len(gone) > 0 {
			revoke[id] = gone
		}
		for _, p := range subtract(want, keep) {
			if cg.owners[partitionKey{id, p}] != "" {
				unreleased = true // still held by a member revoking it
				continue
			}
			add[id] = append(add[id], p)
		}
	}
	if len(revoke) > 0 && ownsAnyOf(owned, revoke) {
		m.previousEpoch = m.epoch
		m.state = memberUnrevokedPartitions
		m.assigned, m.pendingRevocation = assigned, revoke
		return
	}
	for id, ps := range add {
		merged := append(slices.Clone(assigned[id]), ps...)
		slices.Sort(merged)
		assigned[id] = merged
	}
	m.state = memberStable
	if unreleased {
		m.state = memberUnreleasedPartitions
	}
	m.previousEpoch, m.epoch = m.epoch, cg.assignmentEpoch
	m.assigned, m.pendingRevocation = assigned, topicPartitions{}
}

// dropUnsubscribed removes topics the member no longer subscribes to from its
// assignment without waiting for a new target (Kafka's updateCurrentAssignment).
func (cg *consumerGroup) dropUnsubscribed(m *consumerMember, owned []kmsg.ConsumerGroupHeartbeatRequestTopic, subscribed map[[16]byte]bool) {
	assigned := topicPartitions{}
	pending := maps.Clone(m.pendingRevocation)
	if pending == nil {
		pending = topicPartitions{}
	}
	dropped := false
	for id, ps := range m.assigned {
		if subscribed[id] {
			assigned[id] = ps
			continue
		}
		dropped = true
		merged := append(slices.Clone(pending[id]), ps...)
		slices.Sort(merged)
		pending[id] = slices.Compact(merged)
	}
	if !dropped {
		return
	}
	m.previousEpoch = m.epoch
	m.assigned = assigned
	if len(pending) > 0 && ownsAnyOf(owned, pending) {
		m.state = memberUnrevokedPartitions
		m.pendingRevocation = pending
	}
}

func (cg *consumerGroup) takeOwnership(m *consumerMember) {
	for _, a := range []topicPartitions{m.assigned, m.pendingRevocation} {
		for id, ps := range a {
			for _, p := range ps {
				cg.owners[partitionKey{id, p}] = m.id
			}
		}
	}
}

func (cg *consumerGroup) releaseOwnership(m *consumerMember) {
	for _, a := range []topicPartitions{m.assigned, m.pendingRevocation} {
		for id, ps := range a {
			for _, p := range ps {
				if k := (partitionKey{id, p}); cg.owners[k] == m.id {
					delete(cg.owners, k)
				}
			}
		}
	}
}

// ownsAnyOf reports whether the member still reports owning any partition of
// a; unknown ownership (a heartbeat without Topics) counts as owning.
func ownsAnyOf(owned []kmsg.ConsumerGroupHeartbeatRequestTopic, a topicPartitions) bool {
	if owned == nil {
		return true
	}
	for _, t := range owned {
		for _, p := range t.Partitions {
			if slices.Contains(a[t.TopicID], p) {
				return true
			}
		}
	}
	return false
}

// ownsSubsetOf reports whether every reported partition is in a.
func ownsSubsetOf(owned []kmsg.ConsumerGroupHeartbeatRequestTopic, a topicPartitions) bool {
	if owned == nil {
		return false
	}
	for _, t := range owned {
		ps, ok := a[t.TopicID]
		if !ok && len(t.Partitions) > 0 {
			return false
		}
		for _, p := range t.Partitions {
			if !slices.Contains(ps, p) {
				return false
			}
		}
	}
	return true
}

func intersect(a, b []int32) []int32 {
	var out []int32
	for _, p := range a {
		if slices.Contains(b, p) {
			out = append(out, p)
		}
	}
	return out
}

func subtract(a, b []int32) []int32 {
	var out []int32
	for _, p := range a {
		if !slices.Contains(b, p) {
			out = append(out, p)
		}
	}
	return out
}

func equalPartitions(a, b topicPartitions) bool {
	if len(a) != len(b) {
		return false
	}
	for id, ps := range a {
		if !slices.Equal(ps, b[id]) {
			return false
		}
	}
	return true
}
