package writelock_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/contacts-facade/contacts-facade/internal/writelock"
)

// TestExclusive: of many goroutines on one key, never two hold the lease
// at once, and every one gets it in the end.
func TestExclusive(t *testing.T) {
	l := writelock.NewLocal()
	var (
		mu      sync.Mutex
		holders int
		max     int
		fences  = map[uint64]bool{}
		wg      sync.WaitGroup
	)
	for range 50 {
		wg.Go(func() {
			lease, err := l.Lock(context.Background(), "p1")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			holders++
			max = maxInt(max, holders)
			fences[lease.Fence()] = true
			mu.Unlock()
			mu.Lock()
			holders--
			mu.Unlock()
			lease.Unlock()
		})
	}
	wg.Wait()
	if max != 1 {
		t.Errorf("%d holders at once, want 1", max)
	}
	if len(fences) != 50 {
		t.Errorf("%d distinct fences for 50 leases", len(fences))
	}
	if n := l.Held(); n != 0 {
		t.Errorf("%d lock entries left after every unlock", n)
	}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// TestWaitEndsWithContext: a wait for a held lock ends with the waiter's
// context, and the lock stays with its holder; other keys are free.
func TestWaitEndsWithContext(t *testing.T) {
	l := writelock.NewLocal()
	lease, err := l.Lock(context.Background(), "p1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := l.Lock(ctx, "p1")
		done <- err
	}()
	other, err := l.Lock(context.Background(), "p2")
	if err != nil {
		t.Fatal(err)
	}
	other.Unlock()
	stop := errors.New("caller gone")
	cancel(stop)
	if err := <-done; !errors.Is(err, stop) {
		t.Fatalf("waiter got %v, want its context's cause", err)
	}
	if lease.Context().Err() != nil {
		t.Fatal("the holder's lease ended when a waiter gave up")
	}
	lease.Unlock()
	lease.Unlock() // twice is harmless
	if !errors.Is(context.Cause(lease.Context()), writelock.ErrUnlocked) {
		t.Errorf("lease context cause %v after Unlock, want ErrUnlocked", context.Cause(lease.Context()))
	}
	again, err := l.Lock(context.Background(), "p1")
	if err != nil {
		t.Fatal(err)
	}
	if again.Fence() <= lease.Fence() {
		t.Errorf("fence %d after %d: want it to grow", again.Fence(), lease.Fence())
	}
	again.Unlock()
	if n := l.Held(); n != 0 {
		t.Errorf("%d lock entries left", n)
	}
}

func TestLocalCheck(t *testing.T) {
	l := writelock.NewLocal()
	lease, err := l.Lock(context.Background(), "p")
	if err != nil {
		t.Fatal(err)
	}
	if err := lease.Check(context.Background()); err != nil {
		t.Fatalf("Check of a held Local lease = %v, want nil", err)
	}
	lease.Unlock()
	if err := lease.Check(context.Background()); !errors.Is(err, writelock.ErrUnlocked) {
		t.Fatalf("Check after Unlock = %v, want ErrUnlocked", err)
	}
}
