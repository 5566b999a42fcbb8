package group

import (
	"bytes"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// joinGroup handles JoinGroup (Kafka's GroupCoordinator.handleJoinGroup). It
// returns the answer, or nil when the call is parked under waiter w until the
// join phase completes; the answer then arrives through fx.replies, possibly
// from this very step.
func (s *shardState) joinGroupStep(now time.Time, req *kmsg.JoinGroupRequest, client ClientInfo, w waiterID, fx *effects) *kmsg.JoinGroupResponse {
	if req.Group == "" {
		return joinError(req.Version, req.MemberID, kerr.InvalidGroupID.Code)
	}
	session := millis(req.SessionTimeoutMillis)
	if session < s.cfg.MinSessionTimeout || session > s.cfg.MaxSessionTimeout {
		return joinError(req.Version, req.MemberID, kerr.InvalidSessionTimeout.Code)
	}
	rebalance := millis(req.RebalanceTimeoutMillis)
	if req.Version == 0 || req.RebalanceTimeoutMillis < 0 {
		rebalance = session // v0 has one timeout for both
	}

	g := s.groups[req.Group]
	if g != nil && g.cg != nil {
		// A KIP-848 group with members takes classic members too
		// (migration.go); an empty one turns back into a classic group,
		// keeping its offsets.
		if len(g.cg.members) > 0 {
			if !s.cfg.upgradeAllowed() && !s.cfg.downgradeAllowed() {
				return joinError(req.Version, req.MemberID, kerr.InconsistentGroupProtocol.Code)
			}
			return s.classicJoinToConsumerGroup(now, g, &joinCall{req: req, client: client, waiter: w, session: session, rebalance: rebalance})
		}
		g.resetClassic()
	}
	created := false
	if g == nil {
		if req.MemberID != "" {
			return joinError(req.Version, req.MemberID, kerr.UnknownMemberID.Code)
		}
		g = newGroup(req.Group)
		s.groups[g.id] = g
		created = true
	}

	j := joinCall{req: req, client: client, waiter: w, session: session, rebalance: rebalance}
	resp := s.join(now, g, &j, fx)
	if g.state == statePreparingRebalance {
		s.tryCompleteJoin(now, g, fx)
	}
	s.runGroupTimers(now, g, fx) // a zero initial delay completes at once
	if created && g.removable() {
		delete(s.groups, g.id)
	}
	return resp
}

// joinCall is one JoinGroup request with its timeouts resolved.
type joinCall struct {
	req       *kmsg.JoinGroupRequest
	client    ClientInfo
	waiter    waiterID
	session   time.Duration
	rebalance time.Duration
}

func (j *joinCall) fail(memberID string, code int16) *kmsg.JoinGroupResponse {
	return joinError(j.req.Version, memberID, code)
}

func (s *shardState) join(now time.Time, g *group, j *joinCall, fx *effects) *kmsg.JoinGroupResponse {
	req := j.req
	if s.cfg.MaxGroupSize > 0 && !g.acceptJoiningMember(req.MemberID, s.cfg.MaxGroupSize) {
		if m := g.members[req.MemberID]; m != nil {
			s.answerRemoved(m, fx)
			g.removeMember(m.id)
		}
		return j.fail("", kerr.GroupMaxSizeReached.Code)
	}
	if req.MemberID == "" {
		return s.joinNewMember(now, g, j, fx)
	}
	return s.joinCurrentMember(now, g, j, fx)
}

// acceptJoiningMember is Kafka's group.max.size check: existing members are
// always let back in; new ones while there is room.
func (g *group) acceptJoiningMember(memberID string, maxSize int) bool {
	switch g.state {
	case stateEmpty:
		return true
	case statePreparingRebalance:
		if m, ok := g.members[memberID]; ok && m.awaitingJoin() {
			return true
		}
		return g.numAwaitingJoin() < maxSize
	default:
		_, ok := g.members[memberID]
		return ok || len(g.members) < maxSize
	}
}

func (s *shardState) joinNewMember(now time.Time, g *group, j *joinCall, fx *effects) *kmsg.JoinGroupResponse {
	req := j.req
	if !g.supportsProtocols(req.ProtocolType, req.Protocols) {
		return j.fail("", kerr.InconsistentGroupProtocol.Code)
	}
	prefix := j.client.ClientID
	if req.InstanceID != nil {
		prefix = *req.InstanceID
	}
	newID := prefix + "-" + s.newID()

	if req.InstanceID != nil {
		if oldID, ok := g.static[*req.InstanceID]; ok {
			return s.replaceStaticMember(now, g, j, oldID, newID, fx)
		}
		s.addMemberAndRebalance(now, g, j, newID, fx)
		return nil
	}
	if req.Version >= 4 {
		// KIP-394: hand out an id and make the client come back with it,
		// so clients that never complete a join do not pile up as members.
		g.pending[newID] = now.Add(j.session)
		return j.fail(newID, kerr.MemberIDRequired.Code)
	}
	s.addMemberAndRebalance(now, g, j, newID, fx)
	return nil
}

func (s *shardState) joinCurrentMember(now time.Time, g *group, j *joinCall, fx *effects) *kmsg.JoinGroupResponse {
	req := j.req
	if !g.supportsProtocols(req.ProtocolType, req.Protocols) {
		return j.fail(req.MemberID, kerr.InconsistentGroupProtocol.Code)
	}
	if _, ok := g.pending[req.MemberID]; ok {
		if req.InstanceID != nil {
			// Pending ids are only handed to dynamic members.
			return j.fail(req.MemberID, kerr.UnknownMemberID.Code)
		}
		s.addMemberAndRebalance(now, g, j, strings.Clone(req.MemberID), fx)
		return nil
	}
	if code := g.validateMember(req.MemberID, req.InstanceID); code != 0 {
		return j.fail(req.MemberID, code)
	}
	m := g.members[req.MemberID]
	switch g.state {
	case statePreparingRebalance:
		s.updateMemberAndRebalance(now, g, m, j, fx)
		return nil
	case stateCompletingRebalance:
		if m.matches(req.Protocols) {
			// A retry of a join whose answer was lost: answer it again.
			return g.joinResponse(req.Version, m, m.id == g.leader)
		}
		s.updateMemberAndRebalance(now, g, m, j, fx)
		return nil
	case stateStable:
		if m.id == g.leader || !m.matches(req.Protocols) {
			// The leader rejoining asks for a rebalance (e.g. topic
			// metadata changed); so does changed member metadata.
			s.updateMemberAndRebalance(now, g, m, j, fx)
			return nil
		}
		return g.joinResponse(req.Version, m, false)
	default:
		return j.fail(req.MemberID, kerr.UnknownMemberID.Code)
	}
}

// validateMember is Kafka's validateCurrentMember: a given instance id must
// map to memberID (else FENCED_INSTANCE_ID), and the member must exist.
func (g *group) validateMember(memberID string, instanceID *string) int16 {
	if instanceID != nil {
		current, ok := g.static[*instanceID]
		switch {
		case !ok:
			return kerr.UnknownMemberID.Code
		case current != memberID:
			return kerr.FencedInstanceID.Code
		}
	}
	if _, ok := g.members[memberID]; !ok {
		return kerr.UnknownMemberID.Code
	}
	return 0
}

func cloneProtocols(req []kmsg.JoinGroupRequestProtocol) []protocol {
	ps := protocolsFrom(req)
	for i := range ps {
		// Request bytes may alias the connection's read buffer.
		ps[i].name = strings.Clone(ps[i].name)
		ps[i].metadata = bytes.Clone(ps[i].metadata)
	}
	return ps
}

func (s *shardState) addMemberAndRebalance(now time.Time, g *group, j *joinCall, memberID string, fx *effects) {
	req := j.req
	m := &member{
		id:                memberID,
		clientID:          j.client.ClientID,
		clientHost:        j.client.ClientHost,
		protocolType:      strings.Clone(req.ProtocolType),
		protocols:         cloneProtocols(req.Protocols),
		rebalanceTimeout:  j.rebalance,
		sessionTimeout:    j.session,
		joinWaiter:        j.waiter,
		joinVersion:       req.Version,
		isNew:             true,
		heartbeatDeadline: now.Add(newMemberJoinTimeout),
	}
	if req.InstanceID != nil {
		m.instanceID = new(strings.Clone(*req.InstanceID))
	}
	if g.state == statePreparingRebalance && g.generation == 0 {
		g.newMemberAdded = true // extends the initial delay
	}
	g.addMember(m)
	s.maybePrepareRebalance(now, g, fx)
}

func (s *shardState) updateMemberAndRebalance(now time.Time, g *group, m *member, j *joinCall, fx *effects) {
	s.updateMember(m, j, fx)
	s.maybePrepareRebalance(now, g, fx)
}

// updateMember takes a rejoin's protocols, timeouts and waiter. A still
// parked earlier JoinGroup of the member is told to rejoin.
func (s *shardState) updateMember(m *member, j *joinCall, fx *effects) {
	if m.awaitingJoin() && m.joinWaiter != j.waiter {
		fx.answer(m.joinWaiter, joinError(m.joinVersion, m.id, kerr.RebalanceInProgress.Code))
	}
	m.protocols = cloneProtocols(j.req.Protocols)
	m.rebalanceTimeout = j.rebalance
	m.sessionTimeout = j.session
	m.joinWaiter = j.waiter
	m.joinVersion = j.req.Version
}

// replaceStaticMember handles a static member rejoining with an unknown
// member id (KIP-345): it takes over the old member id's place. In a stable
// group whose selected protocol does not change, no rebalance happens; the
// old id is fenced.
func (s *shardState) replaceStaticMember(now time.Time, g *group, j *joinCall, oldID, newID string, fx *effects) *kmsg.JoinGroupResponse {
	req := j.req
	previousLeader := g.leader
	m := g.members[oldID]
	if m.awaitingJoin() {
		fx.answer(m.joinWaiter, joinError(m.joinVersion, oldID, kerr.FencedInstanceID.Code))
		m.joinWaiter = 0
	}
	if m.awaitingSync() {
		fx.answer(m.syncWaiter, syncError(m.syncVersion, kerr.FencedInstanceID.Code))
		m.syncWaiter = 0
	}
	delete(g.members, oldID)
	m.id = newID
	g.members[newID] = m
	if g.leader == oldID {
		g.leader = newID
	}
	g.static[*req.InstanceID] = newID
	if _, ok := g.pendingSync[oldID]; ok {
		delete(g.pendingSync, oldID)
		g.pendingSync[newID] = struct{}{}
	}
	m.heartbeatDeadline = now.Add(j.session)
	s.updateMember(m, j, fx)

	switch g.state {
	case stateStable:
		if g.selectProtocol() != g.protocol {
			s.maybePrepareRebalance(now, g, fx)
			return nil
		}
		// Persist the new member id; the answer waits for the write.
		fx.records = append(fx.records, groupMetadataRecord(g))
		g.hasMetadata = true
		m.joinWaiter = 0
		if req.Version >= 9 {
			// KIP-814: tell a static leader it leads but must not
			// reassign, so it keeps watching metadata.
			isLeader := g.leader == newID
			resp := g.joinResponse(req.Version, m, isLeader)
			resp.SkipAssignment = isLeader
			return resp
		}
		// Older clients would reassign if told they lead, and a stable
		// group would not propagate that; report the previous leader id.
		resp := g.joinResponse(req.Version, m, false)
		resp.LeaderID = previousLeader
		return resp
	case stateCompletingRebalance:
		// The leader may already assign for the old id; start over.
		s.prepareRebalance(now, g, fx)
		return nil
	default:
		return nil // preparing: answered when the join phase completes
	}
}
