package safeedit

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"slices"
	"strings"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// fallbackLanguage is what the upstream answers for a contact person whose
// language is missing, unless asked for no_language_fallback.
const fallbackLanguage = "en-gb"

// etagVersion starts the hashed bytes: a change of the canonical form
// changes every etag instead of making two forms collide.
const etagVersion = "contacts-etag-v1"

// Etag is the weak etag (AIP-154, RFC 7232 syntax: W/"...") of a property's
// contacts. It is a hash of their canonical form (see canonical), so it
// does not depend on the order of the contacts or of their profiles, nor on
// whether the contacts were read with no_language_fallback, and it gives
// the same value for what the facade sends and what the upstream returns
// for it afterwards.
func Etag(contacts []*contactsv1.Contact) string {
	// One buffer holds every contact's canonical form and, after them, the
	// hashed message: the forms in sorted order, each length-prefixed.
	// Sum256 hashes it without a digest on the heap.
	var spanArr [8]span
	spans := spanArr[:0]
	buf := make([]byte, 0, etagBufferSize(len(contacts)))
	for _, c := range contacts {
		start := len(buf)
		buf = appendCanonical(buf, c, true)
		spans = append(spans, span{start, len(buf)})
	}
	forms := buf
	slices.SortFunc(spans, func(a, b span) int { return bytes.Compare(forms[a.start:a.end], forms[b.start:b.end]) })
	msg := len(buf)
	buf = append(buf, etagVersion...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(spans)))
	for _, s := range spans {
		buf = binary.BigEndian.AppendUint64(buf, uint64(s.end-s.start))
		buf = append(buf, forms[s.start:s.end]...)
	}
	sum := sha256.Sum256(buf[msg:])
	var out [3 + 24 + 1]byte // W/" + base64 of 18 bytes + "
	copy(out[:], `W/"`)
	base64.RawURLEncoding.Encode(out[3:27], sum[:18])
	out[27] = '"'
	return string(out[:])
}

// span is where one canonical form lies in Etag's buffer.
type span struct{ start, end int }

// etagBufferSize is room for n typical canonical forms and the message
// that repeats them, so that Etag's buffer rarely grows.
func etagBufferSize(n int) int { return 2*n*(canonicalSize+8) + len(etagVersion) + 8 }

// canonicalSize is the room reserved for one canonical form: a contact
// with a person, an address and two phones fits.
const canonicalSize = 192

// WellFormedEtag reports whether s has the shape of an etag: W/"..." or
// "..." (RFC 7232 entity-tag), with no quote or control character inside.
// Only values returned by Etag ever match a current state.
func WellFormedEtag(s string) bool {
	s = strings.TrimPrefix(s, "W/")
	if len(s) < 2 || len(s) > 200 || s[0] != '"' || s[len(s)-1] != '"' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; c == '"' || c < 0x21 || c == 0x7f {
			return false
		}
	}
	return true
}

// sameContent reports whether a and b are the same contact but for their
// profiles: what the etag sees of them, profiles aside.
func sameContent(a, b *contactsv1.Contact) bool {
	var ab, bb [canonicalSize]byte
	return bytes.Equal(appendCanonical(ab[:0], a, false), appendCanonical(bb[:0], b, false))
}

// AppendContent appends to b the form of c that sameContent compares: c
// as the etag sees it, profiles aside. Two contacts have equal forms
// exactly when sameContent reports them the same.
func AppendContent(b []byte, c *contactsv1.Contact) []byte {
	return appendCanonical(b, c, false)
}

// SameState reports whether two lists of contacts have the same etag.
func SameState(a, b []*contactsv1.Contact) bool {
	return len(a) == len(b) && Etag(a) == Etag(b)
}

// appendCanonical appends the byte form of a contact that the etag hashes. It
// normalises what the upstream normalises, so that a state the facade
// writes and the state the upstream returns for it give the same bytes:
//
//   - profiles are sorted and counted once each (withProfiles false leaves
//     them out, for SameContent);
//   - an empty contact_person.language_code is the fallback "en-gb": a read
//     with no_language_fallback shows a missing language as empty, a read
//     without it as "en-gb", and a write must send one (ASSUMPTION: the
//     fallback touches only that field and is always "en-gb", as the
//     documentation says);
//   - JOB_TITLE_UNSPECIFIED is JOB_TITLE_UNKNOWN: the upstream stores
//     "Unknown" when a write sends none;
//   - address.state_prov_code is left out: the upstream never returns it;
//     an address with no other field set is no address.
//
// Phones keep their order: the upstream returns them in the order sent.
// Every string is length-prefixed, so no two contacts share a form.
func appendCanonical(b []byte, c *contactsv1.Contact, withProfiles bool) []byte {
	if withProfiles {
		var arr [8]contactsv1.ProfileType
		ps := append(arr[:0], c.GetProfiles()...)
		slices.Sort(ps)
		ps = slices.Compact(ps)
		b = binary.AppendUvarint(b, uint64(len(ps)))
		for _, p := range ps {
			b = binary.AppendUvarint(b, uint64(p))
		}
	}
	p := c.GetContactPerson()
	b = binary.AppendUvarint(b, boolUint(p != nil))
	if p != nil {
		b = appendString(b, p.GetName())
		b = binary.AppendUvarint(b, uint64(p.GetGender()))
		job := p.GetJobTitle()
		if job == contactsv1.JobTitle_JOB_TITLE_UNSPECIFIED {
			job = contactsv1.JobTitle_JOB_TITLE_UNKNOWN
		}
		b = binary.AppendUvarint(b, uint64(job))
		lang := p.GetLanguageCode()
		if lang == "" {
			lang = fallbackLanguage
		}
		b = appendString(b, lang)
	}
	a := c.GetAddress()
	hasAddress := a != nil && (a.GetAddressLine() != "" || a.GetCityName() != "" || a.GetPostalCode() != "" ||
		a.GetCountryCode() != "" || a.GetLanguageCode() != "")
	b = binary.AppendUvarint(b, boolUint(hasAddress))
	if hasAddress {
		b = appendString(b, a.GetAddressLine())
		b = appendString(b, a.GetCityName())
		b = appendString(b, a.GetPostalCode())
		b = appendString(b, a.GetCountryCode())
		b = appendString(b, a.GetLanguageCode())
	}
	b = binary.AppendUvarint(b, uint64(len(c.GetPhones())))
	for _, ph := range c.GetPhones() {
		b = appendString(b, ph.GetPhoneNumber())
		b = binary.AppendUvarint(b, uint64(ph.GetPhoneTechType()))
		b = appendString(b, ph.GetExtension())
	}
	return appendString(b, c.GetEmail())
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func boolUint(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}
