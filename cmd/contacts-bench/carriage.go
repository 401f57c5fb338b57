package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// statusServer is the refusal's floor of the carriage: a gRPC unary
// handler that calls nothing and answers ReplaceContacts with an empty
// message, or, for the refused case's request, with the facade's status
// for the emulator's refusal (what errmap.Translate makes of it, as the
// facade sends it, with a ruid of its own per call as the emulator's
// answers have). Measured beside the facade, its refused/success ratio is
// what carrying and reading that status costs a gRPC call by itself.
type statusServer struct {
	contactsv1.UnimplementedContactsServiceServer
	refusal []upstream.Message // the emulator's errors for the refused case
}

// startStatusServer takes the emulator's answer to the refused case's PUT
// once, then serves the status server on a loopback port and returns a
// client of it on one shared connection.
func startStatusServer(ctx context.Context, cl *closers, rest *restClient) (contactsv1.ContactsServiceClient, error) {
	body, err := restBody(invalidContacts())
	if err != nil {
		return nil, err
	}
	env, err := rest.call(ctx, http.MethodPut, rest.contactsURL(property), body, http.StatusBadRequest)
	if err != nil {
		return nil, fmt.Errorf("the refusal to carry: %w", err)
	}
	gs := grpc.NewServer()
	contactsv1.RegisterContactsServiceServer(gs, &statusServer{refusal: env.Errors})
	conn, err := serve(ctx, cl, gs.Serve, func(context.Context) { gs.Stop() })
	if err != nil {
		return nil, err
	}
	return contactsv1.NewContactsServiceClient(conn), nil
}

func (s *statusServer) ReplaceContacts(_ context.Context, req *contactsv1.ReplaceContactsRequest) (*contactsv1.ReplaceContactsResponse, error) {
	if cs := req.GetContacts(); len(cs) == 0 || cs[0].GetAddress().GetCountryCode() != invalidCountry {
		return &contactsv1.ReplaceContactsResponse{}, nil
	}
	var ruid [16]byte
	for i := range ruid {
		ruid[i] = byte(rand.Uint32())
	}
	refusal := &upstream.APIError{Method: upstream.MethodPut, HTTPStatus: http.StatusBadRequest,
		Errors: s.refusal, Warnings: []upstream.Message{}, RequestID: hex.EncodeToString(ruid[:])}
	st := errmap.Translate(refusal, errmap.Call{Method: upstream.MethodPut, PropertyID: property})
	if st.Code() != codes.InvalidArgument {
		return nil, status.Error(codes.Internal, "the refusal did not translate to INVALID_ARGUMENT")
	}
	return nil, st.Err()
}
