package service

import (
	"log/slog"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/safeedit"
)

// changedProfilesByEtag is changedProfiles by its definition: a profile
// changed when its serving contacts, each with that profile as its only
// one, have another etag.
func changedProfilesByEtag(before, after []*contactsv1.Contact) []contactsv1.ProfileType {
	only := func(cs []*contactsv1.Contact, p contactsv1.ProfileType) []*contactsv1.Contact {
		out := make([]*contactsv1.Contact, len(cs))
		for i, c := range cs {
			cp := proto.CloneOf(c)
			cp.Profiles = []contactsv1.ProfileType{p}
			out[i] = cp
		}
		return out
	}
	var out []contactsv1.ProfileType
	for v := range contactsv1.ProfileType_name {
		p := contactsv1.ProfileType(v)
		if p != contactsv1.ProfileType_PROFILE_TYPE_UNSPECIFIED &&
			!safeedit.SameState(only(safeedit.Serving(before, p), p), only(safeedit.Serving(after, p), p)) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func TestChangedProfilesIsTheEtagDefinition(t *testing.T) {
	const (
		general  = contactsv1.ProfileType_PROFILE_TYPE_GENERAL
		res      = contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS
		invoices = contactsv1.ProfileType_PROFILE_TYPE_INVOICES
	)
	c := func(name, lang string, ps ...contactsv1.ProfileType) *contactsv1.Contact {
		return &contactsv1.Contact{Profiles: ps, Email: name + "@example.com",
			ContactPerson: &contactsv1.ContactPerson{Name: name, LanguageCode: lang}}
	}
	anna, jan := c("anna", "nl", general, invoices), c("jan", "", res)
	cases := map[string][2][]*contactsv1.Contact{
		"same":                       {{anna, jan}, {jan, anna}},
		"a profile moved":            {{anna, jan}, {c("anna", "nl", general), c("jan", "", res, invoices)}},
		"language fallback is equal": {{jan}, {c("jan", "en-gb", res)}},
		"content changed":            {{anna, jan}, {anna, c("jan", "de", res)}},
		"contact deleted":            {{anna, jan}, {anna}},
		"duplicate added":            {{anna}, {anna, c("anna", "nl", invoices)}},
		"from nothing":               {nil, {anna, jan}},
		"to nothing":                 {{anna, jan}, nil},
		"unspecified profile only":   {{c("x", "nl")}, {c("y", "nl")}},
	}
	for name, tc := range cases {
		got, want := changedProfiles(tc[0], tc[1]), changedProfilesByEtag(tc[0], tc[1])
		if !slices.Equal(got, want) {
			t.Errorf("%s: changed %v, by the etags %v", name, got, want)
		}
	}
}

// newForTest is New over up, logging to log (nil discards), allowing every
// caller and keeping no audit trail.
func newForTest(t testing.TB, up Upstream, log *slog.Logger) *Service {
	t.Helper()
	s, err := New(Config{Upstream: up, Policy: AllowAll(), Audit: NoAudit(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
