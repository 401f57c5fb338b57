package safeedit

import (
	"strings"

	"google.golang.org/protobuf/proto"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// Mask is a parsed update_mask of UpdateProfileContact (AIP-134): the set
// of Contact fields to change. The zero Mask changes nothing.
type Mask struct {
	paths map[string]bool
}

// Paths of a Mask. A whole message ("contact_person", "address") replaces
// that message, so an unset one clears it; "phones" replaces the list (a
// mask never indexes into a list, AIP-161).
var (
	personLeaves  = []string{"contact_person.name", "contact_person.gender", "contact_person.job_title", "contact_person.language_code"}
	addressLeaves = []string{"address.address_line", "address.city_name", "address.postal_code", "address.country_code",
		"address.language_code", "address.state_prov_code"}
	wholes = []string{"contact_person", "address", "phones", "email"}
)

// AllowedPaths lists every path ParseMask accepts, "*" last.
func AllowedPaths() []string {
	out := make([]string, 0, len(personLeaves)+len(addressLeaves)+len(wholes)+1)
	out = append(out, wholes[0])
	out = append(out, personLeaves...)
	out = append(out, wholes[1])
	out = append(out, addressLeaves...)
	out = append(out, wholes[2], wholes[3], "*")
	return out
}

// PathError is one refused path of a mask.
type PathError struct {
	// Index is the path's index in update_mask.paths.
	Index int
	// Problem says what is wrong, in English.
	Problem string
}

// ParseMask parses the paths of an update_mask. Unknown paths, indexes
// into lists, "profiles" and "*" together with other paths are refused,
// one PathError each. A path given twice counts once.
func ParseMask(paths []string) (Mask, []PathError) {
	m := Mask{paths: make(map[string]bool, len(paths))}
	var errs []PathError
	known := make(map[string]bool, 16)
	for _, p := range AllowedPaths() {
		known[p] = true
	}
	for i, p := range paths {
		switch {
		case p == "*" && len(paths) > 1:
			errs = append(errs, PathError{i, `"*" must be the only path of the mask`})
		case strings.ContainsAny(p, "[]") || hasIndexSegment(p):
			errs = append(errs, PathError{i, "a mask cannot index into a list (AIP-161): name the whole list, e.g. \"phones\""})
		case p == "profiles" || strings.HasPrefix(p, "profiles."):
			errs = append(errs, PathError{i, "profiles cannot be changed by UpdateProfileContact: use SetProfileContacts"})
		case !known[p]:
			errs = append(errs, PathError{i, "unknown path. Allowed paths: " + strings.Join(AllowedPaths(), ", ")})
		default:
			m.paths[p] = true
		}
	}
	if len(errs) > 0 {
		return Mask{}, errs
	}
	return m, nil
}

func hasIndexSegment(p string) bool {
	for seg := range strings.SplitSeq(p, ".") {
		if seg != "" && strings.Trim(seg, "0123456789") == "" {
			return true
		}
	}
	return false
}

// PopulatedMask is the mask of an omitted update_mask (AIP-134): every
// field that is set (not empty) in c.
func PopulatedMask(c *contactsv1.Contact) Mask {
	m := Mask{paths: map[string]bool{}}
	if p := c.GetContactPerson(); p != nil {
		set := []bool{p.GetName() != "", p.GetGender() != 0, p.GetJobTitle() != 0, p.GetLanguageCode() != ""}
		for i, ok := range set {
			if ok {
				m.paths[personLeaves[i]] = true
			}
		}
	}
	if a := c.GetAddress(); a != nil {
		set := []bool{a.GetAddressLine() != "", a.GetCityName() != "", a.GetPostalCode() != "", a.GetCountryCode() != "",
			a.GetLanguageCode() != "", a.GetStateProvCode() != ""}
		for i, ok := range set {
			if ok {
				m.paths[addressLeaves[i]] = true
			}
		}
	}
	if len(c.GetPhones()) > 0 {
		m.paths["phones"] = true
	}
	if c.GetEmail() != "" {
		m.paths["email"] = true
	}
	return m
}

// Empty reports whether m changes nothing.
func (m Mask) Empty() bool { return len(m.paths) == 0 }

func (m Mask) has(path string) bool {
	return m.paths["*"] || m.paths[path]
}

// apply copies the masked fields of src into dst.
func (m Mask) apply(dst, src *contactsv1.Contact) {
	if m.has("contact_person") {
		dst.ContactPerson = proto.CloneOf(src.GetContactPerson())
	} else {
		sp := src.GetContactPerson()
		person := func() *contactsv1.ContactPerson {
			if dst.ContactPerson == nil {
				dst.ContactPerson = &contactsv1.ContactPerson{}
			}
			return dst.ContactPerson
		}
		if m.has(personLeaves[0]) {
			person().Name = sp.GetName()
		}
		if m.has(personLeaves[1]) {
			person().Gender = sp.GetGender()
		}
		if m.has(personLeaves[2]) {
			person().JobTitle = sp.GetJobTitle()
		}
		if m.has(personLeaves[3]) {
			person().LanguageCode = sp.GetLanguageCode()
		}
	}
	if m.has("address") {
		dst.Address = proto.CloneOf(src.GetAddress())
	} else {
		sa := src.GetAddress()
		addr := func() *contactsv1.Address {
			if dst.Address == nil {
				dst.Address = &contactsv1.Address{}
			}
			return dst.Address
		}
		if m.has(addressLeaves[0]) {
			addr().AddressLine = sa.GetAddressLine()
		}
		if m.has(addressLeaves[1]) {
			addr().CityName = sa.GetCityName()
		}
		if m.has(addressLeaves[2]) {
			addr().PostalCode = sa.GetPostalCode()
		}
		if m.has(addressLeaves[3]) {
			addr().CountryCode = sa.GetCountryCode()
		}
		if m.has(addressLeaves[4]) {
			addr().LanguageCode = sa.GetLanguageCode()
		}
		if m.has(addressLeaves[5]) {
			addr().StateProvCode = sa.GetStateProvCode()
		}
	}
	if a := dst.Address; a != nil && proto.Size(a) == 0 {
		dst.Address = nil // every field cleared: no address
	}
	if m.has("phones") {
		dst.Phones = make([]*contactsv1.Phone, len(src.GetPhones()))
		for i, p := range src.GetPhones() {
			dst.Phones[i] = proto.CloneOf(p)
		}
	}
	if m.has("email") {
		dst.Email = src.GetEmail()
	}
}
