package access

import (
	"strings"
	"testing"
)

// TestDuplicateKeysAreRefused: a key given twice in one mapping (the last
// one would win, silently) is an error naming the line of the second.
func TestDuplicateKeysAreRefused(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"default twice", "version: 1\ndefault:\n  rpcs: [read]\ndefault:\n  rpcs: [\"*\"]\n", `line 4: key "default" is already given at line 2`},
		{"version twice", "version: 1\nversion: 1\n", `line 2: key "version" is already given at line 1`},
		{"callers twice", "callers:\n  - id: a\ncallers:\n  - id: b\n", `line 3: key "callers" is already given at line 1`},
		{"id twice", "callers:\n  - id: a\n    rpcs: [read]\n    id: b\n", `line 4: key "id" is already given at line 2`},
		{"properties twice", "callers:\n  - id: a\n    properties: [\"1\"]\n    properties: [\"*\"]\n", `line 4: key "properties" is already given at line 3`},
		{"rpcs twice", "default:\n  rpcs: [read]\n  rpcs: [\"*\"]\n", `line 3: key "rpcs" is already given at line 2`},
		{"burst twice", "default:\n  rate: {per_second: 1, burst: 1, burst: 100}\n", `line 2: key "burst" is already given at line 2`},
		{"json id twice", `{"callers": [{"id": "a", "id": "b"}]}`, `key "id" is already given`},
	}
	for _, tt := range tests {
		_, err := ParsePolicy([]byte(tt.doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
	// Pinned by hand: a second default that would open everything up.
	_, err := ParsePolicy([]byte("version: 1\ndefault:\n  rpcs: [read]\ndefault:\n  rpcs: [\"*\"]\n  write_profiles: [\"*\"]\n"))
	if err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Errorf("second default: %v", err)
	}
}
