package governor

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/alicebob/miniredis/v2"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/redisstore"
)

// counts records what a Governor tells its Metrics.
type counts struct {
	mu sync.Mutex
	tally
}

type tally struct {
	admitted   [numClasses]int
	delayed    [numClasses]int
	wouldDelay [numClasses]int
	refused    [numClasses]int
	learned    float64
	tooMany    int
}

func (m *counts) Admitted(c Class, _ time.Duration) { m.mu.Lock(); m.admitted[c]++; m.mu.Unlock() }
func (m *counts) Delayed(c Class, shadow bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if shadow {
		m.wouldDelay[c]++
	} else {
		m.delayed[c]++
	}
}
func (m *counts) Refused(c Class)         { m.mu.Lock(); m.refused[c]++; m.mu.Unlock() }
func (m *counts) Rate(_, learned float64) { m.mu.Lock(); m.learned = learned; m.mu.Unlock() }
func (m *counts) TooManyRequests()        { m.mu.Lock(); m.tooMany++; m.mu.Unlock() }
func (m *counts) snapshot() tally {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tally
}
func (m *counts) learnedRate() float64     { return m.snapshot().learned }
func (m *counts) admittedOf(c Class) int   { return m.snapshot().admitted[c] }
func (m *counts) wouldDelayOf(c Class) int { return m.snapshot().wouldDelay[c] }

func newGovernor(t *testing.T, cfg Config) (*Governor, *counts, *bytes.Buffer) {
	t.Helper()
	m := &counts{}
	var logs bytes.Buffer
	cfg.Metrics = m
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g, m, &logs
}

// soon is a context whose deadline leaves no time to wait: Wait admits at
// once or refuses.
func soon(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fill admits class until the governor refuses it and returns how many
// were admitted and the refusal.
func fill(t *testing.T, g *Governor, class Class) (int, error) {
	t.Helper()
	for n := 0; n < 10_000; n++ {
		if err := g.Wait(soon(t), class); err != nil {
			return n, err
		}
	}
	t.Fatal("never refused")
	return 0, nil
}

func TestClassTravelsInTheContext(t *testing.T) {
	ctx := t.Context()
	for _, tt := range []struct {
		name string
		ctx  context.Context
		want Class
	}{
		{"untagged", ctx, Background},
		{"interactive", WithClass(ctx, Interactive), Interactive},
		{"write", WithClass(ctx, Write), Write},
		{"bulk", WithClass(ctx, Bulk), Bulk},
		{"through WithoutCancel", context.WithoutCancel(WithClass(ctx, Interactive)), Interactive},
		{"retagged", WithClass(WithClass(ctx, Interactive), Bulk), Bulk},
		{"unknown class", WithClass(ctx, Class(42)), Background},
	} {
		if got := ClassOf(tt.ctx); got != tt.want {
			t.Errorf("%s: ClassOf = %v, want %v", tt.name, got, tt.want)
		}
	}
	names := []string{"background", "bulk", "write", "interactive"}
	for i, c := range Classes() {
		if c.String() != names[i] {
			t.Errorf("class %d is %q, want %q", i, c, names[i])
		}
	}
}

func TestConfigRefusesNonsense(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
	}{
		{"negative limit", Config{PerMinute: -1}},
		{"no call per window", Config{PerMinute: 10, Window: time.Second}},
		{"reserves fill the window", Config{Shares: Shares{Interactive: 0.5, Write: 0.5, Background: 0.1}}},
		{"negative reserve", Config{Shares: Shares{Interactive: -0.1, Write: 0.2, Background: 0.1}}},
		{"no background", Config{Shares: Shares{Interactive: 0.2, Write: 0.2}}},
		{"decrease of 1", Config{Decrease: 1}},
		{"increase over 1", Config{Increase: 2}},
		{"floor over 1", Config{Floor: 1.5}},
		{"no replica", Config{FallbackReplicas: -1}},
		{"unknown mode", Config{Mode: 7}},
	} {
		if _, err := New(tt.cfg); err == nil {
			t.Errorf("%s: New accepted %+v", tt.name, tt.cfg)
		}
	}
	g, err := New(Config{})
	if err != nil || g.ceiling != 200 || g.window != time.Minute || g.shared != nil {
		t.Fatalf("zero Config: %v, ceiling %d, window %v", err, g.ceiling, g.window)
	}
	if g.levels != [numClasses]float64{Background: 0.1, Bulk: 0.6, Write: 0.8, Interactive: 1} {
		t.Errorf("default levels %v", g.levels)
	}
}

// The window is exact: N calls in any window, and call N+1 waits until the
// oldest leaves it (after the window and its guard, 1/50 of it), to the
// nanosecond of the fake clock.
func TestExactWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _, _ := newGovernor(t, Config{PerMinute: 10})
		start := time.Now()
		var admittedAt []time.Duration
		wait := func() {
			if err := g.Wait(t.Context(), Interactive); err != nil {
				t.Fatal(err)
			}
			admittedAt = append(admittedAt, time.Since(start))
		}
		for range 10 {
			wait()
			time.Sleep(time.Second)
		}
		for range 3 { // at 10s: three more wait for the first three to leave
			wait()
		}
		want := []time.Duration{0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 61200, 62200, 63200}
		for i := range want {
			if admittedAt[i] != want[i]*time.Millisecond {
				t.Errorf("call %d admitted at %v, want %v", i+1, admittedAt[i], want[i]*time.Millisecond)
			}
		}
		// Never more than 10 in any window of a minute.
		for i := range admittedAt {
			n := 0
			for _, a := range admittedAt {
				if a > admittedAt[i]-time.Minute && a <= admittedAt[i] {
					n++
				}
			}
			if n > 10 {
				t.Errorf("%d calls in the minute up to %v", n, admittedAt[i])
			}
		}
	})
}

// A saturating bulk load leaves the reserved room to writes and
// interactive reads; background calls get only the quiet part.
func TestShares(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, m, _ := newGovernor(t, Config{PerMinute: 100})
		steps := []struct {
			class Class
			want  int // admitted before the first refusal
		}{
			{Background, 10}, // background alone fills 10%
			{Bulk, 50},       // bulk up to 60%
			{Background, 0},  // nothing left for background
			{Write, 20},      // writes up to 80%
			{Bulk, 0},
			{Interactive, 20}, // interactive the rest
			{Write, 0},
			{Interactive, 0},
		}
		for _, s := range steps {
			n, err := fill(t, g, s.class)
			if n != s.want {
				t.Errorf("%v admitted %d, want %d", s.class, n, s.want)
			}
			if status.Code(err) != codes.ResourceExhausted {
				t.Errorf("%v refused with %v", s.class, err)
			}
		}
		c := m.snapshot()
		if c.refused[Interactive] != 2 || c.refused[Bulk] != 2 || c.admitted[Interactive] != 20 {
			t.Errorf("metrics %+v", c)
		}
	})
}

// The refusal is RESOURCE_EXHAUSTED UPSTREAM_RATE_LIMITED, with a
// RetryInfo that says when the class's next slot frees up.
func TestRefusal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _, _ := newGovernor(t, Config{PerMinute: 10})
		for range 6 { // bulk's 60%
			if err := g.Wait(t.Context(), Bulk); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
		}
		// At 6s: bulk waits for the first call to leave, at 61.2s.
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Second)
		defer cancel()
		err := g.Wait(ctx, Bulk)
		st := status.Convert(err)
		var info *errdetails.ErrorInfo
		var retry *errdetails.RetryInfo
		for _, d := range st.Details() {
			switch d := d.(type) {
			case *errdetails.ErrorInfo:
				info = d
			case *errdetails.RetryInfo:
				retry = d
			}
		}
		if st.Code() != codes.ResourceExhausted || info == nil || info.Reason != contactsv1.ErrorReason_UPSTREAM_RATE_LIMITED.String() ||
			info.Domain != errmap.Domain || info.Metadata[errmap.MetaSource] != errmap.SourceFacade {
			t.Fatalf("refusal %v, ErrorInfo %v", st, info)
		}
		if retry == nil || retry.RetryDelay.AsDuration() != 55200*time.Millisecond {
			t.Errorf("RetryInfo %v, want 55.2s", retry)
		}
		if got := errmap.Translate(err, errmap.Call{PropertyID: "1"}); got.Code() != codes.ResourceExhausted || got.Message() != st.Message() {
			t.Errorf("errmap.Translate changed the refusal: %v", got)
		}
		// With time enough, it waits instead.
		start := time.Now()
		if err := g.Wait(t.Context(), Bulk); err != nil || time.Since(start) != 55200*time.Millisecond {
			t.Errorf("Wait = %v after %v, want admitted after 55.2s", err, time.Since(start))
		}
		cancelled, cancel2 := context.WithCancel(t.Context())
		cancel2()
		if err := g.Wait(cancelled, Interactive); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled Wait = %v", err)
		}
	})
}

// AIMD on both windows: a 429 lowers the rate to Decrease × the calls of
// the window the upstream did not refuse, when that is lower (the 429s of
// one burst do not compound), never below the floor; the rate climbs by
// Increase per whole window without a 429, never above the ceiling.
func TestAIMDSteps(t *testing.T) {
	for _, impl := range []string{"local", "redis"} {
		t.Run(impl, func(t *testing.T) {
			now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
			p := redisstore.WindowParams{Window: time.Minute, Ceiling: 100, Floor: 10, Decrease: 0.5, Increase: 5}
			var w window
			var mr *miniredis.Miniredis
			if impl == "local" {
				w = newLocalWindow(p, func() time.Time { return now })
			} else {
				mr = miniredis.RunT(t)
				s, err := redisstore.Open(redisstore.Config{URL: "redis://" + mr.Addr(), Account: "a", Secret: "s"})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = s.Close() })
				w = s.Window(p)
			}
			advance := func(d time.Duration) {
				now = now.Add(d)
				if mr != nil {
					mr.SetTime(now)
					mr.FastForward(d)
				}
			}
			advance(0)
			ctx := t.Context()
			rate := func() float64 {
				a, err := w.Admit(ctx, 1, false)
				if err != nil {
					t.Fatal(err)
				}
				return a.Rate
			}
			penalize := func(ra time.Duration) redisstore.WindowAnswer {
				a, err := w.Penalize(ctx, ra)
				if err != nil {
					t.Fatal(err)
				}
				return a
			}
			for range 79 {
				rate()
			}
			// With the first step, 80 calls in the window.
			steps := []struct {
				name      string
				do        func() float64
				want      float64
				decreased bool
			}{
				{"no 429 yet: the ceiling", rate, 100, false},
				{"429 with 80 in the window, 1 refused: half of 79", func() float64 { return penalize(0).Rate }, 39.5, true},
				{"another 429 of the burst: half of 78, no compounding", func() float64 { advance(30 * time.Second); return penalize(0).Rate }, 39, true},
				{"59s later: still 39", func() float64 { advance(59 * time.Second); return rate() }, 39, false},
				{"a window without 429: +5", func() float64 { advance(time.Second); return rate() }, 44, false},
				{"three more: +15", func() float64 { advance(3 * time.Minute); return rate() }, 59, false},
				{"much later: the ceiling, never above", func() float64 { advance(time.Hour); return rate() }, 100, false},
				{"429 with 1 call in the window: the floor", func() float64 { return penalize(0).Rate }, 10, true},
				{"and again a window later: still the floor", func() float64 { advance(time.Minute); return penalize(0).Rate }, 10, true},
			}
			for _, s := range steps {
				if got := s.do(); got != s.want {
					t.Errorf("%s: rate %v, want %v", s.name, got, s.want)
				}
			}
			// A Retry-After admits nothing until it ends, whatever the class.
			advance(time.Hour)
			if a := penalize(30 * time.Second); a.Wait != 30*time.Second {
				t.Errorf("Retry-After left %v, want 30s", a.Wait)
			}
			advance(29 * time.Second)
			if a, _ := w.Admit(ctx, 1, false); a.OK || a.Wait != time.Second {
				t.Errorf("during Retry-After: %+v, want refused for 1s", a)
			}
			advance(time.Second)
			if a, _ := w.Admit(ctx, 1, false); !a.OK {
				t.Errorf("after Retry-After: %+v, want admitted", a)
			}
		})
	}
}

// Observe: a 429 counts and lowers the learned rate; a 503 with
// Retry-After stops admissions; a plain 200 or 503 changes nothing.
func TestObserve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, m, logs := newGovernor(t, Config{PerMinute: 100})
		for range 50 {
			if err := g.Wait(t.Context(), Interactive); err != nil {
				t.Fatal(err)
			}
		}
		g.Observe(200, 0)
		g.Observe(503, 0)
		if m.learnedRate() != 100 || m.snapshot().tooMany != 0 {
			t.Fatalf("a 200 and a 503 changed the rate: %v", m.learnedRate())
		}
		g.Observe(429, 0)
		if l := m.learnedRate(); l < 46.54 || l > 46.56 || m.snapshot().tooMany != 1 || !strings.Contains(logs.String(), "learned_per_minute=46.5") {
			t.Errorf("after a 429 with 50 in the window: learned %v (want 0.95 × 49), 429s %d; log:\n%s", l, m.snapshot().tooMany, logs)
		}
		g.Observe(503, 2*time.Second)
		time.Sleep(2 * time.Minute) // the window empties
		start := time.Now()
		if err := g.Wait(t.Context(), Interactive); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("waited %v after the Retry-After had ended", d)
		}
		g.Observe(503, 2*time.Second)
		start = time.Now()
		if err := g.Wait(t.Context(), Interactive); err != nil || time.Since(start) != 2*time.Second {
			t.Errorf("Wait = %v after %v, want admitted when the Retry-After ends (2s)", err, time.Since(start))
		}
	})
}

// Shadow mode holds nothing back but counts and logs (rate-limited) what
// it would have held back.
func TestShadowMode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, m, logs := newGovernor(t, Config{PerMinute: 10, Mode: Shadow})
		for range 15 {
			if err := g.Wait(soon(t), Bulk); err != nil {
				t.Fatalf("shadow mode refused: %v", err)
			}
		}
		if m.admittedOf(Bulk) != 15 || m.wouldDelayOf(Bulk) != 9 {
			t.Errorf("admitted %d, would delay %d; want 15 and 9 (bulk's level is 6)", m.admittedOf(Bulk), m.wouldDelayOf(Bulk))
		}
		if n := strings.Count(logs.String(), "shadow mode"); n != 1 {
			t.Errorf("%d shadow warnings within a minute, want 1:\n%s", n, logs)
		}
		time.Sleep(2 * time.Minute) // the 15 calls counted leave the window
		g.Wait(t.Context(), Interactive)
		for range 10 {
			g.Wait(t.Context(), Interactive)
		}
		if m.wouldDelayOf(Interactive) != 1 || !strings.Contains(logs.String(), "suppressed=8") {
			t.Errorf("would delay %d interactive; log:\n%s", m.wouldDelayOf(Interactive), logs)
		}
	})
}

// Above 85% of the limit the governor warns, at most once a minute.
func TestNearLimitWarning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _, logs := newGovernor(t, Config{PerMinute: 20})
		for range 17 {
			g.Wait(t.Context(), Interactive)
		}
		if strings.Contains(logs.String(), "85%") {
			t.Fatalf("warned at 17 of 20:\n%s", logs)
		}
		for range 3 {
			g.Wait(t.Context(), Interactive)
		}
		if n := strings.Count(logs.String(), "above 85%"); n != 1 {
			t.Errorf("%d warnings, want 1:\n%s", n, logs)
		}
	})
}

// Without Redis each replica falls back to its share of the limit,
// loudly, and returns to the fleet's window when Redis answers again.
func TestRedisUnavailable(t *testing.T) {
	mr := miniredis.RunT(t)
	s, err := redisstore.Open(redisstore.Config{URL: "redis://" + mr.Addr(), Account: "a", Secret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	g, m, logs := newGovernor(t, Config{PerMinute: 90, Store: s})
	ctx := t.Context()
	if err := g.Wait(ctx, Interactive); err != nil || g.Degraded() {
		t.Fatalf("with Redis: %v, degraded %v", err, g.Degraded())
	}
	mr.SetError("LOADING Redis is loading the dataset in memory")
	n, err := fill(t, g, Interactive)
	if n != 30 || status.Code(err) != codes.ResourceExhausted || !g.Degraded() {
		t.Errorf("without Redis: %d admitted (%v), degraded %v; want 90/3 = 30", n, err, g.Degraded())
	}
	if c := strings.Count(logs.String(), "shared Redis unavailable"); c != 1 || !strings.Contains(logs.String(), "replica_calls_per_window=30") {
		t.Errorf("%d warnings:\n%s", c, logs)
	}
	if strings.Contains(logs.String(), mr.Addr()) {
		t.Errorf("the log names Redis's address:\n%s", logs)
	}
	mr.SetError("")
	if err := g.Wait(ctx, Interactive); err != nil || g.Degraded() || m.admittedOf(Interactive) != 32 {
		t.Errorf("Redis back: %v, degraded %v, admitted %d", err, g.Degraded(), m.admittedOf(Interactive))
	}
	if !strings.Contains(logs.String(), "available again") {
		t.Errorf("no recovery line:\n%s", logs)
	}
}

// Waiters of one class queue: each is admitted as a slot frees, in turn;
// none is refused.
func TestWaitersQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, m, _ := newGovernor(t, Config{PerMinute: 10})
		for range 6 { // bulk's level
			g.Wait(t.Context(), Bulk)
			time.Sleep(time.Second)
		}
		start := time.Now()
		var mu sync.Mutex
		var at []time.Duration
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if err := g.Wait(t.Context(), Bulk); err != nil {
					t.Error(err)
				}
				mu.Lock()
				at = append(at, time.Since(start))
				mu.Unlock()
			})
		}
		wg.Wait()
		// The first six left at 61.2s…66.2s (admitted at 0…5s); it is 6s.
		want := []time.Duration{55200, 56200, 57200, 58200}
		for i := range want {
			if at[i] != want[i]*time.Millisecond {
				t.Errorf("waiter %d admitted after %v, want %v", i, at[i], want[i]*time.Millisecond)
			}
		}
		if c := m.snapshot(); c.delayed[Bulk] != 4 || c.refused[Bulk] != 0 || c.admitted[Bulk] != 10 {
			t.Errorf("metrics %+v", c)
		}
	})
}

// Shadow mode's op on both windows: a call over the level is not admitted
// but counted all the same.
func TestWindowRecordsInShadow(t *testing.T) {
	p := redisstore.WindowParams{Window: time.Minute, Ceiling: 10, Floor: 1, Decrease: 0.95, Increase: 1}
	mr := miniredis.RunT(t)
	s, err := redisstore.Open(redisstore.Config{URL: "redis://" + mr.Addr(), Account: "a", Secret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	now := time.Now()
	for name, w := range map[string]window{"local": newLocalWindow(p, func() time.Time { return now }), "redis": s.Window(p)} {
		var got []int
		for range 4 {
			a, err := w.Admit(t.Context(), 0.2, true) // level 2 of 10
			if err != nil {
				t.Fatal(err)
			}
			if a.OK != (a.Calls <= 2) {
				t.Errorf("%s: %+v", name, a)
			}
			got = append(got, a.Calls)
		}
		if want := []int{1, 2, 3, 4}; !slices.Equal(got, want) {
			t.Errorf("%s: calls %v, want %v", name, got, want)
		}
	}
}

// TestReserve: Reserve admits n calls as n Waits would, and the n Admits
// under its context then pass at once without counting again; the next
// one waits for the window like any call; a Reserve that cannot have its
// calls before its deadline is refused.
func TestReserve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, m, _ := newGovernor(t, Config{PerMinute: 10})
		ctx, err := g.Reserve(WithClass(t.Context(), Bulk), Bulk, 6) // bulk's 6 of the 10
		if err != nil {
			t.Fatal(err)
		}
		at := time.Now()
		for range 6 {
			if err := g.Admit(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if time.Since(at) != 0 || m.admittedOf(Bulk) != 6 {
			t.Errorf("reserved calls waited %v or were counted again (%d admitted, want 6)", time.Since(at), m.admittedOf(Bulk))
		}
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if err := g.Admit(short); status.Code(err) != codes.ResourceExhausted {
			t.Errorf("a seventh call under the reservation: %v, want it refused (the window is full for a minute)", err)
		}
		if _, err := g.Reserve(short, Bulk, 1); status.Code(err) != codes.ResourceExhausted {
			t.Errorf("a Reserve that cannot be admitted in time: %v", err)
		}
		if _, err := g.Reserve(WithClass(t.Context(), Bulk), Bulk, 1); err != nil || time.Since(at) < time.Minute {
			t.Errorf("a Reserve waits for the window: %v after %v", err, time.Since(at))
		}
	})
}
