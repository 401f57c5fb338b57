package redisstore

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/contacts-facade/contacts-facade/internal/idempotency"
)

// Defaults of Requests.
const (
	// DefaultRequestTTL is how long an outcome is remembered (AIP-155
	// leaves it to the API; 24 h as OCI's retry tokens).
	DefaultRequestTTL = 24 * time.Hour
	// DefaultPendingTTL bounds a claim whose replica died mid-call: after
	// it a retry runs the request again. It exceeds any call's deadline.
	DefaultPendingTTL = 2 * time.Minute
	// MinPendingTTL is the shortest pending TTL Requests accepts: twice
	// the longest a write runs with the service's defaults (10 s lock
	// wait + 20 s write timeout). A claim that expired while its write
	// still ran would let a retry on another replica write a second time.
	// A deployment with a longer lock wait or write timeout passes a
	// pendingTTL above both (contactsd: twice their sum); the service
	// refuses a store whose PendingTTL does not outlive them.
	MinPendingTTL = time.Minute
	// requestPoll is how often a duplicate waiting for the first call
	// asks for its outcome.
	requestPoll = 25 * time.Millisecond
)

// Requests is the fleet's idempotency.Store: the outcome of each request
// id, sealed, in Redis for ttl, so that a retry landing on another
// replica gets the first outcome.
type Requests struct {
	s          *Store
	ttl        time.Duration
	pendingTTL time.Duration
}

var _ idempotency.Store = (*Requests)(nil)

// Requests returns the account's idempotency records (zero durations take
// the defaults). A pendingTTL below MinPendingTTL is raised to it, and an
// outcome is remembered at least as long as a claim.
func (s *Store) Requests(ttl, pendingTTL time.Duration) *Requests {
	if ttl <= 0 {
		ttl = DefaultRequestTTL
	}
	if pendingTTL <= 0 {
		pendingTTL = DefaultPendingTTL
	}
	pendingTTL = max(pendingTTL, MinPendingTTL)
	return &Requests{s: s, ttl: max(ttl, pendingTTL), pendingTTL: pendingTTL}
}

// PendingTTL is how long a claim lasts when its replica never finishes
// it: the service checks that it outlives the longest write.
func (r *Requests) PendingTTL() time.Duration { return r.pendingTTL }

// record is a remembered outcome as stored (sealed).
type record struct {
	Fingerprint []byte `json:"fp"`
	Response    []byte `json:"resp,omitempty"`
	Status      []byte `json:"status,omitempty"`
}

// pendingPrefix marks a claim: "pending:" and the hex fingerprint, so that
// a duplicate of another request is refused even while the first runs.
const pendingPrefix = "pending:"

// Begin claims key for this request, or returns its remembered outcome,
// waiting while another replica runs it.
func (r *Requests) Begin(ctx context.Context, key string, fingerprint []byte) (idempotency.Result, error) {
	name := r.s.key("idem", key)
	marker := pendingPrefix + hex.EncodeToString(fingerprint)
	for {
		ok, err := r.s.rdb.SetNX(ctx, name, marker, r.pendingTTL).Result()
		if err != nil {
			return idempotency.Result{}, err
		}
		if ok {
			return idempotency.Result{Finish: r.finisher(name, marker, fingerprint)}, nil
		}
		raw, err := r.s.rdb.Get(ctx, name).Bytes()
		switch {
		case errors.Is(err, redis.Nil):
			continue // the claim ended between SETNX and GET: try again
		case err != nil:
			return idempotency.Result{}, err
		}
		if m, isPending := strings.CutPrefix(string(raw), pendingPrefix); isPending {
			if m != hex.EncodeToString(fingerprint) {
				return idempotency.Result{}, idempotency.ErrMismatch
			}
			t := time.NewTimer(requestPoll)
			select {
			case <-ctx.Done():
				t.Stop()
				return idempotency.Result{}, ctx.Err()
			case <-t.C:
			}
			continue
		}
		plain, err := r.s.seal.open(name, raw)
		if err != nil {
			return idempotency.Result{}, err
		}
		var rec record
		if err := json.Unmarshal(plain, &rec); err != nil {
			return idempotency.Result{}, err
		}
		if !bytes.Equal(rec.Fingerprint, fingerprint) {
			return idempotency.Result{}, idempotency.ErrMismatch
		}
		return idempotency.Result{Done: true, Outcome: idempotency.Outcome{Response: rec.Response, Status: rec.Status}}, nil
	}
}

// finisher stores the outcome (or drops the claim) once the call ends. It
// runs detached from the caller's context: the caller may have gone, the
// outcome must still be kept for its retry.
func (r *Requests) finisher(name, marker string, fp []byte) func(idempotency.Outcome, bool) {
	return func(o idempotency.Outcome, remember bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if !remember {
			_ = releaseScript.Run(ctx, r.s.rdb, []string{name}, marker).Err()
			return
		}
		plain, err := json.Marshal(record{Fingerprint: fp, Response: o.Response, Status: o.Status})
		if err != nil {
			return
		}
		// If Redis is away now the outcome is not kept: the pending claim
		// expires and a retry runs the write again (docs/operations.md#scaling-out-with-redis).
		_ = r.s.rdb.Set(ctx, name, r.s.seal.seal(name, plain), r.ttl).Err()
	}
}
