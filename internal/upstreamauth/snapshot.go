package upstreamauth

import (
	"context"
	"time"
)

// TokenSnapshot is the state of a TokenSource at one moment, for metrics.
type TokenSnapshot struct {
	// HasToken reports whether a token is cached (it may have been
	// refused by the upstream and be awaiting renewal).
	HasToken bool
	// ObtainedAt and ExpiresAt are the cached token's; zero without one.
	ObtainedAt, ExpiresAt time.Time
	// RenewalWanted: the upstream refused the cached token and a renewal
	// is pending.
	RenewalWanted bool
	// BudgetLeft is Budget.Left, -1 when the budget could not be read;
	// BudgetLimit is Budget.Limit.
	BudgetLeft, BudgetLimit int
	// BackoffUntil is when an exchange may be tried again after failures;
	// zero when nothing is held off.
	BackoffUntil time.Time
	// Exchanging reports whether an exchange is in progress.
	Exchanging bool
}

// Snapshot reports the source's state. It reads the Budget (bounded by a
// second), so it may block that long with a remote one.
func (s *TokenSource) Snapshot() TokenSnapshot {
	s.mu.Lock()
	now := s.now()
	snap := TokenSnapshot{Exchanging: s.inflight != nil, BudgetLimit: s.budget.Limit()}
	if tok := s.tok; tok != nil {
		snap.HasToken = true
		snap.ObtainedAt, snap.ExpiresAt = tok.obtained, tok.expires
		snap.RenewalWanted = tok.renewWanted
	}
	if s.fail.active(now) {
		snap.BackoffUntil = s.fail.until
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(s.base, snapshotTimeout)
	defer cancel()
	left, err := s.budget.Left(ctx)
	if err != nil {
		left = -1
	}
	snap.BudgetLeft = left
	return snap
}
