package errmap

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// Metadata keys of ErrorInfo. Every error carries all six (empty when a
// value is unknown): callers may rely on each.
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
	if e, ok := errors.AsType[*upstream.APIError](err); ok {
		return fromAPIError(e, call)
	}
	if e, ok := errors.AsType[*upstream.DecodeError](err); ok {
		return fromDecodeError(e, call)
	}
	if t, ok := fromAuthError(err, call); ok {
		return t
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fromRow(rowTimeout, call, nil, 0)
	case errors.Is(err, context.Canceled):
		return fromRow(rowCancelled, call, nil, 0)
	}
	if _, ok := errors.AsType[*upstream.TransportError](err); ok {
		return fromRow(rowUnreachable, call, nil, 0)
	}
	return fromRow(rowInternal, call, nil, 0)
}

func fromAPIError(e *upstream.APIError, call Call) Translated {
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
		if m.Code != "" {
			codesSeen = appendDistinct(codesSeen, string(m.Code))
		}
		if m.Details == nil || len(m.Details.Fields) == 0 || e.HTTPStatus >= 500 {
			continue
		}
		var desc, reason string
		for _, f := range m.Details.Fields {
			path := ProtoFieldPath(f)
			if path == "" {
				continue // a blank name says nothing a caller could fix
			}
			if br == nil {
				br = &errdetails.BadRequest{FieldViolations: make([]*errdetails.BadRequest_FieldViolation, 0, len(e.Errors)-i)}
			}
			if desc == "" {
				desc, reason = describe(m), rowFor(e.HTTPStatus, string(m.Code)).Reason
			}
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field:       path,
				Reason:      reason,
				Description: desc,
			})
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
		md[MetaOTACode] = primary
	}
	msg := row.Message
	if br != nil {
		msg = withFirstViolation(msg, br)
	}
	details := make([]proto.Message, 0, 4)
	if br != nil {
		details = append(details, br)
	}
	details = appendCommon(details, code, call, e.RequestID, e.RetryAfter)
	return build(code, msg, row, md, details...)
}

func fromDecodeError(e *upstream.DecodeError, call Call) Translated {
	row := rowBadBody4xx
	statusRow, known := statusRows[e.HTTPStatus]
	switch {
	case e.TooLarge:
		row = rowTooLarge
	case known && e.HTTPStatus != http.StatusBadRequest:
		// A gateway's HTML 401, 404, 429 or 503 says enough by its
		// status. A 400 does not: an undecodable one means the facade
		// and the upstream disagree, not that the caller erred.
		row = statusRow
	case e.HTTPStatus >= 500:
		row = rowBadBody5xx
	}
	md := metadata(call, SourceUpstream, e.HTTPStatus, "", nil)
	details := appendCommon(make([]proto.Message, 0, 3), row.Code, call, "", e.RetryAfter)
	return build(row.Code, row.Message, row, md, details...)
}

// fromRow builds the status of a row that has no upstream answer behind
// it; nil md means the facade's own metadata with nothing else known.
func fromRow(row Row, call Call, md map[string]string, retryAfter time.Duration) Translated {
	if md == nil {
		md = metadata(call, SourceFacade, 0, "", nil)
	}
	details := appendCommon(make([]proto.Message, 0, 3), row.Code, call, md[MetaRequestID], retryAfter)
	return build(row.Code, row.Message, row, md, details...)
}

// metadata is the ErrorInfo metadata of every error: always the same six
// keys, empty where a value is unknown (no OTA code, no HTTP answer, no
// request id), so that a caller can rely on each key whatever the reason.
func metadata(call Call, source string, httpStatus int, requestID string, otaCodes []string) map[string]string {
	md := make(map[string]string, 6)
	md[MetaSource] = source
	md[MetaPropertyID] = call.PropertyID
	md[MetaRequestID] = requestID
	md[MetaHTTPStatus] = ""
	if httpStatus != 0 {
		md[MetaHTTPStatus] = strconv.Itoa(httpStatus)
	}
	md[MetaOTACode], md[MetaOTACodes] = "", ""
	if len(otaCodes) > 0 {
		md[MetaOTACode], md[MetaOTACodes] = otaCodes[0], strings.Join(otaCodes, ",")
	}
	return md
}

// Internal is the status of a bug of the facade (a panic, an error no row
// knows). Its message says nothing of the cause: that goes to the logs.
func Internal(call Call) *status.Status {
	return fromRow(rowInternal, call, nil, 0).Status
}

// appendCommon adds the details that depend on the code and the call:
// ResourceInfo, RetryInfo and RequestInfo.
func appendCommon(details []proto.Message, code codes.Code, call Call, requestID string, retryAfter time.Duration) []proto.Message {
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
//
// It packs the details into Any messages itself rather than through
// Status.WithDetails, which made error translation cost about 75
// allocations: there the ErrorInfo metadata map is marshalled by
// reflection (two allocations per entry, for sizing and again for
// writing) and every detail gets its own Any, type URL and buffer. Here
// the ErrorInfo is written directly (appendErrorInfo), the other details
// share one buffer, and the Help of each row is encoded only once
// (helpValue). status.FromProto copies what it is given, so the scratch
// below is not retained.
func build(code codes.Code, msg string, row Row, md map[string]string, details ...proto.Message) Translated {
	n := len(details) + 1
	if row.Help != "" {
		n++
	}
	anys := make([]anypb.Any, n)
	p := &spb.Status{Code: int32(code), Message: msg, Details: make([]*anypb.Any, n)}
	buf := make([]byte, 0, 1024)

	buf = appendErrorInfo(buf, row.Reason, md)
	anys[0].TypeUrl, anys[0].Value = typeURLErrorInfo, buf[:len(buf):len(buf)]
	for i, d := range details {
		start := len(buf)
		var err error
		if buf, err = detailOptions.MarshalAppend(buf, d); err != nil {
			// Only a detail that cannot be marshalled gets here: a bug.
			return Translated{Status: status.New(codes.Internal, "internal error of the facade: "+err.Error())}
		}
		anys[i+1].TypeUrl, anys[i+1].Value = typeURL(d), buf[start:len(buf):len(buf)]
	}
	if row.Help != "" {
		anys[n-1].TypeUrl, anys[n-1].Value = typeURLHelp, helpValue(row)
	}
	for i := range anys {
		p.Details[i] = &anys[i]
	}
	return Translated{Status: status.FromProto(p), Reason: row.Reason, Metadata: md}
}

// detailOptions marshal a detail as anypb.New does, with map entries in
// key order so that the same error always gives the same bytes.
var detailOptions = proto.MarshalOptions{}

// Type URLs of the details, as anypb.New writes them.
var (
	typeURLErrorInfo    = anyTypeURL(&errdetails.ErrorInfo{})
	typeURLBadRequest   = anyTypeURL(&errdetails.BadRequest{})
	typeURLResourceInfo = anyTypeURL(&errdetails.ResourceInfo{})
	typeURLRetryInfo    = anyTypeURL(&errdetails.RetryInfo{})
	typeURLRequestInfo  = anyTypeURL(&errdetails.RequestInfo{})
	typeURLHelp         = anyTypeURL(&errdetails.Help{})
)

func anyTypeURL(m proto.Message) string {
	return "type.googleapis.com/" + string(m.ProtoReflect().Descriptor().FullName())
}

// typeURL is the type URL of m, built in advance for the detail types
// build is given.
func typeURL(m proto.Message) string {
	switch m.(type) {
	case *errdetails.BadRequest:
		return typeURLBadRequest
	case *errdetails.ResourceInfo:
		return typeURLResourceInfo
	case *errdetails.RetryInfo:
		return typeURLRetryInfo
	case *errdetails.RequestInfo:
		return typeURLRequestInfo
	}
	return anyTypeURL(m)
}

// appendErrorInfo appends the wire form of google.rpc.ErrorInfo with the
// protobuf module's own wire encoder: reason is field 1, domain field 2 and
// each metadata entry field 3, a message with the key in field 1 and the
// value in field 2 (google/rpc/error_details.proto and the encoding of
// maps). Entries come in key order, so that the same error always gives the
// same bytes. proto.Marshal would cost two allocations per map entry, half
// of a translation's budget; TestTranslateWithInfoMatchesStatus decodes the
// result with the library to prove the bytes right.
func appendErrorInfo(b []byte, reason string, md map[string]string) []byte {
	b = appendStringField(b, 1, reason)
	b = appendStringField(b, 2, Domain)
	var buf [8]string
	keys := buf[:0]
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := md[k]
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(stringFieldSize(1, k)+stringFieldSize(2, v)))
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, k)
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, v)
	}
	return b
}

// appendStringField appends a proto3 string field, left out when empty.
func appendStringField(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func stringFieldSize(num protowire.Number, s string) int {
	return protowire.SizeTag(num) + protowire.SizeBytes(len(s))
}

// helpValue is the encoded google.rpc.Help of row, the same for every
// error of the row. Callers must not change the bytes: status.FromProto
// copies them into each status.
func helpValue(row Row) []byte {
	if b, ok := helpDetails[row.Reason+" "+row.Help]; ok {
		return b
	}
	return encodeHelp(row) // a row built outside table.go
}

// helpDetails holds the encoded Help of every row of table.go, computed
// once at start-up and never written again.
var helpDetails = func() map[string][]byte {
	rows := []Row{other4xx, other5xx, otherStatus, rowBadBody4xx, rowBadBody5xx, rowTooLarge, rowUnreachable,
		rowTimeout, rowCancelled, rowExchangeFailed, rowExchangeUnavailable, rowExchangeRateLimited, rowTokenBudget, rowInternal}
	rows = slices.AppendSeq(rows, maps.Values(apiRows))
	rows = slices.AppendSeq(rows, maps.Values(statusRows))
	rows = slices.AppendSeq(rows, maps.Values(localRows))
	m := make(map[string][]byte, len(rows)+2)
	for _, r := range rows {
		// Rows differing in reason only (UNKNOWN_OTA_ERROR) are encoded
		// on demand by helpValue.
		m[r.Reason+" "+r.Help] = encodeHelp(r)
	}
	return m
}()

func encodeHelp(row Row) []byte {
	b, _ := detailOptions.Marshal(&errdetails.Help{Links: []*errdetails.Help_Link{{Description: "What " + row.Reason + " means and how to fix it", Url: row.Help}}})
	return b // a Help of two strings always marshals
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
