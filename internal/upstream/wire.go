package upstream

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file holds the JSON shapes of the Contacts REST API as the public
// documentation and OpenAPI file describe them: the client's one statement
// of the wire format. The emulator keeps its own structs on purpose
// (internal/emulator/store.go), so that a misreading of the docs cannot
// hide in both; only its wire_compat_test.go decodes its answers with
// these types.

// ContactsBody is the request body of PUT and POST, and the "data" member of
// a GET answer: {"contacts": [...]}.
type ContactsBody struct {
	Contacts []Contact `json:"contacts"`
}

// Contact is one contact on the wire.
type Contact struct {
	ContactProfiles []ContactProfile `json:"contact_profiles"`
	ContactPerson   *ContactPerson   `json:"contact_person,omitempty"`
	Address         *Address         `json:"address,omitempty"`
	Phones          []Phone          `json:"phones"`
	Email           string           `json:"email"`
}

// ContactProfile is {"type": "general"}.
type ContactProfile struct {
	Type string `json:"type"`
}

// ContactPerson is the person behind a contact. LanguageCode is a pointer
// because GET with no_language_fallback=1 may answer null.
type ContactPerson struct {
	Name         string  `json:"name"`
	Gender       string  `json:"gender,omitempty"`
	JobTitle     string  `json:"job_title,omitempty"`
	LanguageCode *string `json:"language_code"`
}

// Address is a postal address on the wire.
type Address struct {
	AddressLine   string `json:"address_line,omitempty"`
	CityName      string `json:"city_name,omitempty"`
	PostalCode    string `json:"postal_code,omitempty"`
	CountryCode   string `json:"country_code,omitempty"`
	LanguageCode  string `json:"language_code,omitempty"`
	StateProvCode string `json:"state_prov_code,omitempty"`
}

// Phone is one phone number on the wire. The OpenAPI file types
// phone_tech_type as an integer while the onboarding tutorial sends "1";
// FlexInt reads both and writes an integer.
type Phone struct {
	PhoneNumber   string  `json:"phone_number"`
	PhoneTechType FlexInt `json:"phone_tech_type"`
	Extension     string  `json:"extension,omitempty"`
}

// Envelope is every answer of the API: GET success carries Data; PUT/POST
// success carries only warnings and meta; errors carry Errors.
type Envelope struct {
	Data     *ContactsBody `json:"data,omitempty"`
	Warnings []Message     `json:"warnings"`
	Errors   []Message     `json:"errors"`
	Meta     *Meta         `json:"meta,omitempty"`
}

// requestID is meta.ruid, or "" when the answer had no meta.
func (e *Envelope) requestID() string {
	if e.Meta == nil {
		return ""
	}
	return e.Meta.RUID
}

// Meta carries the request id that Booking.com support asks for.
type Meta struct {
	RUID string `json:"ruid"`
}

// Message is one entry of "errors" or "warnings".
//
// Code is a string in the OpenAPI file and a number in the docs' tables:
// FlexString reads both. Description is read because the troubleshooting
// page speaks of errors.description; the OpenAPI file only has message.
type Message struct {
	Code        FlexString `json:"code"`
	Message     string     `json:"message,omitempty"`
	Description string     `json:"description,omitempty"`
	Details     *Details   `json:"details,omitempty"`
}

// Text is the human text of the entry: message, else description.
func (m Message) Text() string {
	if m.Message != "" {
		return m.Message
	}
	return m.Description
}

// Details is the free-form "details" object of an error entry.
//
// ASSUMPTION (docs/assumptions.md#wire-format-and-errors): the docs say only that
// details.fields names the offending fields and that "for some fields" the
// allowed values come back too, without naming the key. We read
// "allowed_values" and keep every other member in Extra.
type Details struct {
	Fields        []string                   `json:"fields,omitempty"`
	AllowedValues []string                   `json:"allowed_values,omitempty"`
	Extra         map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON keeps unknown members of details in Extra. Its errors name
// the member and the JSON type found, never the value.
func (d *Details) UnmarshalJSON(b []byte) error {
	if fields, allowed, ok := knownMembersOnly(b); ok {
		// The common details: no member but fields and allowed_values,
		// so no map of the others to build.
		return d.decodeKnown(fields, allowed)
	}
	var all map[string]json.RawMessage
	if err := unmarshalValue(b, &all); err != nil {
		return typeError(b, reflect.TypeFor[Details]())
	}
	// A member's raw value is never empty: nil means absent.
	fields, allowed := all["fields"], all["allowed_values"]
	delete(all, "fields")
	delete(all, "allowed_values")
	if err := d.decodeKnown(fields, allowed); err != nil {
		return err
	}
	if len(all) > 0 {
		d.Extra = all
	}
	return nil
}

// decodeKnown decodes the raw values of fields and allowed_values (nil:
// absent).
func (d *Details) decodeKnown(fields, allowed []byte) error {
	listType := reflect.TypeFor[[]string]()
	if l, ok := plainStrings(fields); ok {
		d.Fields = l
	} else if fields != nil {
		if err := unmarshalValue(fields, &d.Fields); err != nil {
			// A single field given as a string.
			one, ok := plainString(fields)
			if !ok && unmarshalValue(fields, &one) != nil {
				return &json.UnmarshalTypeError{Value: jsonTypeOfRaw(fields), Type: listType, Field: "fields"}
			}
			d.Fields = []string{one}
		}
	}
	if l, ok := plainStrings(allowed); ok {
		d.AllowedValues = l
	} else if allowed != nil {
		if err := unmarshalValue(allowed, &d.AllowedValues); err != nil {
			return &json.UnmarshalTypeError{Value: jsonTypeOfRaw(allowed), Type: listType, Field: "allowed_values"}
		}
	}
	return nil
}

// knownMembersOnly returns the raw values of fields and allowed_values
// (nil when absent) when b is a valid JSON object with no other member,
// each at most once and named exactly so (as a plain string). Any other b
// is for the general path (ok false).
func knownMembersOnly(b []byte) (fields, allowed []byte, ok bool) {
	if !validJSON(b) {
		return nil, nil, false
	}
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, nil, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil, nil, true
	}
	for i < len(b) {
		end := skipValue(b, i) // the key
		key, plain := plainString(b[i:end])
		i = skipSpace(b, skipSpace(b, end)+1) // past the colon
		end = skipValue(b, i)
		raw := b[i:end:end]
		switch {
		case !plain:
			return nil, nil, false
		case key == "fields" && fields == nil:
			fields = raw
		case key == "allowed_values" && allowed == nil:
			allowed = raw
		default:
			return nil, nil, false
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] == '}' {
			return fields, allowed, true
		}
		i = skipSpace(b, i+1) // past the comma
	}
	return nil, nil, false
}

// skipSpace is the index of the first byte at or after i that is not JSON
// white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue is the index just past the JSON value that starts at b[i]; b
// must be valid JSON.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) && !strings.ContainsRune(",}] \t\n\r", rune(b[i])) {
		i++
	}
	return i
}

// skipString is the index just past the string literal at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// unmarshalValue is json.Unmarshal for the parts of a value that a custom
// UnmarshalJSON decodes itself. Only whether it fails matters to its
// callers, never its error.
func unmarshalValue[T any](b []byte, v *T) error {
	return json.Unmarshal(b, v)
}

// validJSON reports whether b is valid JSON and valid UTF-8: bytes that
// the shortcut of knownMembersOnly may take as they are, since
// encoding/json would not replace anything in them.
func validJSON(b []byte) bool { return utf8.Valid(b) && json.Valid(b) }

// MarshalJSON writes fields, allowed_values and Extra.
func (d Details) MarshalJSON() ([]byte, error) {
	all := make(map[string]any, len(d.Extra)+2)
	for k, v := range d.Extra {
		all[k] = v
	}
	if len(d.Fields) > 0 {
		all["fields"] = d.Fields
	}
	if len(d.AllowedValues) > 0 {
		all["allowed_values"] = d.AllowedValues
	}
	return json.Marshal(all)
}

// FlexString reads a JSON string or number as a string ("320" or 320).
// It writes a JSON string.
type FlexString string

// UnmarshalJSON accepts a string, a number or null. Anything else is a
// *json.UnmarshalTypeError that does not quote the value.
func (s *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*s = ""
		return nil
	}
	if v, ok := plainString(b); ok {
		*s = FlexString(v)
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return typeError(b, reflect.TypeFor[FlexString]())
		}
		*s = FlexString(v)
		return nil
	}
	if isNumber(b) {
		*s = FlexString(b) // what json.Number holds: the literal
		return nil
	}
	return typeError(b, reflect.TypeFor[FlexString]())
}

// plainString is the value of a JSON string literal that needs no
// decoding: quoted, printable ASCII, no escape. Any other literal (or
// non-literal) is left to encoding/json (ok false).
func plainString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	in := b[1 : len(b)-1]
	for _, c := range in {
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return "", false
		}
	}
	return string(in), true
}

// plainStrings is the value of a JSON array of plain strings (see
// plainString), such as the fields of a 320, without a decoder: "[]" is an
// empty list, as encoding/json gives. Anything else, null included, is
// left to the decoders (ok false).
func plainStrings(b []byte) ([]string, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, false
	}
	out := []string{}
	end := func(i int) ([]string, bool) { // i is past the ']'
		if skipSpace(b, i) != len(b) {
			return nil, false
		}
		return out, true
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return end(i + 1)
	}
	for i < len(b) {
		j := skipValue(b, i)
		v, ok := plainString(b[i:j])
		if !ok {
			return nil, false
		}
		out = append(out, v)
		i = skipSpace(b, j)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == ']':
			return end(i + 1)
		default:
			return nil, false
		}
	}
	return nil, false
}

// isNumber reports whether b is exactly one JSON number literal
// (RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?).
func isNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}

// typeError is the error of a Flex type refusing b: it names b's JSON type,
// not b, so that no value of the body reaches an error string (a strconv
// error would quote it whole). encoding/json adds the field path.
func typeError(b []byte, t reflect.Type) error {
	return &json.UnmarshalTypeError{Value: jsonTypeOfRaw(b), Type: t}
}

// FlexInt reads a JSON number or a string of digits ("1" or 1). It writes a
// JSON number.
type FlexInt int

// UnmarshalJSON accepts a number or a string holding an integer. Anything
// else is a *json.UnmarshalTypeError that does not quote the value.
func (n *FlexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		s, ok := plainString(b)
		if !ok {
			var v string
			if err := json.Unmarshal(b, &v); err != nil {
				return typeError(b, reflect.TypeFor[FlexInt]())
			}
			s = v
		}
		v, err := strconv.Atoi(s)
		if err != nil {
			return typeError(b, reflect.TypeFor[FlexInt]())
		}
		*n = FlexInt(v)
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		*n = 0 // as encoding/json leaves an int at null
		return nil
	}
	// encoding/json reads a JSON integer into an int with
	// strconv.ParseInt; a fraction, an exponent or another type is a type
	// error there as here.
	if !isNumber(b) {
		return typeError(b, reflect.TypeFor[FlexInt]())
	}
	v, err := strconv.ParseInt(string(b), 10, strconv.IntSize)
	if err != nil {
		return typeError(b, reflect.TypeFor[FlexInt]())
	}
	*n = FlexInt(v)
	return nil
}
