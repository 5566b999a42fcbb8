package group

import (
	"bytes"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// syncGroup handles SyncGroup (Kafka's handleSyncGroup). In
// CompletingRebalance the call parks under w until the leader's assignment is
// stored; the leader's own SyncGroup stores it and releases everyone. It
// returns nil when parked.
func (s *shardState) syncGroupStep(now time.Time, req *kmsg.SyncGroupRequest, w waiterID, fx *effects) *kmsg.SyncGroupResponse {
	fail := func(code int16) *kmsg.SyncGroupResponse { return syncError(req.Version, code) }
	if req.Group == "" {
		return fail(kerr.InvalidGroupID.Code)
	}
	g := s.groups[req.Group]
	switch {
	case g == nil:
		return fail(kerr.UnknownMemberID.Code)
	case g.cg != nil:
		return s.classicSyncToConsumerGroup(now, g, req)
	}
	if code := g.validateMember(req.MemberID, req.InstanceID); code != 0 {
		return fail(code)
	}
	switch {
	case req.Generation != g.generation:
		return fail(kerr.IllegalGeneration.Code)
	case req.ProtocolType != nil && *req.ProtocolType != g.protocolType,
		req.Protocol != nil && *req.Protocol != g.protocol:
		return fail(kerr.InconsistentGroupProtocol.Code)
	}

	m := g.members[req.MemberID]
	switch g.state {
	case stateEmpty:
		return fail(kerr.UnknownMemberID.Code)
	case statePreparingRebalance:
		return fail(kerr.RebalanceInProgress.Code)
	case stateCompletingRebalance:
		if m.awaitingSync() && m.syncWaiter != w {
			fx.answer(m.syncWaiter, syncError(m.syncVersion, kerr.RebalanceInProgress.Code))
		}
		m.syncWaiter, m.syncVersion = w, req.Version
		delete(g.pendingSync, m.id)
		if m.id == g.leader {
			s.storeLeaderAssignment(now, g, req.GroupAssignment, fx)
		}
		return nil
	default: // stable: a follower late to sync, or a retry
		delete(g.pendingSync, m.id)
		m.heartbeatDeadline = now.Add(m.sessionTimeout)
		resp := syncError(req.Version, 0)
		resp.ProtocolType = new(g.protocolType)
		resp.Protocol = new(g.protocol)
		resp.MemberAssignment = m.assignment
		return resp
	}
}

// storeLeaderAssignment takes the leader's assignment (members it left out get
// an empty one), persists the group, answers every parked SyncGroup and makes
// the group Stable. The answers are released once the record is durable.
func (s *shardState) storeLeaderAssignment(now time.Time, g *group, assignments []kmsg.SyncGroupRequestGroupAssignment, fx *effects) {
	byMember := make(map[string][]byte, len(assignments))
	for _, a := range assignments {
		byMember[a.MemberID] = a.MemberAssignment
	}
	for id, m := range g.members {
		m.assignment = bytes.Clone(byMember[id]) // request bytes may alias a reused buffer
	}
	fx.records = append(fx.records, groupMetadataRecord(g))
	g.hasMetadata = true
	s.propagateAssignment(now, g, 0, fx)
	g.transition(now, stateStable)
}
