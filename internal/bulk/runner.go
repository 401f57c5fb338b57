package bulk

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Defaults of Runner.
const (
	// DefaultWorkers is how many operations one replica runs at once.
	DefaultWorkers = 4
	// DefaultRenewEvery is how often a runner renews its lease, or a
	// third of the Store's lease time when that is shorter (LeaseTimer).
	DefaultRenewEvery = 5 * time.Second
	// releaseTimeout bounds the Release of a lease on shutdown.
	releaseTimeout = 2 * time.Second
)

// RunFunc runs one operation until it ends (it calls the lease's Finish)
// or ctx ends: on a shutdown, or when the lease was lost to another
// runner. It must not record an item's outcome that ctx's end caused.
type RunFunc func(ctx context.Context, l Lease) error

// Runner takes operations from a Store and runs up to Workers at once,
// renewing each lease while it runs.
type Runner struct {
	Store      Store
	Run        RunFunc
	Workers    int           // default DefaultWorkers
	RenewEvery time.Duration // default DefaultRenewEvery, or a third of the Store's LeaseTime if shorter
	Logger     *slog.Logger  // default: discard
}

// Serve runs operations until ctx ends, then waits for the runs in
// progress to stop and releases their leases, for another replica to take
// them at once.
func (r *Runner) Serve(ctx context.Context) error {
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	workers := cmp.Or(r.Workers, DefaultWorkers)
	slots := make(chan struct{}, workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	// The operations this runner runs: a Store may hand one out again
	// when its lease lapsed (a renewal late by more than the lease time),
	// to this very runner. The run in progress then goes on, and the
	// second lease is dropped: two runs of one operation would each count
	// the items the other wrote as unchanged.
	var mu sync.Mutex
	running := make(map[string]bool)
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		l, err := r.Store.Take(ctx)
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				return nil
			}
			// The Store does not answer (Redis down): try again shortly,
			// not in a tight loop.
			log.Warn("bulk: cannot take an operation", slog.String("error", err.Error()))
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		mu.Lock()
		dup := running[l.Name()]
		running[l.Name()] = true
		mu.Unlock()
		if dup {
			<-slots
			continue
		}
		wg.Go(func() {
			defer func() {
				mu.Lock()
				delete(running, l.Name())
				mu.Unlock()
				<-slots
			}()
			r.run(ctx, l, log)
		})
	}
}

// run runs one operation with its lease renewed; a lost lease ends the
// run's context.
func (r *Runner) run(ctx context.Context, l Lease, log *slog.Logger) {
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(r.renewEvery())
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if err := l.Renew(rctx); errors.Is(err, ErrLeaseLost) {
					cancel(ErrLeaseLost)
					return
				} else if err != nil && rctx.Err() == nil {
					log.Warn("bulk: lease not renewed", slog.String("operation", l.Name()), slog.String("error", err.Error()))
				}
			case <-rctx.Done():
				return
			}
		}
	}()
	err := r.Run(rctx, l)
	cancel(nil)
	<-renewed
	switch {
	case err == nil:
	case errors.Is(context.Cause(rctx), ErrLeaseLost) || errors.Is(err, ErrLeaseLost):
		log.Warn("bulk: operation taken over by another replica", slog.String("operation", l.Name()))
	default:
		if ctx.Err() == nil {
			log.Error("bulk: operation stopped; released for another run", slog.String("operation", l.Name()), slog.String("error", err.Error()))
		}
		// Shutting down, or the Store failed: let another runner (here
		// or on another replica) take it.
		rel, cancelRel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancelRel()
		if err := l.Release(rel); err != nil && !errors.Is(err, ErrLeaseLost) {
			log.Warn("bulk: lease not released", slog.String("operation", l.Name()), slog.String("error", err.Error()))
		}
	}
}

// renewEvery is how often a lease is renewed: RenewEvery when set, else
// DefaultRenewEvery, or a third of the Store's lease time when that is
// shorter. A lease renewed less often than its lease time lapses while
// its operation runs, and another runner (on this replica too) runs the
// operation at the same time.
func (r *Runner) renewEvery() time.Duration {
	if r.RenewEvery > 0 {
		return r.RenewEvery
	}
	every := DefaultRenewEvery
	if lt, ok := r.Store.(LeaseTimer); ok && lt.LeaseTime() > 0 {
		every = min(every, max(lt.LeaseTime()/3, time.Millisecond))
	}
	return every
}
