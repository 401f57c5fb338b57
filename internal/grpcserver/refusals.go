package grpcserver

import (
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
)

// Server-level reasons: the ErrorInfo.reason of statuses that the gRPC
// server gives before or after the service sees a call, in the domain
// errmap.Domain of every other reason. Like those, they are a contract
// with callers: add new ones, never rename.
const (
	// ReasonMalformedRequest: the request message is not valid protobuf
	// (or holds a string that is not UTF-8), or no message came.
	ReasonMalformedRequest = "MALFORMED_REQUEST"
	// ReasonRequestTooLarge: the request message is over the server's
	// limit (Limits.MaxRecvMsgBytes).
	ReasonRequestTooLarge = "REQUEST_TOO_LARGE"
	// ReasonUnknownMethod: the server has no such service or method.
	ReasonUnknownMethod = "UNKNOWN_METHOD"
	// ReasonServerShuttingDown: the server shut down before the call
	// finished.
	ReasonServerShuttingDown = "SERVER_SHUTTING_DOWN"
)

// Metadata keys of the server-level ErrorInfos, besides errmap's six.
const (
	// MetaMaxRequestBytes is the request size limit, in bytes.
	MetaMaxRequestBytes = "maxRequestBytes"
	// MetaOutcome is "unknown" for a write cut by the shutdown: it may or
	// may not have reached the upstream.
	MetaOutcome = "outcome"
)

// refusal builds a status with one ErrorInfo that carries errmap's six
// metadata keys (source "facade"; nothing of the upstream is known) and
// extra.
func refusal(code codes.Code, reason, msg string, extra ...string) *status.Status {
	md := map[string]string{
		errmap.MetaSource:     errmap.SourceFacade,
		errmap.MetaOTACode:    "",
		errmap.MetaOTACodes:   "",
		errmap.MetaHTTPStatus: "",
		errmap.MetaRequestID:  "",
		errmap.MetaPropertyID: "",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		md[extra[i]] = extra[i+1]
	}
	st, err := status.New(code, msg).WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: errmap.Domain, Metadata: md})
	if err != nil {
		// Only an ErrorInfo that cannot be marshalled gets here: a bug.
		return status.New(code, msg)
	}
	return st
}

func malformedRequest() *status.Status {
	return refusal(codes.InvalidArgument, ReasonMalformedRequest,
		"the request message is not valid protobuf of the method's request type (or holds a string that is not UTF-8)")
}

func requestTooLarge(limit int) *status.Status {
	return refusal(codes.ResourceExhausted, ReasonRequestTooLarge,
		fmt.Sprintf("the request message is larger than the server accepts (%d bytes)", limit),
		MetaMaxRequestBytes, fmt.Sprint(limit))
}

func unknownMethod() *status.Status {
	return refusal(codes.Unimplemented, ReasonUnknownMethod, "the server has no such service or method; `grpcurl list` shows what it serves")
}

// shuttingDown is the status of a call still running when the shutdown
// deadline passed. A write may have reached the upstream or not.
func shuttingDown(fullMethod string) *status.Status {
	if isWrite(fullMethod) {
		return refusal(codes.Unavailable, ReasonServerShuttingDown,
			"the server shut down before the call finished: its outcome is unknown; ListContacts shows the property's contacts as they are now",
			MetaOutcome, "unknown")
	}
	return refusal(codes.Unavailable, ReasonServerShuttingDown, "the server shut down before the call finished; retry it")
}

// isWrite reports whether a method changes upstream state.
func isWrite(fullMethod string) bool {
	method, ok := strings.CutPrefix(fullMethod, "/"+contactsv1.ContactsService_ServiceDesc.ServiceName+"/")
	// Every method but the Get and List ones (AIP-131/132) changes state.
	return ok && !strings.HasPrefix(method, "Get") && !strings.HasPrefix(method, "List")
}
