package handler

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/config"
	"github.com/samsa-broker/samsa/internal/topics"
)

// Group configs (KIP-848): the GROUP config resource of DescribeConfigs and
// IncrementalAlterConfigs. They are kept in the metadata log by group id;
// the group coordinator reads them at each ConsumerGroupHeartbeat.

const errEmptyGroupName = "the group name must not be empty"

var errInvalidGroupName = errors.New(errEmptyGroupName)

// describeGroupConfigs lists a group's configs (all, or names).
func (h *Handler) describeGroupConfigs(group string, names []string, synonyms, docs bool) []kmsg.DescribeConfigsResponseResourceConfig {
	if names == nil {
		names = config.GroupConfigNames()
	}
	overrides := h.catalog.GroupConfigs(group)
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, name := range names {
		info, ok := config.DescribeGroup(name)
		if !ok {
			continue
		}
		value, source := h.opts.Broker.GroupConfigEffective(overrides, name)
		var syns []config.Synonym
		if source == config.SourceGroup {
			syns = []config.Synonym{{Name: name, Value: value, Source: source}}
		}
		out = append(out, describedConfig(info, value, source, syns, synonyms, docs))
	}
	return out
}

func (h *Handler) incrementalAlterGroup(rr kmsg.IncrementalAlterConfigsRequestResource, validateOnly bool) error {
	if rr.ResourceName == "" {
		return fmt.Errorf("%w: %w", errInvalidRequest, errInvalidGroupName)
	}
	// Group configs are all numbers: APPEND and SUBTRACT never apply.
	isList := func(string) bool { return false }
	return h.catalog.UpdateGroupConfigs(rr.ResourceName, func(current map[string]string) (map[string]string, error) {
		return applyConfigOps(current, rr.Configs, isList, nil, topics.ErrInvalidConfig)
	}, validateOnly)
}
