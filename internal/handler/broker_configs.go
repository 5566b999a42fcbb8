package handler

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/config"
	"github.com/samsa-broker/samsa/internal/topics"
)

// brokerResourceScope resolves a BROKER resource name of AlterConfigs and
// IncrementalAlterConfigs: this broker's node id names its own dynamic
// configs, "" the cluster-wide defaults. Another id is refused: this
// cluster has one broker.
func (h *Handler) brokerResourceScope(name string) (perBroker bool, err error) {
	switch name {
	case "":
		return false, nil
	case strconv.Itoa(int(h.opts.NodeID)):
		return true, nil
	}
	return false, fmt.Errorf("%w: broker %q: this cluster has one broker, %d", topics.ErrInvalidBrokerConfig, name, h.opts.NodeID)
}

// alterBrokerConfigs replaces a BROKER resource's dynamic configs with next
// (the non-incremental AlterConfigs), or computes them from its current
// ones with IncrementalAlterConfigs operations when ops is set.
func (h *Handler) alterBrokerConfigs(name string, next map[string]string, ops []kmsg.IncrementalAlterConfigsRequestResourceConfig, validateOnly bool) error {
	perBroker, err := h.brokerResourceScope(name)
	if err != nil {
		return err
	}
	if ops == nil {
		return h.catalog.SetBrokerConfigs(perBroker, next, validateOnly)
	}
	isList := func(name string) bool {
		info, ok := config.DescribeBroker(name)
		return ok && info.Type == config.TypeList
	}
	return h.catalog.UpdateBrokerConfigs(perBroker, func(current map[string]string) (map[string]string, error) {
		base := func(name string) []string {
			if v, ok := current[name]; ok {
				return splitList(v)
			}
			value, _, _ := h.opts.Broker.Effective(name)
			return splitList(value)
		}
		return applyConfigOps(current, ops, isList, base, topics.ErrInvalidBrokerConfig)
	}, validateOnly)
}

// applyConfigOps applies IncrementalAlterConfigs operations to a copy of
// current: SET (0), DELETE (1), and APPEND (2) and SUBTRACT (3) on list
// configs, whose items start from base when current does not set them.
// Errors wrap invalid.
func applyConfigOps(current map[string]string, ops []kmsg.IncrementalAlterConfigsRequestResourceConfig,
	isList func(string) bool, base func(string) []string, invalid error) (map[string]string, error) {
	next := maps.Clone(current)
	if next == nil {
		next = map[string]string{}
	}
	for _, c := range ops {
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
			if !isList(c.Name) {
				return nil, fmt.Errorf("%w: %s is not a list config", invalid, c.Name)
			}
			var items []string
			if v, ok := next[c.Name]; ok {
				items = splitList(v)
			} else {
				items = base(c.Name)
			}
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
			return nil, fmt.Errorf("%w: unknown operation %d", invalid, c.Op)
		}
	}
	return next, nil
}
