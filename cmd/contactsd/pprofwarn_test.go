package main

import (
	"strings"
	"testing"
)

// TestPprofExposedWarns is the issue 27 weak spot "-admin-listen :PORT
// -admin-pprof on all interfaces": contactsd warns at start-up when
// /debug/pprof/ is served on an address other hosts may reach.
func TestPprofExposedWarns(t *testing.T) {
	for _, tc := range []struct {
		listen string
		pprof  bool
		want   bool
	}{
		{":9090", true, true},
		{"0.0.0.0:9090", true, true},
		{"[::]:9090", true, true},
		{"10.1.2.3:9090", true, true},
		{"admin.internal:9090", true, true},
		{"127.0.0.1:9090", true, false},
		{"[::1]:9090", true, false},
		{"localhost:9090", true, false},
		{":9090", false, false},
		{"", true, false},
	} {
		if got := pprofExposed(tc.listen, tc.pprof); got != tc.want {
			t.Errorf("pprofExposed(%q, %v) = %v, want %v", tc.listen, tc.pprof, got, tc.want)
		}
	}

	d := startDaemon(t, []string{"-listen", "127.0.0.1:0", "-upstream", "emulator", "-admin-listen", ":0", "-admin-pprof"}, nil)
	if err := d.stop(t); err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(d.logs.String(), "level=WARN msg=\"-admin-pprof serves /debug/pprof/") {
		t.Errorf("no start-up warning for pprof on all interfaces:\n%s", d.logs)
	}
}
