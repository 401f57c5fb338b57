package errmap_test

import (
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// BenchmarkStatusWithDetails320 builds the status of
// BenchmarkTranslate320ThreeFields with status.WithDetails instead of the
// hand-written encoder of encode.go, to measure what that encoder saves:
// keep it while this benchmark needs more than the 40 allocations of the
// translation target.
func BenchmarkStatusWithDetails320(b *testing.B) {
	err := badRequest320()
	call := errmap.Call{Method: upstream.MethodPut, PropertyID: "1000001"}
	ref := errmap.Translate(err, call)
	ds := ref.Details()
	b.ReportAllocs()
	for b.Loop() {
		md := map[string]string{"otaCode": "320", "otaCodes": "320", "httpStatus": "400", "requestId": err.RequestID, "propertyId": call.PropertyID, "source": "upstream"}
		br := &errdetails.BadRequest{}
		for _, e := range err.Errors {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: errmap.ProtoFieldPath(e.Details.Fields[0]), Reason: "INVALID_VALUE", Description: e.Message})
		}
		st, e := status.New(codes.InvalidArgument, ref.Message()).WithDetails(
			&errdetails.ErrorInfo{Reason: "INVALID_VALUE", Domain: errmap.Domain, Metadata: md},
			br, &errdetails.RequestInfo{RequestId: err.RequestID}, ds[len(ds)-1].(*errdetails.Help))
		if e != nil || st.Code() != codes.InvalidArgument {
			b.Fatal(e)
		}
	}
}
