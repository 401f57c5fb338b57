package errmap

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/contacts-facade/contacts-facade/service/upstream"
)

// Metadata keys of ErrorInfo. Once a key has appeared for a reason it keeps
// appearing: callers may rely on it.
const (
	MetaOTACode    = "otaCode"    // the OTA code of the first upstream error, e.g. "320"
	MetaOTACodes   = "otaCodes"   // every distinct OTA code, in order, comma-separated
	MetaHTTPStatus = "httpStatus" // the upstream HTTP status, e.g. "400"
	MetaRequestID  = "requestId"  // the upstream meta.ruid (or the token exchange's ruid)
	MetaPropertyID = "propertyId" // the property of the call
	MetaSource     = "source"     // "upstream": the REST API said so; "facade": the facade found it
)

// Values of MetaSource.
const (
	SourceUpstream = "upstream"
	SourceFacade   = "facade"
)

// Call describes the gRPC call an error belongs to.
type Call struct {
	// Method is the REST method the call maps to; OTA 150 depends on it.
	Method upstream.Method
	// PropertyID is the property of the request, as the caller sent it.
	PropertyID string
}

// Violation is one bad field of a request found by the facade itself.
type Violation struct {
	// Field is the path in the request message, e.g. "contacts[0].email".
	Field string
	// OTACode is the code the upstream would answer: "321" missing,
	// "320" invalid, "450" a CONTRACT profile.
	OTACode string
	// Description says what is wrong, in English, with the allowed values
	// when there is a fixed list.
	Description string
}

// Invalid builds the INVALID_ARGUMENT status of a request that the facade
// refuses before calling the upstream. It has the same shape as a
// translated upstream 320/321: ErrorInfo, BadRequest, Help.
func Invalid(vs []Violation, call Call) *status.Status {
	if len(vs) == 0 {
		return Internal(call)
	}
	row, ok := localRows[vs[0].OTACode]
	if !ok {
		row = localRows["320"]
	}
	br := &errdetails.BadRequest{FieldViolations: make([]*errdetails.BadRequest_FieldViolation, 0, len(vs))}
	codesSeen := make([]string, 0, 2)
	for _, v := range vs {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field:       v.Field,
			Reason:      localReason(v.OTACode),
			Description: v.Description,
		})
		codesSeen = appendDistinct(codesSeen, v.OTACode)
	}
	md := map[string]string{
		MetaOTACode:  vs[0].OTACode,
		MetaOTACodes: strings.Join(codesSeen, ","),
		MetaSource:   SourceFacade,
	}
	if call.PropertyID != "" {
		md[MetaPropertyID] = call.PropertyID
	}
	return build(codes.InvalidArgument, withFirstViolation(row.Message, br), row, md, br)
}

// Translate turns an error of the upstream client (or of its Authorizer)
// into a gRPC status. It never returns codes.Unknown or codes.OK; a nil
// error gives nil.
func Translate(err error, call Call) *status.Status {
	if err == nil {
		return nil
	}
	if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown {
		// Already a status (e.g. from Invalid): pass it through.
		return s
	}
	var (
		apiErr *upstream.APIError
		decErr *upstream.DecodeError
		trErr  *upstream.TransportError
	)
	switch {
	case errors.As(err, &apiErr):
		return fromAPIError(apiErr, call)
	case errors.As(err, &decErr):
		return fromDecodeError(decErr, call)
	}
	if s, ok := fromAuthError(err, call); ok {
		return s
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fromRow(rowTimeout, call, nil, 0)
	case errors.Is(err, context.Canceled):
		return fromRow(rowCancelled, call, nil, 0)
	case errors.As(err, &trErr):
		return fromRow(rowUnreachable, call, nil, 0)
	}
	return Internal(call)
}

func fromAPIError(e *upstream.APIError, call Call) *status.Status {
	primary := ""
	if len(e.Errors) > 0 {
		primary = string(e.Errors[0].Code)
	}
	row := rowFor(e.HTTPStatus, primary)
	code := row.Code
	if call.Method == upstream.MethodPost && row.CodeOnCreate != codes.OK {
		code = row.CodeOnCreate
	}

	var br *errdetails.BadRequest
	codesSeen := make([]string, 0, 2)
	primaryHasFields := false
	for i, m := range e.Errors {
		codesSeen = appendDistinct(codesSeen, string(m.Code))
		if m.Details == nil || len(m.Details.Fields) == 0 || e.HTTPStatus >= 500 {
			continue
		}
		if m.Code == e.Errors[0].Code {
			primaryHasFields = true
		}
		if br == nil {
			br = &errdetails.BadRequest{FieldViolations: make([]*errdetails.BadRequest_FieldViolation, 0, len(e.Errors)-i)}
		}
		desc := describe(m)
		reason := rowFor(e.HTTPStatus, string(m.Code)).Reason
		for _, f := range m.Details.Fields {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field:       ProtoFieldPath(f),
				Reason:      reason,
				Description: desc,
			})
		}
	}
	if primaryHasFields && row.CodeWithFields != codes.OK {
		code = row.CodeWithFields
	}

	md := map[string]string{
		MetaHTTPStatus: strconv.Itoa(e.HTTPStatus),
		MetaSource:     SourceUpstream,
		MetaRequestID:  e.RequestID,
	}
	if primary != "" {
		md[MetaOTACode] = primary
		md[MetaOTACodes] = strings.Join(codesSeen, ",")
	}
	if call.PropertyID != "" {
		md[MetaPropertyID] = call.PropertyID
	}
	msg := row.Message
	if br != nil {
		msg = withFirstViolation(msg, br)
	}
	details := make([]protoadapt.MessageV1, 0, 5)
	if br != nil {
		details = append(details, br)
	}
	details = appendCommon(details, code, call, e.RequestID, e.RetryAfter)
	return build(code, msg, row, md, details...)
}

func fromDecodeError(e *upstream.DecodeError, call Call) *status.Status {
	row := rowBadBody4xx
	switch {
	case e.TooLarge:
		row = rowTooLarge
	case e.HTTPStatus >= 500:
		row = rowBadBody5xx
	}
	md := map[string]string{MetaSource: SourceUpstream}
	if e.HTTPStatus != 0 {
		md[MetaHTTPStatus] = strconv.Itoa(e.HTTPStatus)
	}
	if call.PropertyID != "" {
		md[MetaPropertyID] = call.PropertyID
	}
	details := appendCommon(make([]protoadapt.MessageV1, 0, 3), row.Code, call, "", e.RetryAfter)
	return build(row.Code, row.Message, row, md, details...)
}

// fromRow builds the status of a row that has no upstream answer behind it.
func fromRow(row Row, call Call, md map[string]string, retryAfter time.Duration) *status.Status {
	if md == nil {
		md = make(map[string]string, 2)
	}
	md[MetaSource] = SourceFacade
	if call.PropertyID != "" {
		md[MetaPropertyID] = call.PropertyID
	}
	details := appendCommon(make([]protoadapt.MessageV1, 0, 3), row.Code, call, md[MetaRequestID], retryAfter)
	return build(row.Code, row.Message, row, md, details...)
}

// Internal is the status of a bug of the facade (a panic, an error no row
// knows). Its message says nothing of the cause: that goes to the logs.
func Internal(call Call) *status.Status {
	return fromRow(rowInternal, call, nil, 0)
}

// appendCommon adds the details that depend on the code and the call:
// ResourceInfo, RetryInfo and RequestInfo.
func appendCommon(details []protoadapt.MessageV1, code codes.Code, call Call, requestID string, retryAfter time.Duration) []protoadapt.MessageV1 {
	switch code {
	case codes.NotFound, codes.PermissionDenied:
		if call.PropertyID != "" {
			details = append(details, &errdetails.ResourceInfo{
				ResourceType: "booking.com/Property",
				ResourceName: "properties/" + call.PropertyID,
				Description:  "the Booking.com property of the request",
			})
		}
	case codes.AlreadyExists:
		if call.PropertyID != "" {
			details = append(details, &errdetails.ResourceInfo{
				ResourceType: "booking.com/PropertyContacts",
				ResourceName: "properties/" + call.PropertyID + "/contacts",
				Description:  "the property has contacts already; use ReplaceContacts",
			})
		}
	}
	if retryAfter > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfter)})
	}
	if requestID != "" {
		details = append(details, &errdetails.RequestInfo{RequestId: requestID})
	}
	return details
}

// build assembles the status once, ErrorInfo first and Help last, so that
// every status has exactly one of each detail type.
func build(code codes.Code, msg string, row Row, md map[string]string, details ...protoadapt.MessageV1) *status.Status {
	all := make([]protoadapt.MessageV1, 0, len(details)+2)
	all = append(all, &errdetails.ErrorInfo{Reason: row.Reason, Domain: Domain, Metadata: md})
	all = append(all, details...)
	if row.Help != "" {
		all = append(all, &errdetails.Help{Links: []*errdetails.Help_Link{{Description: "What " + row.Reason + " means and how to fix it", Url: row.Help}}})
	}
	s, err := status.New(code, msg).WithDetails(all...)
	if err != nil {
		// Only a detail that cannot be marshalled gets here: a bug.
		return status.New(codes.Internal, "internal error of the facade: "+err.Error())
	}
	return s
}

// describe renders one upstream error entry for a FieldViolation.
func describe(m upstream.Message) string {
	text := m.Text()
	if text == "" {
		text = "OTA error " + string(m.Code)
	}
	if m.Details != nil && len(m.Details.AllowedValues) > 0 {
		text += " Allowed values: " + strings.Join(m.Details.AllowedValues, ", ") + "."
	}
	return text
}

// withFirstViolation makes the message say which field is wrong, for humans
// reading grpcurl output; programs read the BadRequest detail instead.
func withFirstViolation(msg string, br *errdetails.BadRequest) string {
	if br == nil || len(br.FieldViolations) == 0 {
		return msg
	}
	v := br.FieldViolations[0]
	msg += ": " + v.Field
	if v.Description != "" {
		msg += ": " + v.Description
	}
	if n := len(br.FieldViolations) - 1; n > 0 {
		msg += " (and " + strconv.Itoa(n) + " more)"
	}
	return msg
}

func localReason(ota string) string {
	if r, ok := localRows[ota]; ok {
		return r.Reason
	}
	return ReasonInvalidValue
}

func appendDistinct(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
