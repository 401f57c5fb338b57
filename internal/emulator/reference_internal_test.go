package emulator

import (
	"regexp"
	"testing"
)

// TestReferenceLists guards the hand-written value lists against typos and
// duplicates.
func TestReferenceLists(t *testing.T) {
	upper2 := regexp.MustCompile(`^[A-Z]{2}$`)
	lang := regexp.MustCompile(`^[a-z]{2}(-[a-z]{2})?$`)
	tests := []struct {
		name  string
		list  []string
		count int
		shape *regexp.Regexp
	}{
		{"countries", countryCodes(), 249, upper2},
		{"languages", languageCodes(), 44, lang},
		{"profile types", profileTypes(), 8, nil},
		{"job titles", jobTitles(), 17, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.list) != tt.count {
				t.Errorf("%d entries, want %d", len(tt.list), tt.count)
			}
			seen := map[string]bool{}
			for _, v := range tt.list {
				if seen[v] {
					t.Errorf("duplicate %q", v)
				}
				seen[v] = true
				if tt.shape != nil && !tt.shape.MatchString(v) {
					t.Errorf("%q does not look like an entry of this list", v)
				}
			}
		})
	}
	for _, c := range []string{"NL", "US", "GB", "DE", "SS", "XK"} {
		if got := set(countryCodes())[c]; got != (c != "XK") {
			t.Errorf("country %s listed = %v", c, got)
		}
	}
}
