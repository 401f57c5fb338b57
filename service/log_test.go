package service

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/lograte"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// failingUpstream answers every call with err.
type failingUpstream struct{ err error }

func (f failingUpstream) List(context.Context, string, bool) (*contactsv1.ListContactsResponse, error) {
	return nil, f.err
}
func (f failingUpstream) Replace(context.Context, string, []*contactsv1.Contact) (*contactsv1.ReplaceContactsResponse, error) {
	return nil, f.err
}
func (f failingUpstream) Create(context.Context, string, []*contactsv1.Contact) (*contactsv1.CreateContactsResponse, error) {
	return nil, f.err
}

// syncBuffer is a log sink safe for the handlers of a test server.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func debugLogger(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestFailureLog: operators get the kind of a failure, and never the
// personal data an upstream body may hold.
func TestFailureLog(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want []string
	}{
		{
			name: "proxy HTML page: its type and size, no byte of it",
			err: &upstream.DecodeError{Method: upstream.MethodGet, HTTPStatus: 502, ContentType: "text/html", BodyBytes: 812,
				Kind: upstream.DecodeNotObject},
			want: []string{"http_status=502", "content_type=text/html", "body_bytes=812", `cause="body is not a JSON object"`},
		},
		{
			name: "wrong type: the JSON path and the types",
			err: &upstream.DecodeError{Method: upstream.MethodGet, HTTPStatus: 200, ContentType: "application/json", BodyBytes: 90,
				Kind: upstream.DecodeType, Path: "data.contacts[3].phones[0].phone_tech_type", Want: "integer", Got: "string"},
			want: []string{"content_type=application/json", `cause="data.contacts[3].phones[0].phone_tech_type: want integer, got string"`},
		},
		{
			name: "refused connection: the cause",
			err:  &upstream.TransportError{Method: upstream.MethodGet, NotSent: true, Err: syscall.ECONNREFUSED},
			want: []string{"reason=UPSTREAM_UNAVAILABLE", `cause="connection refused"`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf syncBuffer
			s := newForTest(t, failingUpstream{tc.err}, debugLogger(&buf))
			if _, err := s.ListContacts(context.Background(), &contactsv1.ListContactsRequest{PropertyId: "1000001"}); err == nil {
				t.Fatal("the call succeeded")
			}
			log := buf.String()
			for _, w := range tc.want {
				if !strings.Contains(log, w) {
					t.Errorf("log lacks %s:\n%s", w, log)
				}
			}
			if strings.Contains(log, "body_start") {
				t.Errorf("log holds the start of a body:\n%s", log)
			}
		})
	}
}

// Secrets of the hostile corpus: none may reach a log line, in any case.
var secrets = []string{
	"anna.devries@example.com",
	"+31 20 123 4567",
	"+31201234567",
	"0612345678",
	"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm5hIn0.c2lnbmF0dXJlLXNlY3JldA",
	"sk-live-7f3a9bc2d4e5",
	"AKIAIOSFODNN7EXAMPLE",
	"ZXhhbXBsZS1hcGkta2V5",
	"Anna de Vries",
	"Herengracht",
}

// Values of the request: no more loggable than the upstream's.
var requestSecrets = []string{"Jan Jansen", "jan.jansen@example.org", "+31207654321", "Keizersgracht 1"}

// hostileAnswer is one answer of the corpus.
type hostileAnswer struct {
	name        string
	status      int
	contentType string
	header      map[string]string
	body        string
	wantCause   string // a part of the log line that must be there, "" for none
}

func hostileCorpus() []hostileAnswer {
	jwt, bearer, key := secrets[4], "Bearer "+secrets[5], secrets[6]
	return []hostileAnswer{
		{name: "HTML 502 with token, bearer and key", status: 502, contentType: "text/html",
			body:      `<html><h1>502</h1><p>token=` + jwt + ` Authorization: ` + bearer + ` aws=` + key + ` call +31 20 123 4567 or anna.devries@example.com</p></html>`,
			wantCause: `cause="body is not a JSON object"`},
		{name: "HTML 200", status: 200, contentType: "text/html; charset=" + jwt,
			body: `<!doctype html><title>` + bearer + `</title>`, wantCause: "content_type=text/html"},
		{name: "plain text 500", status: 500, contentType: "text/plain",
			body: "upstream error: api_key=" + secrets[7] + " user=anna.devries@example.com phone=0612345678"},
		{name: "plain text 401 with a WWW-Authenticate", status: 401, contentType: "text/plain",
			header: map[string]string{"WWW-Authenticate": bearer}, body: "invalid token " + jwt},
		{name: "phone_tech_type holding an e-mail and a phone number", status: 200, contentType: "application/json",
			body:      `{"data":{"contacts":[{"contact_profiles":[{"type":"general"}],"phones":[{"phone_number":"+31201234567","phone_tech_type":"anna.devries@example.com +31 20 123 4567"}],"email":"anna.devries@example.com"}]},"meta":{"ruid":"abc"}}`,
			wantCause: `cause="data.contacts[0].phones[0].phone_tech_type: want integer or a string of digits, got string"`},
		{name: "phone_tech_type an object of secrets", status: 200, contentType: "application/json",
			body: `{"data":{"contacts":[{"phones":[{"phone_tech_type":{"Anna de Vries":"` + jwt + `"}}]}]}}`},
		{name: "truncated inside an e-mail", status: 200, contentType: "application/json",
			body:      `{"data":{"contacts":[{"contact_person":{"name":"Anna de Vries"},"email":"anna.devries@exam`,
			wantCause: `cause="malformed JSON at data.contacts[0].email"`},
		{name: "syntax error under a secret key", status: 200, contentType: "application/json",
			body: `{"data":{"` + jwt + `":{"anna.devries@example.com": 1x}}}`, wantCause: `cause="malformed JSON at data.?"`},
		{name: "content type that is a token", status: 200, contentType: jwt, body: "{", wantCause: "content_type=other body_bytes=1 too_large=false cause=\"malformed JSON\""},
		{name: "errors[] full of secrets", status: 400, contentType: "application/json",
			body: `{"errors":[{"code":"anna.devries@example.com","message":"` + bearer + ` is invalid for Anna de Vries","details":{"fields":["contacts[0].` + key + `"],"allowed_values":["+31201234567"]}},` +
				`{"code":"` + jwt + `","description":"Herengracht 597"}],"meta":{"ruid":"` + jwt + `"}}`,
			wantCause: "ota_code=invalid"},
		{name: "401 with a JWT code and a phone ruid", status: 401, contentType: "application/json",
			body: `{"errors":[{"code":"` + jwt + `","message":"token ` + jwt + ` expired"}],"meta":{"ruid":"+31201234567"}}`, wantCause: "request_id=invalid"},
		{name: "500 448 with an e-mail ruid", status: 500, contentType: "application/json",
			body: `{"errors":[{"code":"448","message":"System error for anna.devries@example.com"}],"meta":{"ruid":"anna.devries@example.com"}}`, wantCause: "ota_code=448"},
		{name: "code as a number object", status: 400, contentType: "application/json",
			body: `{"errors":[{"code":{"secret":"` + secrets[7] + `"}}]}`, wantCause: `cause="errors[0].code: want string or number, got object"`},
	}
}

// requestContacts is a valid request body holding requestSecrets.
func requestContacts() []*contactsv1.Contact {
	return []*contactsv1.Contact{{
		Profiles:      []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_GENERAL},
		ContactPerson: &contactsv1.ContactPerson{Name: "Jan Jansen", LanguageCode: "en-gb", JobTitle: contactsv1.JobTitle_JOB_TITLE_OWNER},
		Address:       &contactsv1.Address{AddressLine: "Keizersgracht 1", CityName: "Amsterdam", PostalCode: "1015 CJ", CountryCode: "NL", LanguageCode: "nl"},
		Phones:        []*contactsv1.Phone{{PhoneNumber: "+31207654321", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE}},
		Email:         "jan.jansen@example.org",
	}}
}

// TestHostileBodiesNeverLogged serves every answer of the corpus to List,
// Replace and Create through the real upstream client, with debug logging,
// and asserts that no value of the bodies, headers or request reaches the
// log.
func TestHostileBodiesNeverLogged(t *testing.T) {
	contacts := requestContacts()
	calls := map[string]func(*Service) error{
		"List": func(s *Service) error {
			_, err := s.ListContacts(t.Context(), &contactsv1.ListContactsRequest{PropertyId: "1000001"})
			return err
		},
		"Replace": func(s *Service) error {
			_, err := s.ReplaceContacts(t.Context(), &contactsv1.ReplaceContactsRequest{PropertyId: "1000001", Contacts: contacts})
			return err
		},
		"Create": func(s *Service) error {
			_, err := s.CreateContacts(t.Context(), &contactsv1.CreateContactsRequest{PropertyId: "1000001", Contacts: contacts})
			return err
		},
	}
	for _, a := range hostileCorpus() {
		for name, call := range calls {
			t.Run(a.name+"/"+name, func(t *testing.T) {
				hits := 0
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					hits++
					for k, v := range a.header {
						w.Header().Set(k, v)
					}
					w.Header().Set("Content-Type", a.contentType)
					w.WriteHeader(a.status)
					_, _ = w.Write([]byte(a.body))
				}))
				defer srv.Close()
				up, err := upstream.New(upstream.Config{BaseURL: srv.URL, HTTPClient: srv.Client(), Retry: upstream.RetryPolicy{MaxAttempts: 1}})
				if err != nil {
					t.Fatal(err)
				}
				var buf syncBuffer
				s := newForTest(t, up, debugLogger(&buf))
				if err := call(s); err == nil {
					t.Fatal("the call succeeded")
				}
				if hits == 0 {
					t.Fatal("the upstream was never called: the request was refused locally")
				}
				log := buf.String()
				if !strings.Contains(log, "upstream call failed") {
					t.Fatalf("nothing logged:\n%s", log)
				}
				for _, secret := range append(secrets, requestSecrets...) {
					for _, form := range []string{secret, strings.ToLower(secret), secret[:min(len(secret), 12)]} {
						if strings.Contains(log, form) {
							t.Errorf("log holds %q:\n%s", form, log)
						}
					}
				}
				if a.wantCause != "" && (name == "List" || !strings.Contains(a.wantCause, "data.")) && !strings.Contains(log, a.wantCause) {
					t.Errorf("log lacks %s:\n%s", a.wantCause, log)
				}
			})
		}
	}
}

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// TestFailureLogRateLimited: the same failure is logged at WARN once per
// interval, with the count held back; another kind has its own line, and
// the caller's mistakes at debug are all logged.
func TestFailureLogRateLimited(t *testing.T) {
	var buf syncBuffer
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	refused := &upstream.TransportError{Method: upstream.MethodGet, NotSent: true, Err: syscall.ECONNREFUSED}
	var current error = refused
	s := newForTest(t, upstreamFunc(func() error { return current }), debugLogger(&buf))
	s.limiter = lograte.New(failLogInterval, clock.now)
	list := func() {
		if _, err := s.ListContacts(t.Context(), &contactsv1.ListContactsRequest{PropertyId: "1000001"}); err == nil {
			t.Fatal("the call succeeded")
		}
	}
	lines := func() []string { return strings.Split(strings.TrimSpace(buf.String()), "\n") }

	for range 1000 {
		list()
	}
	if got := lines(); len(got) != 1 || strings.Contains(got[0], "suppressed") || !strings.Contains(got[0], "level=WARN") {
		t.Fatalf("1000 refusals in one instant gave %d lines, want 1 WARN without a count:\n%s", len(got), buf.String())
	}

	// Another kind of failure (code and reason): its own line at once.
	current = &upstream.APIError{Method: upstream.MethodGet, HTTPStatus: 429}
	list()
	current = refused
	if got := lines(); len(got) != 2 || !strings.Contains(got[1], "reason=RATE_LIMITED") {
		t.Fatalf("a 429 after the refusals: %d lines:\n%s", len(got), buf.String())
	}
	// The same failure of another REST method: its own line too. (A
	// Create reads first, under the write lock: that read succeeds here.)
	w := newForTest(t, writesFail(func() error { return current }), debugLogger(&buf))
	w.limiter = s.limiter
	if _, err := w.CreateContacts(t.Context(), &contactsv1.CreateContactsRequest{PropertyId: "1000001", Contacts: requestContacts()}); err == nil {
		t.Fatal("the call succeeded")
	}
	if got := lines(); len(got) != 3 || !strings.Contains(got[2], "rest_method=POST") {
		t.Fatalf("a refused POST after the GETs: %d lines:\n%s", len(got), buf.String())
	}

	// The interval passes: one line, counting the 999 held back and the
	// one more before it.
	clock.t = clock.t.Add(failLogInterval - time.Nanosecond)
	list()
	clock.t = clock.t.Add(time.Nanosecond)
	list()
	got := lines()
	if len(got) != 4 || !strings.Contains(got[3], "suppressed=1000") || !strings.Contains(got[3], `cause="connection refused"`) {
		t.Fatalf("after the interval: %d lines, want a fourth with suppressed=1000:\n%s", len(got), buf.String())
	}

	// A caller's mistake (NOT_FOUND) is logged at debug, every time.
	current = &upstream.APIError{Method: upstream.MethodGet, HTTPStatus: 404, Errors: []upstream.Message{{Code: "635"}}}
	for range 5 {
		list()
	}
	debug := 0
	for _, l := range lines() {
		if strings.Contains(l, "level=DEBUG") && strings.Contains(l, "code=NotFound") {
			debug++
		}
	}
	if debug != 5 {
		t.Fatalf("%d debug lines for 5 NOT_FOUND, want 5:\n%s", debug, buf.String())
	}
}

// writesFail reads an empty property and answers every write with the
// error f returns.
type writesFail func() error

func (f writesFail) List(context.Context, string, bool) (*contactsv1.ListContactsResponse, error) {
	return &contactsv1.ListContactsResponse{}, nil
}
func (f writesFail) Replace(context.Context, string, []*contactsv1.Contact) (*contactsv1.ReplaceContactsResponse, error) {
	return nil, f()
}
func (f writesFail) Create(context.Context, string, []*contactsv1.Contact) (*contactsv1.CreateContactsResponse, error) {
	return nil, f()
}

// upstreamFunc answers every call with the error f returns.
type upstreamFunc func() error

func (f upstreamFunc) List(context.Context, string, bool) (*contactsv1.ListContactsResponse, error) {
	return nil, f()
}
func (f upstreamFunc) Replace(context.Context, string, []*contactsv1.Contact) (*contactsv1.ReplaceContactsResponse, error) {
	return nil, f()
}
func (f upstreamFunc) Create(context.Context, string, []*contactsv1.Contact) (*contactsv1.CreateContactsResponse, error) {
	return nil, f()
}
