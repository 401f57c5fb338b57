package service

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/safeedit"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// FuzzValidateUpdate feeds arbitrary bytes, decoded as an
// UpdateProfileContactRequest, to its validation and, when accepted, to
// the merge against the first seed's contacts: nothing panics, every
// violation names a field of the request, and an accepted update either
// fails with a status or yields contacts with exactly one GENERAL.
//
// Longer runs: go test -run '^$' -fuzz '^FuzzValidateUpdate$' -fuzztime 10m ./service
func FuzzValidateUpdate(f *testing.F) {
	state := fuzzSeeds()[0].GetContacts()
	for _, seed := range []*contactsv1.UpdateProfileContactRequest{
		{PropertyId: "1000001", Profile: contactsv1.ProfileType_PROFILE_TYPE_GENERAL, Contact: state[0],
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"email", "phones", "contact_person.name"}}},
		{PropertyId: "1000001", Profile: contactsv1.ProfileType_PROFILE_TYPE_INVOICES, Contact: &contactsv1.Contact{},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"phones[0]", "*", "address"}}, Etag: `W/"x"`, RequestId: "nope"},
	} {
		b, err := proto.Marshal(seed)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var req contactsv1.UpdateProfileContactRequest
		if proto.Unmarshal(b, &req) != nil {
			return
		}
		mask, vs := validateUpdateProfile(&req)
		for _, v := range vs {
			ok := false
			for _, prefix := range []string{"property_id", "profile", "contact", "update_mask.paths[", "etag", "request_id"} {
				ok = ok || strings.HasPrefix(v.Field, prefix)
			}
			if !ok || v.Description == "" {
				t.Fatalf("violation %+v", v)
			}
		}
		if len(vs) > 0 {
			if _, err := proto.Marshal(errmap.Invalid(vs, errmap.Call{Method: upstream.MethodPut}).Proto()); err != nil {
				t.Fatal(err)
			}
			return
		}
		next, updated, err := safeedit.UpdateProfile(state, req.GetProfile(), req.GetContact(), mask)
		if err != nil {
			if mergeFailed(errmap.Call{}, err) == nil {
				t.Fatal("a merge error without a status")
			}
			return
		}
		var cvs violations
		validateContent(&cvs, "contact", updated)
		if len(safeedit.Serving(next, contactsv1.ProfileType_PROFILE_TYPE_GENERAL)) != 1 {
			t.Fatal("not exactly one GENERAL contact")
		}
	})
}
