package upstream_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// One client per upstream, shared by every call; errors are told apart by
// type.
func Example() {
	c, err := upstream.New(upstream.Config{
		BaseURL: "https://supply-xml.booking.com/contacts-api",
		// Authorizer: the token cache, which exchanges client credentials
		// for a JWT and renews it before it expires.
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseIdleConnections()

	res, err := c.List(context.Background(), "1000001", false)
	if row, ok := upstream.Meaning(err); ok {
		fmt.Println("what it means:", row.Code, row.Reason, "retried on GET:", row.RetryGet)
	}
	var apiErr *upstream.APIError
	var decodeErr *upstream.DecodeError
	var transportErr *upstream.TransportError
	switch {
	case errors.As(err, &apiErr):
		fmt.Println("upstream refused:", apiErr.HTTPStatus, apiErr.RequestID)
	case errors.As(err, &decodeErr):
		fmt.Println("unreadable answer, status", decodeErr.HTTPStatus, decodeErr.Problem())
	case errors.As(err, &transportErr):
		fmt.Println("no answer; request never sent:", transportErr.NotSent)
	case err == nil:
		fmt.Println(len(res.GetContacts()), "contacts, ruid", res.GetRequestId())
	}
}
