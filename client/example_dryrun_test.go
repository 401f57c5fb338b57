package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/contacts-facade/contacts-facade/client"
	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// Example_dryRun shows what a ReplaceContacts would write and delete
// before making it (validate_only, AIP-163), then makes it with the etag
// the dry run was computed against, so that it writes exactly what the
// dry run showed or fails with ABORTED ETAG_MISMATCH.
func Example_dryRun() {
	addr, stop := startFacade()
	defer stop()
	c, err := client.Dial(addr, client.Insecure())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	req := &contactsv1.ReplaceContactsRequest{
		PropertyId: "1000001",
		Contacts: []*contactsv1.Contact{{
			Profiles:      []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_GENERAL},
			ContactPerson: &contactsv1.ContactPerson{Name: "Eva Bakker", LanguageCode: "nl", JobTitle: contactsv1.JobTitle_JOB_TITLE_GENERAL_MANAGER},
			Phones:        []*contactsv1.Phone{{PhoneNumber: "+31201234567", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE}},
			Email:         "eva@example.com",
		}},
		ValidateOnly: true,
	}
	dry, err := c.ReplaceContacts(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	for _, ct := range dry.GetDeletedContacts() {
		fmt.Println("would delete:", ct.GetContactPerson().GetName())
	}

	req.ValidateOnly, req.Etag, req.RequestId = false, dry.GetEtag(), client.NewRequestID()
	done, err := c.ReplaceContacts(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("deleted:", len(done.GetDeletedContacts()), "written:", len(done.GetContacts()))
	// Output:
	// would delete: Anna de Vries
	// would delete: Jan Jansen
	// deleted: 2 written: 1
}
