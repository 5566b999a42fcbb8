package group

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// heartbeat handles a classic Heartbeat: it keeps the member's session alive
// and tells it when a rebalance needs it to rejoin.
func (s *shardState) heartbeat(now time.Time, req *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse {
	resp := kmsg.NewPtrHeartbeatResponse()
	resp.Version = req.Version
	resp.ErrorCode = s.heartbeatCode(now, req)
	return resp
}

func (s *shardState) heartbeatCode(now time.Time, req *kmsg.HeartbeatRequest) int16 {
	if req.Group == "" {
		return kerr.InvalidGroupID.Code
	}
	g := s.groups[req.Group]
	switch {
	case g == nil:
		return kerr.UnknownMemberID.Code
	case g.cg != nil:
		return s.classicHeartbeatToConsumerGroup(now, g, req)
	}
	if code := g.validateMember(req.MemberID, req.InstanceID); code != 0 {
		return code
	}
	if req.Generation != g.generation {
		return kerr.IllegalGeneration.Code
	}
	m := g.members[req.MemberID]
	switch g.state {
	case stateEmpty:
		return kerr.UnknownMemberID.Code
	case statePreparingRebalance:
		m.heartbeatDeadline = now.Add(m.sessionTimeout)
		return kerr.RebalanceInProgress.Code
	default: // CompletingRebalance (heartbeats may start before SyncGroup) or Stable
		m.heartbeatDeadline = now.Add(m.sessionTimeout)
		return 0
	}
}

// leaveGroup handles LeaveGroup; v3+ removes a batch of members, each by
// member id or (administratively) by instance id alone.
func (s *shardState) leaveGroupStep(now time.Time, req *kmsg.LeaveGroupRequest, fx *effects) *kmsg.LeaveGroupResponse {
	resp := kmsg.NewPtrLeaveGroupResponse()
	resp.Version = req.Version
	if req.Group == "" {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return resp
	}
	leaving := req.Members
	if req.Version < 3 {
		leaving = []kmsg.LeaveGroupRequestMember{{MemberID: req.MemberID}}
	}
	g := s.groups[req.Group]
	for _, l := range leaving {
		out := kmsg.NewLeaveGroupResponseMember()
		out.MemberID = l.MemberID
		out.InstanceID = l.InstanceID
		switch {
		case g == nil:
			out.ErrorCode = kerr.UnknownMemberID.Code
		case g.cg != nil:
			out.ErrorCode = s.classicLeaveFromConsumerGroup(now, g, l, fx)
		default:
			out.ErrorCode = s.leaveOne(now, g, l, fx)
		}
		resp.Members = append(resp.Members, out)
	}
	if req.Version < 3 {
		// Before batching, the single member's error is the response's.
		resp.ErrorCode = resp.Members[0].ErrorCode
		resp.Members = nil
	}
	return resp
}

func (s *shardState) leaveOne(now time.Time, g *group, l kmsg.LeaveGroupRequestMember, fx *effects) int16 {
	if l.MemberID == "" {
		if l.InstanceID == nil {
			return kerr.UnknownMemberID.Code
		}
		id, ok := g.static[*l.InstanceID]
		if !ok {
			return kerr.UnknownMemberID.Code
		}
		s.removeMemberAndUpdateGroup(now, g, g.members[id], fx)
		return 0
	}
	if _, ok := g.pending[l.MemberID]; ok {
		delete(g.pending, l.MemberID)
		s.tryCompleteJoin(now, g, fx)
		return 0
	}
	if code := g.validateMember(l.MemberID, l.InstanceID); code != 0 {
		return code
	}
	s.removeMemberAndUpdateGroup(now, g, g.members[l.MemberID], fx)
	return 0
}
