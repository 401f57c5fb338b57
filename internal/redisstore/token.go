package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Token is the account's current JWT as the fleet shares it.
type Token struct {
	JWT      string    `json:"jwt"`
	RUID     string    `json:"ruid,omitempty"`
	Obtained time.Time `json:"obtained"`
	Expires  time.Time `json:"expires"`
}

// LoadToken returns the stored token, or ok false when there is none, it
// has expired, or it does not open with this secret (then the next
// exchange replaces it).
func (s *Store) LoadToken(ctx context.Context) (tok Token, ok bool, err error) {
	name := s.key("token", "current")
	raw, err := s.rdb.Get(ctx, name).Bytes()
	if errors.Is(err, redis.Nil) {
		return Token{}, false, nil
	}
	if err != nil {
		return Token{}, false, err
	}
	plain, err := s.seal.open(name, raw)
	if err != nil {
		return Token{}, false, nil
	}
	if err := json.Unmarshal(plain, &tok); err != nil || tok.JWT == "" {
		return Token{}, false, nil
	}
	return tok, true, nil
}

// StoreToken seals tok and stores it until it expires.
func (s *Store) StoreToken(ctx context.Context, tok Token, now time.Time) error {
	ttl := tok.Expires.Sub(now)
	if ttl <= 0 {
		return errors.New("redisstore: refusing to store an expired token")
	}
	plain, err := json.Marshal(tok)
	if err != nil {
		return err
	}
	name := s.key("token", "current")
	return s.rdb.Set(ctx, name, s.seal.seal(name, plain), ttl).Err()
}

// DropToken deletes the stored token only if it is still jwt, so that a
// replica that was refused with an old token cannot drop a newer one.
func (s *Store) DropToken(ctx context.Context, jwt string) error {
	cur, ok, err := s.LoadToken(ctx)
	if err != nil || !ok || cur.JWT != jwt {
		return err
	}
	// A new token stored between the load and this delete is rare and
	// costs one extra exchange, never a wrong token.
	return s.rdb.Del(ctx, s.key("token", "current")).Err()
}
