package redisstore

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/contacts-facade/contacts-facade/internal/writelock"
)

// ErrLockLost is the cause of a Lease's context when the lease could not
// be renewed before it expired: another holder may have the lock now. It
// is writelock's, so that the service tells a lost lease the same way
// whatever the Locker.
var ErrLockLost = writelock.ErrLockLost

// ErrLockBusy is returned (joined with the context's error) when a lock
// could not be had before the caller's context ended.
var ErrLockBusy = errors.New("redisstore: lock held by another replica")

// plainAcquireScript takes the lock when free and hands out the next
// fencing value; else it returns the holder's remaining lease in
// milliseconds as a negative number.
var plainAcquireScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 1 then ttl = 1 end
return -ttl
`)

// acquireScript is plainAcquireScript for locks that guard writes
// (WriteLocks): it takes the lock when free and hands out the next fencing
// value; else it returns the holder's remaining lease in milliseconds as a
// negative number. Before either it checks the account's epoch marker
// (KEYS[3], no expiry): a marker that is gone or not the one this replica
// saw last (ARGV[3]) means Redis lost its state since, and the answer is 0
// with how long writes must still wait (one lease from when the loss was
// first seen, which the marker records). A replica that saw no marker yet
// (ARGV[3] empty) creates one marked "no loss seen" (:0), or waits out the
// window of one marked by a replica that saw a loss. The reply is
// {fence or -remaining or 0, marker, wait ms}.
var acquireScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local e = redis.call('GET', KEYS[3])
if not e then
  local since = 0
  if ARGV[3] ~= '' then since = now end
  e = ARGV[4] .. ':' .. since
  redis.call('SET', KEYS[3], e)
end
if e ~= ARGV[3] then
  local since = tonumber(string.match(e, ':(%d+)$')) or 0
  if ARGV[3] ~= '' and since == 0 then
    since = now
    e = ARGV[4] .. ':' .. since
    redis.call('SET', KEYS[3], e)
  end
  local wait = since + ttl - now
  if wait > 0 then return {0, e, wait} end
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {redis.call('INCR', KEYS[2]), e, 0}
end
local rem = redis.call('PTTL', KEYS[1])
if rem < 1 then rem = 1 end
return {-rem, e, 0}
`)

// renewScript extends the lease only while this holder still has it.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// releaseScript deletes the lock only while this holder still has it
// (compare-and-delete), so a holder whose lease expired cannot release
// its successor's lock.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// Lease is one holding of a lock. It is renewed in the background until
// Unlock; if renewal fails for a whole lease time its Context ends with
// ErrLockLost.
type Lease struct {
	s     *Store
	key   string
	token string
	fence int64
	ttl   time.Duration

	ctx    context.Context
	cancel context.CancelCauseFunc
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

// Lock takes the lock name for ttl, waiting (with jittered polling) until
// it is free or ctx ends. While held it is renewed every ttl/3. It does
// not watch for Redis losing its state (WriteLocks does): for locks that
// only save work, like the token exchange's.
func (s *Store) Lock(ctx context.Context, name string, ttl time.Duration) (*Lease, error) {
	return s.lock(ctx, name, ttl, false)
}

// lock is Lock; guarded locks refuse while Redis may have lost its state
// (tryLock).
func (s *Store) lock(ctx context.Context, name string, ttl time.Duration, guarded bool) (*Lease, error) {
	wait := 5 * time.Millisecond
	for {
		l, remaining, err := s.tryLock(ctx, name, ttl, guarded)
		if err != nil {
			if ctx.Err() != nil {
				return nil, errors.Join(ErrLockBusy, ctx.Err())
			}
			return nil, err
		}
		if l != nil {
			return l, nil
		}
		// Poll again after a jittered pause, never longer than the
		// holder's remaining lease.
		pause := min(wait, remaining)
		pause = pause/2 + rand.N(pause/2+1)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, errors.Join(ErrLockBusy, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// TryLock takes the lock name for ttl if it is free; ok is false when
// another holder has it.
func (s *Store) TryLock(ctx context.Context, name string, ttl time.Duration) (l *Lease, ok bool, err error) {
	l, _, err = s.tryLock(ctx, name, ttl, false)
	return l, l != nil, err
}

// tryLock makes one attempt; when the lock is held it returns the
// holder's remaining lease. A guarded attempt refuses (ErrStateLost) while this replica
// treats Redis as having lost its state, and opens that window when the
// attempt shows a loss: the epoch marker gone or replaced, the server's
// run_id changed (INFO server, sent in the same pipeline, so on the same
// connection and server run as the script), or the lock's fence counter
// gone back.
func (s *Store) tryLock(ctx context.Context, name string, ttl time.Duration, guarded bool) (*Lease, time.Duration, error) {
	key := s.key("lock", name)
	token := randomToken()
	sent := time.Now()
	if !guarded {
		n, err := plainAcquireScript.Run(ctx, s.rdb, []string{key, key + ":fence"}, token, ttl.Milliseconds()).Int64()
		if err != nil {
			return nil, 0, err
		}
		if n > 0 {
			return s.newLease(key, token, n, ttl, sent), 0, nil
		}
		return nil, time.Duration(-n) * time.Millisecond, nil
	}
	if err := s.state.writable(); err != nil {
		return nil, 0, err
	}
	var info *redis.StringCmd
	var res *redis.Cmd
	// Errors are read per command: a server without INFO server (or with
	// it renamed) still has the epoch and fence checks.
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		info = p.Info(ctx, "server")
		res = acquireScript.Eval(ctx, p, []string{key, key + ":fence", s.key("epoch")},
			token, ttl.Milliseconds(), s.state.knownEpoch(), randomToken())
		return nil
	})
	vals, err := res.Slice()
	if err != nil {
		return nil, 0, err
	}
	if len(vals) != 3 {
		return nil, 0, errors.New("redisstore: unexpected reply from the lock script")
	}
	n, _ := vals[0].(int64)
	epoch, _ := vals[1].(string)
	wait, _ := vals[2].(int64)
	s.state.adoptEpoch(epoch)
	if n == 0 {
		s.state.lost(time.Duration(wait) * time.Millisecond)
		return nil, 0, ErrStateLost
	}
	restarted := false
	if info.Err() == nil {
		id, up := serverRun(info.Val())
		if s.state.seeRunID(id) {
			// The restart was up ago: writes under a lock of the
			// previous run have ended one lease after it.
			restarted = true
			wait = (ttl - up).Milliseconds()
		}
	}
	if restarted || (n > 0 && s.state.seeFence(key, n)) {
		if !restarted {
			wait = ttl.Milliseconds()
		}
		if n > 0 {
			_ = releaseScript.Run(ctx, s.rdb, []string{key}, token).Err()
		}
		if wait > 0 {
			s.state.lost(time.Duration(wait) * time.Millisecond)
			return nil, 0, ErrStateLost
		}
		return nil, 0, nil // a restart long past: try again at once
	}
	if n > 0 {
		return s.newLease(key, token, n, ttl, sent), 0, nil
	}
	return nil, time.Duration(-n) * time.Millisecond, nil
}

func randomToken() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Store) newLease(key, token string, fence int64, ttl time.Duration, sent time.Time) *Lease {
	ctx, cancel := context.WithCancelCause(context.Background())
	l := &Lease{s: s, key: key, token: token, fence: fence, ttl: ttl,
		ctx: ctx, cancel: cancel, stop: make(chan struct{}), done: make(chan struct{})}
	go l.keepAlive(sent)
	return l
}

// Fence is the lock's fencing value: it grows with every holding, so a
// write stamped with it can be told from one of an earlier holder.
func (l *Lease) Fence() int64 { return l.fence }

// Context ends when the lease is lost (cause ErrLockLost) or released.
func (l *Lease) Context() context.Context { return l.ctx }

// keepAlive renews the lease every ttl/3 until Unlock. Redis ends the
// lease ttl after the last renewal it applied; the holder counts from when
// it sent that renewal (no later than Redis applied it), less a tenth for
// clock drift, so that its context ends before another replica can have
// the lock. A renewal that finds another holder, or no renewal getting
// through by then, ends the lease's context with ErrLockLost. Each renewal
// is bounded by that deadline, so a slow Redis cannot stretch it.
func (l *Lease) keepAlive(sent time.Time) {
	defer close(l.done)
	for {
		deadline := sent.Add(l.ttl - l.ttl/10)
		t := time.NewTimer(min(l.ttl/3, time.Until(deadline)))
		select {
		case <-l.stop:
			t.Stop()
			return
		case <-t.C:
		}
		if !time.Now().Before(deadline) {
			l.cancel(ErrLockLost)
			return
		}
		attempt := time.Now()
		rctx, cancel := context.WithDeadline(l.ctx, deadline)
		held, err := l.renew(rctx)
		cancel()
		switch {
		case err == nil && held:
			sent = attempt
		case err == nil && !held:
			l.cancel(ErrLockLost)
			return
		}
	}
}

// renew extends the lease once; held is false when another holder has it.
func (l *Lease) renew(ctx context.Context) (held bool, err error) {
	n, err := renewScript.Run(ctx, l.s.rdb, []string{l.key}, l.token, l.ttl.Milliseconds()).Int64()
	return n == 1, err
}

// Check verifies, in one round trip, that Redis still holds this lease:
// the lock's key still has this holder's token. A holder calls it right
// before a write it makes under the lease, so that a lock lost since the
// last renewal (flushed, evicted, Redis restarted) stops the write. It
// returns ErrLockLost (and ends the lease's context) when another holder
// or nobody has the key, ErrUnlocked after Unlock, and Redis's error when
// the key could not be read.
func (l *Lease) Check(ctx context.Context) error {
	if err := context.Cause(l.ctx); err != nil {
		if errors.Is(err, ErrLockLost) {
			return ErrLockLost
		}
		return writelock.ErrUnlocked
	}
	v, err := l.s.rdb.Get(ctx, l.key).Result()
	switch {
	case errors.Is(err, redis.Nil):
	case err != nil:
		return err
	case v == l.token:
		return nil
	}
	l.cancel(ErrLockLost)
	return ErrLockLost
}

// Unlock stops the renewals and releases the lock if this lease still
// holds it. It is safe to call more than once.
func (l *Lease) Unlock(ctx context.Context) error {
	var err error
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		err = releaseScript.Run(ctx, l.s.rdb, []string{l.key}, l.token).Err()
		l.cancel(context.Canceled)
	})
	return err
}
