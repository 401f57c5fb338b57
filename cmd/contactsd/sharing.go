package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/bulk"
	"github.com/contacts-facade/contacts-facade/internal/readpath"
	"github.com/contacts-facade/contacts-facade/internal/redisstore"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
	"github.com/contacts-facade/contacts-facade/service"
)

// envRedisURL may hold the Redis URL with its password, and so may the
// file envRedisURLFile names; the -redis-url flag may not (flags show in
// ps and shell history).
const (
	envRedisURL     = "CONTACTS_REDIS_URL"
	envRedisURLFile = "CONTACTS_REDIS_URL_FILE"
)

// maxRedisURLFileBytes caps the file of envRedisURLFile.
const maxRedisURLFileBytes = 4 << 10

// sharingConfig is what replicas share and how reads are shared: the
// Redis of the account, the token budget, coalescing and the read cache.
type sharingConfig struct {
	redisURL         string
	redisFromFlag    bool
	localBudget      int
	exchangesPerHour int
	noCoalescing     bool
	cacheTTL         time.Duration
	cacheStale       time.Duration
	cacheStaleErr    time.Duration
	cacheMaxEntries  int
	cacheMaxBytes    int64
	lockWait         time.Duration
	writeTimeout     time.Duration
	opRetention      time.Duration
	opLease          time.Duration
}

func addSharingFlags(fs *flag.FlagSet, c *sharingConfig) {
	fs.StringVar(&c.redisURL, "redis-url", "",
		"redis:// or rediss:// URL of the Redis that the replicas of one machine account share\n(token, exchange budget, write locks, idempotency records, cache invalidation,\ncallers' fair shares); env "+envRedisURL+", or a file named by "+envRedisURLFile+" (the only places for a URL\nwith a password); empty: all in process")
	fs.IntVar(&c.localBudget, "redis-local-budget", 3,
		"token exchanges an hour this replica may make on its own while Redis is unreachable")
	fs.IntVar(&c.exchangesPerHour, "token-exchanges-per-hour", upstreamauth.DefaultMaxExchangesPerHour,
		"the machine account's token allowance: exchanges in any sliding hour, for the whole fleet")
	fs.BoolFunc("no-read-coalescing", "send one upstream GET per read even when identical reads are in flight", func(string) error {
		c.noCoalescing = true
		return nil
	})
	fs.DurationVar(&c.cacheTTL, "read-cache-ttl", 0,
		"serve ListContacts and GetProfileContacts from an in-memory cache for this long\n(0: off); writes through the facade drop the property's answers")
	fs.DurationVar(&c.cacheStale, "read-cache-stale", 0,
		"past -read-cache-ttl, serve the stale answer for this long while one background GET refreshes it")
	fs.DurationVar(&c.cacheStaleErr, "read-cache-stale-if-error", 0,
		"past -read-cache-ttl, serve the stale answer for this long when the upstream fails\n(5xx, timeouts, transport errors; never a 4xx)")
	fs.IntVar(&c.cacheMaxEntries, "read-cache-max-entries", readpath.DefaultMaxEntries, "most answers the read cache holds")
	fs.Int64Var(&c.cacheMaxBytes, "read-cache-max-bytes", readpath.DefaultMaxBytes, "most bytes (protobuf size) the read cache holds")
	fs.DurationVar(&c.lockWait, "write-lock-wait", service.DefaultLockWait,
		"how long a write waits for its property's write lock before UNAVAILABLE WRITE_LOCK_TIMEOUT")
	fs.DurationVar(&c.writeTimeout, "write-timeout", service.DefaultWriteTimeout,
		"the most the upstream part of a write (its fresh read and PUT, with retries) may take,\nwhatever the caller's deadline: the property's other writes wait for it")
	fs.DurationVar(&c.opRetention, "operation-retention", bulk.DefaultRetention,
		"how long a bulk operation is kept (GetOperation, RevertBulkEdit) after it ended")
	fs.DurationVar(&c.opLease, "operation-lease", redisstore.DefaultLeaseTime,
		"with -redis-url: how long a bulk operation whose replica stopped renewing its lease waits\nbefore another replica takes it over")
}

// finish reads the environment's Redis URL and checks the values.
func (c *sharingConfig) finish(set map[string]bool, lookupEnv func(string) (string, bool)) error {
	c.redisFromFlag = set["redis-url"]
	if !c.redisFromFlag {
		c.redisURL, _ = lookupEnv(envRedisURL)
	}
	if f, ok := lookupEnv(envRedisURLFile); ok && f != "" && c.redisURL == "" {
		b, err := readFileCapped(f, maxRedisURLFileBytes)
		if err != nil {
			return fmt.Errorf("%s: %w", envRedisURLFile, err)
		}
		c.redisURL = trimSecret(string(b))
	}
	if c.redisURL != "" {
		u, err := url.Parse(c.redisURL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			return errors.New("the Redis URL must be redis://host:port[/db] or rediss://host:port[/db]")
		}
		if _, hasPassword := u.User.Password(); hasPassword && c.redisFromFlag {
			return fmt.Errorf("-redis-url must not hold a password: put the URL in %s instead", envRedisURL)
		}
	}
	if c.localBudget <= 0 || c.exchangesPerHour <= 0 {
		return errors.New("-redis-local-budget and -token-exchanges-per-hour must be positive")
	}
	if c.cacheTTL < 0 || c.cacheStale < 0 || c.cacheStaleErr < 0 || c.cacheMaxEntries <= 0 || c.cacheMaxBytes <= 0 || c.lockWait <= 0 || c.writeTimeout <= 0 {
		return errors.New("the -read-cache-* durations must not be negative, their bounds, -write-lock-wait and -write-timeout must be positive")
	}
	if c.opRetention <= 0 || c.opLease <= 0 {
		return errors.New("-operation-retention and -operation-lease must be positive")
	}
	if c.cacheTTL == 0 && (c.cacheStale > 0 || c.cacheStaleErr > 0) {
		return errors.New("-read-cache-stale and -read-cache-stale-if-error need -read-cache-ttl")
	}
	return nil
}

// fleet is the state this replica shares with the others of its account,
// or nothing of it (store nil) without Redis.
type fleet struct {
	store   *redisstore.Store
	budget  *redisstore.FallbackBudget
	opLease time.Duration
}

// openFleet connects to the account's Redis. It needs the machine
// account's id and secret: the token and records are sealed with a key
// derived from the secret. An unreachable Redis is no reason not to start:
// the replica runs degraded until it answers.
func openFleet(ctx context.Context, cfg sharingConfig, clientID, secret string, log *slog.Logger) (*fleet, error) {
	if cfg.redisURL == "" {
		return &fleet{}, nil
	}
	if clientID == "" || secret == "" {
		return nil, configError{errors.New("a shared Redis needs token-based authentication (" + envClientID + " and a secret): its values are sealed with a key derived from the client secret")}
	}
	store, err := redisstore.Open(redisstore.Config{URL: cfg.redisURL, Account: clientID, Secret: secret})
	if err != nil {
		return nil, configError{err}
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := store.Ping(pctx); err != nil {
		log.Warn("shared Redis unreachable at start: the token budget is this replica's own, writes are refused until it answers",
			"local_budget_per_hour", cfg.localBudget)
	} else {
		log.Info("sharing token, budget, write locks and idempotency records through Redis")
	}
	local := upstreamauth.NewLocalBudget(cfg.localBudget, nil)
	return &fleet{
		store:   store,
		budget:  redisstore.NewFallbackBudget(store.Budget(cfg.exchangesPerHour, time.Hour), local, log.With("component", "redis"), nil),
		opLease: cfg.opLease,
	}, nil
}

// tokenConfig puts the fleet's budget and token share into cfg.
func (f *fleet) tokenConfig(cfg *upstreamauth.TokenConfig) {
	if f.store == nil {
		return
	}
	cfg.Budget = f.budget
	cfg.Shared = f.store.TokenShare(nil)
}

// serviceConfig puts the shared state of safe edits and the callers' fair
// shares into cfg: Redis's when there is one, else the service's
// in-process defaults stay. A claim on a request_id outlives the longest
// write that can hold it twice over.
func (f *fleet) serviceConfig(cfg *service.Config) {
	if f.store != nil {
		cfg.Locks = f.store.WriteLocks(0)
		cfg.Requests = f.store.Requests(0, max(redisstore.DefaultPendingTTL, 2*(cfg.LockWait+cfg.WriteTimeout)))
		cfg.Shares = f.store.Shares()
		cfg.Operations = f.store.Operations(redisstore.OperationsConfig{Retention: cfg.OperationRetention, LeaseTime: f.opLease})
	}
}

func (f *fleet) close() {
	if f.store != nil {
		_ = f.store.Close()
	}
}

// newReads is the read path in front of the upstream client: coalescing
// (on by default) and the opt-in cache.
func newReads(up readpath.Upstream, cfg sharingConfig, flightTimeout time.Duration) *readpath.Reader {
	return readpath.New(up, readpath.Options{
		NoCoalescing:  cfg.noCoalescing,
		FlightTimeout: flightTimeout,
		TTL:           cfg.cacheTTL,
		Stale:         cfg.cacheStale,
		StaleIfError:  cfg.cacheStaleErr,
		MaxEntries:    cfg.cacheMaxEntries,
		MaxBytes:      cfg.cacheMaxBytes,
	})
}
