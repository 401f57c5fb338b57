package fleet_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"google.golang.org/grpc/codes"

	"github.com/contacts-facade/contacts-facade/internal/redisstore/redistest"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
)

// storm presses a fleet whose client secret is wrong: rounds of 10 reads
// per replica, the clock moving step before each round. step exceeds the
// longest back-off after a refused exchange (5 minutes), so every replica
// is free to exchange again in every round: what holds the fleet back is
// the budget alone.
func storm(t *testing.T, fleet []*replica, clk *clock, rounds int, step time.Duration) {
	t.Helper()
	var cs []codes.Code
	for range rounds {
		clk.Advance(step)
		cs = append(cs, burst(fleet, 10*len(fleet), 10*time.Second, func(ctx context.Context, r *replica, _ int) error { return list(ctx, r, fullID) })...)
	}
	for c, n := range tally(cs) {
		if c == codes.OK || c == codes.Unknown || c == codes.Internal || c == codes.DeadlineExceeded {
			t.Errorf("%d calls with a wrong secret answered %v", n, c)
		}
	}
	t.Logf("storm: %d rounds × %d calls, codes %v", rounds, 10*len(fleet), tally(cs))
}

// TestWrongSecretStorm: 5 replicas with a wrong client secret, on a real
// redis-server, under a storm of calls while their clock runs 2 h 24 min
// ahead in 24 steps. Their own back-offs and budget refusals follow that
// clock; the fleet's budget follows Redis's TIME, which does not
// accelerate. So the test cannot show the budget's window sliding (that
// is TestWrongSecretStormSlidingHour's job, on miniredis); what it shows
// honestly is the bound itself: the whole test runs within one real hour,
// hence within one sliding hour of the budget, and the replicas, which
// believe more than two hours passed and would each spend 30 an hour on
// their own, get exactly 30 exchanges between them, not one more.
func TestWrongSecretStorm(t *testing.T) {
	start := time.Now()
	srv := redistest.Start(t)
	clk := &clock{}
	e := startEmulator(t, clk)
	fleet := newFleet(t, fleetConfig{redisURL: srv.URL(), secret: "not-the-secret", emu: e, clk: clk, log: testLog()})

	storm(t, fleet, clk, 24, 6*time.Minute)

	if time.Since(start) >= time.Hour {
		t.Fatal("the test ran for an hour: the budget's window may have slid")
	}
	if n := e.exchanges(); n != sharedLimit {
		t.Errorf("%d exchanges reached the emulator, want exactly the budget's %d (sent per replica %v)", n, sharedLimit, perReplica(fleet, (*replica).sent))
	}
	refused := perReplica(fleet, func(r *replica) int { return r.outcome(upstreamauth.OutcomeBudgetExhausted) })
	if slices.Max(refused) == 0 {
		t.Error("no replica was refused by the budget: the storm did not press it")
	}
	t.Logf("wrong secret, real Redis: %d exchanges at the emulator (sent per replica %v, budget refusals %v)",
		e.exchanges(), perReplica(fleet, (*replica).sent), refused)
}

// TestWrongSecretStormSlidingHour is the storm on miniredis, whose TIME
// follows the test's clock (SetTime on every step), so that the budget's
// hour slides as fast as the replicas' clock: over 3 h of that clock the
// fleet may spend more than 30 in all, but never more than 30 in any
// sliding hour. Exchanges are timed on the shared clock as the replicas
// report them.
func TestWrongSecretStormSlidingHour(t *testing.T) {
	mr := miniredis.RunT(t)
	clk := &clock{start: time.Now(), onAdvance: mr.SetTime}
	mr.SetTime(clk.Now())
	e := startEmulator(t, clk)
	fleet := newFleet(t, fleetConfig{redisURL: "redis://" + mr.Addr(), secret: "not-the-secret", emu: e, clk: clk, log: testLog()})
	var mu sync.Mutex
	var at []time.Time
	for _, r := range fleet {
		r.onSent = func() {
			mu.Lock()
			at = append(at, clk.Now())
			mu.Unlock()
		}
	}

	storm(t, fleet, clk, 30, 6*time.Minute) // 3 hours

	mu.Lock()
	defer mu.Unlock()
	if len(at) != e.exchanges() {
		t.Fatalf("the replicas report %d exchanges, the emulator counted %d", len(at), e.exchanges())
	}
	slices.SortFunc(at, time.Time.Compare)
	worst := 0
	for i := range at {
		// Exchanges in the hour starting at at[i].
		j, _ := slices.BinarySearchFunc(at, at[i].Add(time.Hour), time.Time.Compare)
		worst = max(worst, j-i)
	}
	if worst > sharedLimit {
		t.Errorf("%d exchanges in one sliding hour, the budget is %d", worst, sharedLimit)
	}
	if len(at) <= sharedLimit {
		t.Errorf("%d exchanges in 3 hours: the window never slid, so the bound was not tested", len(at))
	}
	t.Logf("wrong secret, miniredis on the test clock: %d exchanges in 3 h, at most %d in any sliding hour", len(at), worst)
}
