package upstream

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/contacts-facade/contacts-facade/internal/httpx"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// Defaults of Config and RetryPolicy; see their fields.
const (
	DefaultMaxBodyBytes = 1 << 20
	DefaultUserAgent    = "contacts-facade"
	DefaultMaxAttempts  = 3
	DefaultBaseDelay    = 50 * time.Millisecond
	DefaultMaxDelay     = time.Second
	DefaultMaxTokens    = 10
	DefaultTokenRatio   = 0.1
)

const (
	// snippetBytes is how much of an undecodable body a DecodeError keeps.
	snippetBytes = 256
	// maxPooledBuffer keeps an occasional huge answer from pinning its
	// buffer in the pool for good.
	maxPooledBuffer = 1 << 20
)

// Config configures a Client. Only BaseURL is required.
type Config struct {
	// BaseURL is the absolute http(s) URL the /properties/... paths hang
	// under, e.g. "https://supply-xml.booking.com/contacts-api". A trailing
	// slash makes no difference.
	BaseURL string

	// Authorizer puts credentials on every request; nil sends none (an
	// emulator, or a proxy that adds them).
	Authorizer Authorizer

	// HTTPClient sends the requests. Nil gives a client with its own pooled
	// transport, no overall timeout (the deadline comes from the context)
	// and no redirect following. A caller-supplied client should not follow
	// redirects either: Go turns a redirected PUT into a GET.
	HTTPClient *http.Client

	// MaxBodyBytes caps how much of an answer is read; a longer body is a
	// *DecodeError with TooLarge set. Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64

	// UserAgent is sent on every request; empty means DefaultUserAgent.
	UserAgent string

	// Retry is the retry policy; the zero value means the defaults.
	Retry RetryPolicy
}

// RetryPolicy says when a failed call is sent again. See the package doc
// for which failures are retried.
type RetryPolicy struct {
	// MaxAttempts is the number of sends including the first; 1 turns
	// retries off. Zero means DefaultMaxAttempts.
	MaxAttempts int
	// BaseDelay is the backoff cap before the first retry; it doubles per
	// retry up to MaxDelay, and the wait is drawn uniformly below the cap
	// ("full jitter"). Zero means DefaultBaseDelay.
	BaseDelay time.Duration
	// MaxDelay caps every wait. A Retry-After longer than this ends the
	// retries, leaving the decision to the caller. Zero means
	// DefaultMaxDelay.
	MaxDelay time.Duration
	// Budget throttles retries when the upstream keeps failing.
	Budget RetryBudget
}

// RetryBudget is a token bucket shared by all calls of a Client, after gRPC
// retry throttling: it starts full at MaxTokens, every failed send takes one
// token, every other answer gives back TokenRatio, and retries happen only
// while more than half the tokens are left. A struggling upstream thus gets
// its first sends, not a multiple of them.
type RetryBudget struct {
	// MaxTokens is the bucket size. Zero means DefaultMaxTokens.
	MaxTokens float64
	// TokenRatio is what a successful send gives back. Zero means
	// DefaultTokenRatio.
	TokenRatio float64
}

// Client calls the Contacts REST API. It is safe for concurrent use; create
// one per upstream and share it, so connections and the retry budget are
// shared too.
type Client struct {
	base      string // scheme://host/path without a trailing slash
	auth      Authorizer
	http      *http.Client
	maxBody   int64
	userAgent string
	retry     RetryPolicy
	budget    budget
	bufs      sync.Pool // of *bytes.Buffer, for reading answers

	// sleep waits between attempts; tests replace it so they never sleep.
	sleep func(ctx context.Context, d time.Duration) error
}

// New checks cfg, fills in the defaults and returns a Client.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("upstream: BaseURL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("upstream: BaseURL %q: want an absolute http or https URL", cfg.BaseURL)
	case u.Host == "":
		return nil, fmt.Errorf("upstream: BaseURL %q: no host", cfg.BaseURL)
	case u.User != nil:
		return nil, errors.New("upstream: BaseURL must not carry credentials; use an Authorizer")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("upstream: BaseURL %q: no query or fragment allowed", cfg.BaseURL)
	case cfg.MaxBodyBytes < 0:
		return nil, errors.New("upstream: MaxBodyBytes must not be negative")
	}
	r := cfg.Retry
	if r.MaxAttempts < 0 || r.BaseDelay < 0 || r.MaxDelay < 0 || r.Budget.MaxTokens < 0 || r.Budget.TokenRatio < 0 {
		return nil, errors.New("upstream: RetryPolicy values must not be negative")
	}
	r.MaxAttempts = cmp.Or(r.MaxAttempts, DefaultMaxAttempts)
	r.BaseDelay = cmp.Or(r.BaseDelay, DefaultBaseDelay)
	r.MaxDelay = max(cmp.Or(r.MaxDelay, DefaultMaxDelay), r.BaseDelay)
	r.Budget.MaxTokens = cmp.Or(r.Budget.MaxTokens, DefaultMaxTokens)
	r.Budget.TokenRatio = cmp.Or(r.Budget.TokenRatio, DefaultTokenRatio)

	c := &Client{
		base:      u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"),
		auth:      cfg.Authorizer,
		http:      cfg.HTTPClient,
		maxBody:   cmp.Or(cfg.MaxBodyBytes, DefaultMaxBodyBytes),
		userAgent: cmp.Or(cfg.UserAgent, DefaultUserAgent),
		retry:     r,
		sleep:     sleepContext,
	}
	c.budget.init(r.Budget)
	if c.http == nil {
		c.http = defaultHTTPClient()
	}
	return c, nil
}

// defaultHTTPClient has its own transport so that the facade's connection
// pool is sized for one busy upstream host and nobody else's settings leak
// in, and refuses redirects so that a PUT never turns into a GET.
func defaultHTTPClient() *http.Client {
	// As many idle connections as the gRPC server admits streams on one
	// connection: with 100, at 128 callers contacts-bench saw ~3,700
	// connections closed and dialled again per run; with 1000, none.
	return &http.Client{
		Transport: httpx.NewTransport(1000),
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// CloseIdleConnections closes the idle connections of the HTTP client, for
// shutdown.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// List reads every contact of a property (GET). noLanguageFallback asks the
// upstream not to replace a missing language with en-gb.
func (c *Client) List(ctx context.Context, propertyID string, noLanguageFallback bool) (*contactsv1.ListContactsResponse, error) {
	u := c.contactsURL(propertyID)
	if noLanguageFallback {
		u += "?no_language_fallback=1"
	}
	var env Envelope
	if err := c.do(ctx, MethodGet, u, nil, &env); err != nil {
		return nil, err
	}
	contacts, unknown := ContactsFromWire(env.Data.Contacts)
	return &contactsv1.ListContactsResponse{
		Contacts:  contacts,
		Warnings:  append(warningsFromWire(env.Warnings), unknown...),
		RequestId: env.requestID(),
	}, nil
}

// Replace replaces ALL contacts of a property with contacts (PUT): contacts
// not in the list are deleted upstream.
func (c *Client) Replace(ctx context.Context, propertyID string, contacts []*contactsv1.Contact) (*contactsv1.ReplaceContactsResponse, error) {
	env, err := c.write(ctx, MethodPut, propertyID, contacts)
	if err != nil {
		return nil, err
	}
	return &contactsv1.ReplaceContactsResponse{Warnings: warningsFromWire(env.Warnings), RequestId: env.requestID()}, nil
}

// Create creates the contacts of a property that has none (POST, the legacy
// call of the troubleshooting table).
func (c *Client) Create(ctx context.Context, propertyID string, contacts []*contactsv1.Contact) (*contactsv1.CreateContactsResponse, error) {
	env, err := c.write(ctx, MethodPost, propertyID, contacts)
	if err != nil {
		return nil, err
	}
	return &contactsv1.CreateContactsResponse{Warnings: warningsFromWire(env.Warnings), RequestId: env.requestID()}, nil
}

// write sends contacts with PUT or POST.
//
// The body is marshalled once into its own slice and reused as is by every
// attempt. It is not taken from a pool: the transport may still read a
// request body after Do has returned, so recycling it would be a race.
func (c *Client) write(ctx context.Context, m Method, propertyID string, contacts []*contactsv1.Contact) (*Envelope, error) {
	body, err := json.Marshal(ContactsBody{Contacts: ContactsToWire(contacts)})
	if err != nil {
		// Unreachable: the wire types hold only strings, ints and slices.
		return nil, fmt.Errorf("upstream: encoding %s body: %w", m, err)
	}
	var env Envelope
	if err := c.do(ctx, m, c.contactsURL(propertyID), body, &env); err != nil {
		return nil, err
	}
	return &env, nil
}

// contactsURL is {base}/properties/{id}/contacts with the id path-escaped,
// so that an id such as "1/../2" can never change the path.
func (c *Client) contactsURL(propertyID string) string {
	return c.base + "/properties/" + url.PathEscape(propertyID) + "/contacts"
}

// do runs one call: it sends, resends once with fresh credentials when the
// upstream rejects them and the Authorizer agrees, and retries per the
// policy. On success env holds the decoded answer.
func (c *Client) do(ctx context.Context, m Method, u string, body []byte, env *Envelope) error {
	reauthorized := false
	for attempt := 1; ; {
		req, err := c.newRequest(ctx, m, u, body)
		if err != nil {
			return err
		}
		err = c.send(req, m, env)
		if ctx.Err() == nil {
			c.budget.record(err)
		}
		if err == nil {
			return nil
		}
		if c.auth != nil && !reauthorized && credentialsRejected(err) && c.auth.Rejected(req) {
			reauthorized = true
			continue
		}
		if attempt >= c.retry.MaxAttempts || ctx.Err() != nil || !retryable(m, err) || !c.budget.allow() {
			return err
		}
		wait, ok := c.backoff(ctx, attempt, retryAfter(err))
		if !ok {
			return err
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return &TransportError{Method: m, Err: fmt.Errorf("%w while waiting to retry after: %v", serr, err)}
		}
		attempt++
	}
}

// newRequest builds and authorizes one attempt. An Authorizer error is
// returned unchanged so that callers can still recognise its type.
func (c *Client) newRequest(ctx context.Context, m Method, u string, body []byte) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body) // sets GetBody and ContentLength too
	}
	req, err := http.NewRequestWithContext(ctx, string(m), u, r)
	if err != nil {
		// Unreachable: New checked the base and the id is path-escaped.
		return nil, &TransportError{Method: m, NotSent: true, Err: err}
	}
	h := req.Header
	h["Accept"] = []string{"application/json"}
	h["Accept-Version"] = []string{"1.0"}
	h["User-Agent"] = []string{c.userAgent}
	if body != nil {
		h["Content-Type"] = []string{"application/json"}
	}
	if c.auth != nil {
		if err := c.auth.Authorize(ctx, req); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// send makes one HTTP exchange and decodes its answer into env.
func (c *Client) send(req *http.Request, m Method, env *Envelope) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return transportError(req.Context(), m, err)
	}
	buf := c.buffer()
	defer c.recycle(buf)

	limit := c.maxBody + 1
	if resp.ContentLength > c.maxBody {
		limit = snippetBytes // too large already: read only what the snippet needs
	}
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, limit))
	// Closing before EOF drops the connection instead of draining it, which
	// is what bounds the reading of an endless body.
	resp.Body.Close()
	if err != nil {
		return transportError(req.Context(), m, err)
	}
	if int64(buf.Len()) > c.maxBody || resp.ContentLength > c.maxBody {
		return &DecodeError{
			Method:      m,
			HTTPStatus:  resp.StatusCode,
			ContentType: resp.Header.Get("Content-Type"),
			Snippet:     snippet(buf.Bytes()),
			TooLarge:    true,
			RetryAfter:  httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
			Err:         fmt.Errorf("body larger than %d bytes", c.maxBody),
		}
	}
	*env = Envelope{}
	return decodeAnswer(m, resp.StatusCode, resp.Header, buf.Bytes(), env)
}

// decodeAnswer turns a complete HTTP answer into env or a typed error,
// without guessing:
//
//   - the body must be a JSON object, else *DecodeError (HTML from a proxy,
//     empty, truncated, trailing garbage);
//   - a non-2xx status gives *APIError, with whatever the object held;
//   - a 2xx object must hold at least one envelope member (data, errors,
//     warnings, meta), so that some unrelated JSON is never taken for a
//     successful write; GET needs data.contacts as a list;
//   - a 2xx envelope with errors[] is an *APIError, never half a success.
func decodeAnswer(m Method, status int, h http.Header, body []byte, env *Envelope) error {
	fail := func(err error) error {
		return &DecodeError{
			Method:      m,
			HTTPStatus:  status,
			ContentType: h.Get("Content-Type"),
			Snippet:     snippet(body),
			RetryAfter:  httpx.ParseRetryAfter(h.Get("Retry-After"), time.Now()),
			Err:         err,
		}
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return fail(errors.New("empty body"))
	}
	if trimmed[0] != '{' {
		return fail(errors.New("body is not a JSON object"))
	}
	if err := json.Unmarshal(body, env); err != nil {
		return fail(err)
	}
	ok := status >= 200 && status <= 299
	if ok && len(env.Errors) == 0 {
		switch {
		case env.Data == nil && env.Errors == nil && env.Warnings == nil && env.Meta == nil:
			return fail(errors.New("no envelope member (data, errors, warnings, meta)"))
		case m == MethodGet && (env.Data == nil || env.Data.Contacts == nil):
			return fail(errors.New("data.contacts missing or not a list"))
		}
		return nil
	}
	return &APIError{
		Method:     m,
		HTTPStatus: status,
		Errors:     env.Errors,
		Warnings:   env.Warnings,
		RequestID:  env.requestID(),
		RetryAfter: httpx.ParseRetryAfter(h.Get("Retry-After"), time.Now()),
	}
}

// snippet copies at most the first snippetBytes of body, cut back to a
// whole UTF-8 character so that logs get valid text.
func snippet(body []byte) string {
	if len(body) <= snippetBytes {
		return string(body)
	}
	b := body[:snippetBytes]
	// Find where the last character starts; drop it if it is cut short.
	start := len(b) - 1
	for start > len(b)-utf8.UTFMax && !utf8.RuneStart(b[start]) {
		start--
	}
	if !utf8.FullRune(b[start:]) {
		b = b[:start]
	}
	return string(b)
}

// transportError wraps a failure to get a complete answer. When the
// context is done the context error is kept in the chain, so that
// errors.Is(err, context.DeadlineExceeded) holds whatever net/http wrapped.
func transportError(ctx context.Context, m Method, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w: %w", cerr, err)
	}
	return &TransportError{Method: m, NotSent: dialFailed(err), Err: err}
}

// dialFailed reports whether err is a failure to open the connection (the
// upstream or the proxy refused, was unreachable, or its name did not
// resolve). Only then did the request provably never leave. TLS handshake
// failures are left out on purpose: that is rare and a write is better
// surfaced than resent on a guess.
func dialFailed(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect") {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// credentialsRejected reports whether the upstream refused the credentials:
// HTTP 401 whatever the body, or 400 carrying OTA 497. A 403 is not a
// rejection: it means "authenticated, but no access to this property", and
// renewing the token for it would spend the hourly token budget on calls
// that cannot succeed.
func credentialsRejected(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.HTTPStatus == http.StatusUnauthorized ||
			(ae.HTTPStatus == http.StatusBadRequest && ae.HasCode("497"))
	}
	var de *DecodeError
	return errors.As(err, &de) && de.HTTPStatus == http.StatusUnauthorized
}

// retryable reports whether the policy allows another send after err. GET
// is safe to repeat; PUT and POST are repeated only when the request
// provably never left, because a replayed overlay or create may undo or
// duplicate work.
func retryable(m Method, err error) bool {
	var te *TransportError
	if errors.As(err, &te) {
		return m == MethodGet || te.NotSent
	}
	if m != MethodGet {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return retryableStatus(ae.HTTPStatus) ||
			(ae.HTTPStatus == http.StatusInternalServerError && ae.HasCode("448")) ||
			(ae.HTTPStatus == http.StatusBadRequest && ae.HasCode("447"))
	}
	var de *DecodeError
	return errors.As(err, &de) && retryableStatus(de.HTTPStatus)
}

// retryableStatus is the gateway family: the answer came from a proxy that
// could not get one from the upstream.
func retryableStatus(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// failedSend reports whether an attempt's outcome counts against the retry
// budget: a sign of an unhealthy upstream, not of a bad request.
func failedSend(err error) bool {
	if err == nil {
		return false
	}
	var te *TransportError
	if errors.As(err, &te) {
		return true
	}
	status := 0
	var ae *APIError
	var de *DecodeError
	switch {
	case errors.As(err, &ae):
		if ae.HasCode("447") || ae.HasCode("448") {
			return true
		}
		status = ae.HTTPStatus
	case errors.As(err, &de):
		status = de.HTTPStatus
	}
	return status >= 500 || status == http.StatusTooManyRequests
}

// retryAfter is the Retry-After the upstream sent with err, if any.
func retryAfter(err error) time.Duration {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.RetryAfter
	}
	var de *DecodeError
	if errors.As(err, &de) {
		return de.RetryAfter
	}
	return 0
}

// backoff picks the wait before retry number attempt: uniform in
// [0, min(MaxDelay, BaseDelay·2^(attempt-1))], but at least the upstream's
// Retry-After. It reports false when the wait is not worth starting: the
// Retry-After exceeds MaxDelay, or the wait would end past the deadline.
func (c *Client) backoff(ctx context.Context, attempt int, after time.Duration) (time.Duration, bool) {
	if after > c.retry.MaxDelay {
		return 0, false
	}
	ceiling := c.retry.BaseDelay
	for i := 1; i < attempt && ceiling < c.retry.MaxDelay; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, c.retry.MaxDelay)
	wait := max(rand.N(ceiling+1), after)
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
		return 0, false
	}
	return wait, true
}

// sleepContext waits d or until ctx is done.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// buffer takes a read buffer from the pool.
func (c *Client) buffer() *bytes.Buffer {
	if b, ok := c.bufs.Get().(*bytes.Buffer); ok {
		b.Reset()
		return b
	}
	return new(bytes.Buffer)
}

// recycle returns a buffer to the pool unless it grew too big to keep.
func (c *Client) recycle(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBuffer {
		c.bufs.Put(b)
	}
}

// budget is the token bucket of RetryBudget, in thousandths of a token so
// that it fits an atomic integer (as grpc-go does).
type budget struct {
	max, ratio, threshold int64
	tokens                atomic.Int64
}

func (b *budget) init(cfg RetryBudget) {
	b.max = int64(cfg.MaxTokens * 1000)
	b.ratio = int64(cfg.TokenRatio * 1000)
	b.threshold = b.max / 2
	b.tokens.Store(b.max)
}

// record takes a token for a failed send and gives back ratio otherwise.
func (b *budget) record(err error) {
	delta := b.ratio
	if failedSend(err) {
		delta = -1000
	}
	for {
		old := b.tokens.Load()
		n := min(max(old+delta, 0), b.max)
		if n == old || b.tokens.CompareAndSwap(old, n) {
			return
		}
	}
}

// allow reports whether a retry may be sent now.
func (b *budget) allow() bool { return b.tokens.Load() > b.threshold }
