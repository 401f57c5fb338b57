package errmap_test

import (
	"strings"
	"testing"

	"github.com/contacts-facade/contacts-facade/internal/errmap"
)

// TestProtoFieldPathLongAndUnchanged covers what TestProtoFieldPath does
// not: a path longer than the stack buffer of ProtoFieldPath, and a path
// already in proto form, which comes back without an allocation.
func TestProtoFieldPathLongAndUnchanged(t *testing.T) {
	long := strings.Repeat("contacts.0.", 20)
	if got, want := errmap.ProtoFieldPath(long+"contact_profiles"), strings.Repeat("contacts[0].", 19)+"contacts[0].profiles"; got != want {
		t.Errorf("long path: got %q, want %q", got, want)
	}
	same := strings.Repeat("contacts[0].", 20) + "email"
	if got := errmap.ProtoFieldPath(" " + same); got != same {
		t.Errorf("long proto path: got %q", got)
	}
	in := "contacts[0].contact_person.language_code"
	if n := testing.AllocsPerRun(100, func() {
		if errmap.ProtoFieldPath(in) != in {
			t.Fatal("changed a proto path")
		}
	}); n != 0 {
		t.Errorf("ProtoFieldPath of a proto path allocates %.0f times", n)
	}
}
