package observability

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/service"
)

// serveFacade serves the service over up on a bufconn gRPC server made
// with opts, and returns a client of it and the server (to initialise
// metrics on).
func serveFacade(tb testing.TB, up *upstream.Client, opts ...grpc.ServerOption) (contactsv1.ContactsServiceClient, *grpc.Server) {
	tb.Helper()
	g := grpc.NewServer(opts...)
	svc, err := service.New(service.Config{Upstream: up, Policy: service.AllowAll(), Audit: service.NoAudit()})
	if err != nil {
		tb.Fatal(err)
	}
	svc.Register(g)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = g.Serve(lis) }()
	tb.Cleanup(g.Stop)
	cc, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cc.Close() })
	return contactsv1.NewContactsServiceClient(cc), g
}
