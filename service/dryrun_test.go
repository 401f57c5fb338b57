package service_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/google/go-cmp/cmp"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/access"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/service"
)

// outcome is what a write answers of what it wrote (or would write).
type outcome struct {
	contacts, deleted, previous []*contactsv1.Contact
	etag                        string
}

// dryRunCase is one write RPC: call makes it, with validate_only as
// asked and etag (may be "") as the request's etag.
type dryRunCase struct {
	name     string
	property int32
	call     func(s *stack, dry bool, etag string) (outcome, error)
}

func dryRunCases(t *testing.T) []dryRunCase {
	gen, inv, res := contactsv1.ProfileType_PROFILE_TYPE_GENERAL, contactsv1.ProfileType_PROFILE_TYPE_INVOICES, contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS
	id := strconv.Itoa(emulator.DemoPropertyFull)
	return []dryRunCase{
		{"ReplaceContacts", emulator.DemoPropertyFull, func(s *stack, dry bool, etag string) (outcome, error) {
			r, err := s.client.ReplaceContacts(ctxT(t), &contactsv1.ReplaceContactsRequest{PropertyId: id, Etag: etag, ValidateOnly: dry,
				Contacts: []*contactsv1.Contact{validContact(gen, inv)}})
			return outcome{r.GetContacts(), r.GetDeletedContacts(), r.GetPreviousContacts(), r.GetEtag()}, err
		}},
		{"CreateContacts", emulator.DemoPropertyEmpty, func(s *stack, dry bool, _ string) (outcome, error) {
			r, err := s.client.CreateContacts(ctxT(t), &contactsv1.CreateContactsRequest{PropertyId: strconv.Itoa(emulator.DemoPropertyEmpty),
				ValidateOnly: dry, Contacts: []*contactsv1.Contact{validContact(gen)}})
			return outcome{r.GetContacts(), r.GetDeletedContacts(), r.GetPreviousContacts(), r.GetEtag()}, err
		}},
		{"SetProfileContacts", emulator.DemoPropertyFull, func(s *stack, dry bool, etag string) (outcome, error) {
			r, err := s.client.SetProfileContacts(ctxT(t), &contactsv1.SetProfileContactsRequest{PropertyId: id, Etag: etag, ValidateOnly: dry,
				Profile: res, Contacts: []*contactsv1.Contact{validContact(res)}})
			return outcome{r.GetContacts(), r.GetDeletedContacts(), r.GetPreviousContacts(), r.GetEtag()}, err
		}},
		{"UpdateProfileContact", emulator.DemoPropertyFull, func(s *stack, dry bool, etag string) (outcome, error) {
			r, err := s.client.UpdateProfileContact(ctxT(t), &contactsv1.UpdateProfileContactRequest{PropertyId: id, Etag: etag, ValidateOnly: dry,
				Profile: inv, Contact: &contactsv1.Contact{Email: "invoices@example.com"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"email"}}})
			return outcome{r.GetContacts(), r.GetDeletedContacts(), r.GetPreviousContacts(), r.GetEtag()}, err
		}},
		{"ClearProfileContacts", emulator.DemoPropertyFull, func(s *stack, dry bool, etag string) (outcome, error) {
			r, err := s.client.ClearProfileContacts(ctxT(t), &contactsv1.ClearProfileContactsRequest{PropertyId: id, Etag: etag, ValidateOnly: dry,
				Profile: res})
			return outcome{r.GetContacts(), r.GetDeletedContacts(), r.GetPreviousContacts(), r.GetEtag()}, err
		}},
	}
}

// TestDryRunShowsWhatTheRealCallWrites (issue 29): for each write RPC, a
// validate_only call sends nothing upstream and answers exactly what the
// real call then writes and deletes, with the etag it was computed
// against; the real call made with that etag succeeds.
func TestDryRunShowsWhatTheRealCallWrites(t *testing.T) {
	for _, tc := range dryRunCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, nil)
			id := strconv.Itoa(int(tc.property))
			before := list(t, s, id)
			writes := s.emu.Puts(tc.property) + s.emu.Posts(tc.property)

			dry, err := tc.call(s, true, "")
			if err != nil {
				t.Fatalf("dry run: %v", err)
			}
			if n := s.emu.Puts(tc.property) + s.emu.Posts(tc.property); n != writes {
				t.Fatalf("the dry run sent %d writes upstream", n-writes)
			}
			if after := list(t, s, id); after.GetEtag() != before.GetEtag() {
				t.Fatal("the dry run changed the property")
			}
			if dry.etag != before.GetEtag() {
				t.Errorf("dry run etag %s, want the one it was computed against, %s", dry.etag, before.GetEtag())
			}

			real, err := tc.call(s, false, dry.etag)
			if err != nil {
				t.Fatalf("real call with the dry run's etag: %v", err)
			}
			opts := cmp.Options{protocmp.Transform()}
			if d := cmp.Diff(real.contacts, dry.contacts, opts); d != "" {
				t.Errorf("contacts: the dry run showed what the real call did not write (-real +dry):\n%s", d)
			}
			if d := cmp.Diff(real.deleted, dry.deleted, opts); d != "" {
				t.Errorf("deleted: (-real +dry):\n%s", d)
			}
			if d := cmp.Diff(real.previous, dry.previous, opts); d != "" {
				t.Errorf("previous: (-real +dry):\n%s", d)
			}
			if got := list(t, s, id); got.GetEtag() != real.etag {
				t.Errorf("after the real call the property has etag %s, the call answered %s", got.GetEtag(), real.etag)
			}
		})
	}
}

// TestDryRunDeletesWhatTheOverlayDeletes: a Replace that leaves out a
// contact shows it in deleted_contacts, dry and real alike.
func TestDryRunDeletesWhatTheOverlayDeletes(t *testing.T) {
	s := newStack(t, nil)
	before := list(t, s, fullID)
	gen := contactsv1.ProfileType_PROFILE_TYPE_GENERAL
	dry, err := s.client.ReplaceContacts(ctxT(t), &contactsv1.ReplaceContactsRequest{PropertyId: fullID, ValidateOnly: true,
		Contacts: []*contactsv1.Contact{validContact(gen)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.GetDeletedContacts()) != len(before.GetContacts()) || len(before.GetContacts()) == 0 {
		t.Fatalf("deleted %d of %d contacts, want all: none of them is sent again", len(dry.GetDeletedContacts()), len(before.GetContacts()))
	}
}

// TestDryRunRefusesLikeTheRealCall (issue 29): a request the real call
// refuses is refused by the dry run with the same status (code, message,
// ErrorInfo, BadRequest), but for the upstream's id of the fresh read.
func TestDryRunRefusesLikeTheRealCall(t *testing.T) {
	inv := contactsv1.ProfileType_PROFILE_TYPE_INVOICES
	bad := validContact(inv)
	bad.Email = "not an address"
	for _, tc := range []struct {
		name string
		call func(s *stack, dry bool) error
	}{
		{"invalid field", func(s *stack, dry bool) error {
			_, err := s.client.SetProfileContacts(ctxT(t), &contactsv1.SetProfileContactsRequest{PropertyId: fullID, ValidateOnly: dry,
				Profile: inv, Contacts: []*contactsv1.Contact{bad}})
			return err
		}},
		{"stale etag", func(s *stack, dry bool) error {
			_, err := s.client.ClearProfileContacts(ctxT(t), &contactsv1.ClearProfileContactsRequest{PropertyId: fullID, ValidateOnly: dry,
				Profile: inv, Etag: `W/"0000000000000000"`})
			return err
		}},
		{"general cannot be cleared", func(s *stack, dry bool) error {
			_, err := s.client.ClearProfileContacts(ctxT(t), &contactsv1.ClearProfileContactsRequest{PropertyId: fullID, ValidateOnly: dry,
				Profile: contactsv1.ProfileType_PROFILE_TYPE_GENERAL})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, nil)
			realSt, drySt := status.Convert(tc.call(s, false)), status.Convert(tc.call(s, true))
			if realSt.Code() == 0 {
				t.Fatal("the real call succeeded")
			}
			if d := cmp.Diff(withoutReadID(realSt), withoutReadID(drySt), protocmp.Transform()); d != "" {
				t.Errorf("dry run refused otherwise (-real +dry):\n%s", d)
			}
		})
	}
}

// withoutReadID is st as a proto with the upstream id of the fresh read
// cleared from its ErrorInfo: each read has its own.
func withoutReadID(st *status.Status) proto.Message {
	p := st.Proto()
	for _, a := range p.GetDetails() {
		var info errdetails.ErrorInfo
		if a.UnmarshalTo(&info) == nil && info.GetMetadata() != nil {
			info.Metadata["requestId"] = ""
			_ = a.MarshalFrom(&info)
		}
	}
	return p
}

// TestDryRunIsAuditedAsOne (issue 29): the audit record of a dry run says
// so; the real call's does not.
func TestDryRunIsAuditedAsOne(t *testing.T) {
	var trail syncBuf
	s := newGatedStack(t, service.Config{Audit: access.NewTrail(&trail)})
	res := contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS
	for _, dry := range []bool{true, false} {
		if _, err := s.client.SetProfileContacts(ctxT(t), &contactsv1.SetProfileContactsRequest{PropertyId: fullID, ValidateOnly: dry,
			Profile: res, Contacts: []*contactsv1.Contact{validContact(res)}}); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(trail.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d records, want 2:\n%s", len(lines), trail.String())
	}
	for i, want := range []bool{true, false} {
		var rec access.Record
		if err := json.Unmarshal([]byte(lines[i]), &rec); err != nil || rec.DryRun != want || rec.Code != "OK" {
			t.Errorf("record %d: %+v (%v), want dry_run %v", i, rec, err, want)
		}
	}
}
