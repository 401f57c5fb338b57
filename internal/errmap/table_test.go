package errmap_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/contacts-facade/contacts-facade/internal/answers"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
)

// sampleError is an error that the answers table files under the row
// named name, and the call it belongs to.
func sampleError(t *testing.T, name string) (error, bool) {
	t.Helper()
	get := upstream.MethodGet
	switch name {
	case "Success":
		return nil, false
	case "API 4xx":
		return &upstream.APIError{Method: get, HTTPStatus: 418}, true
	case "API 5xx":
		return &upstream.APIError{Method: get, HTTPStatus: 501}, true
	case "API other":
		return &upstream.APIError{Method: get, HTTPStatus: 200, Errors: []upstream.Message{{Message: "half"}}}, true
	case "undecodable 4xx":
		return &upstream.DecodeError{Method: get, HTTPStatus: 400, Kind: upstream.DecodeNotObject}, true
	case "undecodable 5xx":
		return &upstream.DecodeError{Method: get, HTTPStatus: 501, Kind: upstream.DecodeNotObject}, true
	case "Unreachable":
		return &upstream.TransportError{Method: get, NotSent: true, Err: syscall.ECONNREFUSED}, true
	case "ConnectionLost":
		return &upstream.TransportError{Method: get, Err: io.ErrUnexpectedEOF}, true
	case "Timeout":
		return &upstream.TransportError{Method: get, Err: context.DeadlineExceeded}, true
	case "Cancelled":
		return &upstream.TransportError{Method: get, Err: context.Canceled}, true
	case "BodyTooLarge":
		return &upstream.DecodeError{Method: get, HTTPStatus: 200, Kind: upstream.DecodeBodyTooLarge, TooLarge: true}, true
	case "HeadersTooLarge":
		return &upstream.DecodeError{Method: get, Kind: upstream.DecodeHeadersTooLarge, TooLarge: true}, true
	case "ExchangeRefused":
		return &upstreamauth.Error{Kind: upstreamauth.KindCredentialsRejected}, true
	case "ExchangeUnavailable":
		return &upstreamauth.Error{Kind: upstreamauth.KindUnavailable}, true
	case "ExchangeRateLimited":
		return &upstreamauth.Error{Kind: upstreamauth.KindRateLimited}, true
	case "TokenBudget":
		return &upstreamauth.Error{Kind: upstreamauth.KindBudgetExhausted}, true
	case "Internal":
		return errors.New("a bug"), true
	}
	if ota, ok := strings.CutPrefix(name, "local "); ok {
		return errmap.Invalid([]errmap.Violation{{Field: "contacts[0].email", OTACode: ota, Description: "d"}}, errmap.Call{Method: get}).Err(), true
	}
	rest, ok := strings.CutPrefix(name, "API ")
	if !ok {
		t.Fatalf("no sample error for row %s", name)
	}
	st, code, _ := strings.Cut(rest, "/")
	s, err := strconv.Atoi(st)
	if err != nil {
		t.Fatalf("row %s: %v", name, err)
	}
	e := &upstream.APIError{Method: get, HTTPStatus: s}
	if code != "" {
		e.Errors = []upstream.Message{{Code: upstream.FlexString(code)}}
	}
	return e, true
}

// TestTranslatorFollowsTheTable walks every row of the answers table and
// checks that the status a caller gets has the row's code and reason, and
// its message unless violations were added to it.
func TestTranslatorFollowsTheTable(t *testing.T) {
	for _, e := range answers.All() {
		err, ok := sampleError(t, e.Name)
		if !ok {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			tr := errmap.TranslateWithInfo(err, errmap.Call{Method: upstream.MethodGet, PropertyID: "1000001"})
			if tr.Status.Code() != e.Row.Code || tr.Reason != e.Row.Reason.String() {
				t.Fatalf("%v %s, the table says %v %s", tr.Status.Code(), tr.Reason, e.Row.Code, e.Row.Reason)
			}
			if !strings.HasPrefix(tr.Status.Message(), e.Row.Message) {
				t.Errorf("message %q, the table says %q", tr.Status.Message(), e.Row.Message)
			}
			checkInvariants(t, tr.Status)
		})
	}
	// The two code variants.
	post := errmap.Call{Method: upstream.MethodPost, PropertyID: "1"}
	if s := errmap.Translate(&upstream.APIError{Method: upstream.MethodPost, HTTPStatus: 400, Errors: []upstream.Message{{Code: "150"}}}, post); s.Code() != codes.AlreadyExists {
		t.Errorf("150 on POST: %v", s.Code())
	}
	withField := &upstream.APIError{Method: upstream.MethodPut, HTTPStatus: 400, Errors: []upstream.Message{{Code: "450", Details: &upstream.Details{Fields: []string{"contacts[0].contact_profiles[0].type"}}}}}
	if s := errmap.Translate(withField, post); s.Code() != codes.InvalidArgument {
		t.Errorf("450 with a field: %v", s.Code())
	}
}

// violations returns the FieldViolations of a status.
func violations(s *status.Status) []*errdetails.BadRequest_FieldViolation {
	for _, d := range s.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			return br.GetFieldViolations()
		}
	}
	return nil
}

func errorInfo(s *status.Status) *errdetails.ErrorInfo {
	for _, d := range s.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei
		}
	}
	return nil
}

// TestStatusSizeBounded: whatever the request or the upstream answer, the
// encoded status stays within MaxStatusBytes; violations past it are cut
// with a last one counting them, and echoed values are cut.
func TestStatusSizeBounded(t *testing.T) {
	long := strings.Repeat("x", 100)
	var local []errmap.Violation
	for i := range 100 {
		for _, f := range []string{"email", "phones", "contact_person.name", "contact_person.language_code"} {
			local = append(local, errmap.Violation{Field: fmt.Sprintf("contacts[%d].%s", i, f), OTACode: "321", Description: f + " is required"})
		}
	}
	local = append(local, errmap.Violation{Field: "contacts", OTACode: "320", Description: "exactly one contact must carry GENERAL"})
	var entries []upstream.Message
	for i := range 500 {
		entries = append(entries, upstream.Message{Code: "320", Message: "Invalid value: " + long,
			Details: &upstream.Details{Fields: []string{fmt.Sprintf("contacts[%d].phones[0].phone_number", i)}, AllowedValues: []string{long, long}}})
	}
	var manyCodes []upstream.Message
	for i := range 1000 {
		manyCodes = append(manyCodes, upstream.Message{Code: upstream.FlexString(strconv.Itoa(i) + long), Message: long})
	}
	hugeID := strings.Repeat("9", 900<<10)
	put := errmap.Call{Method: upstream.MethodPut, PropertyID: "1000001"}
	cases := []struct {
		name        string
		st          *status.Status
		violations  int // in the status, the closing one included; -1: no BadRequest
		omitted     int // counted by the closing violation; 0: none
		firstFields []string
	}{
		{"401 local violations", errmap.Invalid(local, put), -2, 401, []string{"contacts[0].email", "contacts[0].phones"}},
		{"500 upstream errors", errmap.Translate(&upstream.APIError{Method: upstream.MethodPut, HTTPStatus: 400, Errors: entries, RequestID: "r"}, put), -2, 500,
			[]string{"contacts[0].phones[0].phone_number", "contacts[1].phones[0].phone_number"}},
		{"900 KB property id", errmap.Translate(&upstream.APIError{Method: upstream.MethodGet, HTTPStatus: 404, Errors: []upstream.Message{{Code: "635"}}},
			errmap.Call{Method: upstream.MethodGet, PropertyID: hugeID}), -1, 0, nil},
		{"900 KB property id, refused locally", errmap.Invalid([]errmap.Violation{{Field: "property_id", OTACode: "320", Description: "digits"}},
			errmap.Call{Method: upstream.MethodGet, PropertyID: hugeID}), 1, 0, []string{"property_id"}},
		{"1000 long codes, a long ruid", errmap.Translate(&upstream.APIError{Method: upstream.MethodGet, HTTPStatus: 400, Errors: manyCodes,
			RequestID: strings.Repeat("r", 100<<10)}, put), -1, 0, nil},
		{"one huge field and description", errmap.Translate(&upstream.APIError{Method: upstream.MethodGet, HTTPStatus: 400,
			Errors: []upstream.Message{{Code: "320", Message: strings.Repeat("é", 50<<10), Details: &upstream.Details{Fields: []string{strings.Repeat("a", 50<<10)}}}}}, put), 1, 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := protoMarshal(tc.st)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d bytes", len(b))
			if len(b) > errmap.MaxStatusBytes {
				t.Fatalf("status of %d bytes, over %d", len(b), errmap.MaxStatusBytes)
			}
			checkInvariants(t, tc.st)
			if len(tc.st.Message()) > 256 {
				t.Errorf("message of %d bytes", len(tc.st.Message()))
			}
			ei := errorInfo(tc.st)
			for k, v := range ei.GetMetadata() {
				if len(v) > 128 {
					t.Errorf("metadata %s has %d bytes", k, len(v))
				}
			}
			if id := ei.GetMetadata()[errmap.MetaPropertyID]; len(id) > 64 {
				t.Errorf("propertyId of %d bytes", len(id))
			}
			vs := violations(tc.st)
			switch {
			case tc.violations == -1:
				if vs != nil {
					t.Errorf("%d violations, want no BadRequest", len(vs))
				}
			case tc.violations > 0 && len(vs) != tc.violations:
				t.Errorf("%d violations, want %d", len(vs), tc.violations)
			}
			for i, f := range tc.firstFields {
				if i >= len(vs) || vs[i].GetField() != f {
					t.Errorf("violation %d is not %s: %v", i, f, vs)
				}
			}
			for _, v := range vs {
				if len(v.GetField()) > 160 || len(v.GetDescription()) > 400 {
					t.Errorf("violation of %d+%d bytes", len(v.GetField()), len(v.GetDescription()))
				}
			}
			if tc.omitted > 0 {
				last := vs[len(vs)-1]
				kept := len(vs) - 1
				want := strconv.Itoa(tc.omitted-kept) + " more violations left out"
				if last.GetReason() != "VIOLATIONS_OMITTED" || !strings.HasPrefix(last.GetDescription(), want) || kept < 10 {
					t.Errorf("last of %d violations: %v; want %s", len(vs), last, want)
				}
			}
		})
	}
}

func protoMarshal(s *status.Status) ([]byte, error) { return proto.Marshal(s.Proto()) }
