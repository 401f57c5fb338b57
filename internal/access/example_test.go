package access_test

import (
	"context"
	"fmt"
	"os"

	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/access"
)

// A handler of the service asks the gate first, ends the call with its
// answer, and asks about the profiles only the current state shows under
// its write lock.
func ExampleGate_Admit() {
	policy, err := access.ParsePolicy([]byte("default:\n  rpcs: [\"*\"]\n  write_profiles: [INVOICES]\n"))
	if err != nil {
		panic(err)
	}
	gate, err := access.NewGate(access.Config{Policy: access.NewHolder(policy), Audit: access.NoAudit()})
	if err != nil {
		panic(err)
	}
	replace := func(ctx context.Context, req *contactsv1.ReplaceContactsRequest) (resp *contactsv1.ReplaceContactsResponse, err error) {
		call, err := gate.Admit(ctx, contactsv1.ContactsService_ReplaceContacts_FullMethodName, req)
		if err != nil {
			return nil, err
		}
		defer func() { call.End(resp, err) }()
		// Under the write lock, after the fresh read: this Replace would
		// delete the property's GENERAL contact.
		if err := call.MayWrite(contactsv1.ProfileType_PROFILE_TYPE_GENERAL); err != nil {
			return nil, err
		}
		return &contactsv1.ReplaceContactsResponse{}, nil
	}
	_, err = replace(context.Background(), &contactsv1.ReplaceContactsRequest{PropertyId: "1000001",
		Contacts: []*contactsv1.Contact{{Profiles: []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_INVOICES}}}})
	fmt.Println(status.Code(err), status.Convert(err).Message())
	// Output: PermissionDenied caller anonymous may not change profile GENERAL
}

// Without a policy file and without a trail, say so.
func ExampleAllowAll() {
	gate, err := access.NewGate(access.Config{Policy: access.AllowAll(), Audit: access.NoAudit()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	call, err := gate.Admit(context.Background(), contactsv1.ContactsService_ListContacts_FullMethodName, &contactsv1.ListContactsRequest{PropertyId: "1"})
	fmt.Println(call.Caller().Name, err)
	call.End(nil, nil)
	// Output: anonymous <nil>
}
