package upstream

import (
	"fmt"
	"slices"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// This file is the one place where the REST vocabulary of the Contacts API
// meets the contacts.v1 enums. The tables are indexed by enum number so that
// enum → REST is an array access; the reverse maps are built once from the
// same tables, so the two directions can never disagree. None of these
// variables is written after package initialisation.

// profileTypeNames maps ProfileType to its REST contact_profiles[].type.
var profileTypeNames = [...]string{
	contactsv1.ProfileType_PROFILE_TYPE_GENERAL:              "general",
	contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS:         "reservations",
	contactsv1.ProfileType_PROFILE_TYPE_INVOICES:             "invoices",
	contactsv1.ProfileType_PROFILE_TYPE_AVAILABILITY:         "availability",
	contactsv1.ProfileType_PROFILE_TYPE_SITE_CONTENT:         "site_content",
	contactsv1.ProfileType_PROFILE_TYPE_PARITY:               "parity",
	contactsv1.ProfileType_PROFILE_TYPE_REQUESTS:             "requests",
	contactsv1.ProfileType_PROFILE_TYPE_CENTRAL_RESERVATIONS: "central_reservations",
	contactsv1.ProfileType_PROFILE_TYPE_CONTRACT:             "contract",
}

// genderNames maps Gender to its REST contact_person.gender.
var genderNames = [...]string{
	contactsv1.Gender_GENDER_MALE:   "male",
	contactsv1.Gender_GENDER_FEMALE: "female",
}

// jobTitleNames maps JobTitle to its REST contact_person.job_title, exactly
// as the documentation spells it (case, spaces and "&" included).
var jobTitleNames = [...]string{
	contactsv1.JobTitle_JOB_TITLE_UNKNOWN:                          "Unknown",
	contactsv1.JobTitle_JOB_TITLE_ADMINISTRATION_EMPLOYEE:          "Administration Employee",
	contactsv1.JobTitle_JOB_TITLE_DIRECTOR_OF_BUSINESS_DEVELOPMENT: "Director of Business Development",
	contactsv1.JobTitle_JOB_TITLE_E_COMMERCE_MANAGER:               "E-Commerce Manager",
	contactsv1.JobTitle_JOB_TITLE_FINANCE_MANAGER:                  "Finance Manager",
	contactsv1.JobTitle_JOB_TITLE_FRONT_OFFICE_EMPLOYEE:            "Front Office Employee",
	contactsv1.JobTitle_JOB_TITLE_FRONT_OFFICE_MANAGER:             "Front Office Manager",
	contactsv1.JobTitle_JOB_TITLE_GENERAL_MANAGER:                  "General Manager",
	contactsv1.JobTitle_JOB_TITLE_MARKETING_MANAGER:                "Marketing Manager",
	contactsv1.JobTitle_JOB_TITLE_OWNER:                            "Owner",
	contactsv1.JobTitle_JOB_TITLE_RESERVATIONS_EMPLOYEE:            "Reservations Employee",
	contactsv1.JobTitle_JOB_TITLE_RESERVATIONS_MANAGER:             "Reservations Manager",
	contactsv1.JobTitle_JOB_TITLE_REVENUE_MANAGER:                  "Revenue Manager",
	contactsv1.JobTitle_JOB_TITLE_ROOMS_DIVISION_MANAGER:           "Rooms Division Manager",
	contactsv1.JobTitle_JOB_TITLE_SALES_AND_MARKETING_MANAGER:      "Sales & Marketing Manager",
	contactsv1.JobTitle_JOB_TITLE_SALES_EXECUTIVE:                  "Sales Executive",
	contactsv1.JobTitle_JOB_TITLE_SALES_MANAGER:                    "Sales Manager",
}

// phoneTechTypes are the REST phone_tech_type codes, in documentation order.
// The proto enum uses the same numbers, so the mapping is the identity on
// these three values.
var phoneTechTypes = [...]contactsv1.PhoneTechType{
	contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE,
	contactsv1.PhoneTechType_PHONE_TECH_TYPE_FAX,
	contactsv1.PhoneTechType_PHONE_TECH_TYPE_MOBILE,
}

var (
	profileTypeByName = reverse[contactsv1.ProfileType](profileTypeNames[:])
	genderByName      = reverse[contactsv1.Gender](genderNames[:])
	jobTitleByName    = reverse[contactsv1.JobTitle](jobTitleNames[:])
)

// reverse builds the REST → enum map of a table; index 0 (UNSPECIFIED) has
// no REST value and is left out.
func reverse[E ~int32](names []string) map[string]E {
	m := make(map[string]E, len(names))
	for i, name := range names {
		if name != "" {
			m[name] = E(i)
		}
	}
	return m
}

// lookup returns names[e] when e is a known, specified value.
func lookup[E ~int32](names []string, e E) (string, bool) {
	if e <= 0 || int(e) >= len(names) || names[e] == "" {
		return "", false
	}
	return names[e], true
}

// profileTypeString returns the REST contact_profiles[].type of p. It
// reports false for PROFILE_TYPE_UNSPECIFIED and for values the REST API has
// no name for, so callers can refuse them instead of sending "".
func profileTypeString(p contactsv1.ProfileType) (string, bool) {
	return lookup(profileTypeNames[:], p)
}

// parseProfileType returns the enum of a REST profile type. It reports false
// for values the facade does not know (matching is exact, as documented).
func parseProfileType(s string) (contactsv1.ProfileType, bool) {
	p, ok := profileTypeByName[s]
	return p, ok
}

// genderString returns the REST contact_person.gender of g; false for
// GENDER_UNSPECIFIED (which is sent as no gender) and unknown values.
func genderString(g contactsv1.Gender) (string, bool) {
	return lookup(genderNames[:], g)
}

// parseGender returns the enum of a REST gender; false when unknown.
func parseGender(s string) (contactsv1.Gender, bool) {
	g, ok := genderByName[s]
	return g, ok
}

// jobTitleString returns the REST contact_person.job_title of j; false for
// JOB_TITLE_UNSPECIFIED (which is sent as no job title) and unknown values.
func jobTitleString(j contactsv1.JobTitle) (string, bool) {
	return lookup(jobTitleNames[:], j)
}

// parseJobTitle returns the enum of a REST job title; false when unknown.
// Matching is exact: "Sales & Marketing Manager", not a normalised form,
// because that is what the upstream stores and returns.
func parseJobTitle(s string) (contactsv1.JobTitle, bool) {
	j, ok := jobTitleByName[s]
	return j, ok
}

// phoneTechTypeCode returns the REST phone_tech_type of t (1, 3 or 5);
// false for PHONE_TECH_TYPE_UNSPECIFIED and unknown values.
func phoneTechTypeCode(t contactsv1.PhoneTechType) (int, bool) {
	if slices.Contains(phoneTechTypes[:], t) {
		return int(t), true
	}
	return 0, false
}

// parsePhoneTechType returns the enum of a REST phone_tech_type; false when
// the code is not one of 1, 3, 5.
func parsePhoneTechType(code int) (contactsv1.PhoneTechType, bool) {
	t := contactsv1.PhoneTechType(code)
	if int(t) == code && slices.Contains(phoneTechTypes[:], t) {
		return t, true
	}
	return contactsv1.PhoneTechType_PHONE_TECH_TYPE_UNSPECIFIED, false
}

// ContactsToWire converts contacts to the JSON shape of a PUT/POST body.
//
// The service validates before calling, so this never fails: unspecified
// or unknown enums become "" (gender, job title: omitted) or 0, a nil
// address is omitted, and the upstream gets to refuse anything still wrong.
// Lists are never nil so that they marshal as [] rather than null.
//
// The contacts are converted into a few shared backing arrays instead of one
// allocation per object: this runs on every write.
func ContactsToWire(cs []*contactsv1.Contact) []Contact {
	var nProfiles, nPhones, nPersons, nAddresses int
	for _, c := range cs {
		nProfiles += len(c.GetProfiles())
		nPhones += len(c.GetPhones())
		if c.GetContactPerson() != nil {
			nPersons++
		}
		if c.GetAddress() != nil {
			nAddresses++
		}
	}
	out := make([]Contact, len(cs))
	profiles := make([]ContactProfile, nProfiles)
	phones := make([]Phone, nPhones)
	persons := make([]ContactPerson, nPersons)
	languages := make([]string, nPersons)
	addresses := make([]Address, nAddresses)

	for i, c := range cs {
		w := &out[i]
		w.Email = c.GetEmail()

		n := len(c.GetProfiles())
		w.ContactProfiles, profiles = profiles[:n:n], profiles[n:]
		for j, p := range c.GetProfiles() {
			w.ContactProfiles[j].Type, _ = profileTypeString(p)
		}

		n = len(c.GetPhones())
		w.Phones, phones = phones[:n:n], phones[n:]
		for j, p := range c.GetPhones() {
			code, _ := phoneTechTypeCode(p.GetPhoneTechType())
			w.Phones[j] = Phone{
				PhoneNumber:   p.GetPhoneNumber(),
				PhoneTechType: FlexInt(code),
				Extension:     p.GetExtension(),
			}
		}

		if p := c.GetContactPerson(); p != nil {
			w.ContactPerson, persons = &persons[0], persons[1:]
			languages[0] = p.GetLanguageCode()
			w.ContactPerson.Name = p.GetName()
			w.ContactPerson.Gender, _ = genderString(p.GetGender())
			w.ContactPerson.JobTitle, _ = jobTitleString(p.GetJobTitle())
			w.ContactPerson.LanguageCode, languages = &languages[0], languages[1:]
		}

		if a := c.GetAddress(); a != nil {
			w.Address, addresses = &addresses[0], addresses[1:]
			*w.Address = Address{
				AddressLine:   a.GetAddressLine(),
				CityName:      a.GetCityName(),
				PostalCode:    a.GetPostalCode(),
				CountryCode:   a.GetCountryCode(),
				LanguageCode:  a.GetLanguageCode(),
				StateProvCode: a.GetStateProvCode(),
			}
		}
	}
	return out
}

// ContactsFromWire converts the contacts of a GET answer to contacts.v1.
//
// A value the facade has no enum for (a profile type, gender, job title or
// phone tech type added upstream after this code was written) becomes the
// UNSPECIFIED enum and adds a Warning naming the field path, so nothing is
// dropped silently. The warning never quotes the value: it is about a
// person and the warnings reach API callers and logs. A null language_code
// (GET with no_language_fallback) becomes "".
//
// Like ContactsToWire it fills a few shared backing arrays rather than
// allocating every message on its own: this runs on every read.
func ContactsFromWire(ws []Contact) ([]*contactsv1.Contact, []*contactsv1.Warning) {
	var nProfiles, nPhones, nPersons, nAddresses int
	for i := range ws {
		nProfiles += len(ws[i].ContactProfiles)
		nPhones += len(ws[i].Phones)
		if ws[i].ContactPerson != nil {
			nPersons++
		}
		if ws[i].Address != nil {
			nAddresses++
		}
	}
	out := make([]*contactsv1.Contact, len(ws))
	contacts := make([]contactsv1.Contact, len(ws))
	profiles := make([]contactsv1.ProfileType, nProfiles)
	phonePtrs := make([]*contactsv1.Phone, nPhones)
	phones := make([]contactsv1.Phone, nPhones)
	persons := make([]contactsv1.ContactPerson, nPersons)
	addresses := make([]contactsv1.Address, nAddresses)
	var warnings []*contactsv1.Warning
	unknown := func(format string, args ...any) {
		warnings = append(warnings, &contactsv1.Warning{
			Message: fmt.Sprintf(format, args...) + ": value unknown to the facade, returned as unspecified",
		})
	}

	for i := range ws {
		w := &ws[i]
		c := &contacts[i]
		out[i] = c
		c.Email = w.Email

		n := len(w.ContactProfiles)
		c.Profiles, profiles = profiles[:n:n], profiles[n:]
		for j, p := range w.ContactProfiles {
			var ok bool
			if c.Profiles[j], ok = parseProfileType(p.Type); !ok {
				unknown("contacts[%d].profiles[%d]", i, j)
			}
		}

		n = len(w.Phones)
		c.Phones, phonePtrs = phonePtrs[:n:n], phonePtrs[n:]
		for j := range w.Phones {
			wp := &w.Phones[j]
			p := &phones[0]
			phones = phones[1:]
			c.Phones[j] = p
			p.PhoneNumber = wp.PhoneNumber
			p.Extension = wp.Extension
			var ok bool
			if p.PhoneTechType, ok = parsePhoneTechType(int(wp.PhoneTechType)); !ok {
				unknown("contacts[%d].phones[%d].phone_tech_type", i, j)
			}
		}

		if wp := w.ContactPerson; wp != nil {
			p := &persons[0]
			persons = persons[1:]
			c.ContactPerson = p
			p.Name = wp.Name
			if wp.LanguageCode != nil {
				p.LanguageCode = *wp.LanguageCode
			}
			var ok bool
			if p.Gender, ok = parseGender(wp.Gender); !ok && wp.Gender != "" {
				unknown("contacts[%d].contact_person.gender", i)
			}
			if p.JobTitle, ok = parseJobTitle(wp.JobTitle); !ok && wp.JobTitle != "" {
				unknown("contacts[%d].contact_person.job_title", i)
			}
		}

		if wa := w.Address; wa != nil {
			a := &addresses[0]
			addresses = addresses[1:]
			c.Address = a
			a.AddressLine = wa.AddressLine
			a.CityName = wa.CityName
			a.PostalCode = wa.PostalCode
			a.CountryCode = wa.CountryCode
			a.LanguageCode = wa.LanguageCode
			a.StateProvCode = wa.StateProvCode
		}
	}
	return out, warnings
}

// warningsFromWire converts the warnings[] of an answer: code and text
// (message, else description).
func warningsFromWire(ms []Message) []*contactsv1.Warning {
	if len(ms) == 0 {
		return nil
	}
	out := make([]*contactsv1.Warning, len(ms))
	for i, m := range ms {
		out[i] = &contactsv1.Warning{Code: string(m.Code), Message: m.Text()}
	}
	return out
}
