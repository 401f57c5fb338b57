package upstream

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// TestMain fails the run if a test leaves goroutines behind: a leaked
// connection or a handler that never returns would show up here.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// reply is one scripted answer of the fake upstream.
type reply struct {
	status int
	file   string            // under testdata; "" sends body
	body   string            // sent when file is "", as application/json
	header map[string]string // extra response headers
	hijack bool              // promise 1000 bytes, send a few, close the connection
}

// seen is what the fake upstream received.
type seen struct {
	method     string
	requestURI string
	header     http.Header
	body       []byte
}

// fakeUpstream is an httptest server that answers with respond and records
// every request.
type fakeUpstream struct {
	*httptest.Server
	mu       sync.Mutex
	requests []seen
}

func newFakeUpstream(t *testing.T, respond func(hit int, r *http.Request) reply) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		hit := len(f.requests)
		f.requests = append(f.requests, seen{r.Method, r.RequestURI, r.Header.Clone(), body})
		f.mu.Unlock()
		serveReply(t, w, respond(hit, r))
	}))
	t.Cleanup(f.Close)
	return f
}

// script answers the replies in order, repeating the last one.
func script(replies ...reply) func(int, *http.Request) reply {
	return func(hit int, _ *http.Request) reply {
		return replies[min(hit, len(replies)-1)]
	}
}

func (f *fakeUpstream) hits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func (f *fakeUpstream) request(i int) seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[i]
}

func serveReply(t *testing.T, w http.ResponseWriter, r reply) {
	if r.hijack {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"data\": {\"contacts\": [")
		buf.Flush()
		conn.Close()
		return
	}
	body := []byte(r.body)
	if r.body != "" {
		w.Header().Set("Content-Type", "application/json")
	}
	if r.file != "" {
		var err error
		if body, err = os.ReadFile(filepath.Join("testdata", r.file)); err != nil {
			t.Errorf("testdata: %v", err)
		}
		switch filepath.Ext(r.file) {
		case ".json":
			w.Header().Set("Content-Type", "application/json")
		case ".html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		default:
			w.Header().Set("Content-Type", "text/plain")
		}
	}
	for k, v := range r.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(r.status)
	w.Write(body)
}

// waits records the backoff waits of a client instead of sleeping.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

// newTestClient builds a client for baseURL whose waits are recorded, never
// slept. The fake upstream's own HTTP client is used unless cfg has one, so
// that closing the server also closes the client's connections.
func newTestClient(t *testing.T, f *fakeUpstream, cfg Config) (*Client, *waits) {
	t.Helper()
	if cfg.BaseURL == "" {
		cfg.BaseURL = f.URL
	}
	if cfg.HTTPClient == nil && f != nil {
		cfg.HTTPClient = f.Client()
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	w := &waits{}
	c.sleep = func(ctx context.Context, d time.Duration) error {
		w.mu.Lock()
		w.d = append(w.d, d)
		w.mu.Unlock()
		return ctx.Err()
	}
	return c, w
}

// deadAddress is a loopback address nobody listens on any more, so that a
// dial fails at once with "connection refused".
func deadAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// sampleContacts is a valid property: a general contact with everything set
// and a second one with the minimum.
func sampleContacts() []*contactsv1.Contact {
	return []*contactsv1.Contact{
		{
			Profiles: []contactsv1.ProfileType{
				contactsv1.ProfileType_PROFILE_TYPE_GENERAL,
				contactsv1.ProfileType_PROFILE_TYPE_INVOICES,
			},
			ContactPerson: &contactsv1.ContactPerson{
				Name:         "Anna de Vries",
				Gender:       contactsv1.Gender_GENDER_FEMALE,
				JobTitle:     contactsv1.JobTitle_JOB_TITLE_GENERAL_MANAGER,
				LanguageCode: "nl",
			},
			Address: &contactsv1.Address{
				AddressLine:   "Herengracht 597",
				CityName:      "Amsterdam",
				PostalCode:    "1017 CE",
				CountryCode:   "NL",
				LanguageCode:  "nl",
				StateProvCode: "NH",
			},
			Phones: []*contactsv1.Phone{
				{PhoneNumber: "+31201234567", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE, Extension: "12"},
				{PhoneNumber: "+31612345678", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_MOBILE},
			},
			Email: "anna@example.com",
		},
		{
			Profiles: []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS},
			ContactPerson: &contactsv1.ContactPerson{
				Name:         "Jan Jansen",
				JobTitle:     contactsv1.JobTitle_JOB_TITLE_SALES_AND_MARKETING_MANAGER,
				LanguageCode: "en-gb",
			},
			Phones: []*contactsv1.Phone{
				{PhoneNumber: "+31207654321", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_FAX},
			},
			Email: "jan@example.com",
		},
	}
}

// callMethod runs the client call of m and returns its common parts.
func callMethod(ctx context.Context, c *Client, m Method) (contacts []*contactsv1.Contact, warnings []*contactsv1.Warning, requestID string, err error) {
	switch m {
	case MethodGet:
		r, err := c.List(ctx, "1000001", false)
		return r.GetContacts(), r.GetWarnings(), r.GetRequestId(), err
	case MethodPut:
		r, err := c.Replace(ctx, "1000001", sampleContacts())
		return nil, r.GetWarnings(), r.GetRequestId(), err
	default:
		r, err := c.Create(ctx, "1000001", sampleContacts())
		return nil, r.GetWarnings(), r.GetRequestId(), err
	}
}

// warningCodes lists the codes of ws ("" for the facade's own warnings).
func warningCodes(ws []*contactsv1.Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.GetCode())
	}
	return out
}
