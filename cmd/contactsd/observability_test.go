package main

import (
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var adminAddrPattern = regexp.MustCompile(`msg="serving admin HTTP" listen=(\S+)`)

func adminGet(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(callCtx(t), http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdminListener(t *testing.T) {
	t.Run("off by default", func(t *testing.T) {
		d := startDaemon(t, []string{"-listen", "127.0.0.1:0"}, nil)
		if strings.Contains(d.logs.String(), "admin") {
			t.Errorf("an admin listener without -admin-listen:\n%s", d.logs)
		}
	})
	for _, pprof := range []bool{false, true} {
		args := []string{"-listen", "127.0.0.1:0", "-admin-listen", "127.0.0.1:0"}
		if pprof {
			args = append(args, "-admin-pprof")
		}
		t.Run(strings.Join(args[2:], " "), func(t *testing.T) {
			d := startDaemon(t, args, nil)
			m := adminAddrPattern.FindStringSubmatch(d.logs.String())
			if m == nil {
				t.Fatalf("no admin listener logged:\n%s", d.logs)
			}
			addr := m[1]
			for _, c := range []struct {
				path string
				code int
				body string
			}{
				{"/healthz", 200, "ok"},
				{"/readyz", 200, "serving"},
				{"/metrics", 200, "go_goroutines"},
				{"/metrics", 200, "process_resident_memory_bytes"},
			} {
				if code, body := adminGet(t, addr, c.path); code != c.code || !strings.Contains(body, c.body) {
					t.Errorf("GET %s: %d, want %d with %q", c.path, code, c.code, c.body)
				}
			}
			code, _ := adminGet(t, addr, "/debug/pprof/")
			if want := map[bool]int{false: 404, true: 200}[pprof]; code != want {
				t.Errorf("GET /debug/pprof/: %d, want %d", code, want)
			}
			if err := d.stop(t); err != nil {
				t.Fatal(err)
			}
			if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
				t.Error("the admin listener still answers after run returned")
			}
		})
	}
}

// /readyz follows the serving state: 503 before the server serves and from
// the start of the shutdown.
func TestReadyz(t *testing.T) {
	o, err := newObservability(t.Context(), obsConfig{adminListen: "127.0.0.1:0"}, func(string) string { return "" }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := o.startAdmin(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer o.shutdown()
	addr := o.admin.Addr().String()
	for _, tt := range []struct {
		ready bool
		code  int
	}{{false, 503}, {true, 200}, {false, 503}} {
		o.setReady(tt.ready)
		if code, _ := adminGet(t, addr, "/readyz"); code != tt.code {
			t.Errorf("ready %v: GET /readyz %d, want %d", tt.ready, code, tt.code)
		}
	}
}

// Without OTEL_* and without -admin-listen, nothing is added to the
// server or the upstream client.
func TestObservabilityOff(t *testing.T) {
	o, err := newObservability(t.Context(), obsConfig{}, func(string) string { return "" }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer o.shutdown()
	u, s, opts := o.serverHooks()
	if len(u)+len(s)+len(opts) != 0 || o.upstreamHTTPClient(false) != nil || o.upstreamObserver() != nil || o.onTokenExchange() != nil {
		t.Errorf("observability off adds hooks: %d %d %d %v %v", len(u), len(s), len(opts), o.upstreamHTTPClient(false), o.upstreamObserver())
	}
	on, err := newObservability(t.Context(), obsConfig{adminListen: "127.0.0.1:0"}, func(string) string { return "" }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer on.shutdown()
	if u, s, _ := on.serverHooks(); len(u) != 1 || len(s) != 1 || on.upstreamObserver() == nil || on.onTokenExchange() == nil {
		t.Error("-admin-listen: no metrics hooks")
	}
}
