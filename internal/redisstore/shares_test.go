package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/access"
)

// TestSharesAreGCRA: on Redis's clock (miniredis's, moved by hand), the
// shared share admits what the in-process token bucket does
// (access.TestLocalSharesAreTokenBuckets has the same rows and figures):
// Burst calls at once, then one per 1/PerSecond; a refusal spends
// nothing; a reload's faster rate applies at once. The gate's clock is
// not used (a far-off now changes nothing).
func TestSharesAreGCRA(t *testing.T) {
	s, mr := newMini(t)
	sh := s.Shares()
	t0 := time.Unix(1e9, 0)
	two := access.Rate{PerSecond: 2, Burst: 2}
	tests := []struct {
		name   string
		caller string
		r      access.Rate
		at     time.Duration // after t0, on Redis's clock
		ok     bool
		wait   time.Duration
	}{
		{"first of the burst", "a", two, 0, true, 0},
		{"second of the burst", "a", two, 0, true, 0},
		{"over: one call in 1/2 s", "a", two, 0, false, 500 * time.Millisecond},
		{"the refusal spent nothing", "a", two, 100 * time.Millisecond, false, 400 * time.Millisecond},
		{"refilled", "a", two, 500 * time.Millisecond, true, 0},
		{"another caller has its own key", "b", two, 500 * time.Millisecond, true, 0},
		{"reloaded to 10/s: a call in 1/10 s", "a", access.Rate{PerSecond: 10, Burst: 2}, 500 * time.Millisecond, false, 100 * time.Millisecond},
		{"at the new rate", "a", access.Rate{PerSecond: 10, Burst: 2}, 600 * time.Millisecond, true, 0},
		{"a third of a call a second", "c", access.Rate{PerSecond: 3, Burst: 1}, 0, true, 0},
		{"waits 1/3 s (µs of the TAT rounded)", "c", access.Rate{PerSecond: 3, Burst: 1}, 0, false, 333333 * time.Microsecond},
		{"unlimited", "d", access.Rate{}, 0, true, 0},
		{"unlimited again", "d", access.Rate{}, 0, true, 0},
	}
	for _, tt := range tests {
		mr.SetTime(t0.Add(tt.at))
		ok, wait, err := sh.Take(context.Background(), tt.caller, tt.r, time.Unix(4e9, 0))
		if err != nil || ok != tt.ok || wait != tt.wait {
			t.Errorf("%s: ok=%v wait=%v err=%v, want ok=%v wait=%v", tt.name, ok, wait, err, tt.ok, tt.wait)
		}
	}
	// Pinned by hand: a's TAT is t0+800ms at t0+600ms; d, unlimited, has
	// no key.
	if ttl := mr.TTL(sh.key("a")); ttl != 200*time.Millisecond {
		t.Errorf("a's key lives %v, want 200ms (until its bucket is full)", ttl)
	}
	if n := len(mr.Keys()); n != 3 {
		t.Errorf("%d keys %q, want 3 (a, b, c)", n, mr.Keys())
	}
	mr.FastForward(200 * time.Millisecond)
	if mr.Exists(sh.key("a")) {
		t.Error("a's key outlives its bucket's refill")
	}
}

// TestSharesKeysNameNoCaller: a caller's key is in the account's
// namespace, named by a keyed hash: not the name, not its plain SHA-256,
// the same for every replica of the account (same secret), another under
// another secret.
func TestSharesKeysNameNoCaller(t *testing.T) {
	s, mr := newMini(t)
	const caller = "spiffe://corp/ns/billing/sa/batch"
	if ok, _, err := s.Shares().Take(context.Background(), caller, access.Rate{PerSecond: 1, Burst: 1}, time.Time{}); err != nil || !ok {
		t.Fatalf("take: %v %v", ok, err)
	}
	keys := mr.Keys()
	if len(keys) != 1 || !regexp.MustCompile(`^contacts-facade:[0-9a-f]{16}:share:[0-9a-f]{64}$`).MatchString(keys[0]) {
		t.Fatalf("keys %q", keys)
	}
	plain := sha256.Sum256([]byte(caller))
	if strings.Contains(keys[0], "billing") || strings.Contains(keys[0], hex.EncodeToString(plain[:])) {
		t.Errorf("key %q names the caller", keys[0])
	}
	other, err := Open(Config{URL: "redis://" + mr.Addr(), Account: "acct-1", Secret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if k := other.Shares().key(caller); k != keys[0] {
		t.Errorf("another replica names the key %q, want %q", k, keys[0])
	}
	rotated, err := Open(Config{URL: "redis://" + mr.Addr(), Account: "acct-1", Secret: "rotated"})
	if err != nil {
		t.Fatal(err)
	}
	defer rotated.Close()
	if k := rotated.Shares().key(caller); k == keys[0] {
		t.Error("another secret names the same key")
	}
}

// TestSharesKeyLivesAtMostMaxShareTTL: a bucket that takes longer than
// MaxShareTTL to fill (100 at 1 an hour, 30 spent: 30 h) keeps its key
// for MaxShareTTL.
func TestSharesKeyLivesAtMostMaxShareTTL(t *testing.T) {
	s, mr := newMini(t)
	mr.SetTime(time.Unix(1e9, 0))
	sh := s.Shares()
	r := access.Rate{PerSecond: 1.0 / 3600, Burst: 100}
	for i := range 30 {
		if ok, _, err := sh.Take(context.Background(), "slow", r, time.Time{}); err != nil || !ok {
			t.Fatalf("take %d: %v %v", i, ok, err)
		}
	}
	if ttl := mr.TTL(sh.key("slow")); ttl != MaxShareTTL {
		t.Errorf("TTL %v, want %v", ttl, MaxShareTTL)
	}
}

// TestSharesFailWithTheKindOnly: with Redis away, Take fails, spends
// nothing, and its error's text (logged by the gate) names no address.
func TestSharesFailWithTheKindOnly(t *testing.T) {
	s, mr := newMini(t)
	addr := mr.Addr()
	mr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	ok, _, err := s.Shares().Take(ctx, "a", access.Rate{PerSecond: 1, Burst: 1}, time.Time{})
	if err == nil || ok {
		t.Fatalf("ok=%v err=%v, want a failure", ok, err)
	}
	if host, _, _ := strings.Cut(addr, ":"); strings.Contains(err.Error(), host) {
		t.Errorf("error %q names the address", err)
	}
	if !strings.HasPrefix(err.Error(), "redisstore: shares: Redis ") {
		t.Errorf("error %q", err)
	}
}
