package access

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readRecords(t *testing.T, path string) []Record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []Record
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var r Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

// TestTrailFileFollowsItsPath: after its file is renamed (rotated) or
// removed, the next record goes to a file at the trail's path, not to the
// old inode; after a Reopen too. A path that cannot be opened again makes
// the trail unavailable.
func TestTrailFileFollowsItsPath(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	l, err := OpenTrailFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	steps := []struct {
		name   string
		before func() error
		rpc    string
		moved  string // where the previous records went
	}{
		{"first", func() error { return nil }, "A", ""},
		{"renamed", func() error { return os.Rename(path, path+".1") }, "B", path + ".1"},
		{"removed", func() error { return os.Remove(path) }, "C", ""},
		{"reopened", func() error { return l.Reopen() }, "D", ""},
	}
	for _, s := range steps {
		if err := s.before(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if err := l.write(Record{RPC: s.rpc}); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		recs := readRecords(t, path)
		if len(recs) == 0 || recs[len(recs)-1].RPC != s.rpc {
			t.Errorf("%s: records at the path %+v, want the last one %s", s.name, recs, s.rpc)
		}
		if s.moved != "" {
			if old := readRecords(t, s.moved); len(old) != 1 || old[0].RPC != "A" {
				t.Errorf("%s: the rotated file holds %+v, want A", s.name, old)
			}
		}
	}
	// Pinned by hand: after the removal, C alone is at the path, then D.
	if recs := readRecords(t, path); len(recs) != 2 || recs[0].RPC != "C" || recs[1].RPC != "D" {
		t.Errorf("records at the path: %+v, want C, D", recs)
	}
}

func TestTrailFileRemovedWithItsDirectoryIsUnavailable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "audit.log")
	l, err := OpenTrailFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := l.write(Record{RPC: "A"}); err == nil || l.healthy() == nil {
		t.Fatalf("write to an unlinked file: %v, healthy %v; want unavailable", err, l.healthy())
	}
	if err := l.Reopen(); err == nil || l.healthy() == nil {
		t.Fatalf("Reopen of a path in a removed directory: %v, healthy %v", err, l.healthy())
	}
	// The directory is back: the next commit opens the file again.
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := l.write(Record{RPC: "B"}); err != nil || l.healthy() != nil {
		t.Fatalf("after the directory came back: %v, %v", err, l.healthy())
	}
	if recs := readRecords(t, path); len(recs) != 1 || recs[0].RPC != "B" {
		t.Errorf("records %+v", recs)
	}
}
