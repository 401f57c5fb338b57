package client_test

import (
	"regexp"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	"github.com/contacts-facade/contacts-facade/client"
	"github.com/contacts-facade/contacts-facade/internal/access"
	"github.com/contacts-facade/contacts-facade/internal/grpcserver"
	"github.com/contacts-facade/contacts-facade/service"
)

// TestReasonsMatchServer: the client repeats the reasons of the facade's
// own refusals (it must not import the server); this keeps them equal.
func TestReasonsMatchServer(t *testing.T) {
	for _, c := range []struct{ client, server string }{
		{client.ReasonEtagMismatch, service.ReasonEtagMismatch},
		{client.ReasonRequestIDReused, service.ReasonRequestIDReused},
		{client.ReasonGeneralRequired, service.ReasonGeneralRequired},
		{client.ReasonProfileHasNoContact, service.ReasonProfileNoContact},
		{client.ReasonProfileHasSeveralContacts, service.ReasonProfileSeveral},
		{client.ReasonContactsNotWritable, service.ReasonContactsNotWritable},
		{client.ReasonWriteLockTimeout, service.ReasonWriteLockTimeout},
		{client.ReasonWriteLockLost, service.ReasonWriteLockLost},
		{client.ReasonWriteStateUnavailable, service.ReasonWriteStateDown},
		{client.MetaCurrentEtag, service.MetaCurrentEtag},
		{client.ReasonCallerNotAllowed, access.ReasonCallerNotAllowed},
		{client.ReasonCallerRateLimited, access.ReasonCallerRateLimited},
		{client.ReasonAuditUnavailable, access.ReasonAuditUnavailable},
		{client.ReasonMalformedRequest, grpcserver.ReasonMalformedRequest},
		{client.ReasonRequestTooLarge, grpcserver.ReasonRequestTooLarge},
		{client.ReasonUnknownMethod, grpcserver.ReasonUnknownMethod},
		{client.ReasonServerShuttingDown, grpcserver.ReasonServerShuttingDown},
	} {
		if c.client != c.server {
			t.Errorf("client has %q, server %q", c.client, c.server)
		}
	}
}

func TestNewRequestID(t *testing.T) {
	uuid4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		id := client.NewRequestID()
		if !uuid4.MatchString(id) || seen[id] {
			t.Fatalf("NewRequestID() = %q: not a fresh version 4 UUID", id)
		}
		seen[id] = true
	}
}

func TestEtagMismatch(t *testing.T) {
	info := func(reason string) *errdetails.ErrorInfo {
		return &errdetails.ErrorInfo{Domain: client.Domain, Reason: reason, Metadata: map[string]string{client.MetaCurrentEtag: `W/"now"`}}
	}
	cases := []struct {
		name string
		err  error
		etag string
		ok   bool
	}{
		{"mismatch", statusErr(t, codes.Aborted, info(client.ReasonEtagMismatch)), `W/"now"`, true},
		{"other ABORTED", statusErr(t, codes.Aborted, info("CONFLICT")), "", false},
		{"other code", statusErr(t, codes.FailedPrecondition, info(client.ReasonEtagMismatch)), "", false},
		{"nil", nil, "", false},
	}
	for _, tc := range cases {
		etag, ok := client.EtagMismatch(tc.err)
		if etag != tc.etag || ok != tc.ok {
			t.Errorf("%s: EtagMismatch = %q, %v; want %q, %v", tc.name, etag, ok, tc.etag, tc.ok)
		}
	}
}
