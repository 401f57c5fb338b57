package access

import (
	"container/list"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Shares spends the callers' fair shares: the policy's rate of each
// caller's grant. LocalShares holds them in process (each replica gives a
// caller its whole rate); redisstore.Shares holds them in the fleet's
// Redis (the fleet gives a caller its rate once).
type Shares interface {
	// Take spends one call of caller's share r at now, or says how long
	// until one is available (ok false: nothing was spent). An
	// implementation whose clock is shared by the fleet (Redis's TIME)
	// may ignore now. An error means the shares could not be read: the
	// gate then falls back to its in-process buckets (see
	// Config.FallbackReplicas). An error's text is logged: it must name
	// no caller and no credential.
	Take(ctx context.Context, caller string, r Rate, now time.Time) (ok bool, retryAfter time.Duration, err error)
}

const (
	// DefaultMaxCallers bounds LocalShares: past it, the least recently
	// used caller's bucket is dropped.
	DefaultMaxCallers = 10000
	// DefaultFallbackReplicas is the replicas of deploy/k8s, as the
	// upstream governor's default.
	DefaultFallbackReplicas = 3
	// sharesLogInterval: at most one WARN line a minute while the shared
	// shares fail.
	sharesLogInterval = time.Minute
	logKeyShares      = "shares"
	// sharesTimeout bounds a Take of Config.Shares: a Redis that does not
	// answer within it is away, and the call goes on with this replica's
	// part of the share rather than wait.
	sharesTimeout = 500 * time.Millisecond
	// sharesProbe: after a failure of Config.Shares, the gate asks it
	// again once per sharesProbe (one call) and uses this replica's
	// buckets meanwhile, so that an outage of Redis does not add a
	// failed round trip (or a timeout) to every call.
	sharesProbe = time.Second
)

// LocalShares are the fair shares of one process: a token bucket per
// caller (golang.org/x/time/rate) of Burst calls refilled at PerSecond.
// The buckets are bounded: past the maximum of callers, the least
// recently used bucket is dropped (its caller starts full again when it
// comes back), not every bucket. It is safe for concurrent use.
type LocalShares struct {
	mu       sync.Mutex
	limiters map[string]*list.Element // of *limiter, in lru
	lru      *list.List               // most recently used first
	max      int
}

type limiter struct {
	name string
	rate Rate
	l    *rate.Limiter
}

// NewLocalShares returns in-process shares of at most maxCallers buckets;
// DefaultMaxCallers when maxCallers ≤ 0.
func NewLocalShares(maxCallers int) *LocalShares {
	if maxCallers <= 0 {
		maxCallers = DefaultMaxCallers
	}
	return &LocalShares{limiters: make(map[string]*list.Element), lru: list.New(), max: maxCallers}
}

// Take spends one call of caller's bucket at now. A zero PerSecond is
// unlimited. It never fails.
func (s *LocalShares) Take(_ context.Context, caller string, r Rate, now time.Time) (bool, time.Duration, error) {
	if r.PerSecond <= 0 {
		return true, 0, nil
	}
	l := s.limiter(caller, r, now)
	res := l.ReserveN(now, 1)
	delay := res.DelayFrom(now)
	if res.OK() && delay == 0 {
		return true, 0, nil
	}
	res.CancelAt(now)
	return false, delay, nil
}

// limiter is the bucket of caller name, with rate r from now on.
func (s *LocalShares) limiter(name string, r Rate, now time.Time) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.limiters[name]; ok {
		s.lru.MoveToFront(e)
		l := e.Value.(*limiter)
		if l.rate != r { // the policy was reloaded with another share
			// At now, the gate's clock: SetLimit would use time.Now's.
			l.l.SetLimitAt(now, r.limit())
			l.l.SetBurstAt(now, r.Burst)
			l.rate = r
		}
		return l.l
	}
	for s.lru.Len() >= s.max {
		oldest := s.lru.Back()
		delete(s.limiters, oldest.Value.(*limiter).name)
		s.lru.Remove(oldest)
	}
	l := &limiter{name: name, rate: r, l: rate.NewLimiter(r.limit(), r.Burst)}
	s.limiters[name] = s.lru.PushFront(l)
	return l.l
}

// perReplica is r split between n replicas: what one replica gives a
// caller on its own while the fleet's shares cannot be read. The burst
// is rounded down, never below one call.
func (r Rate) perReplica(n int) Rate {
	if n <= 1 || r.PerSecond <= 0 {
		return r
	}
	return Rate{PerSecond: r.PerSecond / float64(n), Burst: max(1, r.Burst/n)}
}

// take spends one call of caller's share r: from Config.Shares when set,
// else (or when it fails) from the in-process buckets. When the shared
// shares fail, the caller gets r / FallbackReplicas from this replica:
// neither every call refused while Redis is away (fair shares protect the
// upstream's budget, which the governor guards on its own) nor the whole
// rate per replica.
func (g *Gate) take(ctx context.Context, caller string, r Rate) (bool, time.Duration) {
	now := g.cfg.Now()
	if g.cfg.Shares != nil {
		if g.askShared(now) {
			tctx, cancel := context.WithTimeout(ctx, sharesTimeout)
			ok, wait, err := g.cfg.Shares.Take(tctx, caller, r, now)
			cancel()
			if err == nil {
				g.sharesRecovered()
				return ok, wait
			}
			if ctx.Err() == nil { // else the caller gave up: Redis is not to blame
				g.sharesFailed(err, now)
			}
		}
		r = r.perReplica(g.cfg.FallbackReplicas)
	}
	ok, wait, _ := g.local.Take(ctx, caller, r, now)
	return ok, wait
}

// askShared reports whether this call asks Config.Shares: always while it
// answers; after a failure, one call per sharesProbe.
func (g *Gate) askShared(now time.Time) bool {
	if !g.sharesDown.Load() {
		return true
	}
	next := g.sharesRetry.Load()
	return now.UnixNano() >= next && g.sharesRetry.CompareAndSwap(next, now.Add(sharesProbe).UnixNano())
}

// sharesFailed says, at most once a minute, that the fleet's shares are
// not read: never the caller, never the error's text beyond its kind.
func (g *Gate) sharesFailed(err error, now time.Time) {
	g.sharesRetry.Store(now.Add(sharesProbe).UnixNano())
	g.sharesDown.Store(true)
	if ok, held := g.sharesLog.Allow(logKeyShares); ok {
		g.log.Warn("shared fair shares unavailable: callers get this replica's part of their share",
			slog.Int("fallback_replicas", g.cfg.FallbackReplicas),
			slog.String("error_kind", errorKind(err)), slog.Int("suppressed", held))
	}
}

func (g *Gate) sharesRecovered() {
	if g.sharesDown.Load() && g.sharesDown.Swap(false) {
		g.log.Info("shared fair shares available again: callers get their share once for the fleet")
	}
}

// errorKind names an error without its text (which may name addresses).
func errorKind(err error) string {
	if errors.Is(err, context.Canceled) {
		return "context"
	}
	if ne, ok := errors.AsType[interface {
		error
		Timeout() bool
	}](err); ok && ne.Timeout() {
		return "timeout" // sharesTimeout's deadline too
	}
	return "unreachable"
}
