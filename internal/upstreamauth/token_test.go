package upstreamauth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestColdStartSingleExchange: 100 calls on a cold cache, all waiting
// before the exchange answers, make exactly one exchange and all send its
// token.
func TestColdStartSingleExchange(t *testing.T) {
	clock := newFakeClock()
	gate := make(chan struct{})
	f := newFake(t, clock, func(f *fakeExchange, w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
		f.issue(w, n)
	})
	ts, _ := newSource(t, f, nil)
	const callers = 100
	var waiting atomic.Int32
	ts.onWait = func() {
		if waiting.Add(1) == callers {
			close(gate) // every caller is queued: let the exchange answer
		}
	}

	got := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { got[i], _, errs[i] = authorize(t.Context(), t, ts) })
	}
	wg.Wait()

	if n := f.count(); n != 1 {
		t.Fatalf("exchanges = %d, want 1", n)
	}
	t.Logf("cold start: %d concurrent Authorize, %d exchange(s)", callers, f.count())
	want := f.tokens()[0]
	for i := range callers {
		if errs[i] != nil || got[i] != want {
			t.Fatalf("caller %d: token match %v, err %v", i, got[i] == want, errs[i])
		}
	}
	// Warm cache: no further exchange.
	if tok, _ := mustAuthorize(t, ts); tok != want || f.count() != 1 {
		t.Fatalf("warm call: same token %v, exchanges %d", tok == want, f.count())
	}
}

// TestRenewalBeforeExpiry: past exp-RenewBefore the next call gets a new
// token, while the old one has not expired yet.
func TestRenewalBeforeExpiry(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, nil)
	ts, _ := newSource(t, f, nil)

	tok1, _ := mustAuthorize(t, ts)
	clock.Advance(55*time.Minute - time.Second) // just before exp-5m
	if tok, _ := mustAuthorize(t, ts); tok != tok1 || f.count() != 1 {
		t.Fatalf("before renewal point: same token %v, exchanges %d (want 1)", tok == tok1, f.count())
	}
	clock.Advance(time.Second) // exactly exp-5m
	tok2, _ := mustAuthorize(t, ts)
	if tok2 == tok1 || f.count() != 2 {
		t.Fatalf("at renewal point: new token %v, exchanges %d (want 2)", tok2 != tok1, f.count())
	}
	if exp, _ := jwtExpiry(tok1); !clock.Now().Before(exp) {
		t.Fatalf("renewed at %v, not before the old token's exp %v", clock.Now(), exp)
	}
	clock.Advance(10 * time.Minute)
	if tok, _ := mustAuthorize(t, ts); tok != tok2 || f.count() != 2 {
		t.Fatalf("after renewal: same token %v, exchanges %d (want 2)", tok == tok2, f.count())
	}
}

// TestNoBurstAtRenewalBoundary: 100 calls past the renewal point make one
// exchange; while it runs, the others keep sending the still-valid token.
func TestNoBurstAtRenewalBoundary(t *testing.T) {
	clock := newFakeClock()
	gate := make(chan struct{})
	f := newFake(t, clock, func(f *fakeExchange, w http.ResponseWriter, r *http.Request, n int) {
		if n == 2 {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		f.issue(w, n)
	})
	ts, _ := newSource(t, f, nil)
	tok1, _ := mustAuthorize(t, ts)
	clock.Advance(56 * time.Minute)

	const callers = 100
	results := make(chan string, callers)
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			tok, _, err := authorize(t.Context(), t, ts)
			if err != nil {
				t.Errorf("Authorize: %v", err)
			}
			results <- tok
		})
	}
	old := 0
	for range callers - 1 { // all but the one waiting for the renewal
		if <-results == tok1 {
			old++
		}
	}
	close(gate)
	last := <-results
	wg.Wait()
	if f.count() != 2 {
		t.Fatalf("exchanges = %d, want 2", f.count())
	}
	if old != callers-1 || last != f.tokens()[1] {
		t.Fatalf("%d callers sent the old token (want %d); renewing caller got the new token: %v", old, callers-1, last == f.tokens()[1])
	}
}

// TestRejected: a rejected current token is renewed once; a
// rejection of a stale token while a newer one is cached costs nothing.
func TestRejected(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, nil)
	ts, _ := newSource(t, f, nil)

	tok1, req1 := mustAuthorize(t, ts)
	if !ts.Rejected(req1) {
		t.Fatal("Rejected(cached token) = false, want true")
	}
	tok2, _ := mustAuthorize(t, ts)
	if tok2 == tok1 || f.count() != 2 {
		t.Fatalf("after Rejected: new token %v, exchanges %d (want 2)", tok2 != tok1, f.count())
	}
	if tok, _ := mustAuthorize(t, ts); tok != tok2 || f.count() != 2 {
		t.Fatalf("second call after renewal: same token %v, exchanges %d", tok == tok2, f.count())
	}

	// A late rejection of tok1 (a call that was in flight) while tok2 is
	// cached: the retry will use tok2.
	if !ts.Rejected(req1) {
		t.Fatal("Rejected(stale token) = false, want true")
	}
	if tok, _ := mustAuthorize(t, ts); tok != tok2 || f.count() != 2 {
		t.Fatalf("after stale Rejected: same token %v, exchanges %d (want 2)", tok == tok2, f.count())
	}

	// A request without our bearer (e.g. never authorized) does not drop
	// the cache.
	if !ts.Rejected(newRequest(t)) {
		t.Fatal("Rejected(no bearer) with a cached token = false, want true")
	}
	if tok, _ := mustAuthorize(t, ts); tok != tok2 || f.count() != 2 {
		t.Fatalf("after Rejected(no bearer): same token %v, exchanges %d (want 2)", tok == tok2, f.count())
	}
}

// TestRejectedNothingToGain: Rejected reports false when no new token can
// be had: within the back-off of a failed exchange (with or without a
// cached token), or when closed. A failed renewal of a rejected token
// keeps sending that token rather than failing the call.
func TestRejectedNothingToGain(t *testing.T) {
	t.Run("rejected token, renewal fails", func(t *testing.T) {
		clock := newFakeClock()
		f := newFake(t, clock, nil)
		ts, _ := newSource(t, f, nil)

		tok1, req := mustAuthorize(t, ts)
		f.setResponder(func(f *fakeExchange, w http.ResponseWriter, _ *http.Request, n int) {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{})
		})
		if !ts.Rejected(req) {
			t.Fatal("first Rejected = false, want true (an exchange may help)")
		}
		// The renewal fails: the call still goes out with the current
		// token, which the upstream may accept again.
		if tok, _ := mustAuthorize(t, ts); tok != tok1 || f.count() != 2 {
			t.Fatalf("after a failed renewal: current token %v, exchanges %d (want true, 2)", tok == tok1, f.count())
		}
		if ts.Rejected(req) {
			t.Fatal("Rejected within back-off = true, want false")
		}
		if tok, _ := mustAuthorize(t, ts); tok != tok1 || f.count() != 2 {
			t.Fatalf("within back-off: current token %v, exchanges %d (want true, 2)", tok == tok1, f.count())
		}
		clock.Advance(time.Second)
		if !ts.Rejected(req) {
			t.Fatal("Rejected after back-off = false, want true")
		}
		mustAuthorize(t, ts) // the pending renewal is tried again
		if f.count() != 3 {
			t.Fatalf("exchanges = %d, want 3", f.count())
		}
		_ = ts.Close()
		if ts.Rejected(req) {
			t.Fatal("Rejected after Close = true, want false")
		}
	})
	t.Run("no token", func(t *testing.T) {
		clock := newFakeClock()
		f := newFake(t, clock, func(f *fakeExchange, w http.ResponseWriter, _ *http.Request, n int) {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{})
		})
		ts, _ := newSource(t, f, nil)
		_, req, err := authorize(t.Context(), t, ts)
		if err == nil {
			t.Fatal("Authorize with a failing exchange and no token: want error")
		}
		if ts.Rejected(req) {
			t.Fatal("Rejected within back-off and no token = true, want false")
		}
		clock.Advance(time.Second)
		if !ts.Rejected(req) {
			t.Fatal("Rejected after back-off = false, want true")
		}
	})
}

// stormStep runs callers concurrent Authorize calls and checks that each
// fails with *Error of an allowed kind.
func stormStep(t *testing.T, ts *TokenSource, callers int, kinds map[Kind]int) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range callers {
		wg.Go(func() {
			req := newRequest(t)
			err := ts.Authorize(t.Context(), req)
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("Authorize = %v, want *Error", err)
				return
			}
			if e.Kind != KindCredentialsRejected && e.Kind != KindBudgetExhausted {
				t.Errorf("kind = %v, want credentials_rejected or budget_exhausted", e.Kind)
			}
			if e.Kind == KindCredentialsRejected && (e.HTTPStatus != 401 || !strings.HasPrefix(e.RequestID, "ruid-")) {
				t.Errorf("rejected error: status %d ruid %q", e.HTTPStatus, e.RequestID)
			}
			if req.Header.Get("Authorization") != "" {
				t.Error("failed Authorize set an Authorization header")
			}
			mu.Lock()
			kinds[e.Kind]++
			mu.Unlock()
		})
	}
	wg.Wait()
}

// TestWrongSecretStorm: 1000 concurrent calls per step with a wrong secret,
// the clock moving 30s per step across two hours: every call fails with
// *Error and the exchanges stay within the hourly budget (back-off keeps
// them well below it).
func TestWrongSecretStorm(t *testing.T) {
	for _, tc := range []struct {
		name   string
		budget int
	}{
		{"default budget", 0},
		{"budget 5", 5}, // small enough for the guard itself to bind
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			f := newFake(t, clock, nil)
			ts, _ := newSource(t, f, func(c *TokenConfig) {
				c.ClientSecret = "wrong-secret"
				c.MaxExchangesPerHour = tc.budget
			})
			limit := tc.budget
			if limit == 0 {
				limit = DefaultMaxExchangesPerHour
			}
			const callers, step, steps = 1000, 30 * time.Second, 240
			kinds := map[Kind]int{}
			firstHour := 0
			for i := range steps {
				stormStep(t, ts, callers, kinds)
				if i == 119 {
					firstHour = f.count()
				}
				clock.Advance(step)
			}
			worst := maxInAnyHour(f.callTimes())
			t.Logf("storm (%s): %d calls over 2h, %d exchanges (%d in the first hour, max %d in any sliding hour); kinds %v",
				tc.name, callers*steps, f.count(), firstHour, worst, kinds)
			if worst > limit {
				t.Fatalf("%d exchanges in one sliding hour, budget %d", worst, limit)
			}
			if kinds[KindCredentialsRejected] == 0 {
				t.Fatal("no call saw credentials_rejected")
			}
			if tc.budget != 0 && kinds[KindBudgetExhausted] == 0 {
				t.Fatal("budget 5: no call saw budget_exhausted")
			}
		})
	}
}

// TestBudget: 30 exchanges for expired tokens spend the budget; the next
// Authorize fails fast with KindBudgetExhausted and sends nothing, until
// the oldest attempt leaves the hour.
func TestBudget(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, nil)
	f.setLifetime(time.Minute) // each token has expired by the next cycle
	var outcomes []string
	ts, logs := newSource(t, f, func(c *TokenConfig) {
		c.OnExchange = func(o string) { outcomes = append(outcomes, o) }
	})

	for i := range DefaultMaxExchangesPerHour {
		if i > 0 {
			clock.Advance(time.Minute)
		}
		mustAuthorize(t, ts)
	}
	if f.count() != 30 {
		t.Fatalf("exchanges = %d, want 30", f.count())
	}
	if left := ts.Snapshot().BudgetLeft; left != 0 {
		t.Fatalf("Snapshot().BudgetLeft = %d, want 0", left)
	}
	// Attempts at 0..29 min, now 30 min: the first leaves at 60 min.
	clock.Advance(time.Minute)
	_, _, err := authorize(t.Context(), t, ts)
	e := asError(t, err)
	if e.Kind != KindBudgetExhausted || e.RetryAfter != 30*time.Minute {
		t.Fatalf("got kind %v retry %v, want budget_exhausted after 30m", e.Kind, e.RetryAfter)
	}
	if f.count() != 30 {
		t.Fatalf("budget-exhausted call sent an exchange (%d)", f.count())
	}
	if !strings.Contains(logs.String(), "budget exhausted") {
		t.Error("no budget-exhausted warning logged")
	}
	clock.Advance(30*time.Minute - time.Second)
	_, _, err = authorize(t.Context(), t, ts)
	if e := asError(t, err); e.Kind != KindBudgetExhausted || e.RetryAfter != time.Second {
		t.Fatalf("1s early: kind %v retry %v", e.Kind, e.RetryAfter)
	}
	clock.Advance(time.Second)
	mustAuthorize(t, ts)
	if f.count() != 31 {
		t.Fatalf("after the window freed up: exchanges = %d, want 31", f.count())
	}
	// One refusal was reported, not one per refused call.
	want := append(slices.Repeat([]string{OutcomeOK}, 30), OutcomeBudgetExhausted, OutcomeOK)
	if !slices.Equal(outcomes, want) {
		t.Fatalf("OnExchange outcomes %v, want %v", outcomes, want)
	}
}

// TestExchangeFailures maps each exchange failure to its Kind.
func TestExchangeFailures(t *testing.T) {
	status := func(code int, header map[string]string, body string) responder {
		return func(_ *fakeExchange, w http.ResponseWriter, _ *http.Request, _ int) {
			for k, v := range header {
				w.Header().Set(k, v)
			}
			w.WriteHeader(code)
			_, _ = w.Write([]byte(body))
		}
	}
	clockNow := newFakeClock().Now()
	cases := []struct {
		name     string
		respond  responder
		kind     Kind
		status   int
		ruid     string
		retry    time.Duration
		contains string
	}{
		{"401 with ruid", status(401, nil, `{"ruid":"R-401"}`), KindCredentialsRejected, 401, "R-401", 0, ""},
		{"400 with meta.ruid", status(400, nil, `{"errors":[],"meta":{"ruid":"R-400"}}`), KindCredentialsRejected, 400, "R-400", 0, ""},
		{"403 html", status(403, map[string]string{"Content-Type": "text/html"}, `<html>no</html>`), KindCredentialsRejected, 403, "", 0, ""},
		{"503", status(503, nil, ``), KindUnavailable, 503, "", 0, ""},
		{"503 with retry-after", status(503, map[string]string{"Retry-After": "7"}, `{}`), KindUnavailable, 503, "", 7 * time.Second, ""},
		{"500 with ruid", status(500, nil, `{"ruid":"R-500"}`), KindUnavailable, 500, "R-500", 0, ""},
		{"404 wrong URL", status(404, nil, `not found`), KindUnavailable, 404, "", 0, ""},
		{"429 seconds", status(429, map[string]string{"Retry-After": "120"}, `{}`), KindRateLimited, 429, "", 120 * time.Second, ""},
		{"429 http date", status(429, map[string]string{"Retry-After": clockNow.Add(90 * time.Second).Format(http.TimeFormat)}, ``), KindRateLimited, 429, "", 90 * time.Second, ""},
		{"429 without retry-after", status(429, nil, ``), KindRateLimited, 429, "", 0, ""},
		{"200 not json", status(200, map[string]string{"Content-Type": "text/html"}, `<html>proxy</html>`), KindUnavailable, 200, "", 0, "undecodable"},
		{"200 empty", status(200, nil, ``), KindUnavailable, 200, "", 0, "undecodable"},
		{"200 without jwt", status(200, nil, `{"ruid":"R-200"}`), KindUnavailable, 200, "R-200", 0, "no usable jwt"},
		{"200 jwt with spaces", status(200, nil, `{"jwt":"a b.c"}`), KindUnavailable, 200, "", 0, "no usable jwt"},
		{"200 too large", status(200, nil, `{"jwt":"`+strings.Repeat("a", maxBodyBytes)+`"}`), KindUnavailable, 200, "", 0, "larger than"},
		{"redirect not followed", func(_ *fakeExchange, w http.ResponseWriter, r *http.Request, n int) {
			if n > 1 {
				t.Error("redirect was followed: the secret was posted again")
			}
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		}, KindUnavailable, 307, "", 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			f := newFake(t, clock, tc.respond)
			var outcomes []string
			ts, logs := newSource(t, f, func(c *TokenConfig) {
				c.OnExchange = func(o string) { outcomes = append(outcomes, o) }
			})
			_, req, err := authorize(t.Context(), t, ts)
			e := asError(t, err)
			if e.Kind != tc.kind || e.HTTPStatus != tc.status || e.RequestID != tc.ruid || e.RetryAfter != tc.retry {
				t.Fatalf("got kind %v status %d ruid %q retry %v; want %v %d %q %v",
					e.Kind, e.HTTPStatus, e.RequestID, e.RetryAfter, tc.kind, tc.status, tc.ruid, tc.retry)
			}
			msg := e.Error()
			if tc.contains != "" && !strings.Contains(msg, tc.contains) {
				t.Errorf("error %q does not mention %q", msg, tc.contains)
			}
			if strings.Contains(msg, testSecret) {
				t.Fatal("error message holds the secret")
			}
			if req.Header.Get("Authorization") != "" {
				t.Fatal("failed Authorize set an Authorization header")
			}
			if !strings.Contains(logs.String(), `"kind":"`+tc.kind.String()+`"`) {
				t.Errorf("no Warn with kind %v: %s", tc.kind, logs.String())
			}
			if f.count() != 1 {
				t.Fatalf("exchanges = %d, want 1", f.count())
			}
			if want := []string{outcomeOf(tc.kind, tc.contains)}; !slices.Equal(outcomes, want) {
				t.Fatalf("OnExchange outcomes %v, want %v", outcomes, want)
			}
		})
	}
}

// outcomeOf is the OnExchange outcome the failure cases of
// TestExchangeFailures expect.
func outcomeOf(k Kind, contains string) string {
	switch {
	case contains == "no usable jwt":
		return OutcomeInvalidToken
	case k == KindCredentialsRejected:
		return OutcomeRejected
	case k == KindRateLimited:
		return OutcomeRateLimited
	default:
		return OutcomeUnavailable
	}
}

// TestExchangeUnreachable: refused connection and timeout are unavailable.
func TestExchangeUnreachable(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		clock := newFakeClock()
		f := newFake(t, clock, nil)
		f.srv.Close() // nothing listens on the URL any more
		ts, _ := newSource(t, f, nil)
		_, _, err := authorize(t.Context(), t, ts)
		e := asError(t, err)
		if e.Kind != KindUnavailable || e.HTTPStatus != 0 || e.Err == nil {
			t.Fatalf("got kind %v status %d cause %v, want unavailable with a cause", e.Kind, e.HTTPStatus, e.Err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		clock := newFakeClock()
		f := newFake(t, clock, func(_ *fakeExchange, _ http.ResponseWriter, r *http.Request, _ int) {
			<-r.Context().Done() // hang until the client gives up
		})
		ts, _ := newSource(t, f, func(c *TokenConfig) { c.ExchangeTimeout = 50 * time.Millisecond })
		// The caller's own context has no deadline: the exchange's bound
		// applies regardless.
		_, _, err := authorize(context.Background(), t, ts)
		e := asError(t, err)
		if e.Kind != KindUnavailable || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got kind %v err %v, want unavailable wrapping DeadlineExceeded", e.Kind, err)
		}
	})
}

// TestBackoff: after a failure, calls within the back-off window get the
// same error without an exchange; the window doubles, and a success resets
// it.
func TestBackoff(t *testing.T) {
	clock := newFakeClock()
	var fail atomic.Bool
	fail.Store(true)
	f := newFake(t, clock, func(f *fakeExchange, w http.ResponseWriter, _ *http.Request, n int) {
		if fail.Load() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ruid": "R"})
			return
		}
		f.issue(w, n)
	})
	ts, _ := newSource(t, f, nil)

	expect := func(wantCount int, wantErr bool) error {
		t.Helper()
		_, _, err := authorize(t.Context(), t, ts)
		if (err != nil) != wantErr {
			t.Fatalf("err = %v, want error %v", err, wantErr)
		}
		if f.count() != wantCount {
			t.Fatalf("exchanges = %d, want %d", f.count(), wantCount)
		}
		return err
	}
	first := expect(1, true)
	if again := expect(1, true); again != first {
		t.Fatal("within back-off: not the same error")
	}
	clock.Advance(time.Second) // 1s back-off over
	expect(2, true)
	clock.Advance(time.Second) // 2s back-off: not yet
	expect(2, true)
	clock.Advance(time.Second)
	expect(3, true)
	for range 10 { // back-off doubles to its 5m cap
		clock.Advance(maxBackoff)
		expect(f.count()+1, true)
	}
	clock.Advance(maxBackoff - time.Second)
	expect(f.count(), true) // the cap is 5m, no more
	clock.Advance(time.Second)
	fail.Store(false)
	n := f.count()
	expect(n+1, false)
	// Success reset the back-off: the next failure waits 1s again.
	fail.Store(true)
	clock.Advance(time.Hour) // the token has expired
	expect(n+2, true)
	clock.Advance(time.Second)
	expect(n+3, true)
}

// TestRateLimitedHonoursRetryAfter: a 429's Retry-After holds off further
// exchanges for longer than the back-off.
func TestRateLimitedHonoursRetryAfter(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, func(f *fakeExchange, w http.ResponseWriter, _ *http.Request, n int) {
		if n == 1 {
			w.Header().Set("Retry-After", "120")
			writeJSON(w, http.StatusTooManyRequests, map[string]any{})
			return
		}
		f.issue(w, n)
	})
	ts, _ := newSource(t, f, nil)
	_, _, err := authorize(t.Context(), t, ts)
	if e := asError(t, err); e.Kind != KindRateLimited || e.RetryAfter != 2*time.Minute {
		t.Fatalf("got %v %v", e.Kind, e.RetryAfter)
	}
	clock.Advance(2*time.Minute - time.Second)
	if _, _, err := authorize(t.Context(), t, ts); err == nil || f.count() != 1 {
		t.Fatalf("before Retry-After: err %v, exchanges %d (want error, 1)", err, f.count())
	}
	clock.Advance(time.Second)
	mustAuthorize(t, ts)
	if f.count() != 2 {
		t.Fatalf("exchanges = %d, want 2", f.count())
	}
}

// TestRenewalFailureKeepsOldToken: a failed renewal does not fail calls
// while the old token is still valid; after its expiry they fail.
func TestRenewalFailureKeepsOldToken(t *testing.T) {
	clock := newFakeClock()
	var fail atomic.Bool
	f := newFake(t, clock, func(f *fakeExchange, w http.ResponseWriter, _ *http.Request, n int) {
		if fail.Load() {
			writeJSON(w, http.StatusBadGateway, map[string]any{})
			return
		}
		f.issue(w, n)
	})
	ts, _ := newSource(t, f, nil)
	tok1, _ := mustAuthorize(t, ts)
	fail.Store(true)
	clock.Advance(56 * time.Minute)
	if tok, _ := mustAuthorize(t, ts); tok != tok1 || f.count() != 2 {
		t.Fatalf("failed renewal: old token %v, exchanges %d (want 2)", tok == tok1, f.count())
	}
	if tok, _ := mustAuthorize(t, ts); tok != tok1 || f.count() != 2 {
		t.Fatalf("within back-off: old token %v, exchanges %d (want 2)", tok == tok1, f.count())
	}
	clock.Advance(4 * time.Minute) // exactly exp: the old token is done
	_, _, err := authorize(t.Context(), t, ts)
	if e := asError(t, err); e.Kind != KindUnavailable || f.count() != 3 {
		t.Fatalf("after expiry: kind %v exchanges %d (want unavailable, 3)", e.Kind, f.count())
	}
}

// TestTokenLifetime: the lifetime comes from exp, but never more than the
// documented hour; without a usable exp it is one hour from when the token
// was obtained.
func TestTokenLifetime(t *testing.T) {
	base := newFakeClock().Now()
	cases := []struct {
		name    string
		jwt     string
		expires time.Time
		fromJWT bool
	}{
		{"exp", makeJWT(map[string]any{"exp": base.Add(40 * time.Minute).Unix()}), base.Add(40 * time.Minute), true},
		{"fractional exp", makeJWT(map[string]any{"exp": float64(base.Add(40*time.Minute).Unix()) + 0.5}), base.Add(40*time.Minute + 500*time.Millisecond), true},
		{"exp as string", makeJWT(map[string]any{"exp": "1772370000"}), time.Unix(1772370000, 0), true},
		{"no exp", makeJWT(map[string]any{"iat": base.Unix(), "sub": "x"}), base.Add(time.Hour), false},
		{"exp in the past within the clock skew", makeJWT(map[string]any{"exp": base.Add(-maxClockSkew).Unix()}), base.Add(time.Hour), false},
		{"exp now", makeJWT(map[string]any{"exp": base.Unix()}), base.Add(time.Hour), false},
		{"exp two hours ahead: cut to the documented hour", makeJWT(map[string]any{"exp": base.Add(2 * time.Hour).Unix()}), base.Add(time.Hour), false},
		{"exp ten years ahead: cut to the documented hour", makeJWT(map[string]any{"exp": base.AddDate(10, 0, 0).Unix()}), base.Add(time.Hour), false},
		{"exp not a number", makeJWT(map[string]any{"exp": "soon"}), base.Add(time.Hour), false},
		{"exp absurd", makeJWT(map[string]any{"exp": 1e300}), base.Add(time.Hour), false},
		{"payload not base64", jwtWithPayload("!!!not-base64!!!"), base.Add(time.Hour), false},
		{"payload not json", jwtWithPayload(b64("garbage{")), base.Add(time.Hour), false},
		{"payload json array", jwtWithPayload(b64(`[1,2]`)), base.Add(time.Hour), false},
		{"opaque token", "opaque-token-without-dots", base.Add(time.Hour), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			f := newFake(t, clock, func(f *fakeExchange, w http.ResponseWriter, _ *http.Request, n int) {
				f.issueJWT(w, n, tc.jwt)
			})
			ts, _ := newSource(t, f, nil)
			if tok, _ := mustAuthorize(t, ts); tok != tc.jwt {
				t.Fatal("Authorize did not send the exchanged token")
			}
			ts.mu.Lock()
			got := *ts.tok
			ts.mu.Unlock()
			if !got.expires.Equal(tc.expires) || got.expFromJWT != tc.fromJWT {
				t.Fatalf("expires %v (from jwt %v), want %v (%v)", got.expires, got.expFromJWT, tc.expires, tc.fromJWT)
			}
			// Behaviour agrees: still cached just before the renewal
			// point, renewed at it.
			clock.Advance(got.renewAt.Sub(clock.Now()) - time.Second)
			mustAuthorize(t, ts)
			if f.count() != 1 {
				t.Fatalf("renewed early: %d exchanges", f.count())
			}
			clock.Advance(time.Second)
			mustAuthorize(t, ts)
			if f.count() != 2 {
				t.Fatalf("not renewed at renewAt: %d exchanges", f.count())
			}
		})
	}
}

// TestShortLivedToken: a token living less than 2×RenewBefore renews at
// half its life instead of at once (which would exchange on every call).
func TestShortLivedToken(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, nil)
	f.setLifetime(4 * time.Minute)
	ts, _ := newSource(t, f, nil)
	mustAuthorize(t, ts)
	mustAuthorize(t, ts)
	clock.Advance(2*time.Minute - time.Second)
	mustAuthorize(t, ts)
	if f.count() != 1 {
		t.Fatalf("exchanges = %d, want 1 before half-life", f.count())
	}
	clock.Advance(time.Second)
	mustAuthorize(t, ts)
	if f.count() != 2 {
		t.Fatalf("exchanges = %d, want 2 at half-life", f.count())
	}
}

// TestWaiterCancelled: the caller that started the exchange gives up; it
// returns at once with its context error, the exchange goes on and the
// other waiter gets the token.
func TestWaiterCancelled(t *testing.T) {
	clock := newFakeClock()
	release := make(chan struct{})
	f := newFake(t, clock, func(f *fakeExchange, w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		f.issue(w, n)
	})
	ts, _ := newSource(t, f, nil)
	waiting := make(chan struct{}, 2)
	ts.onWait = func() { waiting <- struct{}{} }

	impatientCtx, cancel := context.WithCancel(t.Context())
	impatient := make(chan error, 1)
	go func() {
		_, _, err := authorize(impatientCtx, t, ts)
		impatient <- err
	}()
	<-waiting // the impatient caller started the exchange and waits

	patient := make(chan string, 1)
	go func() {
		tok, _, err := authorize(t.Context(), t, ts)
		if err != nil {
			t.Errorf("patient caller: %v", err)
		}
		patient <- tok
	}()
	<-waiting

	cancel()
	err := <-impatient // returns while the exchange is still blocked
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v, want context.Canceled", err)
	}
	var e *Error
	if errors.As(err, &e) {
		t.Fatal("cancelled waiter got *Error, want the context error")
	}
	close(release)
	if tok := <-patient; tok == "" || tok != f.tokens()[0] {
		t.Fatal("patient caller did not get the token")
	}
	if f.count() != 1 {
		t.Fatalf("exchanges = %d, want 1", f.count())
	}
}

// TestDoneContextSpendsNoBudget: a caller whose context has already ended
// does not start an exchange.
func TestDoneContextSpendsNoBudget(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, nil)
	ts, _ := newSource(t, f, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := authorize(ctx, t, ts); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if f.count() != 0 {
		t.Fatalf("exchanges = %d, want 0", f.count())
	}
}

// TestClose: Close cancels an exchange in progress, its waiters get an
// error, and later calls fail with ErrClosed.
func TestClose(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, func(_ *fakeExchange, _ http.ResponseWriter, r *http.Request, _ int) {
		<-r.Context().Done()
	})
	ts, _ := newSource(t, f, nil)
	waiting := make(chan struct{}, 1)
	ts.onWait = func() { waiting <- struct{}{} }
	done := make(chan error, 1)
	go func() {
		_, _, err := authorize(context.Background(), t, ts)
		done <- err
	}()
	<-waiting
	_ = ts.Close()
	if e := asError(t, <-done); e.Kind != KindUnavailable || !errors.Is(e, context.Canceled) {
		t.Fatalf("waiter after Close: %v", e)
	}
	_, _, err := authorize(t.Context(), t, ts)
	if e := asError(t, err); !errors.Is(e, errClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", e)
	}
}

// TestNewTokenSourceConfig checks validation and defaults.
func TestNewTokenSourceConfig(t *testing.T) {
	ok := TokenConfig{ClientID: testClientID, ClientSecret: testSecret}
	ts, err := NewTokenSource(ok)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ts.Close() }()
	if ts.ex.url != DefaultExchangeURL || ts.renewBefore != defaultRenewBefore ||
		ts.budget.Limit() != DefaultMaxExchangesPerHour || ts.reserve != 5 || ts.timeout != defaultExchangeTimeout || ts.now == nil {
		t.Fatalf("defaults not applied: %+v", ts)
	}
	for name, edit := range map[string]func(*TokenConfig){
		"no client id":        func(c *TokenConfig) { c.ClientID = "" },
		"no secret":           func(c *TokenConfig) { c.ClientSecret = "" },
		"relative url":        func(c *TokenConfig) { c.ExchangeURL = "/exchange" },
		"ftp url":             func(c *TokenConfig) { c.ExchangeURL = "ftp://example.com/x" },
		"url with user info":  func(c *TokenConfig) { c.ExchangeURL = "https://u:" + testSecret + "@example.com/x" },
		"negative renew":      func(c *TokenConfig) { c.RenewBefore = -time.Second },
		"negative budget":     func(c *TokenConfig) { c.MaxExchangesPerHour = -1 },
		"negative timeout":    func(c *TokenConfig) { c.ExchangeTimeout = -time.Second },
		"unparseable url":     func(c *TokenConfig) { c.ExchangeURL = "https://[::1" },
		"url without a host":  func(c *TokenConfig) { c.ExchangeURL = "https:///path" },
		"url with bad scheme": func(c *TokenConfig) { c.ExchangeURL = "mailto:x@example.com" },
	} {
		cfg := ok
		edit(&cfg)
		_, err := NewTokenSource(cfg)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), testSecret) {
			t.Errorf("%s: error holds the secret: %v", name, err)
		}
	}
}

// TestPlainHTTPWarning: a non-loopback http exchange URL is accepted (for
// emulators) but logged as insecure.
func TestPlainHTTPWarning(t *testing.T) {
	logs := &syncBuffer{}
	ts, err := NewTokenSource(TokenConfig{
		ExchangeURL: "http://emulator.internal:8080/exchange", ClientID: testClientID, ClientSecret: testSecret,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = ts.Close()
	if !strings.Contains(logs.String(), "plain http") {
		t.Fatalf("no plain-http warning: %s", logs.String())
	}
}

func TestBearerOf(t *testing.T) {
	for in, want := range map[string]string{
		"Bearer abc":   "abc",
		"bearer abc":   "abc",
		"BEARER  abc ": "abc",
		"Basic abc":    "",
		"Bearer":       "",
		"":             "",
	} {
		if got := bearerOf(in); got != want {
			t.Errorf("bearerOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRetryAfterCappedAtBudgetWindow: a very long Retry-After is reported
// as is but holds exchanges off for at most the hour of the budget.
func TestRetryAfterCappedAtBudgetWindow(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, func(f *fakeExchange, w http.ResponseWriter, _ *http.Request, n int) {
		if n == 1 {
			w.Header().Set("Retry-After", "7200")
			writeJSON(w, http.StatusTooManyRequests, map[string]any{})
			return
		}
		f.issue(w, n)
	})
	ts, _ := newSource(t, f, nil)
	_, _, err := authorize(t.Context(), t, ts)
	if e := asError(t, err); e.Kind != KindRateLimited || e.RetryAfter != 2*time.Hour {
		t.Fatalf("got %v %v, want rate_limited 2h", e.Kind, e.RetryAfter)
	}
	clock.Advance(time.Hour - time.Second)
	if _, _, err := authorize(t.Context(), t, ts); err == nil || f.count() != 1 {
		t.Fatalf("within the hour: err %v, exchanges %d", err, f.count())
	}
	clock.Advance(time.Second)
	mustAuthorize(t, ts)
	if f.count() != 2 {
		t.Fatalf("exchanges = %d, want 2", f.count())
	}
}
