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

// TestSharedLockHeld: while another replica holds the lock, nothing is
// sent and no budget spent; the caller without a token fails with
// ErrPeerExchanging, and a second later picks up what the peer stored.
func TestSharedLockHeld(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, nil)
	store := &memShared{locked: true}
	var outcomes []string
	ts, _ := newSource(t, f, func(c *TokenConfig) {
		c.Shared = store
		c.OnExchange = func(o string) { outcomes = append(outcomes, o) }
	})
	_, _, err := authorize(t.Context(), t, ts)
	if e := asError(t, err); e.Kind != KindUnavailable || !errors.Is(err, ErrPeerExchanging) {
		t.Fatalf("got %v, want unavailable with ErrPeerExchanging", err)
	}
	clock.Advance(peerWait - time.Millisecond)
	if _, _, err := authorize(t.Context(), t, ts); !errors.Is(err, ErrPeerExchanging) || store.tryLocks != 1 {
		t.Fatalf("within the wait: %v, TryLock calls %d (want ErrPeerExchanging, 1)", err, store.tryLocks)
	}
	peerTok := makeJWT(map[string]any{"exp": clock.Now().Add(time.Hour).Unix()})
	_ = store.Store(t.Context(), SharedToken{JWT: peerTok, RUID: "peer", Obtained: clock.Now()})
	clock.Advance(time.Millisecond)
	if tok, _ := mustAuthorize(t, ts); tok != peerTok {
		t.Fatal("did not use the peer's token")
	}
	if f.count() != 0 || len(outcomes) != 0 || ts.Snapshot().BudgetLeft != DefaultMaxExchangesPerHour {
		t.Fatalf("exchanges %d, outcomes %v, budget left %d: want nothing spent", f.count(), outcomes, ts.Snapshot().BudgetLeft)
	}
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
