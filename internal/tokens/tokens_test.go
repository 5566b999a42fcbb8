package tokens

import (
	"errors"
	"testing"
	"time"

	"github.com/samsa-broker/samsa/internal/metadata"
	"github.com/samsa-broker/samsa/internal/security"
)

// memStore is a Store in memory.
type memStore map[string]metadata.DelegationToken

func (s memStore) SetDelegationToken(t metadata.DelegationToken) error { s[t.ID] = t; return nil }
func (s memStore) RemoveDelegationToken(id string) error               { delete(s, id); return nil }
func (s memStore) DelegationToken(id string) (metadata.DelegationToken, bool) {
	t, ok := s[id]
	return t, ok
}
func (s memStore) DelegationTokens() []metadata.DelegationToken {
	var out []metadata.DelegationToken
	for _, t := range s {
		out = append(out, t)
	}
	return out
}

func TestLifetimes(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	store := memStore{}
	m := New(Config{Secret: "s", Expiry: time.Hour, MaxLifetime: 3 * time.Hour, Now: func() time.Time { return now }}, store)
	long, err := m.Create("User:alice", "User:alice", []string{"User:bob"}, 10*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if long.Max-long.Issued != (3*time.Hour).Milliseconds() || long.Expiry-long.Issued != time.Hour.Milliseconds() {
		t.Fatalf("a lifetime over the maximum: %+v", long.DelegationToken)
	}
	brief, _ := m.Create("User:alice", "User:alice", nil, 30*time.Minute)
	if brief.Expiry-brief.Issued != (30 * time.Minute).Milliseconds() {
		t.Fatalf("expiry past a short max lifetime: %+v", brief.DelegationToken)
	}
	for _, tc := range []struct {
		name      string
		mac       []byte
		principal string
		period    time.Duration
		want      error
		expiry    time.Duration // after now
	}{
		{"renewer", long.HMAC, "User:bob", 2 * time.Hour, nil, 2 * time.Hour},
		{"past the max lifetime", long.HMAC, "User:alice", 5 * time.Hour, nil, 3 * time.Hour},
		{"negative: the default expiry", long.HMAC, "User:alice", -1, nil, time.Hour},
		{"a stranger", long.HMAC, "User:carol", time.Hour, ErrOwnerMismatch, 0},
		{"unknown", []byte("x"), "User:alice", time.Hour, ErrNotFound, 0},
	} {
		got, err := m.Renew(tc.mac, tc.principal, tc.period)
		if !errors.Is(err, tc.want) || (err == nil && got.Sub(now) != tc.expiry) {
			t.Errorf("%s: %v, %v; want %v, now+%s", tc.name, got, err, tc.want, tc.expiry)
		}
	}
	if _, _, _, ok := m.TokenScramCredential(brief.ID, security.MechanismScramSHA256); !ok {
		t.Fatal("a live token has no credential")
	}
	now = now.Add(45 * time.Minute) // brief has expired, long has not
	if _, _, _, ok := m.TokenScramCredential(brief.ID, security.MechanismScramSHA256); ok {
		t.Fatal("an expired token still authenticates")
	}
	if _, err := m.Renew(brief.HMAC, "User:alice", time.Hour); !errors.Is(err, ErrExpired) {
		t.Fatalf("renew an expired token: %v", err)
	}
	m.RemoveExpired()
	if _, ok := store[long.ID]; !ok || len(store) != 1 {
		t.Fatalf("after removing expired tokens: %v", store)
	}
	if at, err := m.Expire(long.HMAC, "User:bob", -1); err != nil || !at.Equal(now) || len(store) != 0 {
		t.Fatalf("expire now: %v %v, %d tokens left", at, err, len(store))
	}
}

func TestDisabled(t *testing.T) {
	m := New(Config{}, memStore{})
	if _, err := m.Create("User:a", "User:a", nil, 0); !errors.Is(err, ErrDisabled) {
		t.Fatalf("create: %v", err)
	}
	if _, _, _, ok := m.TokenScramCredential("id", security.MechanismScramSHA256); ok {
		t.Fatal("a disabled manager authenticates")
	}
}
