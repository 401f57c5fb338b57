package service

import (
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
	return []*contactsv1.ReplaceContactsRequest{
		{PropertyId: "1000001", Contacts: []*contactsv1.Contact{full()}},
		{PropertyId: "1000001", Contacts: []*contactsv1.Contact{full(), second}},
		{PropertyId: "12a", Contacts: []*contactsv1.Contact{bad}},
		{PropertyId: "2147483648"},
		{PropertyId: "0", Contacts: []*contactsv1.Contact{{}}},
		{},
	}
}

// FuzzValidate feeds arbitrary bytes, decoded as a ReplaceContactsRequest,
// to the local validation: it never panics, every violation names a field
// of the request (property_id or contacts...) with an OTA code and a
// description, the INVALID_ARGUMENT status it makes can be sent, and a
// request it accepts converts to the REST body and back without loss.
//
// Longer runs: go test -run '^$' -fuzz '^FuzzValidate$' -fuzztime 10m ./internal/service
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
			if v.Description == "" {
				t.Fatalf("violation %q has no description", v.Field)
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
			infos, violations := 0, 0
			for _, d := range st.Details() {
				switch d := d.(type) {
				case *errdetails.ErrorInfo:
					infos++
				case *errdetails.BadRequest:
					violations += len(d.GetFieldViolations())
				}
			}
			if infos != 1 || violations != len(vs) {
				t.Fatalf("%d ErrorInfo and %d field violations for %d violations", infos, violations, len(vs))
			}
			if _, err := proto.Marshal(st.Proto()); err != nil {
				t.Fatalf("the status cannot be sent: %v", err)
			}
			return
		}

		// Accepted: what goes upstream must come back as it was sent.
		back, warnings := upstream.ContactsFromWire(upstream.ContactsToWire(req.GetContacts()))
		if len(warnings) > 0 {
			t.Fatalf("a valid request converts with warnings: %v", warnings)
		}
		if diff := cmp.Diff(req.GetContacts(), back, protocmp.Transform(), protocmp.IgnoreUnknown()); diff != "" {
			t.Fatalf("a valid request does not survive the REST body (-sent +back):\n%s", diff)
		}
	})
}
