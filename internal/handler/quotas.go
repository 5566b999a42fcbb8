package handler

import (
	"math"
	"time"

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

// chargeQuota charges n bytes against limit and mutes the connection for
// the throttle time, which it returns in milliseconds for the response.
func (h *Handler) chargeQuota(req *conn.Request, limit quota.Limit, n int) int32 {
	d := h.throttler.Record(limit, n)
	if d <= 0 {
		return 0
	}
	req.Conn.Throttle(d)
	return int32(min(d.Milliseconds(), math.MaxInt32))
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
