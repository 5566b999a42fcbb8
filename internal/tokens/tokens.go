// Package tokens manages delegation tokens (KIP-48): short-lived credentials
// a principal authenticated another way creates for jobs that run on its
// behalf. A token is an id and an HMAC of that id under the broker's secret
// (delegation.token.secret.key); a client authenticates with SCRAM, the id as
// user name, the HMAC (base64) as password and the tokenauth=true extension,
// and is then the token's owner. Tokens live delegation.token.expiry.time.ms
// unless renewed, never past their max lifetime, and are kept in the
// metadata log.
package tokens

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/samsa-broker/samsa/internal/metadata"
	"github.com/samsa-broker/samsa/internal/security"
)

// Errors the handlers map to Kafka's codes.
var (
	ErrDisabled      = errors.New("delegation tokens are disabled: delegation.token.secret.key is not set")
	ErrNotFound      = errors.New("delegation token not found")
	ErrOwnerMismatch = errors.New("the principal is neither the token's owner nor one of its renewers")
	ErrExpired       = errors.New("delegation token expired")
)

// Store persists tokens; metadata.Store implements it.
type Store interface {
	SetDelegationToken(metadata.DelegationToken) error
	RemoveDelegationToken(id string) error
	DelegationToken(id string) (metadata.DelegationToken, bool)
	DelegationTokens() []metadata.DelegationToken
}

// Config configures a Manager, in the broker's delegation.token.* settings.
type Config struct {
	Secret      string        // delegation.token.secret.key; "" disables tokens
	Expiry      time.Duration // delegation.token.expiry.time.ms
	MaxLifetime time.Duration // delegation.token.max.lifetime.ms
	Now         func() time.Time
	Logger      *slog.Logger
}

// Token is a delegation token with its HMAC.
type Token struct {
	metadata.DelegationToken
	HMAC []byte
}

// Manager creates, renews, expires and authenticates delegation tokens.
type Manager struct {
	cfg   Config
	store Store

	// changeMu orders the read-modify-writes of tokens (renew, expire,
	// removal of expired ones), so one cannot bring back a token another
	// removed.
	changeMu sync.Mutex

	mu    sync.Mutex
	creds map[string]map[string]security.ScramCredential // by token id, then mechanism
}

// New returns a manager; with no secret every operation fails with
// ErrDisabled.
func New(cfg Config, store Store) *Manager {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{cfg: cfg, store: store, creds: map[string]map[string]security.ScramCredential{}}
}

// Enabled reports whether a secret is configured.
func (m *Manager) Enabled() bool { return m.cfg.Secret != "" }

func (m *Manager) hmac(id string) []byte {
	mac := hmac.New(sha512.New, []byte(m.cfg.Secret))
	mac.Write([]byte(id))
	return mac.Sum(nil)
}

// Create issues a token owned by owner for requester. maxLifetime <= 0 (or
// over delegation.token.max.lifetime.ms) means the configured maximum.
func (m *Manager) Create(owner, requester string, renewers []string, maxLifetime time.Duration) (Token, error) {
	if !m.Enabled() {
		return Token{}, ErrDisabled
	}
	if maxLifetime <= 0 || maxLifetime > m.cfg.MaxLifetime {
		maxLifetime = m.cfg.MaxLifetime
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Token{}, fmt.Errorf("token id: %w", err)
	}
	now := m.cfg.Now().UnixMilli()
	t := metadata.DelegationToken{
		ID: base64.RawURLEncoding.EncodeToString(raw[:]), Owner: owner, Requester: requester,
		Renewers: slices.Clone(renewers), Issued: now, Max: now + maxLifetime.Milliseconds(),
	}
	t.Expiry = min(now+m.cfg.Expiry.Milliseconds(), t.Max)
	if err := m.store.SetDelegationToken(t); err != nil {
		return Token{}, fmt.Errorf("store delegation token: %w", err)
	}
	return Token{DelegationToken: t, HMAC: m.hmac(t.ID)}, nil
}

// byHMAC finds the token whose HMAC is mac.
func (m *Manager) byHMAC(mac []byte) (metadata.DelegationToken, bool) {
	for _, t := range m.store.DelegationTokens() {
		if hmac.Equal(m.hmac(t.ID), mac) {
			return t, true
		}
	}
	return metadata.DelegationToken{}, false
}

// mayRenew reports whether principal is t's owner or one of its renewers.
func mayRenew(t metadata.DelegationToken, principal string) bool {
	return t.Owner == principal || slices.Contains(t.Renewers, principal)
}

// Renew extends the token with HMAC mac by period (from now, never past its
// max lifetime; a negative period means delegation.token.expiry.time.ms)
// and returns its new expiry.
func (m *Manager) Renew(mac []byte, principal string, period time.Duration) (time.Time, error) {
	m.changeMu.Lock()
	defer m.changeMu.Unlock()
	t, err := m.forChange(mac, principal)
	if err != nil {
		return time.Time{}, err
	}
	if period < 0 {
		period = m.cfg.Expiry
	}
	t.Expiry = min(m.cfg.Now().UnixMilli()+period.Milliseconds(), t.Max)
	if err := m.store.SetDelegationToken(t); err != nil {
		return time.Time{}, fmt.Errorf("store delegation token: %w", err)
	}
	return time.UnixMilli(t.Expiry), nil
}

// Expire sets the token with HMAC mac to expire after period (never past
// its max lifetime); a negative period removes it now. It returns the
// expiry.
func (m *Manager) Expire(mac []byte, principal string, period time.Duration) (time.Time, error) {
	m.changeMu.Lock()
	defer m.changeMu.Unlock()
	t, err := m.forChange(mac, principal)
	if err != nil {
		return time.Time{}, err
	}
	now := m.cfg.Now()
	if period < 0 {
		if err := m.store.RemoveDelegationToken(t.ID); err != nil {
			return time.Time{}, fmt.Errorf("remove delegation token: %w", err)
		}
		m.forget(t.ID)
		return now, nil
	}
	t.Expiry = min(now.UnixMilli()+period.Milliseconds(), t.Max)
	if err := m.store.SetDelegationToken(t); err != nil {
		return time.Time{}, fmt.Errorf("store delegation token: %w", err)
	}
	return time.UnixMilli(t.Expiry), nil
}

// forChange returns the live token with HMAC mac that principal may renew
// or expire.
func (m *Manager) forChange(mac []byte, principal string) (metadata.DelegationToken, error) {
	if !m.Enabled() {
		return metadata.DelegationToken{}, ErrDisabled
	}
	t, ok := m.byHMAC(mac)
	switch {
	case !ok:
		return t, ErrNotFound
	case !mayRenew(t, principal):
		return t, fmt.Errorf("%w: %s", ErrOwnerMismatch, principal)
	case t.Expiry < m.cfg.Now().UnixMilli():
		return t, ErrExpired
	}
	return t, nil
}

// Describe returns the tokens visible is true for, with their HMACs.
func (m *Manager) Describe(visible func(metadata.DelegationToken) bool) ([]Token, error) {
	if !m.Enabled() {
		return nil, ErrDisabled
	}
	var out []Token
	for _, t := range m.store.DelegationTokens() {
		if visible(t) {
			out = append(out, Token{DelegationToken: t, HMAC: m.hmac(t.ID)})
		}
	}
	return out, nil
}

// MayDescribe reports whether principal is t's owner, requester or one of
// its renewers: who sees a token without an ACL.
func MayDescribe(t metadata.DelegationToken, principal string) bool {
	return t.Requester == principal || mayRenew(t, principal)
}

// TokenScramCredential returns the SCRAM credential that authenticates as
// the unexpired token id (for mechanism), the token's owner's name (the
// owner principal without "User:") and when the token expires. It
// implements security.TokenStore.
func (m *Manager) TokenScramCredential(id, mechanism string) (security.ScramCredential, string, time.Time, bool) {
	if !m.Enabled() {
		return security.ScramCredential{}, "", time.Time{}, false
	}
	t, ok := m.store.DelegationToken(id)
	if !ok || t.Expiry < m.cfg.Now().UnixMilli() {
		return security.ScramCredential{}, "", time.Time{}, false
	}
	expiry := time.UnixMilli(t.Expiry)
	m.mu.Lock()
	defer m.mu.Unlock()
	owner := strings.TrimPrefix(t.Owner, "User:")
	if c, ok := m.creds[id][mechanism]; ok {
		return c, owner, expiry, true
	}
	// The client's password is the HMAC in base64, as Kafka's.
	c, err := security.NewScramCredential(mechanism, base64.StdEncoding.EncodeToString(m.hmac(id)), security.MinScramIterations)
	if err != nil {
		m.cfg.Logger.Warn("delegation token credential", "err", err)
		return security.ScramCredential{}, "", time.Time{}, false
	}
	if m.creds[id] == nil {
		m.creds[id] = map[string]security.ScramCredential{}
	}
	m.creds[id][mechanism] = c
	return c, owner, expiry, true
}

func (m *Manager) forget(id string) {
	m.mu.Lock()
	delete(m.creds, id)
	m.mu.Unlock()
}

// RemoveExpired removes every token past its expiry (the broker calls it
// every delegation.token.expiry.check.interval.ms).
func (m *Manager) RemoveExpired() {
	m.changeMu.Lock()
	defer m.changeMu.Unlock()
	now := m.cfg.Now().UnixMilli()
	for _, t := range m.store.DelegationTokens() {
		if t.Expiry >= now {
			continue
		}
		if err := m.store.RemoveDelegationToken(t.ID); err != nil {
			m.cfg.Logger.Warn("could not remove an expired delegation token; will retry", "token_id", t.ID, "err", err)
			continue
		}
		m.forget(t.ID)
		m.cfg.Logger.Info("removed expired delegation token", "token_id", t.ID, "owner", t.Owner)
	}
}
