package errmap_test

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/google/go-cmp/cmp"

	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
)

// The budget for one error is 5 µs and 40 allocations; run with
//
//	go test ./internal/errmap -run '^$' -bench . -benchmem
//
// Benchmarks never assert on time: the figures are for people.

// badRequest320 is the emulator's answer to a PUT with three invalid
// fields: the person's language, the address country and its language.
func badRequest320() *upstream.APIError {
	entry := func(field string) upstream.Message {
		return upstream.Message{Code: "320", Message: "Invalid value.", Details: &upstream.Details{Fields: []string{field}}}
	}
	return &upstream.APIError{
		Method:     upstream.MethodPut,
		HTTPStatus: 400,
		Errors: []upstream.Message{
			entry("contacts[0].contact_person.language_code"),
			entry("contacts[0].address.country_code"),
			entry("contacts[0].address.language_code"),
		},
		Warnings:  []upstream.Message{},
		RequestID: "e9e6d770056264efe49231bda8e78198",
	}
}

func BenchmarkTranslate320ThreeFields(b *testing.B) {
	err := badRequest320()
	call := errmap.Call{Method: upstream.MethodPut, PropertyID: "1000001"}
	b.ReportAllocs()
	for b.Loop() {
		if st := errmap.Translate(err, call); st.Code() != codes.InvalidArgument {
			b.Fatal(st.Code())
		}
	}
}

func BenchmarkTranslateNotFound(b *testing.B) {
	err := &upstream.APIError{
		Method:     upstream.MethodGet,
		HTTPStatus: 404,
		Errors:     []upstream.Message{{Code: "635", Message: "Not found"}},
		Warnings:   []upstream.Message{},
		RequestID:  "e9e6d770056264efe49231bda8e78198",
	}
	call := errmap.Call{Method: upstream.MethodGet, PropertyID: "9999999"}
	b.ReportAllocs()
	for b.Loop() {
		if st := errmap.Translate(err, call); st.Code() != codes.NotFound {
			b.Fatal(st.Code())
		}
	}
}

// BenchmarkInvalidLocal is a request the facade refuses itself, with three
// problems, as service.validateWrite reports them.
func BenchmarkInvalidLocal(b *testing.B) {
	vs := []errmap.Violation{
		{Field: "property_id", OTACode: "320", Description: "property_id must be decimal digits only, e.g. \"1000001\""},
		{Field: "contacts[0].phones[1].phone_number", OTACode: "320", Description: "phone_number must be \"+\" and up to 15 digits, e.g. \"+31201234567\""},
		{Field: "contacts[0].email", OTACode: "321", Description: "email is required"},
	}
	call := errmap.Call{Method: upstream.MethodPut, PropertyID: "12a"}
	b.ReportAllocs()
	for b.Loop() {
		if st := errmap.Invalid(vs, call); st.Code() != codes.InvalidArgument {
			b.Fatal(st.Code())
		}
	}
}

// TestTranslateWithInfoMatchesStatus pins what the benchmarks measure to
// what a caller decodes: every detail decodes with no unknown field, the
// same error always gives the same status, and TranslateWithInfo reports
// the reason and metadata of the ErrorInfo the status carries.
func TestTranslateWithInfoMatchesStatus(t *testing.T) {
	put := errmap.Call{Method: upstream.MethodPut, PropertyID: "1000001"}
	local := errmap.Invalid([]errmap.Violation{{Field: "property_id", OTACode: "320", Description: "digits only"}}, put).Err()
	for name, err := range map[string]error{
		"320x3":  badRequest320(),
		"404":    &upstream.APIError{Method: upstream.MethodGet, HTTPStatus: 404, Errors: []upstream.Message{{Code: "635"}}, RequestID: "r1"},
		"429":    &upstream.APIError{Method: upstream.MethodGet, HTTPStatus: 429, RetryAfter: 3 * time.Second},
		"150":    &upstream.APIError{Method: upstream.MethodPost, HTTPStatus: 400, Errors: []upstream.Message{{Code: "150"}}},
		"decode": &upstream.DecodeError{Method: upstream.MethodGet, HTTPStatus: 502, Kind: upstream.DecodeNotObject},
		"token":  &upstreamauth.Error{Kind: upstreamauth.KindRateLimited, HTTPStatus: 429, RequestID: "r2", RetryAfter: time.Minute},
		"local":  local,
		"plain":  errors.New("boom"),
	} {
		t.Run(name, func(t *testing.T) {
			tr := errmap.TranslateWithInfo(err, put)
			if diff := cmp.Diff(tr.Status.Proto(), errmap.Translate(err, put).Proto(), protocmp.Transform()); diff != "" {
				t.Fatalf("two translations differ (-first +second):\n%s", diff)
			}
			var info *errdetails.ErrorInfo
			for _, a := range tr.Status.Proto().GetDetails() {
				m, err := a.UnmarshalNew()
				if err != nil {
					t.Fatalf("%s: %v", a.GetTypeUrl(), err)
				}
				if u := m.ProtoReflect().GetUnknown(); len(u) > 0 {
					t.Fatalf("%s has unknown fields %x", a.GetTypeUrl(), u)
				}
				if ei, ok := m.(*errdetails.ErrorInfo); ok {
					info = ei
				}
			}
			want := &errdetails.ErrorInfo{Reason: tr.Reason, Domain: errmap.Domain, Metadata: tr.Metadata}
			if !proto.Equal(info, want) {
				t.Fatalf("status has ErrorInfo %v, TranslateWithInfo says %v", info, want)
			}
		})
	}
	if tr := errmap.TranslateWithInfo(nil, put); tr.Status != nil || tr.Reason != "" {
		t.Fatalf("nil error: %+v", tr)
	}
}
