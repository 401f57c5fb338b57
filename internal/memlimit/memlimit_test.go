package memlimit

import (
	"bytes"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// fakeCgroup writes files (relative path → content) under a temporary
// root, as /sys/fs/cgroup shows them.
func fakeCgroup(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// keepLimit restores the runtime's soft memory limit after the test.
func keepLimit(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
}

func noEnv(string) (string, bool) { return "", false }

func TestContainerLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  int64
		file  string // suffix of the file read
		err   bool
	}{
		{"v2", map[string]string{"memory.max": "268435456\n"}, 256 << 20, "memory.max", false},
		{"v2 unlimited", map[string]string{"memory.max": "max\n"}, 0, "memory.max", false},
		{"v1", map[string]string{"memory/memory.limit_in_bytes": "536870912\n"}, 512 << 20, "memory.limit_in_bytes", false},
		{"v1 unlimited", map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}, 0, "memory.limit_in_bytes", false},
		{"v2 before v1", map[string]string{"memory.max": "1000\n", "memory/memory.limit_in_bytes": "2000\n"}, 1000, "memory.max", false},
		{"none", map[string]string{"cpu.max": "max 100000\n"}, 0, "", false},
		{"garbage", map[string]string{"memory.max": "lots\n"}, 0, "memory.max", true},
		{"zero", map[string]string{"memory.max": "0\n"}, 0, "memory.max", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, file, err := ContainerLimit(fakeCgroup(t, tc.files))
			if got != tc.want || (err != nil) != tc.err || !strings.HasSuffix(file, tc.file) {
				t.Errorf("ContainerLimit = %d, %q, %v; want %d, …%s, error %v", got, file, err, tc.want, tc.file, tc.err)
			}
		})
	}
}

func TestConfigureFromCgroup(t *testing.T) {
	keepLimit(t)
	debug.SetMemoryLimit(math.MaxInt64)
	root := fakeCgroup(t, map[string]string{"memory.max": "268435456\n"})
	var logs bytes.Buffer
	s := Configure(root, noEnv, slog.New(slog.NewTextHandler(&logs, nil)))

	want := int64(268435456) / 100 * Percent
	if s.Soft != want || s.Container != 268435456 || !strings.HasSuffix(s.Source, "memory.max") {
		t.Errorf("Configure = %+v, want a soft limit of %d from memory.max", s, want)
	}
	if got := debug.SetMemoryLimit(-1); got != want {
		t.Errorf("runtime soft memory limit %d, want %d", got, want)
	}
	if !strings.Contains(logs.String(), "soft_limit_bytes=241591860") {
		t.Errorf("the log does not give the limit:\n%s", logs.String())
	}
}

func TestConfigureLeavesGOMEMLIMIT(t *testing.T) {
	keepLimit(t)
	debug.SetMemoryLimit(100 << 20) // as the runtime does from GOMEMLIMIT=100MiB
	root := fakeCgroup(t, map[string]string{"memory.max": "268435456\n"})
	env := func(k string) (string, bool) {
		if k == "GOMEMLIMIT" {
			return "100MiB", true
		}
		return "", false
	}
	s := Configure(root, env, slog.New(slog.DiscardHandler))
	if s.Source != "GOMEMLIMIT" || s.Soft != 100<<20 {
		t.Errorf("Configure = %+v, want GOMEMLIMIT's 100 MiB left as it is", s)
	}
	if got := debug.SetMemoryLimit(-1); got != 100<<20 {
		t.Errorf("runtime soft memory limit %d, want GOMEMLIMIT's %d", got, 100<<20)
	}
}

func TestConfigureWithoutLimit(t *testing.T) {
	keepLimit(t)
	debug.SetMemoryLimit(math.MaxInt64)
	for name, files := range map[string]map[string]string{
		"unlimited": {"memory.max": "max\n"},
		"no cgroup": {},
		"garbage":   {"memory.max": "lots\n"},
	} {
		t.Run(name, func(t *testing.T) {
			s := Configure(fakeCgroup(t, files), noEnv, slog.New(slog.DiscardHandler))
			if s.Soft != math.MaxInt64 || s.Container != 0 {
				t.Errorf("Configure = %+v, want no limit", s)
			}
			if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
				t.Errorf("runtime soft memory limit %d, want none", got)
			}
		})
	}
}
