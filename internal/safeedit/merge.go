package safeedit

import (
	"errors"
	"slices"
	"strconv"

	"google.golang.org/protobuf/proto"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

const general = contactsv1.ProfileType_PROFILE_TYPE_GENERAL

// ErrGeneralRequired: the GENERAL profile cannot be left without a contact
// (cleared, or set to none or several).
var ErrGeneralRequired = errors.New("safeedit: exactly one contact must serve PROFILE_TYPE_GENERAL")

// ProfileCountError: UpdateProfile needs exactly one contact serving the
// profile, and Count contacts do.
type ProfileCountError struct {
	Profile contactsv1.ProfileType
	Count   int
}

func (e *ProfileCountError) Error() string {
	return "safeedit: " + strconv.Itoa(e.Count) + " contacts serve " + e.Profile.String() + ", want exactly one"
}

// Serving returns the contacts of state that carry profile p, in order.
// They are state's own messages, not copies.
func Serving(state []*contactsv1.Contact, p contactsv1.ProfileType) []*contactsv1.Contact {
	var out []*contactsv1.Contact
	for _, c := range state {
		if slices.Contains(c.GetProfiles(), p) {
			out = append(out, c)
		}
	}
	return out
}

// SetProfile returns state in which exactly the contacts of want serve p
// and every other profile is served by exactly the contacts that served it
// in state.
//
// p is taken off every contact of state; a contact that had p and no other
// profile is left out. Then each contact of want that is equal in content
// (SameContent) to a contact of the result, one kept from state or one of
// want already added, gets p added; any other is appended as a new contact
// whose only profile is p. The profiles of want's contacts are ignored.
// For GENERAL, want must hold exactly one contact (ErrGeneralRequired).
func SetProfile(state []*contactsv1.Contact, p contactsv1.ProfileType, want []*contactsv1.Contact) ([]*contactsv1.Contact, error) {
	if p == general && len(want) != 1 {
		return nil, ErrGeneralRequired
	}
	out, _ := withoutProfile(state, p)
	for _, w := range want {
		out = addServing(out, w, p, len(out))
	}
	return out, nil
}

// ClearProfile returns state with p taken off every contact, and the
// contacts left with no profile left out. GENERAL cannot be cleared.
func ClearProfile(state []*contactsv1.Contact, p contactsv1.ProfileType) ([]*contactsv1.Contact, error) {
	if p == general {
		return nil, ErrGeneralRequired
	}
	out, _ := withoutProfile(state, p)
	return out, nil
}

// UpdateProfile applies mask with the values of patch to the one contact
// of state that serves p, and returns the new state and the updated
// contact (whose only profile is p).
//
// When that contact serves other profiles too, they keep it unchanged: p is
// taken off it and served by an updated copy. An updated contact equal in
// content to another contact of state is not added: that contact gets p.
// A *ProfileCountError when not exactly one contact serves p.
func UpdateProfile(state []*contactsv1.Contact, p contactsv1.ProfileType, patch *contactsv1.Contact, mask Mask) ([]*contactsv1.Contact, *contactsv1.Contact, error) {
	at := -1
	count := 0
	for i, c := range state {
		if slices.Contains(c.GetProfiles(), p) {
			at, count = i, count+1
		}
	}
	if count != 1 {
		return nil, nil, &ProfileCountError{Profile: p, Count: count}
	}
	updated := proto.CloneOf(state[at])
	mask.apply(updated, patch)
	updated.Profiles = []contactsv1.ProfileType{p}

	out, removedAt := withoutProfile(state, p)
	if removedAt < 0 {
		// The contact keeps other profiles: the copy goes after it.
		removedAt = at + 1
	}
	return addServing(out, updated, p, removedAt), updated, nil
}

// withoutProfile returns copies of the contacts of state with p taken off,
// leaving out those that had p and nothing else. removedAt is the index in
// the result where the first contact left out would have been, -1 if
// none was.
func withoutProfile(state []*contactsv1.Contact, p contactsv1.ProfileType) (out []*contactsv1.Contact, removedAt int) {
	out = make([]*contactsv1.Contact, 0, len(state)+1)
	removedAt = -1
	for _, c := range state {
		n := proto.CloneOf(c)
		if slices.Contains(n.Profiles, p) {
			n.Profiles = slices.DeleteFunc(n.Profiles, func(q contactsv1.ProfileType) bool { return q == p })
			if len(n.Profiles) == 0 {
				if removedAt < 0 {
					removedAt = len(out)
				}
				continue
			}
		}
		out = append(out, n)
	}
	return out, removedAt
}

// addServing makes a contact equal in content to c serve p: an existing
// one of out gets p, or a copy of c with the single profile p is inserted
// at index at.
func addServing(out []*contactsv1.Contact, c *contactsv1.Contact, p contactsv1.ProfileType, at int) []*contactsv1.Contact {
	for _, o := range out {
		if sameContent(o, c) {
			if !slices.Contains(o.Profiles, p) {
				o.Profiles = append(o.Profiles, p)
			}
			return out
		}
	}
	n := proto.CloneOf(c)
	n.Profiles = []contactsv1.ProfileType{p}
	return slices.Insert(out, min(at, len(out)), n)
}

// Deleted returns the contacts of before that after no longer holds:
// those equal in content (profiles aside) to no contact of after. A
// contact that only loses a profile is not deleted.
func Deleted(before, after []*contactsv1.Contact) []*contactsv1.Contact {
	var out []*contactsv1.Contact
	for _, b := range before {
		if !slices.ContainsFunc(after, func(a *contactsv1.Contact) bool { return sameContent(a, b) }) {
			out = append(out, b)
		}
	}
	return out
}
