package redisstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/idempotency"
	"github.com/contacts-facade/contacts-facade/internal/redisstore"
	"github.com/contacts-facade/contacts-facade/internal/redisstore/redistest"
)

// TestRealRedis runs the scripts on a real redis-server (Debian's 7.x in
// CI): miniredis's Lua and TIME are close to Redis's, not the same.
func TestRealRedis(t *testing.T) {
	srv := redistest.Start(t)
	open := func(t *testing.T) *redisstore.Store {
		s, err := redisstore.Open(redisstore.Config{URL: srv.URL(), Account: t.Name(), Secret: "s"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	ctx := context.Background()

	t.Run("budget admits exactly the limit across stores", func(t *testing.T) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		admitted := 0
		for range 5 { // five replicas
			s := open(t)
			b := s.Budget(30, time.Hour)
			for range 40 {
				wg.Go(func() {
					if ok, _, err := b.Take(ctx, 0); err == nil && ok {
						mu.Lock()
						admitted++
						mu.Unlock()
					}
				})
			}
		}
		wg.Wait()
		if admitted != 30 {
			t.Fatalf("admitted %d of 200, want 30", admitted)
		}
		ok, wait, err := open(t).Budget(30, time.Hour).Take(ctx, 0)
		if err != nil || ok || wait <= 59*time.Minute || wait > time.Hour {
			t.Fatalf("31st: ok=%v wait=%v err=%v, want refused for about an hour", ok, wait, err)
		}
	})

	t.Run("lock serialises holders with growing fences", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		inside, maxInside := 0, 0
		var fences []int64
		for range 10 {
			wg.Go(func() {
				l, err := s.Lock(ctx, "1000001", 5*time.Second)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				inside++
				maxInside = max(maxInside, inside)
				fences = append(fences, l.Fence())
				inside--
				mu.Unlock()
				_ = l.Unlock(ctx)
			})
		}
		wg.Wait()
		if maxInside != 1 {
			t.Fatalf("%d holders at once", maxInside)
		}
		for i := 1; i < len(fences); i++ {
			if fences[i] <= fences[i-1] {
				t.Fatalf("fences not growing: %v", fences)
			}
		}
	})

	t.Run("token and records", func(t *testing.T) {
		s := open(t)
		now := time.Now()
		if err := s.StoreToken(ctx, redisstore.Token{JWT: "j", Expires: now.Add(time.Hour)}, now); err != nil {
			t.Fatal(err)
		}
		if tok, ok, err := s.LoadToken(ctx); err != nil || !ok || tok.JWT != "j" {
			t.Fatalf("LoadToken: %+v %v %v", tok, ok, err)
		}
		r, err := s.Requests(0, 0).Begin(ctx, "k", []byte{1})
		if err != nil || r.Done || r.Finish == nil {
			t.Fatalf("Begin: %+v %v", r, err)
		}
		r.Finish(idempotency.Outcome{Response: []byte("x")}, true)
		if r, err := s.Requests(0, 0).Begin(ctx, "k", []byte{1}); err != nil || !r.Done || string(r.Outcome.Response) != "x" {
			t.Fatalf("second Begin: %+v %v", r, err)
		}
	})
}
