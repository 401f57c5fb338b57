package client_test

import (
	"regexp"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	"github.com/contacts-facade/contacts-facade/client"
	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
)

// TestReasonsMatchServer: the client repeats, as string constants, the
// reasons of the facade's own refusals, which the server takes from
// contactsv1.ErrorReason (proto/contacts/v1/errors.proto); this keeps them
// equal.
func TestReasonsMatchServer(t *testing.T) {
	for _, c := range []struct{ client, server string }{
		{client.ReasonEtagMismatch, contactsv1.ErrorReason_ETAG_MISMATCH.String()},
		{client.ReasonRequestIDReused, contactsv1.ErrorReason_REQUEST_ID_REUSED.String()},
		{client.ReasonGeneralRequired, contactsv1.ErrorReason_GENERAL_REQUIRED.String()},
		{client.ReasonProfileHasNoContact, contactsv1.ErrorReason_PROFILE_HAS_NO_CONTACT.String()},
		{client.ReasonProfileHasSeveralContacts, contactsv1.ErrorReason_PROFILE_HAS_SEVERAL_CONTACTS.String()},
		{client.ReasonContactsNotWritable, contactsv1.ErrorReason_CONTACTS_NOT_WRITABLE.String()},
		{client.ReasonWriteLockTimeout, contactsv1.ErrorReason_WRITE_LOCK_TIMEOUT.String()},
		{client.ReasonWriteLockLost, contactsv1.ErrorReason_WRITE_LOCK_LOST.String()},
		{client.ReasonWriteStateUnavailable, contactsv1.ErrorReason_WRITE_STATE_UNAVAILABLE.String()},
		{client.ReasonOutcomeUnknown, contactsv1.ErrorReason_OUTCOME_UNKNOWN.String()},
		{client.ReasonUpstreamRateLimited, contactsv1.ErrorReason_UPSTREAM_RATE_LIMITED.String()},
		{client.MetaCurrentEtag, errmap.MetaCurrentEtag},
		{client.ReasonCallerNotAllowed, contactsv1.ErrorReason_CALLER_NOT_ALLOWED.String()},
		{client.ReasonCallerRateLimited, contactsv1.ErrorReason_CALLER_RATE_LIMITED.String()},
		{client.ReasonAuditUnavailable, contactsv1.ErrorReason_AUDIT_UNAVAILABLE.String()},
		{client.ReasonMalformedRequest, contactsv1.ErrorReason_MALFORMED_REQUEST.String()},
		{client.ReasonRequestTooLarge, contactsv1.ErrorReason_REQUEST_TOO_LARGE.String()},
		{client.ReasonUnknownMethod, contactsv1.ErrorReason_UNKNOWN_METHOD.String()},
		{client.ReasonServerShuttingDown, contactsv1.ErrorReason_SERVER_SHUTTING_DOWN.String()},
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
