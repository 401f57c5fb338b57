package emulator_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/contacts-facade/contacts-facade/internal/emulator"
)

// oneGeneralContact is a minimal valid body.
const oneGeneralContact = `{"contacts":[{
	"contact_profiles":[{"type":"general"}],
	"contact_person":{"name":"Mia Visser","language_code":"nl"},
	"phones":[{"phone_number":"+31301234567","phone_tech_type":"1"}],
	"email":"mia@example.nl"}]}`

// oneGeneralContactStored is what GET answers after oneGeneralContact.
const oneGeneralContactStored = `[{
	"contact_profiles":[{"type":"general"}],
	"contact_person":{"name":"Mia Visser","language_code":"nl"},
	"phones":[{"phone_number":"+31301234567","phone_tech_type":1}],
	"email":"mia@example.nl"}]`

func TestGetSeededProperty(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	res := h.do(http.MethodGet, contactsPath(emulator.DemoPropertyFull), staticAuth, "")
	if res.status != http.StatusOK {
		t.Fatalf("status %d: %s", res.status, res.raw)
	}
	if len(res.env.Errors) != 0 || len(res.env.Warnings) != 0 {
		t.Errorf("errors/warnings not empty: %s", res.raw)
	}
	if !jsonEqual(t, []byte(res.env.Data.Contacts), readTestdata(t, "get_1000001.json")) {
		t.Errorf("contacts:\n%s\nwant testdata/get_1000001.json", res.env.Data.Contacts)
	}
}

func TestGetEmptyPropertyAnswersEmptyList(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	if got := h.getContacts(emulator.DemoPropertyEmpty, ""); len(got) != 0 {
		t.Errorf("contacts = %v, want []", got)
	}
}

// TestLanguageFallback checks the missing language of property 1000002:
// "en-gb" by default and with no_language_fallback=0, null with =1.
func TestLanguageFallback(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	languageOf := func(contacts []any, i int) (any, bool) {
		person := contacts[i].(map[string]any)["contact_person"].(map[string]any)
		v, ok := person["language_code"]
		return v, ok
	}
	tests := []struct {
		query string
		want  any
	}{
		{"", "en-gb"},
		{"?no_language_fallback=0", "en-gb"},
		{"?no_language_fallback=1", nil},
		{"", "en-gb"}, // the null answer above must not have changed storage
	}
	for _, tt := range tests {
		contacts := h.getContacts(emulator.DemoPropertyNoLanguage, tt.query)
		if len(contacts) != 2 {
			t.Fatalf("%d contacts, want 2", len(contacts))
		}
		got, present := languageOf(contacts, 0)
		if !present || got != tt.want {
			t.Errorf("GET%s: language_code = %v (present %v), want %v", tt.query, got, present, tt.want)
		}
		// A stored language is never replaced.
		if got, _ := languageOf(contacts, 1); got != "en-gb" {
			t.Errorf("GET%s: second contact language %v", tt.query, got)
		}
		// Reads may return the write-only-refused profile contract.
		profile := contacts[1].(map[string]any)["contact_profiles"].([]any)[0].(map[string]any)["type"]
		if profile != "contract" {
			t.Errorf("second contact profile %v, want contract", profile)
		}
	}
}

func TestQueryParameters(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	path := contactsPath(emulator.DemoPropertyFull)
	tests := []struct {
		name   string
		method string
		query  string
		want   []want
	}{
		{"fallback not 0 or 1", http.MethodGet, "?no_language_fallback=true", []want{invalidOneOf("no_language_fallback", []string{"0", "1"})}},
		{"fallback empty", http.MethodGet, "?no_language_fallback=", []want{invalidOneOf("no_language_fallback", []string{"0", "1"})}},
		{"unknown parameter", http.MethodGet, "?limit=5", []want{unknown("limit")}},
		{"several, sorted", http.MethodGet, "?zeta=1&no_language_fallback=2&alpha=1", []want{unknown("alpha"), invalidOneOf("no_language_fallback", []string{"0", "1"}), unknown("zeta")}},
		{"fallback on PUT", http.MethodPut, "?no_language_fallback=1", []want{unknown("no_language_fallback")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := ""
			if tt.method != http.MethodGet {
				body = oneGeneralContact
			}
			expectErrors(t, h.do(tt.method, path+tt.query, staticAuth, body), http.StatusBadRequest, tt.want...)
		})
	}
}

// TestPutOverlay checks that PUT replaces all contacts: the ones not sent
// are gone, and state_prov_code is accepted but not returned.
func TestPutOverlay(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	path := contactsPath(emulator.DemoPropertyFull)

	res := h.do(http.MethodPut, path, staticAuth, readTestdata(t, "valid_put.json"))
	if res.status != http.StatusOK || res.env.Data != nil || len(res.env.Errors) != 0 {
		t.Fatalf("PUT: status %d: %s", res.status, res.raw)
	}
	if got := h.getContacts(emulator.DemoPropertyFull, ""); !jsonEqual(t, got, readTestdata(t, "valid_put_stored.json")) {
		t.Errorf("after PUT:\n%v\nwant testdata/valid_put_stored.json", got)
	}

	// The second PUT sends one contact: the other one is deleted.
	if res := h.do(http.MethodPut, path, staticAuth, oneGeneralContact); res.status != http.StatusOK {
		t.Fatalf("second PUT: status %d: %s", res.status, res.raw)
	}
	if got := h.getContacts(emulator.DemoPropertyFull, ""); !jsonEqual(t, got, oneGeneralContactStored) {
		t.Errorf("after overlay PUT:\n%v", got)
	}
	// Other properties are untouched.
	if got := h.getContacts(emulator.DemoPropertyNoLanguage, ""); len(got) != 2 {
		t.Errorf("property %d has %d contacts, want 2", emulator.DemoPropertyNoLanguage, len(got))
	}
}

// TestPostCreate checks POST on a property without contacts, then 150 on
// the second POST; and that the body is validated before the 150 rule.
func TestPostCreate(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	path := contactsPath(emulator.DemoPropertyEmpty)

	res := h.do(http.MethodPost, path, staticAuth, oneGeneralContact)
	if res.status != http.StatusOK || res.env.Data != nil || len(res.env.Errors) != 0 {
		t.Fatalf("first POST: status %d: %s", res.status, res.raw)
	}
	if got := h.getContacts(emulator.DemoPropertyEmpty, ""); !jsonEqual(t, got, oneGeneralContactStored) {
		t.Errorf("after POST:\n%v", got)
	}

	expectErrors(t, h.do(http.MethodPost, path, staticAuth, oneGeneralContact), http.StatusBadRequest, want{code: "150"})
	expectErrors(t, h.do(http.MethodPost, contactsPath(emulator.DemoPropertyFull), staticAuth, readTestdata(t, "valid_put.json")), http.StatusBadRequest, want{code: "150"})

	// An invalid body gets its validation errors, not 150.
	bad := strings.Replace(oneGeneralContact, `"mia@example.nl"`, `"mia"`, 1)
	expectErrors(t, h.do(http.MethodPost, path, staticAuth, bad), http.StatusBadRequest, invalid("contacts[0].email"))

	// The refused POSTs changed nothing.
	if got := h.getContacts(emulator.DemoPropertyEmpty, ""); !jsonEqual(t, got, oneGeneralContactStored) {
		t.Errorf("after refused POSTs:\n%v", got)
	}
}

// TestRouting checks wrong paths and methods: 400 + OTA 450 before any
// authentication.
func TestRouting(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	tests := []struct {
		method, path string
	}{
		{http.MethodDelete, contactsPath(emulator.DemoPropertyFull)},
		{http.MethodPatch, contactsPath(emulator.DemoPropertyFull)},
		{http.MethodOptions, contactsPath(emulator.DemoPropertyFull)},
		{http.MethodGet, "/"},
		{http.MethodGet, "/properties"},
		{http.MethodGet, "/properties/1000001"},
		{http.MethodGet, "/properties/1000001/contacts/"},
		{http.MethodGet, "/properties/1000001/contacts/0"},
		{http.MethodGet, "/properties//contacts"},
		{http.MethodGet, "/contacts-api/properties/1000001/contacts"},
		{http.MethodGet, "/token-based-authentication/exchange"},
		{http.MethodPut, "/token-based-authentication/exchange"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			for _, auth := range []string{noAuth, staticAuth} {
				expectErrors(t, h.do(tt.method, tt.path, auth, ""), http.StatusBadRequest, want{code: "450"})
			}
		})
	}
}

// TestUnknownProperties checks 404 + OTA 635 for ids that are not positive
// int32 digits, unknown, or not accessible to the demo account, on every
// method.
func TestUnknownProperties(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	ids := []string{
		"abc", "0", "-1", "%2B1000001", "1000001.0", "1e6", "%201000001",
		"2147483648", "99999999999999999999", "1000005", "2147483647",
		"1000004",
	}
	for _, id := range ids {
		for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodPost} {
			t.Run(method+" "+id, func(t *testing.T) {
				body := ""
				if method != http.MethodGet {
					body = oneGeneralContact
				}
				expectErrors(t, h.do(method, contactsPath(id), staticAuth, body), http.StatusNotFound, want{code: "635"})
			})
		}
	}
	// The property is checked after the credentials.
	res := h.do(http.MethodGet, contactsPath("1000004"), noAuth, "")
	expectErrors(t, res, http.StatusUnauthorized, want{code: "497"})
}

// TestEmulatorsDoNotShareData checks that each Emulator has its own copy
// of the seed data.
func TestEmulatorsDoNotShareData(t *testing.T) {
	a := newHarness(t, emulator.Options{})
	b := newHarness(t, emulator.Options{})
	if res := a.do(http.MethodPut, contactsPath(emulator.DemoPropertyFull), staticAuth, oneGeneralContact); res.status != http.StatusOK {
		t.Fatalf("PUT: %s", res.raw)
	}
	if got := b.getContacts(emulator.DemoPropertyFull, ""); !jsonEqual(t, got, readTestdata(t, "get_1000001.json")) {
		t.Errorf("second emulator sees the first one's PUT:\n%v", got)
	}
}
