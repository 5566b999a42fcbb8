package cli

// Raw DescribeConfigs and IncrementalAlterConfigs on one config resource,
// for the resource types kadm has no helpers for (BROKER_LOGGER, GROUP).

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// alterConfigResource applies ops to one resource; what names the resource
// in errors ("loggers of broker 0").
func alterConfigResource(ctx context.Context, cl kmsg.Requestor, typ kmsg.ConfigResourceType, name, what string,
	ops []kmsg.IncrementalAlterConfigsRequestResourceConfig) error {
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	rr := kmsg.NewIncrementalAlterConfigsRequestResource()
	rr.ResourceType, rr.ResourceName, rr.Configs = typ, name, ops
	req.Resources = append(req.Resources, rr)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("alter %s: %w", what, err)
	}
	for _, r := range resp.Resources {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			return fmt.Errorf("alter %s: %w", what, withBrokerMessage(err, deref(r.ErrorMessage)))
		}
	}
	return nil
}

// describeConfigResource returns one resource's configs.
func describeConfigResource(ctx context.Context, cl kmsg.Requestor, typ kmsg.ConfigResourceType, name, what string) ([]kmsg.DescribeConfigsResponseResourceConfig, error) {
	req := kmsg.NewPtrDescribeConfigsRequest()
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = typ, name
	req.Resources = append(req.Resources, rr)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", what, err)
	}
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, r := range resp.Resources {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			return nil, fmt.Errorf("describe %s: %w", what, withBrokerMessage(err, deref(r.ErrorMessage)))
		}
		out = append(out, r.Configs...)
	}
	return out, nil
}
