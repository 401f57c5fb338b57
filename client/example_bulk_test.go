package client_test

import (
	"context"
	"fmt"
	"log"
	"strconv"
	"time"

	"github.com/contacts-facade/contacts-facade/client"
	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
)

// A bulk edit: the same reservations contact on several properties, one
// of which does not exist and one of which has contacts the edit cannot
// make valid. The operation runs on the server; WaitOperation follows it
// to its end. The failed items are in the result by their index in the
// targets, each with the status the single call would have returned; the
// others were written.
func ExampleClient_bulkEdit() {
	addr, stop := startFacadeWith(emulator.Options{ExtraProperties: 3})
	defer stop()
	c, err := client.Dial(addr, client.Insecure())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var targets []*contactsv1.BulkTarget
	for _, id := range []string{extra(0), "9999999", extra(1), "1000003", extra(2)} {
		targets = append(targets, &contactsv1.BulkTarget{PropertyId: id})
	}
	op, err := c.BulkEditProfile(ctx, &contactsv1.BulkEditProfileRequest{
		Targets: targets,
		Profile: contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS,
		Edit: &contactsv1.BulkEditProfileRequest_Set{Set: &contactsv1.BulkSetProfile{Contacts: []*contactsv1.Contact{{
			ContactPerson: &contactsv1.ContactPerson{Name: "Front Desk", LanguageCode: "en-gb"},
			Phones:        []*contactsv1.Phone{{PhoneNumber: "+31201234567", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE}},
			Email:         "bookings@example.com",
		}}}},
		RequestId: client.NewRequestID(), // a retry of this call gets the same operation
	})
	if err != nil {
		log.Fatal(err) // the request was refused whole: no operation
	}

	var seen int32 // items ended, as the progress reports go
	res, err := c.WaitOperation(ctx, op.GetName(), func(md *contactsv1.BulkEditMetadata) {
		seen = md.GetTotal() - md.GetRemaining() // e.g. a progress bar
	})
	if err != nil {
		log.Fatal(err) // the wait failed; the operation goes on
	}
	md := res.Metadata
	fmt.Printf("%d of %d items ended: %d changed, %d failed; error %v\n",
		seen, md.GetTotal(), md.GetChanged(), md.GetFailed(), res.Err())
	for i, st := range res.Failures() {
		fmt.Printf("targets[%d] %s: %s %s OTA %q\n", i, targets[i].GetPropertyId(),
			st.Code(), client.ErrorInfo(st.Err()).GetReason(), client.OTACode(st.Err()))
	}
	for _, r := range res.Results {
		if r.GetOutcome() == contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_CHANGED {
			fmt.Println(r.GetPropertyId(), "written; its etag changed:", r.GetEtagBefore() != r.GetEtagAfter())
		}
	}
	// Output:
	// 5 of 5 items ended: 3 changed, 2 failed; error <nil>
	// targets[1] 9999999: NotFound NOT_FOUND OTA "635"
	// targets[3] 1000003: FailedPrecondition CONTACTS_NOT_WRITABLE OTA ""
	// 2000001 written; its etag changed: true
	// 2000002 written; its etag changed: true
	// 2000003 written; its etag changed: true
}

// extra is the id of the i-th of the emulator's ExtraProperties.
func extra(i int) string { return strconv.Itoa(emulator.FirstExtraProperty + i) }
