package emulator_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// The emulator keeps its own wire structs (see store.go); this file is the
// only place that ties it to the client's, on purpose.

// TestWireCompatibility decodes the emulator's answers with the client's
// wire types (internal/upstream), so that the two cannot drift apart.
func TestWireCompatibility(t *testing.T) {
	h := newHarness(t, emulator.Options{})

	res := h.do(http.MethodGet, contactsPath(emulator.DemoPropertyFull), staticAuth, "")
	var env upstream.Envelope
	if err := json.Unmarshal(res.raw, &env); err != nil {
		t.Fatal(err)
	}
	if env.Data == nil || len(env.Data.Contacts) != 2 || env.Meta == nil || env.Meta.RUID == "" {
		t.Fatalf("decoded %+v", env)
	}
	c := env.Data.Contacts[0]
	if c.ContactPerson == nil || c.ContactPerson.LanguageCode == nil || *c.ContactPerson.LanguageCode != "nl" ||
		c.Address == nil || c.Address.CountryCode != "NL" || len(c.Phones) != 2 ||
		c.Phones[0].PhoneTechType != 1 || c.Phones[0].Extension != "123" || c.Phones[1].PhoneTechType != 5 ||
		len(c.ContactProfiles) != 2 || c.ContactProfiles[0].Type != "general" {
		t.Errorf("contact 0 decoded as %+v", c)
	}

	// A body marshalled from the client's types is accepted.
	lang := "de"
	put, err := json.Marshal(upstream.ContactsBody{Contacts: []upstream.Contact{{
		ContactProfiles: []upstream.ContactProfile{{Type: "general"}},
		ContactPerson:   &upstream.ContactPerson{Name: "Max Weber", LanguageCode: &lang},
		Address:         &upstream.Address{CityName: "Berlin", PostalCode: "10115", CountryCode: "DE", LanguageCode: "de", StateProvCode: "BE"},
		Phones:          []upstream.Phone{{PhoneNumber: "+49301234567", PhoneTechType: 1, Extension: "7"}},
		Email:           "max@example.de",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if res := h.do(http.MethodPut, contactsPath(emulator.DemoPropertyFull), staticAuth, string(put)); res.status != http.StatusOK {
		t.Fatalf("PUT of upstream types: %d: %s", res.status, res.raw)
	}

	res = h.do(http.MethodPut, contactsPath(emulator.DemoPropertyFull), staticAuth, `{"contacts":[{"contact_profiles":[{"type":"x"}]}]}`)
	env = upstream.Envelope{}
	if err := json.Unmarshal(res.raw, &env); err != nil {
		t.Fatal(err)
	}
	if len(env.Errors) == 0 || env.Errors[0].Code != "320" || env.Errors[0].Text() != "Invalid value." ||
		env.Errors[0].Details == nil || len(env.Errors[0].Details.Fields) != 1 ||
		env.Errors[0].Details.Fields[0] != "contacts[0].contact_profiles[0].type" ||
		len(env.Errors[0].Details.AllowedValues) != 8 {
		t.Errorf("error decoded as %+v", env.Errors)
	}
}
