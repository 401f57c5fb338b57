package emulator_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/contacts-facade/contacts-facade/internal/emulator"
)

// The allowed_values the emulator must list. They are spelled out here
// again, not taken from the package, so that a change there shows up.
func allowedProfiles() []string {
	return []string{"general", "reservations", "invoices", "availability", "site_content", "parity", "requests", "central_reservations"}
}

func allowedGenders() []string { return []string{"male", "female"} }

func allowedTechTypes() []string { return []string{"1", "3", "5"} }

func allowedJobTitles() []string {
	return []string{
		"Administration Employee", "Director of Business Development",
		"E-Commerce Manager", "Finance Manager", "Front Office Employee",
		"Front Office Manager", "General Manager", "Marketing Manager", "Owner",
		"Reservations Employee", "Reservations Manager", "Revenue Manager",
		"Rooms Division Manager", "Sales & Marketing Manager", "Sales Executive",
		"Sales Manager", "Unknown",
	}
}

func invalid(field string) want { return want{code: "320", field: field} }

func invalidOneOf(field string, allowed []string) want {
	return want{code: "320", field: field, allowed: allowed}
}

func missing(field string) want { return want{code: "321", field: field} }

func unknown(field string) want { return want{code: "394", field: field} }

func phone(number string, techType any) map[string]any {
	return map[string]any{"phone_number": number, "phone_tech_type": techType}
}

func profiles(types ...string) []any {
	out := make([]any, len(types))
	for i, t := range types {
		out[i] = map[string]any{"type": t}
	}
	return out
}

// TestBodyValidation sends testdata/valid_put.json changed by each case's
// mutations and checks every entry of errors[]. Contact 0 carries general;
// most cases change contact 1 so that the property rule stays satisfied.
func TestBodyValidation(t *testing.T) {
	const (
		c0   = "contacts[0]"
		c1   = "contacts[1]"
		p1   = c1 + ".contact_person"
		addr = c0 + ".address"
	)
	tests := []struct {
		name string
		muts []mutation
		want []want // nil: the body is valid (200)
	}{
		// The unchanged body and the accepted variants.
		{name: "valid", want: nil},
		{name: "tech type as number or numeric string", muts: []mutation{set(c1+".phones[0].phone_tech_type", "1"), set(c0+".phones[1].phone_tech_type", 5)}},
		{name: "address absent", muts: []mutation{del(addr)}},
		{name: "address null is absent", muts: []mutation{set(addr, nil)}},
		{name: "optional members null", muts: []mutation{set(c0+".contact_person.gender", nil), set(c0+".contact_person.job_title", nil), set(c0+".phones[0].extension", nil)}},
		{name: "shortest phone number", muts: []mutation{set(c1+".phones[0].phone_number", "+123456")}},
		{name: "longest phone number", muts: []mutation{set(c1+".phones[0].phone_number", "+123456789012345")}},
		{name: "three voice lines, a fax and a mobile", muts: []mutation{
			set(c0+".phones[2]", phone("+31201112234", 1)),
			set(c0+".phones[3]", phone("+31201112235", 1)),
			set(c0+".phones[4]", phone("+31201112236", 3)),
		}},
		{name: "address line of 255 characters", muts: []mutation{set(addr+".address_line", strings.Repeat("é", 255))}},
		{name: "NL postal code without space", muts: []mutation{set(addr+".postal_code", "1015CJ")}},
		{name: "US ZIP+4", muts: []mutation{set(addr+".country_code", "US"), set(addr+".postal_code", "12345-6789"), set(addr+".language_code", "en-us")}},
		{name: "GB postcode", muts: []mutation{set(addr+".country_code", "GB"), set(addr+".postal_code", "SW1A 1AA")}},
		{name: "other country postal code", muts: []mutation{set(addr+".country_code", "DE"), set(addr+".postal_code", "10115")}},
		{name: "postal code optional", muts: []mutation{del(addr + ".postal_code")}},
		{name: "general on its own", muts: []mutation{set(c0+".contact_profiles", profiles("general"))}},
		{name: "several profiles of a non-general type across contacts", muts: []mutation{set(c1+".contact_profiles", profiles("invoices", "parity", "site_content", "requests", "central_reservations"))}},

		// contacts
		{name: "contacts missing", muts: []mutation{del("contacts")}, want: []want{missing("contacts")}},
		{name: "contacts null", muts: []mutation{set("contacts", nil)}, want: []want{missing("contacts")}},
		{name: "contacts empty", muts: []mutation{set("contacts", []any{})}, want: []want{missing("contacts")}},
		{name: "contacts not a list", muts: []mutation{set("contacts", map[string]any{})}, want: []want{invalid("contacts")}},
		{name: "contact not an object", muts: []mutation{set(c1, "x")}, want: []want{invalid(c1)}},

		// contact_profiles
		{name: "profiles missing", muts: []mutation{del(c1 + ".contact_profiles")}, want: []want{missing(c1 + ".contact_profiles")}},
		{name: "profiles empty", muts: []mutation{set(c1+".contact_profiles", []any{})}, want: []want{missing(c1 + ".contact_profiles")}},
		{name: "profiles not a list", muts: []mutation{set(c1+".contact_profiles", "reservations")}, want: []want{invalid(c1 + ".contact_profiles")}},
		{name: "profile not an object", muts: []mutation{set(c1+".contact_profiles[0]", "reservations")}, want: []want{invalid(c1 + ".contact_profiles[0]")}},
		{name: "profile type missing", muts: []mutation{del(c1 + ".contact_profiles[1].type")}, want: []want{missing(c1 + ".contact_profiles[1].type")}},
		{name: "profile type empty", muts: []mutation{set(c1+".contact_profiles[1].type", "")}, want: []want{missing(c1 + ".contact_profiles[1].type")}},
		{name: "profile type not a string", muts: []mutation{set(c1+".contact_profiles[1].type", 2)}, want: []want{invalidOneOf(c1+".contact_profiles[1].type", allowedProfiles())}},
		{name: "profile type unknown", muts: []mutation{set(c1+".contact_profiles[1].type", "marketing")}, want: []want{invalidOneOf(c1+".contact_profiles[1].type", allowedProfiles())}},
		{name: "profile type is case-sensitive", muts: []mutation{set(c1+".contact_profiles[0].type", "Reservations")}, want: []want{invalidOneOf(c1+".contact_profiles[0].type", allowedProfiles())}},
		{name: "profile type contract is 450", muts: []mutation{set(c1+".contact_profiles[1].type", "contract")}, want: []want{{code: "450", field: c1 + ".contact_profiles[1].type"}}},
		{name: "profile type repeated", muts: []mutation{set(c1+".contact_profiles", profiles("reservations", "availability", "reservations", "availability"))}, want: []want{invalid(c1 + ".contact_profiles[2].type"), invalid(c1 + ".contact_profiles[3].type")}},
		{name: "profile unknown member", muts: []mutation{set(c1+".contact_profiles[0].id", 7)}, want: []want{unknown(c1 + ".contact_profiles[0].id")}},

		// contact_person
		{name: "person missing", muts: []mutation{del(p1)}, want: []want{missing(p1)}},
		{name: "person null", muts: []mutation{set(p1, nil)}, want: []want{missing(p1)}},
		{name: "person not an object", muts: []mutation{set(p1, "Pieter")}, want: []want{invalid(p1)}},
		{name: "name missing", muts: []mutation{del(p1 + ".name")}, want: []want{missing(p1 + ".name")}},
		{name: "name empty", muts: []mutation{set(p1+".name", "")}, want: []want{missing(p1 + ".name")}},
		{name: "name blank", muts: []mutation{set(p1+".name", "   ")}, want: []want{missing(p1 + ".name")}},
		{name: "name not a string", muts: []mutation{set(p1+".name", 12)}, want: []want{invalid(p1 + ".name")}},
		{name: "gender invalid", muts: []mutation{set(p1+".gender", "other")}, want: []want{invalidOneOf(p1+".gender", allowedGenders())}},
		{name: "gender empty", muts: []mutation{set(p1+".gender", "")}, want: []want{invalidOneOf(p1+".gender", allowedGenders())}},
		{name: "gender not a string", muts: []mutation{set(p1+".gender", true)}, want: []want{invalidOneOf(p1+".gender", allowedGenders())}},
		{name: "gender is case-sensitive", muts: []mutation{set(p1+".gender", "Male")}, want: []want{invalidOneOf(p1+".gender", allowedGenders())}},
		{name: "job title invalid", muts: []mutation{set(p1+".job_title", "CEO")}, want: []want{invalidOneOf(p1+".job_title", allowedJobTitles())}},
		{name: "job title not a string", muts: []mutation{set(p1+".job_title", []any{"Owner"})}, want: []want{invalidOneOf(p1+".job_title", allowedJobTitles())}},
		{name: "person language missing", muts: []mutation{del(p1 + ".language_code")}, want: []want{missing(p1 + ".language_code")}},
		{name: "person language null", muts: []mutation{set(p1+".language_code", nil)}, want: []want{missing(p1 + ".language_code")}},
		{name: "person language unknown", muts: []mutation{set(p1+".language_code", "xx")}, want: []want{invalid(p1 + ".language_code")}},
		{name: "person language upper case", muts: []mutation{set(p1+".language_code", "EN-GB")}, want: []want{invalid(p1 + ".language_code")}},
		{name: "name with a right-to-left override", muts: []mutation{set(p1+".name", "Pieter \u202Enesnaj")}, want: []want{invalid(p1 + ".name")}},
		{name: "name with a zero-width space", muts: []mutation{set(p1+".name", "Pieter\u200BJansen")}, want: []want{invalid(p1 + ".name")}},
		{name: "name with a byte order mark", muts: []mutation{set(p1+".name", "\uFEFFPieter")}, want: []want{invalid(p1 + ".name")}},
		{name: "name with a word joiner", muts: []mutation{set(p1+".name", "Pieter\u2060")}, want: []want{invalid(p1 + ".name")}},
		{name: "name with a pop directional isolate", muts: []mutation{set(p1+".name", "Pieter\u2069")}, want: []want{invalid(p1 + ".name")}},
		{name: "name with marks and spaces next to the refused characters", muts: []mutation{set(p1+".name", "Pieter\u200A\u200Ede\u202FVries\u2061\u206A")}},
		{name: "person unknown member", muts: []mutation{set(p1+".age", 40)}, want: []want{unknown(p1 + ".age")}},

		// email
		{name: "email missing", muts: []mutation{del(c1 + ".email")}, want: []want{missing(c1 + ".email")}},
		{name: "email empty", muts: []mutation{set(c1+".email", "")}, want: []want{missing(c1 + ".email")}},
		{name: "email not a string", muts: []mutation{set(c1+".email", 42)}, want: []want{invalid(c1 + ".email")}},
		{name: "email without @", muts: []mutation{set(c1+".email", "reservations.example.net")}, want: []want{invalid(c1 + ".email")}},
		{name: "email domain without dot", muts: []mutation{set(c1+".email", "res@localhost")}, want: []want{invalid(c1 + ".email")}},
		{name: "email with display name", muts: []mutation{set(c1+".email", "Pieter <res@example.net>")}, want: []want{invalid(c1 + ".email")}},
		{name: "email in angle brackets", muts: []mutation{set(c1+".email", "<res@example.net>")}, want: []want{invalid(c1 + ".email")}},
		{name: "email with a zero-width joiner", muts: []mutation{set(c1+".email", "res\u200D@example.net")}, want: []want{invalid(c1 + ".email")}},
		{name: "email with a space", muts: []mutation{set(c1+".email", "res ervations@example.net")}, want: []want{invalid(c1 + ".email")}},

		// phones
		{name: "phones missing", muts: []mutation{del(c1 + ".phones")}, want: []want{missing(c1 + ".phones")}},
		{name: "phones empty", muts: []mutation{set(c1+".phones", []any{})}, want: []want{missing(c1 + ".phones")}},
		{name: "phones not a list", muts: []mutation{set(c1+".phones", "+31209998877")}, want: []want{invalid(c1 + ".phones")}},
		{name: "phone not an object", muts: []mutation{set(c1+".phones[0]", "+31209998877")}, want: []want{invalid(c1 + ".phones[0]")}},
		{name: "phone number missing", muts: []mutation{del(c1 + ".phones[0].phone_number")}, want: []want{missing(c1 + ".phones[0].phone_number")}},
		{name: "phone number empty", muts: []mutation{set(c1+".phones[0].phone_number", "")}, want: []want{missing(c1 + ".phones[0].phone_number")}},
		{name: "phone number not a string", muts: []mutation{set(c1+".phones[0].phone_number", 31209998877)}, want: []want{invalid(c1 + ".phones[0].phone_number")}},
		{name: "phone number without +", muts: []mutation{set(c1+".phones[0].phone_number", "0209998877")}, want: []want{invalid(c1 + ".phones[0].phone_number")}},
		{name: "phone number too short", muts: []mutation{set(c1+".phones[0].phone_number", "+12345")}, want: []want{invalid(c1 + ".phones[0].phone_number")}},
		{name: "phone number too long", muts: []mutation{set(c1+".phones[0].phone_number", "+1234567890123456")}, want: []want{invalid(c1 + ".phones[0].phone_number")}},
		{name: "phone number with spaces", muts: []mutation{set(c1+".phones[0].phone_number", "+31 20 999 8877")}, want: []want{invalid(c1 + ".phones[0].phone_number")}},
		{name: "tech type missing", muts: []mutation{del(c1 + ".phones[0].phone_tech_type")}, want: []want{missing(c1 + ".phones[0].phone_tech_type")}},
		{name: "tech type empty string", muts: []mutation{set(c1+".phones[0].phone_tech_type", "")}, want: []want{missing(c1 + ".phones[0].phone_tech_type")}},
		{name: "tech type not allowed", muts: []mutation{set(c1+".phones[0].phone_tech_type", 2)}, want: []want{invalidOneOf(c1+".phones[0].phone_tech_type", allowedTechTypes())}},
		{name: "tech type not allowed as string", muts: []mutation{set(c1+".phones[0].phone_tech_type", "4")}, want: []want{invalidOneOf(c1+".phones[0].phone_tech_type", allowedTechTypes())}},
		{name: "tech type not numeric", muts: []mutation{set(c1+".phones[0].phone_tech_type", "voice")}, want: []want{invalidOneOf(c1+".phones[0].phone_tech_type", allowedTechTypes())}},
		{name: "tech type fractional", muts: []mutation{set(c1+".phones[0].phone_tech_type", json.Number("1.5"))}, want: []want{invalidOneOf(c1+".phones[0].phone_tech_type", allowedTechTypes())}},
		{name: "tech type boolean", muts: []mutation{set(c1+".phones[0].phone_tech_type", true)}, want: []want{invalidOneOf(c1+".phones[0].phone_tech_type", allowedTechTypes())}},
		{name: "fourth voice line", muts: []mutation{
			set(c1+".phones[1]", phone("+31209998871", 1)),
			set(c1+".phones[2]", phone("+31209998872", "1")),
			set(c1+".phones[3]", phone("+31209998873", 1)),
			set(c1+".phones[4]", phone("+31209998874", 1)),
		}, want: []want{invalid(c1 + ".phones[3].phone_tech_type"), invalid(c1 + ".phones[4].phone_tech_type")}},
		{name: "second fax", muts: []mutation{
			set(c1+".phones[1]", phone("+31209998871", 3)),
			set(c1+".phones[2]", phone("+31209998872", 3)),
		}, want: []want{invalid(c1 + ".phones[2].phone_tech_type")}},
		{name: "second mobile", muts: []mutation{set(c0+".phones[2]", phone("+31611122234", "5"))}, want: []want{invalid(c0 + ".phones[2].phone_tech_type")}},
		{name: "extension on a mobile", muts: []mutation{set(c0+".phones[1].extension", "12")}, want: []want{invalid(c0 + ".phones[1].extension")}},
		{name: "extension on a fax", muts: []mutation{set(c1+".phones[1]", map[string]any{"phone_number": "+31209998871", "phone_tech_type": 3, "extension": "9"})}, want: []want{invalid(c1 + ".phones[1].extension")}},
		{name: "extension not digits", muts: []mutation{set(c0+".phones[0].extension", "12a")}, want: []want{invalid(c0 + ".phones[0].extension")}},
		{name: "extension empty", muts: []mutation{set(c0+".phones[0].extension", "")}, want: []want{invalid(c0 + ".phones[0].extension")}},
		{name: "extension too long", muts: []mutation{set(c0+".phones[0].extension", "12345678901")}, want: []want{invalid(c0 + ".phones[0].extension")}},
		{name: "extension not a string", muts: []mutation{set(c0+".phones[0].extension", 42)}, want: []want{invalid(c0 + ".phones[0].extension")}},
		{name: "phone unknown member", muts: []mutation{set(c1+".phones[0].country", "NL")}, want: []want{unknown(c1 + ".phones[0].country")}},

		// address
		{name: "address not an object", muts: []mutation{set(addr, "Keizersgracht 123")}, want: []want{invalid(addr)}},
		{name: "address line empty", muts: []mutation{set(addr+".address_line", "")}, want: []want{invalid(addr + ".address_line")}},
		{name: "address line too long", muts: []mutation{set(addr+".address_line", strings.Repeat("a", 256))}, want: []want{invalid(addr + ".address_line")}},
		{name: "address line with CJK", muts: []mutation{set(addr+".address_line", "Keizersgracht 123 号")}, want: []want{invalid(addr + ".address_line")}},
		{name: "address line too long and CJK: one entry", muts: []mutation{set(addr+".address_line", strings.Repeat("東", 300))}, want: []want{invalid(addr + ".address_line")}},
		{name: "address line with a left-to-right isolate", muts: []mutation{set(addr+".address_line", "Keizersgracht \u2066123")}, want: []want{invalid(addr + ".address_line")}},
		{name: "address line not a string", muts: []mutation{set(addr+".address_line", 123)}, want: []want{invalid(addr + ".address_line")}},
		{name: "city missing", muts: []mutation{del(addr + ".city_name")}, want: []want{missing(addr + ".city_name")}},
		{name: "city empty", muts: []mutation{set(addr+".city_name", "")}, want: []want{missing(addr + ".city_name")}},
		{name: "city with a zero-width non-joiner", muts: []mutation{set(addr+".city_name", "Amster\u200Cdam")}, want: []want{invalid(addr + ".city_name")}},
		{name: "city with CJK", muts: []mutation{set(addr+".city_name", "東京")}, want: []want{invalid(addr + ".city_name")}},
		{name: "country missing", muts: []mutation{del(addr + ".country_code")}, want: []want{missing(addr + ".country_code")}},
		{name: "country lower case", muts: []mutation{set(addr+".country_code", "nl")}, want: []want{invalid(addr + ".country_code")}},
		{name: "country alpha-3", muts: []mutation{set(addr+".country_code", "NLD")}, want: []want{invalid(addr + ".country_code")}},
		{name: "country not assigned", muts: []mutation{set(addr+".country_code", "XX")}, want: []want{invalid(addr + ".country_code")}},
		{name: "country not a string", muts: []mutation{set(addr+".country_code", 31)}, want: []want{invalid(addr + ".country_code")}},
		{name: "address language missing", muts: []mutation{del(addr + ".language_code")}, want: []want{missing(addr + ".language_code")}},
		{name: "address language unknown", muts: []mutation{set(addr+".language_code", "dutch")}, want: []want{invalid(addr + ".language_code")}},
		{name: "NL postal code with leading zero", muts: []mutation{set(addr+".postal_code", "0123 AB")}, want: []want{invalid(addr + ".postal_code")}},
		{name: "NL postal code lower case", muts: []mutation{set(addr+".postal_code", "1015 cj")}, want: []want{invalid(addr + ".postal_code")}},
		{name: "US ZIP too short", muts: []mutation{set(addr+".country_code", "US"), set(addr+".postal_code", "1234")}, want: []want{invalid(addr + ".postal_code")}},
		{name: "GB postcode digits only", muts: []mutation{set(addr+".country_code", "GB"), set(addr+".postal_code", "12345")}, want: []want{invalid(addr + ".postal_code")}},
		{name: "other postal code too long", muts: []mutation{set(addr+".country_code", "DE"), set(addr+".postal_code", "12345678901")}, want: []want{invalid(addr + ".postal_code")}},
		{name: "other postal code with symbols", muts: []mutation{set(addr+".country_code", "DE"), set(addr+".postal_code", "10#15")}, want: []want{invalid(addr + ".postal_code")}},
		{name: "postal code with a right-to-left embedding", muts: []mutation{set(addr+".postal_code", "\u202B1015 CJ")}, want: []want{invalid(addr + ".postal_code")}},
		{name: "postal code with a byte order mark and no valid country", muts: []mutation{set(addr+".country_code", "ZZ"), set(addr+".postal_code", "1015\uFEFF")}, want: []want{invalid(addr + ".postal_code"), invalid(addr + ".country_code")}},
		{name: "postal code empty", muts: []mutation{set(addr+".postal_code", "")}, want: []want{invalid(addr + ".postal_code")}},
		{name: "postal code not judged without a valid country", muts: []mutation{set(addr+".country_code", "ZZ"), set(addr+".postal_code", "#")}, want: []want{invalid(addr + ".country_code")}},
		{name: "state code with a left-to-right embedding", muts: []mutation{set(addr+".state_prov_code", "\u202ANH")}, want: []want{invalid(addr + ".state_prov_code")}},
		{name: "state code not a string", muts: []mutation{set(addr+".state_prov_code", 7)}, want: []want{invalid(addr + ".state_prov_code")}},
		{name: "address unknown member", muts: []mutation{set(addr+".street", "Keizersgracht")}, want: []want{unknown(addr + ".street")}},

		// property rules
		{name: "no general contact", muts: []mutation{set(c0+".contact_profiles", profiles("invoices"))}, want: []want{missing("contacts")}},
		{name: "second general contact", muts: []mutation{set(c1+".contact_profiles[2]", map[string]any{"type": "general"})}, want: []want{invalid(c1 + ".contact_profiles[2].type")}},
		{name: "third general contact", muts: []mutation{
			set(c1+".contact_profiles", profiles("general")),
			set("contacts[2]", map[string]any{
				"contact_profiles": profiles("parity", "general"),
				"contact_person":   map[string]any{"name": "Third", "language_code": "fr"},
				"phones":           []any{phone("+33123456789", 1)},
				"email":            "third@example.fr",
			}),
		}, want: []want{invalid(c1 + ".contact_profiles[0].type"), invalid("contacts[2].contact_profiles[1].type")}},
		{name: "general only on a broken contact still counts", muts: []mutation{set(c0+".email", "x")}, want: []want{invalid(c0 + ".email")}},

		// unknown members at the top and in a contact
		{name: "unknown top-level member", muts: []mutation{set("property_id", 1000001)}, want: []want{unknown("property_id")}},
		{name: "unknown contact members sorted", muts: []mutation{set(c0+".fax", "+31201112299"), set(c0+".active", true)}, want: []want{unknown(c0 + ".active"), unknown(c0 + ".fax")}},
	}
	base := readTestdata(t, "valid_put.json")
	h := newHarness(t, emulator.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := mutate(t, base, tt.muts...)
			res := h.do(http.MethodPut, contactsPath(emulator.DemoPropertyFull), staticAuth, body)
			if tt.want == nil {
				if res.status != http.StatusOK || len(res.env.Errors) != 0 {
					t.Fatalf("status %d, want 200: %s", res.status, res.raw)
				}
				return
			}
			expectErrors(t, res, http.StatusBadRequest, tt.want...)
		})
	}
}

// TestSeveralProblems checks that one body with many problems gets one
// entry per offending field, in the documented order.
func TestSeveralProblems(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	before := h.getContacts(emulator.DemoPropertyFull, "")
	res := h.do(http.MethodPut, contactsPath(emulator.DemoPropertyFull), staticAuth, readTestdata(t, "several_problems.json"))
	c0 := "contacts[0]"
	expectErrors(t, res, http.StatusBadRequest,
		want{code: "450", field: c0 + ".contact_profiles[1].type"},
		invalid(c0+".contact_profiles[2].type"),
		missing(c0+".contact_person.name"),
		invalidOneOf(c0+".contact_person.gender", allowedGenders()),
		invalid(c0+".contact_person.language_code"),
		invalid(c0+".address.address_line"),
		missing(c0+".address.city_name"),
		invalid(c0+".address.postal_code"),
		invalid(c0+".phones[0].phone_number"),
		invalid(c0+".phones[1].phone_tech_type"),
		invalid(c0+".phones[1].extension"),
		invalid(c0+".email"),
		unknown(c0+".fax"),
		invalidOneOf("contacts[1].phones[0].phone_tech_type", allowedTechTypes()),
		invalid("contacts[1].contact_profiles[1].type"),
		unknown("dry_run"),
	)
	if after := h.getContacts(emulator.DemoPropertyFull, ""); !jsonEqual(t, after, before) {
		t.Errorf("a refused PUT changed the contacts:\n%v", after)
	}
}

// TestMalformedBodies checks the bodies that are not a JSON object:
// 400 + OTA 450 with details null, for PUT and POST alike.
func TestMalformedBodies(t *testing.T) {
	valid := readTestdata(t, "valid_put.json")
	tests := []struct {
		name string
		body string
	}{
		{"empty", ""},
		{"not JSON", "contacts: []"},
		{"truncated", valid[:len(valid)/2]},
		{"array", "[]"},
		{"string", `"contacts"`},
		{"null", "null"},
		{"trailing data", valid + " {}"},
		{"over 1 MiB", `{"contacts":[],"pad":"` + strings.Repeat("x", 1<<20) + `"}`},
	}
	h := newHarness(t, emulator.Options{})
	for _, tt := range tests {
		for _, method := range []string{http.MethodPut, http.MethodPost} {
			t.Run(tt.name+"/"+method, func(t *testing.T) {
				res := h.do(method, contactsPath(emulator.DemoPropertyEmpty), staticAuth, tt.body)
				expectErrors(t, res, http.StatusBadRequest, want{code: "450"})
			})
		}
	}
}

// TestDetailsNullOnTheWire checks the literal JSON of an error entry
// without a field: details is present and null, code is a string.
func TestDetailsNullOnTheWire(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	res := h.do(http.MethodPut, contactsPath(emulator.DemoPropertyFull), staticAuth, "{")
	var raw struct {
		Errors []map[string]json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(res.raw, &raw); err != nil || len(raw.Errors) != 1 {
		t.Fatalf("body %s: %v", res.raw, err)
	}
	if got := string(raw.Errors[0]["details"]); got != "null" {
		t.Errorf("details = %s, want null", got)
	}
	if got := string(raw.Errors[0]["code"]); got != `"450"` {
		t.Errorf("code = %s, want the string \"450\"", got)
	}
}
