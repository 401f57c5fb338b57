package bulk_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/bulk"
)

// counting is a Store whose leases count their renewals and releases,
// and whose renewals fail with renewErr when set.
type counting struct {
	bulk.Store
	mu       sync.Mutex
	renews   int
	releases int
	renewErr error
}

func (c *counting) Take(ctx context.Context) (bulk.Lease, error) {
	l, err := c.Store.Take(ctx)
	if err != nil {
		return nil, err
	}
	return &countingLease{Lease: l, c: c}, nil
}

func (c *counting) counts() (renews, releases int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.renews, c.releases
}

type countingLease struct {
	bulk.Lease
	c *counting
}

func (l *countingLease) Renew(ctx context.Context) error {
	l.c.mu.Lock()
	l.c.renews++
	err := l.c.renewErr
	l.c.mu.Unlock()
	if err != nil {
		return err
	}
	return l.Lease.Renew(ctx)
}

func (l *countingLease) Release(ctx context.Context) error {
	l.c.mu.Lock()
	l.c.releases++
	l.c.mu.Unlock()
	return l.Lease.Release(ctx)
}

// finish ends l's operation now.
func finish(ctx context.Context, l bulk.Lease) error {
	return l.Finish(ctx, bulk.Header{Name: l.Name(), Updated: time.Now(), Ended: time.Now()})
}

// serve runs r until the returned stop is called; stop waits for Serve.
func serve(t *testing.T, r *bulk.Runner) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
}

func create(t *testing.T, s bulk.Store, n int) []string {
	t.Helper()
	var names []string
	for i := range n {
		name := fmt.Sprintf("operations/%d", i)
		if err := s.Create(t.Context(), bulk.Header{Name: name, Owner: "alice", Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

func TestRunnerRunsUpToWorkersAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := bulk.NewMemory(0, nil)
		names := create(t, m, 5)
		var mu sync.Mutex
		active, most := 0, 0
		stop := serve(t, &bulk.Runner{Store: m, Workers: 2, Run: func(ctx context.Context, l bulk.Lease) error {
			mu.Lock()
			active++
			most = max(most, active)
			mu.Unlock()
			time.Sleep(time.Minute) // the bubble's clock: the work takes a minute
			mu.Lock()
			active--
			mu.Unlock()
			return finish(ctx, l)
		}})
		defer stop()
		time.Sleep(3 * time.Minute) // 5 operations, 2 at a time
		synctest.Wait()
		for _, n := range names {
			if h, err := m.Get(t.Context(), n); err != nil || !h.Done() {
				t.Errorf("%s: done=%v err=%v", n, h.Done(), err)
			}
		}
		if most != 2 {
			t.Errorf("%d operations ran at once, want 2", most)
		}
	})
}

func TestRunnerRenewsWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &counting{Store: bulk.NewMemory(0, nil)}
		create(t, c, 1)
		ran := make(chan struct{})
		stop := serve(t, &bulk.Runner{Store: c, RenewEvery: 5 * time.Second, Run: func(ctx context.Context, l bulk.Lease) error {
			defer close(ran)
			time.Sleep(12 * time.Second)
			return finish(ctx, l)
		}})
		defer stop()
		<-ran
		synctest.Wait()
		if renews, releases := c.counts(); renews != 2 || releases != 0 {
			t.Fatalf("renews %d, releases %d; want 2 and 0", renews, releases)
		}
	})
}

// leaseTimed is a counting Store with a lease time (bulk.LeaseTimer).
type leaseTimed struct {
	*counting
	lease time.Duration
}

func (l leaseTimed) LeaseTime() time.Duration { return l.lease }

// A Store's lease time shorter than DefaultRenewEvery sets the pace of the
// renewals: a lease renewed every 5 s with a 3 s lease time lapses while
// its operation runs, and another runner takes it over from a live one.
func TestRunnerRenewsWithinTheStoresLeaseTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &counting{Store: bulk.NewMemory(0, nil)}
		create(t, c, 1)
		ran := make(chan struct{})
		stop := serve(t, &bulk.Runner{Store: leaseTimed{counting: c, lease: 3 * time.Second}, Run: func(ctx context.Context, l bulk.Lease) error {
			defer close(ran)
			time.Sleep(9500 * time.Millisecond)
			return finish(ctx, l)
		}})
		defer stop()
		<-ran
		synctest.Wait()
		if renews, releases := c.counts(); renews != 9 || releases != 0 {
			t.Fatalf("renews %d, releases %d; want 9 (every second, a third of the lease time) and 0", renews, releases)
		}
	})
}

func TestRunnerStopsRunOnLostLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &counting{Store: bulk.NewMemory(0, nil), renewErr: bulk.ErrLeaseLost}
		create(t, c, 1)
		cause := make(chan error, 1)
		stop := serve(t, &bulk.Runner{Store: c, RenewEvery: time.Second, Run: func(ctx context.Context, l bulk.Lease) error {
			<-ctx.Done()
			cause <- context.Cause(ctx)
			return ctx.Err()
		}})
		defer stop()
		if err := <-cause; !errors.Is(err, bulk.ErrLeaseLost) {
			t.Fatalf("run's context ended with %v, want ErrLeaseLost", err)
		}
		synctest.Wait()
		// Another runner holds it: this one must not release it.
		if _, releases := c.counts(); releases != 0 {
			t.Fatalf("a lost lease was released %d times", releases)
		}
	})
}

func TestRunnerReleasesOnShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := bulk.NewMemory(0, nil)
		c := &counting{Store: m}
		names := create(t, c, 1)
		started := make(chan struct{})
		stop := serve(t, &bulk.Runner{Store: c, Run: func(ctx context.Context, l bulk.Lease) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}})
		<-started
		stop() // waits for Serve, hence for the release
		if _, releases := c.counts(); releases != 1 {
			t.Fatalf("released %d times, want 1", releases)
		}
		// Another runner takes it at once.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		l, err := m.Take(ctx)
		if err != nil || l.Name() != names[0] {
			t.Fatalf("Take after shutdown: %v %v", l, err)
		}
	})
}

func TestRunnerReleasesAfterRunError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := bulk.NewMemory(0, nil)
		c := &counting{Store: m}
		names := create(t, c, 1)
		var mu sync.Mutex
		runs := 0
		stop := serve(t, &bulk.Runner{Store: c, Run: func(ctx context.Context, l bulk.Lease) error {
			mu.Lock()
			runs++
			first := runs == 1
			mu.Unlock()
			if first {
				return errors.New("the store failed")
			}
			return finish(ctx, l)
		}})
		defer stop()
		synctest.Wait()
		if h, err := m.Get(t.Context(), names[0]); err != nil || !h.Done() {
			t.Fatalf("not run again after the error: done=%v err=%v", h.Done(), err)
		}
		if _, releases := c.counts(); runs != 2 || releases != 1 {
			t.Fatalf("runs %d, releases %d; want 2 and 1", runs, releases)
		}
	})
}

// again is a Store that hands the first operation it gives out a second
// time, as a Store whose lease lapsed would, to the same runner.
type again struct {
	bulk.Store
	mu    sync.Mutex
	first bulk.Lease
	twice bool
}

func (a *again) Take(ctx context.Context) (bulk.Lease, error) {
	a.mu.Lock()
	if a.first != nil && !a.twice {
		a.twice = true
		l := a.first
		a.mu.Unlock()
		return l, nil
	}
	a.mu.Unlock()
	l, err := a.Store.Take(ctx)
	if err == nil {
		a.mu.Lock()
		if a.first == nil {
			a.first = l
		}
		a.mu.Unlock()
	}
	return l, err
}

// TestRunnerRunsAnOperationOnce: an operation handed out again while this
// runner runs it is not run a second time alongside.
func TestRunnerRunsAnOperationOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := bulk.NewMemory(0, nil)
		create(t, m, 1)
		store := &again{Store: m}
		var mu sync.Mutex
		runs, active, most := 0, 0, 0
		stop := serve(t, &bulk.Runner{Store: store, Workers: 4, Run: func(ctx context.Context, l bulk.Lease) error {
			mu.Lock()
			runs++
			active++
			most = max(most, active)
			mu.Unlock()
			time.Sleep(time.Minute)
			mu.Lock()
			active--
			mu.Unlock()
			return finish(ctx, l)
		}})
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		stop()
		if runs != 1 || most != 1 {
			t.Errorf("the operation ran %d times, %d at once; want once", runs, most)
		}
	})
}
