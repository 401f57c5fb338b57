package upstream

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// recordingGovernor admits while refuse is nil and records what it is
// told.
type recordingGovernor struct {
	mu       sync.Mutex
	admits   int
	observed []observation
	refuse   error
}

type observation struct {
	status     int
	retryAfter time.Duration
}

func (g *recordingGovernor) Admit(context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.admits++
	return g.refuse
}

func (g *recordingGovernor) Observe(status int, retryAfter time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.observed = append(g.observed, observation{status, retryAfter})
}

// Every HTTP attempt, retries and the resend with a fresh token included,
// passes the governor first, and the governor is told every answer.
func TestGovernorSeesEveryAttempt(t *testing.T) {
	okGet := reply{status: 200, file: "list_ok.json"}
	okPut := reply{status: 200, file: "replace_ok.json"}
	tests := []struct {
		name     string
		method   Method
		replies  []reply
		auth     Authorizer
		wantErr  bool
		observed []observation
	}{
		{"GET at once", MethodGet, []reply{okGet}, nil, false, []observation{{200, 0}}},
		{"PUT at once", MethodPut, []reply{okPut}, nil, false, []observation{{200, 0}}},
		{"POST at once", MethodPost, []reply{okPut}, nil, false, []observation{{200, 0}}},
		{"GET 503 with Retry-After, then success", MethodGet,
			[]reply{{status: 503, file: "error_502.html", header: map[string]string{"Retry-After": "1"}}, okGet}, nil, false,
			[]observation{{503, time.Second}, {200, 0}}},
		{"GET 429 with Retry-After", MethodGet,
			[]reply{{status: 429, file: "error_429.json", header: map[string]string{"Retry-After": "30"}}}, nil, true,
			[]observation{{429, 30 * time.Second}}},
		{"GET dropped connection, then success", MethodGet, []reply{{hijack: true}, okGet}, nil, false,
			[]observation{{0, 0}, {200, 0}}},
		{"GET 401, new token, success", MethodGet, []reply{{status: 401, file: "error_401.json"}, okGet}, &rotatingAuth{allowRetry: true}, false,
			[]observation{{401, 0}, {200, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeUpstream(t, script(tt.replies...))
			g := &recordingGovernor{}
			c, _ := newTestClient(t, f, Config{Governor: g, Authorizer: tt.auth, Retry: RetryPolicy{MaxDelay: 2 * time.Second}})
			_, _, _, err := callMethod(t.Context(), c, tt.method)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if g.admits != f.hits() || !slices.Equal(g.observed, tt.observed) {
				t.Errorf("%d admits for %d hits, observed %v; want one admit per hit, observed %v", g.admits, f.hits(), g.observed, tt.observed)
			}
		})
	}
}

// A refusal of the governor ends the call before any round trip, and its
// status error comes back unchanged (errmap.Translate passes it through).
func TestGovernorRefusalEndsTheCall(t *testing.T) {
	refusal := status.Error(codes.ResourceExhausted, "at the limit")
	for _, m := range []Method{MethodGet, MethodPut, MethodPost} {
		t.Run(string(m), func(t *testing.T) {
			f := newFakeUpstream(t, script(reply{status: 200, file: "list_ok.json"}))
			g := &recordingGovernor{refuse: refusal}
			c, _ := newTestClient(t, f, Config{Governor: g})
			_, _, _, err := callMethod(t.Context(), c, m)
			if !errors.Is(err, refusal) || status.Code(err) != codes.ResourceExhausted {
				t.Fatalf("err = %v, want the governor's refusal unchanged", err)
			}
			if f.hits() != 0 || len(g.observed) != 0 {
				t.Errorf("%d hits, observed %v after a refusal; want none", f.hits(), g.observed)
			}
		})
	}
}

// A retry the governor refuses ends the call with the refusal: the retry
// is never sent.
func TestGovernorRefusesARetry(t *testing.T) {
	f := newFakeUpstream(t, script(reply{status: 503, file: "error_502.html"}, reply{status: 200, file: "list_ok.json"}))
	g := &refuseSecond{}
	c, _ := newTestClient(t, f, Config{Governor: g})
	_, err := c.List(t.Context(), "1", false)
	if status.Code(err) != codes.ResourceExhausted || f.hits() != 1 {
		t.Fatalf("err = %v after %d hits; want the refusal after 1", err, f.hits())
	}
}

type refuseSecond struct{ n int }

func (g *refuseSecond) Admit(context.Context) error {
	g.n++
	if g.n > 1 {
		return status.Error(codes.ResourceExhausted, "at the limit")
	}
	return nil
}
func (g *refuseSecond) Observe(int, time.Duration) {}
