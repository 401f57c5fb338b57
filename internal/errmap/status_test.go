package errmap_test

import (
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/contacts-facade/contacts-facade/internal/errmap"
)

// TestStatusFailsClosed: a status whose details do not marshal is still
// the refusal, without details; one whose details do carries them, the
// ErrorInfo first.
func TestStatusFailsClosed(t *testing.T) {
	retry := &errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)}
	tests := []struct {
		name        string
		md          map[string]string
		wantDetails int
	}{
		{"valid metadata", map[string]string{"caller": "spiffe://corp/a"}, 2},
		{"invalid UTF-8 in a value", map[string]string{"caller": "spiffe://corp/\xff"}, 0},
		{"invalid UTF-8 in a key", map[string]string{"\xfe": "x"}, 0},
	}
	for _, tt := range tests {
		st := errmap.Status(codes.PermissionDenied, "CALLER_NOT_ALLOWED", "refused", tt.md, retry)
		if st == nil || st.Err() == nil || st.Code() != codes.PermissionDenied || st.Message() != "refused" {
			t.Fatalf("%s: status %v, want the PERMISSION_DENIED refusal", tt.name, st)
		}
		if got := len(st.Details()); got != tt.wantDetails {
			t.Errorf("%s: %d details, want %d", tt.name, got, tt.wantDetails)
		}
	}
	st := errmap.Status(codes.Unavailable, "AUDIT_UNAVAILABLE", "m", map[string]string{"k": "v"})
	info, ok := st.Details()[0].(*errdetails.ErrorInfo)
	if !ok || info.GetReason() != "AUDIT_UNAVAILABLE" || info.GetDomain() != errmap.Domain || info.GetMetadata()["k"] != "v" {
		t.Errorf("ErrorInfo = %v", st.Details())
	}
}
