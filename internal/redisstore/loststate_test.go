package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/contacts-facade/contacts-facade/internal/redisstore"
	"github.com/contacts-facade/contacts-facade/internal/redisstore/redistest"
	"github.com/contacts-facade/contacts-facade/internal/writelock"
)

// TestLostRedisStateRefusesLocks is issue 27 item 3 (b) on a real
// redis-server: replica A holds a property's write lock when Redis loses
// its state; replica B, which has used this Redis before, must not take
// the lock at once (A's write may still land), but be refused.
func TestLostRedisStateRefusesLocks(t *testing.T) {
	type snapshot map[string]struct {
		dump string
		ttl  time.Duration
	}
	save := func(t *testing.T, raw *redis.Client) snapshot {
		ctx := context.Background()
		snap := snapshot{}
		keys, err := raw.Keys(ctx, "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			d, err := raw.Dump(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			ttl, _ := raw.PTTL(ctx, k).Result()
			if ttl < 0 {
				ttl = 0
			}
			snap[k] = struct {
				dump string
				ttl  time.Duration
			}{d, ttl}
		}
		return snap
	}
	for _, tc := range []struct {
		name string
		// lose makes Redis lose what it held since snap was taken.
		lose func(t *testing.T, srv *redistest.Server, raw *redis.Client, snap snapshot)
	}{
		{"FLUSHALL", func(t *testing.T, _ *redistest.Server, raw *redis.Client, _ snapshot) {
			if err := raw.FlushAll(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
		}},
		{"restarted empty", func(t *testing.T, srv *redistest.Server, _ *redis.Client, _ snapshot) {
			srv.Restart()
		}},
		{"restarted from an older snapshot", func(t *testing.T, srv *redistest.Server, raw *redis.Client, snap snapshot) {
			srv.Restart()
			for k, v := range snap {
				if err := raw.Restore(context.Background(), k, v.ttl, v.dump).Err(); err != nil {
					t.Fatal(err)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t)
			raw := redis.NewClient(&redis.Options{Addr: srv.Addr})
			t.Cleanup(func() { _ = raw.Close() })
			open := func() *redisstore.WriteLocks {
				s, err := redisstore.Open(redisstore.Config{URL: srv.URL(), Account: "acct", Secret: "s"})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = s.Close() })
				return s.WriteLocks(5 * time.Second)
			}
			a, b := open(), open()
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
			defer cancel()
			// B has written before: it knows this Redis.
			warm, err := b.Lock(ctx, "1000002")
			if err != nil {
				t.Fatal(err)
			}
			warm.Unlock()
			snap := save(t, raw)
			held, err := a.Lock(ctx, "1000001")
			if err != nil {
				t.Fatal(err)
			}
			defer held.Unlock()
			if err := held.Check(ctx); err != nil {
				t.Fatalf("Check of a held lease = %v", err)
			}

			tc.lose(t, srv, raw, snap)

			// A's check before its PUT sees the lease gone.
			if err := held.Check(ctx); !errors.Is(err, writelock.ErrLockLost) {
				t.Fatalf("A's Check = %v, want ErrLockLost", err)
			}
			l, err := b.Lock(ctx, "1000001")
			if err == nil {
				l.Unlock()
				t.Fatal("B took the lock A may still be writing under")
			}
			if !errors.Is(err, redisstore.ErrStateLost) || ctx.Err() != nil {
				t.Fatalf("B's Lock = %v, want ErrStateLost at once", err)
			}
		})
	}
}

// TestCheckSeesAnEvictedLock is issue 27 item 3 (a) on a real
// redis-server: only A's lock key goes (as eviction would); Redis kept the
// rest, so B may take the lock, and A's Check, made right before its PUT,
// must stop A's write.
func TestCheckSeesAnEvictedLock(t *testing.T) {
	srv := redistest.Start(t)
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = raw.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	var locks []*redisstore.WriteLocks
	for range 2 {
		s, err := redisstore.Open(redisstore.Config{URL: srv.URL(), Account: "acct", Secret: "s"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		locks = append(locks, s.WriteLocks(5*time.Second))
	}
	a, err := locks[0].Lock(ctx, "1000001")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Unlock()
	keys, err := raw.Keys(ctx, "*:lock:write:1000001").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("lock keys %v %v", keys, err)
	}
	if err := raw.Del(ctx, keys[0]).Err(); err != nil {
		t.Fatal(err)
	}
	b, err := locks[1].Lock(ctx, "1000001")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Unlock()
	if err := a.Check(ctx); !errors.Is(err, writelock.ErrLockLost) {
		t.Fatalf("A's Check = %v, want ErrLockLost", err)
	}
	if !errors.Is(context.Cause(a.Context()), writelock.ErrLockLost) {
		t.Fatal("A's lease context still open after its Check found it lost")
	}
	if err := b.Check(ctx); err != nil {
		t.Fatalf("B's Check = %v", err)
	}
}
