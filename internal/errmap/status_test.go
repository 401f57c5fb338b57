package errmap_test

import (
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
)

// TestStatus: the builder puts one ErrorInfo first, in Domain, then the
// details in order; when a detail cannot be attached (a string that is not
// UTF-8, in the metadata or in a detail) it still refuses with the same
// code and message, without details; it never returns OK.
func TestStatus(t *testing.T) {
	good := map[string]string{errmap.MetaSource: errmap.SourceFacade}
	bad := map[string]string{errmap.MetaCaller: "cn:\xff"}
	retry := &errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)}
	help := errmap.Help(contactsv1.ErrorReason_ETAG_MISMATCH, "https://example.com/help")
	cases := []struct {
		name     string
		code     codes.Code
		md       map[string]string
		details  []protoadapt.MessageV1
		wantCode codes.Code
		want     []proto.Message // nil: no details
	}{
		{"ErrorInfo first, then the details", codes.Aborted, good, []protoadapt.MessageV1{retry, help}, codes.Aborted, []proto.Message{
			&errdetails.ErrorInfo{Reason: "ETAG_MISMATCH", Domain: "contacts-facade.booking.connectivity", Metadata: good}, retry, help}},
		{"no details but the ErrorInfo", codes.Unavailable, nil, nil, codes.Unavailable, []proto.Message{
			&errdetails.ErrorInfo{Reason: "ETAG_MISMATCH", Domain: "contacts-facade.booking.connectivity"}}},
		{"metadata not UTF-8", codes.PermissionDenied, bad, []protoadapt.MessageV1{retry}, codes.PermissionDenied, nil},
		{"a detail not UTF-8", codes.InvalidArgument, good, []protoadapt.MessageV1{&errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "f\xff"}}}}, codes.InvalidArgument, nil},
		{"OK is no refusal", codes.OK, good, nil, codes.Internal, []proto.Message{
			&errdetails.ErrorInfo{Reason: "ETAG_MISMATCH", Domain: "contacts-facade.booking.connectivity", Metadata: good}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := errmap.Status(tc.code, contactsv1.ErrorReason_ETAG_MISMATCH, "the message", tc.md, tc.details...)
			if st.Code() != tc.wantCode || st.Message() != "the message" || st.Err() == nil {
				t.Fatalf("%v %q, want %v %q", st.Code(), st.Message(), tc.wantCode, "the message")
			}
			got := st.Details()
			if len(got) != len(tc.want) {
				t.Fatalf("%d details %v, want %d", len(got), got, len(tc.want))
			}
			for i, d := range got {
				m, ok := d.(proto.Message)
				if !ok || !proto.Equal(m, tc.want[i]) {
					t.Errorf("detail %d is %v, want %v", i, d, tc.want[i])
				}
			}
		})
	}
	// By hand: the fallback keeps the code, and the shape of a good one.
	if st := errmap.Status(codes.PermissionDenied, contactsv1.ErrorReason_CALLER_NOT_ALLOWED, "no", bad); st.Code() != codes.PermissionDenied || len(st.Details()) != 0 {
		t.Errorf("fallback: %v with %d details", st.Code(), len(st.Details()))
	}
	if ei, _ := errmap.Status(codes.Aborted, contactsv1.ErrorReason_ETAG_MISMATCH, "m", good).Details()[0].(*errdetails.ErrorInfo); ei.GetReason() != "ETAG_MISMATCH" || ei.GetDomain() != errmap.Domain {
		t.Errorf("ErrorInfo %v", ei)
	}
}
