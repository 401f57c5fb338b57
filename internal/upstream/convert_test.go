package upstream

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// The tables must cover every value of every enum, so that adding a value
// to the proto without its REST name fails here rather than in production.
func TestVocabularyCoversEveryEnumValue(t *testing.T) {
	for n, name := range contactsv1.ProfileType_name {
		p := contactsv1.ProfileType(n)
		rest, ok := profileTypeString(p)
		if ok != (n != 0) {
			t.Errorf("ProfileTypeString(%s) ok = %v", name, ok)
			continue
		}
		if back, ok2 := parseProfileType(rest); n != 0 && (!ok2 || back != p) {
			t.Errorf("ParseProfileType(%q) = %v, %v; want %s", rest, back, ok2, name)
		}
	}
	for n, name := range contactsv1.Gender_name {
		g := contactsv1.Gender(n)
		rest, ok := genderString(g)
		if ok != (n != 0) {
			t.Errorf("GenderString(%s) ok = %v", name, ok)
			continue
		}
		if back, ok2 := parseGender(rest); n != 0 && (!ok2 || back != g) {
			t.Errorf("ParseGender(%q) = %v, %v; want %s", rest, back, ok2, name)
		}
	}
	for n, name := range contactsv1.JobTitle_name {
		j := contactsv1.JobTitle(n)
		rest, ok := jobTitleString(j)
		if ok != (n != 0) {
			t.Errorf("JobTitleString(%s) ok = %v", name, ok)
			continue
		}
		if back, ok2 := parseJobTitle(rest); n != 0 && (!ok2 || back != j) {
			t.Errorf("ParseJobTitle(%q) = %v, %v; want %s", rest, back, ok2, name)
		}
	}
	for n, name := range contactsv1.PhoneTechType_name {
		p := contactsv1.PhoneTechType(n)
		code, ok := phoneTechTypeCode(p)
		if ok != (n != 0) {
			t.Errorf("PhoneTechTypeCode(%s) ok = %v", name, ok)
			continue
		}
		if back, ok2 := parsePhoneTechType(code); n != 0 && (!ok2 || back != p || code != int(n)) {
			t.Errorf("ParsePhoneTechType(%d) = %v, %v; want %s", code, back, ok2, name)
		}
	}
}

// TestVocabularyValues pins the REST names, in documentation order.
func TestVocabularyValues(t *testing.T) {
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"profile types", profileTypeNames[1:], []string{"general", "reservations", "invoices", "availability", "site_content", "parity", "requests", "central_reservations", "contract"}},
		{"genders", genderNames[1:], []string{"male", "female"}},
		{"job titles", jobTitleNames[1:], []string{
			"Unknown", "Administration Employee", "Director of Business Development", "E-Commerce Manager",
			"Finance Manager", "Front Office Employee", "Front Office Manager", "General Manager",
			"Marketing Manager", "Owner", "Reservations Employee", "Reservations Manager", "Revenue Manager",
			"Rooms Division Manager", "Sales & Marketing Manager", "Sales Executive", "Sales Manager",
		}},
		{"phone tech types", phoneTechTypes[:], []contactsv1.PhoneTechType{1, 3, 5}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestVocabularyRefusesUnknown(t *testing.T) {
	if _, ok := profileTypeString(-1); ok {
		t.Error("ProfileTypeString(-1) ok")
	}
	if _, ok := profileTypeString(99); ok {
		t.Error("ProfileTypeString(99) ok")
	}
	if _, ok := jobTitleString(18); ok {
		t.Error("JobTitleString(18) ok")
	}
	for _, s := range []string{"", "General", " general", "sales & marketing manager", "unknown"} {
		if _, ok := parseProfileType(s); ok {
			t.Errorf("ParseProfileType(%q) ok", s)
		}
		if _, ok := parseJobTitle(s); ok {
			t.Errorf("ParseJobTitle(%q) ok", s)
		}
		if _, ok := parseGender(s); ok {
			t.Errorf("ParseGender(%q) ok", s)
		}
	}
	for _, code := range []int{0, 2, 4, 6, -1, 1 << 33} {
		if _, ok := parsePhoneTechType(code); ok {
			t.Errorf("ParsePhoneTechType(%d) ok", code)
		}
	}
	if _, ok := phoneTechTypeCode(2); ok {
		t.Error("PhoneTechTypeCode(2) ok")
	}
}

// everyEnumContacts uses every value of every enum at least once, the
// UNSPECIFIED gender and job title (optional fields) included.
func everyEnumContacts() []*contactsv1.Contact {
	var out []*contactsv1.Contact
	phones := []*contactsv1.Phone{
		{PhoneNumber: "+31201234567", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE, Extension: "1"},
		{PhoneNumber: "+31201234568", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_FAX},
		{PhoneNumber: "+31612345678", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_MOBILE},
	}
	for j := range int32(len(contactsv1.JobTitle_name)) {
		c := &contactsv1.Contact{
			Profiles: []contactsv1.ProfileType{contactsv1.ProfileType(1 + j%int32(len(contactsv1.ProfileType_name)-1))},
			ContactPerson: &contactsv1.ContactPerson{
				Name:         "Person " + string(rune('A'+j)),
				Gender:       contactsv1.Gender(j % int32(len(contactsv1.Gender_name))),
				JobTitle:     contactsv1.JobTitle(j),
				LanguageCode: "en-gb",
			},
			Phones: phones[:1+j%3],
			Email:  "p@example.com",
		}
		if j%2 == 0 {
			c.Address = &contactsv1.Address{
				AddressLine: "Main street 1", CityName: "Utrecht", PostalCode: "3511 AA",
				CountryCode: "NL", LanguageCode: "nl", StateProvCode: "UT",
			}
		}
		out = append(out, c)
	}
	// One contact with every profile at once.
	all := &contactsv1.Contact{ContactPerson: &contactsv1.ContactPerson{Name: "All", LanguageCode: "de"}, Phones: phones, Email: "all@example.com"}
	for n := range int32(len(contactsv1.ProfileType_name) - 1) {
		all.Profiles = append(all.Profiles, contactsv1.ProfileType(n+1))
	}
	return append(out, all)
}

func TestContactsRoundTrip(t *testing.T) {
	want := append(everyEnumContacts(), sampleContacts()...)
	body, err := json.Marshal(ContactsBody{Contacts: ContactsToWire(want)})
	if err != nil {
		t.Fatal(err)
	}
	var wire ContactsBody
	if err := json.Unmarshal(body, &wire); err != nil {
		t.Fatal(err)
	}
	got, warnings := ContactsFromWire(wire.Contacts)
	if len(warnings) != 0 {
		t.Errorf("warnings = %v, want none", warnings)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d contacts, want %d", len(got), len(want))
	}
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Errorf("contact %d:\n got %v\nwant %v", i, prototext.Format(got[i]), prototext.Format(want[i]))
		}
	}
}

// The JSON of a write is pinned by a golden request body.
func TestContactsToWireGolden(t *testing.T) {
	got, err := json.Marshal(ContactsBody{Contacts: ContactsToWire(sampleContacts())})
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "replace_request.json"))
	if err != nil {
		t.Fatal(err)
	}
	assertSameJSON(t, got, want)
}

func assertSameJSON(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got: %v", err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON differs:\n got %s\nwant %s", got, want)
	}
}

func TestContactsToWireUnspecified(t *testing.T) {
	cs := []*contactsv1.Contact{
		{
			Profiles:      []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_UNSPECIFIED},
			ContactPerson: &contactsv1.ContactPerson{Name: "N"},
			Phones:        []*contactsv1.Phone{{PhoneNumber: "+1"}},
		},
		{},
		nil,
	}
	got, err := json.Marshal(ContactsToWire(cs))
	if err != nil {
		t.Fatal(err)
	}
	want := `[` +
		`{"contact_profiles":[{"type":""}],"contact_person":{"name":"N","language_code":""},"phones":[{"phone_number":"+1","phone_tech_type":0}],"email":""},` +
		`{"contact_profiles":[],"phones":[],"email":""},` +
		`{"contact_profiles":[],"phones":[],"email":""}]`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestContactsFromWireUnknownValues(t *testing.T) {
	lang := "nl"
	ws := []Contact{
		{ContactProfiles: []ContactProfile{{Type: "general"}}, Email: "a@example.com"},
		{
			ContactProfiles: []ContactProfile{{Type: "general"}, {Type: "loyalty"}, {Type: ""}},
			ContactPerson:   &ContactPerson{Name: "Secret Name", Gender: "diverse", JobTitle: "Chief Happiness Officer", LanguageCode: &lang},
			Phones:          []Phone{{PhoneNumber: "+31201234567", PhoneTechType: 1}, {PhoneNumber: "+31201234568", PhoneTechType: 9}},
		},
	}
	got, warnings := ContactsFromWire(ws)
	wantMessages := []string{
		"contacts[1].profiles[1]: value unknown to the facade, returned as unspecified",
		"contacts[1].profiles[2]: value unknown to the facade, returned as unspecified",
		"contacts[1].phones[1].phone_tech_type: value unknown to the facade, returned as unspecified",
		"contacts[1].contact_person.gender: value unknown to the facade, returned as unspecified",
		"contacts[1].contact_person.job_title: value unknown to the facade, returned as unspecified",
	}
	var messages []string
	for _, w := range warnings {
		if w.GetCode() != "" {
			t.Errorf("warning code = %q, want empty", w.GetCode())
		}
		for _, secret := range []string{"loyalty", "diverse", "Chief", "Secret", "+3120"} {
			if strings.Contains(w.GetMessage(), secret) {
				t.Errorf("warning %q quotes upstream data %q", w.GetMessage(), secret)
			}
		}
		messages = append(messages, w.GetMessage())
	}
	if !slices.Equal(messages, wantMessages) {
		t.Errorf("warnings:\n got %q\nwant %q", messages, wantMessages)
	}
	want := &contactsv1.Contact{
		Profiles: []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_GENERAL, 0, 0},
		ContactPerson: &contactsv1.ContactPerson{
			Name: "Secret Name", LanguageCode: "nl",
		},
		Phones: []*contactsv1.Phone{
			{PhoneNumber: "+31201234567", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE},
			{PhoneNumber: "+31201234568"},
		},
	}
	if !proto.Equal(got[1], want) {
		t.Errorf("got %v\nwant %v", prototext.Format(got[1]), prototext.Format(want))
	}
	// Each contact owns its lists: appending to one must not touch the next.
	got[0].Profiles = append(got[0].Profiles, contactsv1.ProfileType_PROFILE_TYPE_PARITY)
	if got[1].Profiles[0] != contactsv1.ProfileType_PROFILE_TYPE_GENERAL {
		t.Error("contacts share a backing array past their length")
	}
}

func TestContactsFromWireNullLanguage(t *testing.T) {
	got, warnings := ContactsFromWire([]Contact{{
		ContactProfiles: []ContactProfile{{Type: "general"}},
		ContactPerson:   &ContactPerson{Name: "N", Gender: "male", LanguageCode: nil},
	}})
	if len(warnings) != 0 {
		t.Errorf("warnings = %v", warnings)
	}
	if p := got[0].GetContactPerson(); p.GetLanguageCode() != "" || p.GetGender() != contactsv1.Gender_GENDER_MALE {
		t.Errorf("person = %v", p)
	}
	if got, w := ContactsFromWire(nil); len(got) != 0 || w != nil {
		t.Errorf("ContactsFromWire(nil) = %v, %v", got, w)
	}
}
