package upstreamauth

import (
	"testing"
	"time"
)

func TestBackoffValue(t *testing.T) {
	t0 := newFakeClock().Now()
	type op struct {
		at      time.Duration // since t0
		do      string        // "fail", "reset", "hold"
		d       time.Duration // atLeast for fail, d for hold
		want    time.Duration // the pause fail returns
		untilAt time.Duration // b.until - t0 afterwards
	}
	for _, tc := range []struct {
		name string
		ops  []op
	}{
		{"doubles to the cap", []op{
			{0, "fail", 0, time.Second, time.Second},
			{time.Second, "fail", 0, 2 * time.Second, 3 * time.Second},
			{3 * time.Second, "fail", 0, 4 * time.Second, 7 * time.Second},
			{7 * time.Second, "fail", 0, 5 * time.Second, 12 * time.Second},
			{12 * time.Second, "fail", 0, 5 * time.Second, 17 * time.Second},
		}},
		{"atLeast wins, the step still grows", []op{
			{0, "fail", time.Minute, time.Minute, time.Minute},
			{time.Minute, "fail", 0, 2 * time.Second, time.Minute + 2*time.Second},
		}},
		{"reset starts over", []op{
			{0, "fail", 0, time.Second, time.Second},
			{time.Second, "fail", 0, 2 * time.Second, 3 * time.Second},
			{3 * time.Second, "reset", 0, 0, -1},
			{3 * time.Second, "fail", 0, time.Second, 4 * time.Second},
		}},
		{"hold extends, never shortens, counts no failure", []op{
			{0, "hold", 3 * time.Second, 0, 3 * time.Second},
			{0, "hold", time.Second, 0, 3 * time.Second},
			{0, "fail", 0, time.Second, time.Second},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := backoff{min: time.Second, max: 5 * time.Second}
			for i, o := range tc.ops {
				now := t0.Add(o.at)
				switch o.do {
				case "fail":
					if got := b.fail(now, o.d); got != o.want {
						t.Fatalf("op %d: fail = %v, want %v", i, got, o.want)
					}
				case "reset":
					b.reset()
				case "hold":
					b.hold(now, o.d)
				}
				if o.untilAt < 0 {
					if b.active(now) || !b.until.IsZero() {
						t.Fatalf("op %d: active after reset", i)
					}
					continue
				}
				if got := b.until.Sub(t0); got != o.untilAt {
					t.Fatalf("op %d: until t0+%v, want t0+%v", i, got, o.untilAt)
				}
				if !b.active(t0.Add(o.untilAt-time.Nanosecond)) || b.active(t0.Add(o.untilAt)) {
					t.Fatalf("op %d: active() disagrees with until", i)
				}
			}
		})
	}
}
