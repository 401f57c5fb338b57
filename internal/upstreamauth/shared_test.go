package upstreamauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// memShared is a Shared in memory, as a fleet-wide store would behave.
type memShared struct {
	mu       sync.Mutex
	tok      *SharedToken
	locked   bool
	tryLocks int
	stores   int
}

func (m *memShared) Load(context.Context) (SharedToken, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tok == nil {
		return SharedToken{}, false, nil
	}
	return *m.tok, true, nil
}

func (m *memShared) Store(_ context.Context, t SharedToken) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tok = &t
	m.stores++
	return nil
}

func (m *memShared) TryLock(context.Context, time.Duration) (func(), bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tryLocks++
	if m.locked {
		return nil, false, nil
	}
	m.locked = true
	return func() { m.mu.Lock(); m.locked = false; m.mu.Unlock() }, true, nil
}

// TestSharedReplicas: two sources on one Shared store and one Budget make
// one exchange between them; a rejected token is not loaded back.
func TestSharedReplicas(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, nil)
	store := &memShared{}
	budget := NewLocalBudget(DefaultMaxExchangesPerHour, clock.Now)
	var outcomesB []string
	a, _ := newSource(t, f, func(c *TokenConfig) { c.Shared, c.Budget = store, budget })
	b, logsB := newSource(t, f, func(c *TokenConfig) {
		c.Shared, c.Budget = store, budget
		c.OnExchange = func(o string) { outcomesB = append(outcomesB, o) }
	})

	tokA, _ := mustAuthorize(t, a)
	tokB, reqB := mustAuthorize(t, b)
	if tokA != tokB || f.count() != 1 || store.stores != 1 {
		t.Fatalf("same token %v, exchanges %d, stores %d (want true, 1, 1)", tokA == tokB, f.count(), store.stores)
	}
	if len(outcomesB) != 0 || !strings.Contains(logsB.String(), "loaded from the shared store") {
		t.Fatalf("B: outcomes %v, log %s", outcomesB, logsB.String())
	}
	if left, _ := budget.Left(t.Context()); left != DefaultMaxExchangesPerHour-1 {
		t.Fatalf("budget left %d, want %d", left, DefaultMaxExchangesPerHour-1)
	}
	// Ten minutes on, B's calls are refused: B renews; the stored token is
	// the refused one and is not taken back.
	clock.Advance(10 * time.Minute)
	if !b.Rejected(reqB) {
		t.Fatal("Rejected = false")
	}
	tokB2, _ := mustAuthorize(t, b)
	if tokB2 == tokA || f.count() != 2 || store.stores != 2 {
		t.Fatalf("B renewed: new token %v, exchanges %d, stores %d (want true, 2, 2)", tokB2 != tokA, f.count(), store.stores)
	}
	// At A's renewal point B's newer token is not due yet: A takes it.
	clock.Advance(45 * time.Minute)
	if tok, _ := mustAuthorize(t, a); tok != tokB2 || f.count() != 2 {
		t.Fatalf("A renewed: B's token %v, exchanges %d (want true, 2)", tok == tokB2, f.count())
	}
}

// lockedShared is a Shared whose lock another replica holds: each TryLock
// is refused and reported on tried, so a test can store the peer's token
// while the source waits.
type lockedShared struct {
	memShared
	tried chan int
}

func (l *lockedShared) TryLock(ctx context.Context, ttl time.Duration) (func(), bool, error) {
	unlock, ok, err := l.memShared.TryLock(ctx, ttl)
	l.mu.Lock()
	n := l.tryLocks
	l.mu.Unlock()
	select {
	case l.tried <- n:
	default:
	}
	return unlock, ok, err
}

// TestSharedLockHeld: while another replica holds the lock, nothing is
// sent and no budget spent: the caller waits for the token the holder
// stores and gets it.
func TestSharedLockHeld(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, nil)
	store := &lockedShared{memShared: memShared{locked: true}, tried: make(chan int, 1)}
	var outcomes []string
	ts, _ := newSource(t, f, func(c *TokenConfig) {
		c.Shared = store
		c.OnExchange = func(o string) { outcomes = append(outcomes, o) }
	})
	ts.peerPoll = time.Millisecond
	got := make(chan string, 1)
	go func() {
		tok, _, err := authorize(t.Context(), t, ts)
		if err != nil {
			t.Error(err)
		}
		got <- tok
	}()
	// The source asks for the lock more than once while it waits.
	for n := range store.tried {
		if n >= 2 {
			break
		}
	}
	peerTok := makeJWT(map[string]any{"exp": clock.Now().Add(time.Hour).Unix()})
	_ = store.Store(t.Context(), SharedToken{JWT: peerTok, RUID: "peer", Obtained: clock.Now()})
	if tok := <-got; tok != peerTok {
		t.Fatal("did not use the peer's token")
	}
	if f.count() != 0 || len(outcomes) != 0 || ts.Snapshot().BudgetLeft != DefaultMaxExchangesPerHour {
		t.Fatalf("exchanges %d, outcomes %v, budget left %d: want nothing spent", f.count(), outcomes, ts.Snapshot().BudgetLeft)
	}
}

// TestSharedLockHeldTooLong: a peer that holds the lock past the flight's
// deadline without storing a token fails the callers with
// ErrPeerExchanging; nothing is sent.
func TestSharedLockHeldTooLong(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, nil)
	store := &memShared{locked: true}
	ts, _ := newSource(t, f, func(c *TokenConfig) {
		c.Shared = store
		c.ExchangeTimeout = 20 * time.Millisecond
	})
	ts.peerPoll = time.Millisecond
	_, _, err := authorize(t.Context(), t, ts)
	if e := asError(t, err); e.Kind != KindUnavailable || !errors.Is(err, errPeerExchanging) {
		t.Fatalf("got %v, want unavailable with ErrPeerExchanging", err)
	}
	if f.count() != 0 {
		t.Fatalf("%d exchanges while a peer held the lock", f.count())
	}
}

// TestSharedLoadAfterLock: the replica that takes the lock after another
// released it uses the token that one stored instead of exchanging again.
func TestSharedLoadAfterLock(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, nil)
	peerTok := makeJWT(map[string]any{"exp": clock.Now().Add(time.Hour).Unix()})
	store := &storeOnLock{tok: SharedToken{JWT: peerTok, Obtained: clock.Now()}}
	ts, _ := newSource(t, f, func(c *TokenConfig) { c.Shared = store })
	if tok, _ := mustAuthorize(t, ts); tok != peerTok || f.count() != 0 {
		t.Fatalf("token from the store %v, exchanges %d (want true, 0)", tok == peerTok, f.count())
	}
}

// storeOnLock has no token until TryLock, as when the previous holder
// stored one between this replica's Load and its TryLock.
type storeOnLock struct {
	memShared
	tok SharedToken
}

func (s *storeOnLock) TryLock(ctx context.Context, ttl time.Duration) (func(), bool, error) {
	_ = s.Store(ctx, s.tok)
	return s.memShared.TryLock(ctx, ttl)
}

// TestSharedTokenRedaction: a SharedToken prints without its JWT.
func TestSharedTokenRedaction(t *testing.T) {
	st := SharedToken{JWT: makeJWT(map[string]any{"exp": 1}), RUID: "R1", Obtained: newFakeClock().Now()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		if out := fmt.Sprintf(verb, st); strings.Contains(out, st.JWT) || strings.Contains(out, strings.Split(st.JWT, ".")[1]) {
			t.Fatalf("%s leaks the JWT: %s", verb, out)
		}
	}
}
