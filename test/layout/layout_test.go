// Package layout_test keeps the module's one import direction,
// cmd → service → internal/… → gen (docs/architecture.md): a package may
// import only what stands to its right, and nothing imports cmd/ or test/.
package layout_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/contacts-facade/contacts-facade"

// layer is the place of a package in the direction; a package may import
// packages of a higher layer only. client/ (the Go client) stands beside
// service: it may import gen only.
func layer(pkg string) (int, bool) {
	rel, ok := strings.CutPrefix(pkg, module)
	if !ok {
		return 0, false // not ours
	}
	rel = strings.TrimPrefix(rel, "/")
	switch {
	case strings.HasPrefix(rel, "cmd/"):
		return 0, true
	case rel == "service", rel == "client":
		return 1, true
	case strings.HasPrefix(rel, "internal/"):
		return 2, true
	case strings.HasPrefix(rel, "gen/"):
		return 3, true
	}
	return -1, true // test/, tools, anything else: importable by nobody
}

// rule says why pkg may not import imp, or "" when it may.
func rule(pkg, imp string) string {
	lp, _ := layer(pkg)
	li, ours := layer(imp)
	switch {
	case !ours:
		return ""
	case li < 0:
		return "nothing imports " + strings.TrimPrefix(imp, module+"/")
	case pkg == module+"/client" && li != 3:
		return "the Go client imports gen only: its users must not get the server"
	case li <= lp && !(li == 2 && lp == 2):
		return "imports go one way: cmd → service → internal/… → gen"
	}
	return ""
}

func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 10 {
		t.Fatalf("go list found %d packages: %q", len(lines), out)
	}
	for _, line := range lines {
		fields := strings.Fields(line)
		for _, imp := range fields[1:] {
			if why := rule(fields[0], imp); why != "" {
				t.Errorf("%s imports %s: %s", fields[0], imp, why)
			}
		}
	}
}

// TestRule pins the rule on examples of each case.
func TestRule(t *testing.T) {
	for _, tc := range []struct {
		pkg, imp string
		ok       bool
	}{
		{"cmd/contactsd", "service", true},
		{"cmd/contactsd", "internal/upstream", true},
		{"service", "internal/access", true},
		{"service", "gen/contacts/v1", true},
		{"internal/access", "internal/errmap", true},
		{"internal/errmap", "gen/contacts/v1", true},
		{"client", "gen/contacts/v1", true},
		{"service", "cmd/contactsd", false},
		{"internal/grpcserver", "service", false},
		{"gen/contacts/v1", "internal/errmap", false},
		{"client", "service", false},
		{"client", "internal/errmap", false},
		{"service", "test/fleet", false},
	} {
		if why := rule(module+"/"+tc.pkg, module+"/"+tc.imp); (why == "") != tc.ok {
			t.Errorf("%s → %s: %q, want allowed=%v", tc.pkg, tc.imp, why, tc.ok)
		}
	}
	if why := rule(module+"/service", "google.golang.org/grpc"); why != "" {
		t.Errorf("a third-party import is refused: %s", why)
	}
}
