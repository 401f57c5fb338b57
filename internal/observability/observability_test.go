package observability

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/readpath"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
)

func newForTest(t *testing.T, cfg Config) *Observability {
	t.Helper()
	o, err := New(t.Context(), cfg, func(string) string { return "" }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Shutdown)
	return o
}

// /readyz follows the serving state: 503 before the server serves and from
// the start of the shutdown.
func TestReadyz(t *testing.T) {
	o := newForTest(t, Config{AdminListen: "127.0.0.1:0"})
	if err := o.StartAdmin(t.Context()); err != nil {
		t.Fatal(err)
	}
	url := "http://" + o.admin.Addr().String() + "/readyz"
	for _, tt := range []struct {
		ready bool
		code  int
	}{{false, 503}, {true, 200}, {false, 503}} {
		o.SetReady(tt.ready)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.code {
			t.Errorf("ready %v: GET /readyz %d, want %d", tt.ready, resp.StatusCode, tt.code)
		}
	}
}

// Without OTEL_* and without AdminListen, nothing is added to the server
// or the upstream client.
func TestObservabilityOff(t *testing.T) {
	o := newForTest(t, Config{})
	u, s, opts := o.ServerHooks()
	if len(u)+len(s)+len(opts) != 0 || o.UpstreamHTTPClient(false) != nil || o.UpstreamObserver() != nil || o.OnTokenExchange() != nil {
		t.Errorf("observability off adds hooks: %d %d %d %v %v", len(u), len(s), len(opts), o.UpstreamHTTPClient(false), o.UpstreamObserver())
	}
	on := newForTest(t, Config{AdminListen: "127.0.0.1:0"})
	if u, s, _ := on.ServerHooks(); len(u) != 1 || len(s) != 1 || on.UpstreamObserver() == nil || on.OnTokenExchange() == nil {
		t.Error("AdminListen: no metrics hooks")
	}
}

// The Watch methods serve what others count, read at each scrape; without
// metrics they register nothing, and never call what they watch.
func TestWatch(t *testing.T) {
	var logs bytes.Buffer
	o, err := New(t.Context(), Config{AdminListen: "127.0.0.1:0"}, func(string) string { return "" }, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Shutdown)
	stats := readpath.Stats{UpstreamGets: 7, Joins: 3, Hits: 11, Misses: 5, StaleServes: 2, StaleOnError: 1, Evictions: 4, Invalidations: 6, Entries: 9, Bytes: 4096}
	degraded := false
	o.WatchToken(func() upstreamauth.TokenSnapshot {
		return upstreamauth.TokenSnapshot{BudgetLeft: 17, HasToken: true, ExpiresAt: time.Now().Add(time.Hour)}
	})
	o.WatchReads(func() readpath.Stats { return stats })
	o.WatchRedis(func() bool { return degraded })
	want := []string{
		"contacts_facade_token_budget_left 17\n",
		"contacts_facade_reads_upstream_gets_total 7\n",
		"contacts_facade_reads_coalesced_total 3\n",
		"contacts_facade_reads_cache_hits_total 11\n",
		"contacts_facade_reads_cache_misses_total 5\n",
		"contacts_facade_reads_cache_stale_total 2\n",
		"contacts_facade_reads_cache_stale_on_error_total 1\n",
		"contacts_facade_reads_cache_evictions_total 4\n",
		"contacts_facade_reads_invalidations_total 6\n",
		"contacts_facade_reads_cache_entries 9\n",
		"contacts_facade_reads_cache_bytes 4096\n",
		"contacts_facade_redis_degraded 0\n",
	}
	text := scrape(t, o.metrics)
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("scrape lacks %q", w)
		}
	}
	stats.Hits, degraded = 12, true
	text = scrape(t, o.metrics)
	for _, w := range []string{"contacts_facade_reads_cache_hits_total 12\n", "contacts_facade_redis_degraded 1\n"} {
		if !strings.Contains(text, w) {
			t.Errorf("second scrape lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", text)
	}
	// A second watch of the same thing is refused, and said so.
	o.WatchRedis(func() bool { return degraded })
	if !strings.Contains(logs.String(), "redis metrics") {
		t.Errorf("watching Redis twice: no error logged:\n%s", logs.String())
	}

	off := newForTest(t, Config{})
	called := func() { t.Error("without metrics, a watched func was called") }
	off.WatchToken(func() upstreamauth.TokenSnapshot { called(); return upstreamauth.TokenSnapshot{} })
	off.WatchReads(func() readpath.Stats { called(); return readpath.Stats{} })
	off.WatchRedis(func() bool { called(); return false })
}
