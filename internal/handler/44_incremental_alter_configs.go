package handler

// IncrementalAlterConfigs: v0-1
//
// Behavior:
// * TOPIC: applies SET (0), DELETE (1), APPEND (2) and SUBTRACT (3, list
//   configs) to the topic's current overrides; the result is validated as a
//   whole (INVALID_CONFIG, nothing changes); validate-only checks only
// * BROKER: refused (no dynamic broker configs): INVALID_REQUEST
// * Needs ALTER_CONFIGS on the topic, or on the cluster for BROKER
//
// Version notes:
// * v1: flexible

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/config"
	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/topics"
)

func (h *Handler) handleIncrementalAlterConfigs(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.IncrementalAlterConfigsRequest)
	resp := r.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, rr := range r.Resources {
		res := kmsg.NewIncrementalAlterConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		if code := h.configsDenied(req, acl.OpAlterConfigs, int8(rr.ResourceType), rr.ResourceName); code != 0 {
			res.ErrorCode = code
			resp.Resources = append(resp.Resources, res)
			continue
		}
		switch rr.ResourceType {
		case resourceTopic:
			if err := h.incrementalAlterTopic(rr, r.ValidateOnly); err != nil {
				res.ErrorCode, res.ErrorMessage = errorCode(err), errorMessage(err)
			}
		case resourceBroker:
			res.ErrorCode = kerr.InvalidRequest.Code
			msg := "dynamic broker configs are not supported; set them with --config or --set"
			res.ErrorMessage = &msg
		default:
			res.ErrorCode = kerr.InvalidRequest.Code
		}
		resp.Resources = append(resp.Resources, res)
	}
	return respond(resp)
}

func (h *Handler) incrementalAlterTopic(rr kmsg.IncrementalAlterConfigsRequestResource, validateOnly bool) error {
	t, ok := h.catalog.Metadata().Topic(rr.ResourceName)
	if !ok {
		return fmt.Errorf("%w: %s", topics.ErrUnknownTopic, rr.ResourceName)
	}
	next := t.Configs // Topic returns a copy: ours to modify
	for _, c := range rr.Configs {
		value := ""
		if c.Value != nil {
			value = *c.Value
		}
		switch c.Op {
		case 0: // SET
			next[c.Name] = value
		case 1: // DELETE
			delete(next, c.Name)
		case 2, 3: // APPEND, SUBTRACT on list configs
			info, ok := config.DescribeTopic(c.Name)
			if !ok || info.Type != config.TypeList {
				return fmt.Errorf("%w: %s is not a list config", topics.ErrInvalidConfig, c.Name)
			}
			items := h.opts.Broker.TopicList(next, c.Name)
			for _, v := range splitList(value) {
				if c.Op == 2 && !slices.Contains(items, v) {
					items = append(items, v)
				}
				if c.Op == 3 {
					items = slices.DeleteFunc(items, func(s string) bool { return s == v })
				}
			}
			next[c.Name] = strings.Join(items, ",")
		default:
			return fmt.Errorf("%w: unknown operation %d", topics.ErrInvalidConfig, c.Op)
		}
	}
	return h.catalog.SetConfigs(rr.ResourceName, next, validateOnly)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
