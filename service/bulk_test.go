package service_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/service"
)

// extraID is the id of the i-th of the emulator's ExtraProperties.
func extraID(i int) string { return strconv.Itoa(emulator.FirstExtraProperty + i) }

// reservations is the contact the bulk tests make serve RESERVATIONS.
func reservations() *contactsv1.Contact {
	c := validContact(contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS)
	c.Email = "bookings@example.com"
	return c
}

// waitDone waits for the operation to end, with WaitOperation.
func waitDone(t *testing.T, s *stack, name string) *longrunningpb.Operation {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		op, err := s.ops.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: name, Timeout: durationpb.New(10 * time.Second)})
		if err != nil {
			t.Fatalf("WaitOperation: %v", err)
		}
		if op.GetDone() {
			return op
		}
	}
}

// metadataOf and resultsOf unpack an operation.
func metadataOf(t *testing.T, op *longrunningpb.Operation) *contactsv1.BulkEditMetadata {
	t.Helper()
	md := new(contactsv1.BulkEditMetadata)
	if err := op.GetMetadata().UnmarshalTo(md); err != nil {
		t.Fatalf("metadata: %v", err)
	}
	return md
}

func resultsOf(t *testing.T, op *longrunningpb.Operation) []*contactsv1.BulkItemResult {
	t.Helper()
	resp := new(contactsv1.BulkEditResponse)
	if e := op.GetError(); e != nil {
		for _, d := range status.FromProto(e).Details() {
			if r, ok := d.(*contactsv1.BulkEditResponse); ok {
				return r.GetResults()
			}
		}
		t.Fatalf("operation failed with %v and no results", e)
	}
	if err := op.GetResponse().UnmarshalTo(resp); err != nil {
		t.Fatalf("response: %v", err)
	}
	return resp.GetResults()
}

// counts is what a test pins of the metadata's progress.
type counts struct{ Total, Changed, Unchanged, Failed, Cancelled, Remaining int32 }

func countsOf(md *contactsv1.BulkEditMetadata) counts {
	return counts{md.GetTotal(), md.GetChanged(), md.GetUnchanged(), md.GetFailed(), md.GetCancelled(), md.GetRemaining()}
}

// TestBulkEditFailedRequests is the first test: a bulk edit of 200
// properties on the emulator, three of which fail (an unknown property, a
// property whose contacts would become invalid, a stale etag), ends with
// exactly those indexes in failed_requests, each holding the status the
// single call returns; every other property is written once; the result
// gives each property's etags and upstream id. Run again, it writes
// nothing.
func TestBulkEditFailedRequests(t *testing.T) {
	s := newEmulatedStack(t, emulator.Options{ExtraProperties: 200}, nil, service.Config{})
	ctx := ctxT(t)
	first, err := s.client.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: extraID(0)})
	if err != nil {
		t.Fatal(err)
	}
	stale := first.GetEtag()
	if _, err := s.client.UpdateProfileContact(ctx, &contactsv1.UpdateProfileContactRequest{PropertyId: extraID(99),
		Profile: contactsv1.ProfileType_PROFILE_TYPE_GENERAL, Contact: &contactsv1.Contact{Email: "moved@example.com"}}); err != nil {
		t.Fatal(err)
	}
	targets := make([]*contactsv1.BulkTarget, 200)
	for i := range targets {
		targets[i] = &contactsv1.BulkTarget{PropertyId: extraID(i)}
	}
	targets[17].PropertyId = "9999999" // unknown: NOT_FOUND, OTA 635
	targets[42].PropertyId = "1000003" // no GENERAL contact: the result is not writable
	targets[99].Etag = stale           // changed since: ABORTED ETAG_MISMATCH
	failing := map[int32]bool{17: true, 42: true, 99: true}
	req := &contactsv1.BulkEditProfileRequest{Targets: targets, Profile: contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS,
		Edit: &contactsv1.BulkEditProfileRequest_Set{Set: &contactsv1.BulkSetProfile{Contacts: []*contactsv1.Contact{reservations()}}}}

	started, err := s.client.BulkEditProfile(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if md := metadataOf(t, started); md.GetTotal() != 200 || md.GetMethod() != "BulkEditProfile" || md.GetEstimate().GetUpstreamCalls() != 400 {
		t.Errorf("metadata at start: %v", md)
	}
	op := waitDone(t, s, started.GetName())
	md := metadataOf(t, op)
	if got, want := countsOf(md), (counts{Total: 200, Changed: 197, Failed: 3}); got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}
	var keys []int32
	for k := range md.GetFailedRequests() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []int32{17, 42, 99}) {
		t.Fatalf("failed_requests at %v, want [17 42 99]", keys)
	}
	// Each is what the single call returns.
	for _, i := range keys {
		_, err := s.client.SetProfileContacts(ctx, &contactsv1.SetProfileContactsRequest{PropertyId: targets[i].GetPropertyId(),
			Etag: targets[i].GetEtag(), Profile: req.GetProfile(), Contacts: req.GetSet().GetContacts()})
		if err == nil {
			t.Fatalf("item %d: the single call succeeded", i)
		}
		if diff := cmp.Diff(withoutRequestID(status.Convert(err)), withoutRequestID(status.FromProto(md.GetFailedRequests()[i])), protocmp.Transform()); diff != "" {
			t.Errorf("item %d: status (-single call +failed_requests):\n%s", i, diff)
		}
	}
	wantCodes := map[int32]codes.Code{17: codes.NotFound, 42: codes.FailedPrecondition, 99: codes.Aborted}
	for i, c := range wantCodes {
		if got := status.FromProto(md.GetFailedRequests()[i]).Code(); got != c {
			t.Errorf("item %d: %v, want %v", i, got, c)
		}
	}

	results := resultsOf(t, op)
	if len(results) != 200 {
		t.Fatalf("%d results, want 200", len(results))
	}
	for i, r := range results {
		if int(r.GetIndex()) != i || r.GetPropertyId() != targets[i].GetPropertyId() {
			t.Fatalf("result %d is %v", i, r)
		}
		if failing[int32(i)] {
			if r.GetOutcome() != contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_FAILED {
				t.Errorf("result %d: %v, want FAILED", i, r.GetOutcome())
			}
			continue
		}
		now, err := s.client.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: r.GetPropertyId()})
		if err != nil {
			t.Fatal(err)
		}
		if r.GetOutcome() != contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_CHANGED || r.GetEtagAfter() != now.GetEtag() ||
			r.GetEtagBefore() == r.GetEtagAfter() || r.GetUpstreamRequestId() == "" {
			t.Errorf("result %d: %v; the property's etag now %s", i, r, now.GetEtag())
		}
		id, _ := strconv.Atoi(r.GetPropertyId())
		if puts := s.emu.Puts(int32(id)); puts != 1 {
			t.Errorf("property %s written %d times, want once", r.GetPropertyId(), puts)
		}
	}

	// The same edit again: every property already has it.
	again, err := s.client.BulkEditProfile(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if again.GetName() == started.GetName() {
		t.Fatal("a second operation got the first one's name")
	}
	md = metadataOf(t, waitDone(t, s, again.GetName()))
	if got, want := countsOf(md), (counts{Total: 200, Unchanged: 197, Failed: 3}); got != want {
		t.Errorf("second run: counts %+v, want %+v", got, want)
	}
	if puts := s.emu.Puts(int32(emulator.FirstExtraProperty)); puts != 1 {
		t.Errorf("the second run wrote: %d PUTs", puts)
	}
}

// TestBulkValidation: a bad request is refused whole, before any
// operation starts, with one violation per bad field in the bulk
// request's terms.
func TestBulkValidation(t *testing.T) {
	s := newStack(t, nil)
	set := &contactsv1.BulkEditProfileRequest_Set{Set: &contactsv1.BulkSetProfile{Contacts: []*contactsv1.Contact{reservations()}}}
	bad := validContact(contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS)
	bad.Email = "not an address"
	tooMany := make([]*contactsv1.BulkTarget, service.MaxBulkTargets+1)
	for i := range tooMany {
		tooMany[i] = &contactsv1.BulkTarget{PropertyId: strconv.Itoa(1000000 + i)}
	}
	one := []*contactsv1.BulkTarget{{PropertyId: "1000001"}}
	tests := []struct {
		name string
		call func(context.Context) error
		want want
	}{
		{"no targets", func(ctx context.Context) error {
			_, err := s.client.BulkEditProfile(ctx, &contactsv1.BulkEditProfileRequest{Profile: contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS, Edit: set})
			return err
		}, want{code: codes.InvalidArgument, reason: "REQUIRED_FIELD_MISSING", otaCode: "321", fields: []string{"targets"}}},
		{"too many targets", func(ctx context.Context) error {
			_, err := s.client.BulkEditProfile(ctx, &contactsv1.BulkEditProfileRequest{Targets: tooMany, Profile: contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS, Edit: set})
			return err
		}, want{code: codes.InvalidArgument, reason: "INVALID_VALUE", otaCode: "320", fields: []string{"targets"}}},
		{"bad and duplicate targets, bad etag", func(ctx context.Context) error {
			_, err := s.client.BulkEditProfile(ctx, &contactsv1.BulkEditProfileRequest{Targets: []*contactsv1.BulkTarget{
				{PropertyId: "1000001"}, {PropertyId: "12a"}, {PropertyId: "1000001"}, {PropertyId: "1000002", Etag: "nope"}},
				Profile: contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS, Edit: set})
			return err
		}, want{code: codes.InvalidArgument, reason: "INVALID_VALUE", otaCode: "320",
			fields: []string{"targets[1].property_id", "targets[2].property_id", "targets[3].etag"}}},
		{"no edit", func(ctx context.Context) error {
			_, err := s.client.BulkEditProfile(ctx, &contactsv1.BulkEditProfileRequest{Targets: one, Profile: contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS})
			return err
		}, want{code: codes.InvalidArgument, reason: "REQUIRED_FIELD_MISSING", otaCode: "321", fields: []string{"edit"}}},
		{"a bad contact in the edit", func(ctx context.Context) error {
			_, err := s.client.BulkEditProfile(ctx, &contactsv1.BulkEditProfileRequest{Targets: one, Profile: contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS,
				Edit: &contactsv1.BulkEditProfileRequest_Set{Set: &contactsv1.BulkSetProfile{Contacts: []*contactsv1.Contact{bad}}}})
			return err
		}, want{code: codes.InvalidArgument, reason: "INVALID_VALUE", otaCode: "320", fields: []string{"set.contacts[0].email"}}},
		{"a bad update mask", func(ctx context.Context) error {
			_, err := s.client.BulkEditProfile(ctx, &contactsv1.BulkEditProfileRequest{Targets: one, Profile: contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS,
				Edit: &contactsv1.BulkEditProfileRequest_Update{Update: &contactsv1.BulkUpdateProfile{Contact: reservations(), UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"profiles"}}}}})
			return err
		}, want{code: codes.InvalidArgument, reason: "INVALID_VALUE", otaCode: "320", fields: []string{"update.update_mask.paths[0]"}}},
		{"clearing GENERAL", func(ctx context.Context) error {
			_, err := s.client.BulkEditProfile(ctx, &contactsv1.BulkEditProfileRequest{Targets: one, Profile: contactsv1.ProfileType_PROFILE_TYPE_GENERAL,
				Edit: &contactsv1.BulkEditProfileRequest_Clear{Clear: &contactsv1.BulkClearProfile{}}})
			return err
		}, want{code: codes.FailedPrecondition, reason: "GENERAL_REQUIRED"}},
		{"a template without GENERAL", func(ctx context.Context) error {
			_, err := s.client.ApplyContactsTemplate(ctx, &contactsv1.ApplyContactsTemplateRequest{Targets: one, Contacts: []*contactsv1.Contact{reservations()}})
			return err
		}, want{code: codes.InvalidArgument, reason: "REQUIRED_FIELD_MISSING", otaCode: "321", fields: []string{"contacts"}}},
		{"a revert of no operation", func(ctx context.Context) error {
			_, err := s.client.RevertBulkEdit(ctx, &contactsv1.RevertBulkEditRequest{Name: "jobs/1"})
			return err
		}, want{code: codes.InvalidArgument, reason: "INVALID_VALUE", otaCode: "320", fields: []string{"name"}}},
		{"a revert of an unknown operation", func(ctx context.Context) error {
			_, err := s.client.RevertBulkEdit(ctx, &contactsv1.RevertBulkEditRequest{Name: "operations/abc"})
			return err
		}, want{code: codes.NotFound, reason: "OPERATION_NOT_FOUND", resource: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkStatus(t, tt.call(ctxT(t)), tt.want)
		})
	}
	if ops, err := s.ops.ListOperations(ctxT(t), &longrunningpb.ListOperationsRequest{}); err != nil || len(ops.GetOperations()) != 0 {
		t.Errorf("refused requests started operations: %v, %v", ops, err)
	}
}

// TestBulkRevert: reverting a bulk edit puts back each property's
// contacts, except where the property changed since: that item fails
// with ABORTED ETAG_MISMATCH and the property keeps its newer contacts.
func TestBulkRevert(t *testing.T) {
	s := newEmulatedStack(t, emulator.Options{ExtraProperties: 5}, nil, service.Config{})
	ctx := ctxT(t)
	var targets []*contactsv1.BulkTarget
	before := map[string]string{}
	for i := range 5 {
		id := extraID(i)
		targets = append(targets, &contactsv1.BulkTarget{PropertyId: id})
		got, err := s.client.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: id})
		if err != nil {
			t.Fatal(err)
		}
		before[id] = got.GetEtag()
	}
	invoices := validContact()
	invoices.Email = "invoices@example.com"
	edit := &contactsv1.BulkEditProfileRequest_Set{Set: &contactsv1.BulkSetProfile{Contacts: []*contactsv1.Contact{invoices}}}
	started, err := s.client.BulkEditProfile(ctx, &contactsv1.BulkEditProfileRequest{Targets: targets, Profile: contactsv1.ProfileType_PROFILE_TYPE_INVOICES, Edit: edit})
	if err != nil {
		t.Fatal(err)
	}
	// A revert before the operation ended is refused; one may be too late
	// to see it running, so only the reason is pinned when it is refused.
	if _, err := s.client.RevertBulkEdit(ctx, &contactsv1.RevertBulkEditRequest{Name: started.GetName()}); err != nil {
		checkStatus(t, err, want{code: codes.FailedPrecondition, reason: "OPERATION_RUNNING", resource: true})
	}
	waitDone(t, s, started.GetName())
	// Someone changes property 2 after the operation.
	changed, err := s.client.UpdateProfileContact(ctx, &contactsv1.UpdateProfileContactRequest{PropertyId: extraID(2),
		Profile: contactsv1.ProfileType_PROFILE_TYPE_GENERAL, Contact: &contactsv1.Contact{Email: "new.owner@example.com"}})
	if err != nil {
		t.Fatal(err)
	}

	rev, err := s.client.RevertBulkEdit(ctx, &contactsv1.RevertBulkEditRequest{Name: started.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	op := waitDone(t, s, rev.GetName())
	md := metadataOf(t, op)
	if got, want := countsOf(md), (counts{Total: 5, Changed: 4, Failed: 1}); got != want || md.GetReverts() != started.GetName() || md.GetMethod() != "RevertBulkEdit" {
		t.Errorf("revert: counts %+v (want %+v), reverts %q, method %q", got, want, md.GetReverts(), md.GetMethod())
	}
	st := status.FromProto(md.GetFailedRequests()[2])
	checkStatus(t, st.Err(), want{code: codes.Aborted, reason: "ETAG_MISMATCH"})
	for i := range 5 {
		id := extraID(i)
		got, err := s.client.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: id})
		if err != nil {
			t.Fatal(err)
		}
		want := before[id]
		if i == 2 {
			want = changed.GetEtag()
		}
		if got.GetEtag() != want {
			t.Errorf("property %s: etag %s after the revert, want %s", id, got.GetEtag(), want)
		}
	}

	// A dry run changes nothing, so it cannot be reverted.
	dry, err := s.client.BulkEditProfile(ctx, &contactsv1.BulkEditProfileRequest{Targets: targets, Profile: contactsv1.ProfileType_PROFILE_TYPE_INVOICES,
		ValidateOnly: true, Edit: edit})
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, s, dry.GetName())
	_, err = s.client.RevertBulkEdit(ctx, &contactsv1.RevertBulkEditRequest{Name: dry.GetName()})
	checkStatus(t, err, want{code: codes.FailedPrecondition, reason: "OPERATION_NOT_REVERTIBLE", resource: true})
}

// TestBulkDryRun: a dry run reads every property and writes none; its
// results say which would change, and its estimate is then exact.
func TestBulkDryRun(t *testing.T) {
	s := newEmulatedStack(t, emulator.Options{ExtraProperties: 10}, nil, service.Config{BulkCallsPerMinute: 60})
	ctx := ctxT(t)
	var targets []*contactsv1.BulkTarget
	for i := range 10 {
		targets = append(targets, &contactsv1.BulkTarget{PropertyId: extraID(i)})
	}
	template := []*contactsv1.Contact{validContact(contactsv1.ProfileType_PROFILE_TYPE_GENERAL)}
	// Property 3 already has the template.
	if _, err := s.client.ReplaceContacts(ctx, &contactsv1.ReplaceContactsRequest{PropertyId: extraID(3), Contacts: template}); err != nil {
		t.Fatal(err)
	}
	started, err := s.client.ApplyContactsTemplate(ctx, &contactsv1.ApplyContactsTemplateRequest{Targets: targets, Contacts: template, ValidateOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	op := waitDone(t, s, started.GetName())
	md := metadataOf(t, op)
	if got, want := countsOf(md), (counts{Total: 10, Changed: 9, Unchanged: 1}); got != want || !md.GetValidateOnly() {
		t.Errorf("counts %+v, want %+v; validate_only %v", got, want, md.GetValidateOnly())
	}
	// 10 GETs and 9 PUTs at 60 a minute.
	if e := md.GetEstimate(); e.GetUpstreamCalls() != 19 || e.GetDuration().AsDuration() != 19*time.Second || e.GetBulkCallsPerMinute() != 60 {
		t.Errorf("estimate %v, want 19 calls, 19s at 60/min", e)
	}
	for i := range 10 {
		if puts := s.emu.Puts(int32(emulator.FirstExtraProperty + i)); puts != map[bool]int{true: 1, false: 0}[i == 3] {
			t.Errorf("property %d: %d PUTs after a dry run", i, puts)
		}
	}
	if r := resultsOf(t, op)[3]; r.GetOutcome() != contactsv1.BulkItemOutcome_BULK_ITEM_OUTCOME_UNCHANGED {
		t.Errorf("property 3: %v", r)
	}
}

// TestBulkStartIsIdempotent: the same request_id and request returns the
// operation the first call started; with another request it is refused.
func TestBulkStartIsIdempotent(t *testing.T) {
	s := newStack(t, nil)
	ctx := ctxT(t)
	req := &contactsv1.ApplyContactsTemplateRequest{Targets: []*contactsv1.BulkTarget{{PropertyId: "1000003"}},
		Contacts: []*contactsv1.Contact{validContact(contactsv1.ProfileType_PROFILE_TYPE_GENERAL)}, RequestId: "8f14e45f-ceea-467f-a0e6-4f0c3b1d9a21"}
	first, err := s.client.ApplyContactsTemplate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.client.ApplyContactsTemplate(ctx, req)
	if err != nil || again.GetName() != first.GetName() {
		t.Fatalf("retry: %v, %v; want %s", again.GetName(), err, first.GetName())
	}
	other := proto.CloneOf(req)
	other.Targets[0].PropertyId = "1000001"
	_, err = s.client.ApplyContactsTemplate(ctx, other)
	checkStatus(t, err, want{code: codes.InvalidArgument, reason: "REQUEST_ID_REUSED", fields: []string{"request_id"}})
	waitDone(t, s, first.GetName())
	if puts := s.emu.Puts(1000003); puts != 1 {
		t.Errorf("%d PUTs, want 1", puts)
	}
}
