package service

import (
	"context"
	"slices"

	"google.golang.org/protobuf/proto"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/access"
	"github.com/contacts-facade/contacts-facade/internal/audit"
	"github.com/contacts-facade/contacts-facade/internal/safeedit"
)

// checkChanges asks the caller's grant (access: the gate in front of the
// service) about every profile the write would change, including those
// only the current state shows: a ReplaceContacts that leaves out the
// contacts of a profile deletes them, and its caller must be allowed to
// write that profile. It runs under the write lock, after the fresh read
// and before the upstream write. The profiles are also noted for the
// audit record.
func checkChanges(ctx context.Context, before, after []*contactsv1.Contact) error {
	return access.CheckProfiles(ctx, changedProfiles(before, after)...)
}

// changedProfiles are the profiles whose serving contacts differ between
// two states, in enum order.
func changedProfiles(before, after []*contactsv1.Contact) []contactsv1.ProfileType {
	var out []contactsv1.ProfileType
	for v := range contactsv1.ProfileType_name {
		p := contactsv1.ProfileType(v)
		if p == contactsv1.ProfileType_PROFILE_TYPE_UNSPECIFIED {
			continue
		}
		if !safeedit.SameState(onlyProfile(safeedit.Serving(before, p), p), onlyProfile(safeedit.Serving(after, p), p)) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// onlyProfile is cs as seen by one profile: each contact's content with
// p as its only profile, so that another profile added to or taken from
// a contact does not count as a change of p.
func onlyProfile(cs []*contactsv1.Contact, p contactsv1.ProfileType) []*contactsv1.Contact {
	out := make([]*contactsv1.Contact, len(cs))
	for i, c := range cs {
		cp := proto.CloneOf(c)
		cp.Profiles = []contactsv1.ProfileType{p}
		out[i] = cp
	}
	return out
}

// noteEtags puts the etags before and after a write into the call's audit
// record, if it has one.
func noteEtags(ctx context.Context, before, after string) {
	audit.FromContext(ctx).SetEtags(before, after)
}
