package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"time"

	"google.golang.org/grpc/status"

	"github.com/contacts-facade/contacts-facade/client"
	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// An audit: which of these properties have no RESERVATIONS contact?
// FindProperties streams only the properties that match, in the order
// given, and each property that could not be read with its own error:
// the stream goes on.
func ExampleClient_findProperties() {
	addr, stop := startFacade()
	defer stop()
	c, err := client.Dial(addr, client.Insecure())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	// A stream has no default deadline: bound the whole audit.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stream, err := c.FindProperties(ctx, &contactsv1.FindPropertiesRequest{
		PropertyIds: []string{"1000001", "1000002", "1000003", "9999999"},
		Filter: &contactsv1.FindPropertiesRequest_MissingProfile{
			MissingProfile: contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS},
	})
	if err != nil {
		log.Fatal(err)
	}
	for {
		p, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			log.Fatal(err) // the request or the call failed: nothing more comes
		}
		if p.GetError() != nil {
			perr := status.FromProto(p.GetError()).Err()
			fmt.Println(p.GetPropertyId(), "not read:", status.Code(perr), "OTA", client.OTACode(perr))
			continue
		}
		fmt.Println(p.GetPropertyId(), "has no reservations contact;", len(p.GetContacts()), "contacts")
	}
	// Output:
	// 1000002 has no reservations contact; 2 contacts
	// 1000003 has no reservations contact; 0 contacts
	// 9999999 not read: NotFound OTA 635
}
