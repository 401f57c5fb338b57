package safeedit_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/safeedit"
)

const (
	pGeneral  = contactsv1.ProfileType_PROFILE_TYPE_GENERAL
	pRes      = contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS
	pInvoices = contactsv1.ProfileType_PROFILE_TYPE_INVOICES
	pAvail    = contactsv1.ProfileType_PROFILE_TYPE_AVAILABILITY
)

// person returns a valid contact with its own name, e-mail and phone.
func person(name string, profiles ...contactsv1.ProfileType) *contactsv1.Contact {
	return &contactsv1.Contact{
		Profiles:      profiles,
		ContactPerson: &contactsv1.ContactPerson{Name: name, LanguageCode: "nl", JobTitle: contactsv1.JobTitle_JOB_TITLE_OWNER},
		Phones:        []*contactsv1.Phone{{PhoneNumber: "+31201234567", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE}},
		Email:         name + "@example.com",
	}
}

func edit(c *contactsv1.Contact, f func(*contactsv1.Contact)) *contactsv1.Contact {
	c = proto.CloneOf(c)
	f(c)
	return c
}

func TestEtagSameState(t *testing.T) {
	a, b := person("anna", pGeneral, pInvoices), person("jan", pRes, pAvail)
	base := safeedit.Etag([]*contactsv1.Contact{a, b})
	cases := map[string][]*contactsv1.Contact{
		"contacts reordered": {b, a},
		"profiles reordered": {edit(a, func(c *contactsv1.Contact) { c.Profiles = []contactsv1.ProfileType{pInvoices, pGeneral} }), b},
		"language missing (no_language_fallback read)": {a, edit(b, func(c *contactsv1.Contact) {
			c.ContactPerson.LanguageCode = ""
			c.ContactPerson.JobTitle = contactsv1.JobTitle_JOB_TITLE_OWNER
		})},
		"job title unspecified is stored as Unknown": nil, // filled below
		"state_prov_code is never returned":          {edit(a, func(c *contactsv1.Contact) { c.Address = &contactsv1.Address{StateProvCode: "NH"} }), b},
	}
	// The fallback read of b: language "en-gb".
	bFallback := edit(b, func(c *contactsv1.Contact) { c.ContactPerson.LanguageCode = "en-gb" })
	base2 := safeedit.Etag([]*contactsv1.Contact{a, bFallback})
	if got := safeedit.Etag(cases["language missing (no_language_fallback read)"]); got != base2 {
		t.Errorf("a missing language: etag %s, want the fallback read's %s", got, base2)
	}
	delete(cases, "language missing (no_language_fallback read)")

	unknown := edit(a, func(c *contactsv1.Contact) { c.ContactPerson.JobTitle = contactsv1.JobTitle_JOB_TITLE_UNKNOWN })
	unspecified := edit(a, func(c *contactsv1.Contact) { c.ContactPerson.JobTitle = contactsv1.JobTitle_JOB_TITLE_UNSPECIFIED })
	if safeedit.Etag([]*contactsv1.Contact{unknown, b}) != safeedit.Etag([]*contactsv1.Contact{unspecified, b}) {
		t.Error("JOB_TITLE_UNSPECIFIED and JOB_TITLE_UNKNOWN give different etags")
	}
	delete(cases, "job title unspecified is stored as Unknown")

	for name, cs := range cases {
		if got := safeedit.Etag(cs); got != base {
			t.Errorf("%s: etag %s, want %s", name, got, base)
		}
	}
	if !safeedit.WellFormedEtag(base) || base[:3] != `W/"` {
		t.Errorf("etag %q is not a weak RFC 7232 etag", base)
	}
}

func TestEtagChanges(t *testing.T) {
	a, b := person("anna", pGeneral, pInvoices), person("jan", pRes)
	base := safeedit.Etag([]*contactsv1.Contact{a, b})
	cases := map[string][]*contactsv1.Contact{
		"a profile moved": {edit(a, func(c *contactsv1.Contact) { c.Profiles = c.Profiles[:1] }), edit(b, func(c *contactsv1.Contact) { c.Profiles = append(c.Profiles, pInvoices) })},
		"a contact fewer": {a},
		"a contact twice": {a, b, b},
		"name":            {edit(a, func(c *contactsv1.Contact) { c.ContactPerson.Name = "anne" }), b},
		"gender":          {edit(a, func(c *contactsv1.Contact) { c.ContactPerson.Gender = contactsv1.Gender_GENDER_FEMALE }), b},
		"language":        {edit(a, func(c *contactsv1.Contact) { c.ContactPerson.LanguageCode = "de" }), b},
		"email":           {edit(a, func(c *contactsv1.Contact) { c.Email = "x@example.com" }), b},
		"phone extension": {edit(a, func(c *contactsv1.Contact) { c.Phones[0].Extension = "1" }), b},
		"phone type": {edit(a, func(c *contactsv1.Contact) {
			c.Phones[0].PhoneTechType = contactsv1.PhoneTechType_PHONE_TECH_TYPE_MOBILE
		}), b},
		"address added":      {edit(a, func(c *contactsv1.Contact) { c.Address = &contactsv1.Address{CityName: "Amsterdam"} }), b},
		"text between cells": {edit(a, func(c *contactsv1.Contact) { c.ContactPerson.Name, c.Email = "anna@example.com", "anna" }), b},
	}
	seen := map[string]string{base: "base"}
	for name, cs := range cases {
		got := safeedit.Etag(cs)
		if other, dup := seen[got]; dup {
			t.Errorf("%s: same etag as %s", name, other)
		}
		seen[got] = name
	}
}

func TestWellFormedEtag(t *testing.T) {
	for s, want := range map[string]bool{
		`W/"abc"`: true, `"abc"`: true, `W/""`: true,
		``: false, `abc`: false, `W/"a"b"`: false, `W/"a b"`: false, `W/abc`: false, `"abc`: false,
	} {
		if got := safeedit.WellFormedEtag(s); got != want {
			t.Errorf("WellFormedEtag(%q) = %v, want %v", s, got, want)
		}
	}
}
