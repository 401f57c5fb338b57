// Package governor keeps the calls of the whole fleet to the Booking.com
// Contacts API under one limit per machine account, with priorities, and
// learns the account's real limit from the upstream's 429s.
//
// Every upstream HTTP attempt passes Wait (the upstream client calls Admit,
// which reads the call's class from its context). The limit is an exact
// sliding window of PerMinute calls a minute, shared by every replica
// through Redis (redisstore.Window) or held in process without Redis: no
// sliding minute ever holds more admissions than the limit, where a token
// bucket of the same rate admits up to twice it.
//
// Classes (Class) share the window by levels: a call is admitted while the
// fleet's calls in the window, of every class, are fewer than its class's
// level. Interactive may fill the whole window; Write leaves
// Shares.Interactive of it to Interactive; Bulk leaves Shares.Write more;
// Background may fill at most Shares.Background. A saturating bulk job
// therefore leaves 40% of every window (by default) to the calls callers
// wait on, as Stripe keeps 20% of its capacity for critical requests and
// Netflix's limiter splits live 0.9 / batch 0.1.
//
// The limit learns (AIMD): a 429 or a Retry-After drops the fleet's rate to
// Decrease × the calls of the window the upstream did not refuse (what it
// evidently accepts; never below Floor, and only down: the 429s of one
// burst do not compound), the window admits nothing until the Retry-After
// ends, and the rate climbs back by Increase of the limit per whole window
// without a 429, never above PerMinute. The rate, the time of the last
// 429 and the end of the Retry-After are shared by every replica.
package governor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/lograte"
	"github.com/contacts-facade/contacts-facade/internal/redisstore"
)

// Defaults of Config; see its fields for why.
const (
	DefaultPerMinute        = 200
	DefaultWindow           = time.Minute
	DefaultDecrease         = 0.95
	DefaultIncrease         = 0.005
	DefaultFloor            = 0.1
	DefaultFallbackReplicas = 3
)

// DefaultShares are the shares of the zero Shares.
func DefaultShares() Shares { return Shares{Interactive: 0.2, Write: 0.2, Background: 0.1} }

// Mode says whether the governor holds calls back.
type Mode int

const (
	// Enforce holds calls back and refuses those that cannot be admitted
	// before their deadline.
	Enforce Mode = iota
	// Shadow holds nothing back: it counts every call in the window and
	// counts and logs the ones it would have held back, so that an
	// operator can size the limit on production traffic first.
	Shadow
)

// Shares split the window between the classes; each is a fraction of it.
// The zero Shares means DefaultShares().
type Shares struct {
	// Interactive is the part of the window only Interactive calls may
	// fill. Default 0.2 (Stripe's 20% for critical requests).
	Interactive float64
	// Write is the part, beyond Interactive's, that only Interactive and
	// Write calls may fill. Default 0.2: Bulk fills at most 60%.
	Write float64
	// Background is the most of the window (counting every class's calls)
	// under which Background calls are admitted. Default 0.1 (Netflix's
	// batch share): cache refreshes run while the account is quiet and are
	// the first calls shed.
	Background float64
}

// Metrics is told what the governor does; the observability package
// implements it. Its methods must be cheap and safe for concurrent use.
type Metrics interface {
	// Admitted: a call of class c was admitted after waiting waited (0
	// when at once), or let through in shadow mode.
	Admitted(c Class, waited time.Duration)
	// Delayed: a call of class c had to wait (once per call), or in shadow
	// mode would have.
	Delayed(c Class, shadow bool)
	// Refused: a call of class c failed with UPSTREAM_RATE_LIMITED.
	Refused(c Class)
	// Rate: the configured and the learned limit, in calls per minute.
	Rate(configured, learned float64)
	// TooManyRequests: the upstream answered 429.
	TooManyRequests()
}

// Config configures a Governor. The zero value is usable: 200 calls a
// minute, in process, enforced.
type Config struct {
	// PerMinute is the most calls the fleet makes to the upstream per
	// minute for this account. Default 200: Booking.com publishes no limit
	// for the Contacts API; 200 a minute per provider is the nearest
	// documented figure (Request-to-Book, with warnings from 170).
	PerMinute int
	// Window is the sliding window the limit is counted over (it admits
	// PerMinute × Window / 1 min calls per window). Default one minute;
	// tests shorten it.
	Window time.Duration
	// Shares split the window between classes; zero means DefaultShares().
	Shares Shares
	// Decrease multiplies, on a 429, the calls of the window the upstream
	// did not refuse: the new rate, when lower. Default 0.95. It applies
	// to what the upstream accepts, not to the rate (as TCP cuts from its
	// flight size, RFC 5681): a 429 at 200/min from an upstream that takes
	// 60 cuts to 57 at once, where ×0.5 of the rate would take two 429s
	// to get under it (200, 100, 50) and then climb from 50. 5% under it
	// keeps the fleet at ~97% of the limit on average (the target
	// is 95%) and the Retry-After holds everything meanwhile.
	Decrease float64
	// Increase is how much of PerMinute the rate climbs back per whole
	// window without a 429. Default 0.005: at 200/min, +1 a minute, so
	// after a 429 at the limit the fleet probes it again ~10 minutes later
	// (a probe costs a 429 or two: ~0.1% of the calls; the target is 1%),
	// and learns within hours that the limit went up. Raise it when the
	// limit is known to move often.
	Increase float64
	// Floor is the lowest learned rate, a fraction of PerMinute. Default
	// 0.1.
	Floor float64
	// Mode is Enforce (default) or Shadow.
	Mode Mode
	// Store is the account's shared Redis; nil keeps the window in process
	// (one replica).
	Store *redisstore.Store
	// FallbackReplicas: while Store does not answer, each replica admits
	// PerMinute / FallbackReplicas on its own, so the fleet stays within
	// the limit when it has at most that many replicas. Default 3, the
	// replicas of deploy/k8s. Never the whole limit per replica.
	FallbackReplicas int
	// Now is the clock of the in-process window; default time.Now.
	Now func() time.Time
	// Logger receives the warnings; nil discards them.
	Logger *slog.Logger
	// Metrics is told what happens; nil tells nobody.
	Metrics Metrics
}

// Governor admits upstream calls. It is safe for concurrent use; create
// one per account and share it.
type Governor struct {
	perMinute float64
	ceiling   int // calls per window
	window    time.Duration
	levels    [numClasses]float64
	shadow    bool
	shared    window // nil without a Store
	local     window // the in-process window, or the fallback's
	localCap  int
	now       func() time.Time
	log       *slog.Logger
	warn      *lograte.Limiter
	metrics   Metrics
	down      atomic.Bool
	// line holds, per class, the one waiter that asks the window again.
	line [numClasses]chan struct{}
}

// guardDivisor: an admission is counted for Window + Window/guardDivisor,
// so that the time between the governor's admission and the upstream's
// count of the call (a round trip to Redis, queueing, the network), which
// varies from call to call, cannot put one more call in the upstream's
// window than in the fleet's. Seen on TestFleetOnRealRedis: without it,
// calls freed in a burst exactly one window later drew 429s below the
// limit.
const guardDivisor = 50

// observeTimeout bounds the Redis call of Observe, which has no context.
const observeTimeout = time.Second

// New checks cfg, fills in the defaults and returns a Governor.
func New(cfg Config) (*Governor, error) {
	if cfg.PerMinute == 0 {
		cfg.PerMinute = DefaultPerMinute
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Shares == (Shares{}) {
		cfg.Shares = DefaultShares()
	}
	if cfg.Decrease == 0 {
		cfg.Decrease = DefaultDecrease
	}
	if cfg.Increase == 0 {
		cfg.Increase = DefaultIncrease
	}
	if cfg.Floor == 0 {
		cfg.Floor = DefaultFloor
	}
	if cfg.FallbackReplicas == 0 {
		cfg.FallbackReplicas = DefaultFallbackReplicas
	}
	sh := cfg.Shares
	switch {
	case cfg.PerMinute < 0:
		return nil, errors.New("governor: PerMinute must not be negative")
	case cfg.Window < time.Millisecond:
		return nil, errors.New("governor: Window must be at least 1ms")
	case sh.Interactive < 0 || sh.Write < 0 || sh.Interactive+sh.Write >= 1:
		return nil, fmt.Errorf("governor: shares interactive %v + write %v must be ≥ 0 and leave some of the window to bulk", sh.Interactive, sh.Write)
	case sh.Background <= 0 || sh.Background > 1:
		return nil, fmt.Errorf("governor: background share %v must be in (0, 1]", sh.Background)
	case cfg.Decrease <= 0 || cfg.Decrease >= 1:
		return nil, fmt.Errorf("governor: Decrease %v must be in (0, 1)", cfg.Decrease)
	case cfg.Increase < 0 || cfg.Increase > 1:
		return nil, fmt.Errorf("governor: Increase %v must be in (0, 1]", cfg.Increase)
	case cfg.Floor <= 0 || cfg.Floor > 1:
		return nil, fmt.Errorf("governor: Floor %v must be in (0, 1]", cfg.Floor)
	case cfg.FallbackReplicas < 1:
		return nil, errors.New("governor: FallbackReplicas must be at least 1")
	case cfg.Mode != Enforce && cfg.Mode != Shadow:
		return nil, fmt.Errorf("governor: unknown mode %d", cfg.Mode)
	}
	ceiling := int(math.Round(float64(cfg.PerMinute) * float64(cfg.Window) / float64(time.Minute)))
	if ceiling < 1 {
		return nil, fmt.Errorf("governor: %d a minute over a %v window admits no call", cfg.PerMinute, cfg.Window)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = nopMetrics{}
	}
	g := &Governor{
		perMinute: float64(cfg.PerMinute),
		ceiling:   ceiling,
		window:    cfg.Window,
		shadow:    cfg.Mode == Shadow,
		now:       cfg.Now,
		log:       cfg.Logger,
		warn:      lograte.New(time.Minute, cfg.Now),
		metrics:   cfg.Metrics,
	}
	for i := range g.line {
		g.line[i] = make(chan struct{}, 1)
	}
	bulk := 1 - (sh.Interactive + sh.Write)
	g.levels = [numClasses]float64{
		Background:  min(sh.Background, bulk),
		Bulk:        bulk,
		Write:       1 - sh.Interactive,
		Interactive: 1,
	}
	params := func(ceiling int) redisstore.WindowParams {
		return redisstore.WindowParams{
			Window:   cfg.Window,
			Guard:    cfg.Window / guardDivisor,
			Ceiling:  ceiling,
			Floor:    max(1, int(math.Ceil(cfg.Floor*float64(ceiling)))),
			Decrease: cfg.Decrease,
			Increase: cfg.Increase * float64(ceiling),
		}
	}
	g.localCap = ceiling
	if cfg.Store != nil {
		g.shared = cfg.Store.Window(params(ceiling))
		g.localCap = max(1, ceiling/cfg.FallbackReplicas)
	}
	g.local = newLocalWindow(params(g.localCap), cfg.Now)
	return g, nil
}

// PerMinute is the most calls a minute class may make while the other
// classes are idle, at the configured limit (the learned one may be lower):
// for Bulk, what a bulk job's time is estimated at.
func (g *Governor) PerMinute(class Class) float64 {
	return g.levels[class.valid()] * g.perMinute
}

// Admit is Wait for the class ctx carries (ClassOf): the upstream client's
// hook, called before every HTTP attempt. A call of a context that carries
// calls admitted by Reserve takes one of them and does not wait.
func (g *Governor) Admit(ctx context.Context) error {
	if p, ok := ctx.Value(reservedKey{}).(*atomic.Int64); ok && p.Add(-1) >= 0 {
		return nil
	}
	return g.Wait(ctx, ClassOf(ctx))
}

// reservedKey is the context key of the calls Reserve admitted.
type reservedKey struct{}

// Reserve waits until n calls of class are admitted, and returns ctx
// carrying them: the next n Admits under it pass at once. An item of a
// bulk operation reserves its calls (a GET and a PUT) before it takes the
// property's write lock: it waits for the window without holding the lock
// and without spending its write timeout, and its PUT is never refused
// after its GET. A reserved call not made is spent all the same.
func (g *Governor) Reserve(ctx context.Context, class Class, n int) (context.Context, error) {
	for range n {
		if err := g.Wait(ctx, class); err != nil {
			return ctx, err
		}
	}
	p := new(atomic.Int64)
	p.Store(int64(n))
	return context.WithValue(ctx, reservedKey{}, p), nil
}

// Wait returns when a call of class may go to the upstream. When none can
// before ctx's deadline it fails at once with RESOURCE_EXHAUSTED
// UPSTREAM_RATE_LIMITED and a RetryInfo saying when one could; when ctx
// is cancelled it returns ctx's error. In Shadow mode it never waits.
func (g *Governor) Wait(ctx context.Context, class Class) error {
	class = class.valid()
	start := g.now()
	delayed := false
	for {
		a, err := g.admit(ctx, class)
		if err != nil {
			return err
		}
		if a.OK {
			g.metrics.Admitted(class, g.now().Sub(start))
			return nil
		}
		if g.shadow {
			g.metrics.Delayed(class, true)
			g.metrics.Admitted(class, 0)
			if ok, n := g.warn.Allow("shadow"); ok {
				g.log.Warn("upstream governor (shadow mode): a call would have been held back",
					slog.String("class", class.String()), slog.Duration("wait", a.Wait),
					slog.Int("calls_in_window", a.Calls), slog.Float64("limit_per_minute", g.perMinuteOf(a.Rate)),
					slog.Int("suppressed", n))
			}
			return nil
		}
		if dl, ok := ctx.Deadline(); ok && !g.now().Add(a.Wait).Before(dl) {
			g.metrics.Refused(class)
			return g.refusal(a.Wait)
		}
		if !delayed {
			// Wait in line: one waiter per class and replica asks the
			// window again, the next when it is admitted, so that a
			// saturating load does not send every waiter to Redis at each
			// freed slot (and slow the other classes' calls down).
			g.metrics.Delayed(class, false)
			delayed = true
			select {
			case g.line[class] <- struct{}{}:
				defer func() { <-g.line[class] }()
			case <-ctx.Done():
				return g.ended(ctx, class, a.Wait)
			}
			continue // ask again: the slot may have freed while in line
		}
		t := time.NewTimer(a.Wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return g.ended(ctx, class, a.Wait)
		}
	}
}

// ended is the error of a Wait whose context ended while it waited: the
// refusal at its deadline, ctx's error when cancelled.
func (g *Governor) ended(ctx context.Context, class Class, wait time.Duration) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		g.metrics.Refused(class)
		return g.refusal(wait)
	}
	return ctx.Err()
}

// admit asks the shared window, or the local one when there is no Store
// or it does not answer.
func (g *Governor) admit(ctx context.Context, class Class) (redisstore.WindowAnswer, error) {
	if err := ctx.Err(); err != nil {
		return redisstore.WindowAnswer{}, err
	}
	level := g.levels[class]
	if g.shared != nil {
		a, err := g.shared.Admit(ctx, level, g.shadow)
		if err == nil {
			g.recovered()
			g.seen(a, g.ceiling)
			return a, nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return redisstore.WindowAnswer{}, cerr
		}
		g.failed(err)
	}
	a, err := g.local.Admit(ctx, level, g.shadow)
	if err == nil {
		g.seen(a, g.localCap)
	}
	return a, err
}

// Observe is told the HTTP status of every upstream answer and its
// Retry-After (0 when none): a 429 or a Retry-After lowers the fleet's
// rate and stops admissions until the Retry-After ends.
func (g *Governor) Observe(status int, retryAfter time.Duration) {
	if status != 429 && retryAfter <= 0 {
		return
	}
	if status == 429 {
		g.metrics.TooManyRequests()
	}
	ctx, cancel := context.WithTimeout(context.Background(), observeTimeout)
	defer cancel()
	var a redisstore.WindowAnswer
	err := errors.New("no store")
	if g.shared != nil {
		if a, err = g.shared.Penalize(ctx, retryAfter); err == nil {
			g.recovered()
		} else {
			g.failed(err)
		}
	}
	if err != nil {
		a, _ = g.local.Penalize(ctx, retryAfter)
	}
	g.metrics.Rate(g.perMinute, g.perMinuteOf(a.Rate))
	if a.OK {
		g.log.Warn("upstream answered 429 or Retry-After: the fleet's rate for this account drops",
			slog.Int("http_status", status), slog.Duration("retry_after", retryAfter),
			slog.Float64("learned_per_minute", g.perMinuteOf(a.Rate)),
			slog.Float64("configured_per_minute", g.perMinute),
			slog.Int("calls_in_window", a.Calls))
	}
}

// seen reports the rate and warns when the fleet runs above 85% of the
// limit.
func (g *Governor) seen(a redisstore.WindowAnswer, ceiling int) {
	g.metrics.Rate(g.perMinute, g.perMinuteOf(a.Rate))
	if float64(a.Calls) > 0.85*a.Rate && a.Calls > 1 {
		if ok, n := g.warn.Allow("near limit"); ok {
			g.log.Warn("upstream calls run above 85% of the account's limit",
				slog.Int("calls_in_window", a.Calls), slog.Duration("window", g.window),
				slog.Float64("learned_per_minute", g.perMinuteOf(a.Rate)),
				slog.Float64("configured_per_minute", g.perMinute),
				slog.Int("window_ceiling", ceiling), slog.Int("suppressed", n))
		}
	}
}

// perMinuteOf converts calls per window into calls per minute.
func (g *Governor) perMinuteOf(perWindow float64) float64 {
	return perWindow * float64(time.Minute) / float64(g.window)
}

// refusal is the status of a call that cannot be admitted in time.
func (g *Governor) refusal(wait time.Duration) error {
	md := errmap.FacadeMetadata(errmap.Call{}, "")
	return errmap.Status(codes.ResourceExhausted, contactsv1.ErrorReason_UPSTREAM_RATE_LIMITED,
		"the fleet's calls to Booking.com for this account are at their limit; retry after the delay", md,
		&errdetails.RetryInfo{RetryDelay: durationpb.New(max(wait, time.Millisecond))}).Err()
}

func (g *Governor) failed(err error) {
	g.down.Store(true)
	if ok, n := g.warn.Allow("redis"); ok {
		// Never the error's text: it may name addresses; never the URL.
		g.log.Warn("shared Redis unavailable: upstream calls use this replica's share of the limit",
			slog.Int("replica_calls_per_window", g.localCap), slog.Duration("window", g.window),
			slog.Int("fleet_calls_per_window", g.ceiling), slog.String("error_kind", redisstore.ErrorKind(err)),
			slog.Int("suppressed", n))
	}
}

func (g *Governor) recovered() {
	if g.down.Swap(false) {
		g.log.Info("shared Redis available again: upstream calls use the fleet's window")
	}
}

// Degraded reports whether the last call to the shared Redis failed, so
// that this replica runs on its fallback share.
func (g *Governor) Degraded() bool { return g.down.Load() }

type nopMetrics struct{}

func (nopMetrics) Admitted(Class, time.Duration) {}
func (nopMetrics) Delayed(Class, bool)           {}
func (nopMetrics) Refused(Class)                 {}
func (nopMetrics) Rate(float64, float64)         {}
func (nopMetrics) TooManyRequests()              {}
