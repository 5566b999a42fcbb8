package group

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// offsetCommit handles OffsetCommit. Partitions of unknown topics, and
// metadata over offset.metadata.max.bytes, fail on their own; the group check
// (membership, generation or KIP-848 member epoch) applies to the rest. The
// answer must wait until the records in fx are durable.
func (s *shardState) offsetCommit(now time.Time, req *kmsg.OffsetCommitRequest, fx *effects) *kmsg.OffsetCommitResponse {
	resp := kmsg.NewPtrOffsetCommitResponse()
	resp.Version = req.Version
	useIDs := req.Version >= 10

	type pending struct{ topic, partition int }
	var valid []pending
	names := make([]string, len(req.Topics))
	for ti, rt := range req.Topics {
		out := kmsg.NewOffsetCommitResponseTopic()
		out.Topic, out.TopicID = rt.Topic, rt.TopicID
		name, topicCode := s.resolveCommitTopic(rt.Topic, rt.TopicID, useIDs)
		names[ti] = name
		for pi, rp := range rt.Partitions {
			op := kmsg.NewOffsetCommitResponseTopicPartition()
			op.Partition = rp.Partition
			op.ErrorCode = topicCode
			if op.ErrorCode == 0 {
				op.ErrorCode = s.checkPartition(name, rp.Partition)
			}
			if op.ErrorCode == 0 && rp.Metadata != nil && len(*rp.Metadata) > s.cfg.MaxMetadataSize {
				op.ErrorCode = kerr.OffsetMetadataTooLarge.Code
			}
			if op.ErrorCode == 0 {
				valid = append(valid, pending{ti, pi})
			}
			out.Partitions = append(out.Partitions, op)
		}
		resp.Topics = append(resp.Topics, out)
	}
	if len(valid) == 0 {
		return resp
	}

	code := s.validateCommit(now, req)
	if code == 0 {
		g := s.groups[req.Group]
		nowMs := now.UnixMilli()
		for _, v := range valid {
			rp := &req.Topics[v.topic].Partitions[v.partition]
			o := &committedOffset{offset: rp.Offset, leaderEpoch: rp.LeaderEpoch, commitTime: nowMs, expireTime: -1}
			if req.Version < 6 {
				o.leaderEpoch = -1
			}
			if rp.Metadata != nil {
				o.metadata = strings.Clone(*rp.Metadata)
			}
			if req.Version == 1 && rp.Timestamp != -1 {
				o.commitTime = rp.Timestamp // v1 let clients set the commit time
			}
			if req.Version >= 2 && req.Version <= 4 && req.RetentionTimeMillis != -1 {
				o.expireTime = nowMs + req.RetentionTimeMillis
			}
			g.setOffset(names[v.topic], rp.Partition, o)
			fx.records = append(fx.records, offsetCommitRecord(g.id, names[v.topic], rp.Partition, o))
		}
	}
	for _, v := range valid {
		resp.Topics[v.topic].Partitions[v.partition].ErrorCode = code
	}
	return resp
}

// resolveCommitTopic returns the topic's name (v10 addresses topics by id)
// and an error code if the topic is unknown.
func (s *shardState) resolveCommitTopic(name string, id [16]byte, useIDs bool) (string, int16) {
	if !useIDs {
		return name, 0
	}
	if s.cfg.TopicByID == nil {
		return "", kerr.UnknownTopicID.Code
	}
	resolved, ok := s.cfg.TopicByID(id)
	if !ok {
		return "", kerr.UnknownTopicID.Code
	}
	return resolved, 0
}

// checkPartition rejects partitions of topics the broker does not have.
func (s *shardState) checkPartition(topic string, partition int32) int16 {
	if s.cfg.Topics == nil {
		return 0
	}
	_, n, ok := s.cfg.Topics(topic)
	if !ok || partition < 0 || partition >= n {
		return kerr.UnknownTopicOrPartition.Code
	}
	return 0
}

// validateCommit finds (or, for a simple commit, creates) the group and checks
// the committer, returning the error code for every partition.
func (s *shardState) validateCommit(now time.Time, req *kmsg.OffsetCommitRequest) int16 {
	g := s.groups[req.Group]
	if g == nil {
		if req.Generation >= 0 {
			// A member of a group we do not know: its generation is gone.
			return kerr.IllegalGeneration.Code
		}
		g = newGroup(req.Group) // offsets-only ("simple") group
		s.groups[g.id] = g
		return 0
	}
	if g.cg != nil {
		return g.cg.validateOffsetCommit(req.MemberID, req.Generation, req.Version)
	}
	if code := g.validateOffsetCommit(req.Generation, req.MemberID, req.InstanceID); code != 0 {
		return code
	}
	if m := g.members[req.MemberID]; m != nil {
		m.heartbeatDeadline = now.Add(m.sessionTimeout) // a commit counts as a heartbeat
	}
	return 0
}

// validateOffsetCommit is the classic group check: generation -1 commits are
// allowed while the group is empty (admin tools, manual assignment); anything
// naming a member must be that member in the current generation; nothing may
// commit while the leader's assignment is pending.
func (g *group) validateOffsetCommit(generation int32, memberID string, instanceID *string) int16 {
	if generation < 0 && g.state == stateEmpty {
		return 0
	}
	if generation >= 0 || memberID != "" || instanceID != nil {
		if code := g.validateMember(memberID, instanceID); code != 0 {
			return code
		}
		if generation != g.generation {
			return kerr.IllegalGeneration.Code
		}
	} else if g.state != stateEmpty {
		return kerr.UnknownMemberID.Code
	}
	if g.state == stateCompletingRebalance {
		return kerr.RebalanceInProgress.Code
	}
	return 0
}

func (g *group) setOffset(topic string, partition int32, o *committedOffset) {
	ps := g.offsets[topic]
	if ps == nil {
		ps = make(map[int32]*committedOffset)
		g.offsets[strings.Clone(topic)] = ps
	}
	ps[partition] = o
}

func (g *group) deleteOffset(topic string, partition int32) bool {
	ps := g.offsets[topic]
	if _, ok := ps[partition]; !ok {
		return false
	}
	delete(ps, partition)
	if len(ps) == 0 {
		delete(g.offsets, topic)
	}
	return true
}

// offsetFetch answers one group of an OffsetFetch (all versions are mapped to
// the v8 shape). Nil Topics means every committed offset of the group;
// partitions without a commit answer offset -1. With requireStable (v7+), a
// partition with a transactional commit not yet decided answers
// UNSTABLE_OFFSET_COMMIT, which the client retries.
func (s *shardState) offsetFetch(rg *kmsg.OffsetFetchRequestGroup, version int16, requireStable bool) kmsg.OffsetFetchResponseGroup {
	out := kmsg.NewOffsetFetchResponseGroup()
	out.Group = rg.Group
	g := s.groups[rg.Group]
	if g != nil && g.cg != nil {
		if code := g.cg.validateOffsetFetch(rg.MemberID, rg.MemberEpoch); code != 0 {
			out.ErrorCode = code
			return out
		}
	}
	useIDs := version >= 10

	if rg.Topics == nil {
		if g == nil {
			return out
		}
		for _, topic := range slices.Sorted(maps.Keys(g.offsets)) {
			t := kmsg.NewOffsetFetchResponseGroupTopic()
			t.Topic = topic
			if useIDs {
				id, ok := s.topicID(topic)
				if !ok {
					continue // deleted topics have no id to report
				}
				t.Topic, t.TopicID = "", id
			}
			for _, p := range slices.Sorted(maps.Keys(g.offsets[topic])) {
				fp := fetchedPartition(p, g.offsets[topic][p])
				if requireStable && s.hasPending(g.id, topic, p) {
					fp = unstablePartition(p)
				}
				t.Partitions = append(t.Partitions, fp)
			}
			out.Topics = append(out.Topics, t)
		}
		return out
	}

	for _, rt := range rg.Topics {
		t := kmsg.NewOffsetFetchResponseGroupTopic()
		t.Topic, t.TopicID = rt.Topic, rt.TopicID
		name, code := rt.Topic, int16(0)
		if useIDs {
			name, code = s.resolveCommitTopic("", rt.TopicID, true)
		}
		for _, p := range rt.Partitions {
			var o *committedOffset
			if g != nil && code == 0 {
				o = g.offsets[name][p]
			}
			fp := fetchedPartition(p, o)
			fp.ErrorCode = code
			if code == 0 && requireStable && s.hasPending(rg.Group, name, p) {
				fp = unstablePartition(p)
			}
			t.Partitions = append(t.Partitions, fp)
		}
		out.Topics = append(out.Topics, t)
	}
	return out
}

func (s *shardState) topicID(name string) ([16]byte, bool) {
	if s.cfg.Topics == nil {
		return [16]byte{}, false
	}
	id, _, ok := s.cfg.Topics(name)
	return id, ok
}

func fetchedPartition(partition int32, o *committedOffset) kmsg.OffsetFetchResponseGroupTopicPartition {
	p := kmsg.NewOffsetFetchResponseGroupTopicPartition()
	p.Partition = partition
	p.Offset = -1
	p.LeaderEpoch = -1
	p.Metadata = new("")
	if o != nil {
		p.Offset = o.offset
		p.LeaderEpoch = o.leaderEpoch
		p.Metadata = new(o.metadata)
	}
	return p
}

// offsetDelete handles OffsetDelete: an empty group loses the offsets asked
// for; a group with members only those of topics it does not consume.
func (s *shardState) offsetDelete(req *kmsg.OffsetDeleteRequest, fx *effects) *kmsg.OffsetDeleteResponse {
	resp := kmsg.NewPtrOffsetDeleteResponse()
	resp.Version = req.Version
	if req.Group == "" {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return resp
	}
	g := s.groups[req.Group]
	if g == nil {
		resp.ErrorCode = kerr.GroupIDNotFound.Code
		return resp
	}
	empty := g.state == stateEmpty
	if g.cg != nil {
		empty = len(g.cg.members) == 0
	}
	if !empty && g.cg == nil && g.protocolType != consumerProtocolType {
		// Only the consumer protocol tells us which topics are in use.
		resp.ErrorCode = kerr.NonEmptyGroup.Code
		return resp
	}
	for _, rt := range req.Topics {
		out := kmsg.NewOffsetDeleteResponseTopic()
		out.Topic = rt.Topic
		subscribed := !empty && g.isSubscribedTo(rt.Topic)
		for _, rp := range rt.Partitions {
			op := kmsg.NewOffsetDeleteResponseTopicPartition()
			op.Partition = rp.Partition
			op.ErrorCode = s.checkPartition(rt.Topic, rp.Partition)
			if op.ErrorCode == 0 && subscribed {
				op.ErrorCode = kerr.GroupSubscribedToTopic.Code
			}
			if op.ErrorCode == 0 {
				s.removeOffsets(g.id, func(topic string, p int32) bool { return topic == rt.Topic && p == rp.Partition }, fx)
			}
			out.Partitions = append(out.Partitions, op)
		}
		resp.Topics = append(resp.Topics, out)
	}
	s.maybeRemoveGroup(g, fx)
	return resp
}

// maybeRemoveGroup drops a group left with no members and no offsets (Kafka
// moves it to Dead), with a tombstone if group metadata was ever written.
func (s *shardState) maybeRemoveGroup(g *group, fx *effects) {
	if !g.removable() {
		return
	}
	if g.hasMetadata || g.generation > 0 {
		fx.records = append(fx.records, groupTombstone(g.id))
	}
	s.dropConsumerRecords(g, fx)
	delete(s.groups, g.id)
}

// expireOffsets removes offsets older than offsets.retention.minutes from
// groups that are not consuming them (Kafka's removeExpiredOffsets): an empty
// group's offsets count from when it became empty, a stable consumer group's
// unsubscribed topics from their commit time.
func (s *shardState) expireOffsets(now time.Time, fx *effects) {
	nowMs := now.UnixMilli()
	retention := s.cfg.OffsetsRetention.Milliseconds()
	for _, g := range s.sortedGroups() {
		var base func(o *committedOffset) int64
		var eligible func(topic string) bool
		commitTime := func(o *committedOffset) int64 { return o.commitTime }
		all := func(string) bool { return true }
		unsubscribed := func(topic string) bool { return !g.isSubscribedTo(topic) }
		switch {
		case g.cg != nil:
			base, eligible = commitTime, unsubscribed
		case g.protocolType != "" && g.state == stateEmpty:
			since := g.stateSince.UnixMilli()
			base = func(o *committedOffset) int64 {
				if g.stateSince.IsZero() {
					return o.commitTime
				}
				return since
			}
			eligible = all
		case g.protocolType == consumerProtocolType && g.subscribedKnown && g.state == stateStable:
			base, eligible = commitTime, unsubscribed
		case g.protocolType == "":
			base, eligible = commitTime, all
		default:
			continue
		}
		for _, topic := range slices.Sorted(maps.Keys(g.offsets)) {
			if !eligible(topic) {
				continue
			}
			for _, p := range slices.Sorted(maps.Keys(g.offsets[topic])) {
				if s.hasPending(g.id, topic, p) {
					continue // as Kafka: an open transaction still commits here
				}
				o := g.offsets[topic][p]
				expired := nowMs-base(o) >= retention
				if o.expireTime >= 0 {
					expired = nowMs >= o.expireTime
				}
				if expired {
					g.deleteOffset(topic, p)
					fx.records = append(fx.records, offsetTombstone(g.id, topic, p))
				}
			}
		}
		s.maybeRemoveGroup(g, fx)
	}
}

// removeTopicOffsets drops every group's committed and pending offsets of
// the topics gone reports (deleted topics: Kafka's onPartitionsDeleted), so a
// topic created again under the same name starts without them. A group left
// empty with no offsets is removed, as after OffsetDelete.
func (s *shardState) removeTopicOffsets(gone func(topic string) bool, fx *effects) {
	ids := make(map[string]bool, len(s.groups))
	for id := range s.groups {
		ids[id] = true
	}
	for _, p := range s.pending {
		for id := range p {
			ids[id] = true // a group may have pending offsets only
		}
	}
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		if s.removeOffsets(id, func(topic string, _ int32) bool { return gone(topic) }, fx) {
			if g := s.groups[id]; g != nil {
				s.maybeRemoveGroup(g, fx)
			}
		}
	}
}

// removeOffsets drops a group's committed and pending offsets of the
// partitions match accepts, each with a tombstone, and reports whether there
// were any. As Kafka's removeOffsets, a removed partition loses the offsets
// open transactions hold for it too, and replaying its tombstone does the
// same (replay), so a later COMMIT marker does not bring it back.
func (s *shardState) removeOffsets(groupID string, match func(topic string, partition int32) bool, fx *effects) bool {
	type tp struct {
		topic     string
		partition int32
	}
	found := map[tp]bool{}
	if g := s.groups[groupID]; g != nil {
		for topic, ps := range g.offsets {
			for p := range ps {
				if match(topic, p) {
					found[tp{topic, p}] = true
				}
			}
		}
	}
	for _, pending := range s.pending {
		for topic, ps := range pending[groupID] {
			for p := range ps {
				if match(topic, p) {
					found[tp{topic, p}] = true
				}
			}
		}
	}
	keys := slices.SortedFunc(maps.Keys(found), func(a, b tp) int {
		if c := cmp.Compare(a.topic, b.topic); c != 0 {
			return c
		}
		return cmp.Compare(a.partition, b.partition)
	})
	for _, k := range keys {
		if g := s.groups[groupID]; g != nil {
			g.deleteOffset(k.topic, k.partition)
		}
		s.dropPending(groupID, k.topic, k.partition)
		fx.records = append(fx.records, offsetTombstone(groupID, k.topic, k.partition))
	}
	return len(keys) > 0
}

// sortedOffsets lists a group's offsets by topic and partition; for tests and
// describe-style output.
func (g *group) sortedOffsets() []topicPartitionOffset {
	var out []topicPartitionOffset
	for topic, ps := range g.offsets {
		for p, o := range ps {
			out = append(out, topicPartitionOffset{topic: topic, partition: p, offset: *o})
		}
	}
	slices.SortFunc(out, func(a, b topicPartitionOffset) int {
		if c := cmp.Compare(a.topic, b.topic); c != 0 {
			return c
		}
		return cmp.Compare(a.partition, b.partition)
	})
	return out
}

type topicPartitionOffset struct {
	topic     string
	partition int32
	offset    committedOffset
}
