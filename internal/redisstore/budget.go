package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// budgetScript keeps an exact sliding log of token exchanges in one sorted
// set (score: Redis's own time in milliseconds). In one atomic step it
// drops the entries older than the window, then admits one more when more
// than reserve attempts are left, and otherwise says when enough entries
// will have left the window. A token bucket would admit up to twice the
// limit in the worst sliding hour; the log admits exactly the limit.
//
// KEYS[1] the log; ARGV[1] window ms, ARGV[2] limit, ARGV[3] reserve,
// ARGV[4] a unique member, ARGV[5] 1 to take, 0 to only count.
// Returns {admitted 0|1, retry-after ms, left after the call}.
var budgetScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local reserve = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if ARGV[5] == '0' then
  return {0, 0, limit - n}
end
if limit - n > reserve then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0, limit - n - 1}
end
local idx = n - (limit - reserve)
if idx < 0 then idx = 0 end
local e = redis.call('ZRANGE', KEYS[1], idx, idx, 'WITHSCORES')
local wait = window
if e[2] then wait = tonumber(e[2]) + window - now end
if wait < 1 then wait = 1 end
return {0, wait, limit - n}
`)

// Budget is the fleet-wide token-exchange allowance of one account: at
// most Limit attempts in any sliding window, counted in Redis. It has the
// method set of upstreamauth.Budget.
type Budget struct {
	s      *Store
	key    string
	limit  int
	window time.Duration
}

// Budget returns the account's exchange budget: limit attempts in any
// sliding window (an hour for Booking.com accounts).
func (s *Store) Budget(limit int, window time.Duration) *Budget {
	return &Budget{s: s, key: s.key("token", "exchanges"), limit: limit, window: window}
}

// Take records one attempt unless no more than reserve are left in the
// window; when refused it says when the next one frees up. An error means
// Redis did not answer: nothing was recorded.
func (b *Budget) Take(ctx context.Context, reserve int) (ok bool, retryAfter time.Duration, err error) {
	r, err := b.run(ctx, reserve, true)
	if err != nil {
		return false, 0, err
	}
	return r[0] == 1, time.Duration(r[1]) * time.Millisecond, nil
}

// Left reports the attempts still allowed in the current window.
func (b *Budget) Left(ctx context.Context) (int, error) {
	r, err := b.run(ctx, 0, false)
	if err != nil {
		return 0, err
	}
	return int(r[2]), nil
}

// Limit is the number of attempts allowed in a window.
func (b *Budget) Limit() int { return b.limit }

func (b *Budget) run(ctx context.Context, reserve int, take bool) ([3]int64, error) {
	var out [3]int64
	var member [12]byte
	_, _ = rand.Read(member[:])
	flag := "0"
	if take {
		flag = "1"
	}
	res, err := budgetScript.Run(ctx, b.s.rdb, []string{b.key},
		b.window.Milliseconds(), b.limit, reserve, hex.EncodeToString(member[:]), flag).Int64Slice()
	if err != nil {
		return out, err
	}
	if len(res) != 3 {
		return out, errors.New("redisstore: budget script answered an unexpected shape")
	}
	copy(out[:], res)
	return out, nil
}
