package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/httpx"
)

// Demo machine account and credentials. Every credential the emulator
// accepts belongs to this one account.
const (
	// DemoClientID and DemoClientSecret are exchanged for a JWT at
	// POST /token-based-authentication/exchange.
	DemoClientID     = "demo-client-id"
	DemoClientSecret = "demo-client-secret"
	// DemoUsername and DemoPassword are the legacy Basic credentials
	// (deprecated by Booking.com, kept for the facade's legacy mode).
	DemoUsername = "demo"
	DemoPassword = "demo-password"
	// DemoStaticToken is accepted as "Authorization: Bearer
	// demo-static-token" without an exchange, for debugging with
	// CONTACTS_API_TOKEN.
	DemoStaticToken = "demo-static-token"
	// DemoMachineAccountID and DemoProviderID are the machine_account_id
	// (also sub) and provider_id claims of issued JWTs.
	DemoMachineAccountID = "demo-machine-account"
	DemoProviderID       = "demo-provider"
)

// Demo properties, seeded by New.
const (
	// DemoPropertyFull has two contacts: a general+invoices one with a full
	// person, an address in NL, a landline with extension and a mobile;
	// and a reservations+availability one.
	DemoPropertyFull = 1000001
	// DemoPropertyNoLanguage has a general contact whose person language is
	// missing in storage (GET answers "en-gb", or null with
	// no_language_fallback=1) and a contact with the read-only profile
	// "contract".
	DemoPropertyNoLanguage = 1000002
	// DemoPropertyEmpty has no contacts: POST creates them.
	DemoPropertyEmpty = 1000003
	// DemoPropertyNoAccess exists, but the demo account has no access to
	// it: every call answers 404 + OTA 635.
	DemoPropertyNoAccess = 1000004
)

// Defaults of Options.
const (
	DefaultTokenLifetime    = time.Hour
	defaultExchangesPerHour = 30
)

// maxBodyBytes caps request bodies; a larger body answers 400 + OTA 450.
// ASSUMPTION: the real limit is undocumented.
const maxBodyBytes = 1 << 20

// Paths served.
const (
	exchangePath     = "/token-based-authentication/exchange"
	propertiesPrefix = "/properties/"
	contactsSuffix   = "/contacts"
)

// Options configure an Emulator. The zero value gives the defaults.
type Options struct {
	// Now is the clock, for token lifetimes and the exchange budget;
	// tests inject one they can advance. Default time.Now.
	Now func() time.Time
	// TokenLifetime is exp - iat of issued JWTs. Default 1h.
	TokenLifetime time.Duration
	// ExchangesPerHour is the number of tokens one client id may obtain in
	// any sliding hour. Default 30.
	ExchangesPerHour int
	// Logger receives one debug record per request (method, path, status,
	// duration; never bodies or credentials). Default: discard.
	Logger *slog.Logger
	// Latency delays every request by this much before it is handled, to
	// emulate an upstream that is far away. The wait ends early when the
	// request's context does, and the request is then not answered.
	// Default 0: no delay.
	Latency time.Duration
	// LatencyJitter spreads the delay uniformly over Latency ± Jitter
	// (never below 0). Default 0.
	LatencyJitter time.Duration
	// Sleep waits d or until ctx ends, returning ctx's error then; tests
	// inject one that records d. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// ExtraProperties seeds this many more properties, with ids
	// FirstExtraProperty, FirstExtraProperty+1, ..., each holding a copy of
	// DemoPropertyFull's contacts: for benchmarks over many properties.
	ExtraProperties int
}

// FirstExtraProperty is the id of the first of Options.ExtraProperties.
const FirstExtraProperty = 2000001

// maxExtraProperties bounds Options.ExtraProperties, so that ids stay
// within int32 and memory within reason.
const maxExtraProperties = 1_000_000

// Emulator is an in-memory Contacts REST API and token exchange. It is an
// http.Handler serving the paths from "/". Safe for concurrent use.
type Emulator struct {
	now    func() time.Time
	log    *slog.Logger
	rules  *rules
	delay  func() time.Duration // nil: no injected latency
	sleep  func(ctx context.Context, d time.Duration) error
	tokens *tokens

	mu         sync.RWMutex
	properties map[int32]*property
	// puts counts the PUT requests that reached each property, for tests
	// (Puts).
	puts map[int32]int
	// posts counts the POST requests likewise.
	posts map[int32]int
}

// New returns an Emulator seeded with the demo properties.
func New(opts Options) *Emulator {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = DefaultTokenLifetime
	}
	if opts.ExchangesPerHour <= 0 {
		opts.ExchangesPerHour = defaultExchangesPerHour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Sleep == nil {
		opts.Sleep = sleepContext
	}
	props := seed()
	full := props[DemoPropertyFull].contacts
	for i := range min(opts.ExtraProperties, maxExtraProperties) {
		props[int32(FirstExtraProperty+i)] = &property{contacts: cloneContacts(full)}
	}
	return &Emulator{
		now:        opts.Now,
		log:        opts.Logger,
		rules:      newRules(),
		tokens:     newTokens(opts.TokenLifetime, opts.ExchangesPerHour),
		delay:      latency(opts.Latency, opts.LatencyJitter),
		sleep:      opts.Sleep,
		properties: props,
		puts:       map[int32]int{},
		posts:      map[int32]int{},
	}
}

// latency returns the delay of one request, or nil when there is none.
func latency(base, jitter time.Duration) func() time.Duration {
	base, jitter = max(base, 0), max(jitter, 0)
	if base == 0 && jitter == 0 {
		return nil
	}
	return func() time.Duration {
		d := base
		if jitter > 0 {
			d += time.Duration(rand.Int64N(int64(2*jitter)+1)) - jitter
		}
		return max(d, 0)
	}
}

// sleepContext waits d or until ctx ends.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RevokeTokens revokes every token issued so far; later calls with them
// answer 401. Tokens issued afterwards are valid. Meant for tests.
func (e *Emulator) RevokeTokens() { e.tokens.revokeAll() }

// Exchanges returns how many token exchanges named clientID, whatever
// their outcome (issued, wrong secret or refused for the budget). Meant
// for tests that check a client caches its token.
func (e *Emulator) Exchanges(clientID string) int { return e.tokens.exchanges(clientID) }

// statusRecorder remembers the status written, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// ServeHTTP routes a request. Routing errors (unknown path, wrong method)
// come first, then authentication, then the property, then the body.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The request log uses the wall clock: an injected clock may stand still.
	start := time.Now()
	if e.delay != nil {
		if err := e.sleep(r.Context(), e.delay()); err != nil {
			// The caller left during the injected latency: nothing to
			// answer, nothing to change.
			e.log.LogAttrs(r.Context(), slog.LevelDebug, "contacts emulator request abandoned",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Duration("duration", time.Since(start)),
			)
			return
		}
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	e.route(rec, r)
	// Only method, path and outcome are logged: bodies, query strings and
	// headers may hold personal data or credentials.
	e.log.LogAttrs(r.Context(), slog.LevelDebug, "contacts emulator request",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", rec.status),
		slog.Duration("duration", time.Since(start)),
	)
}

func (e *Emulator) route(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if path == exchangePath {
		if r.Method != http.MethodPost {
			writeProblems(w, http.StatusBadRequest, problem{code: codeUnableToProcess})
			return
		}
		e.serveExchange(w, r)
		return
	}
	id, ok := contactsPathID(path)
	if !ok {
		// Seed table, 450: "Incorrect endpoint URL/HTTP method".
		writeProblems(w, http.StatusBadRequest, problem{code: codeUnableToProcess})
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodPut, http.MethodPost:
	default:
		writeProblems(w, http.StatusBadRequest, problem{code: codeUnableToProcess})
		return
	}
	switch e.authorize(r) {
	case authUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="contacts-emulator"`)
		writeProblems(w, http.StatusUnauthorized, problem{code: codeAuthorization})
		return
	case authRejected:
		writeProblems(w, http.StatusBadRequest, problem{code: codeAuthorization})
		return
	}
	propertyID, ok := parsePropertyID(id)
	if !ok || !e.exists(propertyID) {
		writeProblems(w, http.StatusNotFound, problem{code: codeNotFound})
		return
	}
	switch r.Method {
	case http.MethodGet:
		e.serveGet(w, r, propertyID)
	case http.MethodPut:
		e.serveWrite(w, r, propertyID, false)
	case http.MethodPost:
		e.serveWrite(w, r, propertyID, true)
	}
}

// contactsPathID returns the {id} segment of /properties/{id}/contacts.
func contactsPathID(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, propertiesPrefix)
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, contactsSuffix)
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", false
	}
	return id, true
}

// parsePropertyID accepts a positive int32 written in decimal digits only
// (no sign, no spaces).
func parsePropertyID(s string) (int32, bool) {
	if strings.ContainsFunc(s, func(c rune) bool { return c < '0' || c > '9' }) {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n <= 0 {
		return 0, false
	}
	return int32(n), true
}

// exists reports whether the property exists and the demo account may see
// it. Unknown and inaccessible properties look the same (404 + 635), as
// the seed table describes.
func (e *Emulator) exists(id int32) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	p, ok := e.properties[id]
	return ok && !p.noAccess
}

// checkQuery reports query parameters the call does not know (394), and a
// bad no_language_fallback (320).
//
// ASSUMPTION: the seed table's 394 ("unknown parameter in the request")
// also covers query parameters; no_language_fallback takes "0" or "1" only,
// and only GET takes it.
func checkQuery(r *http.Request) []problem {
	var problems []problem
	q := r.URL.Query()
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if k == "no_language_fallback" && r.Method == http.MethodGet {
			if v := q.Get(k); v != "0" && v != "1" {
				problems = append(problems, problem{code: codeInvalidValue, field: k, allowed: noLanguageFallbackAllowed()})
			}
			continue
		}
		problems = append(problems, problem{code: codeInvalidItem, field: k})
	}
	return problems
}

func (e *Emulator) serveGet(w http.ResponseWriter, r *http.Request, id int32) {
	if problems := checkQuery(r); len(problems) > 0 {
		writeProblems(w, http.StatusBadRequest, problems...)
		return
	}
	noFallback := r.URL.Query().Get("no_language_fallback") == "1"

	e.mu.RLock()
	contacts := cloneContacts(e.properties[id].contacts)
	e.mu.RUnlock()

	for i := range contacts {
		if contacts[i].ContactPerson.LanguageCode == nil && !noFallback {
			contacts[i].ContactPerson.LanguageCode = ptr(fallbackLanguage)
		}
	}
	writeOK(w, &contactsData{Contacts: contacts})
}

// serveWrite answers PUT (overlay: the body's contacts replace all stored
// ones) and POST (create).
//
// ASSUMPTION (digest open question 5): POST appends the body's contacts to
// the property. The body is validated first, exactly as for PUT, and only
// then does a property that already has a general contact answer 150.
func (e *Emulator) serveWrite(w http.ResponseWriter, r *http.Request, id int32, create bool) {
	e.mu.Lock()
	if create {
		e.posts[id]++
	} else {
		e.puts[id]++
	}
	e.mu.Unlock()
	if problems := checkQuery(r); len(problems) > 0 {
		writeProblems(w, http.StatusBadRequest, problems...)
		return
	}
	body, ok := readBody(r)
	if !ok {
		writeProblems(w, http.StatusBadRequest, problem{code: codeUnableToProcess})
		return
	}
	doc, ok := decodeObject(body)
	if !ok {
		writeProblems(w, http.StatusBadRequest, problem{code: codeUnableToProcess})
		return
	}
	contacts, problems := e.rules.validateBody(doc)
	if len(problems) > 0 {
		writeProblems(w, http.StatusBadRequest, problems...)
		return
	}

	e.mu.Lock()
	p := e.properties[id]
	if create {
		for _, c := range p.contacts {
			if c.hasProfile(profileGeneral) {
				e.mu.Unlock()
				writeProblems(w, http.StatusBadRequest, problem{code: codeChangesNotPermitted})
				return
			}
		}
		p.contacts = append(p.contacts, contacts...)
	} else {
		p.contacts = contacts
	}
	e.mu.Unlock()
	writeOK(w, nil)
}

// readBody reads at most maxBodyBytes; ok is false for a larger body or a
// read error.
func readBody(r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil || len(body) > maxBodyBytes {
		return nil, false
	}
	return body, true
}

// decodeObject decodes body as exactly one JSON object, keeping numbers as
// json.Number so that phone_tech_type 1 and "1" can both be judged.
func decodeObject(body []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false // trailing data after the object
	}
	obj, ok := v.(map[string]any)
	return obj, ok
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves e in a goroutine,
// over HTTP/1.1 and, for clients that start with its preface, HTTP/2
// without TLS (h2c, as contactsd -upstream-h2c speaks it).
// It returns the base URL ("http://host:port") and stop, which shuts the
// server down gracefully, waiting for requests in flight until its context
// ends and then closing what is left. stop may be called more than once.
// ctx bounds only the listening; it does not stop the server.
func Start(ctx context.Context, addr string, e *Emulator) (baseURL string, stop func(context.Context) error, err error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelDebug),
	}
	httpx.ServeH2C(srv)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	var (
		once    sync.Once
		stopErr error
	)
	stop = func(ctx context.Context) error {
		once.Do(func() {
			shutdownErr := srv.Shutdown(ctx)
			if shutdownErr != nil {
				// The context ended with requests still in flight.
				_ = srv.Close()
			}
			serveErr := <-served
			if errors.Is(serveErr, http.ErrServerClosed) {
				serveErr = nil
			}
			stopErr = errors.Join(shutdownErr, serveErr)
		})
		return stopErr
	}
	return "http://" + ln.Addr().String(), stop, nil
}
