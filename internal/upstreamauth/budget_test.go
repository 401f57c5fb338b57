package upstreamauth

import (
	"testing"
	"time"
)

// TestLocalBudget drives the sliding log with an injected clock, no HTTP.
func TestLocalBudget(t *testing.T) {
	type step struct {
		advance   time.Duration
		reserve   int
		wantOK    bool
		wantRetry time.Duration
		wantLeft  int // after the step
	}
	for _, tc := range []struct {
		name  string
		limit int
		steps []step
	}{
		{"fills then frees as the oldest leaves", 3, []step{
			{0, 0, true, 0, 2},
			{10 * time.Minute, 0, true, 0, 1},
			{10 * time.Minute, 0, true, 0, 0},
			{0, 0, false, 40 * time.Minute, 0}, // the first (t=0) leaves at 60m
			{40*time.Minute - time.Second, 0, false, time.Second, 0},
			{time.Second, 0, true, 0, 0},       // t=0 left exactly at 60m
			{0, 0, false, 10 * time.Minute, 0}, // next to leave: t=10m
		}},
		{"reserve refuses before the limit", 4, []step{
			{0, 1, true, 0, 3},
			{time.Minute, 1, true, 0, 2},
			{time.Minute, 1, true, 0, 1},
			{0, 1, false, 58 * time.Minute, 1}, // needs 2 left: wait for t=0 to leave
			{0, 0, true, 0, 0},                 // no reserve: the last one
			{0, 1, false, 59 * time.Minute, 0}, // needs 2 of 4 gone: t=0 and t=1m
			{0, 0, false, 58 * time.Minute, 0},
		}},
		{"reserve of the whole limit always refuses", 2, []step{
			{0, 2, false, time.Hour, 2},
			{0, 5, false, time.Hour, 2},
			{0, -1, true, 0, 1}, // a negative reserve counts as 0
		}},
		{"limit below 1 is 1", 0, []step{
			{0, 0, true, 0, 0},
			{0, 0, false, time.Hour, 0},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			b := NewLocalBudget(tc.limit, clock.Now)
			if want := max(tc.limit, 1); b.Limit() != want {
				t.Fatalf("Limit() = %d, want %d", b.Limit(), want)
			}
			for i, st := range tc.steps {
				clock.Advance(st.advance)
				ok, retry, err := b.Take(t.Context(), st.reserve)
				if err != nil || ok != st.wantOK || retry != st.wantRetry {
					t.Fatalf("step %d: Take(%d) = %v %v %v, want %v %v", i, st.reserve, ok, retry, err, st.wantOK, st.wantRetry)
				}
				if left, err := b.Left(t.Context()); err != nil || left != st.wantLeft {
					t.Fatalf("step %d: Left() = %d %v, want %d", i, left, err, st.wantLeft)
				}
			}
		})
	}
}

func TestRenewalReserve(t *testing.T) {
	for limit, want := range map[int]int{1: 0, 2: 1, 5: 1, 6: 1, 12: 2, 30: 5, 60: 10} {
		if got := renewalReserve(limit); got != want {
			t.Errorf("renewalReserve(%d) = %d, want %d", limit, got, want)
		}
	}
	// The pacing of rejection-driven renewals: a minute, or slower when a
	// minute would outrun the budget less its reserve.
	for limit, want := range map[int]time.Duration{1: time.Minute, 30: 150 * time.Second, 100: time.Minute, 5: 20 * time.Minute} {
		if got := suspectMaxBackoff(limit); got != want {
			t.Errorf("suspectMaxBackoff(%d) = %v, want %v", limit, got, want)
		}
	}
}
