package client_test

import (
	"fmt"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/contacts-facade/contacts-facade/client"
)

// nilStatusError has a GRPCStatus method that returns nil, which
// status.FromError does not take for a status.
type nilStatusError struct{}

func (nilStatusError) Error() string              { return "no status" }
func (nilStatusError) GRPCStatus() *status.Status { return nil }

// TestWrappedStatusCostsNoMore: the helpers read a wrapped status error
// with as few allocations as the error itself (status.FromError would copy
// the status twice more to change its message), and find nothing in an
// error whose GRPCStatus is nil, wrapped or not.
func TestWrappedStatusCostsNoMore(t *testing.T) {
	err := statusErr(t, codes.InvalidArgument,
		&errdetails.ErrorInfo{Reason: "INVALID_VALUE", Domain: client.Domain, Metadata: map[string]string{client.MetaOTACode: "320"}},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "contacts[0].email", Reason: "INVALID_VALUE"}}},
	)
	wrapped := fmt.Errorf("replace contacts: %w", err)
	count := func(err error) float64 {
		return testing.AllocsPerRun(100, func() {
			if len(client.FieldViolations(err)) != 1 || client.OTACode(err) != "320" {
				t.Fatal("lost a detail")
			}
		})
	}
	if direct, w := count(err), count(wrapped); w > direct {
		t.Errorf("a wrapped error costs %.0f allocations, the error itself %.0f", w, direct)
	}
	for _, err := range []error{nilStatusError{}, fmt.Errorf("wrapped: %w", nilStatusError{})} {
		if client.ErrorInfo(err) != nil || client.FieldViolations(err) != nil {
			t.Errorf("%v: found a detail in a nil status", err)
		}
	}
}

// BenchmarkFieldViolations reads the violations of a refusal as the facade
// sends it, from the status error and from the error wrapped.
func BenchmarkFieldViolations(b *testing.B) {
	st, err := status.New(codes.InvalidArgument, "invalid").WithDetails(
		&errdetails.ErrorInfo{Reason: "INVALID_VALUE", Domain: client.Domain, Metadata: map[string]string{
			client.MetaOTACode: "320", client.MetaOTACodes: "320", client.MetaHTTPStatus: "400",
			client.MetaRequestID: "ruid", client.MetaPropertyID: "1000001", client.MetaSource: "upstream",
		}},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "contacts[0].email", Reason: "INVALID_VALUE"}}},
		&errdetails.RequestInfo{RequestId: "ruid"},
	)
	if err != nil {
		b.Fatal(err)
	}
	for name, err := range map[string]error{"direct": st.Err(), "wrapped": fmt.Errorf("replace contacts: %w", st.Err())} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if len(client.FieldViolations(err)) != 1 {
					b.Fatal("lost the violation")
				}
			}
		})
	}
}
