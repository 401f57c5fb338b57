package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// windowScript is the upstream governor's fleet-wide state of one
// account: the exact sliding log of calls admitted (a sorted set scored
// by Redis's own time in ms, like budgetScript's), the log of the calls
// the upstream refused, and the learned rate (a hash: base, the rate at
// the last 429; last, its time; until, the end of the last Retry-After).
//
// The learned rate at time now is min(ceiling, base + increase × the
// whole windows since the last 429): it climbs back by itself, with no
// writes, and is the ceiling when the hash is absent.
//
// op "a" admits one call when the window holds fewer calls than
// level × rate and no Retry-After runs; otherwise it says how long until
// one would be admitted. op "r" (shadow mode) is "a" that records the
// call whatever the answer. op "p" reports a 429 (or a Retry-After): the
// call joins the refused log, the rate drops to decrease × the calls of
// the window the upstream did not refuse (what it accepts), if that is
// lower, never below floor, and the window admits nothing until the
// Retry-After ends. Several 429s of one burst do not compound: each
// computes the same bound.
//
// KEYS[1] the log, KEYS[2] the hash, KEYS[3] the refused log. ARGV: 1 window ms, 2 ceiling,
// 3 floor, 4 decrease, 5 increase, 6 level, 7 unique member, 8 op,
// 9 retry-after ms, 10 guard ms (an admission is counted for window +
// guard). Returns {admitted|decreased 0|1, wait ms,
// rate × 1000, calls in the window}.
var windowScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local ceiling = tonumber(ARGV[2])
local floor = tonumber(ARGV[3])
local op = ARGV[8]
local span = window + tonumber(ARGV[10])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - span)
local n = redis.call('ZCARD', KEYS[1])
local st = redis.call('HMGET', KEYS[2], 'base', 'last', 'until')
local rate = ceiling
if st[1] then
  local k = math.floor((now - tonumber(st[2])) / window)
  rate = math.min(ceiling, tonumber(st[1]) + tonumber(ARGV[5]) * k)
end
local untilms = tonumber(st[3] or '0')
if op == 'p' then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - span)
  redis.call('ZADD', KEYS[3], now, ARGV[7])
  redis.call('PEXPIRE', KEYS[3], span)
  local accepted = math.max(1, n - redis.call('ZCARD', KEYS[3]))
  local bound = math.max(floor, tonumber(ARGV[4]) * accepted)
  local decreased = 0
  if bound < rate then
    rate = bound
    decreased = 1
  end
  -- the climb restarts from the rate of now
  untilms = math.max(untilms, now + tonumber(ARGV[9]))
  redis.call('HSET', KEYS[2], 'base', tostring(rate), 'last', now, 'until', untilms)
  local back = math.ceil((ceiling - rate) / math.max(tonumber(ARGV[5]), 0.001)) + 1
  redis.call('PEXPIRE', KEYS[2], math.max(window * back, untilms - now) + window)
  return {decreased, math.max(untilms - now, 0), math.floor(rate * 1000), n}
end
local level = math.max(1, math.floor(tonumber(ARGV[6]) * rate + 1e-9))
local wait = 0
if untilms > now then wait = untilms - now end
if wait == 0 and n < level then
  redis.call('ZADD', KEYS[1], now, ARGV[7])
  redis.call('PEXPIRE', KEYS[1], span)
  return {1, 0, math.floor(rate * 1000), n + 1}
end
if n >= level then
  local e = redis.call('ZRANGE', KEYS[1], n - level, n - level, 'WITHSCORES')
  local slot = span
  if e[2] then slot = tonumber(e[2]) + span - now end
  wait = math.max(wait, slot, 1)
end
if op == 'r' then
  redis.call('ZADD', KEYS[1], now, ARGV[7])
  redis.call('PEXPIRE', KEYS[1], span)
  n = n + 1
end
return {0, wait, math.floor(rate * 1000), n}
`)

// WindowParams are the limits of a Window: see the governor package,
// which owns their meaning.
type WindowParams struct {
	Window   time.Duration // the sliding window
	Guard    time.Duration // an admission is counted for Window + Guard
	Ceiling  int           // calls per window at most, the configured limit
	Floor    int           // the learned rate never drops below it
	Decrease float64       // the factor of a decrease, in (0, 1)
	Increase float64       // calls per window the rate climbs per window without a 429
}

// WindowAnswer is what the shared window answered.
type WindowAnswer struct {
	// OK: the call was admitted (Admit), or the rate dropped (Penalize).
	OK bool
	// Wait is, when a call was not admitted, the time until one of its
	// level may be (a slot frees or the Retry-After ends); after Penalize,
	// what is left of the Retry-After.
	Wait time.Duration
	// Rate is the learned rate, in calls per window.
	Rate float64
	// Calls is the number of calls in the window, the admitted one included.
	Calls int
}

// Window is the upstream governor's shared sliding window of one account.
type Window struct {
	s      *Store
	keys   []string
	p      WindowParams
	prefix []any
}

// Window returns the account's governor window with limits p. Its keys
// share a hash tag, so that the script that uses both runs on Redis
// Cluster too.
func (s *Store) Window(p WindowParams) *Window {
	return &Window{
		s:    s,
		keys: []string{s.key("{governor}", "log"), s.key("{governor}", "rate"), s.key("{governor}", "refused")},
		p:    p,
		prefix: []any{p.Window.Milliseconds(), p.Ceiling, p.Floor,
			strconv.FormatFloat(p.Decrease, 'f', -1, 64), strconv.FormatFloat(p.Increase, 'f', -1, 64)},
	}
}

// Admit admits one call when the window holds fewer than
// max(1, ⌊level × rate⌋) calls and no Retry-After runs. With record set
// (shadow mode) the call is counted whatever the answer. An error means
// Redis did not answer: nothing was recorded.
func (w *Window) Admit(ctx context.Context, level float64, record bool) (WindowAnswer, error) {
	op := "a"
	if record {
		op = "r"
	}
	return w.run(ctx, level, op, 0)
}

// Penalize reports a 429 or a Retry-After: the learned rate drops to
// Decrease × the calls of the window the upstream accepted, if lower, and
// nothing is admitted for retryAfter.
func (w *Window) Penalize(ctx context.Context, retryAfter time.Duration) (WindowAnswer, error) {
	return w.run(ctx, 0, "p", retryAfter)
}

func (w *Window) run(ctx context.Context, level float64, op string, retryAfter time.Duration) (WindowAnswer, error) {
	var member [12]byte
	_, _ = rand.Read(member[:])
	args := append(w.prefix[:len(w.prefix):len(w.prefix)],
		strconv.FormatFloat(level, 'f', -1, 64), hex.EncodeToString(member[:]), op, retryAfter.Milliseconds(), w.p.Guard.Milliseconds())
	res, err := windowScript.Run(ctx, w.s.rdb, w.keys, args...).Int64Slice()
	if err != nil {
		return WindowAnswer{}, err
	}
	if len(res) != 4 {
		return WindowAnswer{}, errors.New("redisstore: window script answered an unexpected shape")
	}
	return WindowAnswer{
		OK:    res[0] == 1,
		Wait:  time.Duration(res[1]) * time.Millisecond,
		Rate:  float64(res[2]) / 1000,
		Calls: int(res[3]),
	}, nil
}
