package service_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/service"
)

// Example mounts the contacts service on a gRPC server of your own, next
// to another service (here grpc.health.v1), and calls both. The upstream
// here is the emulator of the Contacts API with its demo token; in
// production, the Booking.com URL and the machine account's ClientID and
// ClientSecret.
func Example() {
	ctx := context.Background()
	base, stopEmulator, err := emulator.Start(ctx, "127.0.0.1:0", emulator.New(emulator.Options{}))
	if err != nil {
		log.Fatal(err)
	}
	defer stopEmulator(ctx)
	up, err := service.NewUpstream(service.UpstreamConfig{BaseURL: base, Token: emulator.DemoStaticToken})
	if err != nil {
		log.Fatal(err)
	}
	defer up.Close()

	svc, err := service.New(service.Config{
		Upstream: up,
		Policy:   service.AllowAll(), // required: who may do what
		Audit:    service.NoAudit(),  // required: where writes are recorded
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(svc.UnaryInterceptors()...))
	svc.Register(srv)
	healthpb.RegisterHealthServer(srv, health.NewServer())

	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	defer srv.GracefulStop()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("health:", h.GetStatus())
	list, err := contactsv1.NewContactsServiceClient(conn).ListContacts(ctx,
		&contactsv1.ListContactsRequest{PropertyId: fmt.Sprint(emulator.DemoPropertyFull)})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range list.GetContacts() {
		fmt.Println(c.GetProfiles())
	}
	// Output:
	// health: SERVING
	// [PROFILE_TYPE_GENERAL PROFILE_TYPE_INVOICES]
	// [PROFILE_TYPE_RESERVATIONS PROFILE_TYPE_AVAILABILITY]
}
