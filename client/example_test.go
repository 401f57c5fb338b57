package client_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/contacts-facade/contacts-facade/client"
	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/grpcserver"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
	"github.com/contacts-facade/contacts-facade/service"
)

func ExampleDial() {
	addr, stop := startFacade() // what `go run ./cmd/contactsd` serves, in process
	defer stop()

	c, err := client.Dial(addr, client.Insecure())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: "1000001"})
	if err != nil {
		log.Fatal(err)
	}
	for _, ct := range resp.GetContacts() {
		fmt.Println(ct.GetContactPerson().GetName(), ct.GetProfiles())
	}
	// Output:
	// Anna de Vries [PROFILE_TYPE_GENERAL PROFILE_TYPE_INVOICES]
	// Jan Jansen [PROFILE_TYPE_RESERVATIONS PROFILE_TYPE_AVAILABILITY]
}

func ExampleFieldViolations() {
	addr, stop := startFacade()
	defer stop()
	c, err := client.Dial(addr, client.Insecure())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// No phone, and an e-mail address that is not one.
	_, err = c.ReplaceContacts(ctx, &contactsv1.ReplaceContactsRequest{
		PropertyId: "1000001",
		Contacts: []*contactsv1.Contact{{
			Profiles:      []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_GENERAL},
			ContactPerson: &contactsv1.ContactPerson{Name: "Eva Bakker", LanguageCode: "nl"},
			Email:         "not-an-email",
		}},
	})
	if status.Code(err) == codes.InvalidArgument {
		fmt.Println("reason:", client.ErrorInfo(err).GetReason(), "OTA code:", client.OTACode(err))
		for _, v := range client.FieldViolations(err) {
			fmt.Printf("fix %s (%s)\n", v.GetField(), v.GetReason())
		}
	}
	// Output:
	// reason: REQUIRED_FIELD_MISSING OTA code: 321
	// fix contacts[0].phones (REQUIRED_FIELD_MISSING)
	// fix contacts[0].email (INVALID_VALUE)
}

func ExampleOTACode() {
	addr, stop := startFacade()
	defer stop()
	c, err := client.Dial(addr, client.Insecure())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = c.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: "9999999"})
	info := client.ErrorInfo(err)
	fmt.Println(status.Code(err), info.GetReason(), "OTA", client.OTACode(err))
	fmt.Println("quote to Booking.com support:", info.GetMetadata()[client.MetaRequestID] != "")
	// Output:
	// NotFound NOT_FOUND OTA 635
	// quote to Booking.com support: true
}

// startFacade starts the whole facade in this process, as contactsd does
// with no -upstream: the emulator of the Contacts API on a loopback port,
// the REST client with the demo machine account, and the gRPC server on a
// loopback port. It returns the server's address and a func that stops
// everything.
func startFacade() (addr string, stop func()) {
	return startFacadeWith(emulator.Options{})
}

// startFacadeWith is startFacade over an emulator with opts, e.g. extra
// properties for a bulk operation.
func startFacadeWith(opts emulator.Options) (addr string, stop func()) {
	ctx := context.Background()
	base, stopEmu, err := emulator.Start(ctx, "127.0.0.1:0", emulator.New(opts))
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := upstreamauth.NewTokenSource(upstreamauth.TokenConfig{
		ExchangeURL:  base + "/token-based-authentication/exchange",
		ClientID:     emulator.DemoClientID,
		ClientSecret: emulator.DemoClientSecret,
	})
	if err != nil {
		log.Fatal(err)
	}
	up, err := upstream.New(upstream.Config{BaseURL: base, Authorizer: tokens})
	if err != nil {
		log.Fatal(err)
	}
	svc, err := service.New(service.Config{Upstream: up, Policy: service.AllowAll(), Audit: service.NoAudit()})
	if err != nil {
		log.Fatal(err)
	}
	srv := grpcserver.New(grpcserver.Config{Service: svc, ServiceInterceptors: svc.UnaryInterceptors()})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	return lis.Addr().String(), func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		if err := <-served; err != nil {
			log.Print(err)
		}
		_ = svc.Close() // the runner of bulk operations
		up.CloseIdleConnections()
		_ = tokens.Close()
		_ = stopEmu(sctx)
	}
}
