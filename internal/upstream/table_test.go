package upstream

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/answers"
	"github.com/contacts-facade/contacts-facade/internal/httpx"
)

// countingRT counts the HTTP attempts of a client, answered or not.
type countingRT struct {
	rt interface {
		http.RoundTripper
		CloseIdleConnections()
	}
	n atomic.Int64
}

func (c *countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

func (c *countingRT) CloseIdleConnections() { c.rt.CloseIdleConnections() }

// sampleAnswer is an upstream answer that the table files under the row
// named name; false for the rows that are not an HTTP answer.
func sampleAnswer(name string) (reply, bool) {
	switch name {
	case "API 4xx":
		return reply{status: 418, body: `{}`}, true
	case "API 5xx":
		return reply{status: 501, body: `{}`}, true
	case "API other":
		return reply{status: 200, body: `{"errors":[{"message":"half a success"}]}`}, true
	case "undecodable 4xx":
		return reply{status: 400, file: "error_502.html"}, true
	case "undecodable 5xx":
		return reply{status: 501, file: "error_502.html"}, true
	}
	rest, ok := strings.CutPrefix(name, "API ")
	if !ok {
		return reply{}, false
	}
	st, code, _ := strings.Cut(rest, "/")
	status, err := strconv.Atoi(st)
	if err != nil {
		return reply{}, false
	}
	if code == "" {
		return reply{status: status, body: `{"errors":[]}`}, true
	}
	return reply{status: status, body: `{"errors":[{"code":"` + code + `"}]}`}, true
}

// TestClientFollowsTheTable walks every row of the answers table that an
// HTTP answer (or its absence) can reach, makes the client meet it on GET
// and on PUT, and checks that the client did what the row says: as many
// sends as RetryGet/RetryWrite allow, one renewal when RenewToken, a
// budget token per send when SpendsBudget, and Meaning giving the row.
func TestClientFollowsTheTable(t *testing.T) {
	const attempts = 3
	seen := map[string]bool{}
	for _, e := range answers.All() {
		rep, isAnswer := sampleAnswer(e.Name)
		failure := map[string]bool{"Success": true, "Unreachable": true, "ConnectionLost": true, "Timeout": true,
			"Cancelled": true, "BodyTooLarge": true, "HeadersTooLarge": true}[e.Name]
		if !isAnswer && !failure {
			continue // the token exchange, bugs, local refusals: no HTTP answer
		}
		seen[e.Name] = true
		for _, m := range []Method{MethodGet, MethodPut} {
			t.Run(e.Name+"/"+string(m), func(t *testing.T) {
				cfg := Config{Retry: RetryPolicy{MaxAttempts: attempts}}
				var handler http.HandlerFunc
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				switch e.Name {
				case "Success":
					rep = reply{status: 200, file: "list_ok.json"}
					if m != MethodGet {
						rep.file = "replace_ok.json"
					}
				case "ConnectionLost":
					rep = reply{hijack: true}
				case "BodyTooLarge":
					rep, cfg.MaxBodyBytes = reply{status: 200, body: `{"data":{"contacts":[]},"pad":"` + strings.Repeat("x", 200) + `"}`}, 100
				case "HeadersTooLarge":
					handler = func(w http.ResponseWriter, r *http.Request) {
						w.Header().Set("X-Padding", strings.Repeat("p", 100<<10))
						w.WriteHeader(200)
					}
				case "Timeout":
					var stop context.CancelFunc
					ctx, stop = context.WithTimeout(t.Context(), 50*time.Millisecond)
					defer stop()
					handler = func(w http.ResponseWriter, r *http.Request) {
						// The server notices the client leave only
						// once the body is read.
						_, _ = io.Copy(io.Discard, r.Body)
						<-r.Context().Done()
					}
				case "Cancelled":
					handler = func(w http.ResponseWriter, r *http.Request) {
						_, _ = io.Copy(io.Discard, r.Body)
						cancel()
						<-r.Context().Done()
					}
				}
				var base string
				counter := &countingRT{rt: httpx.NewTransport(0)}
				cfg.HTTPClient = &http.Client{Transport: counter}
				if e.Name == "Unreachable" {
					base = "http://" + deadAddress(t)
				} else {
					if handler == nil {
						handler = func(w http.ResponseWriter, r *http.Request) { serveReply(t, w, rep) }
					}
					srv := httptest.NewServer(handler)
					t.Cleanup(srv.Close)
					base = srv.URL
				}
				cfg.BaseURL = base
				auth := &rotatingAuth{allowRetry: true}
				cfg.Authorizer = auth
				c, _ := newTestClient(t, nil, cfg)
				_, _, _, err := callMethod(ctx, c, m)

				row := e.Row
				if e.Name == "Success" {
					if err != nil {
						t.Fatalf("err = %v", err)
					}
					if !invalidatesCache(nil) {
						t.Error("a successful write leaves the cache")
					}
				} else {
					got, ok := Meaning(err)
					if !ok || got != row {
						t.Fatalf("Meaning(%v) = %+v, %v; want the row %s", err, got, ok, e.Name)
					}
					if invalidatesCache(err) != row.InvalidatesCache {
						t.Errorf("InvalidatesCache = %v, want %v", invalidatesCache(err), row.InvalidatesCache)
					}
				}
				retried := (m == MethodGet && row.RetryGet) || (m != MethodGet && row.RetryWrite)
				wantSends := int64(1)
				if retried && ctx.Err() == nil {
					wantSends = attempts
				}
				if row.RenewToken {
					wantSends++
				}
				if got := counter.n.Load(); got != wantSends {
					t.Errorf("%d sends, want %d (retry %v, renew %v)", got, wantSends, retried, row.RenewToken)
				}
				wantRenewals := 0
				if row.RenewToken {
					wantRenewals = 1
				}
				if len(auth.rejected) != wantRenewals {
					t.Errorf("%d renewals, want %d", len(auth.rejected), wantRenewals)
				}
				// Sends made after the context ended count nothing.
				wantTokens := c.budget.max
				if row.SpendsBudget && ctx.Err() == nil {
					wantTokens -= 1000 * wantSends
				}
				if got := c.budget.tokens.Load(); got != wantTokens {
					t.Errorf("budget %d, want %d (spends %v)", got, wantTokens, row.SpendsBudget)
				}
			})
		}
	}
	for _, name := range []string{"API 400/497", "API 503", "API 5xx", "undecodable 4xx", "Unreachable", "HeadersTooLarge", "Timeout"} {
		if !seen[name] {
			t.Errorf("row %s not walked", name)
		}
	}
}
