package redisstore

import (
	"context"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
)

// tokenLifetime is how long a shared token is kept in Redis after it was
// obtained: the documented lifetime of a Booking.com token. Each replica
// still works out the expiry from the JWT itself.
const tokenLifetime = time.Hour

// TokenShare is the fleet's upstreamauth.Shared: the token sealed in
// Redis, and a lock with expiry and fencing (renewed while held) so that
// one replica exchanges at a time.
type TokenShare struct {
	s   *Store
	now func() time.Time
}

var _ upstreamauth.Shared = (*TokenShare)(nil)

// TokenShare returns the account's shared token slot. A nil now means
// time.Now.
func (s *Store) TokenShare(now func() time.Time) *TokenShare {
	if now == nil {
		now = time.Now
	}
	return &TokenShare{s: s, now: now}
}

// Load returns the token the fleet holds.
func (t *TokenShare) Load(ctx context.Context) (upstreamauth.SharedToken, bool, error) {
	tok, ok, err := t.s.LoadToken(ctx)
	if err != nil || !ok {
		return upstreamauth.SharedToken{}, false, err
	}
	return upstreamauth.SharedToken{JWT: tok.JWT, RUID: tok.RUID, Obtained: tok.Obtained}, true, nil
}

// Store publishes a new token to the fleet.
func (t *TokenShare) Store(ctx context.Context, tok upstreamauth.SharedToken) error {
	return t.s.StoreToken(ctx, Token{JWT: tok.JWT, RUID: tok.RUID, Obtained: tok.Obtained,
		Expires: tok.Obtained.Add(tokenLifetime)}, t.now())
}

// TryLock claims the fleet's right to exchange for ttl.
func (t *TokenShare) TryLock(ctx context.Context, ttl time.Duration) (func(), bool, error) {
	l, ok, err := t.s.TryLock(ctx, "token-exchange", ttl)
	if err != nil || !ok {
		return nil, false, err
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = l.Unlock(ctx)
	}, true, nil
}
