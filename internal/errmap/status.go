package errmap

import (
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// Status builds a status of the facade: code and message, an ErrorInfo (reason, Domain, md) first, then details.
// If a detail cannot be attached it still returns a refusal: same code and message, without details. Never OK.
//
// It is the one builder of every status the facade sends, so that each
// carries exactly one ErrorInfo, first, in Domain (AIP-193), built once with
// grpc-go's status.New(code, msg).WithDetails. A detail cannot be attached
// when it does not marshal, e.g. a string that is not UTF-8 (a caller name
// taken from a certificate): the call is then refused all the same, never
// let through nor turned into another code. codes.OK, which cannot carry
// details and is no refusal, becomes codes.Internal.
func Status(code codes.Code, reason contactsv1.ErrorReason, msg string, md map[string]string, details ...protoadapt.MessageV1) *status.Status {
	if code == codes.OK {
		code = codes.Internal
	}
	st := status.New(code, msg)
	all := make([]protoadapt.MessageV1, 0, len(details)+1)
	all = append(all, &errdetails.ErrorInfo{Reason: reason.String(), Domain: Domain, Metadata: md})
	all = append(all, details...)
	withDetails, err := st.WithDetails(all...)
	if err != nil {
		return st
	}
	return withDetails
}

// Help is the Help detail of a reason: one link to what it means and how
// to fix it.
func Help(reason contactsv1.ErrorReason, url string) *errdetails.Help {
	return &errdetails.Help{Links: []*errdetails.Help_Link{{Description: "What " + reason.String() + " means and how to fix it", Url: url}}}
}
