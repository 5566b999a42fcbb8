package group

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// This file is online migration between the classic and KIP-848 protocols
// (group.consumer.migration.policy), as Kafka 3.8+ does it:
//
//   - Upgrade: a consumer-protocol member joining a classic group with
//     members turns it into a KIP-848 group. The classic members stay, each
//     a consumerMember with classic set, at the epoch of the generation they
//     had and owning the partitions of their last assignment.
//   - Mixed group: classic members keep speaking JoinGroup, SyncGroup,
//     Heartbeat and LeaveGroup. The coordinator assigns for them (the group's
//     server assignor); a heartbeat answers REBALANCE_IN_PROGRESS when the
//     member has to move, the JoinGroup that follows reconciles it as a
//     consumer heartbeat would (its subscription's owned partitions are what
//     it still holds), and SyncGroup hands it its assigned partitions.
//   - Downgrade: when the last consumer-protocol member leaves or is fenced
//     and classic members remain, the group turns classic again and
//     rebalances, so its members assign among themselves once more.

// classicMembership is what a member that speaks the classic protocol keeps
// inside a KIP-848 group.
type classicMembership struct {
	protocolType   string
	protocols      []protocol // from its last JoinGroup, in its order of preference
	sessionTimeout time.Duration
	// joinDeadline is set once the member was told to rejoin: it is removed
	// if no JoinGroup arrives by then.
	joinDeadline time.Time
	// syncDeadline is set by a JoinGroup answer: it is removed if no
	// SyncGroup arrives by then.
	syncDeadline time.Time
}

// supports reports whether the member named protocol name in its JoinGroup.
func (c *classicMembership) supports(name string) bool {
	return slices.ContainsFunc(c.protocols, func(p protocol) bool { return p.name == name })
}

// classicMember returns a classic member of a KIP-848 group, or the error a
// classic request for it gets (Kafka's validateConsumerGroupMember and
// throwIfMemberDoesNotUseClassicProtocol).
func (cg *consumerGroup) classicMember(memberID string, instanceID *string) (*consumerMember, int16) {
	m := cg.members[memberID]
	if instanceID != nil {
		if id, ok := cg.static[*instanceID]; ok && id != memberID {
			return nil, kerr.FencedInstanceID.Code
		}
	}
	if m == nil || m.classic == nil {
		return nil, kerr.UnknownMemberID.Code
	}
	return m, 0
}

// upgradeToConsumerGroup turns a classic group with members into a KIP-848
// group for a joining consumer-protocol member (Kafka's
// validateOnlineUpgrade and convertToConsumerGroup). Parked JoinGroup and
// SyncGroup calls are told to rejoin; the classic metadata record is
// tombstoned, as KIP-848 membership is not persisted.
func (s *shardState) upgradeToConsumerGroup(now time.Time, g *group, fx *effects) (int16, string) {
	notConsumer := fmt.Sprintf("Group %s is not a consumer group.", g.id)
	switch {
	case !s.cfg.upgradeAllowed():
		return kerr.GroupIDNotFound.Code, notConsumer
	case g.protocolType != consumerProtocolType:
		return kerr.GroupIDNotFound.Code, notConsumer
	case s.cfg.MaxGroupSize > 0 && len(g.members) >= s.cfg.MaxGroupSize:
		return kerr.GroupMaxSizeReached.Code, fmt.Sprintf(
			"The consumer group has reached its maximum capacity of %d members.", s.cfg.MaxGroupSize)
	}
	cg := newConsumerGroup()
	cg.epoch, cg.assignmentEpoch = g.generation, g.generation
	for _, m := range g.membersInOrder() {
		metadata := m.metadataFor(g.protocol)
		if g.protocol == "" && len(m.protocols) > 0 {
			metadata = m.protocols[0].metadata
		}
		var sub kmsg.ConsumerMemberMetadata
		if err := sub.ReadFrom(metadata); err != nil {
			return kerr.GroupIDNotFound.Code, fmt.Sprintf(
				"Cannot upgrade classic group %s to a consumer group: the subscription of member %s does not parse.", g.id, m.id)
		}
		cm := newConsumerMember(m.id)
		cm.instanceID = m.instanceID
		cm.clientID, cm.clientHost = m.clientID, m.clientHost
		cm.rebalanceTimeout = m.rebalanceTimeout
		cm.topics = subscribedTopics(sub.Topics)
		cm.epoch = g.generation
		cm.classic = &classicMembership{protocolType: m.protocolType, protocols: m.protocols, sessionTimeout: m.sessionTimeout}
		cm.sessionDeadline = now.Add(m.sessionTimeout)
		// The last assignment counts in any state: a member keeps consuming
		// it until it rejoins (a rebalance interrupted while completing
		// clears assignments).
		var assignment kmsg.ConsumerMemberAssignment
		if len(m.assignment) > 0 {
			if err := assignment.ReadFrom(m.assignment); err != nil || len(assignment.UserData) > 0 {
				// A custom assignor's user data would be lost.
				return kerr.GroupIDNotFound.Code, fmt.Sprintf(
					"Cannot upgrade classic group %s to a consumer group: the assignment of member %s is not a plain consumer assignment.", g.id, m.id)
			}

			for _, t := range assignment.Topics {
				s.addFreePartitions(cg, cm.assigned, t.Topic, t.Partitions)
			}
		}
		cg.target[cm.id] = maps.Clone(cm.assigned)
		cg.takeOwnership(cm)
		cg.members[cm.id] = cm
		if cm.instanceID != nil {
			cg.static[*cm.instanceID] = cm.id
		}
	}
	cg.assignor = cg.chooseAssignor()
	cg.metadataHash = s.subscriptionHash(cg)

	for _, m := range g.membersInOrder() {
		if m.awaitingJoin() {
			fx.answer(m.joinWaiter, joinError(m.joinVersion, m.id, kerr.RebalanceInProgress.Code))
		}
		if m.awaitingSync() {
			fx.answer(m.syncWaiter, syncError(m.syncVersion, kerr.RebalanceInProgress.Code))
		}
	}
	if g.hasMetadata {
		fx.records = append(fx.records, groupTombstone(g.id))
		g.hasMetadata = false
	}
	g.resetClassic()
	g.cg = cg
	fx.conversions = append(fx.conversions, conversion{group: g.id, to: groupTypeConsumer, members: len(cg.members) + 1})
	return 0, ""
}

// addFreePartitions adds the partitions of topic that exist and nobody in cg
// owns yet to a.
func (s *shardState) addFreePartitions(cg *consumerGroup, a topicPartitions, topic string, partitions []int32) {
	info, ok := s.lookupTopic(topic)
	if !ok {
		return
	}
	for _, p := range partitions {
		if p < 0 || p >= info.partitions || cg.owners[partitionKey{info.id, p}] != "" || slices.Contains(a[info.id], p) {
			continue
		}
		a[info.id] = append(a[info.id], p)
	}
	slices.Sort(a[info.id])
}

// subscribedTopics is a subscription's topic list as consumerMember keeps it:
// sorted, without duplicates, cloned from the request.
func subscribedTopics(topics []string) []string {
	out := slices.Compact(slices.Sorted(slices.Values(topics)))
	for i := range out {
		out[i] = strings.Clone(out[i])
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// classicJoinToConsumerGroup handles a JoinGroup into a KIP-848 group with
// members (Kafka's classicGroupJoinToConsumerGroup). It never parks: the
// member is reconciled at once and answered with its member epoch as the
// generation; the partitions come with its SyncGroup.
func (s *shardState) classicJoinToConsumerGroup(now time.Time, g *group, j *joinCall) *kmsg.JoinGroupResponse {
	req, cg := j.req, g.cg
	if req.ProtocolType != consumerProtocolType || len(req.Protocols) == 0 {
		return j.fail(req.MemberID, kerr.InconsistentGroupProtocol.Code)
	}
	if !cg.classicMembersSupport(req.Protocols) {
		return j.fail(req.MemberID, kerr.InconsistentGroupProtocol.Code)
	}
	// Every protocol carries the same subscription; Kafka reads the first.
	var sub kmsg.ConsumerMemberMetadata
	if err := sub.ReadFrom(req.Protocols[0].Metadata); err != nil {
		return j.fail(req.MemberID, kerr.InconsistentGroupProtocol.Code)
	}

	memberID := req.MemberID
	var m *consumerMember
	switch {
	case memberID == "":
		prefix := j.client.ClientID
		if req.InstanceID != nil {
			prefix = *req.InstanceID
		}
		memberID = prefix + "-" + s.newID()
		if req.InstanceID == nil && req.Version >= 4 {
			// KIP-394, as for classic groups: the client comes back with it.
			return j.fail(memberID, kerr.MemberIDRequired.Code)
		}
		if req.InstanceID != nil {
			if old := cg.members[cg.static[*req.InstanceID]]; old != nil {
				// A classic static member always takes over its instance id.
				m = cg.replaceStaticMember(old, memberID)
				if m.classic == nil {
					m.classic = &classicMembership{}
				}
			}
		}
	case req.InstanceID != nil:
		var code int16
		if m, code = cg.classicMember(memberID, req.InstanceID); code != 0 {
			return j.fail(req.MemberID, code)
		}
		if _, ok := cg.static[*req.InstanceID]; !ok {
			return j.fail(req.MemberID, kerr.UnknownMemberID.Code)
		}
	default:
		var code int16
		if m, code = cg.classicMember(memberID, nil); code != 0 && cg.members[memberID] != nil {
			return j.fail(req.MemberID, code)
		}
		// An unknown id (handed out with MEMBER_ID_REQUIRED) joins as new.
	}
	isNew := m == nil
	if isNew {
		memberID = strings.Clone(memberID)
		if s.cfg.MaxGroupSize > 0 && len(cg.members) >= s.cfg.MaxGroupSize {
			return j.fail("", kerr.GroupMaxSizeReached.Code)
		}
		m = newConsumerMember(memberID)
		m.classic = &classicMembership{}
		if req.InstanceID != nil {
			m.instanceID = new(strings.Clone(*req.InstanceID))
		}
		cg.members[m.id] = m
		if m.instanceID != nil {
			cg.static[*m.instanceID] = m.id
		}
	}

	topics := subscribedTopics(sub.Topics)
	subscriptionChanged := !slices.Equal(topics, m.topics) || m.regex != ""
	m.topics, m.regex = topics, ""
	m.rebalanceTimeout = j.rebalance
	m.clientID, m.clientHost = j.client.ClientID, j.client.ClientHost
	m.classic.protocolType = strings.Clone(req.ProtocolType)
	m.classic.protocols = cloneProtocols(req.Protocols)
	m.classic.sessionTimeout = j.session
	if subscriptionChanged || isNew {
		cg.unionValid = false
	}
	hash := s.subscriptionHash(cg)
	if subscriptionChanged || isNew || hash != cg.metadataHash {
		cg.epoch++
	}
	if cg.epoch > cg.assignmentEpoch {
		s.computeTargetAssignment(cg, hash)
	}
	s.reconcile(now, cg, m, s.ownedPartitions(sub.OwnedPartitions), subscriptionChanged)

	m.sessionDeadline = now.Add(j.session)
	m.classic.joinDeadline = time.Time{}
	m.classic.syncDeadline = now.Add(j.rebalance)

	resp := kmsg.NewPtrJoinGroupResponse()
	resp.Version = req.Version
	resp.Generation = m.epoch
	resp.ProtocolType = new(consumerProtocolType)
	resp.Protocol = new(m.classic.protocols[0].name)
	resp.MemberID = m.id
	return resp
}

// ownedPartitions turns a classic subscription's owned partitions into the
// form reconcile takes (never nil: an eager member owns nothing when it
// rejoins).
func (s *shardState) ownedPartitions(owned []kmsg.ConsumerMemberMetadataOwnedPartition) []kmsg.ConsumerGroupHeartbeatRequestTopic {
	out := []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	for _, o := range owned {
		info, ok := s.lookupTopic(o.Topic)
		if !ok {
			continue
		}
		t := kmsg.NewConsumerGroupHeartbeatRequestTopic()
		t.TopicID = info.id
		t.Partitions = slices.Clone(o.Partitions)
		out = append(out, t)
	}
	return out
}

// classicSyncToConsumerGroup answers a classic member's SyncGroup in a
// KIP-848 group with the partitions it has now (Kafka's
// classicGroupSyncToConsumerGroup); partitions it must give up are left out,
// so a cooperative member revokes them and rejoins.
func (s *shardState) classicSyncToConsumerGroup(now time.Time, g *group, req *kmsg.SyncGroupRequest) *kmsg.SyncGroupResponse {
	m, code := g.cg.classicMember(req.MemberID, req.InstanceID)
	switch {
	case code != 0:
		return syncError(req.Version, code)
	case req.Generation != m.epoch:
		return syncError(req.Version, kerr.IllegalGeneration.Code)
	case req.ProtocolType != nil && *req.ProtocolType != consumerProtocolType,
		req.Protocol != nil && *req.Protocol != m.classic.protocols[0].name:
		return syncError(req.Version, kerr.InconsistentGroupProtocol.Code)
	case g.cg.epoch > m.epoch && m.state != memberUnrevokedPartitions:
		// The target moved since the join: rejoin first.
		if m.classic.joinDeadline.IsZero() {
			m.classic.joinDeadline = now.Add(m.rebalanceTimeout)
		}
		return syncError(req.Version, kerr.RebalanceInProgress.Code)
	}
	m.classic.syncDeadline = time.Time{}
	m.sessionDeadline = now.Add(m.classic.sessionTimeout)
	resp := syncError(req.Version, 0)
	resp.ProtocolType = new(consumerProtocolType)
	name := m.classic.protocols[0].name
	if req.Protocol != nil {
		name = *req.Protocol
	}
	resp.Protocol = new(name)
	resp.MemberAssignment = s.classicAssignment(m.assigned, m.classic.assignmentVersion())
	return resp
}

// assignmentVersion is the consumer protocol version of the member's first
// protocol's subscription, which its assignment is encoded in (at most 3,
// the newest kmsg knows).
func (c *classicMembership) assignmentVersion() int16 {
	if len(c.protocols) == 0 || len(c.protocols[0].metadata) < 2 {
		return 0
	}
	v := int16(c.protocols[0].metadata[0])<<8 | int16(c.protocols[0].metadata[1])
	return min(max(v, 0), 3)
}

// classicAssignment encodes partitions as a classic consumer's assignment.
func (s *shardState) classicAssignment(a topicPartitions, version int16) []byte {
	out := kmsg.NewConsumerMemberAssignment()
	out.Version = version
	for _, id := range slices.SortedFunc(maps.Keys(a), compareIDs) {
		name := ""
		if s.cfg.TopicByID != nil {
			name, _ = s.cfg.TopicByID(id)
		}
		if name == "" {
			continue
		}
		t := kmsg.NewConsumerMemberAssignmentTopic()
		t.Topic = name
		t.Partitions = slices.Clone(a[id])
		out.Topics = append(out.Topics, t)
	}
	return out.AppendTo(nil)
}

// classicHeartbeatToConsumerGroup keeps a classic member of a KIP-848 group
// alive and tells it to rejoin when it has partitions to give up or to get
// (Kafka's classicGroupHeartbeatToConsumerGroup).
func (s *shardState) classicHeartbeatToConsumerGroup(now time.Time, g *group, req *kmsg.HeartbeatRequest) int16 {
	cg := g.cg
	m, code := cg.classicMember(req.MemberID, req.InstanceID)
	switch {
	case code != 0:
		return code
	case req.Generation != m.epoch:
		return kerr.IllegalGeneration.Code
	}
	m.sessionDeadline = now.Add(m.classic.sessionTimeout)
	if m.epoch < cg.epoch || m.state == memberUnrevokedPartitions ||
		(m.state == memberUnreleasedPartitions && cg.canTakeUnreleased(m)) {
		if m.classic.joinDeadline.IsZero() {
			m.classic.joinDeadline = now.Add(m.rebalanceTimeout)
		}
		return kerr.RebalanceInProgress.Code
	}
	return 0
}

// canTakeUnreleased reports whether a partition of the member's target that
// it waits for has been released by its previous owner.
func (cg *consumerGroup) canTakeUnreleased(m *consumerMember) bool {
	for id, ps := range cg.target[m.id] {
		for _, p := range ps {
			if !slices.Contains(m.assigned[id], p) && cg.owners[partitionKey{id, p}] == "" {
				return true
			}
		}
	}
	return false
}

// classicLeaveFromConsumerGroup removes classic members of a KIP-848 group
// (LeaveGroup; Kafka's classicGroupLeaveToConsumerGroup).
func (s *shardState) classicLeaveFromConsumerGroup(now time.Time, g *group, l kmsg.LeaveGroupRequestMember, fx *effects) int16 {
	cg := g.cg
	memberID := l.MemberID
	if memberID == "" {
		if l.InstanceID == nil {
			return kerr.UnknownMemberID.Code
		}
		id, ok := cg.static[*l.InstanceID]
		if !ok || cg.members[id] == nil {
			return kerr.UnknownMemberID.Code
		}
		memberID = id
	}
	if l.MemberID == "" {
		// An administrative removal by instance id takes any member.
		s.fenceConsumerMember(now, g, cg.members[memberID], fx)
		return 0
	}
	m, code := cg.classicMember(memberID, l.InstanceID)
	if code != 0 {
		return code
	}
	s.removeConsumerMember(now, cg, m)
	return 0
}

// fenceConsumerMember removes a member that left or timed out. When it is
// the last consumer-protocol member and classic members remain, the group
// turns classic instead (Kafka's validateOnlineDowngradeWithFencedMembers
// and convertToClassicGroup).
func (s *shardState) fenceConsumerMember(now time.Time, g *group, m *consumerMember, fx *effects) {
	if m.classic == nil && s.downgradeWithout(now, g, m, fx) {
		return
	}
	s.removeConsumerMember(now, g.cg, m)
}

// downgradeWithout turns a KIP-848 group classic without the leaving member
// if every other member speaks the classic protocol. The classic group keeps
// the group epoch as its generation and each member's partitions as its
// assignment, then rebalances: the members' heartbeats answer
// REBALANCE_IN_PROGRESS and their rejoins elect a leader that assigns.
func (s *shardState) downgradeWithout(now time.Time, g *group, leaving *consumerMember, fx *effects) bool {
	cg := g.cg
	if !s.cfg.downgradeAllowed() || len(cg.members) < 2 || (s.cfg.MaxGroupSize > 0 && len(cg.members)-1 > s.cfg.MaxGroupSize) {
		return false
	}
	var remaining []*consumerMember
	for _, id := range slices.Sorted(maps.Keys(cg.members)) {
		if m := cg.members[id]; m != leaving {
			if m.classic == nil {
				return false
			}
			remaining = append(remaining, m)
		}
	}
	g.resetClassic()
	g.protocolType = consumerProtocolType
	g.generation = cg.epoch
	for _, cm := range remaining {
		m := &member{
			id:                cm.id,
			instanceID:        cm.instanceID,
			clientID:          cm.clientID,
			clientHost:        cm.clientHost,
			protocolType:      cm.classic.protocolType,
			protocols:         cm.classic.protocols,
			rebalanceTimeout:  cm.rebalanceTimeout,
			sessionTimeout:    cm.classic.sessionTimeout,
			assignment:        s.classicAssignment(cg.target[cm.id], cm.classic.assignmentVersion()),
			heartbeatDeadline: now.Add(cm.classic.sessionTimeout),
		}
		g.addMember(m)
	}
	g.protocol = g.selectProtocol()
	g.computeSubscribedTopics()
	g.transition(now, stateStable)
	fx.conversions = append(fx.conversions, conversion{group: g.id, to: groupTypeClassic, members: len(remaining)})
	// Persisted as converted, so a restart finds the classic group.
	fx.records = append(fx.records, groupMetadataRecord(g))
	g.hasMetadata = true
	s.prepareRebalance(now, g, fx)
	return true
}

// classicMembersSupport reports whether one of protocols is supported by
// every classic member of the group (Kafka's
// throwIfClassicProtocolIsNotSupported); with none, any protocol is.
func (cg *consumerGroup) classicMembersSupport(protocols []kmsg.JoinGroupRequestProtocol) bool {
	for _, p := range protocols {
		all := true
		for _, m := range cg.members {
			if m.classic != nil && len(m.classic.protocols) > 0 && !m.classic.supports(p.Name) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}
