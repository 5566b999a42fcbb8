package group

import (
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// newMemberJoinTimeout bounds how long a new member may sit in a rebalance
// (Kafka's NewMemberJoinTimeoutMs): it cannot heartbeat before it has an id.
const newMemberJoinTimeout = 5 * time.Minute

// maybePrepareRebalance starts a rebalance unless one is already preparing.
func (s *shardState) maybePrepareRebalance(now time.Time, g *group, fx *effects) {
	switch g.state {
	case stateStable, stateCompletingRebalance, stateEmpty:
		s.prepareRebalance(now, g, fx)
	}
}

// prepareRebalance moves the group to PreparingRebalance: members waiting in
// SyncGroup are told to rejoin, and the join phase gets a deadline. The first
// rebalance of an empty group waits group.initial.rebalance.delay.ms for more
// members first.
func (s *shardState) prepareRebalance(now time.Time, g *group, fx *effects) {
	if g.state == stateCompletingRebalance {
		s.resetAndPropagateAssignmentError(now, g, kerr.RebalanceInProgress.Code, fx)
	}
	clear(g.pendingSync)
	g.syncDeadline = time.Time{}
	if g.state == stateEmpty {
		delay := s.cfg.InitialRebalanceDelay
		g.inInitialDelay = true
		g.initialDelay = delay
		g.initialRemaining = max(g.rebalanceTimeout()-delay, 0)
		g.rebalanceDeadline = now.Add(delay)
	} else {
		g.inInitialDelay = false
		g.rebalanceDeadline = now.Add(g.rebalanceTimeout())
	}
	g.transition(now, statePreparingRebalance)
	s.tryCompleteJoin(now, g, fx)
}

// tryCompleteJoin completes the join phase once every member rejoined; never
// during the initial delay, which always runs its course.
func (s *shardState) tryCompleteJoin(now time.Time, g *group, fx *effects) {
	if g.state != statePreparingRebalance || g.inInitialDelay {
		return
	}
	if g.hasAllMembersJoined() {
		s.completeJoin(now, g, fx)
	}
}

// onRebalanceDeadline handles the end of a join window: the initial delay is
// extended while members keep arriving (capped by the rebalance timeout),
// otherwise the join phase completes with whoever rejoined.
func (s *shardState) onRebalanceDeadline(now time.Time, g *group, fx *effects) {
	if g.inInitialDelay {
		if g.newMemberAdded && g.initialRemaining > 0 {
			g.newMemberAdded = false
			next := min(s.cfg.InitialRebalanceDelay, g.initialRemaining)
			g.initialRemaining = max(g.initialRemaining-g.initialDelay, 0)
			g.initialDelay = next
			g.rebalanceDeadline = now.Add(next)
			return
		}
		g.inInitialDelay = false
	}
	s.completeJoin(now, g, fx)
}

// completeJoin ends the join phase (Kafka's onCompleteJoin): dynamic members
// that did not rejoin are dropped, the next generation starts, and every
// parked JoinGroup is answered; the leader also gets all members' metadata.
func (s *shardState) completeJoin(now time.Time, g *group, fx *effects) {
	g.rebalanceDeadline = time.Time{}
	g.inInitialDelay = false
	g.newMemberAdded = false
	for _, m := range g.membersInOrder() {
		if !m.awaitingJoin() && m.instanceID == nil {
			s.answerRemoved(m, fx)
			g.removeMember(m.id)
		}
	}
	if !g.maybeElectNewJoinedLeader() && len(g.members) > 0 {
		// Only static members that have not rejoined remain; wait for them
		// (or their session timeouts) one more rebalance timeout.
		g.rebalanceDeadline = now.Add(g.rebalanceTimeout())
		return
	}
	s.initNextGeneration(now, g)
	if g.state == stateEmpty {
		fx.records = append(fx.records, groupMetadataRecord(g))
		g.hasMetadata = true
		return
	}
	for _, m := range g.membersInOrder() {
		if m.awaitingJoin() {
			fx.answer(m.joinWaiter, g.joinResponse(m.joinVersion, m, m.id == g.leader))
			m.joinWaiter = 0
		}
		m.heartbeatDeadline = now.Add(m.sessionTimeout)
		m.isNew = false
		g.pendingSync[m.id] = struct{}{}
	}
	g.syncDeadline = now.Add(g.rebalanceTimeout())
}

// maybeElectNewJoinedLeader keeps the leader if it rejoined, else promotes the
// oldest member that did; false if no member rejoined.
func (g *group) maybeElectNewJoinedLeader() bool {
	if g.leader == "" {
		return false
	}
	if l := g.members[g.leader]; l != nil && l.awaitingJoin() {
		return true
	}
	for _, m := range g.membersInOrder() {
		if m.awaitingJoin() {
			g.leader = m.id
			return true
		}
	}
	return false
}

func (s *shardState) initNextGeneration(now time.Time, g *group) {
	g.generation++
	if len(g.members) > 0 {
		g.protocol = g.selectProtocol()
		g.computeSubscribedTopics()
		g.transition(now, stateCompletingRebalance)
	} else {
		g.protocol = ""
		g.computeSubscribedTopics()
		g.transition(now, stateEmpty)
	}
	clear(g.pendingSync)
}

// joinResponse is the successful JoinGroup answer for m in the current
// generation; leaderView adds every member's metadata.
func (g *group) joinResponse(version int16, m *member, leaderView bool) *kmsg.JoinGroupResponse {
	resp := kmsg.NewPtrJoinGroupResponse()
	resp.Version = version
	resp.Generation = g.generation
	resp.ProtocolType = new(g.protocolType)
	if g.protocol != "" {
		resp.Protocol = new(g.protocol)
	}
	resp.LeaderID = g.leader
	resp.MemberID = m.id
	if leaderView {
		resp.Members = g.currentMemberMetadata()
	}
	return resp
}

func joinError(version int16, memberID string, code int16) *kmsg.JoinGroupResponse {
	resp := kmsg.NewPtrJoinGroupResponse()
	resp.Version = version
	resp.MemberID = memberID
	resp.ErrorCode = code
	return resp
}

func syncError(version int16, code int16) *kmsg.SyncGroupResponse {
	resp := kmsg.NewPtrSyncGroupResponse()
	resp.Version = version
	resp.ErrorCode = code
	return resp
}

// resetAndPropagateAssignmentError clears assignments and fails every parked
// SyncGroup with code.
func (s *shardState) resetAndPropagateAssignmentError(now time.Time, g *group, code int16, fx *effects) {
	for _, m := range g.members {
		m.assignment = nil
	}
	s.propagateAssignment(now, g, code, fx)
}

// propagateAssignment answers every parked SyncGroup: the member's assignment
// on success, code otherwise; answered members' sessions restart.
func (s *shardState) propagateAssignment(now time.Time, g *group, code int16, fx *effects) {
	for _, m := range g.membersInOrder() {
		if !m.awaitingSync() {
			continue
		}
		resp := syncError(m.syncVersion, code)
		if code == 0 {
			resp.ProtocolType = new(g.protocolType)
			resp.Protocol = new(g.protocol)
			resp.MemberAssignment = m.assignment
		}
		fx.answer(m.syncWaiter, resp)
		m.syncWaiter = 0
		m.heartbeatDeadline = now.Add(m.sessionTimeout)
	}
}

// answerRemoved fails the parked calls of a member being removed, so its
// client learns it must rejoin.
func (s *shardState) answerRemoved(m *member, fx *effects) {
	if m.awaitingJoin() {
		fx.answer(m.joinWaiter, joinError(m.joinVersion, "", kerr.UnknownMemberID.Code))
		m.joinWaiter = 0
	}
	if m.awaitingSync() {
		fx.answer(m.syncWaiter, syncError(m.syncVersion, kerr.UnknownMemberID.Code))
		m.syncWaiter = 0
	}
}

// removeMemberAndUpdateGroup removes m (session expiry, LeaveGroup) and moves
// the group on: a stable group rebalances, a preparing one may now complete.
func (s *shardState) removeMemberAndUpdateGroup(now time.Time, g *group, m *member, fx *effects) {
	s.answerRemoved(m, fx)
	g.removeMember(m.id)
	switch g.state {
	case stateStable, stateCompletingRebalance:
		s.maybePrepareRebalance(now, g, fx)
	case statePreparingRebalance:
		s.tryCompleteJoin(now, g, fx)
	}
}

// expirePendingSync removes members that got a JoinGroup answer but did not
// send SyncGroup within the rebalance timeout, and rebalances without them.
func (s *shardState) expirePendingSync(now time.Time, g *group, fx *effects) {
	ids := make([]string, 0, len(g.pendingSync))
	for id := range g.pendingSync {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if m := g.members[id]; m != nil {
			s.answerRemoved(m, fx)
		}
		g.removeMember(id)
	}
	s.prepareRebalance(now, g, fx)
}

// classicTimers fires the due timers of a classic group; it reports whether
// any fired.
func (s *shardState) classicTimers(now time.Time, g *group, fx *effects) bool {
	fired := false
	pending := make([]string, 0, len(g.pending))
	for id, deadline := range g.pending {
		if !now.Before(deadline) {
			pending = append(pending, id)
		}
	}
	slices.Sort(pending)
	for _, id := range pending {
		delete(g.pending, id)
		fired = true
		s.tryCompleteJoin(now, g, fx)
	}
	for _, m := range g.membersInOrder() {
		if g.members[m.id] != m || !m.heartbeatWatched() || now.Before(m.heartbeatDeadline) {
			continue
		}
		fired = true
		s.removeMemberAndUpdateGroup(now, g, m, fx)
	}
	if g.state == statePreparingRebalance && !g.rebalanceDeadline.IsZero() && !now.Before(g.rebalanceDeadline) {
		fired = true
		s.onRebalanceDeadline(now, g, fx)
	}
	if (g.state == stateCompletingRebalance || g.state == stateStable) && len(g.pendingSync) > 0 &&
		!g.syncDeadline.IsZero() && !now.Before(g.syncDeadline) {
		fired = true
		s.expirePendingSync(now, g, fx)
	}
	return fired
}
