package upstreamauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Shared is where the replicas of one machine account may share the
// exchanged token, so that a fleet exchanges about as often as one
// process. It is a seam for a fleet-wide store (e.g. Redis); the default
// (TokenConfig.Shared nil) keeps the token in this process only.
//
// When a TokenSource needs a new token it asks, in this order:
//
//  1. Load: a token another replica stored is used without an exchange,
//     unless it is the very token being replaced or is due for renewal.
//  2. TryLock: only the replica that holds the lock exchanges. A replica
//     that does not get it sends nothing: it asks Load again every
//     peerPoll for the token the holder will store, within the flight's
//     deadline (ExchangeTimeout), and takes the lock itself if it comes
//     free. Only if neither happens in time do its callers fail with
//     KindUnavailable (cause ErrPeerExchanging); it asks again a second
//     later. Having taken the lock it asks Load once more before it
//     exchanges.
//  3. Budget.Take, the exchange, then Store of the new token, then unlock.
//
// An error from Load or TryLock is logged and treated as "nothing stored"
// and "lock held by us": the Budget still bounds what the account spends.
// An error from Store is logged only. Implementations must be safe for
// concurrent use and keep the token as secret as the Client Secret.
type Shared interface {
	// Load returns the token last stored, ok false when there is none.
	Load(ctx context.Context) (tok SharedToken, ok bool, err error)
	// Store publishes a token obtained by an exchange.
	Store(ctx context.Context, tok SharedToken) error
	// TryLock claims the right to exchange for at most ttl. When ok, the
	// caller exchanges and then calls unlock (which may be called after
	// ttl has passed and must then do nothing harmful).
	TryLock(ctx context.Context, ttl time.Duration) (unlock func(), ok bool, err error)
}

// SharedToken is an exchanged token as replicas share it. Each replica
// works out the expiry itself from the JWT and Obtained, by the same rules
// as for its own exchanges.
type SharedToken struct {
	JWT      string
	RUID     string    // the exchange's ruid, for support
	Obtained time.Time // when the exchange answered
}

// String describes the token without the JWT.
func (t SharedToken) String() string {
	return fmt.Sprintf("upstreamauth.SharedToken{jwt: %s, ruid: %q, obtained: %s}",
		redacted, t.RUID, t.Obtained.Format(time.RFC3339))
}

// Format prints String for every verb, so that no fmt verb can reach the
// JWT through reflection.
func (t SharedToken) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(t.String())) }

// LogValue makes slog print the token's ruid and age, never the JWT.
func (t SharedToken) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("jwt", redacted),
		slog.String("ruid", t.RUID),
		slog.Time("obtained_at", t.Obtained))
}

// errPeerExchanging is the cause of the KindUnavailable error returned
// while another replica holds the Shared lock and no usable token is
// cached.
var errPeerExchanging = errors.New("another replica is exchanging for a token")

// peerWait is how long a replica whose wait for a peer's token ran out
// holds off before it asks again.
const peerWait = time.Second

// defaultPeerPoll is how often a replica waiting for a peer's token asks
// Load.
const defaultPeerPoll = 50 * time.Millisecond

// localOnly is the default Shared: nothing is shared, the lock is always
// free.
type localOnly struct{}

func (localOnly) Load(context.Context) (SharedToken, bool, error) { return SharedToken{}, false, nil }
func (localOnly) Store(context.Context, SharedToken) error        { return nil }
func (localOnly) TryLock(context.Context, time.Duration) (func(), bool, error) {
	return func() {}, true, nil
}
