package main

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"strings"
	"sync/atomic"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// costRow is one call along one variant of the facade; the first row of
// each call is the baseline the others are compared to.
type costRow struct {
	call, path string
	callers    int
	res        result
}

// writeCost writes rows as a table of what each variant adds to its
// call's baseline.
func writeCost(bw *bufio.Writer, rows []costRow) {
	fmt.Fprintln(bw, "| call | callers | variant | calls/s | p50 µs | p99 µs | p50 ×baseline | p50 − baseline µs | allocs/call |")
	fmt.Fprintln(bw, "|---|--:|---|--:|--:|--:|--:|--:|--:|")
	var base result
	for i, r := range rows {
		if i == 0 || rows[i-1].call != r.call || rows[i-1].callers != r.callers {
			base = r.res
		}
		fmt.Fprintf(bw, "| %s | %d | %s | %.0f | %.0f | %.0f | %s | %+.0f | %.0f |\n",
			r.call, r.callers, r.path, r.res.throughput(), micros(r.res.p50), micros(r.res.p99),
			ratio(micros(r.res.p50), micros(base.p50)), micros(r.res.p50)-micros(base.p50), r.res.allocsPerCall())
	}
	fmt.Fprintln(bw)
}

// benchProfiles are the eight profiles the SetProfileContacts case writes
// in turn.
var benchProfiles = []contactsv1.ProfileType{
	contactsv1.ProfileType_PROFILE_TYPE_GENERAL,
	contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS,
	contactsv1.ProfileType_PROFILE_TYPE_INVOICES,
	contactsv1.ProfileType_PROFILE_TYPE_AVAILABILITY,
	contactsv1.ProfileType_PROFILE_TYPE_SITE_CONTENT,
	contactsv1.ProfileType_PROFILE_TYPE_PARITY,
	contactsv1.ProfileType_PROFILE_TYPE_REQUESTS,
	contactsv1.ProfileType_PROFILE_TYPE_CENTRAL_RESERVATIONS,
}

// profileWrites makes the requests of the SetProfileContacts case: call n
// (over all callers) sets profile n mod 8 to one contact of its own, in
// one of two versions that alternate each time the profile comes round,
// so that every call changes the property and makes a real upstream
// write (the facade skips a write that changes nothing).
type profileWrites struct {
	property string
	n        atomic.Uint64
}

// next is the next request; with requestID, it has a fresh AIP-155
// request_id.
func (w *profileWrites) next(requestID bool) *contactsv1.SetProfileContactsRequest {
	n := w.n.Add(1) - 1
	p := benchProfiles[n%uint64(len(benchProfiles))]
	version := (n / uint64(len(benchProfiles))) % 2
	name := strings.ToLower(strings.TrimPrefix(p.String(), "PROFILE_TYPE_"))
	req := &contactsv1.SetProfileContactsRequest{
		PropertyId: w.property,
		Profile:    p,
		Contacts: []*contactsv1.Contact{{
			ContactPerson: &contactsv1.ContactPerson{Name: fmt.Sprintf("Desk %s %d", name, version),
				JobTitle: contactsv1.JobTitle_JOB_TITLE_RESERVATIONS_MANAGER, LanguageCode: "en-gb"},
			Phones: []*contactsv1.Phone{{PhoneNumber: fmt.Sprintf("+3120765432%d", version),
				PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE}},
			Email: fmt.Sprintf("%s-%d@example.com", strings.ReplaceAll(name, "_", "-"), version),
		}},
	}
	if requestID {
		req.RequestId = newUUID()
	}
	return req
}

// newUUID is a random (version 4) UUID in its canonical form.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
