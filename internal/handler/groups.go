package handler

// Group APIs: the classic protocol (JoinGroup v0-9, SyncGroup v0-5,
// Heartbeat v0-4, LeaveGroup v0-5), offsets (OffsetCommit v0-9, OffsetFetch
// v0-9, OffsetDelete v0), administration (ListGroups v0-5, DescribeGroups
// v0-6, DeleteGroups v0-2) and KIP-848 (ConsumerGroupHeartbeat v0-1,
// ConsumerGroupDescribe v0-1).
//
// Behavior:
// * Each handler hands the request to the group coordinator
//   (internal/group), which owns every rule; these wrappers only run the
//   call in the connection's writer so a blocking JoinGroup or SyncGroup does
//   not stop the connection from reading
//
// Version notes: see internal/group for per-version semantics.

import (
	"context"
	"net"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/group"
)

// viaCoordinator runs a coordinator call in the connection's writer, telling
// the coordinator who the client is (DescribeGroups shows it).
func viaCoordinator[Req kmsg.Request, Resp kmsg.Response](req *conn.Request, call func(context.Context, Req) Resp) conn.Reply {
	r := req.Body.(Req)
	host := req.Conn.RemoteAddr
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	info := group.ClientInfo{ClientID: req.Header.ClientID, ClientHost: "/" + host}
	return await(func(ctx context.Context) kmsg.Response {
		return call(group.WithClientInfo(ctx, info), r)
	})
}

func (h *Handler) handleJoinGroup(_ context.Context, req *conn.Request) conn.Reply {
	return viaCoordinator(req, h.groups.JoinGroup)
}

func (h *Handler) handleSyncGroup(_ context.Context, req *conn.Request) conn.Reply {
	return viaCoordinator(req, h.groups.SyncGroup)
}

func (h *Handler) handleHeartbeat(_ context.Context, req *conn.Request) conn.Reply {
	return viaCoordinator(req, h.groups.Heartbeat)
}

func (h *Handler) handleLeaveGroup(_ context.Context, req *conn.Request) conn.Reply {
	return viaCoordinator(req, h.groups.LeaveGroup)
}

func (h *Handler) handleOffsetCommit(_ context.Context, req *conn.Request) conn.Reply {
	return viaCoordinator(req, h.groups.OffsetCommit)
}

func (h *Handler) handleOffsetFetch(_ context.Context, req *conn.Request) conn.Reply {
	return viaCoordinator(req, h.groups.OffsetFetch)
}

func (h *Handler) handleOffsetDelete(_ context.Context, req *conn.Request) conn.Reply {
	return viaCoordinator(req, h.groups.OffsetDelete)
}

func (h *Handler) handleListGroups(_ context.Context, req *conn.Request) conn.Reply {
	return viaCoordinator(req, h.groups.ListGroups)
}

func (h *Handler) handleDescribeGroups(_ context.Context, req *conn.Request) conn.Reply {
	return viaCoordinator(req, h.groups.DescribeGroups)
}

func (h *Handler) handleDeleteGroups(_ context.Context, req *conn.Request) conn.Reply {
	return viaCoordinator(req, h.groups.DeleteGroups)
}

func (h *Handler) handleConsumerGroupHeartbeat(_ context.Context, req *conn.Request) conn.Reply {
	return viaCoordinator(req, h.groups.ConsumerGroupHeartbeat)
}

func (h *Handler) handleConsumerGroupDescribe(_ context.Context, req *conn.Request) conn.Reply {
	return viaCoordinator(req, h.groups.ConsumerGroupDescribe)
}
