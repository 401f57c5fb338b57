package governor

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/redisstore"
)

// window is the state a Governor decides on: the fleet's in Redis
// (*redisstore.Window) or this process's own (*localWindow).
type window interface {
	Admit(ctx context.Context, level float64, record bool) (redisstore.WindowAnswer, error)
	Penalize(ctx context.Context, retryAfter time.Duration) (redisstore.WindowAnswer, error)
}

// localWindow is the in-process twin of redisstore's window script, with
// the same arithmetic: an exact sliding log of admission times (a queue in
// time order; entries leave when they are older than the window) and the
// learned rate.
type localWindow struct {
	p   redisstore.WindowParams
	now func() time.Time

	mu      sync.Mutex
	log     []time.Time // admission times, oldest first, from head on
	head    int
	refused []time.Time // times of the 429s, oldest first
	base    float64     // the rate at the last 429; 0: none yet
	last    time.Time   // the last 429
	until   time.Time   // the end of the last Retry-After
}

func newLocalWindow(p redisstore.WindowParams, now func() time.Time) *localWindow {
	return &localWindow{p: p, now: now}
}

// maxLocalLog bounds the log in shadow mode, where calls are recorded
// beyond the limit: past it the oldest are dropped (the count is then a
// lower bound, which only shadow mode's statistics see).
func (w *localWindow) maxLog() int { return max(4*w.p.Ceiling, 1024) }

// trimLocked drops the entries that left the window and returns how many
// are in it.
func (w *localWindow) trimLocked(now time.Time) int {
	edge := now.Add(-w.p.Window - w.p.Guard)
	for w.head < len(w.log) && !w.log[w.head].After(edge) {
		w.head++
	}
	if w.head > len(w.log)/2 {
		w.log = append(w.log[:0], w.log[w.head:]...)
		w.head = 0
	}
	return len(w.log) - w.head
}

func (w *localWindow) rateLocked(now time.Time) float64 {
	if w.base == 0 {
		return float64(w.p.Ceiling)
	}
	k := math.Floor(float64(now.Sub(w.last)) / float64(w.p.Window))
	return math.Min(float64(w.p.Ceiling), w.base+w.p.Increase*max(k, 0))
}

func (w *localWindow) Admit(_ context.Context, level float64, record bool) (redisstore.WindowAnswer, error) {
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.trimLocked(now)
	rate := w.rateLocked(now)
	lim := max(1, int(math.Floor(level*rate+1e-9)))
	wait := max(w.until.Sub(now), 0)
	if wait == 0 && n < lim {
		w.appendLocked(now)
		return redisstore.WindowAnswer{OK: true, Rate: rate, Calls: n + 1}, nil
	}
	if n >= lim {
		slot := w.log[w.head+n-lim].Add(w.p.Window + w.p.Guard).Sub(now)
		wait = max(wait, slot, time.Millisecond)
	}
	if record {
		w.appendLocked(now)
		n++
	}
	return redisstore.WindowAnswer{Wait: wait, Rate: rate, Calls: n}, nil
}

func (w *localWindow) appendLocked(now time.Time) {
	if len(w.log)-w.head >= w.maxLog() {
		w.head++
	}
	w.log = append(w.log, now)
}

func (w *localWindow) Penalize(_ context.Context, retryAfter time.Duration) (redisstore.WindowAnswer, error) {
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.trimLocked(now)
	rate := w.rateLocked(now)
	edge := now.Add(-w.p.Window - w.p.Guard)
	i := 0
	for i < len(w.refused) && !w.refused[i].After(edge) {
		i++
	}
	w.refused = append(w.refused[i:], now)
	if len(w.refused) > w.maxLog() {
		w.refused = w.refused[1:]
	}
	accepted := max(1, n-len(w.refused))
	bound := math.Max(float64(w.p.Floor), w.p.Decrease*float64(accepted))
	decreased := bound < rate
	if decreased {
		rate = bound
	}
	w.base, w.last = rate, now
	if u := now.Add(retryAfter); u.After(w.until) {
		w.until = u
	}
	return redisstore.WindowAnswer{OK: decreased, Wait: max(w.until.Sub(now), 0), Rate: rate, Calls: n}, nil
}
