package access

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHolderWithoutPolicyAllowsNothing(t *testing.T) {
	h := NewHolder(nil)
	if g := h.Load().Match("anyone"); g != nil || g.AllowsRPC("ListContacts") {
		t.Fatal("a holder without a policy allows something")
	}
	h.Store(allowAllPolicy())
	if !h.Load().Match("anyone").AllowsRPC("ListContacts") {
		t.Fatal("Store did not take")
	}
	if !AllowAll().Load().Match("anyone").writesAllProfiles() {
		t.Fatal("AllowAll does not allow every write")
	}
}

func TestErrorLines(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []int
	}{
		{"one", "version: 2\n", []int{1}},
		{"several, each once", "callers:\n  - id: a\n    rpcs: [X, Y]\n  - id: b\n    rpcs: [Z]\n", []int{3, 5}},
		{"not yaml", "callers: [\n", nil},
	}
	for _, tt := range tests {
		_, err := ParsePolicy([]byte(tt.doc))
		if got := errorLines(err); !slicesEqual(got, tt.want) {
			t.Errorf("%s: lines %v, want %v (%v)", tt.name, got, tt.want, err)
		}
	}
	// Pinned by hand: a wrapped, joined error keeps its lines.
	if got := errorLines(errors.Join(errors.New("x"), &lineError{line: 7})); !slicesEqual(got, []int{7}) {
		t.Errorf("joined: %v", got)
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestPolicyFileReload: a policy that checks replaces the one in force;
// one that does not leaves it, and the log says where without quoting
// the file.
func TestPolicyFileReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	write := func(doc string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	write("default:\n  rpcs: [read]\n")
	f, err := OpenPolicyFile(path, log)
	if err != nil {
		t.Fatal(err)
	}
	h := f.Holder()
	mayReplace := func() bool { return h.Load().Match("spiffe://team-secret/a").AllowsRPC("ReplaceContacts") }
	if mayReplace() {
		t.Fatal("v1 allows a write")
	}
	write("callers:\n  - id: spiffe://team-secret/*\n    rpcs: [\"*\"]\n    write_profiles: [\"*\"]\n")
	if err := f.Reload(); err != nil || !mayReplace() {
		t.Fatalf("v2 not in force after Reload: %v", err)
	}
	tests := []struct {
		name, doc, logHas string
	}{
		{"unknown RPC", "callers:\n  - id: spiffe://team-secret/b\n    rpcs: [DeleteEverything]\n", "at=\"line 3\""},
		{"two faults", "version: 3\ncallers:\n  - id: spiffe://team-secret/c\n    rcps: [read]\n", "at=\"line 1, line 4\""},
		{"not yaml", "callers: [spiffe://team-secret/d\n", "not a policy document"},
		{"too large", strings.Repeat("#", maxFileBytes+1), "larger than"},
	}
	for _, tt := range tests {
		logs.Reset()
		write(tt.doc)
		if err := f.Reload(); err == nil {
			t.Errorf("%s: Reload accepted it", tt.name)
		}
		if !mayReplace() {
			t.Errorf("%s: the bad policy replaced the good one", tt.name)
		}
		if out := logs.String(); !strings.Contains(out, tt.logHas) || strings.Contains(out, "team-secret") || strings.Contains(out, "DeleteEverything") {
			t.Errorf("%s: log %q, want %q and nothing of the file", tt.name, out, tt.logHas)
		}
	}
	// Pinned by hand: a file gone is named by its path and the failure.
	logs.Reset()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := f.Reload(); err == nil || !mayReplace() || !strings.Contains(logs.String(), "no such file") {
		t.Fatalf("missing file: %v\n%s", err, logs.String())
	}
	if _, err := OpenPolicyFile(path, nil); err == nil {
		t.Fatal("a missing file opened")
	}
}
