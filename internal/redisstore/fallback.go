package redisstore

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/lograte"
)

// LocalBudget is what FallbackBudget falls back to: an in-process budget
// with the method set of upstreamauth.Budget (upstreamauth.NewLocalBudget
// with a small limit).
type LocalBudget interface {
	Take(ctx context.Context, reserve int) (ok bool, retryAfter time.Duration, err error)
	Left(ctx context.Context) (int, error)
	Limit() int
}

// FallbackBudget is the fleet's budget while Redis answers and a small
// budget of this replica's own while it does not, so that an outage of
// Redis neither stops renewals nor lets every replica spend the whole
// account's allowance: N replicas spend at most N × the local limit an
// hour while Redis is away, and the fleet's log resumes when it returns
// (attempts made meanwhile are not in it; size the local limit so that
// N × local stays well under the account's limit).
type FallbackBudget struct {
	shared *Budget
	local  LocalBudget
	log    *slog.Logger
	warn   *lograte.Limiter
	down   atomic.Bool
}

// NewFallbackBudget combines the shared budget with a local one. A nil
// logger discards.
func NewFallbackBudget(shared *Budget, local LocalBudget, log *slog.Logger, now func() time.Time) *FallbackBudget {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &FallbackBudget{shared: shared, local: local, log: log, warn: lograte.New(time.Minute, now)}
}

// Take takes from the shared budget, or from the local one when Redis
// does not answer. The reserve applies to both, scaled to the local
// limit's size so that it never swallows the whole local budget.
func (f *FallbackBudget) Take(ctx context.Context, reserve int) (bool, time.Duration, error) {
	ok, wait, err := f.shared.Take(ctx, reserve)
	if err == nil {
		f.recovered()
		return ok, wait, nil
	}
	f.failed(err)
	return f.local.Take(ctx, min(reserve, f.local.Limit()/3))
}

// Left reports the shared budget's attempts left, or the local one's.
func (f *FallbackBudget) Left(ctx context.Context) (int, error) {
	n, err := f.shared.Left(ctx)
	if err == nil {
		f.recovered()
		return n, nil
	}
	f.failed(err)
	return f.local.Left(ctx)
}

// Limit is the shared budget's limit.
func (f *FallbackBudget) Limit() int { return f.shared.Limit() }

// Degraded reports whether the last call found Redis away, for health and
// metrics.
func (f *FallbackBudget) Degraded() bool { return f.down.Load() }

func (f *FallbackBudget) failed(err error) {
	f.down.Store(true)
	if ok, n := f.warn.Allow("redis budget"); ok {
		// The error is go-redis's (an address and an errno), never a
		// credential: the URL's password is not in it.
		f.log.Warn("shared Redis unavailable: token exchanges use this replica's local budget",
			slog.Int("local_limit_per_hour", f.local.Limit()),
			slog.String("error_kind", errorKind(err)),
			slog.Int("suppressed", n))
	}
}

func (f *FallbackBudget) recovered() {
	if f.down.Swap(false) {
		f.log.Info("shared Redis available again: token exchanges use the fleet's budget")
	}
}

// errorKind names an error without its text (which may name addresses).
func errorKind(err error) string {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "context"
	}
	if ne, ok := errors.AsType[interface {
		error
		Timeout() bool
	}](err); ok && ne.Timeout() {
		return "timeout"
	}
	return "unreachable"
}
