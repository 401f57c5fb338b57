package observability

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func getAdmin(t *testing.T, h http.Handler, path string, header ...string) (int, http.Header, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil).WithContext(t.Context())
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, rec.Header(), string(b)
}

func exemplarRegistry(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "test_calls_total", Help: "test"})
	c.(prometheus.ExemplarAdder).AddWithExemplar(1, prometheus.Labels{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"})
	reg.MustRegister(c)
	return reg
}

func TestAdminEndpoints(t *testing.T) {
	var ready atomic.Bool
	h := adminHandler(adminConfig{Gatherer: exemplarRegistry(t), Ready: ready.Load})
	tests := []struct {
		name, path string
		ready      bool
		header     []string
		code       int
		body       string
		ctype      string
	}{
		{"healthz", "/healthz", false, nil, 200, "ok", "text/plain"},
		{"readyz not serving", "/readyz", false, nil, 503, "not serving", "text/plain"},
		{"readyz serving", "/readyz", true, nil, 200, "serving", "text/plain"},
		{"metrics text", "/metrics", true, nil, 200, "test_calls_total 1", "text/plain"},
		{"metrics OpenMetrics with exemplar", "/metrics", true, []string{"Accept", "application/openmetrics-text"}, 200,
			`test_calls_total 1.0 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 1.0`, "application/openmetrics-text"},
		{"no pprof by default", "/debug/pprof/", true, nil, 404, "", ""},
		{"unknown path", "/admin", true, nil, 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready.Store(tt.ready)
			code, hdr, body := getAdmin(t, h, tt.path, tt.header...)
			if code != tt.code || !strings.Contains(body, tt.body) || !strings.HasPrefix(hdr.Get("Content-Type"), tt.ctype) {
				t.Errorf("GET %s: %d %q %q; want %d, %q in the body, %q", tt.path, code, hdr.Get("Content-Type"), body, tt.code, tt.body, tt.ctype)
			}
		})
	}
}

func TestPprofOnlyWhenAsked(t *testing.T) {
	for _, on := range []bool{false, true} {
		h := adminHandler(adminConfig{Pprof: on})
		code, _, body := getAdmin(t, h, "/debug/pprof/goroutine?debug=1")
		if got := code == 200 && strings.Contains(body, "goroutine profile:"); got != on {
			t.Errorf("Pprof %v: GET goroutine profile: %d", on, code)
		}
	}
}

func TestNoMetricsWithoutGatherer(t *testing.T) {
	if code, _, _ := getAdmin(t, adminHandler(adminConfig{}), "/metrics"); code != 404 {
		t.Errorf("GET /metrics without a gatherer: %d, want 404", code)
	}
	if code, _, _ := getAdmin(t, adminHandler(adminConfig{}), "/readyz"); code != 200 {
		t.Errorf("GET /readyz without Ready: %d, want 200", code)
	}
}

func TestAdminServer(t *testing.T) {
	s, err := listenAdmin(t.Context(), "127.0.0.1:0", adminHandler(adminConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	resp, err := http.Get("http://" + s.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /healthz: %d", resp.StatusCode)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve after Shutdown: %v", err)
	}
}
