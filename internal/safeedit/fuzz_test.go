package safeedit_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/safeedit"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// pool holds the contents the fuzzer builds states and requests from: few,
// so that equal contents are common; all valid for the emulator, and all
// Dutch, so that any mix of their fields is valid too.
func pool() []*contactsv1.Contact {
	withAddress := func(c *contactsv1.Contact, line, city, postal string) *contactsv1.Contact {
		c.Address = &contactsv1.Address{AddressLine: line, CityName: city, PostalCode: postal, CountryCode: "NL", LanguageCode: "nl"}
		return c
	}
	mobile := person("eva")
	mobile.Phones = append(mobile.Phones, &contactsv1.Phone{PhoneNumber: "+31612345678", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_MOBILE})
	mobile.ContactPerson.Gender = contactsv1.Gender_GENDER_FEMALE
	return []*contactsv1.Contact{
		withAddress(person("anna"), "Herengracht 597", "Amsterdam", "1017 CE"),
		person("jan"),
		withAddress(mobile, "Oudegracht 1", "Utrecht", "3511 AA"),
		person("piet"),
	}
}

var writable = []contactsv1.ProfileType{
	contactsv1.ProfileType_PROFILE_TYPE_GENERAL, contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS,
	contactsv1.ProfileType_PROFILE_TYPE_INVOICES, contactsv1.ProfileType_PROFILE_TYPE_AVAILABILITY,
	contactsv1.ProfileType_PROFILE_TYPE_SITE_CONTENT, contactsv1.ProfileType_PROFILE_TYPE_PARITY,
	contactsv1.ProfileType_PROFILE_TYPE_REQUESTS, contactsv1.ProfileType_PROFILE_TYPE_CENTRAL_RESERVATIONS,
}

// bytesReader hands out the fuzzer's bytes, zeros once they run out.
type bytesReader []byte

func (b *bytesReader) next() int {
	if len(*b) == 0 {
		return 0
	}
	v := (*b)[0]
	*b = (*b)[1:]
	return int(v)
}

// fuzzState builds a state the upstream could hold: 1 to 6 contacts from
// the pool, each with some profiles, exactly one with GENERAL.
func fuzzState(r *bytesReader) []*contactsv1.Contact {
	p := pool()
	n := 1 + r.next()%6
	generalAt := r.next() % n
	state := make([]*contactsv1.Contact, n)
	for i := range state {
		c := proto.CloneOf(p[r.next()%len(p)])
		bits := r.next()
		for j, pt := range writable[1:] {
			if bits&(1<<j) != 0 {
				c.Profiles = append(c.Profiles, pt)
			}
		}
		if i == generalAt {
			c.Profiles = append(c.Profiles, contactsv1.ProfileType_PROFILE_TYPE_GENERAL)
		}
		if len(c.Profiles) == 0 {
			c.Profiles = []contactsv1.ProfileType{writable[1+r.next()%(len(writable)-1)]}
		}
		state[i] = c
	}
	return state
}

// contents is the set of canonical contents serving p, as etags of the
// contact without profiles.
func contents(cs []*contactsv1.Contact, p contactsv1.ProfileType) map[string]bool {
	out := map[string]bool{}
	for _, c := range safeedit.Serving(cs, p) {
		out[safeedit.Etag([]*contactsv1.Contact{withProfiles(c)})] = true
	}
	return out
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// accepted reports whether the emulator takes cs as a PUT body.
func accepted(t *testing.T, emu *emulator.Emulator, cs []*contactsv1.Contact) error {
	t.Helper()
	body, err := json.Marshal(upstream.ContactsBody{Contacts: upstream.ContactsToWire(cs)})
	if err != nil {
		t.Fatal(err)
	}
	return emu.OutsideWrite(emulator.DemoPropertyEmpty, body)
}

// FuzzMerge: whatever the state and the request, the result has exactly
// one GENERAL contact, every profile the request did not name is served by
// the same contacts as before, the named one by what the request asked,
// and the emulator accepts the result.
func FuzzMerge(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{3, 1, 0, 0b101, 2, 0b11, 0, 0, 0, 2, 1, 3})
	f.Add([]byte{5, 2, 1, 0xff, 1, 0xff, 2, 1, 3, 0, 1, 2, 0, 2, 1, 7})
	f.Add([]byte{2, 0, 0, 4, 0, 4, 1, 2, 0, 1, 9, 9, 9})
	emu := emulator.New(emulator.Options{})
	paths := safeedit.AllowedPaths()
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytesReader(data)
		state := fuzzState(&r)
		before := proto.Clone(&contactsv1.ListContactsResponse{Contacts: state})
		op := r.next() % 3
		p := writable[r.next()%len(writable)]
		pl := pool()

		var (
			out      []*contactsv1.Contact
			err      error
			wantP    map[string]bool
			patchErr bool
		)
		switch op {
		case 0: // SetProfile
			n := 1 + r.next()%3
			if p == contactsv1.ProfileType_PROFILE_TYPE_GENERAL {
				n = 1
			}
			var want []*contactsv1.Contact
			for range n {
				want = append(want, pl[r.next()%len(pl)])
			}
			out, err = safeedit.SetProfile(state, p, want)
			wantP = contents(withAll(want, p), p)
		case 1: // ClearProfile
			out, err = safeedit.ClearProfile(state, p)
			if p == contactsv1.ProfileType_PROFILE_TYPE_GENERAL {
				if !errors.Is(err, safeedit.ErrGeneralRequired) {
					t.Fatalf("clearing GENERAL: %v", err)
				}
				return
			}
			wantP = map[string]bool{}
		case 2: // UpdateProfile
			var chosen []string
			bits := r.next() | r.next()<<8
			for i, path := range paths[:len(paths)-1] {
				if bits&(1<<i) != 0 {
					chosen = append(chosen, path)
				}
			}
			if r.next()%8 == 0 {
				chosen = []string{"*"}
			}
			m, errs := safeedit.ParseMask(chosen)
			if errs != nil {
				t.Fatalf("ParseMask(%q): %v", chosen, errs)
			}
			var updated *contactsv1.Contact
			out, updated, err = safeedit.UpdateProfile(state, p, pl[r.next()%len(pl)], m)
			if n := len(safeedit.Serving(state, p)); n != 1 {
				var pce *safeedit.ProfileCountError
				if !errors.As(err, &pce) || pce.Count != n {
					t.Fatalf("%d contacts serve %v: %v, want a ProfileCountError", n, p, err)
				}
				return
			}
			if err == nil {
				// The service refuses an updated contact the upstream
				// would refuse; the state must be accepted otherwise.
				patchErr = accepted(t, emu, []*contactsv1.Contact{withProfiles(updated, contactsv1.ProfileType_PROFILE_TYPE_GENERAL)}) != nil
				wantP = contents([]*contactsv1.Contact{updated}, p)
			}
		}
		if err != nil {
			t.Fatalf("op %d on %v: %v", op, p, err)
		}
		if !proto.Equal(before, &contactsv1.ListContactsResponse{Contacts: state}) {
			t.Fatal("the merge changed its input")
		}
		if n := len(safeedit.Serving(out, contactsv1.ProfileType_PROFILE_TYPE_GENERAL)); n != 1 {
			t.Fatalf("%d GENERAL contacts after op %d on %v", n, op, p)
		}
		for _, q := range writable {
			got := contents(out, q)
			if q == p {
				if !sameSet(got, wantP) {
					t.Fatalf("op %d: %v served by %d contents, want %d", op, p, len(got), len(wantP))
				}
				continue
			}
			if !sameSet(got, contents(state, q)) {
				t.Fatalf("op %d on %v changed the contacts of %v", op, p, q)
			}
		}
		for _, c := range out {
			if len(c.GetProfiles()) == 0 || len(slices.Compact(slices.Sorted(slices.Values(c.GetProfiles())))) != len(c.GetProfiles()) {
				t.Fatalf("a contact with no or repeated profiles: %v", c.GetProfiles())
			}
		}
		if patchErr {
			return
		}
		if err := accepted(t, emu, out); err != nil {
			t.Fatalf("the emulator refuses the result of op %d on %v: %v", op, p, err)
		}
	})
}

func withAll(cs []*contactsv1.Contact, p contactsv1.ProfileType) []*contactsv1.Contact {
	out := make([]*contactsv1.Contact, len(cs))
	for i, c := range cs {
		out[i] = withProfiles(c, p)
	}
	return out
}
