//go:build e2e

package governor_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/governor"
	"github.com/contacts-facade/contacts-facade/internal/redisstore"
	"github.com/contacts-facade/contacts-facade/internal/redisstore/redistest"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// limitedUpstream answers GETs with an empty contact list while fewer than
// limit calls were accepted in the sliding window, and 429 with
// Retry-After beyond, like an upstream that limits per account. It
// records when each call arrived and what it answered.
type limitedUpstream struct {
	limit      int
	window     time.Duration
	retryAfter string

	mu       sync.Mutex
	accepted []time.Time
	calls    []call
}

type call struct {
	at     time.Time
	status int
}

func (u *limitedUpstream) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	now := time.Now()
	u.mu.Lock()
	i := sort.Search(len(u.accepted), func(i int) bool { return u.accepted[i].After(now.Add(-u.window)) })
	u.accepted = u.accepted[i:]
	status := http.StatusOK
	if len(u.accepted) >= u.limit {
		status = http.StatusTooManyRequests
	} else {
		u.accepted = append(u.accepted, now)
	}
	u.calls = append(u.calls, call{now, status})
	u.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if status != http.StatusOK {
		if u.retryAfter != "" {
			w.Header().Set("Retry-After", u.retryAfter)
		}
		w.WriteHeader(status)
		w.Write([]byte(`{"meta":{"ruid":"r"},"errors":[{"code":"429","message":"Too many requests"}],"warnings":[],"data":{}}`))
		return
	}
	w.Write([]byte(`{"meta":{"ruid":"r"},"data":{"contacts":[]},"errors":[],"warnings":[]}`))
}

// TestFleetOnRealRedis: three replicas share one redis-server and call an
// upstream that accepts X calls per window while the governor is
// configured for 1.5 X. After the first 429s the fleet learns the limit:
// its accepted calls per window stay within 5% of X and at most 1% of its
// calls get a 429. With the default Increase the rate does not climb back
// to the limit within the test; fleet_e2e_test.go (-tags e2e) runs longer
// with a faster climb, so that the fleet probes the limit again and again.
func TestFleetOnRealRedis(t *testing.T) {
	fleet(t, 0, 8)
}

// fleet runs the test with Increase increase (0: the default) for windows
// windows.
func fleet(t *testing.T, increase float64, windows int) {
	const (
		replicas = 3
		workers  = 8 // per replica
		x        = 60
		win      = 2 * time.Second // its guard, 40ms, covers this machine's send latency
	)
	srv := redistest.Start(t)
	up := &limitedUpstream{limit: x, window: win}
	hs := httptest.NewServer(up)
	t.Cleanup(hs.Close)

	ctx, stop := context.WithTimeout(t.Context(), time.Duration(windows)*win)
	defer stop()
	var wg sync.WaitGroup
	rates := make([]*learned, replicas)
	for r := range replicas {
		rates[r] = &learned{}
		s, err := redisstore.Open(redisstore.Config{URL: srv.URL(), Account: "fleet", Secret: "s"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		g, err := governor.New(governor.Config{PerMinute: x * 3 / 2 * int(time.Minute/win), Window: win, Store: s, Metrics: rates[r], Increase: increase})
		if err != nil {
			t.Fatal(err)
		}
		c, err := upstream.New(upstream.Config{BaseURL: hs.URL, HTTPClient: hs.Client(), Governor: g, Retry: upstream.RetryPolicy{MaxAttempts: 1}})
		if err != nil {
			t.Fatal(err)
		}
		for w := range workers {
			wg.Go(func() {
				cctx := governor.WithClass(ctx, governor.Interactive)
				for i := 0; cctx.Err() == nil; i++ {
					_, _ = c.List(cctx, fmt.Sprintf("%d%d%d", r, w, i), false)
				}
			})
		}
	}
	wg.Wait()

	up.mu.Lock()
	calls := append([]call(nil), up.calls...)
	up.mu.Unlock()
	if len(calls) == 0 {
		t.Fatal("no call reached the upstream")
	}
	start := calls[0].at
	first429 := time.Time{}
	for _, c := range calls {
		if c.status == http.StatusTooManyRequests {
			first429 = c.at
			break
		}
	}
	if first429.IsZero() {
		t.Fatal("no 429: the governor never reached the upstream's limit")
	}
	// Steady state: the whole windows from one window after the first 429.
	from := first429.Add(win)
	perWindow := map[int]int{}
	late, late429 := 0, 0
	for _, c := range calls {
		if c.at.Before(from) {
			continue
		}
		late++
		if c.status == http.StatusTooManyRequests {
			late429++
			continue
		}
		perWindow[int(c.at.Sub(from)/win)]++
	}
	full := int(start.Add(time.Duration(windows)*win).Sub(from)/win) - 1 // the last window is cut short
	accepted := 0
	for i := range full {
		accepted += perWindow[i]
	}
	rate := float64(accepted) / float64(full)
	for r, l := range rates {
		t.Logf("replica %d: learned %.1f calls per window", r, l.rate*float64(win)/float64(time.Minute))
	}
	t.Logf("%d calls; first 429 after %v; then %d whole windows: %.1f accepted per window (X = %d, %+.1f%%), %d of %d calls got 429 (%.2f%%); per window %v",
		len(calls), first429.Sub(start).Round(time.Millisecond), full, rate, x, 100*(rate-x)/x, late429, late, 100*float64(late429)/float64(late), perWindow)
	if full < 5 {
		t.Fatalf("only %d whole windows after the first 429", full)
	}
	if rate < 0.95*x || rate > 1.05*x {
		t.Errorf("the fleet's accepted rate is %.1f per window, not within 5%% of %d", rate, x)
	}
	if late429*100 > late {
		t.Errorf("%d of %d calls got a 429 after the first ones, over 1%%", late429, late)
	}
}

// learned keeps the last learned rate a replica was told of.
type learned struct {
	mu   sync.Mutex
	rate float64
}

func (m *learned) Admitted(governor.Class, time.Duration) {}
func (m *learned) Delayed(governor.Class, bool)           {}
func (m *learned) Refused(governor.Class)                 {}
func (m *learned) TooManyRequests()                       {}
func (m *learned) Rate(_, l float64)                      { m.mu.Lock(); m.rate = l; m.mu.Unlock() }
