package upstreamauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/httpx"
)

// DefaultExchangeURL is Booking.com's token exchange endpoint.
const DefaultExchangeURL = "https://connectivity-authentication.booking.com/token-based-authentication/exchange"

// Defaults of TokenConfig.
const (
	// DefaultRenewBefore leaves room for a slow or failed renewal before
	// the token expires (tokens live an hour).
	DefaultRenewBefore = 5 * time.Minute
	// DefaultMaxExchangesPerHour is Booking.com's limit of tokens per
	// account and hour.
	DefaultMaxExchangesPerHour = 30
	// DefaultExchangeTimeout bounds one exchange, so a hung endpoint
	// cannot hold the waiting calls for long.
	DefaultExchangeTimeout = 30 * time.Second
)

const (
	// maxBodyBytes caps the exchange answer we read; a token answer is a
	// few hundred bytes.
	maxBodyBytes = 64 << 10
	// fallbackLifetime is assumed when the JWT has no usable exp; it is the
	// documented lifetime.
	fallbackLifetime = time.Hour
	// budgetWindow is the sliding window of MaxExchangesPerHour.
	budgetWindow = time.Hour
	// minBackoff and maxBackoff bound the pause after a failed exchange.
	minBackoff = time.Second
	maxBackoff = 5 * time.Minute
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
	// HTTPClient sends the exchange; a plain http.Client when nil. The
	// TokenSource uses a copy that does not follow redirects, so the
	// secret is never re-posted to another address.
	HTTPClient *http.Client
	// RenewBefore is how long before the token's exp a new one is
	// fetched; DefaultRenewBefore when zero. For a token that lives less
	// than twice this, renewal starts at half its lifetime instead.
	RenewBefore time.Duration
	// MaxExchangesPerHour caps the exchange attempts sent in any sliding
	// hour; DefaultMaxExchangesPerHour when zero.
	MaxExchangesPerHour int
	// ExchangeTimeout bounds one exchange; DefaultExchangeTimeout when
	// zero. It is independent of the callers' contexts.
	ExchangeTimeout time.Duration
	// Now is the clock; time.Now when nil. Tests inject a fake one. It
	// must be safe for concurrent use.
	Now func() time.Time
	// Logger receives "upstream token obtained" (Info) and exchange
	// failures (Warn); nothing is logged when nil.
	Logger *slog.Logger
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
	jwt      string
	ruid     string
	obtained time.Time
	// renewAt is when Authorize starts a renewal; until expires the token
	// is still sent by calls that do not wait for it.
	renewAt time.Time
	expires time.Time
	// expFromJWT is false when the lifetime was assumed (no usable exp).
	expFromJWT bool
}

// flight is one exchange in progress; done is closed when tok or err is
// set.
type flight struct {
	done chan struct{}
	tok  *token
	err  *Error
}

// TokenSource is the upstream.Authorizer for token-based authentication.
// It holds one JWT for all calls and exchanges the Client ID and Secret for
// a new one only when needed: on the first call, when the token is within
// RenewBefore of its exp, or after the upstream rejected it. It guards the
// account's hourly token allowance: one exchange at a time (the others wait
// for it), a growing pause after failures, and a hard cap of
// MaxExchangesPerHour attempts in any sliding hour.
//
// It starts no background work: renewal happens lazily inside Authorize.
// The only goroutine is the exchange in progress, which runs detached from
// the caller that started it (bounded by ExchangeTimeout) so that an
// impatient caller cannot fail the others; Close cancels and awaits it.
//
// A TokenSource is safe for concurrent use.
type TokenSource struct {
	exchangeURL string
	clientID    string
	secret      string
	client      *http.Client
	ownsClient  bool // the transport is ours: Close closes its connections
	renewBefore time.Duration
	maxPerHour  int
	timeout     time.Duration
	now         func() time.Time
	log         *slog.Logger

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
	// attempts are the send times of the exchanges of the last hour,
	// oldest first.
	attempts []time.Time
	// failErr is the last exchange failure, repeated to callers until
	// failUntil; backoff is the pause that set failUntil.
	failErr   *Error
	failUntil time.Time
	backoff   time.Duration
	// budgetWarned avoids a Warn per call while the budget is spent.
	budgetWarned bool
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
		cfg.RenewBefore = DefaultRenewBefore
	}
	if cfg.MaxExchangesPerHour == 0 {
		cfg.MaxExchangesPerHour = DefaultMaxExchangesPerHour
	}
	if cfg.ExchangeTimeout == 0 {
		cfg.ExchangeTimeout = DefaultExchangeTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
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
		exchangeURL: cfg.ExchangeURL,
		clientID:    cfg.ClientID,
		secret:      cfg.ClientSecret,
		client:      &client,
		ownsClient:  ownTransport,
		renewBefore: cfg.RenewBefore,
		maxPerHour:  cfg.MaxExchangesPerHour,
		timeout:     cfg.ExchangeTimeout,
		now:         cfg.Now,
		log:         cfg.Logger,
		base:        base,
		cancel:      cancel,
	}, nil
}

// Authorize sets "Authorization: Bearer <jwt>" on req, exchanging for a new
// token first when there is none or the current one is due for renewal.
// Errors are *Error, or ctx's error wrapped when ctx ends while waiting for
// an exchange (the exchange itself goes on for the other callers).
func (s *TokenSource) Authorize(ctx context.Context, req *http.Request) error {
	jwt, err := s.token(ctx)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+jwt)
	return nil
}

// token returns the JWT to send, starting or joining an exchange if needed.
func (s *TokenSource) token(ctx context.Context) (string, error) {
	s.mu.Lock()
	now := s.now()
	if s.closed {
		s.mu.Unlock()
		return "", &Error{Kind: KindUnavailable, Err: ErrClosed}
	}
	cur := s.tok
	if cur != nil && now.Before(cur.renewAt) {
		s.mu.Unlock()
		return cur.jwt, nil
	}
	// Between renewAt and expires the current token is still good: calls
	// that cannot get a new one right away send it rather than wait or fail.
	stillValid := cur != nil && now.Before(cur.expires)
	if f := s.inflight; f != nil {
		s.mu.Unlock()
		if stillValid {
			return cur.jwt, nil
		}
		return s.wait(ctx, f)
	}
	if s.failErr != nil && now.Before(s.failUntil) {
		err := s.failErr
		s.mu.Unlock()
		if stillValid {
			return cur.jwt, nil
		}
		return "", err
	}
	if retry, ok := s.budgetLocked(now); !ok {
		warn := !s.budgetWarned
		s.budgetWarned = true
		s.mu.Unlock()
		if warn {
			s.log.Warn("upstream token exchange budget exhausted",
				slog.String("client_id", s.clientID),
				slog.Int("max_exchanges_per_hour", s.maxPerHour),
				slog.Duration("retry_after", retry))
		}
		if stillValid {
			return cur.jwt, nil
		}
		return "", &Error{
			Kind:       KindBudgetExhausted,
			RetryAfter: retry,
			Err:        fmt.Errorf("%d exchanges sent in the last hour", s.maxPerHour),
		}
	}
	if err := ctx.Err(); err != nil {
		// Do not spend the budget on a caller that is already gone.
		s.mu.Unlock()
		return "", fmt.Errorf("upstreamauth: before token exchange: %w", err)
	}
	f := s.startLocked(now)
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
		return f.tok.jwt, nil
	}
	s.mu.Lock()
	cur := s.tok
	ok := cur != nil && s.now().Before(cur.expires)
	s.mu.Unlock()
	if ok {
		return cur.jwt, nil
	}
	return "", f.err
}

// budgetLocked drops attempts older than the window and reports whether
// another may be sent; if not, it says when the oldest leaves the window.
func (s *TokenSource) budgetLocked(now time.Time) (retryAfter time.Duration, ok bool) {
	cut := now.Add(-budgetWindow)
	i := 0
	for i < len(s.attempts) && !s.attempts[i].After(cut) {
		i++
	}
	if i > 0 {
		s.attempts = append(s.attempts[:0], s.attempts[i:]...)
	}
	if len(s.attempts) < s.maxPerHour {
		return 0, true
	}
	return s.attempts[0].Add(budgetWindow).Sub(now), false
}

// canExchangeLocked reports whether an Authorize now would start an
// exchange (or join one in progress).
func (s *TokenSource) canExchangeLocked(now time.Time) bool {
	if s.closed {
		return false
	}
	if s.inflight != nil {
		return true
	}
	if s.failErr != nil && now.Before(s.failUntil) {
		return false
	}
	_, ok := s.budgetLocked(now)
	return ok
}

// startLocked records an attempt and starts the exchange detached from any
// caller's context.
func (s *TokenSource) startLocked(now time.Time) *flight {
	f := &flight{done: make(chan struct{})}
	s.inflight = f
	// Every attempt counts, even one that fails before reaching the
	// upstream: we cannot always tell, and over-counting is the safe side.
	s.attempts = append(s.attempts, now)
	s.budgetWarned = false
	s.wg.Add(1)
	go s.run(f)
	return f
}

// run performs the exchange of f and publishes its outcome.
func (s *TokenSource) run(f *flight) {
	defer s.wg.Done()
	ctx, cancel := context.WithTimeout(s.base, s.timeout)
	tok, err := s.exchange(ctx)
	cancel()

	if err == nil {
		s.log.Info("upstream token obtained",
			slog.String("client_id", s.clientID),
			slog.Time("obtained_at", tok.obtained),
			slog.Time("expires_at", tok.expires),
			slog.Bool("expiry_from_jwt", tok.expFromJWT),
			slog.String("ruid", tok.ruid))
	}

	s.mu.Lock()
	now := s.now()
	s.inflight = nil
	if err == nil {
		s.tok = tok
		s.failErr = nil
		s.backoff = 0
	} else {
		if s.backoff == 0 {
			s.backoff = minBackoff
		} else {
			s.backoff = min(2*s.backoff, maxBackoff)
		}
		s.failErr = err
		// Honour a Retry-After longer than the back-off, but never past
		// the budget window: by then the upstream's hourly count has reset.
		s.failUntil = now.Add(max(s.backoff, min(err.RetryAfter, budgetWindow)))
	}
	backoff := s.backoff
	f.tok, f.err = tok, err
	s.mu.Unlock()

	if err != nil {
		s.log.Warn("upstream token exchange failed",
			slog.String("client_id", s.clientID),
			slog.String("kind", err.Kind.String()),
			slog.Int("status", err.HTTPStatus),
			slog.String("ruid", err.RequestID),
			slog.Duration("retry_after", err.RetryAfter),
			slog.Duration("backoff", backoff),
			slog.String("error", err.Error()))
	}
	close(f.done)
}

type exchangeRequest struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// exchangeAnswer is the 200 body; error bodies are undocumented, so ruid
// is looked for both at the top and under meta (the Contacts API's place).
type exchangeAnswer struct {
	JWT  string `json:"jwt"`
	RUID string `json:"ruid"`
	Meta struct {
		RUID string `json:"ruid"`
	} `json:"meta"`
}

// exchange sends one exchange request and turns the answer into a token or
// an *Error.
func (s *TokenSource) exchange(ctx context.Context) (*token, *Error) {
	body, err := json.Marshal(exchangeRequest{ClientID: s.clientID, ClientSecret: s.secret})
	if err != nil {
		return nil, &Error{Kind: KindUnavailable, Err: errors.New("encoding the exchange request failed")}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.exchangeURL, bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Kind: KindUnavailable, Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, &Error{Kind: KindUnavailable, Err: err}
	}
	defer func() { _ = resp.Body.Close() }()

	data, readErr := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	tooLarge := len(data) > maxBodyBytes
	var ans exchangeAnswer
	var decodeErr error
	switch {
	case readErr != nil:
		decodeErr = fmt.Errorf("reading the answer: %w", readErr)
	case tooLarge:
		decodeErr = fmt.Errorf("answer larger than %d bytes", maxBodyBytes)
	default:
		if err := json.Unmarshal(data, &ans); err != nil {
			decodeErr = fmt.Errorf("undecodable answer (%s): %w", resp.Header.Get("Content-Type"), err)
		}
	}
	ruid := ans.RUID
	if ruid == "" {
		ruid = ans.Meta.RUID
	}
	obtained := s.now()
	retryAfter := httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), obtained)
	fail := func(kind Kind, cause error) *Error {
		return &Error{Kind: kind, HTTPStatus: resp.StatusCode, RequestID: ruid, RetryAfter: retryAfter, Err: cause}
	}

	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		if decodeErr != nil {
			return nil, fail(KindUnavailable, decodeErr)
		}
		if !validBearer(ans.JWT) {
			return nil, fail(KindUnavailable, errors.New("answer holds no usable jwt"))
		}
		return s.newToken(ans.JWT, ruid, obtained), nil
	case code == http.StatusBadRequest || code == http.StatusUnauthorized || code == http.StatusForbidden:
		return nil, fail(KindCredentialsRejected, nil)
	case code == http.StatusTooManyRequests:
		return nil, fail(KindRateLimited, nil)
	default:
		// 5xx, but also redirects (not followed) and unexpected 4xx such
		// as 404 from a wrong URL: the exchange is not usable right now.
		return nil, fail(KindUnavailable, nil)
	}
}

// newToken works out when to renew and stop using jwt.
func (s *TokenSource) newToken(jwt, ruid string, obtained time.Time) *token {
	t := &token{jwt: jwt, ruid: ruid, obtained: obtained}
	exp, ok := jwtExpiry(jwt)
	// An exp at or before now (unreadable, or our clock ahead of the
	// issuer's) would make the token useless at once and every call
	// exchange again; assume the documented hour instead and let a 401
	// (Rejected) correct it.
	if ok && exp.After(obtained) {
		t.expires, t.expFromJWT = exp, true
	} else {
		t.expires = obtained.Add(fallbackLifetime)
	}
	lifetime := t.expires.Sub(obtained)
	t.renewAt = t.expires.Add(-min(s.renewBefore, lifetime/2))
	return t
}

// Rejected is called when the upstream refused the token Authorize put on
// req. If that is the cached token it is dropped, so the next Authorize
// exchanges; if a different, unexpired token is already cached (another
// call renewed meanwhile) the retry will use that one. It reports whether
// the retry can get a different token: false when none is cached and no
// exchange could start now (budget spent, back-off after a failure, closed).
func (s *TokenSource) Rejected(req *http.Request) bool {
	sent := ""
	if req != nil {
		sent = bearerOf(req.Header.Get("Authorization"))
	}
	s.mu.Lock()
	now := s.now()
	var dropped *token
	if cur := s.tok; cur != nil {
		if sent != "" && cur.jwt == sent {
			dropped = cur
			s.tok = nil
		} else if now.Before(cur.expires) && !s.closed {
			s.mu.Unlock()
			return true
		}
	}
	retry := s.canExchangeLocked(now)
	s.mu.Unlock()
	if dropped != nil {
		s.log.Info("upstream rejected the cached token; dropping it",
			slog.String("client_id", s.clientID),
			slog.Time("obtained_at", dropped.obtained),
			slog.Time("expires_at", dropped.expires),
			slog.Bool("will_renew", retry))
	}
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
		s.client.CloseIdleConnections()
	}
	return nil
}

// String describes the source without the secret or the token.
func (s *TokenSource) String() string {
	return fmt.Sprintf("upstreamauth.TokenSource{exchange_url: %q, client_id: %q, client_secret: %s}",
		s.exchangeURL, s.clientID, redacted)
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
		slog.String("exchange_url", s.exchangeURL),
		slog.String("client_id", s.clientID),
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
