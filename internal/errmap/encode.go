package errmap

import (
	"slices"
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/contacts-facade/contacts-facade/internal/answers"
)

// build assembles the status once: ErrorInfo first, then the BadRequest br
// (nil when none), the other details, and Help last, so that every status
// has exactly one of each detail type. The message is cut at maxMessage
// bytes; when the whole status would encode to more than MaxStatusBytes,
// the violations of br are cut (fitBadRequest).
//
// It packs the details into Any messages itself rather than through
// Status.WithDetails, which costs 56 allocations for a 320 with three
// fields against 20 here (BenchmarkStatusWithDetails320; the target is
// 40): WithDetails marshals the ErrorInfo metadata map by reflection (two
// allocations per entry, for sizing and again for writing) and gives every
// detail its own Any, type URL and buffer. Here the ErrorInfo and the
// BadRequest are written directly (appendErrorInfo, appendBadRequest), the
// details share one buffer, and the Help of each row is encoded only once
// (helpValue). status.FromProto copies what it is given, so the scratch
// below is not retained; that copy (proto.Clone) is 13 of the 20
// allocations (the status, each Any and its bytes, the slice of details as
// it grows), which only a status with other details would change.
func build(code codes.Code, msg string, row answers.Row, md map[string]string, br *errdetails.BadRequest, details ...proto.Message) Translated {
	msg = bound(msg, maxMessage)
	p, err := assemble(code, msg, row, md, br, details)
	if err == nil && br != nil {
		if size := encodedSize(p); size > MaxStatusBytes {
			brSize := len(p.Details[1].Value) // the BadRequest comes second
			if cut := fitBadRequest(br, brSize-(size-MaxStatusBytes)); cut != nil {
				p, err = assemble(code, msg, row, md, cut, details)
			}
		}
	}
	if err != nil {
		// Only a detail that cannot be marshalled gets here: a bug.
		return Translated{Status: status.New(codes.Internal, "internal error of the facade: a detail could not be encoded")}
	}
	return Translated{Status: status.FromProto(p), Reason: row.Reason, Metadata: md}
}

// maxDetails is the most details build is given: ErrorInfo, BadRequest,
// the three of appendCommon and Help.
const maxDetails = 6

// scratch is a status with room for its details and their bytes, in one
// allocation rather than one for the status, its details, their pointers
// and the buffer each: status.FromProto copies the status it is given, so
// this one is thrown away at once. The details of a 320 with three fields
// take some 440 bytes of buf (Help is shared, see helpValue); larger ones
// grow it on the heap. The buffer comes last, so that the garbage
// collector need not scan it.
type scratch struct {
	status spb.Status
	anys   [maxDetails]anypb.Any
	ptrs   [maxDetails]*anypb.Any
	buf    [512]byte
}

// assemble encodes the details into one google.rpc.Status.
func assemble(code codes.Code, msg string, row answers.Row, md map[string]string, br *errdetails.BadRequest, details []proto.Message) (*spb.Status, error) {
	n := len(details) + 1
	if br != nil {
		n++
	}
	if row.Help != "" {
		n++
	}
	sc := new(scratch)
	anys, ptrs := sc.anys[:min(n, maxDetails)], sc.ptrs[:min(n, maxDetails)]
	if n > maxDetails { // not with the callers of today
		anys, ptrs = make([]anypb.Any, n), make([]*anypb.Any, n)
	}
	p := &sc.status
	p.Code, p.Message, p.Details = int32(code), msg, ptrs
	buf := sc.buf[:0]

	buf = appendErrorInfo(buf, row.Reason, md)
	anys[0].TypeUrl, anys[0].Value = typeURLErrorInfo, buf[:len(buf):len(buf)]
	i := 1
	if br != nil {
		start := len(buf)
		var err error
		if buf, err = appendBadRequest(buf, br); err != nil {
			return nil, err
		}
		anys[i].TypeUrl, anys[i].Value = typeURLBadRequest, buf[start:len(buf):len(buf)]
		i++
	}
	for _, d := range details {
		start := len(buf)
		var err error
		if buf, err = detailOptions.MarshalAppend(buf, d); err != nil {
			return nil, err
		}
		anys[i].TypeUrl, anys[i].Value = typeURL(d), buf[start:len(buf):len(buf)]
		i++
	}
	if row.Help != "" {
		anys[n-1].TypeUrl, anys[n-1].Value = typeURLHelp, helpValue(row)
	}
	for i := range anys {
		p.Details[i] = &anys[i]
	}
	return p, nil
}

// encodedSize is proto.Size(p), from the sizes of the encoded details,
// without walking them again.
func encodedSize(p *spb.Status) int {
	n := stringFieldSize(2, p.Message)
	if p.Code != 0 {
		n += protowire.SizeTag(1) + protowire.SizeVarint(uint64(p.Code))
	}
	for _, a := range p.Details {
		inner := stringFieldSize(1, a.TypeUrl)
		if len(a.Value) > 0 {
			inner += protowire.SizeTag(2) + protowire.SizeBytes(len(a.Value))
		}
		n += protowire.SizeTag(3) + protowire.SizeBytes(inner)
	}
	return n
}

// fitBadRequest returns a copy of br whose encoding takes at most budget
// bytes: the first violations that fit, then one more saying how many were
// left out. It returns nil when br fits already.
func fitBadRequest(br *errdetails.BadRequest, budget int) *errdetails.BadRequest {
	vs := br.GetFieldViolations()
	// The closing violation, sized with the largest count it can state.
	omitted := func(n int) *errdetails.BadRequest_FieldViolation {
		return &errdetails.BadRequest_FieldViolation{
			Reason:      ReasonViolationsOmitted,
			Description: strconv.Itoa(n) + " more violations left out to keep the error small; fix the ones above and send again to see them",
		}
	}
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

// detailOptions marshal the details other than ErrorInfo (which
// appendErrorInfo writes). None of them has a map, so their bytes are the
// same every time; Deterministic keeps it so should one get a map.
var detailOptions = proto.MarshalOptions{Deterministic: true}

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
//
// Most metadata has just the six keys of metadata(); those are written in
// their known order, without collecting and sorting the keys.
func appendErrorInfo(b []byte, reason string, md map[string]string) []byte {
	b = appendStringField(b, 1, reason)
	b = appendStringField(b, 2, Domain)
	if vals, ok := metaValues(md); ok {
		for i, k := range metaKeys() {
			b = appendMapEntry(b, 3, k, vals[i])
		}
		return b
	}
	var buf [8]string
	keys := buf[:0]
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = appendMapEntry(b, 3, k, md[k])
	}
	return b
}

// metaKeys are the keys metadata() sets, in sorted order
// (TestMetaKeysSorted).
func metaKeys() [6]string {
	return [6]string{MetaHTTPStatus, MetaOTACode, MetaOTACodes, MetaPropertyID, MetaRequestID, MetaSource}
}

// metaValues returns the values of the metaKeys in md, in their order; ok
// is false when md has other keys or lacks one.
func metaValues(md map[string]string) (vals [6]string, ok bool) {
	if len(md) != len(vals) {
		return vals, false
	}
	for i, k := range metaKeys() {
		if vals[i], ok = md[k]; !ok {
			return vals, false
		}
	}
	return vals, true
}

// appendMapEntry appends an entry of a map<string, string> field: a
// message with the key in field 1 and the value in field 2, both written
// even when empty, as the library does.
func appendMapEntry(b []byte, num protowire.Number, k, v string) []byte {
	b = appendBytesHeader(b, num, stringFieldSize(1, k)+stringFieldSize(2, v))
	b = append(appendBytesHeader(b, 1, len(k)), k...)
	return append(appendBytesHeader(b, 2, len(v)), v...)
}

// appendBadRequest appends the wire form of google.rpc.BadRequest as
// proto.Marshal writes it, with the protobuf module's wire encoder: each
// violation is field 1, a message with the field path in field 1, the
// description in field 2 and the reason in field 3, empty strings left out
// (google/rpc/error_details.proto). The facade never sets a violation's
// localized_message (field 4); a BadRequest that has one, or unknown
// fields, is marshalled by the library instead. proto.MarshalAppend walks
// the message by reflection, a tenth of a translation's time;
// TestAppendBadRequestMatchesMarshal compares the two.
func appendBadRequest(b []byte, br *errdetails.BadRequest) ([]byte, error) {
	vs := br.GetFieldViolations()
	if len(br.ProtoReflect().GetUnknown()) > 0 {
		return detailOptions.MarshalAppend(b, br)
	}
	for _, v := range vs {
		if v.GetLocalizedMessage() != nil || len(v.ProtoReflect().GetUnknown()) > 0 {
			return detailOptions.MarshalAppend(b, br)
		}
	}
	for _, v := range vs {
		b = appendBytesHeader(b, 1, optionalStringSize(1, v.GetField())+
			optionalStringSize(2, v.GetDescription())+optionalStringSize(3, v.GetReason()))
		b = appendStringField(b, 1, v.GetField())
		b = appendStringField(b, 2, v.GetDescription())
		b = appendStringField(b, 3, v.GetReason())
	}
	return b, nil
}

// appendStringField appends a proto3 string field, left out when empty.
func appendStringField(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	return append(appendBytesHeader(b, num, len(s)), s...)
}

// appendBytesHeader appends the tag of the length-delimited field num and
// the length n of its value. A field below 16 with a value shorter than
// 128 bytes, nearly all here, takes a byte for each, appended directly:
// protowire.AppendVarint is too large to be inlined, and its calls (two
// for each string written) cost a twentieth of a translation.
func appendBytesHeader(b []byte, num protowire.Number, n int) []byte {
	if num < 16 && n < 128 {
		return append(b, byte(protowire.EncodeTag(num, protowire.BytesType)), byte(n))
	}
	return appendLongBytesHeader(b, num, n)
}

// appendLongBytesHeader is appendBytesHeader with the wire encoder, for
// any field and length.
func appendLongBytesHeader(b []byte, num protowire.Number, n int) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(n))
}

func stringFieldSize(num protowire.Number, s string) int {
	return protowire.SizeTag(num) + protowire.SizeBytes(len(s))
}

// optionalStringSize is the size of what appendStringField appends: none
// for an empty string.
func optionalStringSize(num protowire.Number, s string) int {
	if s == "" {
		return 0
	}
	return stringFieldSize(num, s)
}

// helpValue is the encoded google.rpc.Help of row, the same for every
// error of the row. Callers must not change the bytes: status.FromProto
// copies them into each status.
func helpValue(row answers.Row) []byte {
	if b, ok := helpDetails[helpKey{row.Reason, row.Help}]; ok {
		return b
	}
	return encodeHelp(row) // a row not in answers.All (UNKNOWN_OTA_ERROR)
}

// helpKey is what the Help of a row is made of. A struct rather than the
// two strings joined, so that a look-up does not build a key.
type helpKey struct{ reason, url string }

// helpDetails holds the encoded Help of every row of the answers table,
// computed once at start-up and never written again.
var helpDetails = func() map[helpKey][]byte {
	all := answers.All()
	m := make(map[helpKey][]byte, len(all))
	for _, e := range all {
		if e.Row.Help != "" {
			m[helpKey{e.Row.Reason, e.Row.Help}] = encodeHelp(e.Row)
		}
	}
	return m
}()

func encodeHelp(row answers.Row) []byte {
	b, _ := detailOptions.Marshal(&errdetails.Help{Links: []*errdetails.Help_Link{{Description: "What " + row.Reason + " means and how to fix it", Url: row.Help}}})
	return b // a Help of two strings always marshals
}
