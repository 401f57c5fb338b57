package errmap

import (
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
)

// Status is the status of a refusal: code and msg, with an ErrorInfo
// (reason, Domain, md) first and then details. It fails closed: when the
// details cannot be attached (a metadata value or a detail that is not
// valid UTF-8 does not marshal), it is the bare status.New(code, msg), a
// refusal without details, never a nil status whose Err is nil. code must
// not be OK.
func Status(code codes.Code, reason string, msg string, md map[string]string, details ...protoadapt.MessageV1) *status.Status {
	st := status.New(code, msg)
	all := make([]protoadapt.MessageV1, 0, 1+len(details))
	all = append(all, &errdetails.ErrorInfo{Reason: reason, Domain: Domain, Metadata: md})
	all = append(all, details...)
	if withDetails, err := st.WithDetails(all...); err == nil {
		return withDetails
	}
	return st
}
