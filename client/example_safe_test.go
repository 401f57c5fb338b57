package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/contacts-facade/contacts-facade/client"
	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// editProfile is a safe read-modify-write of the contacts of one profile
// (AIP-154): read them with their etag, let edit compute the new list
// from what was read, and write it only if nobody wrote in between. When
// somebody did (ABORTED, ETAG_MISMATCH) it reads again and redoes the
// edit on the new contacts, never resending the old list, which would
// undo the other write. Each attempt is a new request with a new
// request_id (AIP-155); only the very same request is resent with its
// request_id, while the server cannot be reached, so it is written at
// most once.
func editProfile(ctx context.Context, c *client.Client, propertyID string, profile contactsv1.ProfileType,
	edit func(current []*contactsv1.Contact) []*contactsv1.Contact,
) (*contactsv1.SetProfileContactsResponse, error) {
	const attempts = 5
	for attempt := 1; ; attempt++ {
		got, err := c.GetProfileContacts(ctx, &contactsv1.GetProfileContactsRequest{PropertyId: propertyID, Profile: profile})
		if err != nil {
			return nil, err
		}
		req := &contactsv1.SetProfileContactsRequest{
			PropertyId: propertyID,
			Profile:    profile,
			Contacts:   edit(got.GetContacts()),
			Etag:       got.GetEtag(),
			RequestId:  client.NewRequestID(),
		}
		resp, err := sendOnce(ctx, func() (*contactsv1.SetProfileContactsResponse, error) {
			return c.SetProfileContacts(ctx, req)
		})
		if _, stale := client.EtagMismatch(err); stale && attempt < attempts {
			fmt.Printf("attempt %d: %s %s: somebody wrote since our read; reading again\n",
				attempt, status.Code(err), client.ErrorInfo(err).GetReason())
			continue
		}
		return resp, err
	}
}

// sendOnce sends one write, and sends it again, unchanged (same
// request_id), while the answer is UNAVAILABLE: the first try may have
// been written or not, and the facade answers a resent request_id with
// the first outcome instead of writing twice.
func sendOnce[T any](ctx context.Context, send func() (T, error)) (T, error) {
	resp, err := send()
	for backoff := 200 * time.Millisecond; status.Code(err) == codes.Unavailable && backoff <= time.Second; backoff *= 2 {
		if d, ok := client.RetryDelay(err); ok {
			backoff = max(backoff, d)
		}
		select {
		case <-ctx.Done():
			return resp, errors.Join(err, ctx.Err())
		case <-time.After(backoff):
		}
		resp, err = send()
	}
	return resp, err
}

// Add a second invoices contact, keeping whoever serves invoices now,
// while a colleague changes that contact's e-mail address between our
// read and our write. The first write is refused, nothing is lost: the
// second attempt starts from the colleague's change.
func ExampleEtagMismatch() {
	addr, stop := startFacade()
	defer stop()
	c, err := client.Dial(addr, client.Insecure())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	piet := &contactsv1.Contact{
		ContactPerson: &contactsv1.ContactPerson{Name: "Piet de Boer", LanguageCode: "nl"},
		Phones:        []*contactsv1.Phone{{PhoneNumber: "+31209876543", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE}},
		Email:         "piet.deboer@example.com",
	}
	reads := 0
	resp, err := editProfile(ctx, c, "1000001", contactsv1.ProfileType_PROFILE_TYPE_INVOICES,
		func(current []*contactsv1.Contact) []*contactsv1.Contact {
			if reads++; reads == 1 {
				colleagueChangesInvoicesEmail(ctx, c)
			}
			next := make([]*contactsv1.Contact, 0, len(current)+1)
			for _, ct := range current {
				// A read contact comes with all its profiles; what is sent
				// serves just this one (its other profiles stay as they are).
				ct = proto.CloneOf(ct)
				ct.Profiles = nil
				next = append(next, ct)
			}
			return append(next, piet)
		})
	if err != nil {
		log.Fatal(err)
	}
	for _, ct := range resp.GetContacts() {
		fmt.Println(ct.GetContactPerson().GetName(), ct.GetEmail(), ct.GetProfiles())
	}
	// Output:
	// attempt 1: Aborted ETAG_MISMATCH: somebody wrote since our read; reading again
	// Anna de Vries anna.devries@example.com [PROFILE_TYPE_GENERAL]
	// Jan Jansen reservations@example.com [PROFILE_TYPE_RESERVATIONS PROFILE_TYPE_AVAILABILITY]
	// Anna de Vries invoices@example.com [PROFILE_TYPE_INVOICES]
	// Piet de Boer piet.deboer@example.com [PROFILE_TYPE_INVOICES]
}

// colleagueChangesInvoicesEmail is another caller's write, made between
// the example's read and its write.
func colleagueChangesInvoicesEmail(ctx context.Context, c *client.Client) {
	_, err := c.UpdateProfileContact(ctx, &contactsv1.UpdateProfileContactRequest{
		PropertyId: "1000001",
		Profile:    contactsv1.ProfileType_PROFILE_TYPE_INVOICES,
		Contact:    &contactsv1.Contact{Email: "invoices@example.com"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"email"}},
		RequestId:  client.NewRequestID(),
	})
	if err != nil {
		log.Fatal(err)
	}
}
