package observability

import (
	"log/slog"
	"net/http"
	"testing"
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
