package upstreamauth

import "time"

// backoff is a pause that grows with repeated failures: min after the
// first, doubling after each further one up to max, until reset. The zero
// pause (never failed, or reset) holds nothing off. It is a plain value,
// guarded by its owner's lock.
type backoff struct {
	min, max time.Duration
	pause    time.Duration // the last pause chosen; 0 after reset
	until    time.Time     // nothing is retried before it
}

// fail records a failure at now and returns the pause it starts: the next
// step of the back-off, or atLeast when that is longer (e.g. a
// Retry-After).
func (b *backoff) fail(now time.Time, atLeast time.Duration) time.Duration {
	if b.pause == 0 {
		b.pause = b.min
	} else {
		b.pause = min(2*b.pause, b.max)
	}
	d := max(b.pause, atLeast)
	b.until = now.Add(d)
	return d
}

// reset forgets the failures: the next one pauses for min again.
func (b *backoff) reset() { b.pause, b.until = 0, time.Time{} }

// active reports whether now is within the pause.
func (b *backoff) active(now time.Time) bool { return now.Before(b.until) }

// hold holds retries off until now+d at least, without counting a
// failure.
func (b *backoff) hold(now time.Time, d time.Duration) {
	if t := now.Add(d); t.After(b.until) {
		b.until = t
	}
}
