package upstream

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/contacts-facade/contacts-facade/internal/httpx"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// Defaults of Config and RetryPolicy; see their fields.
const (
	defaultMaxBodyBytes = 1 << 20
	defaultUserAgent    = "contacts-facade"
	defaultMaxAttempts  = 3
	defaultBaseDelay    = 50 * time.Millisecond
	defaultMaxDelay     = time.Second
	defaultMaxTokens    = 10
	defaultTokenRatio   = 0.1
)

const (
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
	// transport (httpx.NewTransport: response headers capped at
	// httpx.MaxResponseHeaderBytes), no overall timeout (the deadline comes
	// from the context) and no redirect following. A caller-supplied client
	// should not follow redirects either (Go turns a redirected PUT into a
	// GET), and its header cap is the caller's business.
	HTTPClient *http.Client

	// H2C speaks HTTP/2 without TLS (prior knowledge, httpx.UseH2C) to an
	// http:// BaseURL, such as a proxy beside the facade that speaks h2c.
	// It applies to the default client only (HTTPClient nil) and is an
	// error with an https:// BaseURL, where HTTP/2 is negotiated by TLS
	// anyway.
	H2C bool

	// MaxBodyBytes caps how much of an answer is read; a longer body is a
	// *DecodeError with TooLarge set. Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64

	// UserAgent is sent on every request; empty means DefaultUserAgent.
	UserAgent string

	// Retry is the retry policy; the zero value means the defaults.
	Retry RetryPolicy

	// Observer, when set, is told of every HTTP attempt.
	Observer Observer

	// Governor, when set, admits every HTTP attempt, retries included
	// (internal/governor).
	Governor Governor
}

// Governor keeps the fleet's calls under the account's limit: Admit is
// called before every attempt, may wait, and its error ends the call
// unchanged, without a round trip (a status error reaches the caller as
// is); Observe is told each answer's HTTP status (0 when none came) and
// Retry-After.
type Governor interface {
	Admit(ctx context.Context) error
	Observe(httpStatus int, retryAfter time.Duration)
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
	observer  Observer
	gov       Governor
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
	case cfg.H2C && u.Scheme != "http":
		return nil, fmt.Errorf("upstream: H2C needs an http:// BaseURL, not %q (over TLS HTTP/2 is negotiated anyway)", u.Scheme)
	}
	r, err := cfg.Retry.withDefaults()
	if err != nil {
		return nil, err
	}

	c := &Client{
		base:      u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"),
		auth:      cfg.Authorizer,
		http:      cfg.HTTPClient,
		maxBody:   cmp.Or(cfg.MaxBodyBytes, defaultMaxBodyBytes),
		userAgent: cmp.Or(cfg.UserAgent, defaultUserAgent),
		retry:     r,
		observer:  cfg.Observer,
		gov:       cfg.Governor,
		sleep:     sleepContext,
	}
	c.budget.init(r.Budget)
	if c.http == nil {
		c.http = defaultHTTPClient(cfg.H2C)
	}
	return c, nil
}

// NewTransport is the transport of the default client (Config.HTTPClient
// nil), for a caller that wraps it (tracing) in a client of its own: as
// many idle connections as the gRPC server admits streams on one
// connection (with 100 idle connections, 128 callers saw ~3,700
// connections closed and dialled again per run; with 1000, none), and
// h2c when asked (Config.H2C).
func NewTransport(h2c bool) *http.Transport {
	t := httpx.NewTransport(1000)
	if h2c {
		httpx.UseH2C(t)
	}
	return t
}

// defaultHTTPClient has its own transport so that the facade's connection
// pool is sized for one busy upstream host and nobody else's settings leak
// in, and refuses redirects so that a PUT never turns into a GET.
func defaultHTTPClient(h2c bool) *http.Client {
	return &http.Client{
		Transport: NewTransport(h2c),
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
	return listResponse(&env), nil
}

// listResponse converts a GET's answer (out of line: see exchange).
//
//go:noinline
func listResponse(env *Envelope) *contactsv1.ListContactsResponse {
	contacts, unknown := ContactsFromWire(env.Data.Contacts)
	return &contactsv1.ListContactsResponse{
		Contacts:  contacts,
		Warnings:  append(warningsFromWire(env.Warnings), unknown...),
		RequestId: env.requestID(),
	}
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
// answer's row says the credentials were refused and the Authorizer agrees,
// and retries when the row allows it, per the policy. On success env holds
// the decoded answer.
func (c *Client) do(ctx context.Context, m Method, u string, body []byte, env *Envelope) error {
	reauthorized := false
	for attempt := 1; ; {
		if c.gov != nil {
			if err := c.gov.Admit(ctx); err != nil {
				return err
			}
		}
		req, err := c.newRequest(ctx, m, u, body)
		if err != nil {
			return err
		}
		err = c.send(req, m, env)
		if c.gov != nil {
			c.gov.Observe(answerStatus(err), retryAfter(err))
		}
		if ctx.Err() == nil {
			c.budget.record(err)
		}
		if err == nil {
			return nil
		}
		var again, reauth bool
		if again, reauth, err = c.nextAttempt(ctx, m, req, err, attempt, reauthorized); !again {
			return err
		}
		if reauth {
			reauthorized = true
			continue
		}
		attempt++
	}
}

// nextAttempt decides what follows the failed attempt number attempt: again
// with a new token (reauth), again after a backoff it has waited, or
// not (again false, with the error to return). Out of line: see exchange.
//
//go:noinline
func (c *Client) nextAttempt(ctx context.Context, m Method, req *http.Request, err error, attempt int, reauthorized bool) (again, reauth bool, _ error) {
	row, _ := Meaning(err) // every error of send has a row
	if c.auth != nil && !reauthorized && row.RenewToken && c.auth.Rejected(req) {
		return true, true, err
	}
	if attempt >= c.retry.MaxAttempts || ctx.Err() != nil || !mayRetry(m, row) || !c.budget.allow() {
		return false, false, err
	}
	wait, ok := c.backoff(ctx, attempt, retryAfter(err))
	if !ok {
		return false, false, err
	}
	if serr := c.sleep(ctx, wait); serr != nil {
		return false, false, &TransportError{Method: m, Err: fmt.Errorf("%w while waiting to retry after: %v", serr, err)}
	}
	return true, false, err
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

// send makes one HTTP exchange, decodes its answer into env and tells the
// observer and the span in the request's context what came of it.
func (c *Client) send(req *http.Request, m Method, env *Envelope) error {
	start := time.Now()
	status, err := c.exchange(req, m, env)
	c.observeAttempt(req, m, status, env, err, start)
	return err
}

// observeAttempt is send's observing, out of line (see exchange).
//
//go:noinline
func (c *Client) observeAttempt(req *http.Request, m Method, status int, env *Envelope, err error, start time.Time) {
	if c.observer != nil || trace.SpanFromContext(req.Context()).IsRecording() {
		c.observe(req.Context(), m, status, env, err, time.Since(start))
	}
}

// exchange is send without the observing: it returns the answer's HTTP
// status (0 when none came) and the typed error of a failure.
//
// It and its callers down to the caller's goroutine are on the stack while
// the answer is awaited, so the work before and after the wait is in
// functions of their own (kept out of line): what is small here is small
// for every call in flight (see docs/performance.md).
func (c *Client) exchange(req *http.Request, m Method, env *Envelope) (int, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, doError(req, m, err)
	}
	return c.answer(req, m, resp, env)
}

// doError is the typed error of a failed http.Client.Do.
//
//go:noinline
func doError(req *http.Request, m Method, err error) error {
	if headersTooLarge(err) {
		return &DecodeError{Method: m, Kind: DecodeHeadersTooLarge, TooLarge: true}
	}
	return transportError(req.Context(), m, err)
}

// answer reads and decodes an answer, at most c.maxBody of it.
//
//go:noinline
func (c *Client) answer(req *http.Request, m Method, resp *http.Response, env *Envelope) (int, error) {
	buf := c.buffer()
	defer c.recycle(buf)

	limit := c.maxBody + 1
	if resp.ContentLength > c.maxBody {
		limit = 0 // too large already: read nothing
	}
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, limit))
	// Closing before EOF drops the connection instead of draining it, which
	// is what bounds the reading of an endless body.
	resp.Body.Close()
	if err != nil {
		return 0, transportError(req.Context(), m, err) // no complete answer
	}
	if int64(buf.Len()) > c.maxBody || resp.ContentLength > c.maxBody {
		return resp.StatusCode, &DecodeError{
			Method:      m,
			HTTPStatus:  resp.StatusCode,
			ContentType: mediaType(resp.Header.Get("Content-Type")),
			BodyBytes:   max(int64(buf.Len()), resp.ContentLength),
			Kind:        DecodeBodyTooLarge,
			TooLarge:    true,
			RetryAfter:  httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		}
	}
	*env = Envelope{}
	return resp.StatusCode, decodeAnswer(m, resp.StatusCode, resp.Header, buf.Bytes(), env)
}

// headersTooLarge reports whether err is net/http refusing an answer whose
// headers passed the transport's MaxResponseHeaderBytes. net/http has no
// sentinel for it, so this matches the texts of HTTP/1.1 and HTTP/2 (Go
// 1.26); TestHeadersTooLarge fails if the HTTP/1.1 text changes.
func headersTooLarge(err error) bool {
	s := err.Error()
	return strings.Contains(s, "server response headers exceeded") ||
		strings.Contains(s, "response header list larger than advertised limit")
}

// Span attributes set on the caller's span after every attempt.
const (
	attrHTTPStatus = attribute.Key("http.response.status_code")
	attrOTACode    = attribute.Key("contacts.upstream.ota_code")
	attrRequestID  = attribute.Key("contacts.upstream.request_id")
)

// observe tells the Observer of one attempt and records the answer's HTTP
// status, first OTA code and request id on the span in ctx.
func (c *Client) observe(ctx context.Context, m Method, status int, env *Envelope, err error, d time.Duration) {
	outcome, ota, ruid := OutcomeOK, "", ""
	if err == nil {
		ruid = env.requestID()
	} else if ae, ok := errors.AsType[*APIError](err); ok {
		outcome, ota, ruid = OutcomeErrorAnswer, ae.firstCode(), ae.RequestID
	} else if de, ok := errors.AsType[*DecodeError](err); ok {
		outcome = OutcomeDecodeError
		if de.TooLarge {
			outcome = OutcomeTooLarge
		}
	} else {
		outcome = OutcomeTransportError
	}
	if c.observer != nil {
		c.observer.ObserveAttempt(m, status, ota, outcome, d)
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(attrHTTPStatus.Int(status), attrOTACode.String(cut(ota, maxCodeInError)), attrRequestID.String(cut(ruid, maxRUIDInError)))
	}
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
