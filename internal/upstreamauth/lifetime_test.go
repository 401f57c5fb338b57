package upstreamauth

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestExpiredJWTIsAFailedExchange: a JWT whose exp lies further in the past
// than the clock skew is not cached; the call fails as unavailable with
// ErrInvalidToken, and the next exchange waits as after a token refused
// at once.
func TestExpiredJWTIsAFailedExchange(t *testing.T) {
	for _, tc := range []struct {
		name string
		exp  time.Duration // relative to now
	}{
		{"just beyond the skew", -maxClockSkew - time.Second},
		{"an hour ago", -time.Hour},
		{"ten years ago", -10 * 365 * 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			f := newFake(t, clock, nil)
			f.setLifetime(tc.exp)
			var outcomes []string
			ts, logs := newSource(t, f, func(c *TokenConfig) {
				c.OnExchange = func(o string) { outcomes = append(outcomes, o) }
			})
			_, req, err := authorize(t.Context(), t, ts)
			e := asError(t, err)
			if e.Kind != KindUnavailable || e.HTTPStatus != http.StatusOK || !errors.Is(err, errInvalidToken) || e.RequestID != "ruid-1" {
				t.Fatalf("got %v (kind %v, status %d, ruid %q), want unavailable, 200, ErrInvalidToken, ruid-1", err, e.Kind, e.HTTPStatus, e.RequestID)
			}
			if req.Header.Get("Authorization") != "" || ts.Snapshot().HasToken {
				t.Fatal("the expired token was cached or sent")
			}
			if !strings.Contains(logs.String(), `"msg":"upstream token exchange failed"`) {
				t.Errorf("no failure logged: %s", logs.String())
			}
			clock.Advance(suspectMinBackoff - time.Second)
			if _, _, err := authorize(t.Context(), t, ts); !errors.Is(err, errInvalidToken) || f.count() != 1 {
				t.Fatalf("within the back-off: %v, exchanges %d (want ErrInvalidToken, 1)", err, f.count())
			}
			clock.Advance(time.Second)
			f.setLifetime(time.Hour)
			mustAuthorize(t, ts)
			if f.count() != 2 {
				t.Fatalf("exchanges = %d, want 2", f.count())
			}
			if want := []string{OutcomeInvalidToken, OutcomeOK}; !slices.Equal(outcomes, want) {
				t.Fatalf("outcomes %v, want %v", outcomes, want)
			}
		})
	}
}

// TestExchangeFailureLogRate: identical exchange failures (a wrong secret)
// are logged once per interval with the count held back, not once per
// failure; a different failure is logged at once.
func TestExchangeFailureLogRate(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, nil)
	ts, logs := newSource(t, f, func(c *TokenConfig) { c.ClientSecret = "wrong-secret" })
	// One call a second for 130 s: exchanges at 0, 1, 3, 7, 15, 31, 63 and
	// 127 s (the back-off doubles).
	for range 130 {
		_, _, _ = authorize(t.Context(), t, ts)
		clock.Advance(time.Second)
	}
	if f.count() != 8 {
		t.Fatalf("exchanges = %d, want 8", f.count())
	}
	lines := failureLines(logs.String())
	// Logged: 0 s; 1..31 s held back (5); 63 s with the count; 127 s.
	if len(lines) != 3 {
		t.Fatalf("%d failure lines for 8 failures, want 3:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if strings.Contains(lines[0], "suppressed") || !strings.Contains(lines[1], `"suppressed":5`) || strings.Contains(lines[2], "suppressed") {
		t.Fatalf("counts wrong:\n%s", strings.Join(lines, "\n"))
	}
	// Another kind of failure is not held back by the first.
	f.setResponder(func(_ *fakeExchange, w http.ResponseWriter, _ *http.Request, _ int) {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{})
	})
	clock.Advance(5 * time.Minute)
	_, _, _ = authorize(t.Context(), t, ts)
	if lines := failureLines(logs.String()); len(lines) != 4 || !strings.Contains(lines[3], `"status":503`) {
		t.Fatalf("the 503 was not logged:\n%s", strings.Join(lines, "\n"))
	}
}

func failureLines(log string) []string {
	var out []string
	for line := range strings.Lines(log) {
		if strings.Contains(line, `"msg":"upstream token exchange failed"`) {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}
