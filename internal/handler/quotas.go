package handler

import (
	"context"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/quota"
)

// QuotaStore keeps client quotas durably (internal/metadata).
type QuotaStore interface {
	ClientQuotas() *quota.Set
	AlterClientQuotas(quota.Entity, []quota.Op) error
}

// quotaLimit returns the quota of key that applies to the request's
// connection (by its principal and client id), if any.
func (h *Handler) quotaLimit(req *conn.Request, key string) (quota.Limit, bool) {
	if h.opts.Quotas == nil {
		return quota.Limit{}, false
	}
	set := h.opts.Quotas.ClientQuotas()
	if set.Empty() {
		return quota.Limit{}, false // the common case: no lock, no lookups
	}
	return set.LimitFor(key, req.Conn.Principal(), req.Header.ClientID)
}

// throttleMillis is a throttle time as responses carry it.
func throttleMillis(d time.Duration) int32 { return int32(min(d.Milliseconds(), math.MaxInt32)) }

// anyQuotas reports whether any client quota is set.
func (h *Handler) anyQuotas() bool {
	return h.opts.Quotas != nil && !h.opts.Quotas.ClientQuotas().Empty()
}

// chargeQuota charges n bytes against limit and mutes the connection for
// the throttle time, which it returns in milliseconds for the response.
func (h *Handler) chargeQuota(req *conn.Request, limit quota.Limit, n int) int32 {
	d := h.throttler.Record(limit, n)
	if d <= 0 {
		return 0
	}
	req.Conn.Throttle(d)
	return throttleMillis(d)
}

// newThrottler returns the byte-rate throttler for the broker's
// quota.window settings.
func newThrottler(opts Options) *quota.Throttler {
	burst, maxThrottle := time.Second, 11*time.Second
	if opts.Broker != nil {
		burst, maxThrottle = opts.Broker.QuotaWindow()
	}
	return quota.NewThrottler(burst, maxThrottle, time.Now)
}

// mutationQuota is one CreateTopics, CreatePartitions or DeleteTopics
// request's account with the controller_mutation_rate quota (KIP-599): a
// mutation is one partition created or deleted. In strict mode (the request
// versions that know THROTTLING_QUOTA_EXCEEDED) a topic is refused once the
// quota is already exceeded; older versions are only throttled.
type mutationQuota struct {
	h      *Handler
	req    *conn.Request
	limit  quota.Limit
	active bool
	strict bool
}

func (h *Handler) mutationQuota(req *conn.Request, strict bool) *mutationQuota {
	limit, ok := h.quotaLimit(req, quota.ControllerMutationRate)
	return &mutationQuota{h: h, req: req, limit: limit, active: ok, strict: strict}
}

// admit reports whether the next topic may go ahead.
func (m *mutationQuota) admit() bool {
	return !m.active || !m.strict || m.h.mutations.Throttled(m.limit) <= 0
}

// record charges n mutations.
func (m *mutationQuota) record(n int32) {
	if m.active && n > 0 {
		m.h.mutations.Record(m.limit, int(n))
	}
}

// throttle mutes the connection for the time the quota is owed and returns
// it in milliseconds for the response.
func (m *mutationQuota) throttle() int32 {
	if !m.active {
		return 0
	}
	d := m.h.mutations.Throttled(m.limit)
	if d <= 0 {
		return 0
	}
	m.req.Conn.Throttle(d)
	return throttleMillis(d)
}

// errMutationQuota is the message of a topic refused by the quota.
const errMutationQuota = "the controller mutation quota (controller_mutation_rate) is exceeded; retry after the throttle time"

// newMutationThrottler returns the controller_mutation_rate throttler: a
// burst of controller.quota.window.num × size seconds of the rate and, as
// Kafka's token bucket, no bound on the throttle time.
func newMutationThrottler(opts Options) *quota.Throttler {
	window := 11 * time.Second
	if opts.Broker != nil {
		window = opts.Broker.ControllerQuotaWindow()
	}
	return quota.NewThrottler(window, math.MaxInt64, time.Now)
}

// chargeRequestTime charges the time a request's handler took (its
// synchronous part: a produce waiting for acks or a fetch long-poll is not
// working) to the connection's request_percentage quota, a share of one
// CPU in percent, as Kafka's request quota is a share of its handler
// threads. Over the quota, the connection is muted and the response carries
// the throttle time (the larger, if another quota throttled it too).
// ApiVersions and the SASL APIs are exempt: clients send them before they
// know to honour throttling.
func (h *Handler) chargeRequestTime(req *conn.Request, start time.Time, reply conn.Reply) conn.Reply {
	switch req.Header.Key {
	case 17, 18, 36:
		return reply
	}
	limit, ok := h.quotaLimit(req, quota.RequestPercentage)
	if !ok {
		return reply
	}
	// Percent of a second of handler time per second, in nanoseconds.
	limit.Value = limit.Value / 100 * float64(time.Second)
	d := h.requestTime.Record(limit, int(time.Since(start)))
	if d <= 0 {
		return reply
	}
	req.Conn.Throttle(d)
	ms := throttleMillis(d)
	setThrottle := func(r kmsg.Response) {
		if t, ok := r.(kmsg.ThrottleResponse); ok {
			if old, _ := t.Throttle(); old >= ms {
				return
			}
		}
		if t, ok := r.(kmsg.SetThrottleResponse); ok {
			t.SetThrottle(ms)
		}
	}
	if reply.Response != nil {
		setThrottle(reply.Response)
	}
	if wait := reply.Await; wait != nil {
		reply.Await = func(ctx context.Context) kmsg.Response {
			r := wait(ctx)
			if r != nil {
				setThrottle(r)
			}
			return r
		}
	}
	return reply
}

// newRequestTimeThrottler returns the request_percentage throttler: a burst
// of one quota.window.size.seconds and throttles of at most that, as
// Kafka's request quota.
func newRequestTimeThrottler(opts Options) *quota.Throttler {
	window := time.Second
	if opts.Broker != nil {
		window, _ = opts.Broker.QuotaWindow()
	}
	return quota.NewThrottler(window, window, time.Now)
}
