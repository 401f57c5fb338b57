package service

import (
	"bytes"
	"slices"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/safeedit"
)

// changedProfiles are the profiles whose serving contacts differ between
// two states, in enum order: those for which the contacts serving the
// profile, each with that profile as its only one, have another etag in
// after than in before. That is, the sorted content forms
// (safeedit.AppendContent) of the contacts serving p differ; comparing
// the forms gives that answer without a copy of any contact or a hash.
func changedProfiles(before, after []*contactsv1.Contact) []contactsv1.ProfileType {
	fb, fa := contentForms(before), contentForms(after)
	var out []contactsv1.ProfileType
	var sb, sa [][]byte // reused for every profile
	for v := range contactsv1.ProfileType_name {
		p := contactsv1.ProfileType(v)
		if p == contactsv1.ProfileType_PROFILE_TYPE_UNSPECIFIED {
			continue
		}
		sb, sa = servingForms(sb[:0], before, fb, p), servingForms(sa[:0], after, fa, p)
		if !slices.EqualFunc(sb, sa, bytes.Equal) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// contentForms is the content form of each contact of cs, in one buffer.
func contentForms(cs []*contactsv1.Contact) [][]byte {
	forms := make([][]byte, len(cs))
	buf := make([]byte, 0, 192*len(cs))
	for i, c := range cs {
		start := len(buf)
		buf = safeedit.AppendContent(buf, c)
		forms[i] = buf[start:len(buf):len(buf)]
	}
	return forms
}

// servingForms appends to dst the forms of the contacts of cs that serve
// p (safeedit.Serving), sorted.
func servingForms(dst [][]byte, cs []*contactsv1.Contact, forms [][]byte, p contactsv1.ProfileType) [][]byte {
	for i, c := range cs {
		if slices.Contains(c.GetProfiles(), p) {
			dst = append(dst, forms[i])
		}
	}
	slices.SortFunc(dst, bytes.Compare)
	return dst
}
