package main

import (
	"io"
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
