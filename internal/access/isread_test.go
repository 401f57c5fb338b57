package access

import (
	"testing"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// TestIsReadFollowsTheDescriptor: every RPC of ContactsService is stated by
// hand, read or write, and IsRead gives the same for its short and full
// names; a new RPC fails here until it is stated (and, if it only reads,
// declared NO_SIDE_EFFECTS in contacts.proto).
func TestIsReadFollowsTheDescriptor(t *testing.T) {
	want := map[string]bool{
		"ListContacts":         true,
		"GetProfileContacts":   true,
		"FindProperties":       true,
		"ReplaceContacts":      false,
		"CreateContacts":       false,
		"SetProfileContacts":   false,
		"UpdateProfileContact": false,
		"ClearProfileContacts": false,
		// They start operations that write.
		"BulkEditProfile":       false,
		"ApplyContactsTemplate": false,
		"RevertBulkEdit":        false,
	}
	methods := methods()
	if len(methods) != len(want) {
		t.Errorf("ContactsService has %d RPCs %q, %d are stated", len(methods), methods, len(want))
	}
	for _, m := range methods {
		w, ok := want[m]
		if !ok {
			t.Errorf("%s is not stated: read or write?", m)
			continue
		}
		full := "/" + contactsv1.ContactsService_ServiceDesc.ServiceName + "/" + m
		if IsRead(m) != w || IsRead(full) != w {
			t.Errorf("IsRead(%s) = %v, IsRead(%s) = %v, want %v", m, IsRead(m), full, IsRead(full), w)
		}
	}
	// By hand, with the generated method names.
	if !IsRead(contactsv1.ContactsService_ListContacts_FullMethodName) ||
		!IsRead(contactsv1.ContactsService_GetProfileContacts_FullMethodName) ||
		IsRead(contactsv1.ContactsService_ReplaceContacts_FullMethodName) ||
		IsRead("ClearProfileContacts") {
		t.Error("IsRead disagrees with contacts.proto")
	}
	// Nothing else is a read: unknown names, other services, a near miss
	// of the prefix, and the old rule's Get/List prefix alone.
	for _, m := range []string{"", "GetSomething", "ListThings", "/grpc.health.v1.Health/Check",
		"/contacts.v1.ContactsService/", "contacts.v1.ContactsService/ListContacts", "/other.v1.ContactsService/ListContacts"} {
		if IsRead(m) {
			t.Errorf("IsRead(%q) = true, want false", m)
		}
	}
}
