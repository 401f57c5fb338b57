package upstreamauth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testClientID = "5B5DCB72-TEST-CLIENT"
	testSecret   = "s3cr3t-Hunter2-do-not-log"
)

// fakeClock is the injected clock: time moves only when a test says so.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// b64 is base64url without padding, as JWT segments are.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// makeJWT builds an unsigned-looking compact JWT whose payload is the JSON
// of claims. The signature is junk: the code under test must not check it.
func makeJWT(claims map[string]any) string {
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	return b64(`{"alg":"RS256","typ":"JWT","kid":"test"}`) + "." + b64(string(payload)) + "." + b64("not-a-real-signature")
}

// jwtWithPayload builds a JWT whose payload segment is raw (may be garbage).
func jwtWithPayload(rawSegment string) string {
	return b64(`{"alg":"RS256","typ":"JWT"}`) + "." + rawSegment + "." + b64("sig")
}

// responder answers exchange call n (1-based). It may call f.issue.
type responder func(f *fakeExchange, w http.ResponseWriter, r *http.Request, n int)

// fakeExchange is the Booking.com token exchange, as far as the tests need
// it: it checks the request, counts calls (with the fake clock's time) and
// answers through respond, by default with a fresh one-hour token.
type fakeExchange struct {
	t     *testing.T
	clock *fakeClock
	srv   *httptest.Server

	mu       sync.Mutex
	lifetime time.Duration
	respond  responder
	calls    []time.Time
	issued   []string
}

func newFake(t *testing.T, clock *fakeClock, respond responder) *fakeExchange {
	t.Helper()
	f := &fakeExchange{t: t, clock: clock, lifetime: time.Hour, respond: respond}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// setLifetime sets the lifetime of the tokens issued from now on.
func (f *fakeExchange) setLifetime(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lifetime = d
}

func (f *fakeExchange) setResponder(r responder) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.respond = r
}

func (f *fakeExchange) serve(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		f.t.Errorf("exchange got %s with Content-Type %q, want POST application/json", r.Method, r.Header.Get("Content-Type"))
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		f.t.Errorf("exchange body: %v", err)
	}
	if body.ClientID != testClientID {
		f.t.Errorf("exchange client_id = %q, want %q", body.ClientID, testClientID)
	}
	f.mu.Lock()
	f.calls = append(f.calls, f.clock.Now())
	n := len(f.calls)
	respond := f.respond
	f.mu.Unlock()
	if respond == nil {
		if body.ClientSecret != testSecret {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"ruid": fmt.Sprintf("ruid-%d", n)})
			return
		}
		f.issue(w, n)
		return
	}
	respond(f, w, r, n)
}

// issue answers 200 with a new token that expires lifetime from now.
func (f *fakeExchange) issue(w http.ResponseWriter, n int) {
	now := f.clock.Now()
	f.mu.Lock()
	lifetime := f.lifetime
	f.mu.Unlock()
	jwt := makeJWT(map[string]any{
		"sub": "machine-account", "iss": "booking.com", "aud": "connectivity",
		"iat": now.Unix(), "exp": now.Add(lifetime).Unix(), "jti": fmt.Sprintf("jti-%d", n),
		"client_id": testClientID, "test": true,
	})
	f.issueJWT(w, n, jwt)
}

// issueJWT answers 200 with the given token.
func (f *fakeExchange) issueJWT(w http.ResponseWriter, n int, jwt string) {
	f.mu.Lock()
	f.issued = append(f.issued, jwt)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"jwt": jwt, "ruid": fmt.Sprintf("ruid-%d", n)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeExchange) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeExchange) callTimes() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.calls...)
}

func (f *fakeExchange) tokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.issued...)
}

// maxInAnyHour is the largest number of calls inside one sliding hour
// [t, t+1h) starting at any call.
func maxInAnyHour(times []time.Time) int {
	best := 0
	for i, start := range times {
		n := 0
		for _, t := range times[i:] {
			if t.Sub(start) < time.Hour {
				n++
			}
		}
		best = max(best, n)
	}
	return best
}

// newSource builds a TokenSource against f, logging into the returned
// buffer; edit adjusts the config.
func newSource(t *testing.T, f *fakeExchange, edit func(*TokenConfig)) (*TokenSource, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg := TokenConfig{
		ExchangeURL:  f.srv.URL,
		ClientID:     testClientID,
		ClientSecret: testSecret,
		HTTPClient:   f.srv.Client(),
		Now:          f.clock.Now,
		Logger:       slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(&cfg)
	}
	ts, err := NewTokenSource(cfg)
	if err != nil {
		t.Fatalf("NewTokenSource: %v", err)
	}
	t.Cleanup(func() { _ = ts.Close() })
	return ts, logs
}

func newRequest(t *testing.T) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "https://supply-xml.booking.com/contacts-api/properties/1/contacts", nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// authorize runs Authorize on a fresh request and returns the bearer token
// it set.
func authorize(ctx context.Context, t *testing.T, a interface {
	Authorize(context.Context, *http.Request) error
}) (string, *http.Request, error) {
	req := newRequest(t)
	err := a.Authorize(ctx, req)
	return bearerOf(req.Header.Get("Authorization")), req, err
}

// mustAuthorize is authorize that fails the test on error.
func mustAuthorize(t *testing.T, ts *TokenSource) (string, *http.Request) {
	t.Helper()
	tok, req, err := authorize(t.Context(), t, ts)
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	if tok == "" {
		t.Fatal("Authorize set no bearer token")
	}
	return tok, req
}

// asError returns err as *Error or fails the test.
func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if err == nil {
		t.Fatal("got nil error, want *Error")
	}
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v, want *Error", err, err)
	}
	return e
}
