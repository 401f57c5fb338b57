package upstreamauth

import (
	"context"
	"sync"
	"time"
)

// budgetWindow is the sliding window of a Budget's limit.
const budgetWindow = time.Hour

// Budget is the account's token-exchange allowance: at most Limit() attempts in any sliding hour.
type Budget interface {
	// Take records one attempt now unless fewer than reserve+1 attempts are left
	// in the window; when refused it says when the next attempt frees up.
	Take(ctx context.Context, reserve int) (ok bool, retryAfter time.Duration, err error)
	// Left reports the attempts still allowed in the current window.
	Left(ctx context.Context) (int, error)
	Limit() int
}

// LocalBudget is a Budget held in this process's memory: a log of the
// attempts of the last hour. It is exact for one process; replicas sharing
// an account need a shared implementation. It is safe for concurrent use.
type LocalBudget struct {
	limit int
	now   func() time.Time

	mu sync.Mutex
	// attempts are the times of the attempts still in the window, oldest
	// first.
	attempts []time.Time
}

// NewLocalBudget returns an empty budget of limit attempts an hour on the
// clock now (time.Now when nil). A limit below 1 is taken as 1.
func NewLocalBudget(limit int, now func() time.Time) *LocalBudget {
	if now == nil {
		now = time.Now
	}
	return &LocalBudget{limit: max(limit, 1), now: now}
}

// Take implements Budget. A negative reserve counts as 0; a reserve of
// Limit() or more refuses every attempt (retryAfter is then the window).
// It never fails.
func (b *LocalBudget) Take(_ context.Context, reserve int) (bool, time.Duration, error) {
	reserve = max(reserve, 0)
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.pruneLocked(now)
	room := b.limit - reserve // attempts allowed in the window for this caller
	if len(b.attempts) < room {
		b.attempts = append(b.attempts, now)
		return true, 0, nil
	}
	if room <= 0 {
		return false, budgetWindow, nil
	}
	// The attempt is allowed once all but room-1 of the logged attempts
	// have left the window.
	frees := b.attempts[len(b.attempts)-room]
	return false, frees.Add(budgetWindow).Sub(now), nil
}

// Left implements Budget; it never fails.
func (b *LocalBudget) Left(context.Context) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pruneLocked(b.now())
	return b.limit - len(b.attempts), nil
}

// Limit implements Budget.
func (b *LocalBudget) Limit() int { return b.limit }

// pruneLocked drops the attempts that have left the window: an attempt at
// t counts until t+1h, exclusive.
func (b *LocalBudget) pruneLocked(now time.Time) {
	cut := now.Add(-budgetWindow)
	i := 0
	for i < len(b.attempts) && !b.attempts[i].After(cut) {
		i++
	}
	if i > 0 {
		b.attempts = append(b.attempts[:0], b.attempts[i:]...)
	}
}

// renewalReserve is the part of an hourly limit that renewals driven by
// rejected tokens may not spend, so that ordinary renewals before expiry
// (one an hour) still find room after a storm of rejections: a sixth of
// the limit (5 of Booking.com's 30), at least 1 when the limit allows one
// for rejections at all.
func renewalReserve(limit int) int {
	if limit < 2 {
		return 0
	}
	return max(limit/6, 1)
}
