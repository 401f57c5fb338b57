package grpcserver

import (
	"testing"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// TestIsWrite: every ContactsService method but Get and List ones is a
// write, so that a shutdown tells its caller the outcome is unknown.
func TestIsWrite(t *testing.T) {
	for m, want := range map[string]bool{
		contactsv1.ContactsService_ListContacts_FullMethodName:         false,
		contactsv1.ContactsService_GetProfileContacts_FullMethodName:   false,
		contactsv1.ContactsService_FindProperties_FullMethodName:       false,
		contactsv1.ContactsService_ReplaceContacts_FullMethodName:      true,
		contactsv1.ContactsService_CreateContacts_FullMethodName:       true,
		contactsv1.ContactsService_SetProfileContacts_FullMethodName:   true,
		contactsv1.ContactsService_UpdateProfileContact_FullMethodName: true,
		contactsv1.ContactsService_ClearProfileContacts_FullMethodName: true,
		"/grpc.health.v1.Health/Check":                                 false,
	} {
		if got := isWrite(m); got != want {
			t.Errorf("isWrite(%s) = %v, want %v", m, got, want)
		}
	}
}
