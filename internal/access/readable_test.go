package access

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// TestReadableTrimsForWriteOnlyGrants: a caller that may clear INVOICES
// but read nothing sees, of a write's contacts, only those serving
// INVOICES, trimmed to INVOICES; a caller that may read sees them all.
func TestReadableTrimsForWriteOnlyGrants(t *testing.T) {
	inv, gen, res := contactsv1.ProfileType_PROFILE_TYPE_INVOICES, contactsv1.ProfileType_PROFILE_TYPE_GENERAL, contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS
	contacts := func() []*contactsv1.Contact {
		return []*contactsv1.Contact{
			{Profiles: []contactsv1.ProfileType{gen}, Email: "general@example.com"},
			{Profiles: []contactsv1.ProfileType{gen, inv}, Email: "both@example.com"},
			{Profiles: []contactsv1.ProfileType{res}, Email: "res@example.com"},
		}
	}
	tests := []struct {
		name   string
		policy string
		want   []string // e-mail: profiles
	}{
		{"write-only", "default:\n  rpcs: [ClearProfileContacts]\n  write_profiles: [INVOICES]\n", []string{"both@example.com:INVOICES"}},
		{"write-only, two profiles", "default:\n  rpcs: [write]\n  write_profiles: [INVOICES, RESERVATIONS]\n",
			[]string{"both@example.com:INVOICES", "res@example.com:RESERVATIONS"}},
		{"write-only, nothing served", "default:\n  rpcs: [write]\n  write_profiles: [CENTRAL_RESERVATIONS]\n", nil},
		{"reads too", "default:\n  rpcs: [ListContacts, ClearProfileContacts]\n  write_profiles: [INVOICES]\n",
			[]string{"general@example.com:GENERAL", "both@example.com:GENERAL,INVOICES", "res@example.com:RESERVATIONS"}},
		{"everything", "default:\n  rpcs: [\"*\"]\n",
			[]string{"general@example.com:GENERAL", "both@example.com:GENERAL,INVOICES", "res@example.com:RESERVATIONS"}},
	}
	for _, tt := range tests {
		g, _ := refusalGate(t, "version: 1\n"+tt.policy, &syncedBuffer{}, &clock{t: time.Unix(1e9, 0)})
		c, err := g.Admit(context.Background(), contactsv1.ContactsService_ClearProfileContacts_FullMethodName,
			&contactsv1.ClearProfileContactsRequest{PropertyId: "1", Profile: contactsv1.ProfileType_PROFILE_TYPE_UNSPECIFIED})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		in := contacts()
		orig := contacts()
		var got []string
		for _, ct := range c.Readable(in) {
			s := ct.GetEmail() + ":"
			for i, p := range ct.GetProfiles() {
				if i > 0 {
					s += ","
				}
				s += profileName(p)
			}
			got = append(got, s)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: Readable = %v, want %v", tt.name, got, tt.want)
		}
		for i := range in { // the caller's contacts are copied, not changed
			if !proto.Equal(in[i], orig[i]) {
				t.Errorf("%s: contact %d changed in place", tt.name, i)
			}
		}
	}
	// Pinned by hand: a write-only caller does not see the GENERAL e-mail.
	g, _ := refusalGate(t, "version: 1\ndefault:\n  rpcs: [ClearProfileContacts]\n  write_profiles: [INVOICES]\n", &syncedBuffer{}, &clock{t: time.Unix(1e9, 0)})
	c, err := g.Admit(context.Background(), contactsv1.ContactsService_ClearProfileContacts_FullMethodName,
		&contactsv1.ClearProfileContactsRequest{PropertyId: "1", Profile: inv})
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range c.Readable(contacts()) {
		if ct.GetEmail() == "general@example.com" || slices.Contains(ct.GetProfiles(), gen) {
			t.Errorf("write-only caller sees %v", ct)
		}
	}
}
