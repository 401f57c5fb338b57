package upstream

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/contacts-facade/contacts-facade/internal/httpx"
)

// TestHeadersTooLarge: the default client reads at most
// httpx.MaxResponseHeaderBytes of headers; 100 KiB of them is a
// *DecodeError of kind DecodeHeadersTooLarge, never retried.
func TestHeadersTooLarge(t *testing.T) {
	for _, size := range []int{httpx.MaxResponseHeaderBytes - 1024, 100 << 10} {
		hits := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits++
			for i := range size / 1024 {
				w.Header().Set("X-Padding-"+itoa(i), strings.Repeat("p", 1000))
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"data":{"contacts":[]}}`))
		}))
		c, err := New(Config{BaseURL: srv.URL}) // the default HTTP client
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.List(t.Context(), "1", false)
		c.CloseIdleConnections()
		srv.Close()
		if size < httpx.MaxResponseHeaderBytes {
			if err != nil {
				t.Errorf("%d bytes of headers: %v", size, err)
			}
			continue
		}
		de, ok := errors.AsType[*DecodeError](err)
		if !ok || de.Kind != DecodeHeadersTooLarge || !de.TooLarge || de.HTTPStatus != 0 {
			t.Fatalf("%d bytes of headers: err = %#v, want a DecodeError of kind %q", size, err, DecodeHeadersTooLarge)
		}
		if hits != 1 {
			t.Errorf("%d sends, want 1", hits)
		}
	}
	if !headersTooLarge(errors.New("stream error: stream ID 1; PROTOCOL_ERROR; http2: response header list larger than advertised limit")) {
		t.Error("the HTTP/2 text is not recognised")
	}
}

// attempt is one ObserveAttempt call.
type attempt struct {
	method  Method
	status  int
	ota     string
	outcome string
}

type recordingObserver struct {
	mu       sync.Mutex
	attempts []attempt
}

func (o *recordingObserver) ObserveAttempt(m Method, status int, ota, outcome string, d time.Duration) {
	if d < 0 {
		panic("negative duration")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.attempts = append(o.attempts, attempt{m, status, ota, outcome})
}

// recordingSpan is a span that records its attributes.
type recordingSpan struct {
	noop.Span
	mu    sync.Mutex
	attrs map[attribute.Key]attribute.Value
}

func (s *recordingSpan) IsRecording() bool { return true }

func (s *recordingSpan) SetAttributes(kv ...attribute.KeyValue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range kv {
		s.attrs[a.Key] = a.Value
	}
}

// TestObserver: every HTTP attempt is reported once, with its status,
// first OTA code and outcome, and the caller's span gets the status, OTA
// code and request id of the last one.
func TestObserver(t *testing.T) {
	cases := []struct {
		name     string
		method   Method
		replies  []reply
		want     []attempt
		wantSpan map[attribute.Key]attribute.Value
	}{
		{"ok", MethodGet, []reply{{status: 200, file: "list_ok.json"}},
			[]attempt{{MethodGet, 200, "", OutcomeOK}},
			map[attribute.Key]attribute.Value{attrHTTPStatus: attribute.IntValue(200), attrOTACode: attribute.StringValue(""), attrRequestID: attribute.StringValue("UmFuZG9tSVYkc2RlIyh9Yf3h3Kp0b0c1")}},
		{"error answer", MethodPut, []reply{{status: 400, file: "error_320.json"}},
			[]attempt{{MethodPut, 400, "320", OutcomeErrorAnswer}},
			map[attribute.Key]attribute.Value{attrHTTPStatus: attribute.IntValue(400), attrOTACode: attribute.StringValue("320"), attrRequestID: attribute.StringValue("ZXJyb3ItMzIw")}},
		{"retried 503 then ok", MethodGet, []reply{{status: 503, file: "error_502.html"}, {status: 200, file: "list_ok_empty.json"}},
			[]attempt{{MethodGet, 503, "", OutcomeDecodeError}, {MethodGet, 200, "", OutcomeOK}},
			map[attribute.Key]attribute.Value{attrHTTPStatus: attribute.IntValue(200), attrOTACode: attribute.StringValue(""), attrRequestID: attribute.StringValue("ZW1wdHktbGlzdA")}},
		{"renewed 401", MethodGet, []reply{{status: 401, file: "error_401.json"}, {status: 200, file: "list_ok_empty.json"}},
			[]attempt{{MethodGet, 401, "401", OutcomeErrorAnswer}, {MethodGet, 200, "", OutcomeOK}}, nil},
		{"connection dropped", MethodPut, []reply{{hijack: true}},
			[]attempt{{MethodPut, 0, "", OutcomeTransportError}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeUpstream(t, script(tc.replies...))
			obs := &recordingObserver{}
			c, _ := newTestClient(t, f, Config{Observer: obs, Authorizer: &rotatingAuth{allowRetry: true}})
			span := &recordingSpan{attrs: map[attribute.Key]attribute.Value{}}
			ctx := trace.ContextWithSpan(t.Context(), span)
			_, _, _, _ = callMethod(ctx, c, tc.method)
			if !slices.Equal(obs.attempts, tc.want) {
				t.Errorf("attempts %+v, want %+v", obs.attempts, tc.want)
			}
			for k, v := range tc.wantSpan {
				if span.attrs[k] != v {
					t.Errorf("span %s = %v, want %v", k, span.attrs[k].Emit(), v.Emit())
				}
			}
		})
	}
}

// TestObserverTooLarge covers the last outcome, and that an attempt the
// Authorizer stops before sending is not one.
func TestObserverTooLarge(t *testing.T) {
	f := newFakeUpstream(t, script(reply{status: 200, file: "list_ok.json"}))
	obs := &recordingObserver{}
	c, _ := newTestClient(t, f, Config{Observer: obs, MaxBodyBytes: 16})
	if _, err := c.List(t.Context(), "1", false); err == nil {
		t.Fatal("a body over the cap was accepted")
	}
	c2, _ := newTestClient(t, f, Config{Observer: obs, Authorizer: failingAuth{errors.New("no token")}})
	if _, err := c2.List(context.Background(), "1", false); err == nil {
		t.Fatal("the authorizer's error was lost")
	}
	if want := []attempt{{MethodGet, 200, "", OutcomeTooLarge}}; !slices.Equal(obs.attempts, want) {
		t.Errorf("attempts %+v, want %+v", obs.attempts, want)
	}
}
