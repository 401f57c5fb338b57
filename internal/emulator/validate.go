package emulator

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Validation of PUT and POST bodies.
//
// The body is decoded generically (map[string]any with json.Number) rather
// than into structs, so that every unknown member at every level is seen and
// a wrong JSON type is reported against its own field instead of failing the
// whole decode.
//
// ASSUMPTION (error order): the real API's order is undocumented. Problems
// are listed contact by contact in index order; within an object, its known
// members in the order of the wire shape (contact: contact_profiles,
// contact_person, address, phones, email; contact_person: name, gender,
// job_title, language_code; address: address_line, city_name, postal_code,
// country_code, language_code, state_prov_code; phone: phone_number,
// phone_tech_type, extension), then its unknown members sorted by name.
// The property rules (exactly one general contact) come after all contacts,
// and unknown top-level members last. For a body marshalled from the wire
// structs this is document order.
//
// ASSUMPTION (field paths): details.fields holds JSON paths relative to the
// body, JSON member names and 0-based bracket indexes, e.g.
// "contacts[0].phones[1].phone_number". One entry per offending field.
//
// ASSUMPTION (null): a member whose value is null counts as absent: an
// error for a required one (321), nothing for an optional one.

// problem is one entry of errors[] before it is written.
type problem struct {
	code    string
	field   string // empty: details is null
	allowed []string
}

// validator collects the problems of one body.
type validator struct {
	r        *rules
	problems []problem
}

func (v *validator) add(code, field string, allowed []string) {
	v.problems = append(v.problems, problem{code: code, field: field, allowed: allowed})
}

func (v *validator) invalid(field string) { v.add(codeInvalidValue, field, nil) }
func (v *validator) missing(field string) { v.add(codeRequiredMissing, field, nil) }
func (v *validator) invalidOneOf(field string, allowed []string) {
	v.add(codeInvalidValue, field, allowed)
}

func member(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// lookup returns obj[key], treating null as absent.
func lookup(obj map[string]any, key string) (any, bool) {
	raw, ok := obj[key]
	if !ok || raw == nil {
		return nil, false
	}
	return raw, true
}

// unknownMembers reports every member of obj that is not in known (394).
func (v *validator) unknownMembers(obj map[string]any, path string, known ...string) {
	// Sorted: decoded into a map, the members lost their order, and error
	// lists must be stable.
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if !slices.Contains(known, k) {
			v.add(codeInvalidItem, member(path, k), nil)
		}
	}
}

// requiredString reads a required string member: absent or blank is a 321,
// another JSON type a 320 (with allowed when the field is an enum). ok is
// false when a problem was recorded.
func (v *validator) requiredString(obj map[string]any, key, path string, allowed []string) (string, bool) {
	field := member(path, key)
	raw, present := lookup(obj, key)
	if !present {
		v.missing(field)
		return "", false
	}
	s, isString := raw.(string)
	if !isString {
		v.add(codeInvalidValue, field, allowed)
		return "", false
	}
	if strings.TrimSpace(s) == "" {
		v.missing(field)
		return "", false
	}
	return s, true
}

// optionalString reads an optional string member. present is false when it
// is absent or null; ok is false when a problem was recorded.
//
// ASSUMPTION: an optional member that is present but empty ("gender": "")
// is validated like any other value (and so usually refused); only leaving
// it out means "none", as the digest says for gender.
func (v *validator) optionalString(obj map[string]any, key, path string, allowed []string) (s string, present, ok bool) {
	raw, present := lookup(obj, key)
	if !present {
		return "", false, true
	}
	s, isString := raw.(string)
	if !isString {
		v.add(codeInvalidValue, member(path, key), allowed)
		return "", true, false
	}
	return s, true, true
}

// nonEmptyArray reads a required, non-empty array member.
func (v *validator) nonEmptyArray(obj map[string]any, key, path string) ([]any, bool) {
	field := member(path, key)
	raw, present := lookup(obj, key)
	if !present {
		v.missing(field)
		return nil, false
	}
	arr, isArray := raw.([]any)
	if !isArray {
		v.invalid(field)
		return nil, false
	}
	if len(arr) == 0 {
		v.missing(field)
		return nil, false
	}
	return arr, true
}

// validateBody checks a decoded PUT/POST body and, when it has no problem,
// returns the contacts to store.
func (r *rules) validateBody(doc map[string]any) ([]contact, []problem) {
	v := &validator{r: r}
	var contacts []contact
	if arr, ok := v.nonEmptyArray(doc, "contacts", ""); ok {
		// generalAt[i] is the index of contact i's general profile, -1 if
		// it has none.
		generalAt := make([]int, len(arr))
		for i, raw := range arr {
			c, g := v.contact(raw, index("contacts", i))
			contacts = append(contacts, c)
			generalAt[i] = g
		}
		v.propertyRules(generalAt)
	}
	v.unknownMembers(doc, "", "contacts")
	if len(v.problems) > 0 {
		return nil, v.problems
	}
	return contacts, nil
}

// propertyRules checks that exactly one contact carries general.
func (v *validator) propertyRules(generalAt []int) {
	first := true
	for i, j := range generalAt {
		if j < 0 {
			continue
		}
		if first {
			first = false
			continue
		}
		v.invalid(member(index(index("contacts", i)+".contact_profiles", j), "type"))
	}
	if first {
		// ASSUMPTION (digest open question 3): the code for a body without
		// a general contact is undocumented; we answer 321 "Required field
		// missing." on the field "contacts".
		v.missing("contacts")
	}
}

// contact checks one element of contacts[]. It returns the index of the
// element's general profile, or -1.
func (v *validator) contact(raw any, path string) (contact, int) {
	var c contact
	obj, ok := raw.(map[string]any)
	if !ok {
		v.invalid(path)
		return c, -1
	}
	var generalAt int
	c.ContactProfiles, generalAt = v.profiles(obj, path)
	c.ContactPerson = v.person(obj, path)
	c.Address = v.address(obj, path)
	c.Phones = v.phones(obj, path)
	if email, ok := v.requiredString(obj, "email", path, nil); ok {
		if !validEmail(email) {
			v.invalid(member(path, "email"))
		}
		c.Email = email
	}
	v.unknownMembers(obj, path, "contact_profiles", "contact_person", "address", "phones", "email")
	return c, generalAt
}

func (v *validator) profiles(obj map[string]any, path string) ([]profile, int) {
	generalAt := -1
	arr, ok := v.nonEmptyArray(obj, "contact_profiles", path)
	if !ok {
		return nil, generalAt
	}
	base := member(path, "contact_profiles")
	seen := make(map[string]bool, len(arr))
	var out []profile
	for j, raw := range arr {
		p := index(base, j)
		pobj, ok := raw.(map[string]any)
		if !ok {
			v.invalid(p)
			continue
		}
		field := member(p, "type")
		if t, ok := v.requiredString(pobj, "type", p, profileTypes()); ok {
			switch {
			case t == profileContract:
				// Seed table: contract is not supported by the Contacts
				// API and is refused with 450, not 320.
				v.add(codeUnableToProcess, field, nil)
			case !v.r.profileTypes[t]:
				v.invalidOneOf(field, profileTypes())
			case seen[t]:
				v.invalid(field)
			default:
				seen[t] = true
				out = append(out, profile{Type: t})
				if t == profileGeneral {
					generalAt = j
				}
			}
		}
		v.unknownMembers(pobj, p, "type")
	}
	return out, generalAt
}

func (v *validator) person(obj map[string]any, path string) person {
	var p person
	field := member(path, "contact_person")
	raw, present := lookup(obj, "contact_person")
	if !present {
		v.missing(field)
		return p
	}
	pobj, ok := raw.(map[string]any)
	if !ok {
		v.invalid(field)
		return p
	}
	if name, ok := v.requiredString(pobj, "name", field, nil); ok {
		if hasInvisible(name) {
			v.invalid(member(field, "name"))
		} else {
			p.Name = name
		}
	}
	if g, present, ok := v.optionalString(pobj, "gender", field, genders()); present && ok {
		if v.r.genders[g] {
			p.Gender = g
		} else {
			v.invalidOneOf(member(field, "gender"), genders())
		}
	}
	if jt, present, ok := v.optionalString(pobj, "job_title", field, jobTitles()); present && ok {
		if v.r.jobTitles[jt] {
			p.JobTitle = jt
		} else {
			v.invalidOneOf(member(field, "job_title"), jobTitles())
		}
	}
	if lang, ok := v.requiredString(pobj, "language_code", field, nil); ok {
		if v.r.languages[lang] {
			p.LanguageCode = &lang
		} else {
			v.invalid(member(field, "language_code"))
		}
	}
	v.unknownMembers(pobj, field, "name", "gender", "job_title", "language_code")
	return p
}

// hasHan reports whether s holds a CJK ideograph, which the API refuses in
// address_line and city_name (digest).
func hasHan(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) })
}

// hasInvisible reports whether s holds an invisible formatting character:
// a bidirectional embedding, override or isolate (U+202A to U+202E, U+2066
// to U+2069), a zero-width space, non-joiner or joiner (U+200B to U+200D),
// the word joiner (U+2060) or a byte order mark (U+FEFF).
//
// ASSUMPTION (invisible characters): the digest does not say whether the
// API accepts these; the emulator refuses them with 320 on the field in
// name, address_line, city_name, postal_code, state_prov_code and email,
// as the facade does before calling.
func hasInvisible(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool {
		switch {
		case r >= '\u200B' && r <= '\u200D', r == '\u2060', r == '\uFEFF',
			r >= '\u202A' && r <= '\u202E', r >= '\u2066' && r <= '\u2069':
			return true
		}
		return false
	})
}

func (v *validator) address(obj map[string]any, path string) *address {
	field := member(path, "address")
	raw, present := lookup(obj, "address")
	if !present {
		return nil
	}
	aobj, ok := raw.(map[string]any)
	if !ok {
		v.invalid(field)
		return nil
	}
	var a address

	// The postal code is checked against the country, so the country is
	// looked at first; its own problems are still recorded in wire order.
	country, _ := aobj["country_code"].(string)
	countryOK := v.r.countries[country]

	if line, present, ok := v.optionalString(aobj, "address_line", field, nil); present && ok {
		if line == "" || utf8.RuneCountInString(line) > 255 || hasHan(line) || hasInvisible(line) {
			v.invalid(member(field, "address_line"))
		} else {
			a.AddressLine = line
		}
	}
	if city, ok := v.requiredString(aobj, "city_name", field, nil); ok {
		if hasHan(city) || hasInvisible(city) {
			v.invalid(member(field, "city_name"))
		} else {
			a.CityName = city
		}
	}
	if pc, present, ok := v.optionalString(aobj, "postal_code", field, nil); present && ok {
		// Without a valid country the postal code cannot be judged; the
		// country's own problem is reported instead.
		if hasInvisible(pc) || countryOK && !v.r.validPostalCode(country, pc) {
			v.invalid(member(field, "postal_code"))
		} else {
			a.PostalCode = pc
		}
	}
	if cc, ok := v.requiredString(aobj, "country_code", field, nil); ok {
		if countryOK {
			a.CountryCode = cc
		} else {
			v.invalid(member(field, "country_code"))
		}
	}
	if lang, ok := v.requiredString(aobj, "language_code", field, nil); ok {
		if v.r.languages[lang] {
			a.LanguageCode = lang
		} else {
			v.invalid(member(field, "language_code"))
		}
	}
	// state_prov_code is accepted (type-checked) but not kept: GET never
	// returns it.
	if st, present, ok := v.optionalString(aobj, "state_prov_code", field, nil); present && ok && hasInvisible(st) {
		v.invalid(member(field, "state_prov_code"))
	}
	v.unknownMembers(aobj, field, "address_line", "city_name", "postal_code", "country_code", "language_code", "state_prov_code")
	return &a
}

// techType reads phone_tech_type, which the OpenAPI file types as an integer
// and the onboarding tutorial sends as "1": both are accepted.
func techType(raw any) (int, bool) {
	var s string
	switch t := raw.(type) {
	case json.Number:
		s = t.String()
	case string:
		s = t
	default:
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, false
	}
	return n, true
}

func (v *validator) phones(obj map[string]any, path string) []phone {
	arr, ok := v.nonEmptyArray(obj, "phones", path)
	if !ok {
		return nil
	}
	base := member(path, "phones")
	limits := techTypeLimits()
	counts := make(map[int]int)
	out := make([]phone, 0, len(arr))
	for i, raw := range arr {
		p := index(base, i)
		pobj, ok := raw.(map[string]any)
		if !ok {
			v.invalid(p)
			continue
		}
		var ph phone
		if num, ok := v.requiredString(pobj, "phone_number", p, nil); ok {
			// ASSUMPTION: the digest says the number is checked against the
			// address country; we only check "+" and 6 to 15 digits (E.164).
			if v.r.phoneNumber.MatchString(num) {
				ph.PhoneNumber = num
			} else {
				v.invalid(member(p, "phone_number"))
			}
		}

		typeField := member(p, "phone_tech_type")
		// knownType is the tech type when it is one of 1, 3, 5, even if
		// this phone is past the limit of its type: the extension rule
		// still applies to it.
		knownType := 0
		if raw, present := lookup(pobj, "phone_tech_type"); !present || raw == "" {
			v.missing(typeField)
		} else if n, isInt := techType(raw); !isInt || limits[n] == 0 {
			v.invalidOneOf(typeField, techTypeAllowed())
		} else {
			knownType = n
			counts[n]++
			if counts[n] > limits[n] {
				// Every phone past the limit of its type is reported.
				v.invalid(typeField)
			} else {
				ph.PhoneTechType = n
			}
		}

		if ext, present, ok := v.optionalString(pobj, "extension", p, nil); present && ok {
			switch {
			case !v.r.extension.MatchString(ext):
				v.invalid(member(p, "extension"))
			case knownType != 0 && knownType != techVoice:
				// Only voice lines have extensions (digest).
				v.invalid(member(p, "extension"))
			default:
				ph.Extension = ext
			}
		}
		v.unknownMembers(pobj, p, "phone_number", "phone_tech_type", "extension")
		out = append(out, ph)
	}
	return out
}

// validEmail accepts a bare address (no display name, no angle brackets,
// nothing invisible) whose domain has a dot.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || hasInvisible(s) {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}
