package upstreamauth

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRejectedOncePerToken: many calls refused with the same token make one
// renewal; calls refused with a token that is no longer current make none.
func TestRejectedOncePerToken(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, nil)
	ts, _ := newSource(t, f, nil)
	tok1, req1 := mustAuthorize(t, ts)

	const callers = 10
	var wg sync.WaitGroup
	retries := make([]bool, callers)
	for i := range callers {
		wg.Go(func() { retries[i] = ts.Rejected(req1) })
	}
	wg.Wait()
	for i, r := range retries {
		if !r {
			t.Fatalf("caller %d: Rejected = false, want true (a renewal is due)", i)
		}
	}
	got := make([]string, callers)
	for i := range callers {
		wg.Go(func() { got[i], _ = mustAuthorize(t, ts) })
	}
	wg.Wait()
	tok2 := f.tokens()[1]
	for i, tok := range got {
		if tok != tok2 {
			t.Fatalf("retry %d: new token %v, old %v", i, tok == tok2, tok == tok1)
		}
	}
	if f.count() != 2 {
		t.Fatalf("exchanges = %d, want 2 (one renewal for one rejected token)", f.count())
	}
	// Late rejections of tok1, even past the back-off: never renew.
	clock.Advance(time.Hour / 2)
	for range callers {
		if !ts.Rejected(req1) {
			t.Fatal("Rejected(stale) = false, want true (the retry sends the current token)")
		}
	}
	if tok, _ := mustAuthorize(t, ts); tok != tok2 || f.count() != 2 {
		t.Fatalf("after stale rejections: current token %v, exchanges %d (want true, 2)", tok == tok2, f.count())
	}
}

// TestRejectionBackoff: renewals driven by tokens refused young are spaced
// 10s, 20s, 40s, ... up to the cap; rejections within the pause do not
// renew and the current token keeps being sent. A token refused only once
// it had lived suspectAge renews at once and resets the pacing.
func TestRejectionBackoff(t *testing.T) {
	type rejection struct {
		at        time.Duration // since the start
		wantRetry bool
		wantCount int // exchanges after the retry's Authorize
	}
	for _, tc := range []struct {
		name       string
		rejections []rejection
	}{
		{"young tokens", []rejection{
			{0, true, 2}, // the first renews at once; pause 10s
			{5 * time.Second, false, 2},
			{10 * time.Second, true, 3}, // pause 20s
			{29 * time.Second, false, 3},
			{30 * time.Second, true, 4}, // pause 40s
			{69 * time.Second, false, 4},
			{70 * time.Second, true, 5}, // pause 80s
			{149 * time.Second, false, 5},
			{150 * time.Second, true, 6}, // pause 150s, the cap for 30 an hour
			{299 * time.Second, false, 6},
			{300 * time.Second, true, 7},
		}},
		{"a token refused young stays suspect when old", []rejection{
			{0, true, 2},
			{time.Second, false, 2},
			{11 * time.Minute, true, 3}, // the pause is over; not a reset
			{11*time.Minute + time.Second, false, 3},
		}},
		{"a mature token renews at once and resets the pacing", []rejection{
			{0, true, 2},
			{time.Second, false, 2}, // tok2 first refused young
			{10 * time.Second, true, 3},
			{10*time.Second + suspectAge, true, 4},                  // tok3 first refused at age 10m: reset
			{10*time.Second + suspectAge + time.Second, true, 5},    // tok4 young, first of a new streak
			{10*time.Second + suspectAge + 2*time.Second, false, 5}, // within 10s
			{10*time.Second + suspectAge + 11*time.Second, true, 6}, // 10s, not the 40s of the old streak
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			start := clock.Now()
			f := newFake(t, clock, nil)
			ts, _ := newSource(t, f, func(c *TokenConfig) { c.RenewBefore = time.Minute })
			for i, r := range tc.rejections {
				clock.Advance(start.Add(r.at).Sub(clock.Now()))
				before, req := mustAuthorize(t, ts)
				if got := ts.Rejected(req); got != r.wantRetry {
					t.Fatalf("rejection %d at %v: Rejected = %v, want %v", i, r.at, got, r.wantRetry)
				}
				after, _ := mustAuthorize(t, ts)
				if f.count() != r.wantCount {
					t.Fatalf("rejection %d at %v: exchanges %d, want %d", i, r.at, f.count(), r.wantCount)
				}
				if !r.wantRetry && after != before {
					t.Fatalf("rejection %d: the token changed without a renewal", i)
				}
			}
		})
	}
}

// TestRejectionReserve: rejection-driven renewals leave the last
// renewalReserve attempts of the budget to ordinary renewals; refused, the
// current token is still sent and nothing goes to the exchange.
func TestRejectionReserve(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, nil)
	budget := NewLocalBudget(DefaultMaxExchangesPerHour, clock.Now)
	var outcomes []string
	ts, logs := newSource(t, f, func(c *TokenConfig) {
		c.Budget = budget
		c.MaxExchangesPerHour = 1 // ignored: Budget is set
		c.OnExchange = func(o string) { outcomes = append(outcomes, o) }
	})
	tok1, req := mustAuthorize(t, ts)
	// Other replicas (or earlier storms) spent all but the reserve.
	for range DefaultMaxExchangesPerHour - 1 - ts.reserve {
		if ok, _, _ := budget.Take(t.Context(), 0); !ok {
			t.Fatal("pre-spending the budget failed")
		}
	}
	if !ts.Rejected(req) {
		t.Fatal("Rejected = false, want true: the budget has not been asked yet")
	}
	if tok, _ := mustAuthorize(t, ts); tok != tok1 || f.count() != 1 {
		t.Fatalf("refused renewal: current token %v, exchanges %d (want true, 1)", tok == tok1, f.count())
	}
	if left, _ := budget.Left(t.Context()); left != ts.reserve {
		t.Fatalf("budget left %d, want the reserve %d", left, ts.reserve)
	}
	clock.Advance(time.Minute) // past the rejection back-off, not the budget's
	if ts.Rejected(req) {
		t.Fatal("Rejected while the budget refuses = true, want false")
	}
	if !strings.Contains(logs.String(), `"reason":"rejected_token"`) {
		t.Errorf("no budget warning for the rejection-driven renewal: %s", logs.String())
	}
	// The ordinary renewal before expiry may spend the reserve.
	clock.Advance(55*time.Minute - time.Minute - time.Second)
	mustAuthorize(t, ts)
	if f.count() != 1 {
		t.Fatalf("renewed before the renewal point: %d exchanges", f.count())
	}
	clock.Advance(time.Second)
	if tok, _ := mustAuthorize(t, ts); tok == tok1 || f.count() != 2 {
		t.Fatalf("ordinary renewal: new token %v, exchanges %d (want true, 2)", tok != tok1, f.count())
	}
	if want := []string{OutcomeOK, OutcomeBudgetExhausted, OutcomeOK}; strings.Join(outcomes, ",") != strings.Join(want, ",") {
		t.Fatalf("outcomes %v, want %v", outcomes, want)
	}
}

// TestSnapshot: the state for metrics follows the token and the budget.
func TestSnapshot(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, nil)
	ts, _ := newSource(t, f, func(c *TokenConfig) { c.MaxExchangesPerHour = 4 })
	if s := ts.Snapshot(); s.HasToken || s.BudgetLeft != 4 || s.BudgetLimit != 4 || !s.ExpiresAt.IsZero() || s.Exchanging {
		t.Fatalf("cold snapshot %+v", s)
	}
	_, req := mustAuthorize(t, ts)
	s := ts.Snapshot()
	if !s.HasToken || s.BudgetLeft != 3 || !s.ExpiresAt.Equal(clock.Now().Add(time.Hour)) ||
		!s.ObtainedAt.Equal(clock.Now()) || s.RenewalWanted || !s.BackoffUntil.IsZero() {
		t.Fatalf("warm snapshot %+v", s)
	}
	f.setResponder(func(_ *fakeExchange, w http.ResponseWriter, _ *http.Request, _ int) {
		writeJSON(w, http.StatusBadGateway, map[string]any{})
	})
	ts.Rejected(req)
	mustAuthorize(t, ts) // the renewal fails
	s = ts.Snapshot()
	if !s.HasToken || !s.RenewalWanted || s.BudgetLeft != 2 || !s.BackoffUntil.Equal(clock.Now().Add(time.Second)) {
		t.Fatalf("after a failed renewal %+v", s)
	}
}
