package service

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// maxDescription bounds a violation's description: the longest, which
// lists the profile types, is 249 bytes.
const maxDescription = 300

// fuzzSeeds are requests near the edges of the rules: valid, and one rule
// broken at a time.
func fuzzSeeds() []*contactsv1.ReplaceContactsRequest {
	full := func() *contactsv1.Contact {
		return &contactsv1.Contact{
			Profiles: []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_GENERAL, contactsv1.ProfileType_PROFILE_TYPE_INVOICES},
			ContactPerson: &contactsv1.ContactPerson{Name: "Anna de Vries", Gender: contactsv1.Gender_GENDER_FEMALE,
				JobTitle: contactsv1.JobTitle_JOB_TITLE_GENERAL_MANAGER, LanguageCode: "nl"},
			Address: &contactsv1.Address{AddressLine: "Herengracht 597", CityName: "Amsterdam", PostalCode: "1017 CE",
				CountryCode: "NL", LanguageCode: "nl", StateProvCode: "NH"},
			Phones: []*contactsv1.Phone{
				{PhoneNumber: "+31201234567", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE, Extension: "12"},
				{PhoneNumber: "+31612345678", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_MOBILE},
				{PhoneNumber: "+31207654321", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_FAX},
			},
			Email: "anna@example.com",
		}
	}
	second := full()
	second.Profiles = []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS, contactsv1.ProfileType_PROFILE_TYPE_CONTRACT}
	second.Address = nil
	second.ContactPerson.LanguageCode = "EN_GB"
	second.Email = "not an email"
	bad := full()
	bad.Phones = append(bad.Phones, &contactsv1.Phone{PhoneNumber: "0201234567", PhoneTechType: 99, Extension: "x"}, nil)
	bad.Address.CityName = "東京"
	bad.Address.CountryCode = "nl"
	bad.ContactPerson.Gender = 7
	bad.ContactPerson.JobTitle = 99
	bad.ContactPerson.Name = "a\x00b"
	hidden := full()
	hidden.ContactPerson.Name = "Anna \u202Esdog"
	hidden.Address.AddressLine = "\uFEFFHerengracht\u200B597"
	hiddenEmail := full()
	hiddenEmail.Email = "anna\u2060@example.com"
	return []*contactsv1.ReplaceContactsRequest{
		{PropertyId: "1000001", Contacts: []*contactsv1.Contact{full()}},
		{PropertyId: "1000001", Contacts: []*contactsv1.Contact{full(), second}},
		{PropertyId: "12a", Contacts: []*contactsv1.Contact{bad}},
		{PropertyId: "2147483648"},
		{PropertyId: "0", Contacts: []*contactsv1.Contact{{}}},
		{PropertyId: "1000001", Contacts: []*contactsv1.Contact{hidden}},
		{PropertyId: "1000001", Contacts: []*contactsv1.Contact{hiddenEmail}},
		{PropertyId: "00001000001", Contacts: []*contactsv1.Contact{full()}},
		{PropertyId: "01000001", Contacts: []*contactsv1.Contact{full()}},
		{},
	}
}

// invisibles are the characters refused in text fields, spelled out again
// here rather than taken from validate.go.
const invisibles = "\u200B\u200C\u200D\u2060\uFEFF\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069"

// FuzzValidate feeds arbitrary bytes, decoded as a ReplaceContactsRequest,
// to the local validation: it never panics, every violation names a field
// of the request (property_id or contacts...) with an OTA code and a short
// printable-ASCII description (so it cannot carry the caller's text), the
// INVALID_ARGUMENT status it makes can be sent, and a request it accepts has
// a canonical property id, no invisible formatting characters, and converts
// to the REST body and back without loss.
//
// Longer runs: go test -run '^$' -fuzz '^FuzzValidate$' -fuzztime 10m ./service
func FuzzValidate(f *testing.F) {
	for _, req := range fuzzSeeds() {
		b, err := proto.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var req contactsv1.ReplaceContactsRequest
		if proto.Unmarshal(b, &req) != nil {
			return
		}
		vs := validateWrite(req.GetPropertyId(), req.GetContacts())
		for _, v := range vs {
			if v.Field == "" || !(strings.HasPrefix(v.Field, "property_id") || strings.HasPrefix(v.Field, "contacts")) {
				t.Fatalf("violation on field %q", v.Field)
			}
			if v.OTACode != otaInvalid && v.OTACode != otaMissing && v.OTACode != otaContract {
				t.Fatalf("violation %q has OTA code %q", v.Field, v.OTACode)
			}
			if v.Description == "" || len(v.Description) > maxDescription {
				t.Fatalf("violation %q has a description of %d bytes", v.Field, len(v.Description))
			}
			if strings.ContainsFunc(v.Description, func(r rune) bool { return r < ' ' || r > '~' }) {
				t.Fatalf("violation %q: description %q is not printable ASCII", v.Field, v.Description)
			}
		}
		for _, v := range validateList(&contactsv1.ListContactsRequest{PropertyId: req.GetPropertyId()}) {
			if v.Field != "property_id" {
				t.Fatalf("ListContacts violation on field %q", v.Field)
			}
		}

		if len(vs) > 0 {
			st := errmap.Invalid(vs, errmap.Call{Method: upstream.MethodPut, PropertyID: req.GetPropertyId()})
			if st.Code() != codes.InvalidArgument {
				t.Fatalf("code %v for %d violations", st.Code(), len(vs))
			}
			infos, violations, omitted := 0, 0, 0
			for _, d := range st.Details() {
				switch d := d.(type) {
				case *errdetails.ErrorInfo:
					infos++
				case *errdetails.BadRequest:
					for _, v := range d.GetFieldViolations() {
						if v.GetReason() == contactsv1.ErrorReason_VIOLATIONS_OMITTED.String() {
							// The status is kept small: the last violation
							// counts the ones left out.
							n, err := strconv.Atoi(strings.Fields(v.GetDescription())[0])
							if err != nil {
								t.Fatalf("VIOLATIONS_OMITTED without a count: %q", v.GetDescription())
							}
							omitted += n
							continue
						}
						violations++
					}
				}
			}
			if infos != 1 || violations+omitted != len(vs) {
				t.Fatalf("%d ErrorInfo and %d field violations (+%d left out) for %d violations", infos, violations, omitted, len(vs))
			}
			if size := proto.Size(st.Proto()); size > errmap.MaxStatusBytes {
				t.Fatalf("a status of %d bytes, over %d", size, errmap.MaxStatusBytes)
			}
			if _, err := proto.Marshal(st.Proto()); err != nil {
				t.Fatalf("the status cannot be sent: %v", err)
			}
			return
		}

		// Accepted: the id is written the one way, text holds nothing
		// invisible, and what goes upstream comes back as it was sent.
		if n, err := strconv.ParseInt(req.GetPropertyId(), 10, 32); err != nil || strconv.FormatInt(n, 10) != req.GetPropertyId() {
			t.Fatalf("accepted property id %q is not a canonical int32", req.GetPropertyId())
		}
		for i, c := range req.GetContacts() {
			a := c.GetAddress()
			for _, s := range []string{c.GetContactPerson().GetName(), c.GetEmail(), a.GetAddressLine(), a.GetCityName(), a.GetPostalCode(), a.GetStateProvCode()} {
				if strings.ContainsAny(s, invisibles) {
					t.Fatalf("contacts[%d]: accepted text with an invisible formatting character", i)
				}
			}
		}
		back, warnings := upstream.ContactsFromWire(upstream.ContactsToWire(req.GetContacts()))
		if len(warnings) > 0 {
			t.Fatalf("a valid request converts with warnings: %v", warnings)
		}
		if diff := cmp.Diff(req.GetContacts(), back, protocmp.Transform(), protocmp.IgnoreUnknown()); diff != "" {
			t.Fatalf("a valid request does not survive the REST body (-sent +back):\n%s", diff)
		}
	})
}
