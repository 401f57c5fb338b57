package fleet_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/redisstore"
	"github.com/contacts-facade/contacts-facade/internal/redisstore/redistest"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
)

// redisOutage kills Redis under a running fleet, presses it to exchange
// while Redis is away, then brings Redis back empty.
func redisOutage(t *testing.T, srv *redistest.Server, fleet []*replica, e *emu, clk *clock) {
	writeID := strconv.Itoa(emulator.FirstExtraProperty + 1)
	srv.Stop()

	// 1. Calls of every kind while Redis is away. Reads use the token
	// each replica holds; writes need the fleet's lock and records.
	const deadline = 5 * time.Second
	kinds := []string{"read", "write", "write with request_id"}
	cs := burst(fleet, 120, deadline, func(ctx context.Context, r *replica, i int) error {
		var err error
		switch i % len(kinds) {
		case 0:
			err = list(ctx, r, fullID)
		case 1:
			_, err = r.client.SetProfileContacts(ctx, &contactsv1.SetProfileContactsRequest{PropertyId: writeID,
				Profile: contactsv1.ProfileType_PROFILE_TYPE_INVOICES, Contacts: []*contactsv1.Contact{named(fmt.Sprintf("outage%d", i))}})
		case 2:
			_, err = r.client.SetProfileContacts(ctx, &contactsv1.SetProfileContactsRequest{PropertyId: writeID,
				Profile: contactsv1.ProfileType_PROFILE_TYPE_INVOICES, Contacts: []*contactsv1.Contact{named(fmt.Sprintf("outage%d", i))},
				RequestId: fmt.Sprintf("5f0c1d2e-3a4b-4c5d-8e6f-%012d", i)})
		}
		return err
	})
	byKind := map[string][]codes.Code{}
	for i, c := range cs {
		byKind[kinds[i%len(kinds)]] = append(byKind[kinds[i%len(kinds)]], c)
	}
	for _, k := range kinds {
		t.Logf("Redis away, %s: %v", k, tally(byKind[k]))
	}
	allOK(t, "reads while Redis is away (the token is held)", byKind["read"])
	for _, k := range kinds[1:] {
		for c, n := range tally(byKind[k]) {
			// A call that waited for its deadline (DeadlineExceeded) hung
			// on Redis; INTERNAL or UNKNOWN is no defined answer for a
			// dependency that is down: callers cannot tell it is worth a
			// retry.
			if c != codes.Unavailable {
				t.Errorf("%d %ss while Redis is away answered %v, want UNAVAILABLE", n, k, c)
			}
		}
	}

	// 2. Exchanges while Redis is away: the emulator revokes every token
	// six times, each time past the replicas' back-offs between renewals
	// of young tokens (the clock moves 3 minutes, still well within the
	// local budget's hour). Each replica would renew six times; its
	// local budget admits at most localLimit.
	sentBefore := perReplica(fleet, (*replica).sent)
	refusedBefore := perReplica(fleet, func(r *replica) int { return r.outcome(upstreamauth.OutcomeBudgetExhausted) })
	exBefore := e.exchanges()
	var pressed []codes.Code
	for range 6 {
		e.RevokeTokens()
		clk.Advance(3 * time.Minute)
		pressed = append(pressed, burst(fleet, 50, 10*time.Second, func(ctx context.Context, r *replica, _ int) error { return list(ctx, r, fullID) })...)
	}
	t.Logf("Redis away, 6 revocations × 50 reads: %v", tally(pressed))
	for c, n := range tally(pressed) {
		if c == codes.Unknown || c == codes.Internal || c == codes.DeadlineExceeded {
			t.Errorf("%d reads answered %v while Redis was away", n, c)
		}
	}
	refused := 0
	for i, r := range fleet {
		sent := r.sent() - sentBefore[i]
		if sent > localLimit {
			t.Errorf("replica %d sent %d exchanges while Redis was away, its local budget is %d", i, sent, localLimit)
		}
		refused += r.outcome(upstreamauth.OutcomeBudgetExhausted) - refusedBefore[i]
		if !r.budget.Degraded() {
			t.Errorf("replica %d does not report its budget degraded", i)
		}
	}
	if refused == 0 {
		t.Error("no replica was refused by its local budget: the outage did not press the fallback")
	}
	outage := e.exchanges() - exBefore
	if outage == 0 {
		t.Error("no exchange while Redis was away: the replicas stopped renewing instead of using their local budgets")
	}
	if outage > replicas*localLimit {
		t.Errorf("%d exchanges while Redis was away, at most %d × %d allowed", outage, replicas, localLimit)
	}
	t.Logf("Redis away: %d exchanges (sent per replica %v, local limit %d each), %d budget refusals",
		outage, diff(perReplica(fleet, (*replica).sent), sentBefore), localLimit, refused)

	// 3. Redis returns, empty. An hour later every replica's token is due
	// (and every local refusal over): the fleet shares one exchange again.
	srv.Restart()
	// Each replica's go-redis pool, having failed to dial PoolSize times,
	// answers its last dial error and probes the server once a second
	// until a dial succeeds: a replica notices the returned Redis within
	// about a second. Wait (bounded) until every replica's own client
	// answers; renewals due in that second would still use the local
	// budgets, which the phase above bounded.
	back := time.Now()
	for _, r := range fleet {
		waitFor(t, 10*time.Second, func(ctx context.Context) bool { return r.store.Ping(ctx) == nil })
	}
	t.Logf("Redis back: every replica's client reconnected %v after the restart", time.Since(back).Round(10*time.Millisecond))
	clk.Advance(61 * time.Minute)
	exBefore = e.exchanges()
	cs = burst(fleet, 200, 30*time.Second, func(ctx context.Context, r *replica, _ int) error { return list(ctx, r, fullID) })
	allOK(t, "after Redis returned", cs)
	if n := e.exchanges() - exBefore; n != 1 {
		t.Errorf("%d exchanges after Redis returned, want 1 for the fleet", n)
	}
	t.Logf("Redis back: 200 calls, %d exchange(s)", e.exchanges()-exBefore)
	// Only one replica made a budget call since Redis returned; the
	// others, which loaded its token, must still see Redis back (for
	// health and metrics).
	for i, r := range fleet {
		if r.budget.Degraded() {
			t.Errorf("replica %d still reports its budget degraded after Redis returned", i)
		}
	}
	peek, err := redisstore.Open(redisstore.Config{URL: srv.URL(), Account: emulator.DemoClientID, Secret: emulator.DemoClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	defer peek.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, ok, err := peek.LoadToken(ctx); err != nil || !ok {
		t.Errorf("no token in Redis after it returned (ok=%v, err=%v)", ok, err)
	}

	// A rejection is again replaced once for the fleet, and writes work.
	exBefore = e.exchanges()
	e.RevokeTokens()
	cs = burst(fleet, 200, 30*time.Second, func(ctx context.Context, r *replica, _ int) error { return list(ctx, r, fullID) })
	allOK(t, "revocation after Redis returned", cs)
	if n := e.exchanges() - exBefore; n != 1 {
		t.Errorf("%d exchanges for a revocation after Redis returned, want 1", n)
	}
	// Redis came back empty, so a write lock held before may have
	// vanished with its write still running: each replica refuses writes
	// (WRITE_STATE_UNAVAILABLE) until one lock lease has passed since
	// Redis started again (issue 27, item 3). Wait for that on every
	// replica, then writes work.
	for i, r := range fleet {
		waitFor(t, 3*redisstore.DefaultWriteLockTTL, func(ctx context.Context) bool {
			_, err := r.client.SetProfileContacts(ctx, &contactsv1.SetProfileContactsRequest{PropertyId: writeID,
				Profile: contactsv1.ProfileType_PROFILE_TYPE_INVOICES, Contacts: []*contactsv1.Contact{named(fmt.Sprintf("wait%d", i))}})
			return err == nil
		})
	}
	t.Logf("Redis back: writes accepted again %v after the restart", time.Since(back).Round(10*time.Millisecond))
	cs = burst(fleet, 2*replicas, 30*time.Second, func(ctx context.Context, r *replica, i int) error {
		_, err := r.client.SetProfileContacts(ctx, &contactsv1.SetProfileContactsRequest{PropertyId: writeID,
			Profile: contactsv1.ProfileType_PROFILE_TYPE_INVOICES, Contacts: []*contactsv1.Contact{named(fmt.Sprintf("back%d", i))}})
		return err
	})
	allOK(t, "writes after Redis returned", cs)
}

func diff(a, b []int) []int {
	out := make([]int, len(a))
	for i := range a {
		out[i] = a[i] - b[i]
	}
	return out
}

// waitFor polls cond (each try bounded by a second) until it holds or
// limit passes: for waiting on an external process, here a redis-server
// the replicas must reconnect to.
func waitFor(t *testing.T, limit time.Duration, cond func(ctx context.Context) bool) {
	t.Helper()
	end := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		ok := cond(ctx)
		cancel()
		if ok {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("condition not met within %v", limit)
		}
		time.Sleep(50 * time.Millisecond) // polling an external process
	}
}
