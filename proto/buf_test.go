//go:build e2e

// Package proto_test checks the API definitions with the buf pinned in
// tools/go.mod: lint, breaking changes, and that the committed gen/ is what
// buf generates. It builds buf (~870 packages on a cold cache), so it runs
// with the e2e build tag, as .ci/run does:
//
//	go test -tags e2e ./proto
package proto_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is where buf.yaml lives.
const repoRoot = ".."

// goTool runs a tool of the tools module: go tool -modfile=tools/go.mod.
func goTool(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"tool", "-modfile=tools/go.mod"}, args...)...)
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go tool -modfile=tools/go.mod %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestBufLint(t *testing.T) {
	goTool(t, "buf", "lint")
}

// TestBufBreaking compares the API with the commit that first published
// contacts/v1: a v1 API may grow, never break.
func TestBufBreaking(t *testing.T) {
	cmd := exec.Command("git", "log", "--diff-filter=A", "--format=%H", "--", "proto/contacts/v1/contacts.proto")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git log: %v", err)
	}
	commits := strings.Fields(string(out))
	if len(commits) == 0 {
		t.Fatal("proto/contacts/v1/contacts.proto is not committed yet")
	}
	// The proto module only: the workspace also holds third_party/googleapis
	// (imported, not ours), which the first commit did not have.
	goTool(t, "buf", "breaking", "proto", "--against", ".git#ref="+commits[len(commits)-1])
}

// TestGeneratedCodeIsFresh fails when gen/ differs from what
// `go tool -modfile=tools/go.mod buf generate` makes of proto/: run it and commit gen/.
func TestGeneratedCodeIsFresh(t *testing.T) {
	tmp := t.TempDir()
	goTool(t, "buf", "generate", "--output", tmp)
	want := readTree(t, filepath.Join(tmp, "gen"))
	got := readTree(t, filepath.Join(repoRoot, "gen"))
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("gen/%s is missing: run `go tool -modfile=tools/go.mod buf generate`", name)
		case !bytes.Equal(g, w):
			t.Errorf("gen/%s is stale: run `go tool -modfile=tools/go.mod buf generate`", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok && strings.HasSuffix(name, ".go") {
			t.Errorf("gen/%s is not generated from proto/: remove it", name)
		}
	}
	if len(want) == 0 {
		t.Fatal("buf generated nothing")
	}
}

func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
