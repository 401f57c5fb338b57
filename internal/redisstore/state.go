package redisstore

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrStateLost is returned by Lock while this replica treats Redis as
// having lost its state: it was flushed, restarted (empty or from an older
// snapshot) or evicted keys, so a lock some replica held may have vanished
// while its write still runs. Writes wait one lease TTL, by when every
// such write has ended (its lease context ends at its next renewal).
var ErrStateLost = errors.New("redisstore: Redis lost its state (flushed, restarted or evicting); writes wait one lock lease")

// maxFencesSeen bounds the fences remembered per lock name: past it the
// memory is dropped, and a reset of a counter not remembered goes
// unnoticed by this check (the epoch and run id checks remain).
const maxFencesSeen = 10_000

// stateWatch is what one Store knows of its Redis's continuity: the epoch
// marker it last saw (a key without expiry that every lock attempt checks
// in the same script: FLUSHALL, an empty restart or eviction remove it),
// the server's run_id (changed by any restart, also one from a snapshot
// that still holds the marker), and the highest fence seen per lock (a
// counter that goes back means its key was lost). While until is ahead,
// Lock refuses.
type stateWatch struct {
	mu     sync.Mutex
	now    func() time.Time
	epoch  string
	runID  string
	until  time.Time
	fences map[string]int64
}

func newStateWatch() *stateWatch {
	return &stateWatch{now: time.Now, fences: map[string]int64{}}
}

// writable returns ErrStateLost while the refusal window lasts.
func (w *stateWatch) writable() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.now().Before(w.until) {
		return ErrStateLost
	}
	return nil
}

// knownEpoch is the epoch marker last seen ("" before the first lock).
func (w *stateWatch) knownEpoch() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.epoch
}

// lost opens (or extends) the refusal window for d.
func (w *stateWatch) lost(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lostLocked(d)
}

func (w *stateWatch) lostLocked(d time.Duration) {
	if u := w.now().Add(d); u.After(w.until) {
		w.until = u
	}
	// Fences counted before the loss say nothing about those after.
	clear(w.fences)
}

// adoptEpoch records the marker the script saw or set.
func (w *stateWatch) adoptEpoch(e string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.epoch = e
}

// seeRunID records the server's run id and reports whether it changed
// since the last one seen (false for the first).
func (w *stateWatch) seeRunID(id string) (changed bool) {
	if id == "" {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	changed = w.runID != "" && w.runID != id
	w.runID = id
	return changed
}

// seeFence records fence for key and reports whether it went back (or
// repeated) from one seen before.
func (w *stateWatch) seeFence(key string, fence int64) (reset bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if last, ok := w.fences[key]; ok && fence <= last {
		return true
	}
	if len(w.fences) >= maxFencesSeen {
		clear(w.fences)
	}
	w.fences[key] = fence
	return false
}

// serverRun finds run_id and uptime_in_seconds in the text of INFO
// server (id "" when absent: a server or proxy that does not report it
// leaves the epoch and fence checks).
func serverRun(info string) (id string, up time.Duration) {
	for line := range strings.Lines(info) {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "run_id:"); ok {
			id = v
		} else if v, ok := strings.CutPrefix(line, "uptime_in_seconds:"); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				up = time.Duration(n) * time.Second
			}
		}
	}
	return id, up
}
