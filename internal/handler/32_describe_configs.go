package handler

// DescribeConfigs: v0-4
//
// Behavior:
// * TOPIC resources: every topic config (or the named ones) with its
//   effective value, source (topic override, static broker setting or
//   default), synonyms (v1+, when asked), type and documentation (v3+)
// * BROKER resources: this node's id → every broker setting Samsa knows
//   and every dynamic one, with its source (this broker's dynamic value,
//   the cluster default, server.properties or the built-in default); the
//   topic defaults are not read-only (they may be set at runtime). "" → the
//   cluster-wide dynamic defaults only
// * BROKER_LOGGER resources: this node's id → every logger ("root",
//   "samsa.<component>") with its level (broker_loggers.go)
// * GROUP resources (KIP-848): the group's configs
//   (consumer.session.timeout.ms, consumer.heartbeat.interval.ms), its own
//   (GROUP_CONFIG) or the broker's group.consumer.* (DEFAULT_CONFIG); a
//   group needs not exist (group_configs.go)
// * Sensitive values are returned as null
// * Unknown topic → UNKNOWN_TOPIC_OR_PARTITION; another broker id or
//   resource type → INVALID_REQUEST
// * Needs DESCRIBE_CONFIGS on the topic or group, or on the cluster for
//   BROKER
//
// Version notes:
// * v1: include synonyms, config source
// * v3: include documentation, config type
// * v4: flexible

import (
	"context"
	"maps"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/config"
	"github.com/samsa-broker/samsa/internal/conn"
)

const (
	resourceTopic  = 2
	resourceBroker = 4
	resourceGroup  = 32
)

func (h *Handler) handleDescribeConfigs(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.DescribeConfigsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, rr := range r.Resources {
		res := kmsg.NewDescribeConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		if code := h.configsDenied(req, acl.OpDescribeConfigs, int8(rr.ResourceType), rr.ResourceName); code != 0 {
			res.ErrorCode = code
			resp.Resources = append(resp.Resources, res)
			continue
		}
		switch rr.ResourceType {
		case resourceTopic:
			t, ok := h.catalog.Metadata().Topic(rr.ResourceName)
			if !ok {
				res.ErrorCode = kerr.UnknownTopicOrPartition.Code
				break
			}
			res.Configs = h.describeTopicConfigs(t.Configs, rr.ConfigNames, r.IncludeSynonyms, r.IncludeDocumentation)
		case resourceBroker:
			if rr.ResourceName != "" && rr.ResourceName != strconv.Itoa(int(h.opts.NodeID)) {
				res.ErrorCode = kerr.InvalidRequest.Code
				break
			}
			if rr.ResourceName == "" {
				res.Configs = h.describeDefaultBrokerConfigs(rr.ConfigNames, r.IncludeSynonyms, r.IncludeDocumentation)
				break
			}
			res.Configs = h.describeBrokerConfigs(rr.ConfigNames, r.IncludeSynonyms, r.IncludeDocumentation)
		case resourceBrokerLogger:
			if err := h.checkLoggerResource(rr.ResourceName); err != nil {
				res.ErrorCode, res.ErrorMessage = errorCode(err), errorMessage(err)
				break
			}
			res.Configs = h.describeBrokerLoggers(rr.ConfigNames)
		case resourceGroup:
			if rr.ResourceName == "" {
				res.ErrorCode, res.ErrorMessage = kerr.InvalidRequest.Code, new(errEmptyGroupName)
				break
			}
			res.Configs = h.describeGroupConfigs(rr.ResourceName, rr.ConfigNames, r.IncludeSynonyms, r.IncludeDocumentation)
		default:
			res.ErrorCode = kerr.InvalidRequest.Code
		}
		if r.Version == 0 {
			for i := range res.Configs {
				// v0 has no source field: IsDefault carries it.
				res.Configs[i].IsDefault = res.Configs[i].Source == kmsg.ConfigSource(config.SourceDefault)
			}
		}
		resp.Resources = append(resp.Resources, res)
	}
	return respond(resp)
}

// describeTopicConfigs lists a topic's configs (all, or names) as
// DescribeConfigs reports them.
func (h *Handler) describeTopicConfigs(overrides map[string]string, names []string, synonyms, docs bool) []kmsg.DescribeConfigsResponseResourceConfig {
	if names == nil {
		names = config.TopicConfigNames()
	}
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, name := range names {
		info, ok := config.DescribeTopic(name)
		if !ok {
			continue
		}
		value, source, syns := config.TopicConfigs(overrides).Effective(name, h.opts.Broker)
		out = append(out, describedConfig(info, value, source, syns, synonyms, docs))
	}
	return out
}

func (h *Handler) describeBrokerConfigs(names []string, synonyms, docs bool) []kmsg.DescribeConfigsResponseResourceConfig {
	if names == nil {
		names = append(config.BrokerConfigNames(), h.opts.Broker.DynamicNames()...)
	}
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, name := range names {
		value, source, syns := h.opts.Broker.Effective(name)
		if source == config.SourceUnknown {
			continue
		}
		out = append(out, describedConfig(brokerConfigInfo(name), value, source, syns, synonyms, docs))
	}
	return out
}

// describeDefaultBrokerConfigs answers for the BROKER resource "": the
// cluster-wide dynamic defaults only, as Kafka does.
func (h *Handler) describeDefaultBrokerConfigs(names []string, synonyms, docs bool) []kmsg.DescribeConfigsResponseResourceConfig {
	set := h.catalog.BrokerConfigs(false)
	if names == nil {
		names = slices.Sorted(maps.Keys(set))
	}
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, name := range names {
		value, ok := set[name]
		if !ok {
			continue
		}
		info := brokerConfigInfo(name)
		syn := config.Synonym{Name: name, Value: value, Source: config.SourceDynamicDefaultBroker}
		out = append(out, describedConfig(info, value, syn.Source, []config.Synonym{syn}, synonyms, docs))
	}
	return out
}

// brokerConfigInfo describes a broker config; one the table does not know
// (set dynamically) is of unknown type and sensitive, as Kafka reports it.
func brokerConfigInfo(name string) config.Info {
	if info, ok := config.DescribeBroker(name); ok {
		return info
	}
	return config.Info{Name: name, Type: config.TypeUnknown, Sensitive: true, Usage: config.UsageActive}
}

func describedConfig(info config.Info, value string, source config.Source, syns []config.Synonym, withSynonyms, withDocs bool) kmsg.DescribeConfigsResponseResourceConfig {
	c := kmsg.NewDescribeConfigsResponseResourceConfig()
	c.Name = info.Name
	if !info.Sensitive && (source != config.SourceDefault || info.HasDefault) {
		v := value
		c.Value = &v
	}
	c.ReadOnly = info.ReadOnly
	c.Source = kmsg.ConfigSource(source)
	c.IsSensitive = info.Sensitive
	c.ConfigType = kmsg.ConfigType(info.Type)
	if withDocs {
		doc := info.Doc
		c.Documentation = &doc
	}
	if withSynonyms {
		for _, s := range syns {
			sc := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
			sc.Name, sc.Source = s.Name, kmsg.ConfigSource(s.Source)
			if !info.Sensitive {
				v := s.Value
				sc.Value = &v
			}
			c.ConfigSynonyms = append(c.ConfigSynonyms, sc)
		}
	}
	return c
}
