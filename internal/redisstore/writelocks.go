package redisstore

import (
	"context"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/writelock"
)

// DefaultWriteLockTTL is the lease of a property's write lock: renewed
// every third of it while the write runs, so it only matters when a
// replica dies or pauses holding it.
const DefaultWriteLockTTL = 10 * time.Second

// WriteLocks is the fleet's writelock.Locker: one lock per property across
// all replicas, with expiry, renewal, fencing and compare-and-delete
// release. A lock is refused (ErrStateLost) for one lease TTL after Redis
// is seen to have lost its state, since a lock held then may have vanished
// while its write still runs; Lease.Check verifies the lock right before
// the write. Run Redis with maxmemory-policy noeviction: an evicted lock
// is one lost.
type WriteLocks struct {
	s   *Store
	ttl time.Duration
}

var _ writelock.Locker = (*WriteLocks)(nil)

// WriteLocks returns the per-property write locks (ttl 0 means
// DefaultWriteLockTTL).
func (s *Store) WriteLocks(ttl time.Duration) *WriteLocks {
	if ttl <= 0 {
		ttl = DefaultWriteLockTTL
	}
	return &WriteLocks{s: s, ttl: ttl}
}

// Lock waits for the write lock of key until ctx ends.
func (w *WriteLocks) Lock(ctx context.Context, key string) (writelock.Lease, error) {
	l, err := w.s.lock(ctx, "write:"+key, w.ttl, true)
	if err != nil {
		return nil, err
	}
	return writeLease{l}, nil
}

type writeLease struct{ l *Lease }

func (w writeLease) Context() context.Context { return w.l.Context() }
func (w writeLease) Fence() uint64            { return uint64(w.l.Fence()) }

// Check verifies that Redis still holds the lease (one round trip).
func (w writeLease) Check(ctx context.Context) error { return w.l.Check(ctx) }

func (w writeLease) Unlock() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// A release that fails leaves the lock to expire with its lease.
	_ = w.l.Unlock(ctx)
}
