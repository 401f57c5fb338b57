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
	now    func() time.Time
	down   atomic.Bool
	// checked is when Redis was last found away or probed (UnixNano of
	// now), so that Degraded probes at most once per degradedProbe.
	checked atomic.Int64
}

// Probing of Degraded.
const (
	// degradedProbe is how often Degraded, while Redis was last found
	// away, asks Redis again.
	degradedProbe = time.Second
	// probeTimeout bounds that question.
	probeTimeout = 500 * time.Millisecond
)

// NewFallbackBudget combines the shared budget with a local one. A nil
// logger discards; a nil now means time.Now.
func NewFallbackBudget(shared *Budget, local LocalBudget, log *slog.Logger, now func() time.Time) *FallbackBudget {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &FallbackBudget{shared: shared, local: local, log: log, warn: lograte.New(time.Minute, now), now: now}
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

// Degraded reports whether Redis is away as far as this replica knows, for
// health and metrics. A budget call that fails sets it and one that
// succeeds clears it; since a replica holding a good token makes no budget
// call for up to an hour, Degraded itself, while set, pings Redis (at most
// once a second, within 500 ms) and clears it when Redis answers.
func (f *FallbackBudget) Degraded() bool {
	if !f.down.Load() {
		return false
	}
	last, now := f.checked.Load(), f.now().UnixNano()
	if now-last < int64(degradedProbe) || !f.checked.CompareAndSwap(last, now) {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	if err := f.shared.s.Ping(ctx); err != nil {
		return true
	}
	f.recovered()
	return false
}

func (f *FallbackBudget) failed(err error) {
	f.checked.Store(f.now().UnixNano())
	f.down.Store(true)
	if ok, n := f.warn.Allow("redis budget"); ok {
		// The error is go-redis's (an address and an errno), never a
		// credential: the URL's password is not in it.
		f.log.Warn("shared Redis unavailable: token exchanges use this replica's local budget",
			slog.Int("local_limit_per_hour", f.local.Limit()),
			slog.String("error_kind", ErrorKind(err)),
			slog.Int("suppressed", n))
	}
}

func (f *FallbackBudget) recovered() {
	if f.down.Swap(false) {
		f.log.Info("shared Redis available again: token exchanges use the fleet's budget")
	}
}

// ErrorKind names an error of a call to Redis without its text (which
// may name addresses), for a log line: "context", "timeout" or
// "unreachable".
func ErrorKind(err error) string {
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
