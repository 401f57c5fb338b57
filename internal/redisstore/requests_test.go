package redisstore

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/idempotency"
	"github.com/contacts-facade/contacts-facade/internal/writelock"
)

func TestRequestsDuplicatesGetTheFirstOutcome(t *testing.T) {
	s, mr := newMini(t)
	ctx := context.Background()
	// Two replicas' stores on one Redis.
	a, b := s.Requests(0, 0), s.Requests(0, 0)
	first, err := a.Begin(ctx, "req-1", []byte("fp"))
	if err != nil || first.Done {
		t.Fatalf("first Begin: %+v %v", first, err)
	}
	// Ten duplicates wait while the first runs, on either replica.
	var wg sync.WaitGroup
	results := make(chan idempotency.Result, 10)
	for i := range 10 {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Go(func() {
			r, err := st.Begin(ctx, "req-1", []byte("fp"))
			if err != nil {
				t.Error(err)
			}
			results <- r
		})
	}
	// A different request with the same id is refused even while pending.
	if _, err := b.Begin(ctx, "req-1", []byte("other")); !errors.Is(err, idempotency.ErrMismatch) {
		t.Fatalf("mismatch while pending: %v", err)
	}
	out := idempotency.Outcome{Response: []byte(`{"email":"jane@example.com"}`)}
	first.Finish(out, true)
	wg.Wait()
	close(results)
	for r := range results {
		if !r.Done || !bytes.Equal(r.Outcome.Response, out.Response) {
			t.Fatalf("duplicate got %+v", r)
		}
	}
	for _, k := range mr.Keys() {
		v, _ := mr.Get(k)
		if bytes.Contains([]byte(v), []byte("jane")) {
			t.Fatal("outcome stored in clear")
		}
		if ttl := mr.TTL(k); ttl != DefaultRequestTTL {
			t.Errorf("outcome kept for %v, want %v", ttl, DefaultRequestTTL)
		}
	}
	if _, err := b.Begin(ctx, "req-1", []byte("other")); !errors.Is(err, idempotency.ErrMismatch) {
		t.Fatalf("mismatch after completion: %v", err)
	}
}

func TestRequestsForgottenClaimRunsAgain(t *testing.T) {
	s, mr := newMini(t)
	ctx := context.Background()
	r := s.Requests(0, time.Minute)
	first, _ := r.Begin(ctx, "k", []byte("fp"))
	got := make(chan idempotency.Result)
	go func() {
		res, err := r.Begin(ctx, "k", []byte("fp"))
		if err != nil {
			t.Error(err)
		}
		got <- res
	}()
	first.Finish(idempotency.Outcome{}, false) // the write never left
	if res := <-got; res.Done || res.Finish == nil {
		t.Fatalf("the waiting duplicate did not run the request itself: %+v", res)
	}
	// A claim whose replica died frees up after the pending TTL.
	_, _ = r.Begin(ctx, "dead", []byte("fp"))
	mr.FastForward(2 * time.Minute)
	if res, _ := r.Begin(ctx, "dead", []byte("fp")); res.Done || res.Finish == nil {
		t.Fatalf("a dead claim was not taken over: %+v", res)
	}
	// A waiting duplicate gives up when its context ends.
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := r.Begin(cctx, "dead", []byte("fp")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait did not end with its context: %v", err)
	}
}

func TestWriteLocksAreWritelockLockers(t *testing.T) {
	s, mr := newMini(t)
	ctx := context.Background()
	w := s.WriteLocks(time.Minute)
	l, err := w.Lock(ctx, "1000001")
	if err != nil {
		t.Fatal(err)
	}
	f1 := l.Fence()
	l.Unlock()
	l.Unlock()
	l2, err := w.Lock(ctx, "1000001")
	if err != nil {
		t.Fatal(err)
	}
	if l2.Fence() <= f1 {
		t.Fatalf("fence %d after %d", l2.Fence(), f1)
	}
	// A lease lost in Redis (expired, taken by another) ends its context
	// with writelock.ErrLockLost at the next renewal.
	inner := l2.(writeLease).l
	mr.FastForward(2 * time.Minute)
	other, err := s.Lock(ctx, "write:1000001", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Unlock(ctx)
	if held, _ := inner.renew(ctx); held {
		t.Fatal("renewed a lease another holder has")
	}
	inner.cancel(ErrLockLost) // what keepAlive does on that answer
	if !errors.Is(context.Cause(l2.Context()), writelock.ErrLockLost) {
		t.Fatalf("cause %v, want writelock.ErrLockLost", context.Cause(l2.Context()))
	}
	l2.Unlock()
}

// TestLeaseEndsWhenRenewalsFail: a lease none of whose renewals gets
// through ends its context with writelock.ErrLockLost, by its own
// deadline, before Redis could give the lock to another replica.
func TestLeaseEndsWhenRenewalsFail(t *testing.T) {
	s, mr := newMini(t)
	l, err := s.Lock(context.Background(), "p", 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock(context.Background())
	mr.SetError("LOADING Redis is loading the dataset in memory")
	<-l.Context().Done()
	if !errors.Is(context.Cause(l.Context()), writelock.ErrLockLost) {
		t.Fatalf("cause %v, want ErrLockLost", context.Cause(l.Context()))
	}
}

// TestPendingTTLHasAFloor is issue 27 item 6 (store part): a claim cannot
// be configured to expire while its write may still run, so a retry on
// another replica does not run the write a second time.
func TestPendingTTLHasAFloor(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pending time.Duration
		want    time.Duration
	}{
		{"default", 0, 2 * time.Minute},
		{"below the floor", time.Second, time.Minute},
		{"just below", time.Minute - time.Millisecond, time.Minute},
		{"at the floor", time.Minute, time.Minute},
		{"above", 5 * time.Minute, 5 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, mr := newMini(t)
			ctx := context.Background()
			r := s.Requests(0, tc.pending)
			if got := r.PendingTTL(); got != tc.want {
				t.Fatalf("PendingTTL() = %v, want %v", got, tc.want)
			}
			first, err := r.Begin(ctx, "req-1", []byte("fp"))
			if err != nil || first.Done {
				t.Fatalf("Begin: %+v %v", first, err)
			}
			defer first.Finish(idempotency.Outcome{}, false)
			// Just before the claim ends, a duplicate still waits for it.
			mr.FastForward(tc.want - time.Millisecond)
			wctx, cancel := context.WithTimeout(ctx, 3*requestPoll)
			defer cancel()
			if r2, err := r.Begin(wctx, "req-1", []byte("fp")); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("duplicate %v into the claim: %+v %v, want it to wait", tc.want-time.Millisecond, r2, err)
			}
		})
	}
}
