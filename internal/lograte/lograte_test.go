package lograte

import (
	"strconv"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestAllowOncePerIntervalWithCount(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := New(time.Minute, c.now)
	type step struct {
		advance    time.Duration
		key        string
		ok         bool
		suppressed int
	}
	steps := []step{
		{0, "a", true, 0},
		{time.Second, "a", false, 0},
		{time.Second, "a", false, 0},
		{0, "b", true, 0}, // another key is independent
		{58 * time.Second, "a", true, 2},
		{time.Second, "a", false, 0},
		{time.Minute, "a", true, 1},
		{time.Minute, "a", true, 0},
	}
	for i, s := range steps {
		c.t = c.t.Add(s.advance)
		ok, n := l.Allow(s.key)
		if ok != s.ok || n != s.suppressed {
			t.Fatalf("step %d: Allow(%q) = %v, %d; want %v, %d", i, s.key, ok, n, s.ok, s.suppressed)
		}
	}
}

func TestBoundedKeys(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := New(time.Minute, c.now)
	for i := range 3 * maxKeys {
		if ok, _ := l.Allow(strconv.Itoa(i)); !ok {
			t.Fatalf("new key %d held back", i)
		}
	}
	if len(l.keys) > maxKeys {
		t.Fatalf("%d keys kept, want at most %d", len(l.keys), maxKeys)
	}
	// Once the interval has passed, old keys make room for new ones.
	c.t = c.t.Add(time.Minute)
	l.Allow("fresh")
	if _, ok := l.keys["fresh"]; !ok {
		t.Fatal("no room made for a new key after the interval")
	}
}
