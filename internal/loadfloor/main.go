// Command loadfloor is the bare pass-through ("floor") that
// tools/load/run.sh measures contactsd against; it exists only for that
// script. It is a plain grpc.NewServer() serving contacts.v1.ContactsService
// whose ListContacts makes the same upstream GET as contactsd, with the same
// REST client (internal/upstream) and HTTP transport (the client's default,
// upstream.NewTransport, as contactsd's without tracing), and returns its
// answer. Nothing else: no validation, access gate, read path, error
// translation, metrics or logging; the other RPCs are Unimplemented. It
// sends the emulator's static demo token, so it talks to
// cmd/contacts-emulator only.
//
// It is a main package under internal/ so that no release builds or ships
// it (they build cmd/) and nothing imports it:
//
//	go build ./internal/loadfloor
//	loadfloor -listen 127.0.0.1:0 -upstream http://127.0.0.1:PORT
//
// Once it accepts calls it writes "serving ... listen=ADDR" to stderr. It
// runs until it is killed.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"

	"google.golang.org/grpc"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
)

type floor struct {
	contactsv1.UnimplementedContactsServiceServer
	up *upstream.Client
}

// ListContacts returns the upstream's answer as the client converts it.
func (f floor) ListContacts(ctx context.Context, req *contactsv1.ListContactsRequest) (*contactsv1.ListContactsResponse, error) {
	return f.up.List(ctx, req.GetPropertyId(), req.GetNoLanguageFallback())
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "gRPC listen address")
	base := flag.String("upstream", "", "the emulator's base URL")
	flag.Parse()
	if err := run(*listen, *base); err != nil {
		fmt.Fprintln(os.Stderr, "loadfloor:", err)
		os.Exit(1)
	}
}

func run(listen, base string) error {
	up, err := upstream.New(upstream.Config{
		BaseURL:    base,
		Authorizer: upstreamauth.NewStaticToken(emulator.DemoStaticToken),
	})
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := grpc.NewServer()
	contactsv1.RegisterContactsServiceServer(srv, floor{up: up})
	fmt.Fprintf(os.Stderr, "serving contacts.v1.ContactsService listen=%s\n", lis.Addr())
	return srv.Serve(lis)
}
