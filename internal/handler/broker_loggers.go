package handler

// BROKER_LOGGER resources (DescribeConfigs, IncrementalAlterConfigs): the
// broker's loggers and their levels, as Kafka serves its log4j loggers to
// `kafka-configs.sh --entity-type broker-loggers`. The resource name is this
// broker's id; every config is a logger ("root", "samsa.<component>") whose
// value is its level. Levels live in memory only, as in Kafka.

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/logging"
)

const resourceBrokerLogger = 8

var errBrokerLoggers = errors.New("broker loggers are not served")

// checkLoggerResource validates a BROKER_LOGGER resource name.
func (h *Handler) checkLoggerResource(name string) error {
	switch {
	case h.opts.Loggers == nil:
		return fmt.Errorf("%w: %w", errInvalidRequest, errBrokerLoggers)
	case name == "":
		return fmt.Errorf("%w: broker id must not be empty", errInvalidRequest)
	case name != strconv.Itoa(int(h.opts.NodeID)):
		return fmt.Errorf("%w: unexpected broker id, expected %d but received %s", errInvalidRequest, h.opts.NodeID, name)
	}
	return nil
}

// describeBrokerLoggers lists the loggers (all, or the named ones).
func (h *Handler) describeBrokerLoggers(names []string) []kmsg.DescribeConfigsResponseResourceConfig {
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, l := range h.opts.Loggers.Loggers() {
		if names != nil && !slices.Contains(names, l.Name) {
			continue
		}
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name, c.Value = l.Name, kmsg.StringPtr(l.Level)
		c.Source = kmsg.ConfigSourceDynamicBrokerLoggerConfig
		c.ConfigType = kmsg.ConfigTypeString
		out = append(out, c)
	}
	return out
}

// alterBrokerLoggers applies SET (a level) and DELETE (follow the root
// again) to loggers, all or none: every operation is checked first.
func (h *Handler) alterBrokerLoggers(name string, ops []kmsg.IncrementalAlterConfigsRequestResourceConfig, validateOnly bool) error {
	if err := h.checkLoggerResource(name); err != nil {
		return err
	}
	levels := h.opts.Loggers
	for _, op := range ops {
		var err error
		switch op.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			value := "null"
			if op.Value != nil {
				value = *op.Value
			}
			err = levels.Check(op.Name, value)
		case kmsg.IncrementalAlterConfigOpDelete:
			err = levels.CheckReset(op.Name)
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			return fmt.Errorf("%w: %s operation is not allowed for the BROKER_LOGGER resource", errInvalidRequest, op.Op)
		default:
			return fmt.Errorf("%w: unknown operation type %d is not allowed for the BROKER_LOGGER resource", errInvalidRequest, op.Op)
		}
		switch {
		case errors.Is(err, logging.ErrResetRoot):
			return fmt.Errorf("%w: %v", errInvalidRequest, err)
		case err != nil:
			return fmt.Errorf("%w: %v", errInvalidConfig, err)
		}
	}
	if validateOnly {
		return nil
	}
	for _, op := range ops {
		var err error
		if op.Op == kmsg.IncrementalAlterConfigOpSet {
			err = levels.SetLevel(op.Name, *op.Value)
		} else {
			err = levels.ResetLevel(op.Name)
		}
		if err != nil {
			return fmt.Errorf("%w: %v", errInvalidConfig, err)
		}
		h.log.Info("logger level changed", "logger", op.Name, "op", op.Op.String(), "level", op.Value)
	}
	return nil
}
