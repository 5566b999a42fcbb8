package config

import (
	"errors"
	"testing"
	"time"
)

func TestValidateGroupConfigs(t *testing.T) {
	b, _ := mustBroker(t, map[string]string{"group.consumer.min.session.timeout.ms": "10000"})
	for _, tc := range []struct {
		what    string
		configs map[string]string
		want    error // nil, ErrInvalidConfig or ErrUnknownConfig
	}{
		{"none", nil, nil},
		{"session within range", map[string]string{ConsumerSessionTimeoutMs: "10000"}, nil},
		{"both", map[string]string{ConsumerSessionTimeoutMs: "60000", ConsumerHeartbeatIntervalMs: "15000"}, nil},
		{"session below the broker minimum", map[string]string{ConsumerSessionTimeoutMs: "9999"}, ErrInvalidConfig},
		{"session above the broker maximum", map[string]string{ConsumerSessionTimeoutMs: "60001"}, ErrInvalidConfig},
		{"heartbeat below the broker minimum", map[string]string{ConsumerHeartbeatIntervalMs: "4999"}, ErrInvalidConfig},
		{"heartbeat not below session", map[string]string{ConsumerSessionTimeoutMs: "10000", ConsumerHeartbeatIntervalMs: "10000"}, ErrInvalidConfig},
		{"not a number", map[string]string{ConsumerSessionTimeoutMs: "45s"}, ErrInvalidConfig},
		{"zero", map[string]string{ConsumerHeartbeatIntervalMs: "0"}, ErrInvalidConfig},
		{"share group config", map[string]string{"share.session.timeout.ms": "45000"}, ErrUnknownConfig},
	} {
		t.Run(tc.what, func(t *testing.T) {
			err := ValidateGroupConfigs(tc.configs, b)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	session, heartbeat := b.ConsumerGroupTimeouts(map[string]string{ConsumerSessionTimeoutMs: "50000"})
	if session != 50*time.Second || heartbeat != 5*time.Second {
		t.Fatalf("timeouts %v %v, want the override and the broker's 5s", session, heartbeat)
	}
	if v, src := b.GroupConfigEffective(nil, ConsumerSessionTimeoutMs); v != "45000" || src != SourceDefault {
		t.Fatalf("unset session timeout %q from %v", v, src)
	}
}

func TestConsumerGroupBrokerRanges(t *testing.T) {
	for _, tc := range []struct {
		what  string
		props map[string]string
		ok    bool
	}{
		{"defaults", nil, true},
		{"session below its minimum", map[string]string{"group.consumer.session.timeout.ms": "30000"}, false},
		{"session above its maximum", map[string]string{"group.consumer.session.timeout.ms": "90000"}, false},
		{"wider range", map[string]string{"group.consumer.session.timeout.ms": "90000", "group.consumer.max.session.timeout.ms": "120000"}, true},
		{"heartbeat above its maximum", map[string]string{"group.consumer.heartbeat.interval.ms": "20000"}, false},
		{"heartbeat not below session", map[string]string{
			"group.consumer.heartbeat.interval.ms": "45000", "group.consumer.max.heartbeat.interval.ms": "60000"}, false},
	} {
		t.Run(tc.what, func(t *testing.T) {
			_, _, err := NewBroker(tc.props)
			if (err == nil) != tc.ok {
				t.Fatalf("NewBroker: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
