package redisstore

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/contacts-facade/contacts-facade/internal/access"
)

// sharesScript is one caller's fair share for the whole fleet, by GCRA
// (the generic cell rate algorithm): one key holds the caller's
// theoretical arrival time (TAT, µs of Redis's own clock). A call is
// admitted when now ≥ TAT − (burst − 1) × interval, and pushes TAT to
// max(TAT, now) + interval; a refused call spends nothing. It admits
// exactly what a token bucket of burst calls refilled every interval
// does, with one key and no read-modify-write outside the script.
//
// A TAT more than a full burst ahead (the policy was reloaded with a
// faster rate) is brought back to now + burst × interval, and that is
// kept even when the call is refused (the only write of a refusal), so
// that a caller's debt never exceeds one bucket at its current rate. The
// key expires when the bucket is full again (at TAT), or after maxms if
// that is sooner: past TAT, the key is as good as absent.
//
// KEYS[1] the caller's key. ARGV: 1 interval µs (may be fractional),
// 2 burst, 3 maxms. Returns {admitted 0|1, wait µs}.
var sharesScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local function store(tat)
  local ttl = math.min(math.ceil((tat - now) / 1000), tonumber(ARGV[3]))
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.max(ttl, 1))
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local full = now + burst * interval
local clamped = false
if tat > full then
  tat = full
  clamped = true
end
local allowed = tat - (burst - 1) * interval
if now < allowed then
  if clamped then store(tat) end
  return {0, math.ceil(allowed - now)}
end
store(tat + interval)
return {1, 0}
`)

// MaxShareTTL bounds the life of a caller's key: a caller whose bucket
// takes longer than that to fill (a burst of 100 at 1 call an hour)
// finds it full again after MaxShareTTL without a call. No policy a
// facade serves comes near it.
const MaxShareTTL = 24 * time.Hour

// Shares are the callers' fair shares of one account's fleet: the policy's
// rate of a caller is spent once by every replica together, not once per
// replica. It implements access.Shares.
//
// A caller's key is under the account's namespace and named by an
// HMAC-SHA-256 of the caller's name under a key derived from the client
// secret: no identity reaches Redis, and a reader of Redis who does not
// hold the secret cannot test a guessed name against the keys. (Rotating
// the secret therefore starts every caller with a full bucket, once.)
type Shares struct {
	s *Store
}

var _ access.Shares = (*Shares)(nil)

// Shares returns the account's fleet-wide caller shares.
func (s *Store) Shares() *Shares { return &Shares{s: s} }

// Take spends one call of caller's share r, on Redis's clock (now is not
// used: replicas with skewed clocks agree). A zero PerSecond is
// unlimited and asks nothing of Redis. An error means Redis did not
// answer (nothing was spent); its text names the kind of failure only.
func (sh *Shares) Take(ctx context.Context, caller string, r access.Rate, _ time.Time) (bool, time.Duration, error) {
	if r.PerSecond <= 0 || math.IsInf(r.PerSecond, 0) || math.IsNaN(r.PerSecond) {
		return true, 0, nil
	}
	interval := 1e6 / r.PerSecond // µs
	res, err := sharesScript.Run(ctx, sh.s.rdb, []string{sh.key(caller)},
		strconv.FormatFloat(interval, 'f', -1, 64), max(r.Burst, 1), MaxShareTTL.Milliseconds()).Int64Slice()
	if err != nil {
		return false, 0, sharesError{err}
	}
	if len(res) != 2 {
		return false, 0, errors.New("redisstore: shares script answered an unexpected shape")
	}
	return res[0] == 1, time.Duration(res[1]) * time.Microsecond, nil
}

// key is the name of caller's key: no identity in it.
func (sh *Shares) key(caller string) string {
	m := hmac.New(sha256.New, sh.s.callers)
	m.Write([]byte(caller))
	return sh.s.key("share", hex.EncodeToString(m.Sum(nil)))
}

// sharesError is a failure of Redis whose text is its kind only: the
// gate logs it, and go-redis's text may name addresses.
type sharesError struct{ err error }

func (e sharesError) Error() string { return "redisstore: shares: Redis " + ErrorKind(e.err) }
func (e sharesError) Unwrap() error { return e.err }
