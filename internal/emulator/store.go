package emulator

import "slices"

// The emulator keeps its own copy of the wire shapes instead of importing
// internal/upstream: it is the test oracle of that package's client, and an
// oracle that shared the client's types would agree with any mistake in
// them. It also lets upstream's own tests import the emulator without an
// import cycle. emulator's tests decode answers with upstream's types to
// catch drift between the two.

// contact is one stored contact, in the JSON shape GET answers with.
type contact struct {
	ContactProfiles []profile `json:"contact_profiles"`
	ContactPerson   person    `json:"contact_person"`
	Address         *address  `json:"address,omitempty"`
	Phones          []phone   `json:"phones"`
	Email           string    `json:"email"`
}

type profile struct {
	Type string `json:"type"`
}

type person struct {
	Name     string `json:"name"`
	Gender   string `json:"gender,omitempty"`
	JobTitle string `json:"job_title,omitempty"`
	// LanguageCode is nil when the language is missing in storage; GET
	// then answers the fallback or null (no_language_fallback=1).
	LanguageCode *string `json:"language_code"`
}

// address has no state_prov_code: the API accepts it on write but never
// returns it (digest), so the emulator does not keep it.
type address struct {
	AddressLine  string `json:"address_line,omitempty"`
	CityName     string `json:"city_name"`
	PostalCode   string `json:"postal_code,omitempty"`
	CountryCode  string `json:"country_code"`
	LanguageCode string `json:"language_code"`
}

type phone struct {
	PhoneNumber   string `json:"phone_number"`
	PhoneTechType int    `json:"phone_tech_type"`
	Extension     string `json:"extension,omitempty"`
}

// property is one emulated property. noAccess marks a property that exists
// but that the demo machine account may not see (GET/PUT/POST answer 404).
type property struct {
	noAccess bool
	contacts []contact
}

// clone returns a deep copy of c, so stored data never aliases what a
// caller holds.
func (c contact) clone() contact {
	out := c
	out.ContactProfiles = slices.Clone(c.ContactProfiles)
	out.Phones = slices.Clone(c.Phones)
	if c.ContactPerson.LanguageCode != nil {
		lang := *c.ContactPerson.LanguageCode
		out.ContactPerson.LanguageCode = &lang
	}
	if c.Address != nil {
		a := *c.Address
		out.Address = &a
	}
	return out
}

func cloneContacts(cs []contact) []contact {
	out := make([]contact, len(cs))
	for i, c := range cs {
		out[i] = c.clone()
	}
	return out
}

// hasProfile reports whether c carries the profile type t.
func (c contact) hasProfile(t string) bool {
	return slices.ContainsFunc(c.ContactProfiles, func(p profile) bool { return p.Type == t })
}

func ptr(s string) *string { return &s }

// seed returns the demo properties described in the package documentation.
func seed() map[int32]*property {
	return map[int32]*property{
		DemoPropertyFull: {contacts: []contact{
			{
				ContactProfiles: []profile{{profileGeneral}, {"invoices"}},
				ContactPerson: person{
					Name:         "Anna de Vries",
					Gender:       "female",
					JobTitle:     "General Manager",
					LanguageCode: ptr("nl"),
				},
				Address: &address{
					AddressLine:  "Herengracht 597",
					CityName:     "Amsterdam",
					PostalCode:   "1017 CE",
					CountryCode:  "NL",
					LanguageCode: "nl",
				},
				Phones: []phone{
					{PhoneNumber: "+31201234567", PhoneTechType: techVoice, Extension: "123"},
					{PhoneNumber: "+31612345678", PhoneTechType: techMobile},
				},
				Email: "anna.devries@example.com",
			},
			{
				ContactProfiles: []profile{{"reservations"}, {"availability"}},
				ContactPerson: person{
					Name:         "Jan Jansen",
					JobTitle:     "Reservations Manager",
					LanguageCode: ptr("en-gb"),
				},
				Phones: []phone{{PhoneNumber: "+31207654321", PhoneTechType: techVoice}},
				Email:  "reservations@example.com",
			},
		}},
		DemoPropertyNoLanguage: {contacts: []contact{
			{
				ContactProfiles: []profile{{profileGeneral}},
				ContactPerson:   person{Name: "Sam Taylor", JobTitle: "Owner"},
				Phones:          []phone{{PhoneNumber: "+442071234567", PhoneTechType: techVoice}},
				Email:           "owner@example.org",
			},
			{
				ContactProfiles: []profile{{profileContract}},
				ContactPerson:   person{Name: "Chris Morgan", LanguageCode: ptr("en-gb")},
				Phones:          []phone{{PhoneNumber: "+442079876543", PhoneTechType: techVoice}},
				Email:           "contracts@example.org",
			},
		}},
		DemoPropertyEmpty: {},
		DemoPropertyNoAccess: {noAccess: true, contacts: []contact{
			{
				ContactProfiles: []profile{{profileGeneral}},
				ContactPerson:   person{Name: "Hidden Person", LanguageCode: ptr("de")},
				Phones:          []phone{{PhoneNumber: "+49301234567", PhoneTechType: techVoice}},
				Email:           "hidden@example.net",
			},
		}},
	}
}
