package grpcserver

import (
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/access"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
)

// The server gives the statuses below before or after the service sees a
// call; their reasons (MALFORMED_REQUEST, REQUEST_TOO_LARGE, UNKNOWN_METHOD,
// SERVER_SHUTTING_DOWN) are declared in proto/contacts/v1/errors.proto with
// every other reason, in the domain errmap.Domain.

// refusal builds, with errmap.Status, a status with one ErrorInfo that
// carries errmap's six metadata keys (source "facade"; nothing of the
// upstream is known) and extra, given as key, value pairs.
func refusal(code codes.Code, reason contactsv1.ErrorReason, msg string, extra ...string) *status.Status {
	md := errmap.FacadeMetadata(errmap.Call{}, "")
	for i := 0; i+1 < len(extra); i += 2 {
		md[extra[i]] = extra[i+1]
	}
	return errmap.Status(code, reason, msg, md)
}

func malformedRequest() *status.Status {
	return refusal(codes.InvalidArgument, contactsv1.ErrorReason_MALFORMED_REQUEST,
		"the request message is not valid protobuf of the method's request type (or holds a string that is not UTF-8)")
}

func requestTooLarge(limit int) *status.Status {
	return refusal(codes.ResourceExhausted, contactsv1.ErrorReason_REQUEST_TOO_LARGE,
		fmt.Sprintf("the request message is larger than the server accepts (%d bytes)", limit),
		errmap.MetaMaxRequestBytes, fmt.Sprint(limit))
}

func unknownMethod() *status.Status {
	return refusal(codes.Unimplemented, contactsv1.ErrorReason_UNKNOWN_METHOD, "the server has no such service or method; `grpcurl list` shows what it serves")
}

// shuttingDown is the status of a call still running when the shutdown
// deadline passed. A write may have reached the upstream or not.
func shuttingDown(fullMethod string) *status.Status {
	if isWrite(fullMethod) {
		return refusal(codes.Unavailable, contactsv1.ErrorReason_SERVER_SHUTTING_DOWN,
			"the server shut down before the call finished: its outcome is unknown; ListContacts shows the property's contacts as they are now",
			errmap.MetaOutcome, "unknown")
	}
	return refusal(codes.Unavailable, contactsv1.ErrorReason_SERVER_SHUTTING_DOWN, "the server shut down before the call finished; retry it")
}

// isWrite reports whether a method changes upstream state: a method of
// ContactsService that its descriptor does not declare a read
// (access.IsRead). Methods of other services (health, reflection) are not.
func isWrite(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/"+contactsv1.ContactsService_ServiceDesc.ServiceName+"/") && !access.IsRead(fullMethod)
}
