package service

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
)

// OTA codes a local violation stands for: the code the upstream would
// answer for the same problem, so callers see one error model.
const (
	otaInvalid  = "320"
	otaMissing  = "321"
	otaContract = "450"
)

// Limits checked before any upstream call. The documented ones come from
// the Contacts API docs; the others are the facade's own guards against
// oversized requests and are far above any real contact.
const (
	maxContacts         = 100 // facade guard
	maxPhonesPerContact = 5   // 3 landline + 1 fax + 1 mobile (documented)
	maxLandlines        = 3   // documented
	maxFaxes            = 1   // documented
	maxMobiles          = 1   // documented
	maxAddressLine      = 255 // documented
	maxText             = 255 // facade guard: names, cities, postal codes
	maxEmail            = 254 // RFC 5321 path limit
	maxPhoneDigits      = 15  // E.164
	maxExtension        = 10  // facade guard
	// maxPropertyID bounds property_id before it is scanned: the largest
	// int32 has 10 digits, so anything longer is refused at once, however
	// long (facade guard).
	maxPropertyID = 10
)

// violations collects the problems of one request, in field order.
type violations []errmap.Violation

func (vs *violations) add(field, ota, desc string) {
	*vs = append(*vs, errmap.Violation{Field: field, OTACode: ota, Description: desc})
}

// fieldPath is the path of a request field ("contacts[0].phones[1].extension"),
// written out only when a violation names it: a valid request, the common
// one, costs no string per field checked.
type fieldPath struct {
	segs [maxPathSegs]pathSeg
	n    int
}

// maxPathSegs is the deepest path: contacts, [i], phones, [k], extension.
const maxPathSegs = 5

// pathSeg is a member name, or with index >= 0 an array index.
type pathSeg struct {
	name  string
	index int
}

// fieldRoot is the path of a field written out as name ("contacts",
// "contact", or "contacts[2]" when a caller has it as a string already).
func fieldRoot(name string) fieldPath {
	var p fieldPath
	p.segs[0], p.n = pathSeg{name: name, index: -1}, 1
	return p
}

// dot is the path of member name of p.
func (p fieldPath) dot(name string) fieldPath {
	p.segs[p.n] = pathSeg{name: name, index: -1}
	p.n++
	return p
}

// at is the path of element i of p.
func (p fieldPath) at(i int) fieldPath {
	p.segs[p.n] = pathSeg{index: i}
	p.n++
	return p
}

func (p fieldPath) String() string {
	var b strings.Builder
	for i, s := range p.segs[:p.n] {
		switch {
		case s.index >= 0:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
		case i > 0:
			b.WriteByte('.')
			b.WriteString(s.name)
		default:
			b.WriteString(s.name)
		}
	}
	return b.String()
}

// validatePropertyID checks property_id: a positive int32 in decimal digits,
// as the OpenAPI file types it, written the one way the upstream returns it.
//
// ASSUMPTION (leading zeros): "0001000001" is refused, not canonicalised to
// "1000001". The id is sent upstream as written (in the URL path), and a
// facade that rewrote it would answer for an id the caller did not send and
// give one property two spellings in logs, etags and cache keys. The docs
// say only that the id is an integer.
func validatePropertyID(vs *violations, id string) {
	switch {
	case id == "":
		vs.add("property_id", otaMissing, "property_id is required: the Booking.com property ID, e.g. \"1000001\"")
	case len(id) > maxPropertyID:
		vs.add("property_id", otaInvalid, "property_id is too long: at most 10 digits, without leading zeros, e.g. \"1000001\"")
	case !isDigits(id):
		vs.add("property_id", otaInvalid, "property_id must be decimal digits only, e.g. \"1000001\"")
	case len(id) > 1 && id[0] == '0':
		vs.add("property_id", otaInvalid, "property_id must not have leading zeros, e.g. \"1000001\" rather than \"0001000001\"")
	default:
		if n, err := strconv.ParseInt(id, 10, 32); err != nil || n <= 0 {
			vs.add("property_id", otaInvalid, "property_id must be a positive number below 2147483648")
		}
	}
}

// validateList checks a ListContacts request. It is kept out of line:
// its locals would otherwise sit in ListContacts' frame, on the stack
// while the answer is awaited.
//
//go:noinline
func validateList(req *contactsv1.ListContactsRequest) violations {
	var vs violations
	validatePropertyID(&vs, req.GetPropertyId())
	return vs
}

// validateWrite checks the body of ReplaceContacts and CreateContacts with
// the rules the Contacts API documents.
func validateWrite(propertyID string, contacts []*contactsv1.Contact) violations {
	var vs violations
	validatePropertyID(&vs, propertyID)
	switch {
	case len(contacts) == 0:
		vs.add("contacts", otaMissing, "at least one contact is required, and exactly one must have PROFILE_TYPE_GENERAL")
		return vs
	case len(contacts) > maxContacts:
		vs.add("contacts", otaInvalid, "at most "+strconv.Itoa(maxContacts)+" contacts per request")
		return vs
	}
	generals := 0
	for i, c := range contacts {
		p := fieldRoot("contacts").at(i)
		if c == nil {
			vs.add(p.String(), otaMissing, "a contact is required here")
			continue
		}
		generals += validateProfiles(&vs, p, c.GetProfiles(), generals)
		validatePerson(&vs, p.dot("contact_person"), c.GetContactPerson())
		validateAddress(&vs, p.dot("address"), c.GetAddress())
		validatePhones(&vs, p.dot("phones"), c.GetPhones())
		validateEmail(&vs, p.dot("email"), c.GetEmail())
	}
	if generals == 0 {
		vs.add("contacts", otaMissing, "exactly one contact must have PROFILE_TYPE_GENERAL; none has")
	}
	return vs
}

// validateProfiles checks one contact's profiles and returns how many
// GENERAL profiles it has. generalsBefore counts those of earlier contacts:
// a second GENERAL anywhere is a violation on the later one.
func validateProfiles(vs *violations, contact fieldPath, profiles []contactsv1.ProfileType, generalsBefore int) int {
	field := contact.dot("profiles")
	if len(profiles) == 0 {
		vs.add(field.String(), otaMissing, "at least one profile is required")
		return 0
	}
	generals := 0
	seen := make(map[contactsv1.ProfileType]bool, len(profiles))
	for j, pt := range profiles {
		f := field.at(j)
		switch {
		case pt == contactsv1.ProfileType_PROFILE_TYPE_UNSPECIFIED:
			vs.add(f.String(), otaMissing, "the profile type must be set. Allowed values: "+allowedProfiles)
		case pt == contactsv1.ProfileType_PROFILE_TYPE_CONTRACT:
			vs.add(f.String(), otaContract, "PROFILE_TYPE_CONTRACT cannot be written through the Contacts API")
		case contactsv1.ProfileType_name[int32(pt)] == "":
			vs.add(f.String(), otaInvalid, "unknown profile type. Allowed values: "+allowedProfiles)
		case seen[pt]:
			vs.add(f.String(), otaInvalid, "this profile type appears earlier in this contact")
		case pt == contactsv1.ProfileType_PROFILE_TYPE_GENERAL && generalsBefore > 0:
			vs.add(f.String(), otaInvalid, "only one contact may have PROFILE_TYPE_GENERAL")
			generals++
		case pt == contactsv1.ProfileType_PROFILE_TYPE_GENERAL:
			generals++
		}
		seen[pt] = true
	}
	return generals
}

// allowedProfiles lists the profile types a write accepts.
var allowedProfiles = func() string {
	var names []string
	for i := int32(1); ; i++ {
		n, ok := contactsv1.ProfileType_name[i]
		if !ok {
			break
		}
		if contactsv1.ProfileType(i) != contactsv1.ProfileType_PROFILE_TYPE_CONTRACT {
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}()

func validatePerson(vs *violations, field fieldPath, p *contactsv1.ContactPerson) {
	if p == nil {
		vs.add(field.String(), otaMissing, "contact_person is required")
		return
	}
	checkText(vs, field.dot("name"), p.GetName(), true, maxText)
	if _, ok := contactsv1.Gender_name[int32(p.GetGender())]; !ok {
		vs.add(field.dot("gender").String(), otaInvalid, "unknown gender. Allowed values: GENDER_MALE, GENDER_FEMALE")
	}
	if _, ok := contactsv1.JobTitle_name[int32(p.GetJobTitle())]; !ok {
		vs.add(field.dot("job_title").String(), otaInvalid, "unknown job_title: use a JOB_TITLE_ value of contacts.v1.JobTitle")
	}
	checkLanguage(vs, field.dot("language_code"), p.GetLanguageCode())
}

func validateAddress(vs *violations, field fieldPath, a *contactsv1.Address) {
	if a == nil {
		return // optional
	}
	if line := a.GetAddressLine(); line != "" {
		checkText(vs, field.dot("address_line"), line, false, maxAddressLine)
		if hasHan(line) {
			vs.add(field.dot("address_line").String(), otaInvalid, "address_line may not contain CJK ideographs")
		}
	}
	// city_name is required only according to the onboarding tutorial:
	// an uncertain rule, so the upstream decides it (docs/assumptions.md#validation-the-documentation-leaves-open).
	checkText(vs, field.dot("city_name"), a.GetCityName(), false, maxText)
	if hasHan(a.GetCityName()) {
		vs.add(field.dot("city_name").String(), otaInvalid, "city_name may not contain CJK ideographs")
	}
	checkText(vs, field.dot("postal_code"), a.GetPostalCode(), false, maxText)
	checkText(vs, field.dot("state_prov_code"), a.GetStateProvCode(), false, maxText)
	switch cc := a.GetCountryCode(); {
	case cc == "":
		vs.add(field.dot("country_code").String(), otaMissing, "country_code is required with an address (ISO 3166-1 alpha-2, e.g. \"NL\")")
	case len(cc) != 2 || !isUpperASCII(cc):
		vs.add(field.dot("country_code").String(), otaInvalid, "country_code must be ISO 3166-1 alpha-2 in capitals, e.g. \"NL\"")
	}
	checkLanguage(vs, field.dot("language_code"), a.GetLanguageCode())
}

func validatePhones(vs *violations, field fieldPath, phones []*contactsv1.Phone) {
	if len(phones) == 0 {
		vs.add(field.String(), otaMissing, "at least one phone is required")
		return
	}
	if len(phones) > maxPhonesPerContact {
		vs.add(field.String(), otaInvalid, "at most 3 LANDLINE, 1 FAX and 1 MOBILE phones per contact")
		return
	}
	var landlines, faxes, mobiles int
	for k, ph := range phones {
		f := field.at(k)
		if ph == nil {
			vs.add(f.String(), otaMissing, "a phone is required here")
			continue
		}
		switch n := ph.GetPhoneNumber(); {
		case n == "":
			vs.add(f.dot("phone_number").String(), otaMissing, "phone_number is required, e.g. \"+31201234567\"")
		case n[0] != '+' || !isDigits(n[1:]) || len(n)-1 > maxPhoneDigits:
			vs.add(f.dot("phone_number").String(), otaInvalid, "phone_number must be \"+\" and up to 15 digits, e.g. \"+31201234567\"")
		}
		switch t := ph.GetPhoneTechType(); t {
		case contactsv1.PhoneTechType_PHONE_TECH_TYPE_UNSPECIFIED:
			vs.add(f.dot("phone_tech_type").String(), otaMissing, "phone_tech_type is required. Allowed values: PHONE_TECH_TYPE_LANDLINE, PHONE_TECH_TYPE_FAX, PHONE_TECH_TYPE_MOBILE")
		case contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE:
			if landlines++; landlines > maxLandlines {
				vs.add(f.dot("phone_tech_type").String(), otaInvalid, "at most 3 PHONE_TECH_TYPE_LANDLINE phones per contact")
			}
		case contactsv1.PhoneTechType_PHONE_TECH_TYPE_FAX:
			if faxes++; faxes > maxFaxes {
				vs.add(f.dot("phone_tech_type").String(), otaInvalid, "at most 1 PHONE_TECH_TYPE_FAX phone per contact")
			}
		case contactsv1.PhoneTechType_PHONE_TECH_TYPE_MOBILE:
			if mobiles++; mobiles > maxMobiles {
				vs.add(f.dot("phone_tech_type").String(), otaInvalid, "at most 1 PHONE_TECH_TYPE_MOBILE phone per contact")
			}
		default:
			vs.add(f.dot("phone_tech_type").String(), otaInvalid, "unknown phone_tech_type. Allowed values: PHONE_TECH_TYPE_LANDLINE, PHONE_TECH_TYPE_FAX, PHONE_TECH_TYPE_MOBILE")
		}
		if ext := ph.GetExtension(); ext != "" {
			switch {
			case ph.GetPhoneTechType() != contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE:
				vs.add(f.dot("extension").String(), otaInvalid, "an extension is allowed only on a PHONE_TECH_TYPE_LANDLINE phone")
			case !isDigits(ext) || len(ext) > maxExtension:
				vs.add(f.dot("extension").String(), otaInvalid, "extension must be 1 to 10 digits")
			}
		}
	}
}

func validateEmail(vs *violations, field fieldPath, email string) {
	switch {
	case email == "":
		vs.add(field.String(), otaMissing, "email is required")
	case len(email) > maxEmail || !plausibleEmail(email):
		vs.add(field.String(), otaInvalid, "email must be an address such as name@example.com")
	}
}

// plausibleEmail is a cheap shape check (one @, a dot in the domain, no
// spaces, control or invisible characters); the upstream makes the
// authoritative one.
func plausibleEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || strings.ContainsAny(s, " <>,;") || strings.Contains(domain, "@") ||
		strings.ContainsFunc(s, unicode.IsControl) || strings.ContainsFunc(s, isInvisible) {
		return false
	}
	dot := strings.LastIndexByte(domain, '.')
	return dot > 0 && dot < len(domain)-1
}

func checkLanguage(vs *violations, field fieldPath, code string) {
	switch {
	case code == "":
		vs.add(field.String(), otaMissing, "language_code is required: a Booking.com language code such as \"en-gb\"")
	case !isLanguageShape(code):
		vs.add(field.String(), otaInvalid, "language_code must be a Booking.com language code such as \"en-gb\" or \"nl\"")
	}
}

// checkText checks a free-text field: present when required, valid UTF-8,
// no control or invisible formatting characters, at most max characters.
func checkText(vs *violations, path fieldPath, s string, required bool, max int) {
	switch {
	case s == "" && required:
		vs.add(path.String(), otaMissing, path.segs[path.n-1].name+" is required")
	case s == "":
	case !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl):
		vs.add(path.String(), otaInvalid, "must be valid UTF-8 text without control characters")
	case strings.ContainsFunc(s, isInvisible):
		vs.add(path.String(), otaInvalid, "must not contain invisible formatting characters: "+
			"bidirectional controls (U+202A to U+202E, U+2066 to U+2069), "+
			"zero-width characters (U+200B to U+200D, U+2060) or a byte order mark (U+FEFF)")
	case utf8.RuneCountInString(s) > max:
		vs.add(path.String(), otaInvalid, "at most "+strconv.Itoa(max)+" characters")
	}
}

// isLanguageShape accepts "nl", "en-gb", "zh-tw", "es-ar": lower-case
// letters with an optional region, so at most 8 bytes. The upstream checks
// the list.
func isLanguageShape(s string) bool {
	lang, region, hasRegion := strings.Cut(s, "-")
	if len(lang) < 2 || len(lang) > 3 || !isLowerASCII(lang) {
		return false
	}
	return !hasRegion || (len(region) >= 2 && len(region) <= 4 && isLowerASCII(region))
}

// isInvisible reports whether r is an invisible formatting character that
// can make a text display as something other than what it holds: the
// bidirectional embeddings, overrides and isolates, the zero-width space,
// non-joiner and joiner, the word joiner and the byte order mark.
//
// ASSUMPTION (invisible characters): the Contacts docs do not say whether the
// upstream accepts these in names, addresses or e-mail addresses; the facade
// and the emulator refuse them with 320 on the field. This also refuses the
// zero-width (non-)joiner that some Persian, Indic and emoji text uses.
func isInvisible(r rune) bool {
	switch {
	case r >= '\u200B' && r <= '\u200D', r == '\u2060', r == '\uFEFF',
		r >= '\u202A' && r <= '\u202E', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

func hasHan(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) })
}

func isDigits(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r < '0' || r > '9' })
}

func isUpperASCII(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 'A' || r > 'Z' })
}

func isLowerASCII(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 'a' || r > 'z' })
}
