// Package lograte keeps repeated log lines from flooding the log: for each
// key (the kind of a failure, never a value from a request) it lets one
// line through per interval and counts the ones it held back, so that the
// next line written can say how many there were.
package lograte

import (
	"sync"
	"time"
)

// maxKeys bounds the memory of a Limiter whatever the keys are; past it,
// keys whose interval has ended are forgotten, and if none has, every key
// is let through (a log flood is better than unbounded memory).
const maxKeys = 1024

// Limiter is safe for concurrent use. The zero value is not usable; call
// New.
type Limiter struct {
	interval time.Duration
	now      func() time.Time

	mu   sync.Mutex
	keys map[string]*entry
}

type entry struct {
	last       time.Time // when the last line for the key was let through
	suppressed int       // lines held back since then
}

// New returns a Limiter that lets one line per key through every interval.
// A nil now means time.Now.
func New(interval time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{interval: interval, now: now, keys: make(map[string]*entry)}
}

// Allow reports whether a line for key may be written now. When it may,
// suppressed is the number of lines for key held back since the previous
// one written, for the line to carry as a count.
func (l *Limiter) Allow(key string) (ok bool, suppressed int) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e, found := l.keys[key]
	if found && now.Sub(e.last) < l.interval {
		e.suppressed++
		return false, 0
	}
	if found {
		suppressed = e.suppressed
		e.last, e.suppressed = now, 0
		return true, suppressed
	}
	if len(l.keys) >= maxKeys {
		l.forgetLocked(now)
		if len(l.keys) >= maxKeys {
			return true, 0
		}
	}
	l.keys[key] = &entry{last: now}
	return true, 0
}

// forgetLocked drops the keys whose interval has ended and that held
// nothing back.
func (l *Limiter) forgetLocked(now time.Time) {
	for k, e := range l.keys {
		if now.Sub(e.last) >= l.interval && e.suppressed == 0 {
			delete(l.keys, k)
		}
	}
}
