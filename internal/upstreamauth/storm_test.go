package upstreamauth

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// upstreamCall does what upstream.Client.do does with an Authorizer: it
// authorizes, "sends" (accept decides whether the upstream takes the
// token), and when the token is refused and Rejected agrees it authorizes
// and sends once more. It reports whether the call succeeded and the error
// of Authorize, if that is why it failed.
func upstreamCall(ctx context.Context, t *testing.T, ts *TokenSource, accept func(jwt string) bool) (bool, error) {
	tok, req, err := authorize(ctx, t, ts)
	if err != nil {
		return false, err
	}
	if accept(tok) {
		return true, nil
	}
	if !ts.Rejected(req) {
		return false, nil
	}
	tok, _, err = authorize(ctx, t, ts)
	if err != nil {
		return false, err
	}
	return accept(tok), nil
}

// stormResult is what a storm run measured.
type stormResult struct {
	exchanges   int           // exchanges sent during the storm
	recoveredIn time.Duration // from healing to the first successful call; -1 if none
	budgetErrs  int           // calls after healing that failed with KindBudgetExhausted
}

// runStorm drives callers concurrent calls every step for storm, with
// accept answering as the broken upstream; then heal() fixes the upstream
// and the calls go on (healedAccept answering) until one succeeds or
// limit passes.
func runStorm(t *testing.T, clock *fakeClock, f *fakeExchange, ts *TokenSource, callers int, step, storm time.Duration,
	accept func(string) bool, heal func(), healedAccept func(string) bool, limit time.Duration,
) stormResult {
	t.Helper()
	round := func(acc func(string) bool) (anyOK bool, budget int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range callers {
			wg.Go(func() {
				ok, err := upstreamCall(t.Context(), t, ts, acc)
				mu.Lock()
				defer mu.Unlock()
				anyOK = anyOK || ok
				var e *Error
				if err != nil && errors.As(err, &e) && e.Kind == KindBudgetExhausted {
					budget++
				}
			})
		}
		wg.Wait()
		return anyOK, budget
	}
	start := clock.Now()
	for clock.Now().Sub(start) < storm {
		round(accept)
		clock.Advance(step)
	}
	res := stormResult{exchanges: f.count(), recoveredIn: -1}
	heal()
	healed := clock.Now()
	for clock.Now().Sub(healed) <= limit {
		ok, budget := round(healedAccept)
		res.budgetErrs += budget
		if ok {
			res.recoveredIn = clock.Now().Sub(healed)
			break
		}
		clock.Advance(step)
	}
	return res
}

// TestRejectionStorm is issue 12 bug 1: the exchange works but the upstream
// refuses every token for 60 s (an account not yet enabled, a short 401
// episode). At most 5 exchanges may be spent, and the first call after the
// upstream heals must succeed within 60 s, whether the upstream then takes
// the token it refused or only a newly exchanged one.
func TestRejectionStorm(t *testing.T) {
	for _, tc := range []struct {
		name      string
		callers   int
		freshOnly bool // after healing, only tokens issued after it are accepted
		storm     time.Duration
		step      time.Duration
	}{
		{"sequential, heals for the current token", 1, false, time.Minute, 100 * time.Millisecond},
		{"sequential, heals for new tokens only", 1, true, time.Minute, 100 * time.Millisecond},
		{"10 callers, heals for the current token", 10, false, time.Minute, 100 * time.Millisecond},
		{"10 callers, heals for new tokens only", 10, true, time.Minute, 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			f := newFake(t, clock, nil)
			ts, _ := newSource(t, f, nil)
			issuedBeforeHeal := 0
			res := runStorm(t, clock, f, ts, tc.callers, tc.step, tc.storm,
				func(string) bool { return false },
				func() { issuedBeforeHeal = len(f.tokens()) },
				func(jwt string) bool {
					if !tc.freshOnly {
						return true
					}
					for _, old := range f.tokens()[:issuedBeforeHeal] {
						if old == jwt {
							return false
						}
					}
					return true
				},
				2*time.Hour)
			worst := maxInAnyHour(f.callTimes())
			t.Logf("401 storm (%s): %d exchanges in %v (max %d in any hour), recovered %v after healing, %d budget-exhausted calls after healing",
				tc.name, res.exchanges, tc.storm, worst, res.recoveredIn, res.budgetErrs)
			if res.exchanges > 5 {
				t.Errorf("%d exchanges during the storm, want at most 5", res.exchanges)
			}
			if limit := DefaultMaxExchangesPerHour - renewalReserve(DefaultMaxExchangesPerHour); worst > limit+1 {
				// +1: the first exchange of all was an ordinary one.
				t.Errorf("%d exchanges in one hour, want at most %d (the reserve kept)", worst, limit+1)
			}
			if res.recoveredIn < 0 || res.recoveredIn > time.Minute {
				t.Errorf("first success %v after healing, want within 60s", res.recoveredIn)
			}
		})
	}
}

// TestLongRejectionStorm: 401 storms of 1 to 3 hours, healed at many
// phases for new tokens only. Renewals wanted then outrun what the budget
// less its reserve allows; the pacing keeps one possible every few minutes
// and the reserve untouched.
func TestLongRejectionStorm(t *testing.T) {
	worstRecovery := time.Duration(0)
	for storm := time.Hour; storm <= 3*time.Hour; storm += 7*time.Minute + 13*time.Second {
		clock := newFakeClock()
		f := newFake(t, clock, nil)
		ts, _ := newSource(t, f, nil)
		issuedBeforeHeal := 0
		res := runStorm(t, clock, f, ts, 1, time.Second, storm,
			func(string) bool { return false },
			func() { issuedBeforeHeal = len(f.tokens()) },
			func(jwt string) bool {
				for _, old := range f.tokens()[:issuedBeforeHeal] {
					if old == jwt {
						return false
					}
				}
				return true
			},
			2*time.Hour)
		worst := maxInAnyHour(f.callTimes())
		worstRecovery = max(worstRecovery, res.recoveredIn)
		if limit := DefaultMaxExchangesPerHour - renewalReserve(DefaultMaxExchangesPerHour); worst > limit+1 {
			t.Errorf("storm %v: %d exchanges in one hour, want at most %d (the reserve kept)", storm, worst, limit+1)
		}
		if res.recoveredIn < 0 || res.recoveredIn > suspectMaxBackoff(DefaultMaxExchangesPerHour) {
			t.Errorf("storm %v: first success %v after healing, want within %v", storm, res.recoveredIn, suspectMaxBackoff(DefaultMaxExchangesPerHour))
		}
		_ = ts.Close()
	}
	t.Logf("long 401 storms: worst recovery %v", worstRecovery)
}

// TestExpiredJWTStorm: the exchange hands out tokens that expired long ago
// and the upstream refuses them, with 10 concurrent callers for 60 s. At
// most 5 exchanges may be spent, and once the exchange issues good tokens
// again a call succeeds within 60 s.
func TestExpiredJWTStorm(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, nil)
	f.setLifetime(-time.Hour)
	ts, _ := newSource(t, f, nil)
	unexpired := func(jwt string) bool {
		exp, ok := jwtExpiry(jwt)
		return ok && clock.Now().Before(exp)
	}
	res := runStorm(t, clock, f, ts, 10, 100*time.Millisecond, time.Minute,
		unexpired, func() { f.setLifetime(time.Hour) }, unexpired, 2*time.Hour)
	t.Logf("expired-JWT storm: %d exchanges in 60 s, recovered %v after healing, %d budget-exhausted calls after healing",
		res.exchanges, res.recoveredIn, res.budgetErrs)
	if res.exchanges > 5 {
		t.Errorf("%d exchanges during the storm, want at most 5", res.exchanges)
	}
	if res.recoveredIn < 0 || res.recoveredIn > time.Minute {
		t.Errorf("first success %v after healing, want within 60s", res.recoveredIn)
	}
}
