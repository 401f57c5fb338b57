package redisstore

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// countingBudget is a local budget of a fixed size that counts its takes.
type countingBudget struct{ limit, taken int }

func (c *countingBudget) Take(_ context.Context, reserve int) (bool, time.Duration, error) {
	if c.limit-c.taken > reserve {
		c.taken++
		return true, 0, nil
	}
	return false, time.Hour, nil
}
func (c *countingBudget) Left(context.Context) (int, error) { return c.limit - c.taken, nil }
func (c *countingBudget) Limit() int                        { return c.limit }

func TestFallbackBudget(t *testing.T) {
	s, mr := newMini(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var logs bytes.Buffer
	local := &countingBudget{limit: 3}
	f := NewFallbackBudget(s.Budget(30, time.Hour), local, slog.New(slog.NewTextHandler(&logs, nil)), clock)

	if ok, _, err := f.Take(ctx, 0); !ok || err != nil || f.Degraded() || local.taken != 0 {
		t.Fatalf("with Redis up: ok=%v err=%v degraded=%v local=%d", ok, err, f.Degraded(), local.taken)
	}
	mr.SetError("LOADING Redis is loading the dataset in memory")
	admitted := 0
	for range 10 {
		if ok, _, err := f.Take(ctx, 0); err == nil && ok {
			admitted++
		}
	}
	if admitted != 3 || !f.Degraded() {
		t.Fatalf("with Redis away: admitted %d (want the local 3), degraded=%v", admitted, f.Degraded())
	}
	if n := strings.Count(logs.String(), "shared Redis unavailable"); n != 1 {
		t.Errorf("%d warnings in one minute, want 1:\n%s", n, logs.String())
	}
	now = now.Add(time.Minute)
	f.Take(ctx, 0)
	if !strings.Contains(logs.String(), "suppressed=9") {
		t.Errorf("second warning does not count the 9 held back:\n%s", logs.String())
	}
	mr.SetError("")
	if ok, _, _ := f.Take(ctx, 0); !ok || f.Degraded() {
		t.Fatal("not back on the shared budget after Redis returned")
	}
	if left, _ := f.Left(ctx); left != 28 {
		t.Errorf("shared Left = %d, want 28", left)
	}
	if !strings.Contains(logs.String(), "available again") {
		t.Error("no recovery line")
	}
}

// TestFallbackDegradedProbes: a replica that holds a good token makes no
// budget call for up to an hour, so Degraded itself notices Redis's
// return, asking it at most once a second.
func TestFallbackDegradedProbes(t *testing.T) {
	s, mr := newMini(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var logs bytes.Buffer
	f := NewFallbackBudget(s.Budget(30, time.Hour), &countingBudget{limit: 3}, slog.New(slog.NewTextHandler(&logs, nil)),
		func() time.Time { return now })
	mr.SetError("LOADING Redis is loading the dataset in memory")
	f.Take(ctx, 0)
	if !f.Degraded() {
		t.Fatal("not degraded with Redis away")
	}
	now = now.Add(time.Second)
	if !f.Degraded() {
		t.Fatal("a probe of a Redis still away cleared Degraded")
	}
	mr.SetError("")
	if !f.Degraded() {
		t.Fatal("probed again within a second of the last probe")
	}
	now = now.Add(time.Second)
	if f.Degraded() {
		t.Fatal("still degraded a second after Redis returned")
	}
	if !strings.Contains(logs.String(), "available again") {
		t.Error("no recovery line")
	}
	if left, _ := f.Left(ctx); left != 30 {
		t.Errorf("a probe took from the budget: %d left", left)
	}
}
