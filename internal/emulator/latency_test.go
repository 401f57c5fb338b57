package emulator_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/emulator"
)

// sleeps records the waits the emulator asks for instead of waiting.
type sleeps struct {
	mu sync.Mutex
	ds []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ds = append(s.ds, d)
	return nil
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.ds...)
}

func TestLatencyDelaysEveryRequestWithinTheJitter(t *testing.T) {
	for _, tc := range []struct {
		name            string
		latency, jitter time.Duration
		lo, hi          time.Duration
	}{
		{"fixed", 50 * time.Millisecond, 0, 50 * time.Millisecond, 50 * time.Millisecond},
		{"jitter", 50 * time.Millisecond, 10 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond},
		{"jitter below zero is clamped", 5 * time.Millisecond, 10 * time.Millisecond, 0, 15 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s sleeps
			h := newHarness(t, emulator.Options{Latency: tc.latency, LatencyJitter: tc.jitter, Sleep: s.sleep})
			const n = 200
			for range n {
				res := h.do(http.MethodGet, "/properties/1000001/contacts", staticAuth, "")
				if res.status != http.StatusOK {
					t.Fatalf("status %d", res.status)
				}
			}
			ds := s.all()
			if len(ds) != n {
				t.Fatalf("%d waits for %d requests", len(ds), n)
			}
			distinct := map[time.Duration]bool{}
			for _, d := range ds {
				if d < tc.lo || d > tc.hi {
					t.Errorf("wait %v outside [%v, %v]", d, tc.lo, tc.hi)
				}
				distinct[d] = true
			}
			if tc.jitter > 0 && len(distinct) < 2 {
				t.Errorf("jitter %v gave one wait %v for %d requests", tc.jitter, ds[0], n)
			}
		})
	}
}

func TestNoLatencyByDefault(t *testing.T) {
	var s sleeps
	h := newHarness(t, emulator.Options{Sleep: s.sleep})
	h.do(http.MethodGet, "/properties/1000001/contacts", staticAuth, "")
	if ds := s.all(); len(ds) != 0 {
		t.Errorf("waits %v without Latency", ds)
	}
}

// TestLatencyEndsWithTheRequestContext uses the real wait with a latency
// no test outlives: only the request's context can end it.
func TestLatencyEndsWithTheRequestContext(t *testing.T) {
	e := emulator.New(emulator.Options{Latency: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, http.MethodPut, "/properties/1000003/contacts", strings.NewReader(`{"contacts":[]}`))
	req.Header.Set("Authorization", staticAuth)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.ServeHTTP(rec, req)
	}()
	cancel()
	<-done
	if rec.Body.Len() != 0 || rec.Code != http.StatusOK || len(rec.Header()) != 0 {
		t.Errorf("an abandoned request was answered: %d %v %q", rec.Code, rec.Header(), rec.Body.String())
	}
}

// TestAbandonedWriteChangesNothing: a write whose caller leaves during the
// latency is never applied.
func TestAbandonedWriteChangesNothing(t *testing.T) {
	leave := true
	var mu sync.Mutex
	sleep := func(context.Context, time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		if leave {
			return context.Canceled
		}
		return nil
	}
	h := newHarness(t, emulator.Options{Latency: time.Millisecond, Sleep: sleep})
	body := `{"contacts":[{"contact_profiles":[{"type":"general"}],"contact_person":{"name":"A B","language_code":"en-gb"},"phones":[{"phone_number":"+31201234567","phone_tech_type":1}],"email":"a@example.com"}]}`
	// The wait fails as if the caller had left; net/http then closes the
	// exchange with an empty answer, which nobody reads.
	if _, err := h.send(http.MethodPost, "/properties/1000003/contacts", staticAuth, body); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	leave = false
	mu.Unlock()
	res := h.do(http.MethodGet, "/properties/1000003/contacts", staticAuth, "")
	if got := strings.TrimSpace(string(res.env.Data.Contacts)); got != "[]" {
		t.Errorf("contacts after an abandoned POST: %s", got)
	}
}

func TestExtraProperties(t *testing.T) {
	const n = 3
	h := newHarness(t, emulator.Options{ExtraProperties: n})
	full := h.do(http.MethodGet, "/properties/"+strconv.Itoa(emulator.DemoPropertyFull)+"/contacts", staticAuth, "")
	for i := range n {
		id := strconv.Itoa(emulator.FirstExtraProperty + i)
		res := h.do(http.MethodGet, "/properties/"+id+"/contacts", staticAuth, "")
		if res.status != http.StatusOK || string(res.env.Data.Contacts) != string(full.env.Data.Contacts) {
			t.Errorf("property %s: %d %s, want the contacts of %d", id, res.status, res.env.Data.Contacts, emulator.DemoPropertyFull)
		}
	}
	// Each is its own property: a write to one leaves the others alone.
	first := strconv.Itoa(emulator.FirstExtraProperty)
	body := `{"contacts":[{"contact_profiles":[{"type":"general"}],"contact_person":{"name":"A B","language_code":"en-gb"},"phones":[{"phone_number":"+31201234567","phone_tech_type":1}],"email":"a@example.com"}]}`
	if res := h.do(http.MethodPut, "/properties/"+first+"/contacts", staticAuth, body); res.status != http.StatusOK {
		t.Fatalf("PUT: %d %s", res.status, res.raw)
	}
	second := h.do(http.MethodGet, "/properties/"+strconv.Itoa(emulator.FirstExtraProperty+1)+"/contacts", staticAuth, "")
	if string(second.env.Data.Contacts) != string(full.env.Data.Contacts) {
		t.Errorf("a write to %s changed its neighbour", first)
	}
	past := h.do(http.MethodGet, "/properties/"+strconv.Itoa(emulator.FirstExtraProperty+n)+"/contacts", staticAuth, "")
	if past.status != http.StatusNotFound {
		t.Errorf("property past the extras: %d, want 404", past.status)
	}
}
