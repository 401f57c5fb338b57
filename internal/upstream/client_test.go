package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// TestRecordedAnswers serves every recorded body of testdata with its
// status and checks the typed result the client makes of it.
func TestRecordedAnswers(t *testing.T) {
	type want struct {
		err        string // "", "api" or "decode"
		status     int
		codes      []string // OTA codes of errors[]
		texts      []string // Text() of errors[]
		fields     []string // details.fields of all errors[], flattened
		allowed    []string // details.allowed_values of the first error
		requestID  string
		retryAfter time.Duration
		contacts   int
		warnings   []string // codes of the warnings
		kind       DecodeKind
		path       string // DecodeError.Path
	}
	tests := []struct {
		name   string
		method Method
		reply  reply
		want   want
	}{
		// Successes.
		{"list", MethodGet, reply{status: 200, file: "list_ok.json"},
			want{requestID: "UmFuZG9tSVYkc2RlIyh9Yf3h3Kp0b0c1", contacts: 2}},
		{"list with warnings", MethodGet, reply{status: 200, file: "list_ok_warnings.json"},
			want{requestID: "d2FybmluZ3MtcnVpZA", contacts: 1, warnings: []string{"320", "394"}}},
		{"list with numeric warning code", MethodGet, reply{status: 200, file: "list_ok_numeric_code.json"},
			want{requestID: "bnVtZXJpYy1jb2Rl", contacts: 1, warnings: []string{"320"}}},
		{"list with unknown members and values", MethodGet, reply{status: 200, file: "list_ok_unknown_members.json"},
			want{requestID: "dW5rbm93bi1tZW1iZXJz", contacts: 1, warnings: []string{"394", "", "", "", ""}}},
		{"list without meta", MethodGet, reply{status: 200, file: "list_ok_no_meta.json"},
			want{contacts: 1}},
		{"list with null language", MethodGet, reply{status: 200, file: "list_ok_null_language.json"},
			want{requestID: "bnVsbC1sYW5ndWFnZQ", contacts: 1}},
		{"list empty", MethodGet, reply{status: 200, file: "list_ok_empty.json"},
			want{requestID: "ZW1wdHktbGlzdA"}},
		{"replace", MethodPut, reply{status: 200, file: "replace_ok.json"},
			want{requestID: "cmVwbGFjZS1vaw"}},
		{"replace with warnings", MethodPut, reply{status: 200, file: "replace_ok_warnings.json"},
			want{requestID: "cmVwbGFjZS13YXJu", warnings: []string{"320"}}},
		{"create", MethodPost, reply{status: 200, file: "replace_ok.json"},
			want{requestID: "cmVwbGFjZS1vaw"}},

		// The seed table.
		{"150 on create", MethodPost, reply{status: 400, file: "error_150.json"},
			want{err: "api", status: 400, codes: []string{"150"}, texts: []string{"Changes are not permitted."}, requestID: "ZXJyb3ItMTUw"}},
		{"320 with fields and allowed values", MethodPut, reply{status: 400, file: "error_320.json"},
			want{err: "api", status: 400, codes: []string{"320", "320"}, texts: []string{"Invalid value.", "Invalid value."},
				fields:    []string{"contacts[0].contact_profiles[1].type", "contacts[0].phones[0].phone_number"},
				allowed:   []string{"general", "reservations", "invoices", "availability", "site_content", "parity", "requests", "central_reservations"},
				requestID: "ZXJyb3ItMzIw"}},
		{"321", MethodPut, reply{status: 400, file: "error_321.json"},
			want{err: "api", status: 400, codes: []string{"321"}, texts: []string{"Required field missing."},
				fields: []string{"contacts[1].email", "contacts[1].contact_person.language_code"}, requestID: "ZXJyb3ItMzIx"}},
		{"394 with a single field as a string", MethodPut, reply{status: 400, file: "error_394.json"},
			want{err: "api", status: 400, codes: []string{"394"}, texts: []string{"Invalid item."}, fields: []string{"contacts[0].nickname"}, requestID: "ZXJyb3ItMzk0"}},
		{"450", MethodPut, reply{status: 400, file: "error_450.json"},
			want{err: "api", status: 400, codes: []string{"450"}, texts: []string{"Unable to process"}, fields: []string{"contacts[0].contact_profiles[0].type"}, requestID: "ZXJyb3ItNDUw"}},
		{"497", MethodGet, reply{status: 400, file: "error_497.json"},
			want{err: "api", status: 400, codes: []string{"497"}, texts: []string{"Authorization error."}, requestID: "ZXJyb3ItNDk3"}},
		{"404 635", MethodGet, reply{status: 404, file: "error_404_635.json"},
			want{err: "api", status: 404, codes: []string{"635"}, texts: []string{"Not found"}, requestID: "ZXJyb3ItNjM1"}},

		// Beyond the seed table.
		{"401", MethodGet, reply{status: 401, file: "error_401.json"},
			want{err: "api", status: 401, codes: []string{"401"}, texts: []string{"Authentication failed: token expired"}, requestID: "ZXJyb3ItNDAx"}},
		{"429 with Retry-After", MethodGet, reply{status: 429, file: "error_429.json", header: map[string]string{"Retry-After": "30"}},
			want{err: "api", status: 429, retryAfter: 30 * time.Second}},
		{"500 448", MethodGet, reply{status: 500, file: "error_500_448.json"},
			want{err: "api", status: 500, codes: []string{"448"}, texts: []string{"System error, please retry later."}, requestID: "ZXJyb3ItNDQ4"}},
		{"400 447", MethodGet, reply{status: 400, file: "error_400_447.json"},
			want{err: "api", status: 400, codes: []string{"447"}, texts: []string{"Simultaneous updates, please retry later."}, requestID: "ZXJyb3ItNDQ3"}},
		{"description instead of message", MethodPut, reply{status: 400, file: "error_description.json"},
			want{err: "api", status: 400, codes: []string{"321"}, texts: []string{"Required field missing."}, fields: []string{"contacts[0].phones"}}},
		{"2xx with errors is no success", MethodGet, reply{status: 200, file: "ok_with_errors.json"},
			want{err: "api", status: 200, codes: []string{"450"}, texts: []string{"Unable to process"}, requestID: "b2std2l0aC1lcnJvcnM"}},

		// Undecodable answers.
		{"500 HTML page", MethodGet, reply{status: 500, file: "error_500.html"}, want{err: "decode", status: 500, kind: DecodeNotObject}},
		{"502 HTML page", MethodPut, reply{status: 502, file: "error_502.html"}, want{err: "decode", status: 502, kind: DecodeNotObject}},
		{"503 HTML with Retry-After", MethodGet, reply{status: 503, file: "error_502.html", header: map[string]string{"Retry-After": "7"}},
			want{err: "decode", status: 503, retryAfter: 7 * time.Second, kind: DecodeNotObject}},
		{"200 HTML page", MethodGet, reply{status: 200, file: "ok_not_json.html"}, want{err: "decode", status: 200, kind: DecodeNotObject}},
		{"200 empty body on GET", MethodGet, reply{status: 200, file: "empty.txt"}, want{err: "decode", status: 200, kind: DecodeEmpty}},
		{"200 empty body on PUT", MethodPut, reply{status: 200}, want{err: "decode", status: 200, kind: DecodeEmpty}},
		{"200 truncated JSON", MethodGet, reply{status: 200, file: "truncated.json"}, want{err: "decode", status: 200, kind: DecodeSyntax, path: "data.contacts[0].contact_person.name"}},
		{"200 without data on GET", MethodGet, reply{status: 200, file: "list_no_data.json"}, want{err: "decode", status: 200, kind: DecodeNoContacts}},
		{"200 contacts not a list", MethodGet, reply{status: 200, file: "list_contacts_not_list.json"}, want{err: "decode", status: 200, kind: DecodeType, path: "data.contacts"}},
		{"200 contacts null", MethodGet, reply{status: 200, file: "list_contacts_null.json"}, want{err: "decode", status: 200, kind: DecodeNoContacts}},
		{"200 unrelated JSON on PUT", MethodPut, reply{status: 200, file: "unrelated_json.json"}, want{err: "decode", status: 200, kind: DecodeNoEnvelope}},
		{"404 empty body", MethodGet, reply{status: 404}, want{err: "decode", status: 404, kind: DecodeEmpty}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeUpstream(t, script(tt.reply))
			c, _ := newTestClient(t, f, Config{Retry: RetryPolicy{MaxAttempts: 1}})
			contacts, warnings, requestID, err := callMethod(t.Context(), c, tt.method)
			w := tt.want

			var ae *APIError
			var de *DecodeError
			switch w.err {
			case "":
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				if requestID != w.requestID {
					t.Errorf("request id = %q, want %q", requestID, w.requestID)
				}
				if len(contacts) != w.contacts {
					t.Errorf("%d contacts, want %d", len(contacts), w.contacts)
				}
				if got := warningCodes(warnings); !slices.Equal(got, w.warnings) {
					t.Errorf("warning codes = %q, want %q", got, w.warnings)
				}
			case "api":
				if !errors.As(err, &ae) {
					t.Fatalf("err = %T %v, want *APIError", err, err)
				}
				if ae.Method != tt.method || ae.HTTPStatus != w.status || ae.RequestID != w.requestID || ae.RetryAfter != w.retryAfter {
					t.Errorf("got %s %d ruid %q retry %v, want %s %d ruid %q retry %v",
						ae.Method, ae.HTTPStatus, ae.RequestID, ae.RetryAfter, tt.method, w.status, w.requestID, w.retryAfter)
				}
				var codes, texts, fields []string
				for _, m := range ae.Errors {
					codes = append(codes, string(m.Code))
					texts = append(texts, m.Text())
					if m.Details != nil {
						fields = append(fields, m.Details.Fields...)
					}
				}
				if !slices.Equal(codes, w.codes) || !slices.Equal(texts, w.texts) || !slices.Equal(fields, w.fields) {
					t.Errorf("codes %q texts %q fields %q\nwant  %q texts %q fields %q", codes, texts, fields, w.codes, w.texts, w.fields)
				}
				if w.allowed != nil && !slices.Equal(ae.Errors[0].Details.AllowedValues, w.allowed) {
					t.Errorf("allowed values = %q, want %q", ae.Errors[0].Details.AllowedValues, w.allowed)
				}
			case "decode":
				if !errors.As(err, &de) {
					t.Fatalf("err = %T %v, want *DecodeError", err, err)
				}
				if de.Method != tt.method || de.HTTPStatus != w.status || de.RetryAfter != w.retryAfter || de.TooLarge || de.Kind != w.kind || de.Path != w.path {
					t.Errorf("got %+v, want %s %d retry %v kind %q path %q", de, tt.method, w.status, w.retryAfter, w.kind, w.path)
				}
				if tt.reply.file != "" && !strings.HasPrefix(de.ContentType, contentTypeOf(tt.reply.file)) {
					t.Errorf("content type = %q", de.ContentType)
				}
			}
		})
	}
}

func contentTypeOf(file string) string {
	switch filepath.Ext(file) {
	case ".json":
		return "application/json"
	case ".html":
		return "text/html"
	}
	return "text/plain"
}

// The recorded GET answer decodes into exactly these messages.
func TestListDecodesEveryField(t *testing.T) {
	f := newFakeUpstream(t, script(reply{status: 200, file: "list_ok.json"}))
	c, _ := newTestClient(t, f, Config{})
	got, err := c.List(t.Context(), "1000001", false)
	if err != nil {
		t.Fatal(err)
	}
	want := &contactsv1.ListContactsResponse{
		RequestId: "UmFuZG9tSVYkc2RlIyh9Yf3h3Kp0b0c1",
		Contacts: []*contactsv1.Contact{
			{
				Profiles: []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_GENERAL, contactsv1.ProfileType_PROFILE_TYPE_INVOICES},
				ContactPerson: &contactsv1.ContactPerson{
					Name: "Anna de Vries", Gender: contactsv1.Gender_GENDER_FEMALE,
					JobTitle: contactsv1.JobTitle_JOB_TITLE_GENERAL_MANAGER, LanguageCode: "nl",
				},
				Address: &contactsv1.Address{
					AddressLine: "Herengracht 597", CityName: "Amsterdam", PostalCode: "1017 CE",
					CountryCode: "NL", LanguageCode: "nl",
				},
				Phones: []*contactsv1.Phone{
					{PhoneNumber: "+31201234567", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE, Extension: "12"},
					{PhoneNumber: "+31612345678", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_MOBILE},
				},
				Email: "anna@example.com",
			},
			{
				Profiles: []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS, contactsv1.ProfileType_PROFILE_TYPE_CONTRACT},
				ContactPerson: &contactsv1.ContactPerson{
					Name: "Jan Jansen", JobTitle: contactsv1.JobTitle_JOB_TITLE_SALES_AND_MARKETING_MANAGER, LanguageCode: "en-gb",
				},
				Phones: []*contactsv1.Phone{{PhoneNumber: "+31207654321", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_FAX}},
				Email:  "jan@example.com",
			},
		},
	}
	if !proto.Equal(got, want) {
		t.Errorf("got  %v\nwant %v", prototext.Format(got), prototext.Format(want))
	}
}

// Upstream warnings come first, then the facade's own about unknown values.
func TestListWarningsOrder(t *testing.T) {
	f := newFakeUpstream(t, script(reply{status: 200, file: "list_ok_unknown_members.json"}))
	c, _ := newTestClient(t, f, Config{})
	got, err := c.List(t.Context(), "1000001", false)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, w := range got.GetWarnings() {
		paths = append(paths, strings.SplitN(w.GetMessage(), ":", 2)[0])
	}
	want := []string{
		"Unknown members ignored.",
		"contacts[0].profiles[1]",
		"contacts[0].phones[1].phone_tech_type",
		"contacts[0].contact_person.gender",
		"contacts[0].contact_person.job_title",
	}
	if !slices.Equal(paths, want) {
		t.Errorf("warning paths = %q, want %q", paths, want)
	}
}

// staticAuth puts a fixed bearer token on every request.
type staticAuth string

func (a staticAuth) Authorize(_ context.Context, r *http.Request) error {
	r.Header.Set("Authorization", "Bearer "+string(a))
	return nil
}

func (staticAuth) Rejected(*http.Request) bool { return false }

func TestRequestShape(t *testing.T) {
	wantBody, err := os.ReadFile(filepath.Join("testdata", "replace_request.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		base     string // appended to the server URL
		method   Method
		property string
		fallback bool
		wantURI  string
	}{
		{"GET", "", MethodGet, "1000001", false, "/properties/1000001/contacts"},
		{"GET without fallback", "", MethodGet, "1000001", true, "/properties/1000001/contacts?no_language_fallback=1"},
		{"base path", "/contacts-api", MethodGet, "1000001", false, "/contacts-api/properties/1000001/contacts"},
		{"base path with slash", "/contacts-api/", MethodGet, "1000001", false, "/contacts-api/properties/1000001/contacts"},
		{"root with slash", "/", MethodGet, "1000001", false, "/properties/1000001/contacts"},
		{"id escaped", "", MethodGet, "10/../1 ?x", false, "/properties/10%2F..%2F1%20%3Fx/contacts"},
		{"PUT", "/contacts-api", MethodPut, "1000001", false, "/contacts-api/properties/1000001/contacts"},
		{"POST", "", MethodPost, "1000001", false, "/properties/1000001/contacts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeUpstream(t, func(_ int, r *http.Request) reply {
				if r.Method == "GET" {
					return reply{status: 200, file: "list_ok_empty.json"}
				}
				return reply{status: 200, file: "replace_ok.json"}
			})
			c, _ := newTestClient(t, f, Config{BaseURL: f.URL + tt.base, Authorizer: staticAuth("t0k3n"), UserAgent: "facade-test/1"})
			switch tt.method {
			case MethodGet:
				_, err = c.List(t.Context(), tt.property, tt.fallback)
			case MethodPut:
				_, err = c.Replace(t.Context(), tt.property, sampleContacts())
			case MethodPost:
				_, err = c.Create(t.Context(), tt.property, sampleContacts())
			}
			if err != nil {
				t.Fatal(err)
			}
			r := f.request(0)
			if r.method != string(tt.method) || r.requestURI != tt.wantURI {
				t.Errorf("request = %s %s, want %s %s", r.method, r.requestURI, tt.method, tt.wantURI)
			}
			wantHeaders := map[string]string{
				"Accept":         "application/json",
				"Accept-Version": "1.0",
				"User-Agent":     "facade-test/1",
				"Authorization":  "Bearer t0k3n",
				"Content-Type":   "",
			}
			if tt.method != MethodGet {
				wantHeaders["Content-Type"] = "application/json"
				assertSameJSON(t, r.body, wantBody)
			} else if len(r.body) != 0 {
				t.Errorf("GET sent a body: %q", r.body)
			}
			for k, v := range wantHeaders {
				if got := r.header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestNew(t *testing.T) {
	bad := []Config{
		{},
		{BaseURL: "supply-xml.booking.com/contacts-api"},
		{BaseURL: "/contacts-api"},
		{BaseURL: "ftp://example.com"},
		{BaseURL: "https://"},
		{BaseURL: "https://user:pass@example.com"},
		{BaseURL: "https://example.com/api?x=1"},
		{BaseURL: "https://example.com/api#top"},
		{BaseURL: "https://exa mple.com"},
		{BaseURL: "https://example.com", MaxBodyBytes: -1},
		{BaseURL: "https://example.com", Retry: RetryPolicy{MaxAttempts: -1}},
		{BaseURL: "https://example.com", Retry: RetryPolicy{BaseDelay: -time.Second}},
		{BaseURL: "https://example.com", Retry: RetryPolicy{Budget: RetryBudget{TokenRatio: -1}}},
	}
	for _, cfg := range bad {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}

	c, err := New(Config{BaseURL: "https://supply-xml.booking.com/contacts-api/"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	if c.base != "https://supply-xml.booking.com/contacts-api" || c.maxBody != 1<<20 || c.userAgent != defaultUserAgent {
		t.Errorf("base %q maxBody %d user agent %q", c.base, c.maxBody, c.userAgent)
	}
	wantRetry := RetryPolicy{MaxAttempts: 3, BaseDelay: 50 * time.Millisecond, MaxDelay: time.Second, Budget: RetryBudget{MaxTokens: 10, TokenRatio: 0.1}}
	if c.retry != wantRetry {
		t.Errorf("retry = %+v, want %+v", c.retry, wantRetry)
	}
	if c.http == http.DefaultClient || c.http.Timeout != 0 || c.http.CheckRedirect == nil {
		t.Errorf("default client: %+v", c.http)
	}
	tr, ok := c.http.Transport.(*http.Transport)
	if !ok || tr == http.DefaultTransport {
		t.Fatalf("transport = %T, want an own *http.Transport", c.http.Transport)
	}
	if tr.MaxIdleConns != 1000 || tr.MaxIdleConnsPerHost != 1000 || tr.IdleConnTimeout != 90*time.Second || !tr.ForceAttemptHTTP2 || tr.Proxy == nil {
		t.Errorf("transport settings: idle %d/%d %v h2 %v", tr.MaxIdleConns, tr.MaxIdleConnsPerHost, tr.IdleConnTimeout, tr.ForceAttemptHTTP2)
	}
}

// The default client does not follow redirects: Go would turn a PUT into a
// GET and the GET's answer would pass for the PUT's.
func TestDefaultClientRefusesRedirects(t *testing.T) {
	f := newFakeUpstream(t, func(_ int, r *http.Request) reply {
		if strings.HasPrefix(r.URL.Path, "/moved") {
			return reply{status: 200, file: "list_ok.json"}
		}
		return reply{status: 302, header: map[string]string{"Location": "/moved"}}
	})
	c, err := New(Config{BaseURL: f.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	_, err = c.Replace(t.Context(), "1", sampleContacts())
	var de *DecodeError
	if !errors.As(err, &de) || de.HTTPStatus != 302 || f.hits() != 1 {
		t.Errorf("err = %v after %d requests, want a DecodeError for the 302", err, f.hits())
	}
}

// countingTransport counts the response body bytes the client reads.
type countingTransport struct {
	http.RoundTripper
	read atomic.Int64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.RoundTripper.RoundTrip(r)
	if resp != nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &t.read}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func TestBodyOverTheCap(t *testing.T) {
	const limit = 64 << 10
	chunk := []byte(strings.Repeat(`{"data":[0123456789abcdef]}`, 1000))
	tests := []struct {
		name     string
		status   int
		length   bool  // announce Content-Length
		size     int64 // bytes to serve; 0 = endless
		maxRead  int64
		maxBytes int64
	}{
		{"10 MiB with Content-Length", 200, true, 10 << 20, 0, limit},
		{"10 MiB chunked", 200, false, 10 << 20, limit + 1, limit},
		{"endless chunked", 200, false, 0, limit + 1, limit},
		{"endless error page", 502, false, 0, limit + 1, limit},
		{"one byte over", 200, true, limit + 1, 0, limit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.length {
					w.Header().Set("Content-Length", fmt.Sprint(tt.size))
				}
				w.WriteHeader(tt.status)
				for sent := int64(0); tt.size == 0 || sent < tt.size; {
					n := int64(len(chunk))
					if tt.size > 0 {
						n = min(n, tt.size-sent)
					}
					if _, err := w.Write(chunk[:n]); err != nil {
						return
					}
					sent += n
				}
			}))
			t.Cleanup(srv.Close)
			counter := &countingTransport{RoundTripper: srv.Client().Transport}
			c, _ := newTestClient(t, nil, Config{
				BaseURL:      srv.URL,
				MaxBodyBytes: tt.maxBytes,
				HTTPClient:   &http.Client{Transport: counter},
				Retry:        RetryPolicy{MaxAttempts: 1},
			})
			_, err := c.List(t.Context(), "1", false)
			var de *DecodeError
			if !errors.As(err, &de) || !de.TooLarge || de.HTTPStatus != tt.status {
				t.Fatalf("err = %#v, want a TooLarge DecodeError with status %d", err, tt.status)
			}
			if de.Kind != DecodeBodyTooLarge || de.BodyBytes <= tt.maxBytes {
				t.Errorf("kind %q, %d body bytes; want %q over %d", de.Kind, de.BodyBytes, DecodeBodyTooLarge, tt.maxBytes)
			}
			if got := counter.read.Load(); got > tt.maxRead {
				t.Errorf("read %d bytes, want at most %d", got, tt.maxRead)
			}
		})
	}
}

// A body exactly at the cap is fine.
func TestBodyAtTheCap(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "list_ok.json"))
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeUpstream(t, script(reply{status: 200, file: "list_ok.json"}))
	c, _ := newTestClient(t, f, Config{MaxBodyBytes: int64(len(body))})
	if _, err := c.List(t.Context(), "1", false); err != nil {
		t.Fatal(err)
	}
}

func TestConnectionRefused(t *testing.T) {
	for _, m := range []Method{MethodGet, MethodPut, MethodPost} {
		t.Run(string(m), func(t *testing.T) {
			c, waits := newTestClient(t, nil, Config{BaseURL: "http://" + deadAddress(t), HTTPClient: &http.Client{Transport: &http.Transport{}}})
			_, _, _, err := callMethod(t.Context(), c, m)
			var te *TransportError
			if !errors.As(err, &te) || !te.NotSent || te.Method != m {
				t.Fatalf("err = %#v, want a NotSent TransportError", err)
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("err = %v, want ECONNREFUSED in the chain", err)
			}
			// Never sent, so every method may try again: 3 attempts, 2 waits.
			if got := len(waits.all()); got != 2 {
				t.Errorf("%d waits, want 2", got)
			}
		})
	}
}

// A name that does not resolve fails before anything is sent. The resolver
// is one with no reachable DNS server, so the test needs no network.
func TestDNSFailureIsNotSent(t *testing.T) {
	d := &net.Dialer{Resolver: &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS server in this test")
	}}}
	tr := &http.Transport{DialContext: d.DialContext}
	c, _ := newTestClient(t, nil, Config{BaseURL: "http://contacts.example", HTTPClient: &http.Client{Transport: tr}, Retry: RetryPolicy{MaxAttempts: 1}})
	_, err := c.Replace(t.Context(), "1", sampleContacts())
	var te *TransportError
	var dns *net.DNSError
	if !errors.As(err, &te) || !te.NotSent || !errors.As(err, &dns) {
		t.Fatalf("err = %#v, want a NotSent TransportError from DNS", err)
	}
}

// A PUT whose first dial fails is sent again, on a connection that works.
func TestPutRetriedAfterDialFailure(t *testing.T) {
	f := newFakeUpstream(t, script(reply{status: 200, file: "replace_ok.json"}))
	dead := deadAddress(t)
	var dials atomic.Int32
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			addr = dead
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	c, waits := newTestClient(t, f, Config{HTTPClient: &http.Client{Transport: tr}})
	res, err := c.Replace(t.Context(), "1000001", sampleContacts())
	if err != nil {
		t.Fatal(err)
	}
	if res.GetRequestId() != "cmVwbGFjZS1vaw" || f.hits() != 1 || dials.Load() != 2 || len(waits.all()) != 1 {
		t.Errorf("ruid %q, %d hits, %d dials, %d waits; want 1 hit, 2 dials, 1 wait", res.GetRequestId(), f.hits(), dials.Load(), len(waits.all()))
	}
}

func TestConnectionClosedMidBody(t *testing.T) {
	for _, m := range []Method{MethodGet, MethodPut} {
		t.Run(string(m), func(t *testing.T) {
			f := newFakeUpstream(t, script(reply{hijack: true}))
			c, _ := newTestClient(t, f, Config{Retry: RetryPolicy{MaxAttempts: 1}})
			_, _, _, err := callMethod(t.Context(), c, m)
			var te *TransportError
			if !errors.As(err, &te) || te.NotSent {
				t.Fatalf("err = %#v, want a sent TransportError", err)
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("err = %v, want io.ErrUnexpectedEOF in the chain", err)
			}
		})
	}
}

func TestDeadline(t *testing.T) {
	cancelled := make(chan struct{})
	var once sync.Once
	f := newFakeUpstream(t, func(_ int, r *http.Request) reply {
		<-r.Context().Done()
		once.Do(func() { close(cancelled) })
		return reply{status: 503}
	})
	c, waits := newTestClient(t, f, Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.List(ctx, "1", false)
	var te *TransportError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %#v, want a TransportError wrapping DeadlineExceeded", err)
	}
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the server never saw the request cancelled")
	}
	if f.hits() != 1 || len(waits.all()) != 0 {
		t.Errorf("%d hits, %d waits; want 1 hit and no retry", f.hits(), len(waits.all()))
	}
}

// An Authorizer error reaches the caller as it is, and nothing is sent.
type tokenError struct{ reason string }

func (e *tokenError) Error() string { return "token exchange: " + e.reason }

type failingAuth struct{ err error }

func (a failingAuth) Authorize(context.Context, *http.Request) error { return a.err }
func (failingAuth) Rejected(*http.Request) bool                      { return true }

func TestAuthorizerErrorUnchanged(t *testing.T) {
	f := newFakeUpstream(t, script(reply{status: 200, file: "list_ok.json"}))
	authErr := &tokenError{reason: "429 from the exchange"}
	c, _ := newTestClient(t, f, Config{Authorizer: failingAuth{authErr}})
	_, err := c.List(t.Context(), "1", false)
	var te *tokenError
	if err != authErr || !errors.As(err, &te) {
		t.Errorf("err = %#v, want the authorizer's own error", err)
	}
	if f.hits() != 0 {
		t.Errorf("%d requests sent", f.hits())
	}
}

// rotatingAuth hands out t1, t2, ... and records what the client did.
type rotatingAuth struct {
	mu         sync.Mutex
	issued     int
	rejected   []string
	allowRetry bool
}

func (a *rotatingAuth) Authorize(_ context.Context, r *http.Request) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.issued++
	r.Header.Set("Authorization", fmt.Sprintf("Bearer t%d", a.issued))
	return nil
}

func (a *rotatingAuth) Rejected(r *http.Request) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rejected = append(a.rejected, r.Header.Get("Authorization"))
	return a.allowRetry
}

func TestCredentialsRejected(t *testing.T) {
	ok := map[Method]reply{MethodGet: {status: 200, file: "list_ok.json"}, MethodPut: {status: 200, file: "replace_ok.json"}}
	tests := []struct {
		name         string
		method       Method
		rejection    reply
		badTokens    int  // how many tokens the server refuses
		allowRetry   bool // what Rejected answers
		wantHits     int
		wantRejected []string
		wantStatus   int // 0: success
	}{
		{"401 then fresh token", MethodGet, reply{status: 401, file: "error_401.json"}, 1, true, 2, []string{"Bearer t1"}, 0},
		{"401 HTML then fresh token", MethodGet, reply{status: 401, file: "error_502.html"}, 1, true, 2, []string{"Bearer t1"}, 0},
		{"400 497 then fresh token", MethodGet, reply{status: 400, file: "error_497.json"}, 1, true, 2, []string{"Bearer t1"}, 0},
		{"403 497 is no rejection (no access, not bad credentials)", MethodPut, reply{status: 403, file: "error_497.json"}, 5, true, 1, nil, 403},
		{"PUT 401 then fresh token", MethodPut, reply{status: 401, file: "error_401.json"}, 1, true, 2, []string{"Bearer t1"}, 0},
		{"resent only once", MethodGet, reply{status: 401, file: "error_401.json"}, 5, true, 2, []string{"Bearer t1"}, 401},
		{"authorizer says no", MethodGet, reply{status: 401, file: "error_401.json"}, 5, false, 1, []string{"Bearer t1"}, 401},
		{"400 without 497 is no rejection", MethodPut, reply{status: 400, file: "error_320.json"}, 5, true, 1, nil, 400},
		{"404 635 is no rejection", MethodGet, reply{status: 404, file: "error_404_635.json"}, 5, true, 1, nil, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeUpstream(t, func(_ int, r *http.Request) reply {
				var n int
				fmt.Sscanf(r.Header.Get("Authorization"), "Bearer t%d", &n)
				if n <= tt.badTokens {
					return tt.rejection
				}
				return ok[tt.method]
			})
			auth := &rotatingAuth{allowRetry: tt.allowRetry}
			c, waits := newTestClient(t, f, Config{Authorizer: auth})
			_, _, _, err := callMethod(t.Context(), c, tt.method)
			status := 0
			var ae *APIError
			var de *DecodeError
			switch {
			case errors.As(err, &ae):
				status = ae.HTTPStatus
			case errors.As(err, &de):
				status = de.HTTPStatus
			case err != nil:
				t.Fatalf("err = %v", err)
			}
			if status != tt.wantStatus || f.hits() != tt.wantHits || !slices.Equal(auth.rejected, tt.wantRejected) {
				t.Errorf("status %d, %d hits, rejected %q; want %d, %d, %q", status, f.hits(), auth.rejected, tt.wantStatus, tt.wantHits, tt.wantRejected)
			}
			if len(waits.all()) != 0 {
				t.Errorf("the resend waited: %v", waits.all())
			}
			for i := range f.hits() {
				r := f.request(i)
				if want := fmt.Sprintf("Bearer t%d", i+1); r.header.Get("Authorization") != want {
					t.Errorf("request %d sent %q, want %q", i, r.header.Get("Authorization"), want)
				}
				if i > 0 && string(r.body) != string(f.request(0).body) {
					t.Errorf("request %d body differs from the first", i)
				}
			}
		})
	}
}

// The resend with fresh credentials uses no retry attempt.
func TestResendIsNotARetry(t *testing.T) {
	f := newFakeUpstream(t, script(
		reply{status: 401, file: "error_401.json"},
		reply{status: 503, file: "error_502.html"},
		reply{status: 200, file: "list_ok.json"},
	))
	c, _ := newTestClient(t, f, Config{Authorizer: &rotatingAuth{allowRetry: true}, Retry: RetryPolicy{MaxAttempts: 2}})
	if _, err := c.List(t.Context(), "1", false); err != nil || f.hits() != 3 {
		t.Errorf("err = %v after %d hits, want success after 3", err, f.hits())
	}
}

func TestRetries(t *testing.T) {
	okGet := reply{status: 200, file: "list_ok.json"}
	okPut := reply{status: 200, file: "replace_ok.json"}
	gateway := reply{status: 503, file: "error_502.html"}
	tests := []struct {
		name     string
		method   Method
		policy   RetryPolicy
		replies  []reply
		wantHits int
		wantErr  bool
		minWait  time.Duration // every wait at least this
	}{
		{"GET 503 twice then success", MethodGet, RetryPolicy{}, []reply{gateway, gateway, okGet}, 3, false, 0},
		{"GET 502 then success", MethodGet, RetryPolicy{}, []reply{{status: 502, file: "error_502.html"}, okGet}, 2, false, 0},
		{"GET 504 then success", MethodGet, RetryPolicy{}, []reply{{status: 504}, okGet}, 2, false, 0},
		{"GET 500 448 then success", MethodGet, RetryPolicy{}, []reply{{status: 500, file: "error_500_448.json"}, okGet}, 2, false, 0},
		{"GET 400 447 then success", MethodGet, RetryPolicy{}, []reply{{status: 400, file: "error_400_447.json"}, okGet}, 2, false, 0},
		{"GET connection dropped then success", MethodGet, RetryPolicy{}, []reply{{hijack: true}, okGet}, 2, false, 0},
		{"GET 503 gives up after MaxAttempts", MethodGet, RetryPolicy{}, []reply{gateway}, 3, true, 0},
		{"GET 503 with MaxAttempts 5", MethodGet, RetryPolicy{MaxAttempts: 5}, []reply{gateway}, 5, true, 0},
		{"GET retries off", MethodGet, RetryPolicy{MaxAttempts: 1}, []reply{gateway, okGet}, 1, true, 0},
		{"GET 500 HTML not retried", MethodGet, RetryPolicy{}, []reply{{status: 500, file: "error_500.html"}, okGet}, 1, true, 0},
		{"GET 500 without 448 not retried", MethodGet, RetryPolicy{}, []reply{{status: 500, file: "error_150.json"}, okGet}, 1, true, 0},
		{"GET 400 320 not retried", MethodGet, RetryPolicy{}, []reply{{status: 400, file: "error_320.json"}, okGet}, 1, true, 0},
		{"GET 429 not retried", MethodGet, RetryPolicy{}, []reply{{status: 429, file: "error_429.json"}, okGet}, 1, true, 0},
		{"GET 200 undecodable not retried", MethodGet, RetryPolicy{}, []reply{{status: 200, file: "truncated.json"}, okGet}, 1, true, 0},
		{"GET Retry-After within MaxDelay is waited", MethodGet, RetryPolicy{MaxDelay: 5 * time.Second},
			[]reply{{status: 503, header: map[string]string{"Retry-After": "2"}}, okGet}, 2, false, 2 * time.Second},
		{"GET Retry-After beyond MaxDelay ends retries", MethodGet, RetryPolicy{},
			[]reply{{status: 503, header: map[string]string{"Retry-After": "2"}}, okGet}, 1, true, 0},
		{"PUT 503 not retried", MethodPut, RetryPolicy{}, []reply{gateway, okPut}, 1, true, 0},
		{"PUT 500 448 not retried", MethodPut, RetryPolicy{}, []reply{{status: 500, file: "error_500_448.json"}, okPut}, 1, true, 0},
		{"PUT connection dropped not retried", MethodPut, RetryPolicy{}, []reply{{hijack: true}, okPut}, 1, true, 0},
		{"POST 502 not retried", MethodPost, RetryPolicy{}, []reply{{status: 502, file: "error_502.html"}, okPut}, 1, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeUpstream(t, script(tt.replies...))
			c, waits := newTestClient(t, f, Config{Retry: tt.policy})
			_, _, _, err := callMethod(t.Context(), c, tt.method)
			if (err != nil) != tt.wantErr || f.hits() != tt.wantHits {
				t.Fatalf("err = %v after %d hits; want error %v after %d", err, f.hits(), tt.wantErr, tt.wantHits)
			}
			ws := waits.all()
			if len(ws) != tt.wantHits-1 {
				t.Errorf("%d waits, want %d", len(ws), tt.wantHits-1)
			}
			// Full jitter: wait i is at most min(MaxDelay, BaseDelay·2^i).
			for i, w := range ws {
				ceiling := min(c.retry.BaseDelay<<i, c.retry.MaxDelay)
				if w < tt.minWait || w > max(ceiling, tt.minWait) {
					t.Errorf("wait %d = %v, want within [%v, %v]", i, w, tt.minWait, max(ceiling, tt.minWait))
				}
			}
		})
	}
}

// No wait is started that would end after the deadline: the caller gets
// the upstream's answer at once.
func TestRetryRespectsDeadline(t *testing.T) {
	f := newFakeUpstream(t, script(reply{status: 503, file: "error_502.html", header: map[string]string{"Retry-After": "3"}}))
	c, waits := newTestClient(t, f, Config{Retry: RetryPolicy{MaxDelay: time.Minute}})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	_, err := c.List(ctx, "1", false)
	var de *DecodeError
	if !errors.As(err, &de) || de.HTTPStatus != 503 || de.RetryAfter != 3*time.Second {
		t.Fatalf("err = %v, want the 503 with its Retry-After", err)
	}
	if f.hits() != 1 || len(waits.all()) != 0 {
		t.Errorf("%d hits, waits %v; want 1 hit, no wait", f.hits(), waits.all())
	}
}

// A wait cut short by cancellation returns a context error.
func TestRetryWaitCancelled(t *testing.T) {
	f := newFakeUpstream(t, script(reply{status: 503}))
	c, _ := newTestClient(t, f, Config{})
	c.sleep = func(context.Context, time.Duration) error { return context.Canceled }
	_, err := c.List(t.Context(), "1", false)
	var te *TransportError
	if !errors.As(err, &te) || !errors.Is(err, context.Canceled) || f.hits() != 1 {
		t.Errorf("err = %v after %d hits, want a TransportError wrapping Canceled after 1", err, f.hits())
	}
}

func TestRetryBudget(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	f := newFakeUpstream(t, func(int, *http.Request) reply {
		if failing.Load() {
			return reply{status: 503}
		}
		return reply{status: 200, file: "list_ok_empty.json"}
	})
	c, _ := newTestClient(t, f, Config{Retry: RetryPolicy{MaxAttempts: 10}})
	call := func() int {
		before := f.hits()
		c.List(t.Context(), "1", false)
		return f.hits() - before
	}
	// 10 tokens: sends 1-5 fail and leave 9..5; at 5 retries stop.
	if got := call(); got != 5 {
		t.Errorf("first call: %d sends, want 5", got)
	}
	// 4 tokens left: one send, no retry.
	if got := call(); got != 1 {
		t.Errorf("second call: %d sends, want 1", got)
	}
	// 30 successes give back 3 tokens (4 → 7): one retry again (7 → 6 → 5).
	failing.Store(false)
	for range 30 {
		call()
	}
	failing.Store(true)
	if got := call(); got != 2 {
		t.Errorf("after recovery: %d sends, want 2", got)
	}
}

func TestBudgetAccounting(t *testing.T) {
	var b budget
	b.init(RetryBudget{MaxTokens: 10, TokenRatio: 0.1})
	for range 100 {
		b.record(nil)
	}
	if got := b.tokens.Load(); got != 10000 {
		t.Errorf("tokens = %d, want capped at 10000", got)
	}
	healthy := []error{
		&APIError{HTTPStatus: 400, Errors: []Message{{Code: "320"}}},
		&APIError{HTTPStatus: 401},
		&APIError{HTTPStatus: 404, Errors: []Message{{Code: "635"}}},
		&DecodeError{HTTPStatus: 200},
	}
	for _, err := range healthy {
		b.record(err)
	}
	if got := b.tokens.Load(); got != 10000 {
		t.Errorf("tokens = %d after client errors, want 10000", got)
	}
	failed := []error{
		&TransportError{},
		&APIError{HTTPStatus: 503},
		&APIError{HTTPStatus: 429},
		&APIError{HTTPStatus: 400, Errors: []Message{{Code: "447"}}},
		&APIError{HTTPStatus: 500, Errors: []Message{{Code: "448"}}},
		&DecodeError{HTTPStatus: 502},
	}
	for _, err := range failed {
		b.record(err)
	}
	if got := b.tokens.Load(); got != 4000 || b.allow() {
		t.Errorf("tokens = %d allow %v, want 4000 and no retries", got, b.allow())
	}
	for range 20 {
		b.record(&TransportError{})
	}
	if got := b.tokens.Load(); got != 0 {
		t.Errorf("tokens = %d, want floored at 0", got)
	}
}

func TestErrorStrings(t *testing.T) {
	ae := &APIError{Method: MethodPut, HTTPStatus: 400, RequestID: "r1", Errors: []Message{
		{Code: "320", Message: "anna@example.com is invalid"}, {Code: "321"}, {},
	}}
	want := "contacts api: PUT: HTTP 400 OTA 320, 321, ? (ruid r1)"
	if ae.Error() != want {
		t.Errorf("Error() = %q, want %q", ae.Error(), want)
	}
	if ae.firstCode() != "320" || (&APIError{}).firstCode() != "" {
		t.Error("firstCode")
	}
	de := &DecodeError{Method: MethodGet, HTTPStatus: 200, ContentType: "application/json", BodyBytes: 120,
		Kind: DecodeType, Path: "data.contacts[3].phones[0].phone_tech_type", Want: "integer", Got: "string"}
	if want := "contacts api: GET: HTTP 200: undecodable answer (application/json, 120 bytes): data.contacts[3].phones[0].phone_tech_type: want integer, got string"; de.Error() != want {
		t.Errorf("DecodeError.Error() = %q, want %q", de.Error(), want)
	}
	long := &APIError{Method: MethodGet, HTTPStatus: 400, RequestID: strings.Repeat("r", 1000)}
	for range 20 {
		long.Errors = append(long.Errors, Message{Code: FlexString(strings.Repeat("9", 100))})
	}
	if got := long.Error(); len(got) > 300 {
		t.Errorf("APIError.Error() of a hostile answer has %d bytes: %q", len(got), got)
	}
	te := &TransportError{Method: MethodGet, Err: errors.New(`net/http: HTTP/1.x transport connection broken: malformed HTTP response "anna@example.com"`)}
	if strings.Contains(te.Error(), "anna") || te.Error() != "contacts api: GET: transport failure" {
		t.Errorf("TransportError.Error() = %q", te.Error())
	}
}

// One client serves many goroutines: the buffer pool and the budget are
// shared (run with -race).
func TestConcurrentCalls(t *testing.T) {
	f := newFakeUpstream(t, func(_ int, r *http.Request) reply {
		if r.Method == "PUT" {
			return reply{status: 200, file: "replace_ok.json"}
		}
		return reply{status: 200, file: "list_ok.json"}
	})
	c, _ := newTestClient(t, f, Config{})
	wantProfiles := []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_GENERAL, contactsv1.ProfileType_PROFILE_TYPE_INVOICES}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for range 10 {
				if i%4 == 0 {
					if _, err := c.Replace(t.Context(), "1000001", sampleContacts()); err != nil {
						t.Errorf("Replace: %v", err)
					}
					continue
				}
				res, err := c.List(t.Context(), "1000001", false)
				if err != nil {
					t.Errorf("List: %v", err)
					continue
				}
				if len(res.GetContacts()) != 2 || !slices.Equal(res.GetContacts()[0].GetProfiles(), wantProfiles) {
					t.Errorf("List: %v", res)
				}
			}
		})
	}
	wg.Wait()
}
