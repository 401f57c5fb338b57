package safeedit

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"slices"
	"testing"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// etagV1 is Etag as first written: a digest fed each sorted form in turn.
// The etags callers hold must stay valid when the facade is upgraded, so
// the faster Etag must give the same values.
func etagV1(contacts []*contactsv1.Contact) string {
	forms := make([][]byte, len(contacts))
	for i, c := range contacts {
		forms[i] = appendCanonical(nil, c, true)
	}
	slices.SortFunc(forms, bytes.Compare)
	h := sha256.New()
	h.Write([]byte(etagVersion))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(forms)))
	h.Write(n[:])
	for _, f := range forms {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write(f)
	}
	sum := h.Sum(nil)
	return `W/"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}

// stableStates are states of 0 to 12 contacts (past Etag's stack room
// for 8), with long strings (past a form's reserved room) and many
// profiles (past 8, with repeats).
func stableStates() [][]*contactsv1.Contact {
	long := string(bytes.Repeat([]byte("x"), 300))
	contact := func(i int) *contactsv1.Contact {
		c := &contactsv1.Contact{
			Profiles: []contactsv1.ProfileType{contactsv1.ProfileType(i%7 + 1), contactsv1.ProfileType(i%3 + 1)},
			ContactPerson: &contactsv1.ContactPerson{Name: "n" + string(rune('a'+i)), Gender: contactsv1.Gender(i % 3),
				JobTitle: contactsv1.JobTitle(i % 4), LanguageCode: []string{"", "nl", "en-gb"}[i%3]},
			Email: "e" + string(rune('a'+i)) + "@example.com",
		}
		if i%2 == 0 {
			c.Address = &contactsv1.Address{AddressLine: "l", CityName: "c", PostalCode: "p", CountryCode: "NL", StateProvCode: "NH"}
			c.Phones = []*contactsv1.Phone{{PhoneNumber: "+3120", PhoneTechType: 1, Extension: "1"}, {PhoneNumber: "+3161"}}
		}
		if i == 5 {
			c.Email = long
			c.Profiles = append(c.Profiles, 1, 2, 3, 4, 5, 6, 7, 1, 2, 3)
		}
		return c
	}
	var out [][]*contactsv1.Contact
	for n := 0; n <= 12; n++ {
		var cs []*contactsv1.Contact
		for i := range n {
			cs = append(cs, contact(i))
		}
		out = append(out, cs)
	}
	return append(out, []*contactsv1.Contact{{}}, []*contactsv1.Contact{{}, {}})
}

func TestEtagIsStable(t *testing.T) {
	for _, cs := range stableStates() {
		if got, want := Etag(cs), etagV1(cs); got != want {
			t.Errorf("%d contacts: etag %s, the first version gives %s", len(cs), got, want)
		}
	}
}

// TestEtagAllocations: an etag of a typical property costs its buffer and
// its string, not a digest, a slice per contact or a copy of the
// profiles.
func TestEtagAllocations(t *testing.T) {
	cs := stableStates()[4]
	cs[1].Email = "short@example.com"
	if n := testing.AllocsPerRun(100, func() { Etag(cs) }); n > 2 {
		t.Errorf("Etag of 4 contacts: %v allocations, want at most 2", n)
	}
}
