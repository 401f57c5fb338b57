package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// pending is the value of a record whose first call is still running.
var pending = []byte("pending")

// Claim starts the record key for the first call with that idempotency
// key: claimed is true when this caller won and must run the call and
// Complete the record (within pendingTTL, after which another caller may
// claim it again). Otherwise value is the first call's outcome, or nil
// while that call is still running.
func (s *Store) Claim(ctx context.Context, key string, pendingTTL time.Duration) (claimed bool, value []byte, err error) {
	name := s.key("idem", key)
	ok, err := s.rdb.SetNX(ctx, name, pending, pendingTTL).Result()
	if err != nil {
		return false, nil, err
	}
	if ok {
		return true, nil, nil
	}
	v, err := s.Record(ctx, key)
	return false, v, err
}

// Record returns the stored outcome of key, nil when there is none or the
// first call is still running.
func (s *Store) Record(ctx context.Context, key string) ([]byte, error) {
	name := s.key("idem", key)
	raw, err := s.rdb.Get(ctx, name).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if string(raw) == string(pending) {
		return nil, nil
	}
	plain, err := s.seal.open(name, raw)
	if err != nil {
		// Written under another secret: as good as absent, but do not
		// let a second call run blindly either.
		return nil, err
	}
	return plain, nil
}

// Complete stores the outcome of key, sealed (it may hold contact data),
// for ttl.
func (s *Store) Complete(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	name := s.key("idem", key)
	return s.rdb.Set(ctx, name, s.seal.seal(name, value), ttl).Err()
}

// Abandon removes a pending claim whose call did not reach the upstream,
// so that a retry may run it.
func (s *Store) Abandon(ctx context.Context, key string) error {
	name := s.key("idem", key)
	return releaseScript.Run(ctx, s.rdb, []string{name}, string(pending)).Err()
}
