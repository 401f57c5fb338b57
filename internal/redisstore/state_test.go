package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestLostStateRefusesForOneLease is issue 27 item 3 (b) with miniredis
// and an injected clock: a loss seen by a lock attempt refuses this
// replica's locks for one lease TTL, then they work again.
func TestLostStateRefusesForOneLease(t *testing.T) {
	const ttl = 10 * time.Second
	for _, tc := range []struct {
		name string
		lose func(s *Store, mr interface{ FlushAll() })
	}{
		{"flushed", func(_ *Store, mr interface{ FlushAll() }) { mr.FlushAll() }},
		{"fence counter reset", func(s *Store, _ interface{ FlushAll() }) {
			// Only the counter goes (eviction): the next fence is 1.
			if err := s.rdb.Del(context.Background(), s.key("lock", "p1")+":fence").Err(); err != nil {
				panic(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, mr := newMini(t)
			now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
			s.state.now = func() time.Time { return now }
			mr.SetTime(now)
			ctx := context.Background()
			for range 3 {
				l, err := s.lock(ctx, "p1", ttl, true)
				if err != nil {
					t.Fatal(err)
				}
				_ = l.Unlock(ctx)
			}
			tc.lose(s, mr)
			if _, err := s.lock(ctx, "p1", ttl, true); !errors.Is(err, ErrStateLost) {
				t.Fatalf("Lock after the loss = %v, want ErrStateLost", err)
			}
			if ok := mr.Exists(s.key("lock", "p1")); ok {
				t.Fatal("the refused attempt left the lock taken")
			}
			now = now.Add(ttl - time.Millisecond)
			mr.SetTime(now)
			if _, err := s.lock(ctx, "p2", ttl, true); !errors.Is(err, ErrStateLost) {
				t.Fatalf("Lock just before one lease = %v, want ErrStateLost", err)
			}
			now = now.Add(time.Millisecond)
			mr.SetTime(now)
			l, err := s.lock(ctx, "p1", ttl, true)
			if err != nil {
				t.Fatalf("Lock one lease after the loss = %v", err)
			}
			_ = l.Unlock(ctx)
		})
	}
}

// TestFreshReplicaWaitsOutAnotherReplicasLossWindow: a replica with no
// past (started after the loss) still waits while the epoch marker says a
// loss was seen less than one lease ago.
func TestFreshReplicaWaitsOutAnotherReplicasLossWindow(t *testing.T) {
	s, mr := newMini(t)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s.state.now = clock
	mr.SetTime(now)
	ctx := context.Background()
	l, err := s.lock(ctx, "p1", 10*time.Second, true)
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Unlock(ctx)
	mr.FlushAll()
	if _, err := s.lock(ctx, "p1", 10*time.Second, true); !errors.Is(err, ErrStateLost) {
		t.Fatalf("Lock after the flush = %v", err)
	}
	fresh, err := New(s.rdb, "acct-1", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	fresh.state.now = clock
	if _, err := fresh.lock(ctx, "p1", 10*time.Second, true); !errors.Is(err, ErrStateLost) {
		t.Fatalf("fresh replica's Lock within the window = %v, want ErrStateLost", err)
	}
	now = now.Add(10 * time.Second)
	mr.SetTime(now)
	l, err = fresh.lock(ctx, "p1", 10*time.Second, true)
	if err != nil {
		t.Fatalf("fresh replica's Lock after the window = %v", err)
	}
	_ = l.Unlock(ctx)
}

func TestServerRun(t *testing.T) {
	for _, tc := range []struct {
		info string
		id   string
		up   time.Duration
	}{
		{"# Server\r\nredis_version:7.0.15\r\nrun_id:abc123\r\nuptime_in_seconds:42\r\n", "abc123", 42 * time.Second},
		{"# Clients\r\nconnected_clients:1\r\n", "", 0},
		{"run_id:x\r\nuptime_in_seconds:-3\r\n", "x", 0},
	} {
		if id, up := serverRun(tc.info); id != tc.id || up != tc.up {
			t.Errorf("serverRun(%q) = %q, %v; want %q, %v", tc.info, id, up, tc.id, tc.up)
		}
	}
}

// TestUnguardedLocksIgnoreTheLoss: the token exchange's lock (Store.Lock,
// TryLock) only saves work, and is not refused after a loss.
func TestUnguardedLocksIgnoreTheLoss(t *testing.T) {
	s, mr := newMini(t)
	ctx := context.Background()
	l, err := s.lock(ctx, "w", time.Minute, true)
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Unlock(ctx)
	mr.FlushAll()
	if _, err := s.lock(ctx, "w", time.Minute, true); !errors.Is(err, ErrStateLost) {
		t.Fatalf("guarded lock after the flush = %v, want ErrStateLost", err)
	}
	u, ok, err := s.TryLock(ctx, "token-exchange", time.Minute)
	if err != nil || !ok {
		t.Fatalf("TryLock after the flush: ok=%v err=%v", ok, err)
	}
	_ = u.Unlock(ctx)
}
