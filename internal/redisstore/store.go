// Package redisstore keeps what every replica of contactsd that serves one
// machine account must share, in one Redis: the account's token (sealed
// with a key only holders of the client secret can derive), the exact
// sliding-hour log of token exchanges, per-property write locks with
// fencing values, idempotency records, the invalidation channel of the
// read caches, the upstream governor's window and the callers' fair
// shares.
//
// Every key lives under one namespace per account (the prefix), so one
// Redis can serve several accounts and nothing in it names a property's
// contact data in clear: values that could hold personal data (tokens,
// idempotency records) are sealed with AES-GCM.
//
// The package holds no state of its own beyond the Store value; Redis's
// own clock (TIME inside scripts) orders budget entries, so replicas with
// skewed clocks agree.
package redisstore

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Config is what Open needs.
type Config struct {
	// URL is redis://[user[:password]@]host:port[/db] or rediss:// for TLS.
	// It may hold a password; it is never logged or printed.
	URL string
	// Account names the machine account whose state this is (the client
	// ID). Only a hash of it appears in key names.
	Account string
	// Secret is the account's client secret: the key that seals tokens and
	// records is derived from it, so that a reader of Redis who does not
	// hold the secret can use neither.
	Secret string
}

// Store is a connection to the shared Redis of one account. It is safe for
// concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	seal   *sealer
	state  *stateWatch
	// callers keys the HMAC that names a caller's fair-share key.
	callers []byte
}

// Open parses cfg.URL and returns a Store. It does not dial: the first
// command does (Ping checks reachability).
func Open(cfg Config) (*Store, error) {
	if cfg.Account == "" || cfg.Secret == "" {
		return nil, errors.New("redisstore: account and secret are required")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		// The URL may hold a password: never echo it.
		return nil, errors.New("redisstore: the Redis URL must be redis://host:port or rediss://host:port")
	}
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redisstore: the Redis URL is not valid (%s)", redactURLError(err, cfg.URL))
	}
	return New(redis.NewClient(opts), cfg.Account, cfg.Secret)
}

// New returns a Store over an existing client (tests, or a caller with its
// own client options). Close closes rdb.
func New(rdb redis.UniversalClient, account, secret string) (*Store, error) {
	if account == "" || secret == "" {
		return nil, errors.New("redisstore: account and secret are required")
	}
	s, err := newSealer(secret, account)
	if err != nil {
		return nil, err
	}
	callers, err := hkdf.Key(sha256.New, []byte(secret), []byte("contacts-facade redisstore v1"), "callers account="+account, 32)
	if err != nil {
		return nil, fmt.Errorf("redisstore: deriving the callers' key: %w", err)
	}
	h := sha256.Sum256([]byte(account))
	return &Store{
		rdb:     rdb,
		prefix:  "contacts-facade:" + hex.EncodeToString(h[:8]) + ":",
		seal:    s,
		state:   newStateWatch(),
		callers: callers,
	}, nil
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.rdb.Ping(ctx).Err()
}

// Close closes the connections.
func (s *Store) Close() error { return s.rdb.Close() }

// key is the full name of a key of this account.
func (s *Store) key(parts ...string) string {
	return s.prefix + strings.Join(parts, ":")
}

// redactURLError keeps a parse error from echoing the URL's password.
func redactURLError(err error, raw string) string {
	msg := err.Error()
	if u, perr := url.Parse(raw); perr == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "REDACTED")
		}
	}
	return msg
}
