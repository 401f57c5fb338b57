// Package writelock serialises the writes of one property: a Locker hands
// out at most one Lease per key at a time.
//
// Local is the in-process Locker. A Locker shared by replicas (Redis) can
// lose a lease it granted (its TTL expired during a pause): its Lease's
// Context ends then, and Fence tells a later holder's writes from an
// earlier one's. Holders must check Context, and call Check, right before
// each write they make under the lease: a shared lock can vanish (Redis
// flushed or restarted) before its holder's next renewal notices.
package writelock

import (
	"context"
	"errors"
	"sync"
)

// ErrLockLost is the cause of a Lease's Context when the lock was lost
// while held (never for Local).
var ErrLockLost = errors.New("writelock: lock lost")

// ErrUnlocked is the cause of a Lease's Context after Unlock.
var ErrUnlocked = errors.New("writelock: unlocked")

// Locker grants exclusive leases on keys.
type Locker interface {
	// Lock waits until the lock of key is free and takes it, or returns
	// ctx's error when ctx ends first.
	Lock(ctx context.Context, key string) (Lease, error)
}

// Lease is one holding of a lock.
type Lease interface {
	// Context ends when the lease does: after Unlock, or as soon as the
	// lock is known lost (cause ErrLockLost).
	Context() context.Context
	// Fence is a number that grows with every lease granted on the key, so
	// that a write made under a lost lease can be told from later ones.
	Fence() uint64
	// Check verifies, right before a write made under the lease, that the
	// lease is still held where it is kept (one round trip for a shared
	// Locker). An error means the write must not be made: the lock may
	// belong to another holder already.
	Check(ctx context.Context) error
	// Unlock releases the lock. Calling it again does nothing.
	Unlock()
}

// Local is a Locker for one process. The zero value is not usable: call
// NewLocal.
type Local struct {
	mu    sync.Mutex
	locks map[string]*localLock
	// fence counts the leases granted on any key: it grows per key too,
	// and survives the entry of a key that nobody holds.
	fence uint64
}

// localLock is the lock of one key: a channel of one slot, so that a wait
// can end with its context. waiters counts holders and waiters, to drop
// the entry when nobody needs it.
type localLock struct {
	slot    chan struct{}
	waiters int
}

// NewLocal returns an in-process Locker. It holds memory only for keys
// locked or waited for.
func NewLocal() *Local {
	return &Local{locks: map[string]*localLock{}}
}

// Lock implements Locker.
func (l *Local) Lock(ctx context.Context, key string) (Lease, error) {
	l.mu.Lock()
	lk, ok := l.locks[key]
	if !ok {
		lk = &localLock{slot: make(chan struct{}, 1)}
		l.locks[key] = lk
	}
	lk.waiters++
	l.mu.Unlock()

	select {
	case lk.slot <- struct{}{}:
	case <-ctx.Done():
		l.release(key, lk, false)
		return nil, context.Cause(ctx)
	}
	l.mu.Lock()
	l.fence++
	fence := l.fence
	l.mu.Unlock()
	lctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	return &localLease{l: l, key: key, lk: lk, fence: fence, ctx: lctx, cancel: cancel}, nil
}

// release gives up one holding or wait of lk.
func (l *Local) release(key string, lk *localLock, held bool) {
	if held {
		<-lk.slot
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if lk.waiters--; lk.waiters == 0 {
		delete(l.locks, key)
	}
}

// held reports how many keys have an entry, for tests.
func (l *Local) held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.locks)
}

type localLease struct {
	l      *Local
	key    string
	lk     *localLock
	fence  uint64
	ctx    context.Context
	cancel context.CancelCauseFunc
	once   sync.Once
}

func (s *localLease) Context() context.Context { return s.ctx }
func (s *localLease) Fence() uint64            { return s.fence }

// Check is nil while the lease is held: a Local lease cannot be lost.
func (s *localLease) Check(context.Context) error {
	if s.ctx.Err() != nil {
		return ErrUnlocked
	}
	return nil
}

func (s *localLease) Unlock() {
	s.once.Do(func() {
		s.cancel(ErrUnlocked)
		s.l.release(s.key, s.lk, true)
	})
}
