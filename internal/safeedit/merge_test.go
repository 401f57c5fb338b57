package safeedit_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/safeedit"
)

type contacts = []*contactsv1.Contact

func profiles(ps ...contactsv1.ProfileType) []contactsv1.ProfileType { return ps }

func withProfiles(c *contactsv1.Contact, ps ...contactsv1.ProfileType) *contactsv1.Contact {
	return edit(c, func(c *contactsv1.Contact) { c.Profiles = ps })
}

func TestSetProfile(t *testing.T) {
	anna, jan, eva := person("anna"), person("jan"), person("eva")
	cases := []struct {
		name  string
		state contacts
		p     contactsv1.ProfileType
		want  contacts
		out   contacts
	}{
		{"new contact for a profile nobody had",
			contacts{withProfiles(anna, pGeneral)}, pInvoices, contacts{jan},
			contacts{withProfiles(anna, pGeneral), withProfiles(jan, pInvoices)}},
		{"equal to an existing contact: profile added, no duplicate",
			contacts{withProfiles(anna, pGeneral), withProfiles(jan, pRes)}, pInvoices, contacts{withProfiles(anna, pAvail)},
			contacts{withProfiles(anna, pGeneral, pInvoices), withProfiles(jan, pRes)}},
		{"profile taken off the old holder, which keeps its others",
			contacts{withProfiles(anna, pGeneral, pInvoices), withProfiles(jan, pRes)}, pInvoices, contacts{eva},
			contacts{withProfiles(anna, pGeneral), withProfiles(jan, pRes), withProfiles(eva, pInvoices)}},
		{"old holder with no profile left disappears",
			contacts{withProfiles(anna, pGeneral), withProfiles(jan, pInvoices)}, pInvoices, contacts{eva},
			contacts{withProfiles(anna, pGeneral), withProfiles(eva, pInvoices)}},
		{"several contacts for one profile",
			contacts{withProfiles(anna, pGeneral)}, pRes, contacts{jan, eva},
			contacts{withProfiles(anna, pGeneral), withProfiles(jan, pRes), withProfiles(eva, pRes)}},
		{"the same contact twice in the request: once",
			contacts{withProfiles(anna, pGeneral)}, pRes, contacts{jan, jan},
			contacts{withProfiles(anna, pGeneral), withProfiles(jan, pRes)}},
		{"general moves to another contact",
			contacts{withProfiles(anna, pGeneral, pInvoices), withProfiles(jan, pRes)}, pGeneral, contacts{jan},
			contacts{withProfiles(anna, pInvoices), withProfiles(jan, pRes, pGeneral)}},
		{"unchanged when set to what it is",
			contacts{withProfiles(anna, pGeneral, pInvoices), withProfiles(jan, pRes)}, pInvoices, contacts{anna},
			contacts{withProfiles(anna, pGeneral, pInvoices), withProfiles(jan, pRes)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := safeedit.SetProfile(tc.state, tc.p, tc.want)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.out, got, protocmp.Transform()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := safeedit.SetProfile(contacts{withProfiles(anna, pGeneral)}, pGeneral, contacts{anna, jan}); !errors.Is(err, safeedit.ErrGeneralRequired) {
		t.Errorf("two GENERAL contacts: %v, want ErrGeneralRequired", err)
	}
}

func TestClearProfile(t *testing.T) {
	anna, jan := person("anna"), person("jan")
	got, err := safeedit.ClearProfile(contacts{withProfiles(anna, pGeneral, pRes), withProfiles(jan, pRes)}, pRes)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(contacts{withProfiles(anna, pGeneral)}, got, protocmp.Transform()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := safeedit.ClearProfile(got, pGeneral); !errors.Is(err, safeedit.ErrGeneralRequired) {
		t.Errorf("clearing GENERAL: %v, want ErrGeneralRequired", err)
	}
}

func mask(t *testing.T, paths ...string) safeedit.Mask {
	t.Helper()
	m, errs := safeedit.ParseMask(paths)
	if errs != nil {
		t.Fatalf("ParseMask(%q): %v", paths, errs)
	}
	return m
}

func TestUpdateProfile(t *testing.T) {
	anna, jan := person("anna"), person("jan")
	newMail := &contactsv1.Contact{Email: "invoices@example.com"}
	annaNewMail := edit(anna, func(c *contactsv1.Contact) { c.Email = "invoices@example.com" })
	cases := []struct {
		name    string
		state   contacts
		p       contactsv1.ProfileType
		patch   *contactsv1.Contact
		mask    safeedit.Mask
		out     contacts
		updated *contactsv1.Contact
	}{
		{"shared contact: the profile is split off, the others keep it unchanged",
			contacts{withProfiles(anna, pGeneral, pInvoices), withProfiles(jan, pRes)}, pInvoices, newMail, mask(t, "email"),
			contacts{withProfiles(anna, pGeneral), withProfiles(annaNewMail, pInvoices), withProfiles(jan, pRes)},
			withProfiles(annaNewMail, pInvoices)},
		{"sole profile: changed in place",
			contacts{withProfiles(anna, pGeneral), withProfiles(jan, pInvoices)}, pInvoices, &contactsv1.Contact{ContactPerson: &contactsv1.ContactPerson{Name: "jo"}}, mask(t, "contact_person.name"),
			contacts{withProfiles(anna, pGeneral), withProfiles(edit(jan, func(c *contactsv1.Contact) { c.ContactPerson.Name = "jo" }), pInvoices)},
			withProfiles(edit(jan, func(c *contactsv1.Contact) { c.ContactPerson.Name = "jo" }), pInvoices)},
		{"updated to equal another contact: merged into it",
			contacts{withProfiles(anna, pGeneral), withProfiles(jan, pInvoices)}, pInvoices, anna, mask(t, "*"),
			contacts{withProfiles(anna, pGeneral, pInvoices)},
			withProfiles(anna, pInvoices)},
		{"nothing masked: unchanged",
			contacts{withProfiles(anna, pGeneral, pInvoices)}, pInvoices, jan, safeedit.Mask{},
			contacts{withProfiles(anna, pGeneral, pInvoices)},
			withProfiles(anna, pInvoices)},
		{"whole address cleared",
			contacts{withProfiles(edit(anna, func(c *contactsv1.Contact) { c.Address = &contactsv1.Address{CityName: "Amsterdam"} }), pGeneral)}, pGeneral, &contactsv1.Contact{}, mask(t, "address"),
			contacts{withProfiles(anna, pGeneral)},
			withProfiles(anna, pGeneral)},
		{"address field on a contact without address",
			contacts{withProfiles(anna, pGeneral)}, pGeneral, &contactsv1.Contact{Address: &contactsv1.Address{CityName: "Utrecht", CountryCode: "NL"}}, mask(t, "address.city_name"),
			contacts{withProfiles(edit(anna, func(c *contactsv1.Contact) { c.Address = &contactsv1.Address{CityName: "Utrecht"} }), pGeneral)},
			withProfiles(edit(anna, func(c *contactsv1.Contact) { c.Address = &contactsv1.Address{CityName: "Utrecht"} }), pGeneral)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, updated, err := safeedit.UpdateProfile(tc.state, tc.p, tc.patch, tc.mask)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.out, got, protocmp.Transform()); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.updated, updated, protocmp.Transform()); diff != "" {
				t.Errorf("updated contact (-want +got):\n%s", diff)
			}
		})
	}
	var pce *safeedit.ProfileCountError
	if _, _, err := safeedit.UpdateProfile(contacts{withProfiles(anna, pGeneral)}, pRes, anna, mask(t, "email")); !errors.As(err, &pce) || pce.Count != 0 {
		t.Errorf("no contact: %v, want a ProfileCountError with 0", err)
	}
	if _, _, err := safeedit.UpdateProfile(contacts{withProfiles(anna, pGeneral, pRes), withProfiles(jan, pRes)}, pRes, anna, mask(t, "email")); !errors.As(err, &pce) || pce.Count != 2 {
		t.Errorf("two contacts: %v, want a ProfileCountError with 2", err)
	}
}

func TestParseMask(t *testing.T) {
	_, errs := safeedit.ParseMask([]string{"email", "phones[0]", "phones.0.phone_number", "profiles", "contact_person.nickname", "contactPerson"})
	var got []int
	for _, e := range errs {
		got = append(got, e.Index)
	}
	if diff := cmp.Diff([]int{1, 2, 3, 4, 5}, got); diff != "" {
		t.Errorf("refused paths (-want +got):\n%s", diff)
	}
	if _, errs := safeedit.ParseMask([]string{"*", "email"}); len(errs) != 1 || errs[0].Index != 0 {
		t.Errorf(`"*" with another path: %v, want one error on paths[0]`, errs)
	}
	for _, p := range safeedit.AllowedPaths() {
		if _, errs := safeedit.ParseMask([]string{p}); errs != nil {
			t.Errorf("allowed path %q refused: %v", p, errs)
		}
	}
}

func TestPopulatedMask(t *testing.T) {
	anna := person("anna", pGeneral)
	patch := &contactsv1.Contact{ContactPerson: &contactsv1.ContactPerson{Name: "anne"}, Email: "anne@example.com"}
	_, updated, err := safeedit.UpdateProfile(contacts{anna}, pGeneral, patch, safeedit.PopulatedMask(patch))
	if err != nil {
		t.Fatal(err)
	}
	want := edit(anna, func(c *contactsv1.Contact) { c.ContactPerson.Name, c.Email = "anne", "anne@example.com" })
	if diff := cmp.Diff(want, updated, protocmp.Transform()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestDeleted: only contacts whose content is gone are deleted; one that
// keeps its content and loses a profile is not.
func TestDeleted(t *testing.T) {
	gen, inv := contactsv1.ProfileType_PROFILE_TYPE_GENERAL, contactsv1.ProfileType_PROFILE_TYPE_INVOICES
	a := &contactsv1.Contact{Profiles: []contactsv1.ProfileType{gen, inv}, Email: "a@example.com"}
	aGenOnly := &contactsv1.Contact{Profiles: []contactsv1.ProfileType{gen}, Email: "a@example.com"}
	b := &contactsv1.Contact{Profiles: []contactsv1.ProfileType{inv}, Email: "b@example.com"}
	for _, tc := range []struct {
		name          string
		before, after []*contactsv1.Contact
		want          []*contactsv1.Contact
	}{
		{"nothing changes", []*contactsv1.Contact{a, b}, []*contactsv1.Contact{a, b}, nil},
		{"b goes", []*contactsv1.Contact{a, b}, []*contactsv1.Contact{a}, []*contactsv1.Contact{b}},
		{"a loses a profile only", []*contactsv1.Contact{a}, []*contactsv1.Contact{aGenOnly}, nil},
		{"all go", []*contactsv1.Contact{a, b}, nil, []*contactsv1.Contact{a, b}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := safeedit.Deleted(tc.before, tc.after); !slices.Equal(got, tc.want) {
				t.Fatalf("Deleted = %v, want %v", got, tc.want)
			}
		})
	}
}
