package service

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
)

// validRequest is a write that breaks no rule: contact 0 carries GENERAL
// and an address, contact 1 has neither, so most cases below break one rule
// on one of them and expect exactly one violation.
func validRequest() *contactsv1.ReplaceContactsRequest {
	return &contactsv1.ReplaceContactsRequest{
		PropertyId: "1000001",
		Contacts: []*contactsv1.Contact{
			{
				Profiles: []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_GENERAL, contactsv1.ProfileType_PROFILE_TYPE_INVOICES},
				ContactPerson: &contactsv1.ContactPerson{Name: "Anna de Vries", Gender: contactsv1.Gender_GENDER_FEMALE,
					JobTitle: contactsv1.JobTitle_JOB_TITLE_GENERAL_MANAGER, LanguageCode: "nl"},
				Address: &contactsv1.Address{AddressLine: "Herengracht 597", CityName: "Amsterdam", PostalCode: "1017 CE",
					CountryCode: "NL", LanguageCode: "nl", StateProvCode: "NH"},
				Phones: []*contactsv1.Phone{
					{PhoneNumber: "+31201234567", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE, Extension: "12"},
					{PhoneNumber: "+31612345678", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_MOBILE},
				},
				Email: "anna@example.com",
			},
			{
				Profiles:      []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS},
				ContactPerson: &contactsv1.ContactPerson{Name: "Jan Jansen", LanguageCode: "en-gb"},
				Phones: []*contactsv1.Phone{
					{PhoneNumber: "+31209998877", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE},
				},
				Email: "jan@example.com",
			},
		},
	}
}

func phone(number string, t contactsv1.PhoneTechType) *contactsv1.Phone {
	return &contactsv1.Phone{PhoneNumber: number, PhoneTechType: t}
}

const (
	landline = contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE
	fax      = contactsv1.PhoneTechType_PHONE_TECH_TYPE_FAX
	mobile   = contactsv1.PhoneTechType_PHONE_TECH_TYPE_MOBILE
	general  = contactsv1.ProfileType_PROFILE_TYPE_GENERAL
)

// The descriptions are spelled out here, not taken from validate.go, so a
// changed or lost message shows up.
const (
	descPropertyMissing  = `property_id is required: the Booking.com property ID, e.g. "1000001"`
	descPropertyLong     = `property_id is too long: at most 10 digits, without leading zeros, e.g. "1000001"`
	descPropertyDigits   = `property_id must be decimal digits only, e.g. "1000001"`
	descPropertyZeros    = `property_id must not have leading zeros, e.g. "1000001" rather than "0001000001"`
	descPropertyRange    = `property_id must be a positive number below 2147483648`
	descTextControl      = "must be valid UTF-8 text without control characters"
	descTextInvisible    = "must not contain invisible formatting characters: bidirectional controls (U+202A to U+202E, U+2066 to U+2069), zero-width characters (U+200B to U+200D, U+2060) or a byte order mark (U+FEFF)"
	descText255          = "at most 255 characters"
	descLanguageMissing  = `language_code is required: a Booking.com language code such as "en-gb"`
	descLanguageShape    = `language_code must be a Booking.com language code such as "en-gb" or "nl"`
	descEmail            = "email must be an address such as name@example.com"
	descPhoneNumber      = `phone_number must be "+" and up to 15 digits, e.g. "+31201234567"`
	descExtensionDigits  = "extension must be 1 to 10 digits"
	descAllowedProfiles  = "PROFILE_TYPE_GENERAL, PROFILE_TYPE_RESERVATIONS, PROFILE_TYPE_INVOICES, PROFILE_TYPE_AVAILABILITY, PROFILE_TYPE_SITE_CONTENT, PROFILE_TYPE_PARITY, PROFILE_TYPE_REQUESTS, PROFILE_TYPE_CENTRAL_RESERVATIONS"
	descAllowedTechTypes = "PHONE_TECH_TYPE_LANDLINE, PHONE_TECH_TYPE_FAX, PHONE_TECH_TYPE_MOBILE"
)

func invalidV(field, desc string) errmap.Violation {
	return errmap.Violation{Field: field, OTACode: "320", Description: desc}
}

func missingV(field, desc string) errmap.Violation {
	return errmap.Violation{Field: field, OTACode: "321", Description: desc}
}

// TestValidationRules has one case per rule of validate.go (and per branch
// of a rule where the branches are separate conditions), each breaking that
// rule alone on a valid request, and cases on the edge of each limit that
// must pass. Every case states the violations in full: field path, OTA code
// and description.
func TestValidationRules(t *testing.T) {
	const (
		c0   = "contacts[0]"
		c1   = "contacts[1]"
		p0   = c0 + ".contact_person"
		p1   = c1 + ".contact_person"
		addr = c0 + ".address"
	)
	type req = contactsv1.ReplaceContactsRequest
	tests := []struct {
		name string
		mut  func(r *req)
		want []errmap.Violation // nil: valid
	}{
		// Valid, and valid on the edge of every limit.
		{name: "valid", mut: func(*req) {}},
		{name: "largest property id", mut: func(r *req) { r.PropertyId = "2147483647" }},
		{name: "smallest property id", mut: func(r *req) { r.PropertyId = "1" }},
		{name: "ten-digit property id", mut: func(r *req) { r.PropertyId = "1000000001" }},
		{name: "100 contacts", mut: func(r *req) {
			for len(r.Contacts) < maxContacts {
				r.Contacts = append(r.Contacts, validRequest().Contacts[1])
			}
		}},
		{name: "3 landlines, 1 fax and 1 mobile", mut: func(r *req) {
			r.Contacts[1].Phones = append(r.Contacts[1].Phones, phone("+31209998878", landline), phone("+31209998879", landline),
				phone("+31209998870", fax), phone("+31612345670", mobile))
		}},
		{name: "phone number of 15 digits", mut: func(r *req) { r.Contacts[1].Phones[0].PhoneNumber = "+123456789012345" }},
		{name: "phone number of 1 digit", mut: func(r *req) { r.Contacts[1].Phones[0].PhoneNumber = "+1" }},
		{name: "extension of 10 digits", mut: func(r *req) { r.Contacts[0].Phones[0].Extension = "1234567890" }},
		{name: "names and address fields of 255 two-byte characters", mut: func(r *req) {
			s := strings.Repeat("é", 255)
			r.Contacts[0].ContactPerson.Name = s
			a := r.Contacts[0].Address
			a.AddressLine, a.CityName, a.PostalCode, a.StateProvCode = s, s, s, s
		}},
		{name: "email of 254 bytes", mut: func(r *req) {
			r.Contacts[1].Email = strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com"
		}},
		{name: "no address", mut: func(r *req) { r.Contacts[0].Address = nil }},
		{name: "address without the optional fields", mut: func(r *req) {
			r.Contacts[0].Address = &contactsv1.Address{CountryCode: "NL", LanguageCode: "nl"}
		}},
		{name: "gender and job title unspecified", mut: func(r *req) {
			r.Contacts[0].ContactPerson.Gender, r.Contacts[0].ContactPerson.JobTitle = 0, 0
		}},
		{name: "language codes of 2, 3 and 3+4 letters", mut: func(r *req) {
			r.Contacts[0].ContactPerson.LanguageCode = "zh"
			r.Contacts[0].Address.LanguageCode = "fil"
			r.Contacts[1].ContactPerson.LanguageCode = "abc-defg"
		}},
		{name: "GENERAL on the second contact only", mut: func(r *req) {
			r.Contacts[0].Profiles = []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_PARITY}
			r.Contacts[1].Profiles = append(r.Contacts[1].Profiles, general)
		}},
		{name: "every writable profile type on one contact", mut: func(r *req) {
			r.Contacts[0].Profiles = nil
			for pt := contactsv1.ProfileType_PROFILE_TYPE_GENERAL; pt < contactsv1.ProfileType_PROFILE_TYPE_CONTRACT; pt++ {
				r.Contacts[0].Profiles = append(r.Contacts[0].Profiles, pt)
			}
		}},
		{name: "characters next to the refused invisible ones", mut: func(r *req) {
			// U+200A hair space, U+200E left-to-right mark, U+202F narrow
			// no-break space, U+2061 function application, U+206A.
			r.Contacts[0].ContactPerson.Name = "Anna\u200A\u200Ede\u202FVries\u2061\u206A"
			r.Contacts[0].Address.CityName = "تل אביב" // right-to-left script, no controls
		}},

		// property_id
		{name: "property id missing", mut: func(r *req) { r.PropertyId = "" },
			want: []errmap.Violation{missingV("property_id", descPropertyMissing)}},
		{name: "property id too long", mut: func(r *req) { r.PropertyId = "10000000001" },
			want: []errmap.Violation{invalidV("property_id", descPropertyLong)}},
		{name: "property id of 900 KB", mut: func(r *req) { r.PropertyId = strings.Repeat("9", 900<<10) },
			want: []errmap.Violation{invalidV("property_id", descPropertyLong)}},
		{name: "property id not digits", mut: func(r *req) { r.PropertyId = "12a" },
			want: []errmap.Violation{invalidV("property_id", descPropertyDigits)}},
		{name: "property id with a sign", mut: func(r *req) { r.PropertyId = "+1000001" },
			want: []errmap.Violation{invalidV("property_id", descPropertyDigits)}},
		{name: "property id with leading zeros", mut: func(r *req) { r.PropertyId = "0001000001" },
			want: []errmap.Violation{invalidV("property_id", descPropertyZeros)}},
		{name: "property id 01", mut: func(r *req) { r.PropertyId = "01" },
			want: []errmap.Violation{invalidV("property_id", descPropertyZeros)}},
		{name: "property id 0", mut: func(r *req) { r.PropertyId = "0" },
			want: []errmap.Violation{invalidV("property_id", descPropertyRange)}},
		{name: "property id past int32", mut: func(r *req) { r.PropertyId = "2147483648" },
			want: []errmap.Violation{invalidV("property_id", descPropertyRange)}},

		// contacts
		{name: "no contacts", mut: func(r *req) { r.Contacts = nil },
			want: []errmap.Violation{missingV("contacts", "at least one contact is required, and exactly one must have PROFILE_TYPE_GENERAL")}},
		{name: "101 contacts", mut: func(r *req) {
			for len(r.Contacts) <= maxContacts {
				r.Contacts = append(r.Contacts, validRequest().Contacts[1])
			}
		}, want: []errmap.Violation{invalidV("contacts", "at most 100 contacts per request")}},
		{name: "nil contact", mut: func(r *req) { r.Contacts[1] = nil },
			want: []errmap.Violation{missingV(c1, "a contact is required here")}},
		{name: "no GENERAL contact", mut: func(r *req) { r.Contacts[0].Profiles = r.Contacts[0].Profiles[1:] },
			want: []errmap.Violation{missingV("contacts", "exactly one contact must have PROFILE_TYPE_GENERAL; none has")}},

		// profiles
		{name: "no profiles", mut: func(r *req) { r.Contacts[1].Profiles = nil },
			want: []errmap.Violation{missingV(c1+".profiles", "at least one profile is required")}},
		{name: "profile unspecified", mut: func(r *req) { r.Contacts[1].Profiles = append(r.Contacts[1].Profiles, 0) },
			want: []errmap.Violation{missingV(c1+".profiles[1]", "the profile type must be set. Allowed values: "+descAllowedProfiles)}},
		{name: "profile CONTRACT", mut: func(r *req) {
			r.Contacts[1].Profiles = append(r.Contacts[1].Profiles, contactsv1.ProfileType_PROFILE_TYPE_CONTRACT)
		}, want: []errmap.Violation{{Field: c1 + ".profiles[1]", OTACode: "450", Description: "PROFILE_TYPE_CONTRACT cannot be written through the Contacts API"}}},
		{name: "profile unknown", mut: func(r *req) { r.Contacts[1].Profiles = append(r.Contacts[1].Profiles, 10) },
			want: []errmap.Violation{invalidV(c1+".profiles[1]", "unknown profile type. Allowed values: "+descAllowedProfiles)}},
		{name: "profile twice in a contact", mut: func(r *req) { r.Contacts[1].Profiles = append(r.Contacts[1].Profiles, r.Contacts[1].Profiles[0]) },
			want: []errmap.Violation{invalidV(c1+".profiles[1]", "this profile type appears earlier in this contact")}},
		{name: "GENERAL twice in a contact", mut: func(r *req) { r.Contacts[0].Profiles = append(r.Contacts[0].Profiles, general) },
			want: []errmap.Violation{invalidV(c0+".profiles[2]", "this profile type appears earlier in this contact")}},
		{name: "second GENERAL contact", mut: func(r *req) { r.Contacts[1].Profiles = append(r.Contacts[1].Profiles, general) },
			want: []errmap.Violation{invalidV(c1+".profiles[1]", "only one contact may have PROFILE_TYPE_GENERAL")}},
		{name: "third GENERAL contact", mut: func(r *req) {
			r.Contacts[1].Profiles = append(r.Contacts[1].Profiles, general)
			r.Contacts = append(r.Contacts, validRequest().Contacts[0])
		}, want: []errmap.Violation{
			invalidV(c1+".profiles[1]", "only one contact may have PROFILE_TYPE_GENERAL"),
			invalidV("contacts[2].profiles[0]", "only one contact may have PROFILE_TYPE_GENERAL"),
		}},

		// contact_person
		{name: "no contact person", mut: func(r *req) { r.Contacts[1].ContactPerson = nil },
			want: []errmap.Violation{missingV(p1, "contact_person is required")}},
		{name: "name missing", mut: func(r *req) { r.Contacts[1].ContactPerson.Name = "" },
			want: []errmap.Violation{missingV(p1+".name", "name is required")}},
		{name: "name with a control character", mut: func(r *req) { r.Contacts[1].ContactPerson.Name = "Jan\x00Jansen" },
			want: []errmap.Violation{invalidV(p1+".name", descTextControl)}},
		{name: "name with a C1 control character", mut: func(r *req) { r.Contacts[1].ContactPerson.Name = "Jan\u0085Jansen" },
			want: []errmap.Violation{invalidV(p1+".name", descTextControl)}},
		{name: "name not UTF-8", mut: func(r *req) { r.Contacts[1].ContactPerson.Name = "Jan\xffJansen" },
			want: []errmap.Violation{invalidV(p1+".name", descTextControl)}},
		{name: "name with a right-to-left override", mut: func(r *req) { r.Contacts[1].ContactPerson.Name = "Jan \u202Enesnaj" },
			want: []errmap.Violation{invalidV(p1+".name", descTextInvisible)}},
		{name: "name with a left-to-right embedding", mut: func(r *req) { r.Contacts[1].ContactPerson.Name = "\u202AJan" },
			want: []errmap.Violation{invalidV(p1+".name", descTextInvisible)}},
		{name: "name with a pop directional isolate", mut: func(r *req) { r.Contacts[1].ContactPerson.Name = "Jan\u2069" },
			want: []errmap.Violation{invalidV(p1+".name", descTextInvisible)}},
		{name: "name with a left-to-right isolate", mut: func(r *req) { r.Contacts[1].ContactPerson.Name = "\u2066Jan" },
			want: []errmap.Violation{invalidV(p1+".name", descTextInvisible)}},
		{name: "name with a zero-width space", mut: func(r *req) { r.Contacts[1].ContactPerson.Name = "Jan\u200BJansen" },
			want: []errmap.Violation{invalidV(p1+".name", descTextInvisible)}},
		{name: "name with a zero-width joiner", mut: func(r *req) { r.Contacts[1].ContactPerson.Name = "Jan\u200DJansen" },
			want: []errmap.Violation{invalidV(p1+".name", descTextInvisible)}},
		{name: "name with a word joiner", mut: func(r *req) { r.Contacts[1].ContactPerson.Name = "Jan\u2060Jansen" },
			want: []errmap.Violation{invalidV(p1+".name", descTextInvisible)}},
		{name: "name with a byte order mark", mut: func(r *req) { r.Contacts[1].ContactPerson.Name = "\uFEFFJan Jansen" },
			want: []errmap.Violation{invalidV(p1+".name", descTextInvisible)}},
		{name: "name of 256 characters", mut: func(r *req) { r.Contacts[1].ContactPerson.Name = strings.Repeat("é", 256) },
			want: []errmap.Violation{invalidV(p1+".name", descText255)}},
		{name: "gender unknown", mut: func(r *req) { r.Contacts[1].ContactPerson.Gender = 3 },
			want: []errmap.Violation{invalidV(p1+".gender", "unknown gender. Allowed values: GENDER_MALE, GENDER_FEMALE")}},
		{name: "job title unknown", mut: func(r *req) { r.Contacts[1].ContactPerson.JobTitle = 99 },
			want: []errmap.Violation{invalidV(p1+".job_title", "unknown job_title: use a JOB_TITLE_ value of contacts.v1.JobTitle")}},
		{name: "person language missing", mut: func(r *req) { r.Contacts[1].ContactPerson.LanguageCode = "" },
			want: []errmap.Violation{missingV(p1+".language_code", descLanguageMissing)}},
		{name: "person language in capitals", mut: func(r *req) { r.Contacts[1].ContactPerson.LanguageCode = "EN-GB" },
			want: []errmap.Violation{invalidV(p1+".language_code", descLanguageShape)}},
		{name: "person language with underscore", mut: func(r *req) { r.Contacts[1].ContactPerson.LanguageCode = "en_gb" },
			want: []errmap.Violation{invalidV(p1+".language_code", descLanguageShape)}},
		{name: "person language of 1 letter", mut: func(r *req) { r.Contacts[1].ContactPerson.LanguageCode = "e" },
			want: []errmap.Violation{invalidV(p1+".language_code", descLanguageShape)}},
		{name: "person language of 4 letters", mut: func(r *req) { r.Contacts[1].ContactPerson.LanguageCode = "engl" },
			want: []errmap.Violation{invalidV(p1+".language_code", descLanguageShape)}},
		{name: "person language region of 1 letter", mut: func(r *req) { r.Contacts[1].ContactPerson.LanguageCode = "en-g" },
			want: []errmap.Violation{invalidV(p1+".language_code", descLanguageShape)}},
		{name: "person language region of 5 letters", mut: func(r *req) { r.Contacts[1].ContactPerson.LanguageCode = "en-abcde" },
			want: []errmap.Violation{invalidV(p1+".language_code", descLanguageShape)}},
		{name: "person language region in capitals", mut: func(r *req) { r.Contacts[1].ContactPerson.LanguageCode = "en-GB" },
			want: []errmap.Violation{invalidV(p1+".language_code", descLanguageShape)}},
		{name: "person language with an empty region", mut: func(r *req) { r.Contacts[1].ContactPerson.LanguageCode = "en-" },
			want: []errmap.Violation{invalidV(p1+".language_code", descLanguageShape)}},

		// address
		{name: "address line with a control character", mut: func(r *req) { r.Contacts[0].Address.AddressLine = "Herengracht\t597" },
			want: []errmap.Violation{invalidV(addr+".address_line", descTextControl)}},
		{name: "address line with a right-to-left isolate", mut: func(r *req) { r.Contacts[0].Address.AddressLine = "Herengracht \u2067597" },
			want: []errmap.Violation{invalidV(addr+".address_line", descTextInvisible)}},
		{name: "address line of 256 characters", mut: func(r *req) { r.Contacts[0].Address.AddressLine = strings.Repeat("a", 256) },
			want: []errmap.Violation{invalidV(addr+".address_line", descText255)}},
		{name: "address line with CJK", mut: func(r *req) { r.Contacts[0].Address.AddressLine = "Herengracht 597 号" },
			want: []errmap.Violation{invalidV(addr+".address_line", "address_line may not contain CJK ideographs")}},
		{name: "city with a control character", mut: func(r *req) { r.Contacts[0].Address.CityName = "Amster\ndam" },
			want: []errmap.Violation{invalidV(addr+".city_name", descTextControl)}},
		{name: "city with a zero-width non-joiner", mut: func(r *req) { r.Contacts[0].Address.CityName = "Amster\u200Cdam" },
			want: []errmap.Violation{invalidV(addr+".city_name", descTextInvisible)}},
		{name: "city of 256 characters", mut: func(r *req) { r.Contacts[0].Address.CityName = strings.Repeat("a", 256) },
			want: []errmap.Violation{invalidV(addr+".city_name", descText255)}},
		{name: "city with CJK", mut: func(r *req) { r.Contacts[0].Address.CityName = "東京" },
			want: []errmap.Violation{invalidV(addr+".city_name", "city_name may not contain CJK ideographs")}},
		{name: "postal code with a control character", mut: func(r *req) { r.Contacts[0].Address.PostalCode = "1017\x7fCE" },
			want: []errmap.Violation{invalidV(addr+".postal_code", descTextControl)}},
		{name: "postal code with a left-to-right override", mut: func(r *req) { r.Contacts[0].Address.PostalCode = "\u202D1017 CE" },
			want: []errmap.Violation{invalidV(addr+".postal_code", descTextInvisible)}},
		{name: "postal code of 256 characters", mut: func(r *req) { r.Contacts[0].Address.PostalCode = strings.Repeat("1", 256) },
			want: []errmap.Violation{invalidV(addr+".postal_code", descText255)}},
		{name: "state code with a control character", mut: func(r *req) { r.Contacts[0].Address.StateProvCode = "N\rH" },
			want: []errmap.Violation{invalidV(addr+".state_prov_code", descTextControl)}},
		{name: "state code with a byte order mark", mut: func(r *req) { r.Contacts[0].Address.StateProvCode = "NH\uFEFF" },
			want: []errmap.Violation{invalidV(addr+".state_prov_code", descTextInvisible)}},
		{name: "state code of 256 characters", mut: func(r *req) { r.Contacts[0].Address.StateProvCode = strings.Repeat("N", 256) },
			want: []errmap.Violation{invalidV(addr+".state_prov_code", descText255)}},
		{name: "country missing", mut: func(r *req) { r.Contacts[0].Address.CountryCode = "" },
			want: []errmap.Violation{missingV(addr+".country_code", `country_code is required with an address (ISO 3166-1 alpha-2, e.g. "NL")`)}},
		{name: "country of 3 letters", mut: func(r *req) { r.Contacts[0].Address.CountryCode = "NLD" },
			want: []errmap.Violation{invalidV(addr+".country_code", `country_code must be ISO 3166-1 alpha-2 in capitals, e.g. "NL"`)}},
		{name: "country of 1 letter", mut: func(r *req) { r.Contacts[0].Address.CountryCode = "N" },
			want: []errmap.Violation{invalidV(addr+".country_code", `country_code must be ISO 3166-1 alpha-2 in capitals, e.g. "NL"`)}},
		{name: "country with a digit", mut: func(r *req) { r.Contacts[0].Address.CountryCode = "N1" },
			want: []errmap.Violation{invalidV(addr+".country_code", `country_code must be ISO 3166-1 alpha-2 in capitals, e.g. "NL"`)}},
		{name: "country in lower case", mut: func(r *req) { r.Contacts[0].Address.CountryCode = "nl" },
			want: []errmap.Violation{invalidV(addr+".country_code", `country_code must be ISO 3166-1 alpha-2 in capitals, e.g. "NL"`)}},
		{name: "country of two non-ASCII bytes", mut: func(r *req) { r.Contacts[0].Address.CountryCode = "Ä" },
			want: []errmap.Violation{invalidV(addr+".country_code", `country_code must be ISO 3166-1 alpha-2 in capitals, e.g. "NL"`)}},
		{name: "address language missing", mut: func(r *req) { r.Contacts[0].Address.LanguageCode = "" },
			want: []errmap.Violation{missingV(addr+".language_code", descLanguageMissing)}},
		{name: "address language in capitals", mut: func(r *req) { r.Contacts[0].Address.LanguageCode = "NL" },
			want: []errmap.Violation{invalidV(addr+".language_code", descLanguageShape)}},

		// phones
		{name: "no phones", mut: func(r *req) { r.Contacts[1].Phones = nil },
			want: []errmap.Violation{missingV(c1+".phones", "at least one phone is required")}},
		{name: "6 phones", mut: func(r *req) {
			r.Contacts[1].Phones = append(r.Contacts[1].Phones, phone("+31209998878", landline), phone("+31209998879", landline),
				phone("+31209998870", fax), phone("+31612345670", mobile), phone("+31612345671", mobile))
		}, want: []errmap.Violation{invalidV(c1+".phones", "at most 3 LANDLINE, 1 FAX and 1 MOBILE phones per contact")}},
		{name: "nil phone", mut: func(r *req) { r.Contacts[1].Phones = append(r.Contacts[1].Phones, nil) },
			want: []errmap.Violation{missingV(c1+".phones[1]", "a phone is required here")}},
		{name: "phone number missing", mut: func(r *req) { r.Contacts[1].Phones[0].PhoneNumber = "" },
			want: []errmap.Violation{missingV(c1+".phones[0].phone_number", `phone_number is required, e.g. "+31201234567"`)}},
		{name: "phone number only +", mut: func(r *req) { r.Contacts[1].Phones[0].PhoneNumber = "+" },
			want: []errmap.Violation{invalidV(c1+".phones[0].phone_number", descPhoneNumber)}},
		{name: "phone number without +", mut: func(r *req) { r.Contacts[1].Phones[0].PhoneNumber = "0209998877" },
			want: []errmap.Violation{invalidV(c1+".phones[0].phone_number", descPhoneNumber)}},
		{name: "phone number with spaces", mut: func(r *req) { r.Contacts[1].Phones[0].PhoneNumber = "+31 20 999 8877" },
			want: []errmap.Violation{invalidV(c1+".phones[0].phone_number", descPhoneNumber)}},
		{name: "phone number of 16 digits", mut: func(r *req) { r.Contacts[1].Phones[0].PhoneNumber = "+1234567890123456" },
			want: []errmap.Violation{invalidV(c1+".phones[0].phone_number", descPhoneNumber)}},
		{name: "tech type unspecified", mut: func(r *req) { r.Contacts[1].Phones[0].PhoneTechType = 0 },
			want: []errmap.Violation{missingV(c1+".phones[0].phone_tech_type", "phone_tech_type is required. Allowed values: "+descAllowedTechTypes)}},
		{name: "fourth landline", mut: func(r *req) {
			r.Contacts[1].Phones = append(r.Contacts[1].Phones, phone("+31209998878", landline), phone("+31209998879", landline), phone("+31209998870", landline))
		}, want: []errmap.Violation{invalidV(c1+".phones[3].phone_tech_type", "at most 3 PHONE_TECH_TYPE_LANDLINE phones per contact")}},
		{name: "second fax", mut: func(r *req) {
			r.Contacts[1].Phones = append(r.Contacts[1].Phones, phone("+31209998878", fax), phone("+31209998879", fax))
		}, want: []errmap.Violation{invalidV(c1+".phones[2].phone_tech_type", "at most 1 PHONE_TECH_TYPE_FAX phone per contact")}},
		{name: "second mobile", mut: func(r *req) { r.Contacts[0].Phones = append(r.Contacts[0].Phones, phone("+31612345670", mobile)) },
			want: []errmap.Violation{invalidV(c0+".phones[2].phone_tech_type", "at most 1 PHONE_TECH_TYPE_MOBILE phone per contact")}},
		{name: "tech type unknown", mut: func(r *req) { r.Contacts[1].Phones[0].PhoneTechType = 2 },
			want: []errmap.Violation{invalidV(c1+".phones[0].phone_tech_type", "unknown phone_tech_type. Allowed values: "+descAllowedTechTypes)}},
		{name: "extension on a mobile", mut: func(r *req) { r.Contacts[0].Phones[1].Extension = "12" },
			want: []errmap.Violation{invalidV(c0+".phones[1].extension", "an extension is allowed only on a PHONE_TECH_TYPE_LANDLINE phone")}},
		{name: "extension on a phone without a tech type", mut: func(r *req) {
			r.Contacts[1].Phones[0].PhoneTechType = 0
			r.Contacts[1].Phones[0].Extension = "12"
		}, want: []errmap.Violation{
			missingV(c1+".phones[0].phone_tech_type", "phone_tech_type is required. Allowed values: "+descAllowedTechTypes),
			invalidV(c1+".phones[0].extension", "an extension is allowed only on a PHONE_TECH_TYPE_LANDLINE phone"),
		}},
		{name: "extension not digits", mut: func(r *req) { r.Contacts[0].Phones[0].Extension = "12a" },
			want: []errmap.Violation{invalidV(c0+".phones[0].extension", descExtensionDigits)}},
		{name: "extension of 11 digits", mut: func(r *req) { r.Contacts[0].Phones[0].Extension = "12345678901" },
			want: []errmap.Violation{invalidV(c0+".phones[0].extension", descExtensionDigits)}},

		// email
		{name: "email missing", mut: func(r *req) { r.Contacts[1].Email = "" },
			want: []errmap.Violation{missingV(c1+".email", "email is required")}},
		{name: "email of 255 bytes", mut: func(r *req) {
			r.Contacts[1].Email = strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com"
		}, want: []errmap.Violation{invalidV(c1+".email", descEmail)}},
		{name: "email without @", mut: func(r *req) { r.Contacts[1].Email = "jan.example.com" },
			want: []errmap.Violation{invalidV(c1+".email", descEmail)}},
		{name: "email without local part", mut: func(r *req) { r.Contacts[1].Email = "@example.com" },
			want: []errmap.Violation{invalidV(c1+".email", descEmail)}},
		{name: "email with two @", mut: func(r *req) { r.Contacts[1].Email = "jan@x@example.com" },
			want: []errmap.Violation{invalidV(c1+".email", descEmail)}},
		{name: "email with a space", mut: func(r *req) { r.Contacts[1].Email = "jan jansen@example.com" },
			want: []errmap.Violation{invalidV(c1+".email", descEmail)}},
		{name: "email with a display name", mut: func(r *req) { r.Contacts[1].Email = "Jan<jan@example.com>" },
			want: []errmap.Violation{invalidV(c1+".email", descEmail)}},
		{name: "email with >", mut: func(r *req) { r.Contacts[1].Email = "jan>@example.com" },
			want: []errmap.Violation{invalidV(c1+".email", descEmail)}},
		{name: "email with <", mut: func(r *req) { r.Contacts[1].Email = "jan<@example.com" },
			want: []errmap.Violation{invalidV(c1+".email", descEmail)}},
		{name: "email with a comma", mut: func(r *req) { r.Contacts[1].Email = "jan,piet@example.com" },
			want: []errmap.Violation{invalidV(c1+".email", descEmail)}},
		{name: "email with a semicolon", mut: func(r *req) { r.Contacts[1].Email = "jan;piet@example.com" },
			want: []errmap.Violation{invalidV(c1+".email", descEmail)}},
		{name: "two emails", mut: func(r *req) { r.Contacts[1].Email = "jan@example.com,piet@example.com" },
			want: []errmap.Violation{invalidV(c1+".email", descEmail)}},
		{name: "two emails with semicolon", mut: func(r *req) { r.Contacts[1].Email = "jan@example.com;piet@example.com" },
			want: []errmap.Violation{invalidV(c1+".email", descEmail)}},
		{name: "email with a newline", mut: func(r *req) { r.Contacts[1].Email = "jan@example.com\nBcc: x@example.com" },
			want: []errmap.Violation{invalidV(c1+".email", descEmail)}},
		{name: "email with a NUL", mut: func(r *req) { r.Contacts[1].Email = "jan\x00@example.com" },
			want: []errmap.Violation{invalidV(c1+".email", descEmail)}},
		{name: "email with a zero-width space", mut: func(r *req) { r.Contacts[1].Email = "jan\u200B@example.com" },
			want: []errmap.Violation{invalidV(c1+".email", descEmail)}},
		{name: "email domain without dot", mut: func(r *req) { r.Contacts[1].Email = "jan@localhost" },
			want: []errmap.Violation{invalidV(c1+".email", descEmail)}},
		{name: "email domain starting with a dot", mut: func(r *req) { r.Contacts[1].Email = "jan@.com" },
			want: []errmap.Violation{invalidV(c1+".email", descEmail)}},
		{name: "email domain ending with a dot", mut: func(r *req) { r.Contacts[1].Email = "jan@example." },
			want: []errmap.Violation{invalidV(c1+".email", descEmail)}},

		// Several problems: all are reported, contact by contact, in field
		// order within a contact.
		{name: "several problems in field order", mut: func(r *req) {
			r.PropertyId = "x"
			c := r.Contacts[0]
			c.Profiles = append(c.Profiles, 0)
			c.ContactPerson.Name = ""
			c.Address.CountryCode = ""
			c.Phones[0].PhoneNumber = ""
			c.Email = ""
			r.Contacts[1].Email = "x"
		}, want: []errmap.Violation{
			invalidV("property_id", descPropertyDigits),
			missingV(c0+".profiles[2]", "the profile type must be set. Allowed values: "+descAllowedProfiles),
			missingV(p0+".name", "name is required"),
			missingV(addr+".country_code", `country_code is required with an address (ISO 3166-1 alpha-2, e.g. "NL")`),
			missingV(c0+".phones[0].phone_number", `phone_number is required, e.g. "+31201234567"`),
			missingV(c0+".email", "email is required"),
			invalidV(c1+".email", descEmail),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRequest()
			tt.mut(r)
			got := validateWrite(r.GetPropertyId(), r.GetContacts())
			if diff := cmp.Diff(tt.want, []errmap.Violation(got)); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
			// ListContacts checks property_id with the same rule.
			var wantList []errmap.Violation
			for _, v := range tt.want {
				if v.Field == "property_id" {
					wantList = append(wantList, v)
				}
			}
			gotList := validateList(&contactsv1.ListContactsRequest{PropertyId: r.GetPropertyId()})
			if diff := cmp.Diff(wantList, []errmap.Violation(gotList)); diff != "" {
				t.Errorf("ListContacts violations (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDescriptionsDoNotEchoValues breaks every field with a value that
// carries a marker (and every enum with an odd number) and checks that no
// description repeats it: descriptions end up in statuses that clients and
// proxies log.
func TestDescriptionsDoNotEchoValues(t *testing.T) {
	const marker = "Secret-Marker-7391"
	bad := marker + "\u202E\x00东"
	r := validRequest()
	r.PropertyId = marker
	c := r.Contacts[0]
	c.Profiles = []contactsv1.ProfileType{73911, general, general}
	c.ContactPerson = &contactsv1.ContactPerson{Name: bad, Gender: 73912, JobTitle: 73913, LanguageCode: marker}
	c.Address = &contactsv1.Address{AddressLine: bad, CityName: bad, PostalCode: bad, StateProvCode: bad, CountryCode: marker, LanguageCode: marker}
	c.Phones = []*contactsv1.Phone{{PhoneNumber: marker, PhoneTechType: 73914, Extension: marker}}
	c.Email = marker + "@" + marker
	r.Contacts[1].ContactPerson.Name = strings.Repeat(marker, 20)

	vs := validateWrite(r.GetPropertyId(), r.GetContacts())
	fields := make(map[string]bool)
	for _, v := range vs {
		fields[v.Field] = true
		for _, echo := range []string{marker, "7391", "\u202E", "东"} {
			if strings.Contains(v.Description, echo) {
				t.Errorf("%s: description %q repeats the value (%q)", v.Field, v.Description, echo)
			}
		}
	}
	// Every broken field was reported, so the check above saw them all.
	for _, f := range []string{"property_id", "contacts[0].profiles[0]", "contacts[0].profiles[2]",
		"contacts[0].contact_person.name", "contacts[0].contact_person.gender", "contacts[0].contact_person.job_title",
		"contacts[0].contact_person.language_code", "contacts[0].address.address_line", "contacts[0].address.city_name",
		"contacts[0].address.postal_code", "contacts[0].address.state_prov_code", "contacts[0].address.country_code",
		"contacts[0].address.language_code", "contacts[0].phones[0].phone_number", "contacts[0].phones[0].phone_tech_type",
		"contacts[0].phones[0].extension", "contacts[0].email", "contacts[1].contact_person.name"} {
		if !fields[f] {
			t.Errorf("no violation on %s; got %v", f, vs)
		}
	}
}

// TestPropertyIDBoundedCost checks that a huge property id is refused
// without being scanned: a sign at its end would otherwise change the
// message.
func TestPropertyIDBoundedCost(t *testing.T) {
	for _, n := range []int{maxPropertyID + 1, 1 << 20} {
		id := strings.Repeat("1", n-1) + "x"
		var vs violations
		validatePropertyID(&vs, id)
		want := []errmap.Violation{invalidV("property_id", descPropertyLong)}
		if diff := cmp.Diff(want, []errmap.Violation(vs)); diff != "" {
			t.Errorf("id of %s bytes (-want +got):\n%s", strconv.Itoa(n), diff)
		}
	}
}
