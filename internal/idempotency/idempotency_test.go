package idempotency_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/idempotency"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newStore(cfg idempotency.MemoryConfig) (*idempotency.Memory, *clock) {
	c := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg.Now = c.Now
	return idempotency.NewMemory(cfg), c
}

// run begins key and, when the store lets it, finishes with answer.
func run(t *testing.T, s idempotency.Store, key, fp, answer string, remember bool) (idempotency.Outcome, bool) {
	t.Helper()
	r, err := s.Begin(context.Background(), key, []byte(fp))
	if err != nil {
		t.Fatal(err)
	}
	if r.Done {
		return r.Outcome, false
	}
	o := idempotency.Outcome{Response: []byte(answer)}
	r.Finish(o, remember)
	return o, true
}

func TestRemembered(t *testing.T) {
	s, c := newStore(idempotency.MemoryConfig{})
	if _, ran := run(t, s, "k", "req", "first", true); !ran {
		t.Fatal("a new key did not run")
	}
	c.Advance(24*time.Hour - time.Second)
	o, ran := run(t, s, "k", "req", "second", true)
	if ran || string(o.Response) != "first" {
		t.Fatalf("retry within 24h: ran=%v outcome %q, want the first outcome", ran, o.Response)
	}
	if _, err := s.Begin(context.Background(), "k", []byte("other")); !errors.Is(err, idempotency.ErrMismatch) {
		t.Errorf("same key, other request: %v, want ErrMismatch", err)
	}
	c.Advance(24 * time.Hour)
	if _, ran := run(t, s, "k", "other", "third", true); !ran {
		t.Error("an expired key did not run again")
	}
}

func TestNotRemembered(t *testing.T) {
	s, _ := newStore(idempotency.MemoryConfig{})
	run(t, s, "k", "req", "failed before writing", false)
	if _, ran := run(t, s, "k", "other", "x", true); !ran {
		t.Error("a forgotten key did not run again")
	}
}

// TestConcurrentDuplicates: of 10 concurrent duplicates one runs, the
// others wait and get its outcome.
func TestConcurrentDuplicates(t *testing.T) {
	s, _ := newStore(idempotency.MemoryConfig{})
	first, err := s.Begin(context.Background(), "k", []byte("req"))
	if err != nil || first.Done {
		t.Fatalf("first Begin: %v %v", first, err)
	}
	var ran atomic.Int32
	outs := make(chan string, 9)
	var wg sync.WaitGroup
	for range 9 {
		wg.Go(func() {
			r, err := s.Begin(context.Background(), "k", []byte("req"))
			if err != nil {
				t.Error(err)
				return
			}
			if !r.Done {
				ran.Add(1)
				r.Finish(idempotency.Outcome{Response: []byte("dup")}, true)
			}
			outs <- string(r.Outcome.Response)
		})
	}
	first.Finish(idempotency.Outcome{Response: []byte("one")}, true)
	wg.Wait()
	close(outs)
	for o := range outs {
		if o != "one" {
			t.Errorf("a duplicate got %q, want the first outcome", o)
		}
	}
	if ran.Load() != 0 {
		t.Errorf("%d duplicates ran the request", ran.Load())
	}
}

func TestWaitEndsWithContext(t *testing.T) {
	s, _ := newStore(idempotency.MemoryConfig{})
	first, _ := s.Begin(context.Background(), "k", []byte("req"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Begin(ctx, "k", []byte("req")); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting with an ended context: %v", err)
	}
	first.Finish(idempotency.Outcome{}, true)
}

func TestBounded(t *testing.T) {
	// MaxBytes counts each entry's whole cost: three of these fit.
	one := idempotency.EntrySize("0", []byte("req"), idempotency.Outcome{Response: []byte("ab")})
	s, _ := newStore(idempotency.MemoryConfig{MaxEntries: 3, MaxBytes: 3 * one})
	for i := range 5 {
		run(t, s, strconv.Itoa(i), "req", "ab", true)
	}
	if n := s.Len(); n != 3 {
		t.Errorf("%d entries, want the bound 3", n)
	}
	if b := s.Bytes(); b != 3*one {
		t.Errorf("Bytes() = %d, want 3 entries of %d", b, one)
	}
	run(t, s, "2", "req", "", true) // used: now the most recent
	run(t, s, "big", "req", "012345", true)
	if _, ran := run(t, s, "2", "req", "again", true); ran {
		t.Error("the most recently used entry was evicted first")
	}
	if _, ran := run(t, s, "3", "req", "again", true); !ran {
		t.Error("the least recently used entry was not evicted by the byte bound")
	}
}

// TestEntrySizeCountsTheOverhead pins what an entry costs beyond its
// outcome: the bound must not count the outcome's bytes alone.
func TestEntrySizeCountsTheOverhead(t *testing.T) {
	for _, tc := range []struct {
		key, fp      string
		resp, status int
		min          int
	}{
		{"", "", 0, 0, 200},
		{"k", "", 0, 0, 200 + 1},
		{"request-00000001", "0123456789abcdef0123456789abcdef", 16, 0, 200 + 16 + 32 + 16},
		{"k", "f", 0, 1000, 200 + 1 + 1 + 1000},
	} {
		got := idempotency.EntrySize(tc.key, []byte(tc.fp), idempotency.Outcome{Response: make([]byte, tc.resp), Status: make([]byte, tc.status)})
		if got < tc.min || got > 2*tc.min+200 {
			t.Errorf("EntrySize(%q, %q, %d+%d) = %d, want between %d and %d", tc.key, tc.fp, tc.resp, tc.status, got, tc.min, 2*tc.min+200)
		}
	}
}
