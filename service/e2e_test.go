package service_test

import (
	"strconv"
	"testing"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/google/go-cmp/cmp"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
)

func TestListDemoProperty(t *testing.T) {
	s := newStack(t, nil)
	resp, err := s.client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: strconv.Itoa(emulator.DemoPropertyFull)})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetContacts()) != 2 || resp.GetRequestId() == "" {
		t.Fatalf("got %d contacts, request id %q", len(resp.GetContacts()), resp.GetRequestId())
	}
	hc, err := s.health.Check(ctxT(t), &healthpb.HealthCheckRequest{Service: "contacts.v1.ContactsService"})
	if err != nil || hc.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health %v %v", hc, err)
	}
}

func TestLanguageFallback(t *testing.T) {
	s := newStack(t, nil)
	id := strconv.Itoa(emulator.DemoPropertyNoLanguage)
	for _, tc := range []struct {
		noFallback bool
		want       string
	}{{false, "en-gb"}, {true, ""}} {
		resp, err := s.client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: id, NoLanguageFallback: tc.noFallback})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, c := range resp.GetContacts() {
			for _, p := range c.GetProfiles() {
				if p == contactsv1.ProfileType_PROFILE_TYPE_GENERAL {
					found = true
					if got := c.GetContactPerson().GetLanguageCode(); got != tc.want {
						t.Errorf("no_language_fallback=%v: language %q, want %q", tc.noFallback, got, tc.want)
					}
				}
			}
		}
		if !found {
			t.Fatal("no general contact")
		}
	}
}

// TestReplaceThenList checks the overlay: after a replace, the property has
// exactly the contacts sent, field for field.
func TestReplaceThenList(t *testing.T) {
	s := newStack(t, nil)
	id := strconv.Itoa(emulator.DemoPropertyFull)
	sent := []*contactsv1.Contact{validContact(contactsv1.ProfileType_PROFILE_TYPE_GENERAL, contactsv1.ProfileType_PROFILE_TYPE_PARITY)}
	sent[0].Address = &contactsv1.Address{AddressLine: "Main Street 1", CityName: "Amsterdam", PostalCode: "1017 CE", CountryCode: "NL", LanguageCode: "nl"}
	if _, err := s.client.ReplaceContacts(ctxT(t), &contactsv1.ReplaceContactsRequest{PropertyId: id, Contacts: sent}); err != nil {
		t.Fatal(err)
	}
	resp, err := s.client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: id})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sent, resp.GetContacts(), protocmp.Transform()); diff != "" {
		t.Fatalf("listed contacts differ from those replaced (-sent +listed):\n%s", diff)
	}
}

// TestSeedRowsEndToEnd reaches every row of the seed error table through
// the gRPC server, the REST client and the emulator.
func TestSeedRowsEndToEnd(t *testing.T) {
	s := newStack(t, nil)
	full := strconv.Itoa(emulator.DemoPropertyFull)

	t.Run("150 create on a property with contacts", func(t *testing.T) {
		_, err := s.client.CreateContacts(ctxT(t), &contactsv1.CreateContactsRequest{PropertyId: full,
			Contacts: []*contactsv1.Contact{validContact(contactsv1.ProfileType_PROFILE_TYPE_GENERAL)}})
		checkStatus(t, err, want{code: codes.AlreadyExists, reason: contactsv1.ErrorReason_CHANGES_NOT_PERMITTED.String(), otaCode: "150", httpStatus: "400", resource: true})
	})
	t.Run("320 language code unknown upstream", func(t *testing.T) {
		c := validContact(contactsv1.ProfileType_PROFILE_TYPE_GENERAL)
		c.ContactPerson.LanguageCode = "xx"
		_, err := s.client.ReplaceContacts(ctxT(t), &contactsv1.ReplaceContactsRequest{PropertyId: full, Contacts: []*contactsv1.Contact{c}})
		checkStatus(t, err, want{code: codes.InvalidArgument, reason: contactsv1.ErrorReason_INVALID_VALUE.String(), otaCode: "320", httpStatus: "400",
			fields: []string{"contacts[0].contact_person.language_code"}})
	})
	t.Run("321 address without city", func(t *testing.T) {
		c := validContact(contactsv1.ProfileType_PROFILE_TYPE_GENERAL)
		c.Address = &contactsv1.Address{AddressLine: "Main Street 1", CountryCode: "NL", LanguageCode: "nl"}
		_, err := s.client.ReplaceContacts(ctxT(t), &contactsv1.ReplaceContactsRequest{PropertyId: full, Contacts: []*contactsv1.Contact{c}})
		checkStatus(t, err, want{code: codes.InvalidArgument, reason: contactsv1.ErrorReason_REQUIRED_FIELD_MISSING.String(), otaCode: "321", httpStatus: "400",
			fields: []string{"contacts[0].address.city_name"}})
	})
	t.Run("450 contract profile, refused by the facade in the same shape", func(t *testing.T) {
		_, err := s.client.ReplaceContacts(ctxT(t), &contactsv1.ReplaceContactsRequest{PropertyId: full, Contacts: []*contactsv1.Contact{
			validContact(contactsv1.ProfileType_PROFILE_TYPE_GENERAL, contactsv1.ProfileType_PROFILE_TYPE_CONTRACT)}})
		checkStatus(t, err, want{code: codes.InvalidArgument, reason: contactsv1.ErrorReason_UNABLE_TO_PROCESS.String(), otaCode: "450",
			fields: []string{"contacts[0].profiles[1]"}})
	})
	t.Run("635 unknown property", func(t *testing.T) {
		_, err := s.client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: "9999999"})
		checkStatus(t, err, want{code: codes.NotFound, reason: contactsv1.ErrorReason_NOT_FOUND.String(), otaCode: "635", httpStatus: "404", resource: true})
	})
	t.Run("635 property without access", func(t *testing.T) {
		_, err := s.client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: strconv.Itoa(emulator.DemoPropertyNoAccess)})
		checkStatus(t, err, want{code: codes.NotFound, reason: contactsv1.ErrorReason_NOT_FOUND.String(), otaCode: "635", httpStatus: "404", resource: true})
	})
	t.Run("local: several problems, one BadRequest", func(t *testing.T) {
		c := validContact(contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS)
		c.Email = ""
		c.Phones = append(c.Phones, &contactsv1.Phone{PhoneNumber: "0201234567", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_FAX, Extension: "1"})
		_, err := s.client.ReplaceContacts(ctxT(t), &contactsv1.ReplaceContactsRequest{PropertyId: "12a", Contacts: []*contactsv1.Contact{c}})
		checkStatus(t, err, want{code: codes.InvalidArgument, reason: contactsv1.ErrorReason_INVALID_VALUE.String(), otaCode: "320",
			fields: []string{"property_id", "contacts[0].phones[1].phone_number", "contacts[0].phones[1].extension", "contacts[0].email", "contacts"}})
	})
}

func TestSeedRow497BadToken(t *testing.T) {
	s := newStack(t, func(string) upstream.Authorizer { return upstreamauth.NewStaticToken("not-a-token-of-ours") })
	_, err := s.client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: strconv.Itoa(emulator.DemoPropertyFull)})
	checkStatus(t, err, want{code: codes.Unauthenticated, reason: contactsv1.ErrorReason_AUTHORIZATION_ERROR.String(), otaCode: "497", httpStatus: "400"})
}

func TestTokenExchangeRefused(t *testing.T) {
	s := newStack(t, func(base string) upstream.Authorizer {
		ts, err := upstreamauth.NewTokenSource(upstreamauth.TokenConfig{
			ExchangeURL: base + "/token-based-authentication/exchange", ClientID: emulator.DemoClientID, ClientSecret: "wrong"})
		if err != nil {
			t.Fatal(err)
		}
		return ts
	})
	_, err := s.client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: strconv.Itoa(emulator.DemoPropertyFull)})
	checkStatus(t, err, want{code: codes.Unauthenticated, reason: contactsv1.ErrorReason_TOKEN_EXCHANGE_FAILED.String(), httpStatus: "401"})
}

// TestRevokedTokenIsReplaced: the emulator revokes every token; the next
// call gets a 401, the facade exchanges once more and retries, and the
// caller sees a success.
func TestRevokedTokenIsReplaced(t *testing.T) {
	s := newStack(t, nil)
	req := &contactsv1.ListContactsRequest{PropertyId: strconv.Itoa(emulator.DemoPropertyFull)}
	if _, err := s.client.ListContacts(ctxT(t), req); err != nil {
		t.Fatal(err)
	}
	s.emu.RevokeTokens()
	if _, err := s.client.ListContacts(ctxT(t), req); err != nil {
		t.Fatalf("call after revocation: %v", err)
	}
	if n := s.emu.Exchanges(emulator.DemoClientID); n != 2 {
		t.Fatalf("%d exchanges, want 2", n)
	}
}
