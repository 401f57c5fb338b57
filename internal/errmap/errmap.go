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
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/answers"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
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
	row := answers.Local(vs[0].OTACode)
	br := &errdetails.BadRequest{FieldViolations: make([]*errdetails.BadRequest_FieldViolation, 0, min(len(vs), maxViolations))}
	codesSeen := make([]string, 0, 2)
	for _, v := range vs {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field:       bound(v.Field, maxField),
			Reason:      answers.Local(v.OTACode).Reason.String(),
			Description: bound(v.Description, maxDescription),
		})
		codesSeen = appendDistinct(codesSeen, v.OTACode)
	}
	md := metadata(call, SourceFacade, 0, "", codesSeen)
	return build(codes.InvalidArgument, withFirstViolation(row.Message, br), row, md, br).Status
}

// grpcStatusError is an error that carries a gRPC status, as
// status.FromError recognises it.
type grpcStatusError interface {
	error
	GRPCStatus() *status.Status
}

// Translate turns an error of the upstream client (or of its Authorizer)
// into a gRPC status. It never returns codes.Unknown or codes.OK; a nil
// error gives nil.
func Translate(err error, call Call) *status.Status {
	return translate(err, call).Status
}

// Translated is an error translated into a status, with the reason and
// metadata of the status's ErrorInfo, for logging: reading them back from
// the status would decode every detail again.
type Translated struct {
	Status *status.Status
	// Reason is the ErrorInfo reason.
	Reason string
	// Metadata is the ErrorInfo metadata; it must not be changed.
	Metadata map[string]string
}

// TranslateWithInfo is Translate, with the ErrorInfo's reason and metadata
// alongside the status. A nil error gives the zero Translated.
func TranslateWithInfo(err error, call Call) Translated {
	t := translate(err, call)
	if t.Status != nil && t.Reason == "" {
		// A status passed through unchanged: decode its ErrorInfo.
		for _, d := range t.Status.Details() {
			if ei, ok := d.(*errdetails.ErrorInfo); ok {
				t.Reason, t.Metadata = ei.GetReason(), ei.GetMetadata()
				break
			}
		}
	}
	return t
}

func translate(err error, call Call) Translated {
	if err == nil {
		return Translated{}
	}
	// Only an error that carries a status is handed to status.FromError:
	// for any other error FromError formats err.Error() into an UNKNOWN
	// status that would be thrown away here.
	if _, ok := errors.AsType[grpcStatusError](err); ok {
		if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown {
			// Already a status (e.g. from Invalid): pass it through.
			return Translated{Status: s}
		}
	}
	// The upstream client's errors: the row the client acted on.
	if row, ok := upstream.Meaning(err); ok {
		if e, ok := errors.AsType[*upstream.APIError](err); ok {
			return fromAPIError(e, row, call)
		}
		if e, ok := errors.AsType[*upstream.DecodeError](err); ok {
			md := metadata(call, SourceUpstream, e.HTTPStatus, "", nil)
			return fromRow(row, call, md, e.RetryAfter)
		}
		return fromRow(row, call, nil, 0)
	}
	if t, ok := fromAuthError(err, call); ok {
		return t
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fromRow(answers.Of(answers.Timeout), call, nil, 0)
	case errors.Is(err, context.Canceled):
		return fromRow(answers.Of(answers.Cancelled), call, nil, 0)
	}
	return fromRow(answers.Of(answers.Internal), call, nil, 0)
}

func fromAPIError(e *upstream.APIError, row answers.Row, call Call) Translated {
	primary := ""
	if len(e.Errors) > 0 {
		primary = string(e.Errors[0].Code)
	}
	code := row.Code
	if call.Method == upstream.MethodPost && row.CodeOnCreate != codes.OK {
		code = row.CodeOnCreate
	}

	var br *errdetails.BadRequest
	codesSeen := make([]string, 0, 2)
	primaryHasFields := false
	for _, m := range e.Errors {
		if m.Code != "" {
			codesSeen = appendDistinct(codesSeen, string(m.Code))
		}
		if !hasFields(m, e.HTTPStatus) {
			continue
		}
		var desc, reason string
		for _, f := range m.Details.Fields {
			path := ProtoFieldPath(f)
			if path == "" {
				continue // a blank name says nothing a caller could fix
			}
			if desc == "" {
				desc, reason = bound(describe(m), maxDescription), answers.API(e.HTTPStatus, string(m.Code)).Reason.String()
			}
			if br == nil {
				br = &errdetails.BadRequest{}
			}
			br.FieldViolations = append(br.FieldViolations,
				&errdetails.BadRequest_FieldViolation{Field: bound(path, maxField), Reason: reason, Description: desc})
			primaryHasFields = primaryHasFields || m.Code == e.Errors[0].Code
		}
	}
	if primaryHasFields && row.CodeWithFields != codes.OK {
		code = row.CodeWithFields
	}

	md := metadata(call, SourceUpstream, e.HTTPStatus, e.RequestID, codesSeen)
	if primary != "" {
		// The code that chose the row comes first, even when a later
		// entry's code was seen before it.
		md[MetaOTACode] = bound(primary, maxOTACode)
	}
	msg := row.Message
	if br != nil {
		msg = withFirstViolation(msg, br)
	}
	details := appendCommon(make([]protoadapt.MessageV1, 0, 3), code, call, e.RequestID, e.RetryAfter)
	return build(code, msg, row, md, br, details...)
}

// hasFields reports whether the upstream error entry m names fields that
// become violations: a 5xx names none a caller could fix.
func hasFields(m upstream.Message, httpStatus int) bool {
	return m.Details != nil && len(m.Details.Fields) > 0 && httpStatus < 500
}

// fromRow builds the status of a row that has no upstream error body
// behind it; nil md means the facade's own metadata with nothing else
// known.
func fromRow(row answers.Row, call Call, md map[string]string, retryAfter time.Duration) Translated {
	if md == nil {
		md = metadata(call, SourceFacade, 0, "", nil)
	}
	details := appendCommon(make([]protoadapt.MessageV1, 0, 3), row.Code, call, md[MetaRequestID], retryAfter)
	return build(row.Code, row.Message, row, md, nil, details...)
}

// metadata is the ErrorInfo metadata of every error: always the same six
// keys, empty where a value is unknown (no OTA code, no HTTP answer, no
// request id), so that a caller can rely on each key whatever the reason.
// Echoed values are bounded (see limits.go).
func metadata(call Call, source string, httpStatus int, requestID string, otaCodes []string) map[string]string {
	md := make(map[string]string, 6)
	md[MetaSource] = source
	md[MetaPropertyID] = bound(call.PropertyID, maxPropertyID)
	md[MetaRequestID] = bound(requestID, maxRequestID)
	md[MetaHTTPStatus] = ""
	if httpStatus != 0 {
		md[MetaHTTPStatus] = strconv.Itoa(httpStatus)
	}
	md[MetaOTACode], md[MetaOTACodes] = "", ""
	if len(otaCodes) > 0 {
		md[MetaOTACode], md[MetaOTACodes] = bound(otaCodes[0], maxOTACode), joinCodes(otaCodes)
	}
	return md
}

// FacadeMetadata is the ErrorInfo metadata of an error the facade found
// itself: the six keys every ErrorInfo carries, source "facade", the
// property id and the upstream request id (of the read the facade based
// its answer on, or "") bounded. Callers add their own keys.
func FacadeMetadata(call Call, upstreamRequestID string) map[string]string {
	return metadata(call, SourceFacade, 0, upstreamRequestID, nil)
}

// Internal is the status of a bug of the facade (a panic, an error no row
// knows). Its message says nothing of the cause: that goes to the logs.
func Internal(call Call) *status.Status {
	return fromRow(answers.Of(answers.Internal), call, nil, 0).Status
}

// appendCommon adds the details that depend on the code and the call:
// ResourceInfo, RetryInfo and RequestInfo.
func appendCommon(details []protoadapt.MessageV1, code codes.Code, call Call, requestID string, retryAfter time.Duration) []protoadapt.MessageV1 {
	id := bound(call.PropertyID, maxPropertyID)
	switch code {
	case codes.NotFound, codes.PermissionDenied:
		if id != "" {
			details = append(details, &errdetails.ResourceInfo{
				ResourceType: "booking.com/Property",
				ResourceName: "properties/" + id,
				Description:  "the Booking.com property of the request",
			})
		}
	case codes.AlreadyExists:
		if id != "" {
			details = append(details, &errdetails.ResourceInfo{
				ResourceType: "booking.com/PropertyContacts",
				ResourceName: "properties/" + id + "/contacts",
				Description:  "the property has contacts already; use ReplaceContacts",
			})
		}
	}
	if retryAfter > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfter)})
	}
	if requestID != "" {
		details = append(details, &errdetails.RequestInfo{RequestId: bound(requestID, maxRequestID)})
	}
	return details
}

// build assembles the status of a row once, through Status: the ErrorInfo,
// the BadRequest br (nil when none), the other details, and Help last, so
// that every status has exactly one of each detail type. The message is
// cut at maxMessage bytes; when the whole status would encode to more than
// MaxStatusBytes (by proto.Size), the violations of br are cut
// (fitBadRequest).
func build(code codes.Code, msg string, row answers.Row, md map[string]string, br *errdetails.BadRequest, details ...protoadapt.MessageV1) Translated {
	msg = bound(msg, maxMessage)
	all := make([]protoadapt.MessageV1, 0, len(details)+2)
	if br != nil {
		all = append(all, br)
	}
	all = append(all, details...)
	if row.Help != "" {
		all = append(all, Help(row.Reason, row.Help))
	}
	st := Status(code, row.Reason, msg, md, all...)
	if br != nil {
		if size := proto.Size(st.Proto()); size > MaxStatusBytes {
			if cut := fitBadRequest(br, proto.Size(br)-(size-MaxStatusBytes)); cut != nil {
				all[0] = cut
				st = Status(code, row.Reason, msg, md, all...)
			}
		}
	}
	return Translated{Status: st, Reason: row.Reason.String(), Metadata: md}
}

// fitBadRequest returns a copy of br whose encoding takes at most budget
// bytes: the first violations that fit, then one more saying how many were
// left out. It returns nil when br fits already.
func fitBadRequest(br *errdetails.BadRequest, budget int) *errdetails.BadRequest {
	vs := br.GetFieldViolations()
	// The closing violation, sized with the largest count it can state.
	omitted := func(n int) *errdetails.BadRequest_FieldViolation {
		return &errdetails.BadRequest_FieldViolation{
			Reason:      contactsv1.ErrorReason_VIOLATIONS_OMITTED.String(),
			Description: strconv.Itoa(n) + " more violations left out to keep the error small; fix the ones above and send again to see them",
		}
	}
	// The size of a violation within br: its tag, length and bytes.
	size := func(v *errdetails.BadRequest_FieldViolation) int {
		return protowire.SizeTag(1) + protowire.SizeBytes(proto.Size(v))
	}
	budget -= size(omitted(len(vs)))
	kept := 0
	for used := 0; kept < len(vs); kept++ {
		used += size(vs[kept])
		if used > budget {
			break
		}
	}
	if kept == len(vs) {
		return nil
	}
	out := &errdetails.BadRequest{FieldViolations: make([]*errdetails.BadRequest_FieldViolation, 0, kept+1)}
	out.FieldViolations = append(out.FieldViolations, vs[:kept]...)
	out.FieldViolations = append(out.FieldViolations, omitted(len(vs)-kept))
	return out
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
	var b strings.Builder
	b.Grow(len(msg) + len(v.Field) + len(v.Description) + 24)
	b.WriteString(msg)
	b.WriteString(": ")
	b.WriteString(v.Field)
	if v.Description != "" {
		b.WriteString(": ")
		b.WriteString(v.Description)
	}
	if n := len(br.FieldViolations) - 1; n > 0 {
		b.WriteString(" (and ")
		b.WriteString(strconv.Itoa(n))
		b.WriteString(" more)")
	}
	return b.String()
}

func appendDistinct(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
