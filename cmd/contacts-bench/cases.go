package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/contacts-facade/contacts-facade/client"
	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// benchCase is one call, made both ways. Each function checks the answer
// as a caller would, so that a broken path cannot pass for a fast one.
type benchCase struct {
	key    string // the -cases name
	label  string // the table's "call" column
	direct func(ctx context.Context, c *restClient) error
	floor  func(ctx context.Context, c contactsv1.ContactsServiceClient) error
	facade func(ctx context.Context, c contactsv1.ContactsServiceClient) error
}

// check makes the call once each way before any measurement.
func (b benchCase) check(ctx context.Context, st *stack) error {
	if err := b.direct(ctx, st.rest); err != nil {
		return fmt.Errorf("direct: %w", err)
	}
	if err := b.floor(ctx, st.floor); err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	if err := b.facade(ctx, st.grpc); err != nil {
		return fmt.Errorf("facade: %w", err)
	}
	return nil
}

// errUnexpected marks an answer that is not the one the case expects.
var errUnexpected = errors.New("unexpected answer")

// The keys of the write cases that the refusal comparison pairs.
const (
	caseReplace = "replace"
	caseInvalid = "invalid"
)

// property is the demo property every case reads and writes.
var property = strconv.Itoa(emulator.DemoPropertyFull)

// Invalid fields of the failing case: each passes the facade's local
// checks (right shape) and the emulator refuses it with OTA 320.
var invalidFields = []string{
	"contacts[0].contact_person.language_code",
	"contacts[0].address.country_code",
	"contacts[0].address.language_code",
}

func caseKeys() []string {
	var keys []string
	for _, c := range allCases() {
		keys = append(keys, c.key)
	}
	return keys
}

func allCases() []benchCase {
	valid := twoContacts()
	invalid := invalidContacts()
	validWire := upstream.ContactsBody{Contacts: upstream.ContactsToWire(valid)}
	invalidWire := upstream.ContactsBody{Contacts: upstream.ContactsToWire(invalid)}
	listReq := &contactsv1.ListContactsRequest{PropertyId: property}
	replaceReq := &contactsv1.ReplaceContactsRequest{PropertyId: property, Contacts: valid}
	invalidReq := &contactsv1.ReplaceContactsRequest{PropertyId: property, Contacts: invalid}

	return []benchCase{
		{
			key:   "list",
			label: "ListContacts (GET)",
			direct: func(ctx context.Context, c *restClient) error {
				env, err := c.call(ctx, http.MethodGet, c.contactsURL(property), nil, http.StatusOK)
				if err != nil {
					return err
				}
				if env.Data == nil || len(env.Data.Contacts) == 0 {
					return fmt.Errorf("%w: no contacts", errUnexpected)
				}
				return nil
			},
			floor: func(ctx context.Context, c contactsv1.ContactsServiceClient) error {
				_, err := c.ListContacts(ctx, listReq)
				return err
			},
			facade: func(ctx context.Context, c contactsv1.ContactsServiceClient) error {
				resp, err := c.ListContacts(ctx, listReq)
				if err != nil {
					return err
				}
				if len(resp.GetContacts()) == 0 {
					return fmt.Errorf("%w: no contacts", errUnexpected)
				}
				return nil
			},
		},
		{
			key:   caseReplace,
			label: "ReplaceContacts (PUT, 2 contacts)",
			direct: func(ctx context.Context, c *restClient) error {
				body, err := json.Marshal(validWire)
				if err != nil {
					return err
				}
				_, err = c.call(ctx, http.MethodPut, c.contactsURL(property), body, http.StatusOK)
				return err
			},
			floor: func(ctx context.Context, c contactsv1.ContactsServiceClient) error {
				_, err := c.ReplaceContacts(ctx, replaceReq)
				return err
			},
			facade: func(ctx context.Context, c contactsv1.ContactsServiceClient) error {
				_, err := c.ReplaceContacts(ctx, replaceReq)
				return err
			},
		},
		{
			key:   caseInvalid,
			label: "ReplaceContacts refused (400, OTA 320 ×3)",
			direct: func(ctx context.Context, c *restClient) error {
				body, err := json.Marshal(invalidWire)
				if err != nil {
					return err
				}
				env, err := c.call(ctx, http.MethodPut, c.contactsURL(property), body, http.StatusBadRequest)
				if err != nil {
					return err
				}
				var fields []string
				for _, e := range env.Errors {
					if e.Code == "320" && e.Details != nil {
						fields = append(fields, e.Details.Fields...)
					}
				}
				return checkFields(fields)
			},
			floor: func(ctx context.Context, c contactsv1.ContactsServiceClient) error {
				_, err := c.ReplaceContacts(ctx, invalidReq)
				if status.Code(err) != codes.InvalidArgument {
					return fmt.Errorf("%w: %v, want INVALID_ARGUMENT", errUnexpected, err)
				}
				return nil
			},
			facade: func(ctx context.Context, c contactsv1.ContactsServiceClient) error {
				// As a Go caller reads a refusal: with the client
				// package, which decodes only the detail asked for.
				_, err := c.ReplaceContacts(ctx, invalidReq)
				if status.Code(err) != codes.InvalidArgument {
					return fmt.Errorf("%w: %v, want INVALID_ARGUMENT", errUnexpected, err)
				}
				var fields []string
				for _, v := range client.FieldViolations(err) {
					fields = append(fields, v.GetField())
				}
				return checkFields(fields)
			},
		},
	}
}

// checkFields wants exactly the three invalid fields, in order.
func checkFields(got []string) error {
	if len(got) != len(invalidFields) {
		return fmt.Errorf("%w: field violations %q, want %q", errUnexpected, got, invalidFields)
	}
	for i := range got {
		if got[i] != invalidFields[i] {
			return fmt.Errorf("%w: field violations %q, want %q", errUnexpected, got, invalidFields)
		}
	}
	return nil
}

// invalidCountry marks the failing case's contacts (the floor picks its
// canned body by it).
const invalidCountry = "XX"

// invalidContacts is twoContacts with the three invalid fields.
func invalidContacts() []*contactsv1.Contact {
	cs := twoContacts()
	cs[0].ContactPerson.LanguageCode = "xx"
	cs[0].Address.CountryCode = invalidCountry
	cs[0].Address.LanguageCode = "xx"
	return cs
}

// twoContacts is a valid property like the emulator's demo 1000001: a
// general+invoices contact with a full person, an NL address, a landline
// with extension and a mobile; a reservations+availability contact.
func twoContacts() []*contactsv1.Contact {
	return []*contactsv1.Contact{
		{
			Profiles: []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_GENERAL, contactsv1.ProfileType_PROFILE_TYPE_INVOICES},
			ContactPerson: &contactsv1.ContactPerson{Name: "Anna de Vries", Gender: contactsv1.Gender_GENDER_FEMALE,
				JobTitle: contactsv1.JobTitle_JOB_TITLE_GENERAL_MANAGER, LanguageCode: "nl"},
			Address: &contactsv1.Address{AddressLine: "Herengracht 597", CityName: "Amsterdam", PostalCode: "1017 CE",
				CountryCode: "NL", LanguageCode: "nl"},
			Phones: []*contactsv1.Phone{
				{PhoneNumber: "+31201234567", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE, Extension: "123"},
				{PhoneNumber: "+31612345678", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_MOBILE},
			},
			Email: "anna.devries@example.com",
		},
		{
			Profiles: []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS, contactsv1.ProfileType_PROFILE_TYPE_AVAILABILITY},
			ContactPerson: &contactsv1.ContactPerson{Name: "Jan Jansen",
				JobTitle: contactsv1.JobTitle_JOB_TITLE_RESERVATIONS_MANAGER, LanguageCode: "en-gb"},
			Phones: []*contactsv1.Phone{{PhoneNumber: "+31207654321", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE}},
			Email:  "reservations@example.com",
		},
	}
}
