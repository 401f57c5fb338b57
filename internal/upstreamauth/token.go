package upstreamauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/httpx"
	"github.com/contacts-facade/contacts-facade/internal/lograte"
)

// DefaultExchangeURL is Booking.com's token exchange endpoint.
const DefaultExchangeURL = "https://connectivity-authentication.booking.com/token-based-authentication/exchange"

// Defaults of TokenConfig.
const (
	// defaultRenewBefore leaves room for a slow or failed renewal before
	// the token expires (tokens live an hour).
	defaultRenewBefore = 5 * time.Minute
	// DefaultMaxExchangesPerHour is Booking.com's limit of tokens per
	// account and hour.
	DefaultMaxExchangesPerHour = 30
	// defaultExchangeTimeout bounds one exchange, so a hung endpoint
	// cannot hold the waiting calls for long.
	defaultExchangeTimeout = 30 * time.Second
)

const (
	// minBackoff and maxBackoff bound the pause after a failed exchange.
	minBackoff = time.Second
	maxBackoff = 5 * time.Minute
	// suspectAge: a token the upstream first refuses younger than this is
	// evidence against the account (not enabled for the API, a 401
	// episode), not against the token, and renewing it is unlikely to
	// help.
	suspectAge = 10 * time.Minute
	// suspectMinBackoff is the first pause between renewals of such
	// tokens (and after an exchange issued an unusable one); it doubles
	// up to suspectMaxBackoff.
	suspectMinBackoff = 10 * time.Second
	// logInterval: a repeated log line of the same kind is written at most
	// once per interval, with the count of those held back.
	logInterval = time.Minute
	// snapshotTimeout bounds the budget read of Snapshot.
	snapshotTimeout = time.Second
)

// The outcomes TokenConfig.OnExchange reports, one per exchange wanted.
const (
	OutcomeOK              = "ok"               // a usable token
	OutcomeRejected        = "rejected"         // the exchange refused the credentials
	OutcomeUnavailable     = "unavailable"      // unreachable, timeout, 5xx, unexpected answer
	OutcomeRateLimited     = "rate_limited"     // HTTP 429
	OutcomeInvalidToken    = "invalid_token"    // 200 with a garbled or already expired token
	OutcomeBudgetExhausted = "budget_exhausted" // wanted, but the Budget refused; nothing sent
)

// TokenConfig configures a TokenSource. Only ClientID and ClientSecret are
// required.
type TokenConfig struct {
	// ExchangeURL is the token exchange endpoint; DefaultExchangeURL when
	// empty. Tests and emulators point it elsewhere.
	ExchangeURL string
	// ClientID identifies the machine account. It is not a secret and is
	// logged.
	ClientID string
	// ClientSecret is the machine account's secret. It is sent only in the
	// exchange body and never printed or logged.
	ClientSecret string
	// HTTPClient sends the exchange; a client with a transport of its own
	// when nil. The TokenSource uses a copy that does not follow
	// redirects, so the secret is never re-posted to another address.
	HTTPClient *http.Client
	// RenewBefore is how long before the token's exp a new one is
	// fetched; DefaultRenewBefore when zero. For a token that lives less
	// than twice this, renewal starts at half its lifetime instead.
	RenewBefore time.Duration
	// MaxExchangesPerHour caps the exchange attempts sent in any sliding
	// hour; DefaultMaxExchangesPerHour when zero. Ignored when Budget is
	// set.
	MaxExchangesPerHour int
	// Budget counts the exchange attempts against the account's hourly
	// allowance; nil means NewLocalBudget(MaxExchangesPerHour, Now). A
	// fleet-wide implementation lets replicas share one allowance.
	Budget Budget
	// Shared lets replicas share the token itself (see Shared); nil keeps
	// it in this process.
	Shared Shared
	// ExchangeTimeout bounds one exchange; DefaultExchangeTimeout when
	// zero. It is independent of the callers' contexts.
	ExchangeTimeout time.Duration
	// Now is the clock; time.Now when nil. Tests inject a fake one. It
	// must be safe for concurrent use.
	Now func() time.Time
	// Logger receives "upstream token obtained" (Info), exchange failures
	// and budget refusals (Warn, one line per kind and minute with a
	// count); nothing is logged when nil.
	Logger *slog.Logger
	// OnExchange, when set, is called once per exchange wanted, with one
	// of the Outcome constants, after the outcome is known (for metrics).
	// It must not block. It is not called when the token came from Shared
	// or another replica was exchanging.
	OnExchange func(outcome string)
}

// String describes the configuration without the secret, so that printing
// it by mistake is harmless.
func (c TokenConfig) String() string {
	return fmt.Sprintf("upstreamauth.TokenConfig{exchange_url: %q, client_id: %q, client_secret: %s}",
		c.ExchangeURL, c.ClientID, redacted)
}

// Format prints String for every verb, so that no fmt verb can reach the
// secret through reflection.
func (c TokenConfig) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue makes slog print the configuration without the secret.
func (c TokenConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("exchange_url", c.ExchangeURL),
		slog.String("client_id", c.ClientID),
		slog.String("client_secret", redacted),
	)
}

// token is one exchanged JWT and when to stop using it.
type token struct {
	jwt string
	// authorization is the header value, "Bearer " and jwt, built once:
	// a call in flight holds it rather than a copy of its own.
	authorization string
	ruid          string
	obtained      time.Time
	// renewAt is when Authorize starts a renewal; until expires the token
	// is still sent by calls that do not wait for it.
	renewAt time.Time
	expires time.Time
	// expFromJWT is false when the lifetime was assumed or cut.
	expFromJWT bool
	// firstRejected is when the upstream first refused this token while
	// it was the current one; zero if it never did.
	firstRejected time.Time
	// renewWanted: a rejection of this token was allowed to renew it, and
	// no new token has come yet. Renewing it is then retried (after the
	// back-off of failed exchanges) until one comes.
	renewWanted bool
}

// why says what an exchange is for; it decides the Budget reserve.
type why int

const (
	// whyNeed: no usable token, or the current one is due for renewal.
	// Such exchanges may spend the whole budget.
	whyNeed why = iota
	// whyRejected: the upstream refused a token that had not yet reached
	// its renewal point. Such exchanges leave the reserve untouched.
	whyRejected
)

func (w why) String() string {
	if w == whyRejected {
		return "rejected_token"
	}
	return "expiry"
}

// flight is one exchange in progress; done is closed when tok or err is
// set.
type flight struct {
	done chan struct{}
	why  why
	tok  *token
	err  *Error
}

// TokenSource is the upstream.Authorizer for token-based authentication.
// It holds one JWT for all calls and exchanges the Client ID and Secret for
// a new one only when needed: on the first call, when the token is within
// RenewBefore of its exp, or after the upstream rejected it. It guards the
// account's hourly token allowance: one exchange at a time (the others wait
// for it), a growing pause after failed exchanges, a growing pause between
// renewals of tokens refused soon after they were obtained, a reserve of
// the budget that such renewals may not spend, and a hard cap of the
// Budget's limit in any sliding hour.
//
// It starts no background work: renewal happens lazily inside Authorize.
// The only goroutine is the exchange in progress, which runs detached from
// the caller that started it (bounded by ExchangeTimeout) so that an
// impatient caller cannot fail the others; Close cancels and awaits it.
//
// A TokenSource is safe for concurrent use.
type TokenSource struct {
	ex          exchanger
	ownsClient  bool // the transport is ours: Close closes its connections
	renewBefore time.Duration
	timeout     time.Duration
	budget      Budget
	reserve     int // of budget, kept from whyRejected exchanges
	shared      Shared
	// peerPoll is how often a replica waiting for a peer's token asks
	// Shared.Load.
	peerPoll   time.Duration
	onExchange func(string)
	now        func() time.Time
	log        *slog.Logger
	logRate    *lograte.Limiter

	// base is the parent of every exchange's context; Close cancels it.
	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// onWait, when set (tests only), is called each time a caller starts
	// waiting for an exchange.
	onWait func()

	mu       sync.Mutex
	closed   bool
	tok      *token
	inflight *flight
	// failErr is the last exchange failure, repeated to callers without a
	// usable token while fail holds further exchanges off.
	failErr *Error
	fail    backoff
	// suspect spaces the renewals of tokens refused while young.
	suspect backoff
	// refused[w] is until when the Budget refused exchanges of reason w;
	// it is not asked again before.
	refused [2]time.Time
}

// NewTokenSource checks cfg and returns a TokenSource. No exchange happens
// until the first Authorize.
func NewTokenSource(cfg TokenConfig) (*TokenSource, error) {
	if cfg.ClientID == "" {
		return nil, errors.New("upstreamauth: client ID is required")
	}
	if cfg.ClientSecret == "" {
		return nil, errors.New("upstreamauth: client secret is required")
	}
	if cfg.ExchangeURL == "" {
		cfg.ExchangeURL = DefaultExchangeURL
	}
	u, err := url.Parse(cfg.ExchangeURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("upstreamauth: exchange URL %q is not an absolute http(s) URL", cfg.ExchangeURL)
	}
	if u.User != nil {
		return nil, errors.New("upstreamauth: exchange URL must not carry user info")
	}
	if cfg.RenewBefore < 0 || cfg.MaxExchangesPerHour < 0 || cfg.ExchangeTimeout < 0 {
		return nil, errors.New("upstreamauth: RenewBefore, MaxExchangesPerHour and ExchangeTimeout must not be negative")
	}
	if cfg.RenewBefore == 0 {
		cfg.RenewBefore = defaultRenewBefore
	}
	if cfg.MaxExchangesPerHour == 0 {
		cfg.MaxExchangesPerHour = DefaultMaxExchangesPerHour
	}
	if cfg.ExchangeTimeout == 0 {
		cfg.ExchangeTimeout = defaultExchangeTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Budget == nil {
		cfg.Budget = NewLocalBudget(cfg.MaxExchangesPerHour, cfg.Now)
	}
	if cfg.Shared == nil {
		cfg.Shared = localOnly{}
	}
	if cfg.OnExchange == nil {
		cfg.OnExchange = func(string) {}
	}
	var client http.Client
	ownTransport := false
	if cfg.HTTPClient != nil {
		client = *cfg.HTTPClient
	} else {
		// Our own pool, so that Close can drop its connections without
		// touching anyone else's.
		client.Transport = httpx.NewTransport(0)
		ownTransport = true
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	if u.Scheme == "http" && !httpx.IsLoopback(u.Hostname()) {
		cfg.Logger.Warn("upstream token exchange over plain http: the client secret travels unencrypted",
			slog.String("exchange_url", cfg.ExchangeURL))
	}
	base, cancel := context.WithCancel(context.Background())
	return &TokenSource{
		ex: exchanger{
			url:      cfg.ExchangeURL,
			clientID: cfg.ClientID,
			secret:   cfg.ClientSecret,
			client:   &client,
			now:      cfg.Now,
		},
		ownsClient:  ownTransport,
		renewBefore: cfg.RenewBefore,
		timeout:     cfg.ExchangeTimeout,
		budget:      cfg.Budget,
		reserve:     renewalReserve(cfg.Budget.Limit()),
		shared:      cfg.Shared,
		peerPoll:    defaultPeerPoll,
		onExchange:  cfg.OnExchange,
		now:         cfg.Now,
		log:         cfg.Logger,
		logRate:     lograte.New(logInterval, cfg.Now),
		base:        base,
		cancel:      cancel,
		fail:        backoff{min: minBackoff, max: maxBackoff},
		suspect:     backoff{min: suspectMinBackoff, max: suspectMaxBackoff(cfg.Budget.Limit())},
	}, nil
}

// Authorize sets "Authorization: Bearer <jwt>" on req, exchanging for a new
// token first when there is none or the current one is due for renewal.
// Errors are *Error, or ctx's error wrapped when ctx ends while waiting for
// an exchange (the exchange itself goes on for the other callers).
func (s *TokenSource) Authorize(ctx context.Context, req *http.Request) error {
	auth, err := s.token(ctx)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", auth)
	return nil
}

// token returns the Authorization value to send ("Bearer " and the JWT),
// starting or joining an exchange if needed.
// Whenever no new token can be had right now (an exchange is held off or
// refused) an unexpired current token is sent, even one the upstream
// refused: the upstream may have healed.
func (s *TokenSource) token(ctx context.Context) (string, error) {
	s.mu.Lock()
	now := s.now()
	if s.closed {
		s.mu.Unlock()
		return "", &Error{Kind: KindUnavailable, Err: errClosed}
	}
	cur := s.tok
	if cur != nil && now.Before(cur.renewAt) && !cur.renewWanted {
		s.mu.Unlock()
		return cur.authorization, nil
	}
	stillValid := cur != nil && now.Before(cur.expires)
	w := whyNeed
	if cur != nil && cur.renewWanted && now.Before(cur.renewAt) {
		w = whyRejected
	}
	if f := s.inflight; f != nil {
		s.mu.Unlock()
		if stillValid && !cur.renewWanted {
			// An ordinary renewal: the current token is good meanwhile.
			return cur.authorization, nil
		}
		return s.wait(ctx, f)
	}
	if s.failErr != nil && s.fail.active(now) {
		err := s.failErr
		s.mu.Unlock()
		if stillValid {
			return cur.authorization, nil
		}
		return "", err
	}
	if until := s.refused[w]; now.Before(until) {
		s.mu.Unlock()
		if stillValid {
			return cur.authorization, nil
		}
		return "", s.budgetError(until.Sub(now))
	}
	if err := ctx.Err(); err != nil {
		// Do not spend the budget on a caller that is already gone.
		s.mu.Unlock()
		return "", fmt.Errorf("upstreamauth: before token exchange: %w", err)
	}
	if w == whyNeed && cur != nil && cur.firstRejected.IsZero() {
		// A token that reached its renewal point unrefused is the best
		// evidence there is that the account works.
		s.suspect.reset()
	}
	f := s.startLocked(w)
	s.mu.Unlock()
	// The caller that starts a renewal waits for it, so renewals are seen
	// to succeed or fail; if it fails, wait falls back to the old token.
	return s.wait(ctx, f)
}

// wait blocks until f ends or ctx does. After a failed exchange it still
// answers with the cached token if that one has not expired.
func (s *TokenSource) wait(ctx context.Context, f *flight) (string, error) {
	if s.onWait != nil {
		s.onWait()
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		return "", fmt.Errorf("upstreamauth: waiting for token exchange: %w", ctx.Err())
	}
	if f.err == nil {
		return f.tok.authorization, nil
	}
	s.mu.Lock()
	cur := s.tok
	ok := cur != nil && s.now().Before(cur.expires)
	s.mu.Unlock()
	if ok {
		return cur.authorization, nil
	}
	return "", f.err
}

// budgetError is the error of a call refused by the budget.
func (s *TokenSource) budgetError(retry time.Duration) *Error {
	return &Error{
		Kind:       KindBudgetExhausted,
		RetryAfter: retry,
		Err:        fmt.Errorf("%d exchanges sent in the last hour", s.budget.Limit()),
	}
}

// canStartLocked reports whether an Authorize now could get a new token:
// an exchange is in progress, or one of reason w may start.
func (s *TokenSource) canStartLocked(now time.Time, w why) bool {
	if s.closed {
		return false
	}
	if s.inflight != nil {
		return true
	}
	if s.failErr != nil && s.fail.active(now) {
		return false
	}
	return !now.Before(s.refused[w])
}

// startLocked starts an exchange of reason w detached from any caller's
// context.
func (s *TokenSource) startLocked(w why) *flight {
	f := &flight{done: make(chan struct{}), why: w}
	s.inflight = f
	s.wg.Add(1)
	go s.run(f)
	return f
}

// reserveFor is the Budget reserve an exchange of reason w must leave.
func (s *TokenSource) reserveFor(w why) int {
	if w == whyRejected {
		return s.reserve
	}
	return 0
}

// newToken works out when to renew and stop using jwt; an error wraps
// ErrInvalidToken.
func (s *TokenSource) newToken(jwt, ruid string, obtained time.Time) (*token, error) {
	expires, fromJWT, err := tokenExpiry(jwt, obtained)
	if err != nil {
		return nil, err
	}
	t := &token{jwt: jwt, authorization: "Bearer " + jwt, ruid: ruid, obtained: obtained, expires: expires, expFromJWT: fromJWT}
	t.renewAt = expires.Add(-min(s.renewBefore, expires.Sub(obtained)/2))
	return t, nil
}

// Rejected is called when the upstream refused the token Authorize put on
// req, and reports whether a retry can get a different token.
//
//   - A token that is not the current one (a newer one came meanwhile, or
//     req had none) never renews: the retry sends the current token, if
//     there is a usable one.
//   - The current token renews at most once: the first rejection that is
//     allowed to marks it for renewal, which the retry's Authorize starts
//     (and, if that exchange fails, later calls retry after its back-off).
//     The token is not dropped: until a new one comes it is still sent.
//   - A token first refused within suspectAge of being obtained is
//     evidence against the account, not the token: such renewals are
//     spaced by a back-off (10s doubling to 1m), rejections within it do
//     not renew, and they may not spend the Budget's reserve.
func (s *TokenSource) Rejected(req *http.Request) bool {
	sent := ""
	if req != nil {
		sent = bearerOf(req.Header.Get("Authorization"))
	}
	s.mu.Lock()
	now := s.now()
	cur := s.tok
	if s.closed {
		s.mu.Unlock()
		return false
	}
	if cur == nil || sent == "" || sent != cur.jwt {
		var retry bool
		if cur != nil && now.Before(cur.expires) {
			// The retry sends the current token, or waits for its pending
			// renewal.
			retry = !cur.renewWanted || s.canStartLocked(now, whyRejected)
		} else {
			retry = s.canStartLocked(now, whyNeed)
		}
		s.mu.Unlock()
		return retry
	}
	if cur.renewWanted {
		retry := s.canStartLocked(now, whyRejected)
		s.mu.Unlock()
		return retry
	}
	if cur.firstRejected.IsZero() {
		cur.firstRejected = now
	}
	suspect := cur.firstRejected.Sub(cur.obtained) < suspectAge
	decision := "renew"
	switch {
	case !suspect:
		s.suspect.reset()
	case s.suspect.active(now):
		decision = "back_off"
	default:
		s.suspect.fail(now, 0)
	}
	retry := false
	if decision == "renew" {
		cur.renewWanted = true
		retry = s.canStartLocked(now, whyRejected)
	}
	obtained, expires := cur.obtained, cur.expires
	s.mu.Unlock()
	s.logLimited(slog.LevelInfo, "rejected/"+decision, "upstream rejected the current token",
		slog.String("client_id", s.ex.clientID),
		slog.String("decision", decision),
		slog.Bool("young", suspect),
		slog.Time("obtained_at", obtained),
		slog.Time("expires_at", expires),
		slog.Bool("retry", retry))
	return retry
}

// Close cancels an exchange in progress, waits for it to end and makes
// later Authorize calls fail with ErrClosed. It always returns nil.
func (s *TokenSource) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	if s.ownsClient {
		s.ex.client.CloseIdleConnections()
	}
	return nil
}

// String describes the source without the secret or the token.
func (s *TokenSource) String() string {
	return fmt.Sprintf("upstreamauth.TokenSource{exchange_url: %q, client_id: %q, client_secret: %s}",
		s.ex.url, s.ex.clientID, redacted)
}

// Format prints String for every verb, so that no fmt verb can reach the
// secret or the token through reflection.
func (s *TokenSource) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// LogValue makes slog print the source's identity and token state, never
// the secret or the token itself.
func (s *TokenSource) LogValue() slog.Value {
	s.mu.Lock()
	tok := s.tok
	s.mu.Unlock()
	attrs := []slog.Attr{
		slog.String("scheme", "token"),
		slog.String("exchange_url", s.ex.url),
		slog.String("client_id", s.ex.clientID),
		slog.String("client_secret", redacted),
	}
	if tok != nil {
		attrs = append(attrs,
			slog.String("token", redacted),
			slog.Time("token_expires_at", tok.expires))
	} else {
		attrs = append(attrs, slog.String("token", "none"))
	}
	return slog.GroupValue(attrs...)
}
