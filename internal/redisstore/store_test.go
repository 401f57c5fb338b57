package redisstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newMini returns a Store on a fresh miniredis and the server, so that a
// test can move Redis's clock.
func newMini(t *testing.T) (*Store, *miniredis.Miniredis) {
	t.Helper()
	mr := miniredis.RunT(t)
	s, err := Open(Config{URL: "redis://" + mr.Addr(), Account: "acct-1", Secret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, mr
}

func TestOpenRefusesBadURLsWithoutEchoingThem(t *testing.T) {
	for _, u := range []string{"", "http://h:1", "redis://", "redis://:hunter2@/x", "rediss://user:hunter2@h:1/notadb"} {
		_, err := Open(Config{URL: u, Account: "a", Secret: "s"})
		if err == nil {
			t.Errorf("Open(%q) accepted", u)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q) error echoes the password: %v", u, err)
		}
	}
	if _, err := Open(Config{URL: "redis://localhost:6379", Account: "a"}); err == nil {
		t.Error("Open without a secret accepted")
	}
	s, err := Open(Config{URL: "rediss://user:pw@localhost:6380/2", Account: "a", Secret: "s"})
	if err != nil {
		t.Fatalf("rediss URL refused: %v", err)
	}
	_ = s.Close()
}

func TestKeysNameNoAccountInClear(t *testing.T) {
	s, mr := newMini(t)
	ctx := context.Background()
	if err := s.StoreToken(ctx, Token{JWT: "eyJ.a.b", Expires: time.Now().Add(time.Hour)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, k := range mr.Keys() {
		if strings.Contains(k, "acct-1") {
			t.Errorf("key %q names the account", k)
		}
	}
}

func TestBudgetIsAnExactSlidingLog(t *testing.T) {
	s, mr := newMini(t)
	ctx := context.Background()
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	mr.SetTime(start)
	b := s.Budget(30, time.Hour)
	if b.Limit() != 30 {
		t.Fatalf("Limit = %d", b.Limit())
	}
	// 30 attempts spread over the first 29 minutes are admitted.
	for i := range 30 {
		mr.SetTime(start.Add(time.Duration(i) * time.Minute))
		ok, _, err := b.Take(ctx, 0)
		if err != nil || !ok {
			t.Fatalf("attempt %d: ok=%v err=%v", i, ok, err)
		}
	}
	// The 31st is refused until the first one leaves the window, exactly
	// an hour after it, not a refill's worth later.
	mr.SetTime(start.Add(40 * time.Minute))
	ok, wait, err := b.Take(ctx, 0)
	if err != nil || ok {
		t.Fatalf("31st: ok=%v err=%v", ok, err)
	}
	if wait != 20*time.Minute {
		t.Errorf("retry after %v, want 20m", wait)
	}
	if left, _ := b.Left(ctx); left != 0 {
		t.Errorf("Left = %d, want 0", left)
	}
	mr.SetTime(start.Add(time.Hour + time.Millisecond))
	if ok, _, _ := b.Take(ctx, 0); !ok {
		t.Error("refused after the oldest left the window")
	}
	if ok, _, _ := b.Take(ctx, 0); ok {
		t.Error("admitted a second one when only one had left the window")
	}
}

func TestBudgetReserve(t *testing.T) {
	s, mr := newMini(t)
	ctx := context.Background()
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	mr.SetTime(start)
	b := s.Budget(5, time.Hour)
	for i := range 3 {
		mr.SetTime(start.Add(time.Duration(i) * time.Minute))
		if ok, _, _ := b.Take(ctx, 2); !ok {
			t.Fatalf("take %d with reserve 2 refused", i)
		}
	}
	// Two are left, both held in reserve: refused with reserve 2, and told
	// when the first entry leaves the window.
	ok, wait, _ := b.Take(ctx, 2)
	if ok || wait != 58*time.Minute {
		t.Fatalf("reserved take: ok=%v wait=%v, want refused, 58m", ok, wait)
	}
	// Ordinary renewals (reserve 0) may spend the reserve.
	for i := range 2 {
		if ok, _, _ := b.Take(ctx, 0); !ok {
			t.Fatalf("renewal %d from the reserve refused", i)
		}
	}
	if ok, _, _ := b.Take(ctx, 0); ok {
		t.Fatal("admitted past the limit")
	}
}

func TestBudgetConcurrentTakersNeverExceedLimit(t *testing.T) {
	s, _ := newMini(t)
	ctx := context.Background()
	b := s.Budget(30, time.Hour)
	var mu sync.Mutex
	admitted := 0
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			if ok, _, err := b.Take(ctx, 0); err == nil && ok {
				mu.Lock()
				admitted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if admitted != 30 {
		t.Fatalf("admitted %d of 200, want exactly 30", admitted)
	}
}

func TestBudgetErrorWhenRedisIsDown(t *testing.T) {
	s, mr := newMini(t)
	mr.Close()
	if _, _, err := s.Budget(30, time.Hour).Take(context.Background(), 0); err == nil {
		t.Fatal("no error with Redis down")
	}
}

func TestTokenIsSealed(t *testing.T) {
	s, mr := newMini(t)
	ctx := context.Background()
	now := time.Now()
	tok := Token{JWT: "eyJhbGciOi.payload.sig", RUID: "r1", Obtained: now, Expires: now.Add(time.Hour)}
	if err := s.StoreToken(ctx, tok, now); err != nil {
		t.Fatal(err)
	}
	for _, k := range mr.Keys() {
		v, _ := mr.Get(k)
		if strings.Contains(v, "eyJ") || strings.Contains(v, "payload") {
			t.Fatalf("key %s holds the JWT in clear", k)
		}
		if ttl := mr.TTL(k); ttl <= 0 || ttl > time.Hour {
			t.Errorf("key %s ttl %v, want the token's remaining life", k, ttl)
		}
	}
	got, ok, err := s.LoadToken(ctx)
	if err != nil || !ok || got.JWT != tok.JWT || got.RUID != "r1" || !got.Expires.Equal(tok.Expires) {
		t.Fatalf("LoadToken = %+v, %v, %v", got, ok, err)
	}
	// Another secret (or a tampered value) reads as no token.
	other, _ := New(redis.NewClient(&redis.Options{Addr: mr.Addr()}), "acct-1", "another secret")
	defer other.Close()
	if _, ok, err := other.LoadToken(ctx); ok || err != nil {
		t.Fatalf("token opened under another secret: ok=%v err=%v", ok, err)
	}
	// A sealed value moved to another key does not open there.
	sealed := s.seal.seal("a", []byte("x"))
	if _, err := s.seal.open("b", sealed); err == nil {
		t.Fatal("sealed value opened under another name")
	}
	if err := s.StoreToken(ctx, Token{JWT: "x", Expires: now.Add(-time.Second)}, now); err == nil {
		t.Fatal("stored an expired token")
	}
}

func TestDropTokenOnlyDropsTheRejectedOne(t *testing.T) {
	s, _ := newMini(t)
	ctx := context.Background()
	now := time.Now()
	_ = s.StoreToken(ctx, Token{JWT: "new", Expires: now.Add(time.Hour)}, now)
	if err := s.DropToken(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	if tok, ok, _ := s.LoadToken(ctx); !ok || tok.JWT != "new" {
		t.Fatal("a replica rejected with an old token dropped the new one")
	}
	_ = s.DropToken(ctx, "new")
	if _, ok, _ := s.LoadToken(ctx); ok {
		t.Fatal("the rejected current token was not dropped")
	}
}

func TestLockExclusiveWithGrowingFence(t *testing.T) {
	s, _ := newMini(t)
	ctx := context.Background()
	a, err := s.Lock(ctx, "p1", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// A second taker waits until the first releases.
	got := make(chan *Lease)
	go func() {
		l, err := s.Lock(ctx, "p1", time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- l
	}()
	select {
	case <-got:
		t.Fatal("second holder while the first still holds")
	case <-time.After(50 * time.Millisecond):
		// Not a synchronisation sleep: a bounded check that the waiter
		// does not get the lock early.
	}
	if err := a.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	b := <-got
	if b.Fence() <= a.Fence() {
		t.Errorf("fence %d after %d, want growing", b.Fence(), a.Fence())
	}
	if a.Context().Err() == nil {
		t.Error("released lease's context still open")
	}
	_ = b.Unlock(ctx)
	_ = b.Unlock(ctx) // twice is fine
	// Other names are independent.
	c, err := s.Lock(ctx, "p2", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Unlock(ctx)
}

func TestLockWaitIsBounded(t *testing.T) {
	s, _ := newMini(t)
	a, err := s.Lock(context.Background(), "p1", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Unlock(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err = s.Lock(ctx, "p1", time.Second)
	if !errors.Is(err, ErrLockBusy) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrLockBusy and context.DeadlineExceeded", err)
	}
}

func TestExpiredHolderCannotReleaseOrRenewSuccessorsLock(t *testing.T) {
	s, mr := newMini(t)
	ctx := context.Background()
	a, err := s.Lock(ctx, "p1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	mr.FastForward(2 * time.Minute) // a's lease expires in Redis
	b, err := s.Lock(ctx, "p1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if held, err := a.renew(ctx); err != nil || held {
		t.Fatalf("expired holder renewed: held=%v err=%v", held, err)
	}
	_ = a.Unlock(ctx)
	if v, _ := mr.Get(b.key); v != b.token {
		t.Fatal("expired holder released its successor's lock")
	}
	if held, _ := b.renew(ctx); !held {
		t.Fatal("current holder could not renew")
	}
	_ = b.Unlock(ctx)
}

func TestInvalidationsReachSubscribers(t *testing.T) {
	s, _ := newMini(t)
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 8)
	ready, err := s.Invalidations(ctx, func(id string) { got <- id })
	if err != nil {
		t.Fatal(err)
	}
	<-ready
	if err := s.PublishInvalidation(ctx, "1000001"); err != nil {
		t.Fatal(err)
	}
	for id := range got {
		if id == "1000001" {
			break
		}
	}
	cancel()
}
