package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/google/go-cmp/cmp"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/safeedit"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/service"
)

var (
	fullID    = strconv.Itoa(emulator.DemoPropertyFull)
	allWrites = []contactsv1.ProfileType{
		contactsv1.ProfileType_PROFILE_TYPE_GENERAL, contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS,
		contactsv1.ProfileType_PROFILE_TYPE_INVOICES, contactsv1.ProfileType_PROFILE_TYPE_AVAILABILITY,
		contactsv1.ProfileType_PROFILE_TYPE_SITE_CONTENT, contactsv1.ProfileType_PROFILE_TYPE_PARITY,
		contactsv1.ProfileType_PROFILE_TYPE_REQUESTS, contactsv1.ProfileType_PROFILE_TYPE_CENTRAL_RESERVATIONS,
	}
)

const (
	general  = contactsv1.ProfileType_PROFILE_TYPE_GENERAL
	invoices = contactsv1.ProfileType_PROFILE_TYPE_INVOICES
)

func ctxLong(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// named is a valid contact of its own: name and e-mail from name.
func named(name string) *contactsv1.Contact {
	c := validContact()
	c.ContactPerson.Name = name
	c.Email = name + "@example.com"
	return c
}

// contentSet is the set of contents (contacts without profiles) serving p.
func contentSet(cs []*contactsv1.Contact, p contactsv1.ProfileType) map[string]bool {
	out := map[string]bool{}
	for _, c := range safeedit.Serving(cs, p) {
		c = proto.CloneOf(c)
		c.Profiles = nil
		out[safeedit.Etag([]*contactsv1.Contact{c})] = true
	}
	return out
}

func list(t *testing.T, s *stack, id string) *contactsv1.ListContactsResponse {
	t.Helper()
	resp, err := s.client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: id})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// call is one of the workload's writes: profile p to the contacts of
// call i.
type call struct {
	p    contactsv1.ProfileType
	i    int
	want []*contactsv1.Contact
}

// workload is 8 profiles × 20 calls. Each call sets its profile to a
// contact of its own; every other non-GENERAL call adds a contact shared
// by all, so that one contact ends up carrying several profiles.
func workload() []call {
	shared := named("shared")
	var calls []call
	for _, p := range allWrites {
		for i := range 20 {
			want := []*contactsv1.Contact{named(fmt.Sprintf("p%d-call%d", p, i))}
			if p != general && i%2 == 0 {
				want = append(want, shared)
			}
			calls = append(calls, call{p: p, i: i, want: want})
		}
	}
	return calls
}

// TestConcurrentSetProfileContacts: 160 concurrent SetProfileContacts on
// one property, no etags. The writes form one chain (each read the state
// the previous one wrote: none was lost), each profile ends with the
// contacts of its last call in that chain, and the property holds exactly
// the contacts the profiles imply.
func TestConcurrentSetProfileContacts(t *testing.T) {
	s := newStack(t, nil)
	ctx := ctxLong(t)
	start := list(t, s, fullID).GetEtag()
	calls := workload()
	type done struct {
		c    call
		resp *contactsv1.SetProfileContactsResponse
	}
	results := make(chan done, len(calls))
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Go(func() {
			resp, err := s.client.SetProfileContacts(ctx, &contactsv1.SetProfileContactsRequest{PropertyId: fullID, Profile: c.p, Contacts: c.want})
			if err != nil {
				t.Errorf("profile %v call %d: %v", c.p, c.i, err)
				return
			}
			results <- done{c, resp}
		})
	}
	wg.Wait()
	close(results)

	// Order the writes by the etag chain: each write's previous state is
	// the state the write before it left.
	byPrevious := map[string]done{}
	for d := range results {
		prev := safeedit.Etag(d.resp.GetPreviousContacts())
		if other, dup := byPrevious[prev]; dup {
			t.Fatalf("two writes read the same state (a lost update): %v call %d and %v call %d", d.c.p, d.c.i, other.c.p, other.c.i)
		}
		byPrevious[prev] = d
	}
	last := map[contactsv1.ProfileType]call{}
	etag, n := start, 0
	for ; ; n++ {
		d, ok := byPrevious[etag]
		if !ok {
			break
		}
		last[d.c.p] = d.c
		etag = d.resp.GetEtag()
	}
	if n != len(calls) {
		t.Fatalf("the chain of writes has %d links, want %d", n, len(calls))
	}

	final := list(t, s, fullID)
	if final.GetEtag() != etag {
		t.Errorf("the property's etag %s is not the last write's %s", final.GetEtag(), etag)
	}
	implied := map[string]bool{}
	lost := 0
	for _, p := range allWrites {
		want := contentSet(withProfile(last[p].want, p), p)
		for k := range want {
			implied[k] = true
		}
		if got := contentSet(final.GetContacts(), p); !cmp.Equal(got, want) {
			lost++
			t.Errorf("%v holds %d contacts, not the %d of its last call (%d)", p, len(got), len(want), last[p].i)
		}
	}
	if len(final.GetContacts()) != len(implied) {
		t.Errorf("the property has %d contacts, the profiles imply %d", len(final.GetContacts()), len(implied))
	}
	if puts := s.emu.Puts(emulator.DemoPropertyFull); puts != len(calls) {
		t.Errorf("%d PUTs for %d calls", puts, len(calls))
	}
	t.Logf("SetProfileContacts: %d concurrent calls, %d lost updates, %d contacts at the end", len(calls), lost, len(final.GetContacts()))
}

func withProfile(cs []*contactsv1.Contact, p contactsv1.ProfileType) []*contactsv1.Contact {
	out := make([]*contactsv1.Contact, len(cs))
	for i, c := range cs {
		out[i] = proto.CloneOf(c)
		out[i].Profiles = []contactsv1.ProfileType{p}
	}
	return out
}

// TestConcurrentReadEditReplace is the same workload written the old way:
// read, edit, ReplaceContacts. All 160 callers read before any writes (the
// worst interleaving, made deterministic by a barrier). Without etags
// every write but the first silently drops the others' updates; with
// etags the first wins and every other gets ABORTED, writing nothing.
func TestConcurrentReadEditReplace(t *testing.T) {
	for _, withEtags := range []bool{false, true} {
		t.Run(fmt.Sprintf("etags=%v", withEtags), func(t *testing.T) {
			s := newStack(t, nil)
			ctx := ctxLong(t)
			calls := workload()
			var (
				read    sync.WaitGroup
				barrier = make(chan struct{})
				mu      sync.Mutex
				stale   int // writes made over a state they had not read
				aborted int
				written = map[contactsv1.ProfileType]call{}
			)
			read.Add(len(calls))
			var wg sync.WaitGroup
			for _, c := range calls {
				wg.Go(func() {
					got, err := s.client.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: fullID})
					read.Done()
					if err != nil {
						t.Error(err)
						return
					}
					edited, err := safeedit.SetProfile(got.GetContacts(), c.p, c.want)
					if err != nil {
						t.Error(err)
						return
					}
					<-barrier
					req := &contactsv1.ReplaceContactsRequest{PropertyId: fullID, Contacts: edited}
					if withEtags {
						req.Etag = got.GetEtag()
					}
					resp, err := s.client.ReplaceContacts(ctx, req)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case status.Code(err) == codes.Aborted:
						aborted++
					case err != nil:
						t.Error(err)
					default:
						written[c.p] = c
						if safeedit.Etag(resp.GetPreviousContacts()) != got.GetEtag() {
							stale++
						}
					}
				})
			}
			read.Wait()
			close(barrier)
			wg.Wait()

			final := list(t, s, fullID)
			lostProfiles := 0
			for p, c := range written {
				if !cmp.Equal(contentSet(final.GetContacts(), p), contentSet(withProfile(c.want, p), p)) {
					lostProfiles++
				}
			}
			t.Logf("read-edit-ReplaceContacts, etags=%v: %d calls, %d writes over a state they had not read (lost updates), %d ABORTED, "+
				"%d of %d written profiles lost their last write, %d PUTs",
				withEtags, len(calls), stale, aborted, lostProfiles, len(written), s.emu.Puts(emulator.DemoPropertyFull))
			if withEtags {
				if stale != 0 || aborted != len(calls)-1 || s.emu.Puts(emulator.DemoPropertyFull) != 1 || lostProfiles != 0 {
					t.Errorf("with etags: %d stale writes, %d ABORTED, %d PUTs, %d lost profiles; want 0, %d, 1, 0",
						stale, aborted, s.emu.Puts(emulator.DemoPropertyFull), lostProfiles, len(calls)-1)
				}
				return
			}
			// The final state is the last PUT's, which carries at most
			// its own profile's last write; which call that was is the
			// write lock's order, not the order the answers came back in,
			// so one more profile may count as lost.
			if stale != len(calls)-1 || aborted != 0 || lostProfiles < len(allWrites)-1 {
				t.Errorf("without etags: %d stale writes, %d ABORTED, %d lost profiles; want %d, 0, at least %d",
					stale, aborted, lostProfiles, len(calls)-1, len(allWrites)-1)
			}
		})
	}
}

// errorInfo returns the ErrorInfo of err.
func errorInfo(t *testing.T, err error) *errdetails.ErrorInfo {
	t.Helper()
	for _, d := range status.Convert(err).Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei
		}
	}
	t.Fatalf("no ErrorInfo in %v", err)
	return nil
}

// outsideBody is a PUT body with one general contact, for OutsideWrite.
func outsideBody(t *testing.T, name string) []byte {
	t.Helper()
	b, err := json.Marshal(upstream.ContactsBody{Contacts: upstream.ContactsToWire([]*contactsv1.Contact{
		withProfile([]*contactsv1.Contact{named(name)}, general)[0]})})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOutsideWriterAborts: a writer outside the facade changes the
// property between a List and an etag'd write: ABORTED with the current
// etag, and nothing written.
func TestOutsideWriterAborts(t *testing.T) {
	s := newStack(t, nil)
	read := list(t, s, fullID)
	if err := s.emu.OutsideWrite(emulator.DemoPropertyFull, outsideBody(t, "extranet")); err != nil {
		t.Fatal(err)
	}
	now := list(t, s, fullID)
	writes := map[string]func() error{
		"ReplaceContacts": func() error {
			_, err := s.client.ReplaceContacts(ctxT(t), &contactsv1.ReplaceContactsRequest{PropertyId: fullID, Contacts: read.GetContacts(), Etag: read.GetEtag()})
			return err
		},
		"SetProfileContacts": func() error {
			_, err := s.client.SetProfileContacts(ctxT(t), &contactsv1.SetProfileContactsRequest{PropertyId: fullID, Profile: invoices,
				Contacts: []*contactsv1.Contact{named("inv")}, Etag: read.GetEtag()})
			return err
		},
		"ClearProfileContacts": func() error {
			_, err := s.client.ClearProfileContacts(ctxT(t), &contactsv1.ClearProfileContactsRequest{PropertyId: fullID, Profile: invoices, Etag: read.GetEtag()})
			return err
		},
	}
	for name, write := range writes {
		err := write()
		checkStatus(t, err, want{code: codes.Aborted, reason: contactsv1.ErrorReason_ETAG_MISMATCH.String()})
		if got := errorInfo(t, err).GetMetadata()[service.MetaCurrentEtag]; got != now.GetEtag() {
			t.Errorf("%s: currentEtag %q, want %q", name, got, now.GetEtag())
		}
	}
	if puts := s.emu.Puts(emulator.DemoPropertyFull); puts != 0 {
		t.Errorf("%d PUTs after etag mismatches, want 0", puts)
	}
	if after := list(t, s, fullID); after.GetEtag() != now.GetEtag() {
		t.Error("the property changed after refused writes")
	}
}

// TestRequestIDConcurrentDuplicates: the same request_id and request sent
// 10 times at once: one upstream PUT, 10 identical answers. The same id
// with another request is refused.
func TestRequestIDConcurrentDuplicates(t *testing.T) {
	s := newStack(t, nil)
	ctx := ctxLong(t)
	req := &contactsv1.SetProfileContactsRequest{PropertyId: fullID, Profile: invoices,
		Contacts: []*contactsv1.Contact{named("invoices")}, RequestId: "8f14e45f-ceea-467f-a0e6-4f0c3b1d9a21"}
	answers := make([]*contactsv1.SetProfileContactsResponse, 10)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			resp, err := s.client.SetProfileContacts(ctx, req)
			if err != nil {
				t.Error(err)
			}
			answers[i] = resp
		})
	}
	wg.Wait()
	if puts := s.emu.Puts(emulator.DemoPropertyFull); puts != 1 {
		t.Errorf("%d upstream PUTs for 10 duplicates, want 1", puts)
	}
	for i, a := range answers[1:] {
		if diff := cmp.Diff(answers[0], a, protocmp.Transform()); diff != "" {
			t.Errorf("answer %d differs from answer 0:\n%s", i+1, diff)
		}
	}
	// A later retry: still the first answer, still one PUT, even though
	// the state moved on meanwhile.
	if _, err := s.client.SetProfileContacts(ctx, &contactsv1.SetProfileContactsRequest{PropertyId: fullID, Profile: invoices,
		Contacts: []*contactsv1.Contact{named("newer")}}); err != nil {
		t.Fatal(err)
	}
	again, err := s.client.SetProfileContacts(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(again, answers[0]) || s.emu.Puts(emulator.DemoPropertyFull) != 2 {
		t.Errorf("a retry after another write wrote again or answered differently (%d PUTs)", s.emu.Puts(emulator.DemoPropertyFull))
	}

	other := proto.CloneOf(req)
	other.Contacts[0].Email = "other@example.com"
	_, err = s.client.SetProfileContacts(ctx, other)
	checkStatus(t, err, want{code: codes.InvalidArgument, reason: contactsv1.ErrorReason_REQUEST_ID_REUSED.String(), fields: []string{"request_id"}})
	_, err = s.client.ClearProfileContacts(ctx, &contactsv1.ClearProfileContactsRequest{PropertyId: fullID, Profile: invoices, RequestId: req.GetRequestId()})
	checkStatus(t, err, want{code: codes.InvalidArgument, reason: contactsv1.ErrorReason_REQUEST_ID_REUSED.String(), fields: []string{"request_id"}})
}

// TestUpdateSharedContact: the demo general+invoices contact gets a new
// e-mail for INVOICES only: GENERAL keeps the old one, the other profiles
// are untouched.
func TestUpdateSharedContact(t *testing.T) {
	s := newStack(t, nil)
	before := list(t, s, fullID).GetContacts()
	resp, err := s.client.UpdateProfileContact(ctxT(t), &contactsv1.UpdateProfileContactRequest{PropertyId: fullID, Profile: invoices,
		Contact: &contactsv1.Contact{Email: "invoices@example.com"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"email"}}})
	if err != nil {
		t.Fatal(err)
	}
	after := list(t, s, fullID)
	if after.GetEtag() != resp.GetEtag() {
		t.Errorf("List after the write gives etag %s, the write returned %s", after.GetEtag(), resp.GetEtag())
	}
	if diff := cmp.Diff(before, resp.GetPreviousContacts(), protocmp.Transform()); diff != "" {
		t.Errorf("previous_contacts (-listed before +returned):\n%s", diff)
	}
	for _, p := range allWrites {
		if p == invoices {
			continue
		}
		if !cmp.Equal(contentSet(before, p), contentSet(after.GetContacts(), p)) {
			t.Errorf("%v changed", p)
		}
	}
	inv := safeedit.Serving(after.GetContacts(), invoices)
	gen := safeedit.Serving(after.GetContacts(), general)
	if len(inv) != 1 || len(gen) != 1 || inv[0].GetEmail() != "invoices@example.com" || gen[0].GetEmail() != "anna.devries@example.com" {
		t.Fatalf("after the update: invoices %v, general %v", inv, gen)
	}
	if diff := cmp.Diff(gen[0].GetContactPerson(), inv[0].GetContactPerson(), protocmp.Transform()); diff != "" {
		t.Errorf("the split-off copy differs in more than the e-mail:\n%s", diff)
	}
}

// TestEtagReadAfterWrite: a read after a write gives the etag the write
// returned, with and without language fallback; undo with
// previous_contacts and the etag restores the first state.
func TestEtagReadAfterWrite(t *testing.T) {
	s := newStack(t, nil)
	id := strconv.Itoa(emulator.DemoPropertyNoLanguage)
	fallback := list(t, s, id)
	noFallback, err := s.client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: id, NoLanguageFallback: true})
	if err != nil {
		t.Fatal(err)
	}
	if fallback.GetEtag() != noFallback.GetEtag() || fallback.GetEtag() == "" {
		t.Errorf("etag %q with fallback, %q without", fallback.GetEtag(), noFallback.GetEtag())
	}
	if fallback.GetUpstreamRequestId() == "" || fallback.GetUpstreamRequestId() != fallback.GetRequestId() {
		t.Errorf("upstream_request_id %q, request_id %q", fallback.GetUpstreamRequestId(), fallback.GetRequestId())
	}

	start := list(t, s, fullID)
	set, err := s.client.SetProfileContacts(ctxT(t), &contactsv1.SetProfileContactsRequest{PropertyId: fullID, Profile: general,
		Contacts: []*contactsv1.Contact{named("new-general")}, Etag: start.GetEtag()})
	if err != nil {
		t.Fatal(err)
	}
	for _, noFallback := range []bool{false, true} {
		got, err := s.client.ListContacts(ctxT(t), &contactsv1.ListContactsRequest{PropertyId: fullID, NoLanguageFallback: noFallback})
		if err != nil {
			t.Fatal(err)
		}
		if got.GetEtag() != set.GetEtag() {
			t.Errorf("no_language_fallback=%v: etag %s after the write, the write returned %s", noFallback, got.GetEtag(), set.GetEtag())
		}
	}
	undo, err := s.client.ReplaceContacts(ctxT(t), &contactsv1.ReplaceContactsRequest{PropertyId: fullID, Contacts: set.GetPreviousContacts(), Etag: set.GetEtag()})
	if err != nil {
		t.Fatal(err)
	}
	if undo.GetEtag() != start.GetEtag() || list(t, s, fullID).GetEtag() != start.GetEtag() {
		t.Error("the undo did not restore the first state")
	}
	// An unchanged result writes nothing.
	puts := s.emu.Puts(emulator.DemoPropertyFull)
	if _, err := s.client.ClearProfileContacts(ctxT(t), &contactsv1.ClearProfileContactsRequest{PropertyId: fullID,
		Profile: contactsv1.ProfileType_PROFILE_TYPE_PARITY}); err != nil {
		t.Fatal(err)
	}
	if s.emu.Puts(emulator.DemoPropertyFull) != puts {
		t.Error("clearing a profile nobody serves sent a PUT")
	}
}

func TestGetProfileContacts(t *testing.T) {
	s := newStack(t, nil)
	all := list(t, s, fullID)
	for _, tc := range []struct {
		p    contactsv1.ProfileType
		want []string
	}{
		{general, []string{"Anna de Vries"}},
		{contactsv1.ProfileType_PROFILE_TYPE_AVAILABILITY, []string{"Jan Jansen"}},
		{contactsv1.ProfileType_PROFILE_TYPE_PARITY, nil},
	} {
		resp, err := s.client.GetProfileContacts(ctxT(t), &contactsv1.GetProfileContactsRequest{PropertyId: fullID, Profile: tc.p})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range resp.GetContacts() {
			names = append(names, c.GetContactPerson().GetName())
		}
		if !cmp.Equal(names, tc.want) || resp.GetEtag() != all.GetEtag() {
			t.Errorf("%v: contacts %q etag %s, want %q and %s", tc.p, names, resp.GetEtag(), tc.want, all.GetEtag())
		}
	}
}

// TestSafeEditRefusals: the new requests are validated in the usual
// shape, and the merges refuse what they cannot do, before any PUT.
func TestSafeEditRefusals(t *testing.T) {
	s := newStack(t, nil)
	mask := func(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }
	cases := []struct {
		name string
		call func(context.Context) error
		want want
	}{
		{"mask indexes into a list, unknown path", func(ctx context.Context) error {
			_, err := s.client.UpdateProfileContact(ctx, &contactsv1.UpdateProfileContactRequest{PropertyId: fullID, Profile: invoices,
				Contact: named("x"), UpdateMask: mask("email", "phones[0]", "profiles", "nickname")})
			return err
		}, want{code: codes.InvalidArgument, reason: "INVALID_VALUE", otaCode: "320",
			fields: []string{"update_mask.paths[1]", "update_mask.paths[2]", "update_mask.paths[3]"}}},
		{"no profile, bad etag, request_id not a UUID", func(ctx context.Context) error {
			_, err := s.client.SetProfileContacts(ctx, &contactsv1.SetProfileContactsRequest{PropertyId: fullID,
				Contacts: []*contactsv1.Contact{named("x")}, Etag: "abc", RequestId: "retry-1"})
			return err
		}, want{code: codes.InvalidArgument, reason: "REQUIRED_FIELD_MISSING", otaCode: "321", fields: []string{"profile", "etag", "request_id"}}},
		{"two GENERAL contacts", func(ctx context.Context) error {
			_, err := s.client.SetProfileContacts(ctx, &contactsv1.SetProfileContactsRequest{PropertyId: fullID, Profile: general,
				Contacts: []*contactsv1.Contact{named("x"), named("y")}})
			return err
		}, want{code: codes.InvalidArgument, reason: "INVALID_VALUE", otaCode: "320", fields: []string{"contacts"}}},
		{"profiles other than the request's", func(ctx context.Context) error {
			c := named("x")
			c.Profiles = []contactsv1.ProfileType{general}
			_, err := s.client.SetProfileContacts(ctx, &contactsv1.SetProfileContactsRequest{PropertyId: fullID, Profile: invoices,
				Contacts: []*contactsv1.Contact{c}})
			return err
		}, want{code: codes.InvalidArgument, reason: "INVALID_VALUE", otaCode: "320", fields: []string{"contacts[0].profiles"}}},
		{"CONTRACT written", func(ctx context.Context) error {
			_, err := s.client.ClearProfileContacts(ctx, &contactsv1.ClearProfileContactsRequest{PropertyId: fullID, Profile: contactsv1.ProfileType_PROFILE_TYPE_CONTRACT})
			return err
		}, want{code: codes.InvalidArgument, reason: "UNABLE_TO_PROCESS", otaCode: "450", fields: []string{"profile"}}},
		{"GENERAL cleared", func(ctx context.Context) error {
			_, err := s.client.ClearProfileContacts(ctx, &contactsv1.ClearProfileContactsRequest{PropertyId: fullID, Profile: general})
			return err
		}, want{code: codes.FailedPrecondition, reason: contactsv1.ErrorReason_GENERAL_REQUIRED.String()}},
		{"update of a profile nobody serves", func(ctx context.Context) error {
			_, err := s.client.UpdateProfileContact(ctx, &contactsv1.UpdateProfileContactRequest{PropertyId: fullID,
				Profile: contactsv1.ProfileType_PROFILE_TYPE_PARITY, Contact: named("x"), UpdateMask: mask("email")})
			return err
		}, want{code: codes.FailedPrecondition, reason: contactsv1.ErrorReason_PROFILE_HAS_NO_CONTACT.String()}},
		{"update leaves the contact invalid", func(ctx context.Context) error {
			_, err := s.client.UpdateProfileContact(ctx, &contactsv1.UpdateProfileContactRequest{PropertyId: fullID, Profile: invoices,
				Contact: &contactsv1.Contact{Address: &contactsv1.Address{CityName: "Utrecht"}}, UpdateMask: mask("email", "address")})
			return err
		}, want{code: codes.InvalidArgument, reason: "REQUIRED_FIELD_MISSING", otaCode: "321",
			fields: []string{"contact.address.country_code", "contact.address.language_code", "contact.email"}}},
		{"a CONTRACT contact would be written back", func(ctx context.Context) error {
			_, err := s.client.SetProfileContacts(ctx, &contactsv1.SetProfileContactsRequest{PropertyId: strconv.Itoa(emulator.DemoPropertyNoLanguage),
				Profile: invoices, Contacts: []*contactsv1.Contact{named("x")}})
			return err
		}, want{code: codes.FailedPrecondition, reason: contactsv1.ErrorReason_CONTACTS_NOT_WRITABLE.String()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkStatus(t, tc.call(ctxT(t)), tc.want)
		})
	}
	if s.emu.Puts(emulator.DemoPropertyFull) != 0 || s.emu.Puts(emulator.DemoPropertyNoLanguage) != 0 {
		t.Error("a refused call sent a PUT")
	}
}
